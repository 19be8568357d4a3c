//! User code never runs on a worker's own loop: the destructors of a
//! detached coroutine's result, of a closure that never ran and of the
//! `coroutine_local!` values they make run on a coroutine, where a weft
//! lock or channel parks instead of blocking the worker; and a destructor
//! that panics there is reported, never unwinds the worker.

mod common;

use std::cell::RefCell;
use std::sync::mpsc;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use common::{runtime, with_timeout};

/// Locks a weft `Mutex` when dropped, then reports whether it was dropped
/// on a coroutine.
struct LocksOnDrop {
    mutex: Arc<weft::sync::Mutex<u32>>,
    done: mpsc::Sender<bool>,
}

impl Drop for LocksOnDrop {
    fn drop(&mut self) {
        // Poisoning is not what this checks: on a worker where a coroutine
        // is parked mid-unwind, std's `thread::panicking()` (which weft's
        // locks consult) is true for every coroutine of that worker.
        *self.mutex.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let _ = self.done.send(weft::current().is_some());
    }
}

#[test]
fn a_detached_result_whose_drop_locks_a_held_mutex_completes() {
    with_timeout(20, || {
        let rt = runtime(1);
        let mutex = Arc::new(weft::sync::Mutex::new(0));
        let (done_tx, done_rx) = mpsc::channel();
        let m = mutex.clone();
        rt.block_on(move || {
            let guard = m.lock().unwrap();
            let m2 = m.clone();
            // Detached at once: its result is dropped when it finishes,
            // while we still hold the lock.
            drop(weft::spawn(move || LocksOnDrop {
                mutex: m2,
                done: done_tx,
            }));
            // Its worker (the only one) must go on running us: the timer
            // of this sleep fires on it.
            weft::sleep(Duration::from_millis(50));
            drop(guard);
        });
        let on_coroutine = done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the result's destructor finished");
        assert!(on_coroutine, "the result was dropped on a coroutine");
        assert_eq!(*mutex.lock().unwrap_or_else(|e| e.into_inner()), 1);
        rt.shutdown();
    });
}

/// Panics when dropped, after saying so.
struct PanicsOnDrop(mpsc::Sender<()>);

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(());
        panic!("a result that panics on drop");
    }
}

#[test]
fn a_detached_result_whose_drop_panics_leaves_the_runtime_running() {
    with_timeout(20, || {
        let rt = runtime(1);
        // A coroutine parked meanwhile must survive it untouched.
        let (wake_tx, wake_rx) = weft::sync::mpsc::channel::<u32>();
        let parked = rt.spawn(move || wake_rx.recv().unwrap());
        let (dropped_tx, dropped_rx) = mpsc::channel();
        drop(rt.spawn(move || PanicsOnDrop(dropped_tx)));
        dropped_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the result was dropped");
        // The worker goes on: new coroutines run, the parked one wakes.
        assert_eq!(rt.spawn(|| 6 * 7).join().unwrap(), 42);
        wake_tx.send(7).unwrap();
        assert_eq!(parked.join().unwrap(), 7);
        let _ = weft::dump();
        rt.shutdown();
    });
}

#[test]
fn a_joined_result_whose_drop_panics_panics_in_the_joiner_only() {
    with_timeout(20, || {
        let rt = runtime(1);
        let (dropped_tx, _dropped_rx) = mpsc::channel();
        let h = rt.spawn(move || PanicsOnDrop(dropped_tx));
        let value = h.join().unwrap();
        // Dropped here, by its owner, as any value: the panic is ours.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(value)));
        assert!(r.is_err());
        assert_eq!(rt.spawn(|| 1).join().unwrap(), 1);
        rt.shutdown();
    });
}

#[test]
fn a_closure_cancelled_before_it_starts_is_dropped_on_a_coroutine() {
    with_timeout(20, || {
        let rt = runtime(1);
        let mutex = Arc::new(weft::sync::Mutex::new(0));
        let (done_tx, done_rx) = mpsc::channel();
        let m = mutex.clone();
        let payload_is_cancelled = rt.block_on(move || {
            let guard = m.lock().unwrap();
            let captured = LocksOnDrop {
                mutex: m.clone(),
                done: done_tx,
            };
            // Queued on this worker, which we keep until we park: it is
            // cancelled before it can start.
            let h = weft::spawn(move || drop(captured));
            h.cancel();
            weft::sleep(Duration::from_millis(50));
            drop(guard);
            h.join().unwrap_err().is::<weft::Cancelled>()
        });
        assert!(payload_is_cancelled);
        let on_coroutine = done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the closure's destructor finished");
        assert!(on_coroutine, "the closure was dropped on a coroutine");
        rt.shutdown();
    });
}

/// Records whether it was dropped on a coroutine.
struct Probe(Arc<StdMutex<Vec<bool>>>);

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(weft::current().is_some());
    }
}

weft::coroutine_local! {
    static LATE: RefCell<Option<Probe>> = const { RefCell::new(None) };
}

/// A result whose destructor makes a coroutine-local value.
struct MakesALocal(Arc<StdMutex<Vec<bool>>>);

impl Drop for MakesALocal {
    fn drop(&mut self) {
        let probe = Probe(self.0.clone());
        LATE.with_borrow_mut(|late| *late = Some(probe));
    }
}

#[test]
fn a_local_made_by_a_detached_result_is_dropped_on_its_coroutine() {
    with_timeout(20, || {
        let rt = runtime(1);
        let drops = Arc::new(StdMutex::new(Vec::new()));
        let d = drops.clone();
        drop(rt.spawn(move || MakesALocal(d)));
        let start = std::time::Instant::now();
        while drops.lock().unwrap().is_empty() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the local made during teardown was never dropped"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(*drops.lock().unwrap(), vec![true]);
        rt.shutdown();
    });
}
