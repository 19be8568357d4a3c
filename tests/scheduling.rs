//! Scheduling behaviours users rely on: fairness on one worker, many
//! sleepers, timers, and that work spreads over workers.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};

#[test]
fn two_busy_yielders_share_one_worker() {
    with_timeout(20, || {
        let rt = runtime(1);
        let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let stop = Arc::new(AtomicBool::new(false));
        let hs: Vec<_> = (0..2)
            .map(|i| {
                let (c, s) = (counts.clone(), stop.clone());
                rt.spawn(move || {
                    while !s.load(Ordering::Relaxed) {
                        c[i].fetch_add(1, Ordering::Relaxed);
                        weft::yield_now();
                    }
                })
            })
            .collect();
        // Wait until both have made progress (bounded by with_timeout).
        while counts[0].load(Ordering::Relaxed) < 10_000
            || counts[1].load(Ordering::Relaxed) < 10_000
        {
            std::thread::yield_now();
        }
        stop.store(true, Ordering::Relaxed);
        for h in hs {
            h.join().unwrap();
        }
        let (a, b) = (
            counts[0].load(Ordering::Relaxed),
            counts[1].load(Ordering::Relaxed),
        );
        // Round robin: after the first one started alone for a moment,
        // they alternate, so neither is far ahead.
        assert!(a.abs_diff(b) <= a.max(b) / 10, "a={a} b={b}");
    });
}

