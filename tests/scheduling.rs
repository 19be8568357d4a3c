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
