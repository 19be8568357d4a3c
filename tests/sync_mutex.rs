//! `weft::sync::Mutex`: mutual exclusion between coroutines, threads and
//! both; every one of 1,000 waiting coroutines gets the lock exactly once;
//! poisoning as std; a cancelled waiter leaves no one stranded, whether it
//! had been woken or handed the lock.

mod common;
mod sync_common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, TryLockError};
use std::time::Duration;

use common::{runtime, with_timeout};
use sync_common::{SETTINGS, start, until};
use weft::sync::Mutex;

#[test]
fn mutual_exclusion_in_every_setting() {
    with_timeout(30, || {
        for (a, b) in SETTINGS {
            let m = Arc::new(Mutex::new(0u64));
            let inside = Arc::new(AtomicBool::new(false));
            let roles: Vec<_> = [a, b, a, b]
                .into_iter()
                .map(|side| {
                    let (m, inside) = (m.clone(), inside.clone());
                    start(side, move || {
                        for i in 0..2000 {
                            let mut g = m.lock().unwrap();
                            assert!(!inside.swap(true, Ordering::SeqCst), "two holders");
                            *g += 1;
                            if i % 100 == 0 {
                                // Hold it across a park now and then.
                                weft::yield_now();
                            }
                            inside.store(false, Ordering::SeqCst);
                        }
                    })
                })
                .collect();
            for r in roles {
                r.join();
            }
            assert_eq!(*m.lock().unwrap(), 8000, "{a:?}/{b:?}");
        }
    });
}

#[test]
fn a_thousand_waiting_coroutines_each_get_the_lock_exactly_once() {
    with_timeout(30, || {
        let rt = runtime(2);
        let m = Arc::new(Mutex::new(Vec::new()));
        let guard = m.lock().unwrap();
        let started = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..1000)
            .map(|i| {
                let (m, started) = (m.clone(), started.clone());
                rt.spawn(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    m.lock().unwrap().push(i);
                })
            })
            .collect();
        while started.load(Ordering::SeqCst) < 1000 {
            std::thread::yield_now();
        }
        std::thread::sleep(Duration::from_millis(20));
        drop(guard);
        for h in handles {
            h.join().unwrap();
        }
        let mut got = std::mem::take(&mut *m.lock().unwrap());
        assert_eq!(got.len(), 1000);
        got.sort();
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
    });
}

#[test]
fn a_waiting_thread_gets_the_lock_from_a_coroutine_and_back() {
    with_timeout(10, || {
        for (holder, waiter) in SETTINGS {
            let m = Arc::new(Mutex::new(0));
            let held = Arc::new(AtomicBool::new(false));
            let (m1, h1) = (m.clone(), held.clone());
            let holding = start(holder, move || {
                let mut g = m1.lock().unwrap();
                h1.store(true, Ordering::SeqCst);
                weft::sleep(Duration::from_millis(20));
                *g += 1;
            });
            while !held.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            let m2 = m.clone();
            let waiting = start(waiter, move || {
                let g = m2.lock().unwrap();
                *g // sees the holder's write
            });
            assert_eq!(waiting.join(), 1, "{holder:?} -> {waiter:?}");
            holding.join();
        }
    });
}

#[test]
fn try_lock_never_waits() {
    let m = Mutex::new(1);
    let g = m.lock().unwrap();
    assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
    drop(g);
    *m.try_lock().unwrap() = 2;
    assert_eq!(m.into_inner().unwrap(), 2);
}

#[test]
fn a_panicking_holder_poisons_like_std() {
    with_timeout(10, || {
        let m = Arc::new(Mutex::new(1));
        let m2 = m.clone();
        let r = weft::spawn(move || {
            let _g = m2.lock().unwrap();
            panic!("while holding");
        })
        .join();
        assert!(r.is_err());
        assert!(m.is_poisoned());
        let err = m.lock().unwrap_err();
        assert_eq!(**err.get_ref(), 1);
        drop(err);
        assert!(matches!(m.try_lock(), Err(TryLockError::Poisoned(_))));
        m.clear_poison();
        assert!(m.lock().is_ok());
        let mut m = Arc::into_inner(m).unwrap();
        assert_eq!(*m.get_mut().unwrap(), 1);
    });
}

