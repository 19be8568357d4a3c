//! [`JoinHandle`]: waiting for a coroutine's result, from a coroutine
//! (parks it), from a thread (blocks it) or from async code on any
//! executor ([`JoinFuture`], which leaves a `Waker` in the packet).

use std::fmt;
use std::future::IntoFuture;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread;

use crate::observe::WaitFor;
use crate::rt::coroutine::{Coroutine, CoroutineId, Header, Tail};
use crate::rt::park::{self, Unparker};
use crate::rt::scheduler::Start;

/// Where a coroutine leaves its result for its [`JoinHandle`].
///
/// Whoever comes last drops the result, never the last `Arc<Header>`: if
/// the handle is dropped first (`detach`), the coroutine drops its own
/// result, on its own stack (`publish` hands it back); if the coroutine
/// finishes first, the handle's drop takes the result and drops it where
/// the user dropped the handle. Either way the packet is empty by the
/// time both are gone, so whoever drops the header's last clone (a timer,
/// a poller, a dump, on a worker's own loop) runs no user code.
pub(crate) struct Packet<T> {
    slot: Mutex<Slot<T>>,
    finished: AtomicBool,
}

struct Slot<T> {
    result: Option<thread::Result<T>>,
    waiter: Option<Waiter>,
    /// The handle is gone: nobody will take a result.
    detached: bool,
}

/// Who waits for the result: a coroutine or thread in `join`, or a task
/// of some executor awaiting a [`JoinFuture`].
enum Waiter {
    Unparker(Unparker),
    Waker(Waker),
}

impl Waiter {
    fn wake(self) {
        match self {
            Waiter::Unparker(unparker) => unparker.unpark(),
            Waiter::Waker(waker) => waker.wake(),
        }
    }
}

impl<T> Packet<T> {
    /// An empty packet, to be placed in a coroutine's allocation.
    pub(crate) fn empty() -> Packet<T> {
        Packet {
            slot: Mutex::new(Slot {
                result: None,
                waiter: None,
                detached: false,
            }),
            finished: AtomicBool::new(false),
        }
    }

    /// An empty packet of its own (for work that has no header).
    pub(crate) fn new() -> Arc<Packet<T>> {
        Arc::new(Packet::empty())
    }

    /// Stores the result and wakes the joiner, if one waits; if the
    /// handle is gone, drops the result here instead (see
    /// [`drop_detached`]).
    pub(crate) fn complete(&self, result: thread::Result<T>) {
        if let Some(result) = self.publish(result, || ()) {
            drop_detached(result);
        }
    }

    /// Stores the result and wakes the joiner, if one waits, running
    /// `before` first under the packet's lock (so before any joiner can
    /// see the result). If the handle is gone, does neither and gives the
    /// result back: the caller drops it.
    #[inline]
    pub(crate) fn publish(
        &self,
        result: thread::Result<T>,
        before: impl FnOnce(),
    ) -> Option<thread::Result<T>> {
        let waiter = {
            let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            if slot.detached {
                return Some(result);
            }
            before();
            slot.result = Some(result);
            self.finished.store(true, Ordering::Release);
            slot.waiter.take()
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
        None
    }

    /// The handle is dropped: takes the result if there is one already
    /// (the caller drops it), and otherwise tells `publish` to give the
    /// result back to the coroutine.
    fn detach(&self) -> Option<thread::Result<T>> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        slot.detached = true;
        slot.result.take()
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
                    slot.waiter = Some(Waiter::Unparker(Unparker::current()));
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

    /// The result if it is there; otherwise `waker` is left to be woken
    /// when it comes (replacing an earlier waiter).
    fn poll_result(&self, waker: &Waker) -> Poll<thread::Result<T>> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(result) = slot.result.take() {
            return Poll::Ready(result);
        }
        match &slot.waiter {
            Some(Waiter::Waker(old)) if old.will_wake(waker) => {}
            _ => slot.waiter = Some(Waiter::Waker(waker.clone())),
        }
        Poll::Pending
    }
}

/// Drops the result of a coroutine whose handle is gone, on the thread
/// that finished it (the coroutine's own stack, or a blocking-pool
/// thread). A panic from its destructor is reported, as std reports
/// "thread result panicked on drop", and goes no further: it must not
/// unwind the coroutine's end, let alone a worker. (std aborts the
/// process there; weft goes on.)
pub(crate) fn drop_detached<V>(value: V) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| drop(value))) {
        eprintln!("weft: a detached coroutine's result panicked on drop");
        drop_payload(payload);
    }
}

/// Drops a panic payload, whose own destructor may panic too: such a
/// second payload is leaked rather than dropped (its destructor already
/// failed once).
pub(crate) fn drop_payload(payload: Box<dyn std::any::Any + Send>) {
    if let Err(again) = panic::catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        std::mem::forget(again);
    }
}

/// A blocking-pool job's header has just a packet for a tail: the job
/// runs on a pool thread, never as a coroutine.
impl<T: Send> Tail for Packet<T> {
    unsafe fn start(&self, _: Start<'_>) {
        unreachable!("a blocking job is never started as a coroutine")
    }

    fn body_needs_drop(&self) -> bool {
        false
    }
}

