//! Scoped coroutines: [`scope`] runs a closure that may spawn coroutines
//! borrowing from the caller's stack, and returns only once every one of
//! them has finished, as [`std::thread::scope`] does.
//!
//! Soundness rests on one counter. Each scoped coroutine shares a
//! [`Packet`] (its result) between its body and its
//! [`ScopedJoinHandle`]; the scope counts the packets alive and the
//! packet's `Drop` counts itself out, after it dropped the result. The
//! body's borrows are gone when the body's share of the packet drops (the
//! closure was consumed or dropped unrun before it), so "count at zero"
//! means "nothing borrowed from the scope is in use any more". The wait
//! for zero is not abortable: a cancel of the waiting coroutine cancels
//! the scope's coroutines instead, and the wait goes on until they are
//! done. `arch/thread.md` tells the whole argument.

use std::any::Any;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{Result, Thread};
use crate::observe::{self, WaitFor};
use crate::rt::coroutine::Coroutine;
use crate::rt::park::{self, Unparker};
use crate::rt::{runtime, spawn, worker};

/// A scope to spawn scoped coroutines in, like [`std::thread::Scope`].
/// See [`scope`].
///
/// ```
/// let v = vec![1, 2, 3];
/// weft::thread::scope(|s: &weft::thread::Scope<'_, '_>| {
///     s.spawn(|| assert_eq!(v.len(), 3));
/// });
/// ```
pub struct Scope<'scope, 'env: 'scope> {
    data: Arc<ScopeData>,
    /// Invariance over `'scope`, so the borrow checker cannot shrink it
    /// (std's trick: the closure cannot smuggle a shorter `'scope` out).
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// What the scope's owner and its coroutines share.
struct ScopeData {
    /// Packets alive: scoped coroutines whose body or handle may still
    /// hold something borrowed.
    running: AtomicUsize,
    /// A scoped coroutine panicked and nobody joined it.
    a_coroutine_panicked: AtomicBool,
    /// Who waits at the end of the scope.
    owner: Unparker,
    /// The scope's coroutines, to cancel them if the owner is cancelled.
    children: Mutex<Children>,
}

struct Children {
    list: Vec<Coroutine>,
    cancelled: bool,
}

impl ScopeData {
    /// A packet went: its result was dropped and its body cannot run any
    /// more.
    fn decrement(&self, unhandled_panic: bool) {
        if unhandled_panic {
            self.a_coroutine_panicked.store(true, Ordering::Relaxed);
        }
        // Release: everything the packet's side did (the result's drop
        // included) happens before the owner sees zero.
        if self.running.fetch_sub(1, Ordering::Release) == 1 {
            self.owner.unpark();
        }
    }

    /// Cancels every scoped coroutine, and those spawned later.
    fn cancel_children(&self) {
        let list = {
            let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
            children.cancelled = true;
            std::mem::take(&mut children.list)
        };
        for child in list {
            child.header().cancel();
        }
    }

    /// Waits until no packet is alive. Not abortable: if the owner is (or
    /// gets) cancelled, its coroutines are cancelled and waited for.
    fn wait_all(&self) {
        let mut reason = None;
        let mut cancelled_children = false;
        while self.running.load(Ordering::Acquire) != 0 {
            if !cancelled_children && owner_cancelled() {
                cancelled_children = true;
                self.cancel_children();
                continue;
            }
            reason.get_or_insert_with(|| observe::waiting(WaitFor::Scope));
            park::park_uncancellable();
        }
    }
}

/// Whether the running coroutine was cancelled (never, on a thread).
fn owner_cancelled() -> bool {
    worker::with_current_fields(|h| h.is_some_and(|h| h.is_cancelled()))
}

/// A scoped coroutine's result, shared by its body and its handle. Its
/// drop is what the scope waits for.
struct Packet<T> {
    scope: Arc<ScopeData>,
    result: Mutex<Option<Result<T>>>,
}

impl<T> Drop for Packet<T> {
    fn drop(&mut self) {
        let result = self.result.get_mut().unwrap_or_else(|e| e.into_inner());
        let unhandled_panic = matches!(result, Some(Err(_)));
        // A result whose destructor panics counts as a panic nobody
        // handled; it must not unwind past the decrement below.
        let dropped = panic::catch_unwind(AssertUnwindSafe(|| drop(result.take())));
        self.scope.decrement(unhandled_panic || dropped.is_err());
    }
}

