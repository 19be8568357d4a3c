//! `weft::sync` against tokio's and std's counterparts, same worker count
//! (`WEFT_BENCH_WORKERS`, default 2), in the same criterion groups:
//!
//! - `channel_ping_pong`: one message there and one back between two
//!   coroutines (tokio: two tasks; std: two threads) over unbounded
//!   channels. Reported per round trip.
//! - `mutex_uncontended`: lock + unlock by one task. Per pair.
//! - `mutex_contended`: 4 tasks each incrementing a shared counter under
//!   the lock. Per increment.
//! - `budget`: an unbounded channel's `send` + `recv` (which finds the
//!   message) in a coroutine (where `recv` spends the fairness budget and
//!   yields every 128th time; an unbounded `send` never does) and on a
//!   plain thread (where the budget check finds no coroutine). The
//!   difference bounds the cost of the budget.
//!
//! Run: `cargo bench -p compare --bench sync`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::Duration;

#[path = "support/rt.rs"]
mod rt;
use rt::{tokio_rt, weft_rt};

fn group<'c>(
    c: &'c mut Criterion,
    name: &str,
    elements: u64,
) -> criterion::BenchmarkGroup<'c, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Elements(elements));
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g
}

const ROUND_TRIPS: u64 = 10_000;

fn channel_ping_pong(c: &mut Criterion) {
    let mut g = group(c, "channel_ping_pong", ROUND_TRIPS);

    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter(|| {
            rt.block_on(|| {
                use weft::sync::mpsc::channel;
                let (ping_tx, ping_rx) = channel::<u64>();
                let (pong_tx, pong_rx) = channel::<u64>();
                let echo = weft::spawn(move || {
                    for v in ping_rx {
                        pong_tx.send(v).unwrap();
                    }
                });
                for i in 0..ROUND_TRIPS {
                    ping_tx.send(i).unwrap();
                    assert_eq!(pong_rx.recv().unwrap(), i);
                }
                drop(ping_tx);
                echo.join().unwrap();
            })
        })
    });
    drop(rt);

    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                // Run the pinger as a task too, as weft's block_on does.
                tokio::spawn(async {
                    use tokio::sync::mpsc::unbounded_channel;
                    let (ping_tx, mut ping_rx) = unbounded_channel::<u64>();
                    let (pong_tx, mut pong_rx) = unbounded_channel::<u64>();
                    let echo = tokio::spawn(async move {
                        while let Some(v) = ping_rx.recv().await {
                            pong_tx.send(v).unwrap();
                        }
                    });
                    for i in 0..ROUND_TRIPS {
                        ping_tx.send(i).unwrap();
                        assert_eq!(pong_rx.recv().await.unwrap(), i);
                    }
                    drop(ping_tx);
                    echo.await.unwrap();
                })
                .await
                .unwrap()
            })
        })
    });
    drop(rt);

    g.bench_function("std", |b| {
        b.iter(|| {
            use std::sync::mpsc::channel;
            let (ping_tx, ping_rx) = channel::<u64>();
            let (pong_tx, pong_rx) = channel::<u64>();
            let echo = std::thread::spawn(move || {
                for v in ping_rx {
                    pong_tx.send(v).unwrap();
                }
            });
            for i in 0..ROUND_TRIPS {
                ping_tx.send(i).unwrap();
                assert_eq!(pong_rx.recv().unwrap(), i);
            }
            drop(ping_tx);
            echo.join().unwrap();
        })
    });
    g.finish();
}

const LOCKS: u64 = 10_000;

fn mutex_uncontended(c: &mut Criterion) {
    let mut g = group(c, "mutex_uncontended", LOCKS);

    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter(|| {
            rt.block_on(|| {
                let m = weft::sync::Mutex::new(0u64);
                for _ in 0..LOCKS {
                    *m.lock().unwrap() += 1;
                }
                m.into_inner().unwrap()
            })
        })
    });
    drop(rt);

    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let m = tokio::sync::Mutex::new(0u64);
                for _ in 0..LOCKS {
                    *m.lock().await += 1;
                }
                m.into_inner()
            })
        })
    });
    drop(rt);

    g.bench_function("std", |b| {
        b.iter(|| {
            let m = std::sync::Mutex::new(0u64);
            for _ in 0..LOCKS {
                *m.lock().unwrap() += 1;
            }
            m.into_inner().unwrap()
        })
    });
    g.finish();
}

const CONTENDERS: u64 = 4;

fn mutex_contended(c: &mut Criterion) {
    let mut g = group(c, "mutex_contended", CONTENDERS * LOCKS);

    let rt = weft_rt();
    g.bench_function("weft", |b| {
        b.iter(|| {
            rt.block_on(|| {
                let m = Arc::new(weft::sync::Mutex::new(0u64));
                let hs: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let m = m.clone();
                        weft::spawn(move || {
                            for _ in 0..LOCKS {
                                *m.lock().unwrap() += 1;
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.join().unwrap();
                }
                assert_eq!(*m.lock().unwrap(), CONTENDERS * LOCKS);
            })
        })
    });
    drop(rt);

    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                let m = Arc::new(tokio::sync::Mutex::new(0u64));
                let hs: Vec<_> = (0..CONTENDERS)
                    .map(|_| {
                        let m = m.clone();
                        tokio::spawn(async move {
                            for _ in 0..LOCKS {
                                *m.lock().await += 1;
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
                assert_eq!(*m.lock().await, CONTENDERS * LOCKS);
            })
        })
    });
    drop(rt);

    g.bench_function("std", |b| {
        b.iter(|| {
            let m = Arc::new(std::sync::Mutex::new(0u64));
            let hs: Vec<_> = (0..CONTENDERS)
                .map(|_| {
                    let m = m.clone();
                    std::thread::spawn(move || {
                        for _ in 0..LOCKS {
                            *m.lock().unwrap() += 1;
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(*m.lock().unwrap(), CONTENDERS * LOCKS);
        })
    });
    g.finish();
}

const SENDS: u64 = 10_000;

/// `send` + `recv` (finding the message) on one unbounded channel,
/// `SENDS` times.
fn send_recv() {
    let (tx, rx) = weft::sync::mpsc::channel::<u64>();
    for i in 0..SENDS {
        tx.send(i).unwrap();
        assert_eq!(rx.recv(), Ok(i));
    }
}

fn budget(c: &mut Criterion) {
    let mut g = group(c, "budget", SENDS);
    let rt = weft_rt();
    g.bench_function("weft_in_coroutine", |b| b.iter(|| rt.block_on(send_recv)));
    g.bench_function("weft_on_thread", |b| b.iter(send_recv));
    drop(rt);
    g.finish();
}

criterion_group!(
    benches,
    channel_ping_pong,
    mutex_uncontended,
    mutex_contended,
    budget
);
criterion_main!(benches);