/// An owned permission to join a coroutine (wait for it to finish), like
/// [`std::thread::JoinHandle`].
///
/// Dropping the handle detaches the coroutine: it runs on, and its result
/// is dropped when it finishes, on the coroutine itself (a destructor that
/// locks or waits parks it, as anywhere in a coroutine; one that panics is
/// reported on stderr and goes no further). Dropping the handle of a
/// finished coroutine drops its result right there.
///
/// ```
/// let h = weft::spawn(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    /// Holds the coroutine's header (`coroutine.header()`), and with it the
    /// whole allocation.
    coroutine: Coroutine,
    /// The packet in the tail of the header's allocation, which
    /// `coroutine` keeps alive.
    packet: NonNull<Packet<T>>,
    /// The job runs on the blocking pool (`spawn_blocking`), not as a
    /// coroutine: a dump shows its joiner waiting for `Blocking` work.
    blocking_job: bool,
}

// SAFETY: a handle is an `Arc<Header>` (Send + Sync) plus shared access to
// a `Packet<T>` inside that allocation; `Packet<T>` is Send + Sync when `T`
// is Send (a mutex around the result), exactly the bound of the
// `Arc<Packet<T>>` a handle could hold instead.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: as for `Send` just above.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// A handle to the coroutine whose allocation `header` is.
    ///
    /// # Safety
    /// `packet` must point at the `Packet<T>` in the tail of `header`'s own
    /// allocation (so it lives as long as `header` does).
    pub(crate) unsafe fn new(header: Arc<Header>, packet: NonNull<Packet<T>>) -> JoinHandle<T> {
        JoinHandle {
            coroutine: Coroutine::from_header(header),
            packet,
            blocking_job: false,
        }
    }

    /// A handle to a job of the blocking pool.
    ///
    /// # Safety
    /// As for [`JoinHandle::new`].
    pub(crate) unsafe fn for_blocking_job(
        header: Arc<Header>,
        packet: NonNull<Packet<T>>,
    ) -> JoinHandle<T> {
        JoinHandle {
            coroutine: Coroutine::from_header(header),
            packet,
            blocking_job: true,
        }
    }

    fn packet(&self) -> &Packet<T> {
        // SAFETY: `packet` points into the allocation that `self.coroutine`
        // keeps alive (the promise of `new`), and is only ever shared.
        unsafe { self.packet.as_ref() }
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
        let result = self.packet().wait(true, self.wait_reason());
        self.joined();
        result
    }

    /// Drops the handle after its `wait` took the result: there is
    /// nothing left to detach, so `Drop`'s lock is skipped (the
    /// spawn-join path is hot).
    fn joined(self) {
        let this = ManuallyDrop::new(self);
        // Soundness: `this` is never used or dropped again; moving the
        // coroutine out of it once drops what the handle holds (its
        // other fields are plain data).
        // SAFETY: by the soundness argument just above.
        drop(unsafe { std::ptr::read(&this.coroutine) });
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
        self.packet().finished.load(Ordering::Acquire)
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
        self.coroutine.header().cancel();
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
        self.coroutine.id()
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
        let result = self.packet().wait(false, self.wait_reason());
        self.joined();
        result
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // A result already there is the user's to drop, here; one still
        // to come is dropped by the coroutine itself (`Packet::publish`).
        drop(self.packet().detach());
    }
}

/// Awaiting a coroutine from async code: `handle.await` on any executor
/// (tokio, smol, `futures::executor`) returns what [`JoinHandle::join`]
/// would, without blocking the executor's thread. The coroutine runs on
/// weft's workers as always; when it finishes, its packet wakes the
/// awaiting task.
///
/// ```
/// let h = weft::spawn(|| 6 * 7);
/// let answer = futures::executor::block_on(async { h.await });
/// assert_eq!(answer.unwrap(), 42);
/// ```
impl<T> IntoFuture for JoinHandle<T> {
    type Output = thread::Result<T>;
    type IntoFuture = JoinFuture<T>;

    fn into_future(self) -> JoinFuture<T> {
        JoinFuture { handle: Some(self) }
    }
}

/// The future of a [`JoinHandle`] (from its [`IntoFuture`] impl): ready
/// with the coroutine's result, `Err` if it panicked or was cancelled.
///
/// Dropping it before it is ready detaches the coroutine, like dropping
/// the handle. Cancelling the coroutine is done on the handle, before
/// awaiting it.
///
/// ```
/// use std::time::Duration;
///
/// let h = weft::spawn(|| weft::sleep(Duration::from_secs(3600)));
/// h.cancel();
/// let fut: weft::future::JoinFuture<()> = h.into_future();
/// let err = futures::executor::block_on(fut).unwrap_err();
/// assert!(err.is::<weft::Cancelled>());
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct JoinFuture<T> {
    /// `None` once the result was returned.
    handle: Option<JoinHandle<T>>,
}

impl<T> Future for JoinFuture<T> {
    type Output = thread::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<thread::Result<T>> {
        let handle = self
            .handle
            .as_ref()
            .expect("JoinFuture polled after it returned its result");
        let result = std::task::ready!(handle.packet().poll_result(cx.waker()));
        // Taken: the handle need not tell the packet it is going
        // (`Drop` would lock it again), as after `join`.
        if let Some(handle) = self.handle.take() {
            handle.joined();
        }
        Poll::Ready(result)
    }
}

impl<T> fmt::Debug for JoinFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinFuture")
            .field("handle", &self.handle)
            .finish()
    }
}
