//! Unwinding is per coroutine: a coroutine parked in a destructor while
//! it unwinds does not make its neighbours on the same worker look
//! unwinding (std's `thread::panicking()` is per OS thread).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::{runtime, with_timeout};
use weft::sync::Mutex;
use weft::sync::mpsc::{self, Receiver, Sender};
use weft::{Cancelled, JoinHandle};

/// Cancels a coroutine and joins it when dropped; records that the join
/// said `Cancelled` (asserting in a destructor that runs during an
/// unwind would abort).
struct CancelAndJoin {
    victim: Option<JoinHandle<()>>,
    joined_cancelled: Arc<AtomicBool>,
}

impl Drop for CancelAndJoin {
    fn drop(&mut self) {
        let victim = self.victim.take().unwrap();
        victim.cancel();
        if let Err(payload) = victim.join() {
            self.joined_cancelled
                .store(payload.is::<Cancelled>(), Ordering::SeqCst);
        }
    }
}

/// A coroutine that panics while a guard cancels and joins another one,
/// on one worker: the cancelled coroutine must unwind although the
/// worker thread counts a panic in progress. (It hung before weft
/// tracked unwinding per coroutine.)
#[test]
fn a_guard_cancels_and_joins_a_neighbour_while_unwinding_on_one_worker() {
    with_timeout(20, || {
        let rt = runtime(1);
        let joined_cancelled = Arc::new(AtomicBool::new(false));
        let flag = joined_cancelled.clone();
        let h = rt.spawn(move || {
            let started = Arc::new(AtomicBool::new(false));
            let s = started.clone();
            let victim = weft::spawn(move || {
                s.store(true, Ordering::SeqCst);
                loop {
                    weft::park();
                }
            });
            while !started.load(Ordering::SeqCst) {
                weft::yield_now();
            }
            let _guard = CancelAndJoin {
                victim: Some(victim),
                joined_cancelled: flag,
            };
            panic!("boom while guarded");
        });
        let payload = h.join().unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom while guarded"));
        assert!(joined_cancelled.load(Ordering::SeqCst));
    });
}

/// Parks in its destructor: tells `parked` it got there, then waits for
/// `release`.
struct ParkInDrop {
    parked: Sender<()>,
    release: Receiver<()>,
}

impl Drop for ParkInDrop {
    fn drop(&mut self) {
        let _ = self.parked.send(());
        let _ = self.release.recv();
    }
}

