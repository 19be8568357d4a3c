//! `weft::sync::Semaphore`: bounded concurrency across coroutines and
//! threads, FIFO service, timeouts, and cancellation that never loses a
//! permit.

mod common;
mod sync_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};
use sync_common::{SIDES, start, until};
use weft::sync::Semaphore;

#[test]
fn at_most_n_holders_among_coroutines_and_threads() {
    with_timeout(20, || {
        let sem = Arc::new(Semaphore::new(3));
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let roles: Vec<_> = (0..8)
            .map(|i| {
                let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
                start(SIDES[i % 2], move || {
                    for _ in 0..200 {
                        let _p = sem.acquire();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        weft::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for r in roles {
            r.join();
        }
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert_eq!(sem.available_permits(), 3);
    });
}

#[test]
fn a_permit_released_on_one_side_wakes_a_waiter_on_the_other() {
    with_timeout(10, || {
        for (holder, waiter) in sync_common::SETTINGS {
            let sem = Arc::new(Semaphore::new(1));
            let held = Arc::new(std::sync::atomic::AtomicBool::new(false));
            // The holder releases only 20 ms after the waiter has started,
            // however late the waiter starts on a loaded machine.
            let waiting = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (s, h, w) = (sem.clone(), held.clone(), waiting.clone());
            let hold = start(holder, move || {
                let p = s.acquire();
                h.store(true, Ordering::SeqCst);
                while !w.load(Ordering::SeqCst) {
                    weft::sleep(Duration::from_millis(1));
                }
                weft::sleep(Duration::from_millis(20));
                drop(p);
            });
            while !held.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            let s = sem.clone();
            let wait = start(waiter, move || {
                let start = Instant::now();
                waiting.store(true, Ordering::SeqCst);
                let _p = s.acquire();
                start.elapsed()
            });
            assert!(
                wait.join() >= Duration::from_millis(5),
                "{holder:?}/{waiter:?}"
            );
            hold.join();
            assert_eq!(sem.available_permits(), 1);
        }
    });
}

#[test]
fn waiters_are_served_in_order_and_a_large_request_is_not_starved() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let sem = Arc::new(Semaphore::new(2));
            let held = sem.acquire_many(2);
            let order = Arc::new(std::sync::Mutex::new(Vec::new()));
            let parked = Arc::new(AtomicUsize::new(0));
            let spawn_acquirer = |name: &'static str, n: usize| {
                let (sem, order, parked) = (sem.clone(), order.clone(), parked.clone());
                weft::spawn(move || {
                    parked.fetch_add(1, Ordering::SeqCst);
                    let _p = sem.acquire_many(n);
                    order.lock().unwrap().push(name);
                })
            };
            let big = spawn_acquirer("big", 2);
            until(|| parked.load(Ordering::SeqCst) == 1);
            let small = spawn_acquirer("small", 1);
            until(|| parked.load(Ordering::SeqCst) == 2);
            // One permit back: not enough for the first waiter, and the
            // second may not jump the queue.
            let mut held = Some(held);
            sem.add_permits(1);
            held.take().unwrap().forget();
            assert!(sem.try_acquire().is_none());
            weft::yield_now();
            assert!(order.lock().unwrap().is_empty());
            sem.add_permits(1);
            big.join().unwrap();
            small.join().unwrap();
            assert_eq!(*order.lock().unwrap(), ["big", "small"]);
            assert_eq!(sem.available_permits(), 2);
        });
    });
}

#[test]
fn acquire_timeout_gives_up_in_both_settings() {
    with_timeout(10, || {
        for side in SIDES {
            let sem = Arc::new(Semaphore::new(0));
            let s = sem.clone();
            let r = start(side, move || {
                let start = Instant::now();
                let got = s.acquire_timeout(Duration::from_millis(20)).is_some();
                (got, start.elapsed())
            });
            let (got, took) = r.join();
            assert!(!got && took >= Duration::from_millis(20), "{side:?}");
            sem.add_permits(1);
            assert!(sem.acquire_timeout(Duration::from_millis(20)).is_some());
            assert_eq!(
                sem.available_permits(),
                1,
                "the timed-out waiter took nothing"
            );
        }
    });
}

#[test]
fn a_cancelled_waiter_granted_its_permit_passes_it_on() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let sem = Arc::new(Semaphore::new(1));
            let held = sem.acquire();
            let parked = Arc::new(AtomicUsize::new(0));
            let spawn_acquirer = || {
                let (sem, parked) = (sem.clone(), parked.clone());
                weft::spawn(move || {
                    parked.fetch_add(1, Ordering::SeqCst);
                    let _p = sem.acquire();
                })
            };
            let a = spawn_acquirer();
            until(|| parked.load(Ordering::SeqCst) == 1);
            let b = spawn_acquirer();
            until(|| parked.load(Ordering::SeqCst) == 2);
            drop(held); // grants the permit to A...
            a.cancel(); // ...which leaves without using it
            assert!(a.join().unwrap_err().is::<weft::Cancelled>());
            b.join().unwrap();
            assert_eq!(sem.available_permits(), 1);
        });
    });
}

#[test]
fn a_cancelled_queued_waiter_unblocks_the_ones_behind_it() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let sem = Arc::new(Semaphore::new(1));
            let held = sem.acquire();
            let parked = Arc::new(AtomicUsize::new(0));
            let (s, p) = (sem.clone(), parked.clone());
            let big = weft::spawn(move || {
                p.fetch_add(1, Ordering::SeqCst);
                let _p = s.acquire_many(2);
                unreachable!("cancelled while queued");
            });
            until(|| parked.load(Ordering::SeqCst) == 1);
            let (s, p) = (sem.clone(), parked.clone());
            let small = weft::spawn(move || {
                p.fetch_add(1, Ordering::SeqCst);
                s.acquire().num_permits()
            });
            until(|| parked.load(Ordering::SeqCst) == 2);
            drop(held); // 1 free: not enough for `big`, `small` waits behind
            big.cancel();
            assert!(big.join().unwrap_err().is::<weft::Cancelled>());
            assert_eq!(small.join().unwrap(), 1);
            assert_eq!(sem.available_permits(), 1);
        });
    });
}
