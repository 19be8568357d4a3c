//! [`JoinHandle`]: waiting for a coroutine's result, from a coroutine
//! (parks it) or from a thread (blocks it).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::coroutine::{Coroutine, CoroutineId, Header};
use crate::observe::WaitFor;
use crate::park::{self, Unparker};

/// Where a coroutine leaves its result for its [`JoinHandle`].
pub(crate) struct Packet<T> {
    slot: Mutex<Slot<T>>,
    finished: AtomicBool,
}

struct Slot<T> {
    result: Option<thread::Result<T>>,
    waiter: Option<Unparker>,
}

impl<T> Packet<T> {
    pub(crate) fn new() -> Arc<Packet<T>> {
        Arc::new(Packet {
            slot: Mutex::new(Slot {
                result: None,
                waiter: None,
            }),
            finished: AtomicBool::new(false),
        })
    }

    /// Stores the result and wakes the joiner, if one waits.
    pub(crate) fn complete(&self, result: thread::Result<T>) {
        let waiter = {
            let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.result = Some(result);
            self.finished.store(true, Ordering::Release);
            slot.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.unpark();
        }
    }

    /// Waits for the result. `cancellable`: whether a cancel of the
    /// waiting coroutine may unwind out of the wait.
    pub(crate) fn wait(&self, cancellable: bool, reason: WaitFor) -> thread::Result<T> {
        let mut registered = None;
        loop {
            {
                let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(result) = slot.result.take() {
                    return result;
                }
                if registered.is_none() {
                    slot.waiter = Some(Unparker::current());
                    // Recorded only when we really wait: a join that finds
                    // the result ready costs nothing extra.
                    registered = Some(crate::observe::waiting(reason));
                }
            }
            if cancellable {
                park::park();
            } else {
                park::park_uncancellable();
            }
        }
    }
}

/// An owned permission to join a coroutine (wait for it to finish), like
/// [`std::thread::JoinHandle`].
///
/// Dropping the handle detaches the coroutine: it runs on, and its result
/// is dropped.
///
/// ```
/// let h = weft::spawn(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    header: Arc<Header>,
    coroutine: Coroutine,
    packet: Arc<Packet<T>>,
    /// The job runs on the blocking pool (`spawn_blocking`), not as a
    /// coroutine: a dump shows its joiner waiting for `Blocking` work.
    blocking_job: bool,
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(header: Arc<Header>, packet: Arc<Packet<T>>) -> JoinHandle<T> {
        JoinHandle {
            coroutine: Coroutine::from_header(header.clone()),
            header,
            packet,
            blocking_job: false,
        }
    }

    /// A handle to a job of the blocking pool.
    pub(crate) fn for_blocking_job(header: Arc<Header>, packet: Arc<Packet<T>>) -> JoinHandle<T> {
        JoinHandle {
            blocking_job: true,
            ..JoinHandle::new(header, packet)
        }
    }

    /// What a joiner parked on this handle is waiting for.
    fn wait_reason(&self) -> WaitFor {
        if self.blocking_job {
            WaitFor::Blocking
        } else {
            WaitFor::Join(self.id())
        }
    }

    /// Waits for the coroutine to finish and returns its result:
    /// `Err(payload)` if it panicked, with a [`Cancelled`](crate::Cancelled)
    /// payload if it was cancelled.
    ///
    /// In a coroutine this parks the coroutine (and is itself a parking
    /// point: cancelling the *joiner* unwinds it from here); on a plain
    /// thread it blocks the thread.
    ///
    /// ```
    /// let h = weft::spawn(|| panic!("boom"));
    /// let err = h.join().unwrap_err();
    /// assert_eq!(err.downcast_ref::<&str>(), Some(&"boom"));
    /// ```
    pub fn join(self) -> thread::Result<T> {
        self.packet.wait(true, self.wait_reason())
    }

    /// Whether the coroutine has finished (returned, panicked or been
    /// cancelled). Does not block.
    ///
    /// ```
    /// let h = weft::spawn(|| ());
    /// while !h.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// h.join().unwrap();
    /// ```
    pub fn is_finished(&self) -> bool {
        self.packet.finished.load(Ordering::Acquire)
    }

    /// Cancels the coroutine: it unwinds from its next parking point (any
    /// blocking-looking weft call, `sleep`, `yield_now`, a wait), running
    /// its destructors, and `join` returns `Err` with a
    /// [`Cancelled`](crate::Cancelled) payload. A coroutine that has not
    /// started yet never runs. Cancelling a finished coroutine does
    /// nothing.
    ///
    /// ```
    /// use std::time::Duration;
    /// let h = weft::spawn(|| weft::sleep(Duration::from_secs(3600)));
    /// h.cancel();
    /// assert!(h.join().unwrap_err().is::<weft::Cancelled>());
    /// ```
    pub fn cancel(&self) {
        self.header.cancel();
    }

    /// The coroutine's id.
    ///
    /// ```
    /// let a = weft::spawn(|| ());
    /// let b = weft::spawn(|| ());
    /// assert_ne!(a.id(), b.id());
    /// # a.join().unwrap(); b.join().unwrap();
    /// ```
    pub fn id(&self) -> CoroutineId {
        self.header.id()
    }

    /// A handle to the coroutine, like [`std::thread::JoinHandle::thread`].
    ///
    /// ```
    /// let h = weft::Builder::new().name("n".into()).spawn(|| ()).unwrap();
    /// assert_eq!(h.coroutine().name(), Some("n"));
    /// # h.join().unwrap();
    /// ```
    pub fn coroutine(&self) -> &Coroutine {
        &self.coroutine
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> JoinHandle<T> {
    /// `join` whose wait a cancel of the caller cannot interrupt.
    pub(crate) fn wait_uncancellable(self) -> thread::Result<T> {
        self.packet.wait(false, self.wait_reason())
    }
}