/// Spawns a coroutine that panics and then parks in a destructor until
/// released; returns its handle, the "parked" receiver and the release
/// sender.
fn spawn_parked_mid_unwind(rt: &weft::Runtime) -> (JoinHandle<()>, Receiver<()>, Sender<()>) {
    let (parked_tx, parked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let h = rt.spawn(move || {
        let _p = ParkInDrop {
            parked: parked_tx,
            release: release_rx,
        };
        panic!("unwinding, parked in a destructor");
    });
    (h, parked_rx, release_tx)
}

/// A neighbour that takes a weft `Mutex` before another coroutine starts
/// unwinding and releases it while that one is parked mid-unwind leaves
/// it unpoisoned. (It was poisoned: the unlock asked the thread.)
#[test]
fn a_neighbour_unwinding_does_not_poison_a_lock_released_normally() {
    with_timeout(20, || {
        let rt = runtime(1);
        let m = Arc::new(Mutex::new(0));
        let (locked_tx, locked_rx) = mpsc::channel::<()>();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let m2 = m.clone();
        let neighbour = rt.spawn(move || {
            let mut guard = m2.lock().unwrap();
            locked_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            *guard += 1;
        });
        locked_rx.recv().unwrap();
        let (unwinder, parked, release) = spawn_parked_mid_unwind(&rt);
        parked.recv().unwrap();
        // The unwinder is parked mid-unwind: the neighbour unlocks now.
        go_tx.send(()).unwrap();
        neighbour.join().unwrap();
        assert!(!m.is_poisoned(), "a normal unlock poisoned the lock");
        drop(release);
        assert!(unwinder.join().is_err());
        // Locking and unlocking while nothing is held also stays clean.
        let (unwinder, parked, release) = spawn_parked_mid_unwind(&rt);
        parked.recv().unwrap();
        let m3 = m.clone();
        rt.spawn(move || *m3.lock().unwrap() += 1).join().unwrap();
        drop(release);
        assert!(unwinder.join().is_err());
        assert!(!m.is_poisoned());
        assert_eq!(*m.lock().unwrap(), 2);
    });
}

/// The converse: a neighbour that panics in its critical section while
/// another coroutine is parked mid-unwind poisons the lock. (It did not:
/// the lock saw the thread already panicking when it was taken.)
#[test]
fn a_panic_in_a_critical_section_poisons_while_a_neighbour_unwinds() {
    with_timeout(20, || {
        let rt = runtime(1);
        let m = Arc::new(Mutex::new(0));
        let (unwinder, parked, release) = spawn_parked_mid_unwind(&rt);
        parked.recv().unwrap();
        let m2 = m.clone();
        let failing = rt.spawn(move || {
            let _guard = m2.lock().unwrap();
            panic!("fails in the critical section");
        });
        assert!(failing.join().is_err());
        assert!(
            m.is_poisoned(),
            "a panic in a critical section did not poison"
        );
        drop(release);
        assert!(unwinder.join().is_err());
    });
}

/// `weft::panicking()` is true in the unwinding coroutine only, where
/// std's `thread::panicking()` is true for all the coroutines of the
/// worker.
#[test]
fn weft_panicking_is_per_coroutine() {
    with_timeout(20, || {
        let rt = runtime(1);
        let seen_in_drop = Arc::new(AtomicBool::new(false));
        let seen = seen_in_drop.clone();
        let (parked_tx, parked_rx) = mpsc::channel::<()>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        struct Probe {
            seen: Arc<AtomicBool>,
            parked: Sender<()>,
            release: Receiver<()>,
        }
        impl Drop for Probe {
            fn drop(&mut self) {
                self.seen.store(weft::panicking(), Ordering::SeqCst);
                let _ = self.parked.send(());
                let _ = self.release.recv();
                // Still unwinding after the park.
                if !weft::panicking() {
                    self.seen.store(false, Ordering::SeqCst);
                }
            }
        }
        let unwinder = rt.spawn(move || {
            let _p = Probe {
                seen,
                parked: parked_tx,
                release: release_rx,
            };
            assert!(!weft::panicking());
            panic!("probe");
        });
        parked_rx.recv().unwrap();
        let (weft_says, std_says) = rt
            .spawn(|| (weft::panicking(), std::thread::panicking()))
            .join()
            .unwrap();
        assert!(!weft_says, "a neighbour looked unwinding");
        assert!(std_says, "std's count is per thread (documented)");
        drop(release_tx);
        assert!(unwinder.join().is_err());
        assert!(seen_in_drop.load(Ordering::SeqCst));
        // Caught: no longer unwinding.
        let after = rt
            .spawn(|| {
                let caught = std::panic::catch_unwind(|| panic!("caught"));
                weft::yield_now();
                (caught.is_err(), weft::panicking())
            })
            .join()
            .unwrap();
        assert_eq!(after, (true, false));
        // Outside coroutines it is std's answer.
        assert!(!weft::panicking());
    });
}

/// Two coroutines parked mid-unwind on one worker, both cancelled: each
/// finishes its own unwind (a second unwind would abort the process),
/// and both joins report their panics.
#[test]
fn cancelling_coroutines_parked_mid_unwind_does_not_unwind_them_twice() {
    with_timeout(20, || {
        let rt = runtime(1);
        let (a, a_parked, a_release) = spawn_parked_mid_unwind(&rt);
        let (b, b_parked, b_release) = spawn_parked_mid_unwind(&rt);
        a_parked.recv().unwrap();
        b_parked.recv().unwrap();
        a.cancel();
        b.cancel();
        // Give the cancels time to be looked at by both.
        let ticks = Arc::new(AtomicUsize::new(0));
        let t = ticks.clone();
        rt.spawn(move || {
            for _ in 0..100 {
                t.fetch_add(1, Ordering::SeqCst);
                weft::yield_now();
            }
        })
        .join()
        .unwrap();
        assert_eq!(ticks.load(Ordering::SeqCst), 100);
        drop(a_release);
        drop(b_release);
        for h in [a, b] {
            let payload = h.join().unwrap_err();
            assert_eq!(
                payload.downcast_ref::<&str>(),
                Some(&"unwinding, parked in a destructor")
            );
        }
    });
}