/// A scoped coroutine's body: the closure, then its share of the packet.
/// Fields drop in declaration order, so a body dropped unrun lets go of
/// the closure (and its borrows) before the packet counts itself out.
struct Body<F, T> {
    f: F,
    packet: Arc<Packet<T>>,
}

impl<F: FnOnce() -> T, T> Body<F, T> {
    fn run(self) {
        let Body { f, packet } = self;
        // Cancellation unwinds too: it is stored as `Err(Cancelled)`.
        let result = crate::rt::unwinding::catch_unwind(f);
        *packet.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        drop(packet);
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Spawns a scoped coroutine, like [`std::thread::Scope::spawn`]: it
    /// may borrow anything that outlives the scope, and the scope waits
    /// for it. Unlike [`crate::spawn`] the closure need not be `'static`.
    ///
    /// # Panics
    /// If the coroutine's stack cannot be mapped (use
    /// [`Builder::spawn_scoped`](super::Builder::spawn_scoped) for the
    /// error).
    ///
    /// ```
    /// let mut a = vec![1, 2, 3];
    /// let b = vec![4, 5];
    /// weft::thread::scope(|s| {
    ///     s.spawn(|| a.push(4));
    ///     s.spawn(|| assert_eq!(b.len(), 2));
    /// });
    /// assert_eq!(a, [1, 2, 3, 4]);
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.spawn_with(crate::Builder::new(), f)
            .unwrap_or_else(|e| panic!("failed to spawn scoped coroutine: {e}"))
    }

    #[track_caller]
    pub(super) fn spawn_with<F, T>(
        &'scope self,
        builder: crate::Builder,
        f: F,
    ) -> io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let at = Location::caller();
        // Counted before the packet exists: whatever happens to it now
        // (spawn fails, the body is dropped unrun), its drop counts out.
        self.data.running.fetch_add(1, Ordering::Relaxed);
        let packet = Arc::new(Packet {
            scope: self.data.clone(),
            result: Mutex::new(None),
        });
        let body = Body {
            f,
            packet: packet.clone(),
        };
        let shared = worker::current_shared().unwrap_or_else(|| runtime::default_shared().clone());
        // Soundness: `body` borrows for `'scope` and its result `T` may
        // too. `scope` does not return (nor unwind) before `running` is
        // zero, which needs this packet dropped: both the body's share
        // (dropped when the body has run or was dropped unrun, after its
        // closure) and the handle's (a `ScopedJoinHandle<'scope, _>`,
        // which cannot outlive `'scope` either). The wait for zero is
        // not abortable (`wait_all`). What may outlive `'scope` is the
        // coroutine's header, held by timers or wait lists, and by then
        // its tail holds no body and a `()` result.
        // SAFETY: by the soundness argument just above.
        let prepared = unsafe { builder.prepare_unchecked(&shared, move || body.run(), at) };
        let (task, handle) = prepared?;
        let coroutine = handle.coroutine().clone();
        let cancel_now = {
            let mut children = self.data.children.lock().unwrap_or_else(|e| e.into_inner());
            if !children.cancelled {
                children.list.push(coroutine.clone());
            }
            children.cancelled
        };
        if cancel_now {
            coroutine.header().cancel();
        }
        spawn::submit(&shared, task);
        Ok(ScopedJoinHandle {
            thread: Thread::from_coroutine(coroutine),
            inner: handle,
            packet,
            scope: PhantomData,
        })
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("running", &self.data.running.load(Ordering::Relaxed))
            .field(
                "a_coroutine_panicked",
                &self.data.a_coroutine_panicked.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}

/// Creates a scope for spawning scoped coroutines, like
/// [`std::thread::scope`].
///
/// The closure gets a [`Scope`]; coroutines spawned in it may borrow
/// non-`'static` data from outside. When the closure returns (or panics),
/// `scope` waits for every coroutine spawned in it, then returns the
/// closure's value. If the closure panicked, `scope` resumes that panic;
/// else if a scoped coroutine panicked and was not joined, `scope`
/// panics.
///
/// Cancelling the coroutine that waits in `scope` cancels the scoped
/// coroutines and still waits for them before unwinding: nothing
/// borrowed outlives its borrow.
///
/// ```
/// let mut a = vec![1, 2, 3];
/// let mut x = 0;
/// weft::thread::scope(|s| {
///     s.spawn(|| {
///         // Borrows `a` immutably.
///         assert_eq!(a.len(), 3);
///     });
///     s.spawn(|| {
///         // Borrows `x` mutably.
///         x += a[0] + a[2];
///     });
/// });
/// // Every scoped coroutine has finished: `a` and `x` are ours again.
/// a.push(4);
/// assert_eq!(x, a.len());
/// ```
///
/// What the lifetimes forbid, as with std: a scoped coroutine cannot
/// borrow what dies inside the scope's closure,
///
/// ```compile_fail,E0373
/// weft::thread::scope(|s| {
///     let local = String::from("dies at the end of the closure");
///     s.spawn(|| local.len());
/// });
/// ```
///
/// and a handle cannot leave its scope.
///
/// ```compile_fail
/// let escaped = weft::thread::scope(|s| s.spawn(|| 1));
/// ```
#[track_caller]
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        data: Arc::new(ScopeData {
            running: AtomicUsize::new(0),
            a_coroutine_panicked: AtomicBool::new(false),
            owner: Unparker::current(),
            children: Mutex::new(Children {
                list: Vec::new(),
                cancelled: false,
            }),
        }),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = crate::rt::unwinding::catch_unwind(|| f(&scope));
    scope.data.wait_all();
    match result {
        Err(payload) => crate::rt::unwinding::resume_unwind(payload),
        Ok(value) => {
            // A cancel that arrived during the wait unwinds from here,
            // now that nothing borrowed is in use.
            park::check_cancelled();
            if scope.data.a_coroutine_panicked.load(Ordering::Relaxed) {
                panic!("a scoped coroutine panicked");
            }
            value
        }
    }
}

