//! `Once`, `OnceLock` and `LazyLock`: a second caller parks while the
//! first initialises, so an initialiser that parks does not deadlock its
//! worker (std's versions block the worker thread on a futex that only
//! the parked initialiser, pinned to that very thread, could release).

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{runtime, with_timeout};
use weft::sync::{LazyLock, Once, OnceLock};

#[test]
fn oncelock_initialiser_that_parks_on_a_one_worker_runtime() {
    with_timeout(10, || {
        let rt = runtime(1);
        let cell = Arc::new(OnceLock::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let (cell, runs) = (cell.clone(), runs.clone());
                rt.spawn(move || {
                    *cell.get_or_init(|| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        weft::sleep(Duration::from_millis(20)); // parks
                        42
                    })
                })
            })
            .collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), 42);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn lazylock_initialiser_that_parks_on_a_one_worker_runtime() {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    static LAZY: LazyLock<String> = LazyLock::new(|| {
        RUNS.fetch_add(1, Ordering::SeqCst);
        weft::sleep(Duration::from_millis(20));
        "ready".to_string()
    });
    with_timeout(10, || {
        let rt = runtime(1);
        let hs: Vec<_> = (0..8).map(|_| rt.spawn(|| LAZY.len())).collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), 5);
        }
        assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn once_initialiser_that_parks_on_a_one_worker_runtime() {
    with_timeout(10, || {
        let rt = runtime(1);
        let once = Arc::new(Once::new());
        let done = Arc::new(AtomicBool::new(false));
        let hs: Vec<_> = (0..8)
            .map(|_| {
                let (once, done) = (once.clone(), done.clone());
                rt.spawn(move || {
                    once.call_once(|| {
                        weft::sleep(Duration::from_millis(20));
                        done.store(true, Ordering::SeqCst);
                    });
                    // Whoever returns sees the initialiser's effect.
                    done.load(Ordering::SeqCst)
                })
            })
            .collect();
        for h in hs {
            assert!(h.join().unwrap());
        }
        // A waiter that only waits, from a plain thread.
        once.wait();
        once.wait_force();
    });
}

#[test]
fn threads_and_coroutines_share_a_cell() {
    with_timeout(10, || {
        let rt = runtime(1);
        let cell = Arc::new(OnceLock::new());
        let c = cell.clone();
        let h = rt.spawn(move || {
            *c.get_or_init(|| {
                weft::sleep(Duration::from_millis(30));
                1
            })
        });
        std::thread::sleep(Duration::from_millis(5));
        // The plain thread blocks until the coroutine's initialiser ends.
        assert_eq!(*cell.wait(), 1);
        assert_eq!(cell.set(2), Err(2));
        assert_eq!(h.join().unwrap(), 1);
    });
}

#[test]
fn a_panicking_initialiser_poisons_a_once() {
    with_timeout(10, || {
        let once = Once::new();
        let r = catch_unwind(AssertUnwindSafe(|| {
            once.call_once(|| panic!("init failed"))
        }));
        assert!(r.is_err());
        assert!(!once.is_completed());
        let again = catch_unwind(AssertUnwindSafe(|| once.call_once(|| {})));
        let payload = again.unwrap_err();
        let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(message.contains("poisoned"), "{message}");
        assert!(catch_unwind(AssertUnwindSafe(|| once.wait())).is_err());
        let mut saw_poison = false;
        once.call_once_force(|state| saw_poison = state.is_poisoned());
        assert!(saw_poison);
        assert!(once.is_completed());
        once.call_once(|| unreachable!());
    });
}

#[test]
fn a_panicking_initialiser_leaves_a_oncelock_empty() {
    with_timeout(10, || {
        let cell = OnceLock::new();
        let r = catch_unwind(AssertUnwindSafe(|| {
            cell.get_or_init(|| -> u32 { panic!("no value") });
        }));
        assert!(r.is_err());
        assert_eq!(cell.get(), None);
        assert_eq!(*cell.get_or_init(|| 7), 7);
    });
}

#[test]
fn a_panicking_function_poisons_a_lazylock() {
    with_timeout(10, || {
        let lazy: LazyLock<u32> = LazyLock::new(|| panic!("no value"));
        assert!(catch_unwind(AssertUnwindSafe(|| *lazy)).is_err());
        let payload = catch_unwind(AssertUnwindSafe(|| *lazy)).unwrap_err();
        let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(message.contains("poisoned"), "{message}");
    });
}

#[test]
fn a_cancelled_initialiser_hands_the_cell_to_a_waiter() {
    with_timeout(10, || {
        let rt = runtime(1);
        let cell = Arc::new(OnceLock::new());
        let c = cell.clone();
        let first = rt.spawn(move || {
            *c.get_or_init(|| {
                weft::sleep(Duration::from_secs(3600));
                1
            })
        });
        std::thread::sleep(Duration::from_millis(10));
        let c = cell.clone();
        let second = rt.spawn(move || *c.get_or_init(|| 2));
        std::thread::sleep(Duration::from_millis(10));
        first.cancel();
        assert!(first.join().unwrap_err().is::<weft::Cancelled>());
        assert_eq!(second.join().unwrap(), 2);
    });
}

#[test]
fn a_cancelled_waiter_leaves_and_the_others_still_complete() {
    with_timeout(10, || {
        let rt = runtime(1);
        let once = Arc::new(Once::new());
        let o = once.clone();
        let init = rt.spawn(move || o.call_once(|| weft::sleep(Duration::from_millis(50))));
        std::thread::sleep(Duration::from_millis(5));
        let o = once.clone();
        let quitter = rt.spawn(move || o.call_once(|| unreachable!()));
        let o = once.clone();
        let stayer = rt.spawn(move || o.call_once(|| unreachable!()));
        std::thread::sleep(Duration::from_millis(5));
        quitter.cancel();
        assert!(quitter.join().unwrap_err().is::<weft::Cancelled>());
        init.join().unwrap();
        stayer.join().unwrap();
        assert!(once.is_completed());
    });
}

#[test]
fn oncelock_std_api() {
    let mut cell = OnceLock::from(String::from("a"));
    assert_eq!(cell.clone(), cell);
    assert_eq!(format!("{cell:?}"), "OnceLock(\"a\")");
    cell.get_mut().unwrap().push('b');
    assert_eq!(cell.take().as_deref(), Some("ab"));
    assert_eq!(format!("{cell:?}"), "OnceLock(<uninit>)");
    assert_eq!(cell.into_inner(), None);
    let lazy = LazyLock::new(|| 3);
    assert_eq!(format!("{lazy:?}"), "LazyLock(<uninit>)");
    assert_eq!(*LazyLock::force(&lazy), 3);
    assert_eq!(format!("{lazy:?}"), "LazyLock(3)");
}
