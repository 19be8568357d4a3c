//! Offloading to a blocking thread, against tokio and std, in one
//! criterion group (`spawn_blocking`), runtimes with
//! `WEFT_BENCH_WORKERS` workers (default 2):
//!
//! - `weft`: from a coroutine, `weft::spawn_blocking(|| x).join()`: the
//!   coroutine parks, a pool thread runs the closure, completes the
//!   packet and wakes the coroutine through its worker.
//! - `tokio`: from a task, `tokio::task::spawn_blocking(|| x).await`.
//! - `std_thread`: from a plain thread, `std::thread::spawn(|| x).join()`,
//!   what a program without a pool pays.
//!
//! Each iteration is one round trip, one after another (the pool has a
//! warm idle thread, as in a steady state). Run:
//! `cargo bench -p compare --bench blocking`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "support/rt.rs"]
mod rt;
use rt::workers;

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_blocking");
    g.measurement_time(Duration::from_secs(5));

    let rt = weft::Runtime::builder().workers(workers()).build().unwrap();
    g.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            rt.block_on(|| {
                let start = Instant::now();
                for i in 0..iters {
                    let h = weft::spawn_blocking(move || black_box(i));
                    black_box(h.join().unwrap());
                }
                start.elapsed()
            })
        })
    });
    drop(rt);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
        .unwrap();
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                tokio::spawn(async move {
                    let start = Instant::now();
                    for i in 0..iters {
                        let h = tokio::task::spawn_blocking(move || black_box(i));
                        black_box(h.await.unwrap());
                    }
                    start.elapsed()
                })
                .await
                .unwrap()
            })
        })
    });
    drop(rt);

    g.bench_function("std_thread", |b| {
        b.iter(|| {
            let h = std::thread::spawn(move || black_box(1u64));
            black_box(h.join().unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
