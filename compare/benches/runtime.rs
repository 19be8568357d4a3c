//! Runtime core against tokio's multi-thread runtime, same worker count
//! (`WEFT_BENCH_WORKERS`, default 2), in the same criterion groups:
//!
//! - `spawn_join`: spawn 100,000 empty tasks from inside the runtime, then
//!   join them all. Reported per task.
//! - `yield`: 1,000 tasks each yielding 1,000 times. Reported per yield.
//!
//! Run: `cargo bench -p compare --bench runtime`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::time::Duration;

#[path = "support/rt.rs"]
mod rt;
use rt::{tokio_rt, weft_rt};

const SPAWNS: u64 = 100_000;

fn spawn_join(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_join");
    g.throughput(Throughput::Elements(SPAWNS));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));

    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter(|| {
            rt.block_on(|| {
                let hs: Vec<_> = (0..SPAWNS).map(|i| weft::spawn(move || i)).collect();
                for h in hs {
                    h.join().unwrap();
                }
            })
        })
    });
    drop(rt);

    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let hs: Vec<_> = (0..SPAWNS)
                    .map(|i| tokio::spawn(async move { i }))
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            })
        })
    });
    g.finish();
}

const TASKS: u64 = 1_000;
const YIELDS: u64 = 1_000;

fn yield_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("yield");
    g.throughput(Throughput::Elements(TASKS * YIELDS));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));

    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter(|| {
            rt.block_on(|| {
                let hs: Vec<_> = (0..TASKS)
                    .map(|_| {
                        weft::spawn(|| {
                            for _ in 0..YIELDS {
                                weft::yield_now();
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.join().unwrap();
                }
            })
        })
    });
    drop(rt);

    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let hs: Vec<_> = (0..TASKS)
                    .map(|_| {
                        tokio::spawn(async {
                            for _ in 0..YIELDS {
                                tokio::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, spawn_join, yield_many);
criterion_main!(benches);
