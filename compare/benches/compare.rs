//! weft beside its peers on the in-process workloads, in criterion groups:
//! every group runs the same workload (`benches/workloads/`) on weft,
//! tokio's multi-thread runtime, tokio's current-thread runtime, smol, may
//! and plain std threads, each with the same number of worker threads
//! (`WEFT_BENCH_WORKERS`, default 2).
//!
//! - `spawn_join`: spawn 100,000 tasks, join them all; per task.
//! - `yield`: 1,000 tasks each yield 1,000 times; per yield.
//! - `ping_pong`: 100,000 round trips between two tasks over two channels;
//!   per round trip.
//! - `mutex`: 100 tasks take one mutex 10,000 times each; per lock.
//!
//! Run: `cargo bench -p compare --bench compare` (all of it takes a few minutes;
//! filter with e.g. `cargo bench -p compare --bench compare -- ping_pong`). The
//! network, memory and wrk comparisons need servers in their own
//! processes: `cargo run --release -p compare` runs everything and
//! writes `BENCHMARKS.md`.

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../src/workloads/mod.rs"]
mod workloads;

use workloads::{Harness, Peer, Workload};

fn group(c: &mut Criterion, workload: Workload) {
    let mut g = c.benchmark_group(workload.name());
    g.throughput(Throughput::Elements(workload.operations()));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    for peer in Peer::ALL {
        if let Some(why) = workloads::cannot_run(peer, workload) {
            eprintln!("{}/{}: skipped: {why}", workload.name(), peer.name());
            continue;
        }
        // One runtime per peer, dropped before the next one starts (may's
        // scheduler is process-wide and stays, idle).
        let harness = Harness::new(peer, workloads::workers());
        g.bench_function(peer.name(), |b| b.iter(|| harness.run(workload)));
    }
    g.finish();
}

fn spawn_join(c: &mut Criterion) {
    group(c, Workload::SpawnJoin);
}

fn yield_now(c: &mut Criterion) {
    group(c, Workload::Yield);
}

fn ping_pong(c: &mut Criterion) {
    group(c, Workload::PingPong);
}

fn mutex(c: &mut Criterion) {
    group(c, Workload::Mutex);
}

criterion_group!(benches, spawn_join, yield_now, ping_pong, mutex);
criterion_main!(benches);