#[test]
fn a_hundred_thousand_sleepers() {
    with_timeout(60, || {
        let rt = runtime(2);
        let woke = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let w = woke.clone();
        rt.block_on(move || {
            let hs: Vec<_> = (0..100_000)
                .map(|i| {
                    let w = w.clone();
                    weft::spawn(move || {
                        weft::sleep(Duration::from_millis(200 + (i % 100)));
                        w.fetch_add(1, Ordering::Relaxed);
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        });
        assert_eq!(woke.load(Ordering::Relaxed), 100_000);
        assert!(start.elapsed() >= Duration::from_millis(200));
    });
}

#[test]
fn sleep_lasts_at_least_its_duration() {
    with_timeout(10, || {
        let rt = runtime(1);
        let slept = rt.block_on(|| {
            let t = Instant::now();
            weft::sleep(Duration::from_millis(30));
            t.elapsed()
        });
        assert!(slept >= Duration::from_millis(30));
    });
}

#[test]
fn sleepers_wake_in_deadline_order() {
    with_timeout(10, || {
        let rt = runtime(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let o = order.clone();
        rt.block_on(move || {
            let hs: Vec<_> = [50u64, 10, 30, 20, 40]
                .into_iter()
                .map(|ms| {
                    let o = o.clone();
                    weft::spawn(move || {
                        weft::sleep(Duration::from_millis(ms));
                        o.lock().unwrap().push(ms);
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        });
        assert_eq!(*order.lock().unwrap(), vec![10, 20, 30, 40, 50]);
    });
}

#[test]
fn work_spreads_over_both_workers() {
    with_timeout(20, || {
        let rt = runtime(2);
        let threads = Arc::new(Mutex::new(HashSet::new()));
        let t = threads.clone();
        rt.block_on(move || {
            let hs: Vec<_> = (0..64)
                .map(|_| {
                    let t = t.clone();
                    weft::spawn(move || {
                        // Busy for a while without parking, so an idle
                        // worker has reason to steal.
                        let end = Instant::now() + Duration::from_millis(5);
                        while Instant::now() < end {}
                        t.lock().unwrap().insert(std::thread::current().id());
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        });
        assert_eq!(threads.lock().unwrap().len(), 2);
    });
}

#[test]
fn a_started_coroutine_never_changes_thread() {
    with_timeout(20, || {
        let rt = runtime(2);
        let hs: Vec<_> = (0..200)
            .map(|i| {
                rt.spawn(move || {
                    let home = std::thread::current().id();
                    for j in 0..50 {
                        if (i + j) % 2 == 0 {
                            weft::yield_now();
                        } else {
                            weft::sleep(Duration::from_micros(100));
                        }
                        assert_eq!(std::thread::current().id(), home);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
}

#[test]
fn unpark_from_another_thread_wakes_a_coroutine_on_its_worker() {
    with_timeout(20, || {
        let rt = runtime(2);
        for _ in 0..200 {
            let h = rt.spawn(|| {
                let home = std::thread::current().id();
                weft::park();
                assert_eq!(std::thread::current().id(), home);
            });
            h.coroutine().unpark();
            h.join().unwrap();
        }
    });
}

#[test]
fn an_idle_runtime_sleeps() {
    with_timeout(20, || {
        let rt = weft::Runtime::builder()
            .workers(2)
            .thread_name("idlecheck")
            .build()
            .unwrap();
        rt.block_on(|| ());
        // CPU clock ticks of this runtime's workers only: other tests run
        // in parallel in this process.
        let cpu = || {
            let mut ticks = 0;
            for task in std::fs::read_dir("/proc/self/task").unwrap() {
                let stat =
                    std::fs::read_to_string(task.unwrap().path().join("stat")).unwrap_or_default();
                if !stat.contains("(idlecheck-") {
                    continue;
                }
                let f: Vec<&str> = stat
                    .rsplit(')')
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .collect();
                ticks += f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
            }
            ticks
        };
        let before = cpu();
        std::thread::sleep(Duration::from_millis(300));
        let ticks = cpu() - before;
        // Clock ticks are 10 ms: a spinning worker would burn ~30.
        assert!(
            ticks <= 5,
            "idle runtime used {ticks} ticks of CPU in 300 ms"
        );
        drop(rt);
    });
}

#[test]
fn a_burst_of_spawns_from_one_coroutine_reaches_both_workers() {
    with_timeout(30, || {
        let rt = runtime(2);
        let threads = Arc::new(Mutex::new(HashSet::new()));
        let t = threads.clone();
        let ran = rt.block_on(move || {
            let hs: Vec<_> = (0..10_000)
                .map(|_| {
                    let t = t.clone();
                    weft::spawn(move || {
                        t.lock().unwrap().insert(std::thread::current().id());
                        // Stay alive until the other worker ran one too, so
                        // that the spawning worker cannot finish the burst
                        // alone before the other is scheduled (with_timeout
                        // bounds this if it never is).
                        while t.lock().unwrap().len() < 2 {
                            weft::yield_now();
                        }
                    })
                })
                .collect();
            let n = hs.len();
            for h in hs {
                h.join().unwrap();
            }
            n
        });
        assert_eq!(ran, 10_000);
        assert_eq!(threads.lock().unwrap().len(), 2);
    });
}

/// On a 1-worker runtime where a started coroutine yields forever (the
/// runtime's shutdown cancels it), spawns `n` coroutines that each yield
/// `yields` times and counts how many ran to the end.
fn spawned_beside_a_forever_yielder(n: u64, yields: usize) -> u64 {
    let rt = runtime(1);
    let done = Arc::new(AtomicU64::new(0));
    let d = done.clone();
    rt.block_on(move || {
        drop(weft::spawn(|| {
            loop {
                weft::yield_now();
            }
        }));
        weft::yield_now();
        let hs: Vec<_> = (0..n)
            .map(|_| {
                let d = d.clone();
                weft::spawn(move || {
                    for _ in 0..yields {
                        weft::yield_now();
                    }
                    d.fetch_add(1, Ordering::Relaxed);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
    done.load(Ordering::Relaxed)
}

#[test]
fn a_forever_yielder_does_not_starve_new_coroutines_on_one_worker() {
    with_timeout(20, || {
        assert_eq!(spawned_beside_a_forever_yielder(100, 0), 100)
    });
}

#[test]
fn a_burst_past_the_local_queue_completes_on_one_worker_beside_a_yielder() {
    // More spawns than a worker's local queue holds: the rest overflow to
    // the shared queue, which the only worker must still drain while a
    // started coroutine keeps it busy.
    with_timeout(20, || {
        assert_eq!(spawned_beside_a_forever_yielder(5_000, 1), 5_000)
    });
}

#[test]
fn two_ping_ponging_coroutines_do_not_starve_a_third_on_one_worker() {
    with_timeout(20, || {
        let rt = runtime(1);
        let round_trips = rt.block_on(|| {
            use weft::sync::mpsc::channel;
            let stop = Arc::new(AtomicBool::new(false));
            let (ping_tx, ping_rx) = channel::<u64>();
            let (pong_tx, pong_rx) = channel::<u64>();
            let echo = weft::spawn(move || {
                for v in ping_rx {
                    if pong_tx.send(v).is_err() {
                        break;
                    }
                }
            });
            let s = stop.clone();
            let pinger = weft::spawn(move || {
                let mut n = 0u64;
                while !s.load(Ordering::Relaxed) {
                    ping_tx.send(n).unwrap();
                    assert_eq!(pong_rx.recv().unwrap(), n);
                    n += 1;
                }
                n
            });
            // Let the two get going: each send wakes the other on this
            // worker, which runs it next; without a cap on that, neither
            // this coroutine (now in the ready queue) nor the third below
            // would run again.
            weft::yield_now();
            weft::yield_now();
            // A third one that gets started, yields once (so it waits in
            // the ready queue behind the pair) and then finishes.
            let third = weft::spawn(weft::yield_now);
            third.join().unwrap();
            stop.store(true, Ordering::Relaxed);
            let n = pinger.join().unwrap();
            echo.join().unwrap();
            n
        });
        assert!(round_trips > 0);
    });
}

#[test]
fn shutdown_completes_coroutines_still_in_the_overflow() {
    // Spawned past the local queue's cap and never started: the runtime's
    // shutdown must still complete every handle (run or cancelled).
    with_timeout(20, || {
        let rt = runtime(1);
        let hs = rt.block_on(|| {
            (0..2_000u32)
                .map(|i| weft::spawn(move || i))
                .collect::<Vec<_>>()
        });
        rt.shutdown();
        let mut finished = 0;
        for (i, h) in hs.into_iter().enumerate() {
            match h.join() {
                Ok(v) => assert_eq!(v as usize, i),
                Err(payload) => assert!(payload.is::<weft::Cancelled>()),
            }
            finished += 1;
        }
        assert_eq!(finished, 2_000);
    });
}

/// Counts every resumption of the coroutines of
/// `no_ready_coroutine_waits_more_than_a_bounded_number_of_runs`: each
/// of them adds one whenever it gets the worker.
static RUNS: AtomicU64 = AtomicU64::new(0);

/// One resumption: counts it and returns how many resumptions (of any
/// coroutine) came before it.
fn one_run() -> u64 {
    RUNS.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn no_ready_coroutine_waits_more_than_a_bounded_number_of_runs() {
    // Fairness as a property (arch/scheduler.md): on one worker, with every
    // kind of competition at once (yielders in the FIFO queue, a pair that
    // keeps waking each other through the LIFO slot, a stream of new
    // coroutines), a ready coroutine runs again after a number of other
    // runs bounded by a small multiple of the number of live coroutines,
    // however long the competition goes on.
    const YIELDERS: usize = 20;
    const YIELDS: usize = 2_000;
    const BATCH: usize = 4;
    // Live at most: the yielders, the pair, the spawner and its batch, the
    // block_on coroutine. The scheduler's own rules give at most ~6 runs
    // per live coroutine (3 from the LIFO slot per pick, a new one every
    // fourth); 8 leaves room. Without the LIFO cap the pair alone would
    // run tens of thousands of times in a row.
    const LIVE: u64 = (YIELDERS + 2 + 1 + BATCH + 1) as u64;
    const BOUND: u64 = 8 * LIVE;
    let worst = with_timeout(60, || {
        let rt = runtime(1);
        rt.block_on(|| {
            use weft::sync::mpsc::channel;
            let stop = Arc::new(AtomicBool::new(false));
            let (ping_tx, ping_rx) = channel::<u64>();
            let (pong_tx, pong_rx) = channel::<u64>();
            let echo = weft::spawn(move || {
                for v in ping_rx {
                    one_run();
                    if pong_tx.send(v).is_err() {
                        break;
                    }
                }
            });
            let s = stop.clone();
            let pinger = weft::spawn(move || {
                let mut n = 0u64;
                while !s.load(Ordering::Relaxed) {
                    one_run();
                    ping_tx.send(n).unwrap();
                    assert_eq!(pong_rx.recv().unwrap(), n);
                    n += 1;
                }
            });
            // New coroutines, BATCH at a time: the runs between a spawn
            // and the first run of what it spawned are a wait too.
            let s = stop.clone();
            let spawner = weft::spawn(move || {
                let mut worst = 0;
                while !s.load(Ordering::Relaxed) {
                    one_run();
                    let hs: Vec<_> = (0..BATCH)
                        .map(|_| {
                            let spawned_at = RUNS.load(Ordering::Relaxed);
                            weft::spawn(move || {
                                let waited = one_run() - spawned_at;
                                weft::yield_now();
                                one_run();
                                waited
                            })
                        })
                        .collect();
                    for h in hs {
                        worst = worst.max(h.join().unwrap());
                    }
                }
                worst
            });
            let yielders: Vec<_> = (0..YIELDERS)
                .map(|_| {
                    weft::spawn(|| {
                        let mut worst = 0;
                        let mut last = one_run();
                        for _ in 0..YIELDS {
                            weft::yield_now();
                            let now = one_run();
                            worst = worst.max(now - last - 1);
                            last = now;
                        }
                        worst
                    })
                })
                .collect();
            let worst_yielder = yielders.into_iter().map(|h| h.join().unwrap()).max();
            stop.store(true, Ordering::Relaxed);
            let worst_new = spawner.join().unwrap();
            pinger.join().unwrap();
            echo.join().unwrap();
            (worst_yielder.unwrap(), worst_new)
        })
    });
    eprintln!(
        "worst wait, in other coroutines' runs: yielder {}, new {}",
        worst.0, worst.1
    );
    assert!(
        worst.0 <= BOUND,
        "a yielder waited {} runs (bound {BOUND})",
        worst.0
    );
    assert!(
        worst.1 <= BOUND,
        "a new coroutine waited {} runs (bound {BOUND})",
        worst.1
    );
}
