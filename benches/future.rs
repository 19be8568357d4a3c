//! The cost of crossing between coroutines and futures (issue 15).
//!
//! - `block_on_ready`: `weft::future::block_on` of a future that is ready
//!   at once, in a coroutine and on a plain thread (beside
//!   `futures::executor::block_on` on the thread), and the tokio bridge's
//!   `block_on` (which also enters tokio's context) in a coroutine.
//! - `round_trip`: a message to a tokio task and its answer back over two
//!   `async-channel`s: from a coroutine (weft `block_on` on each side of
//!   the channel) against the same round trip between two tokio tasks.
//!   Both use the bridge's tokio runtime (2 threads) and, for weft, a
//!   2-worker runtime (`WEFT_BENCH_WORKERS`). For reference, the same
//!   round trip from a plain thread (`futures::executor::block_on`) and
//!   between two coroutines (`block_on` on both ends).
//!
//! Run: `cargo bench --features tokio --bench future`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

fn workers() -> usize {
    std::env::var("WEFT_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

fn weft_rt() -> weft::Runtime {
    weft::Runtime::builder().workers(workers()).build().unwrap()
}

fn block_on_ready(c: &mut Criterion) {
    let mut g = c.benchmark_group("block_on_ready");
    g.measurement_time(Duration::from_secs(3));
    let rt = weft_rt();
    g.bench_function("weft_coroutine", |b| {
        b.iter_custom(|iters| {
            rt.block_on(|| {
                let start = Instant::now();
                for i in 0..iters {
                    black_box(weft::future::block_on(async { black_box(i) }));
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("weft_tokio_bridge_coroutine", |b| {
        b.iter_custom(|iters| {
            rt.block_on(|| {
                let start = Instant::now();
                for i in 0..iters {
                    black_box(weft::compat::tokio::block_on(async { black_box(i) }));
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("weft_thread", |b| {
        b.iter(|| weft::future::block_on(async { black_box(1) }))
    });
    g.bench_function("futures_executor_thread", |b| {
        b.iter(|| futures::executor::block_on(async { black_box(1) }))
    });
    g.finish();
}

/// A tokio task that answers every message on `rx` with the same on `tx`.
fn spawn_echo_task() -> (async_channel::Sender<u64>, async_channel::Receiver<u64>) {
    let (to_task, task_rx) = async_channel::bounded::<u64>(1);
    let (task_tx, from_task) = async_channel::bounded::<u64>(1);
    weft::compat::tokio::handle().spawn(async move {
        while let Ok(v) = task_rx.recv().await {
            if task_tx.send(v).await.is_err() {
                break;
            }
        }
    });
    (to_task, from_task)
}

fn round_trip(c: &mut Criterion) {
    weft::compat::tokio::set_worker_threads(workers());
    let mut g = c.benchmark_group("round_trip");
    g.measurement_time(Duration::from_secs(5));
    let rt = weft_rt();
    g.bench_function("coroutine_to_tokio_task", |b| {
        b.iter_custom(|iters| {
            let (tx, rx) = spawn_echo_task();
            rt.block_on(move || {
                use weft::future::block_on;
                let start = Instant::now();
                for i in 0..iters {
                    block_on(tx.send(i)).unwrap();
                    assert_eq!(block_on(rx.recv()).unwrap(), i);
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("thread_to_tokio_task", |b| {
        b.iter_custom(|iters| {
            let (tx, rx) = spawn_echo_task();
            let start = Instant::now();
            for i in 0..iters {
                futures::executor::block_on(tx.send(i)).unwrap();
                assert_eq!(futures::executor::block_on(rx.recv()).unwrap(), i);
            }
            start.elapsed()
        })
    });
    g.bench_function("coroutine_to_coroutine", |b| {
        b.iter_custom(|iters| {
            rt.block_on(move || {
                use weft::future::block_on;
                let (to_echo, echo_rx) = async_channel::bounded::<u64>(1);
                let (echo_tx, from_echo) = async_channel::bounded::<u64>(1);
                let echo = weft::spawn(move || {
                    while let Ok(v) = block_on(echo_rx.recv()) {
                        if block_on(echo_tx.send(v)).is_err() {
                            break;
                        }
                    }
                });
                let start = Instant::now();
                for i in 0..iters {
                    block_on(to_echo.send(i)).unwrap();
                    assert_eq!(block_on(from_echo.recv()).unwrap(), i);
                }
                let elapsed = start.elapsed();
                drop(to_echo);
                echo.join().unwrap();
                elapsed
            })
        })
    });
    g.bench_function("tokio_task_to_tokio_task", |b| {
        b.iter_custom(|iters| {
            let (tx, rx) = spawn_echo_task();
            let client = weft::compat::tokio::handle().spawn(async move {
                let start = Instant::now();
                for i in 0..iters {
                    tx.send(i).await.unwrap();
                    assert_eq!(rx.recv().await.unwrap(), i);
                }
                start.elapsed()
            });
            futures::executor::block_on(client).unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, block_on_ready, round_trip);
criterion_main!(benches);
