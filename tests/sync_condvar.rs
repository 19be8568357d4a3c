//! `weft::sync::Condvar`: notify one / all between coroutines, threads
//! and both; timeouts; a notified waiter that is cancelled passes the
//! notification on.

mod common;
mod sync_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};
use sync_common::{SETTINGS, SIDES, start, until};
use weft::sync::{Condvar, Mutex};

#[test]
fn notify_one_wakes_a_waiter_in_every_setting() {
    with_timeout(20, || {
        for (waiter_side, notifier_side) in SETTINGS {
            let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
            let p = pair.clone();
            let waiter = start(waiter_side, move || {
                let (m, cv) = &*p;
                let mut seen = Vec::new();
                let mut g = m.lock().unwrap();
                while seen.len() < 100 {
                    g = cv.wait_while(g, |n| *n == 0).unwrap();
                    seen.push(*g);
                    *g = 0;
                    cv.notify_one();
                }
                seen
            });
            let p = pair.clone();
            let notifier = start(notifier_side, move || {
                let (m, cv) = &*p;
                for i in 1..=100 {
                    let mut g = m.lock().unwrap();
                    g = cv.wait_while(g, |n| *n != 0).unwrap();
                    *g = i;
                    cv.notify_one();
                }
            });
            notifier.join();
            assert_eq!(waiter.join(), (1..=100).collect::<Vec<_>>());
        }
    });
}

#[test]
fn notify_all_wakes_every_waiter_of_both_kinds() {
    with_timeout(10, || {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let waiting = Arc::new(AtomicUsize::new(0));
        let roles: Vec<_> = (0..8)
            .map(|i| {
                let (p, w) = (pair.clone(), waiting.clone());
                start(SIDES[i % 2], move || {
                    let (m, cv) = &*p;
                    let g = m.lock().unwrap();
                    w.fetch_add(1, Ordering::SeqCst);
                    let _g = cv.wait_while(g, |go| !*go).unwrap();
                })
            })
            .collect();
        while waiting.load(Ordering::SeqCst) < 8 {
            std::thread::yield_now();
        }
        *pair.0.lock().unwrap() = true;
        pair.1.notify_all();
        for r in roles {
            r.join();
        }
    });
}

#[test]
fn wait_timeout_times_out_in_both_settings() {
    with_timeout(10, || {
        for side in SIDES {
            let r = start(side, || {
                let (m, cv) = (Mutex::new(()), Condvar::new());
                let start = Instant::now();
                let (g, r) = cv
                    .wait_timeout(m.lock().unwrap(), Duration::from_millis(20))
                    .unwrap();
                drop(g);
                let (_g, r2) = cv
                    .wait_timeout_while(m.lock().unwrap(), Duration::from_millis(20), |_| true)
                    .unwrap();
                (r.timed_out(), r2.timed_out(), start.elapsed())
            });
            let (a, b, took) = r.join();
            assert!(a && b, "{side:?}");
            assert!(took >= Duration::from_millis(40), "{side:?}: {took:?}");
        }
    });
}

#[test]
fn wait_timeout_reports_a_notification_in_time() {
    with_timeout(10, || {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let p = pair.clone();
        let h = weft::spawn(move || {
            let (m, cv) = &*p;
            let (g, r) = cv
                .wait_timeout_while(m.lock().unwrap(), Duration::from_secs(5), |done| !*done)
                .unwrap();
            (*g, r.timed_out())
        });
        std::thread::sleep(Duration::from_millis(10));
        *pair.0.lock().unwrap() = true;
        pair.1.notify_one();
        assert_eq!(h.join().unwrap(), (true, false));
    });
}

#[test]
fn a_cancelled_notified_waiter_passes_the_notification_on() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let pair = Arc::new((Mutex::new(()), Condvar::new()));
            let parked = Arc::new(AtomicUsize::new(0));
            let spawn_waiter = || {
                let (p, parked) = (pair.clone(), parked.clone());
                weft::spawn(move || {
                    let (m, cv) = &*p;
                    let g = m.lock().unwrap();
                    parked.fetch_add(1, Ordering::SeqCst);
                    drop(cv.wait(g).unwrap());
                })
            };
            let a = spawn_waiter();
            until(|| parked.load(Ordering::SeqCst) == 1);
            let b = spawn_waiter();
            until(|| parked.load(Ordering::SeqCst) == 2);
            pair.1.notify_one(); // wakes A...
            a.cancel(); // ...which leaves instead
            assert!(a.join().unwrap_err().is::<weft::Cancelled>());
            b.join().unwrap(); // B got the notification
        });
    });
}

#[test]
fn a_cancelled_waiter_leaves_the_condvar_and_mutex_usable() {
    with_timeout(10, || {
        let rt = runtime(2);
        let pair = Arc::new((Mutex::new(0), Condvar::new()));
        let p = pair.clone();
        let h = rt.spawn(move || {
            let (m, cv) = &*p;
            let _g = cv.wait(m.lock().unwrap());
            unreachable!("cancelled while waiting");
        });
        std::thread::sleep(Duration::from_millis(20));
        h.cancel();
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
        let (m, cv) = &*pair;
        cv.notify_all(); // nobody left: no wake of a dead coroutine
        *m.lock().unwrap() += 1;
        assert!(!m.is_poisoned());
    });
}
