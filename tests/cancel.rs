//! Cancellation: a cancelled coroutine unwinds from its parking point,
//! running its destructors, and `join` reports `Cancelled`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{runtime, with_timeout};

/// Sets its flag when dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn cancel_a_sleeping_coroutine_runs_destructors() {
    with_timeout(10, || {
        let rt = runtime(2);
        let dropped = Arc::new(AtomicBool::new(false));
        let started = Arc::new(AtomicBool::new(false));
        let (d, s) = (dropped.clone(), started.clone());
        let h = rt.spawn(move || {
            let _flag = DropFlag(d);
            s.store(true, Ordering::SeqCst);
            weft::sleep(Duration::from_secs(3600));
            unreachable!("a cancelled sleep does not return");
        });
        while !started.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        h.cancel();
        let payload = h.join().unwrap_err();
        assert!(payload.is::<weft::Cancelled>());
        assert!(dropped.load(Ordering::SeqCst));
    });
}

#[test]
fn cancel_a_yielding_coroutine_runs_destructors() {
    with_timeout(10, || {
        let rt = runtime(1);
        let dropped = Arc::new(AtomicBool::new(false));
        let spins = Arc::new(AtomicUsize::new(0));
        let (d, n) = (dropped.clone(), spins.clone());
        let h = rt.spawn(move || {
            let _flag = DropFlag(d);
            loop {
                n.fetch_add(1, Ordering::SeqCst);
                weft::yield_now();
            }
        });
        while spins.load(Ordering::SeqCst) < 100 {
            std::thread::yield_now();
        }
        h.cancel();
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
        assert!(dropped.load(Ordering::SeqCst));
    });
}

#[test]
fn cancel_before_start_never_runs_the_body() {
    with_timeout(10, || {
        let rt = runtime(1);
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let outcome = rt.block_on(move || {
            // One worker, and we do not park before cancelling: the child
            // cannot have started.
            let h = weft::spawn(move || r.store(true, Ordering::SeqCst));
            h.cancel();
            h.join()
        });
        assert!(outcome.unwrap_err().is::<weft::Cancelled>());
        assert!(!ran.load(Ordering::SeqCst));
    });
}

#[test]
fn cancel_a_coroutine_parked_in_join() {
    with_timeout(10, || {
        let rt = runtime(2);
        let h = rt.spawn(|| {
            let inner = weft::spawn(|| weft::sleep(Duration::from_secs(3600)));
            let _ = inner.join();
        });
        std::thread::sleep(Duration::from_millis(20));
        h.cancel();
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
    });
}

#[test]
fn cancel_after_finish_is_harmless() {
    with_timeout(10, || {
        let h = weft::spawn(|| 5);
        while !h.is_finished() {
            std::thread::yield_now();
        }
        h.cancel();
        assert_eq!(h.join().unwrap(), 5);
    });
}

#[test]
fn a_coroutine_that_catches_cancel_is_cancelled_again_at_its_next_park() {
    with_timeout(10, || {
        let rt = runtime(1);
        let h = rt.spawn(|| {
            let first = std::panic::catch_unwind(|| weft::sleep(Duration::from_secs(3600)));
            assert!(first.unwrap_err().is::<weft::Cancelled>());
            weft::yield_now();
            unreachable!("the second parking point unwinds too");
        });
        std::thread::sleep(Duration::from_millis(20));
        h.cancel();
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
    });
}

#[test]
fn shutdown_cancels_parked_coroutines() {
    with_timeout(10, || {
        let rt = runtime(2);
        let dropped: Vec<_> = (0..100).map(|_| Arc::new(AtomicBool::new(false))).collect();
        let started = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = dropped
            .iter()
            .map(|d| {
                let (d, started) = (d.clone(), started.clone());
                rt.spawn(move || {
                    let _flag = DropFlag(d);
                    started.fetch_add(1, Ordering::SeqCst);
                    weft::sleep(Duration::from_secs(3600));
                })
            })
            .collect();
        // Every one parked (a fixed pause was too short under valgrind,
        // where unstarted ones were cancelled without ever making a flag).
        while started.load(Ordering::SeqCst) < dropped.len() {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        rt.shutdown();
        for h in handles {
            assert!(h.join().unwrap_err().is::<weft::Cancelled>());
        }
        assert!(dropped.iter().all(|d| d.load(Ordering::SeqCst)));
    });
}