#[test]
fn a_cancelled_waiter_leaves_the_lock_usable() {
    with_timeout(10, || {
        let rt = runtime(2);
        let m = Arc::new(Mutex::new(0));
        let g = m.lock().unwrap();
        let m2 = m.clone();
        let h = rt.spawn(move || {
            let _g = m2.lock();
            unreachable!("cancelled while waiting");
        });
        std::thread::sleep(Duration::from_millis(20));
        h.cancel();
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
        drop(g);
        assert!(!m.is_poisoned(), "it never held the lock");
        *m.lock().unwrap() += 1;
        let m3 = m.clone();
        rt.spawn(move || *m3.lock().unwrap() += 1).join().unwrap();
        assert_eq!(*m.lock().unwrap(), 2);
    });
}

/// Two coroutines A then B wait for the lock held by the caller, on one
/// worker; `starve` makes them wait long enough to be handed the lock.
/// The unlock wakes (or hands the lock to) A, which is cancelled before
/// it runs: B must get the lock anyway.
fn cancelled_first_waiter_passes_on(starve: bool) {
    with_timeout(10, move || {
        let rt = runtime(1);
        rt.block_on(move || {
            let m = Arc::new(Mutex::new(Vec::new()));
            let guard = m.lock().unwrap();
            let parked = Arc::new(AtomicUsize::new(0));
            let spawn_locker = |name: &'static str| {
                let (m, parked) = (m.clone(), parked.clone());
                weft::spawn(move || {
                    parked.fetch_add(1, Ordering::SeqCst);
                    m.lock().unwrap().push(name);
                })
            };
            let a = spawn_locker("a");
            until(|| parked.load(Ordering::SeqCst) == 1);
            let b = spawn_locker("b");
            until(|| parked.load(Ordering::SeqCst) == 2);
            if starve {
                weft::sleep(Duration::from_millis(5));
            }
            drop(guard);
            a.cancel();
            assert!(a.join().unwrap_err().is::<weft::Cancelled>());
            b.join().unwrap();
            assert_eq!(*m.lock().unwrap(), ["b"]);
            assert!(!m.is_poisoned());
        });
    });
}

#[test]
fn a_cancelled_woken_waiter_passes_the_wake_on() {
    cancelled_first_waiter_passes_on(false);
}

#[test]
fn a_cancelled_waiter_handed_the_lock_passes_the_lock_on() {
    cancelled_first_waiter_passes_on(true);
}

#[test]
fn a_starving_waiter_is_handed_the_lock_over_a_relocking_coroutine() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let m = Arc::new(Mutex::new(()));
            let done = Arc::new(AtomicBool::new(false));
            let (m2, d) = (m.clone(), done.clone());
            let guard = m.lock().unwrap();
            let waiter = weft::spawn(move || {
                let _g = m2.lock().unwrap();
                d.store(true, Ordering::SeqCst);
            });
            weft::yield_now(); // let it park on the lock
            weft::sleep(Duration::from_millis(5)); // it starves
            drop(guard);
            // Relock at once, without yielding: with plain barging the
            // running coroutine would keep winning (the woken waiter
            // cannot even run); the starving waiter was handed the lock
            // instead, so the first relock waits for it.
            for _ in 0..10 {
                let _g = m.lock().unwrap();
            }
            assert!(done.load(Ordering::SeqCst));
            waiter.join().unwrap();
        });
    });
}

#[test]
fn mutex_is_usable_in_a_static_and_has_std_traits() {
    static COUNT: Mutex<u32> = Mutex::new(0);
    *COUNT.lock().unwrap() += 1;
    assert_eq!(*COUNT.lock().unwrap(), 1);
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Mutex<Vec<u8>>>();
    let m: Mutex<i32> = Mutex::default();
    assert_eq!(format!("{m:?}"), "Mutex { data: 0, poisoned: false, .. }");
    let g = m.lock().unwrap();
    assert_eq!(format!("{g} {g:?}"), "0 0");
}