/// An owned permission to join a scoped coroutine, like
/// [`std::thread::ScopedJoinHandle`]. Dropping it without joining leaves
/// the coroutine to the scope, which waits for it.
///
/// ```
/// let v = vec![1, 2];
/// weft::thread::scope(|s| {
///     let h: weft::thread::ScopedJoinHandle<'_, usize> = s.spawn(|| v.len());
///     assert_eq!(h.join().unwrap(), 2);
/// });
/// ```
pub struct ScopedJoinHandle<'scope, T> {
    inner: crate::JoinHandle<()>,
    thread: Thread,
    packet: Arc<Packet<T>>,
    scope: PhantomData<&'scope ()>,
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the scoped coroutine; `Err(payload)` if it panicked or
    /// was cancelled, like [`std::thread::ScopedJoinHandle::join`]. A
    /// joined panic no longer makes the scope panic.
    ///
    /// ```
    /// weft::thread::scope(|s| {
    ///     let h = s.spawn(|| panic!("handled"));
    ///     assert!(h.join().is_err());
    /// }); // does not panic: the panic was joined
    /// ```
    pub fn join(self) -> Result<T> {
        let ran = self.inner.join();
        let result = self
            .packet
            .result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match (result, ran) {
            (Some(result), _) => result,
            // The body never ran (cancelled before it started, or no
            // stack): the coroutine's own result says why.
            (None, Err(payload)) => Err(payload),
            (None, Ok(())) => {
                Err(Box::new("scoped coroutine left no result") as Box<dyn Any + Send>)
            }
        }
    }

    /// Whether the scoped coroutine has finished. Does not block.
    ///
    /// ```
    /// weft::thread::scope(|s| {
    ///     let h = s.spawn(|| ());
    ///     while !h.is_finished() {
    ///         weft::thread::yield_now();
    ///     }
    ///     h.join().unwrap();
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The scoped coroutine's handle.
    ///
    /// ```
    /// weft::thread::scope(|s| {
    ///     let h = s.spawn(|| weft::thread::current().id());
    ///     let id = h.thread().id();
    ///     assert_eq!(h.join().unwrap(), id);
    /// });
    /// ```
    pub fn thread(&self) -> &Thread {
        &self.thread
    }
}

impl<T> fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedJoinHandle")
            .field("thread", &self.thread)
            .finish_non_exhaustive()
    }
}
