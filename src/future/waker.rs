//! The [`Waker`] that `block_on` hands to the future it polls: waking it
//! unparks the coroutine (or thread) that waits in `block_on`.
//!
//! ## A flag beside the park token
//! A wake sets [`Notify::woken`] and then unparks; `block_on` parks until
//! it finds the flag set ([`Notify::take`]). The park token alone would not
//! do: a future may park its coroutine *inside* `poll` (a weft call that
//! blocks), and that inner wait consumes whatever token our wake left and
//! goes back to sleep on its own condition; `block_on` would then park
//! with no token and no flag and never be woken. With the flag, the wake
//! is recorded where only `block_on` reads it, and a park that returns
//! for someone else's reason just finds the flag unset and parks again
//! (`futures::executor` keeps the same flag for the same reason). The
//! order matters: flag first, then unpark; `loom_tests.rs` checks every
//! interleaving and fails when the two are swapped.
//!
//! ## No allocation for a future that is ready
//! `block_on` keeps a [`Target`] on its own stack and polls with a
//! *borrowed* waker pointing at it: a `Context` lends the waker only for
//! the duration of `poll`, so a future that wants to keep it must
//! `clone` it, and only the clone needs to outlive the frame. Cloning
//! makes (once per `block_on`) an [`Arc<Notify>`], the *owned* waker, and
//! every later poll uses that one, so a future that compares wakers with
//! `will_wake` sees the same waker each time and does not re-register. A
//! future that is ready at once never clones, and `block_on` costs no
//! allocation. It costs no reference count either: the borrowed waker's
//! unparker is a non-owning copy of the running task's own `Arc<Header>`,
//! or of a thread-local handle of the calling thread
//! ([`Target::for_current`]). The two cut a ready `block_on` from 36 ns
//! (an `Arc` clone and drop) to the figure in `benches/future.rs`.

use std::mem::ManuallyDrop;
use std::sync::{Arc, OnceLock};
use std::task::{RawWaker, RawWakerVTable, Wake, Waker};

use crate::rt::loom::{AtomicBool, Ordering};
use crate::rt::park::Unparker;
use crate::rt::worker;

/// The flag half of a wake (see the module docs): set by a waker before
/// it unparks, taken by `block_on` after it parks.
pub(crate) struct WakeFlag(AtomicBool);

impl WakeFlag {
    pub(crate) fn new() -> WakeFlag {
        WakeFlag(AtomicBool::new(false))
    }

    /// Records a wake, then runs `unpark`. In this order: the waiter, once
    /// unparked, must find the flag set (see the module docs).
    #[inline]
    pub(crate) fn wake_then(&self, unpark: impl FnOnce()) {
        self.0.store(true, Ordering::Release);
        unpark();
    }

    /// Takes a recorded wake: `true` if one came since the last `take`.
    #[inline]
    pub(crate) fn take(&self) -> bool {
        // A CAS rather than `swap(false)`: the same here, and loom 0.7
        // models `swap` racing with a `store` wrongly (it lets a later read
        // miss the store: tokio-rs/loom#254), which a CAS does not hit.
        self.0
            .compare_exchange(true, false, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }
}

/// What one wake does: record it, then unpark the waiter.
pub(crate) struct Notify {
    woken: WakeFlag,
    unparker: Unparker,
}

impl Notify {
    pub(crate) fn new(unparker: Unparker) -> Notify {
        Notify {
            woken: WakeFlag::new(),
            unparker,
        }
    }

    pub(crate) fn wake(&self) {
        self.woken.wake_then(|| self.unparker.unpark());
    }

    pub(crate) fn take(&self) -> bool {
        self.woken.take()
    }
}

impl Wake for Notify {
    fn wake(self: Arc<Self>) {
        Notify::wake(&self);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        Notify::wake(self);
    }
}

thread_local! {
    /// This thread's handle, so that `block_on` on a plain thread can
    /// borrow it instead of cloning it each time.
    static THREAD: std::thread::Thread = std::thread::current();
}

/// The wake-up target of one `block_on`, on its stack: a [`Notify`] for
/// the borrowed waker, and the owned one once somebody cloned it.
pub(crate) struct Target {
    /// Its unparker is a *borrowed* copy of the running task's
    /// `Arc<Header>`, or of this thread's handle in [`THREAD`] (see
    /// [`Target::for_current`]), and must not be dropped; only when that
    /// thread local is gone does it own a `Thread` (`owns_local`).
    local: ManuallyDrop<Notify>,
    owns_local: bool,
    owned: OnceLock<Arc<Notify>>,
}

impl Target {
    /// A target that wakes the calling coroutine, or thread.
    ///
    /// This takes no reference count: `block_on` of a ready future then
    /// costs no atomic read-modify-write at all.
    pub(crate) fn for_current() -> Target {
        let borrowed = worker::with_current_header(|header| {
            // Soundness: a bitwise copy of the running task's `Arc<Header>`,
            // sharing the task's reference instead of taking one. The
            // task keeps its `Arc` until the coroutine has finished, and
            // this `Target` lives on the coroutine's own stack (a
            // `block_on` frame), so it is gone, by return or unwind,
            // before then. The copy is never dropped (`owns_local` is
            // false and `local` is `ManuallyDrop`), so the count stays
            // right; wakers that outlive the frame hold real clones
            // (`owned`, made with `Arc::clone` while the task's reference
            // is alive).
            // SAFETY: by the soundness argument just above.
            header.map(|header| unsafe { std::ptr::read(header) })
        });
        let (unparker, owns_local) = match borrowed {
            Some(header) => (Unparker::Coroutine(header), false),
            None => match THREAD.try_with(|thread| {
                // Soundness: as for the header above: a copy sharing the
                // thread local's reference to this thread's handle, which
                // stays alive until the thread runs its thread-local
                // destructors; this `Target` lives on the thread's stack
                // in a `block_on` frame, and a destructor running
                // `block_on` finds `THREAD` either alive for its whole
                // run (they run one at a time) or gone (`try_with` fails,
                // below). Never dropped; clones are real.
                // SAFETY: by the soundness argument just above.
                unsafe { std::ptr::read(thread) }
            }) {
                Ok(thread) => (Unparker::Thread(thread), false),
                Err(_) => (Unparker::Thread(std::thread::current()), true),
            },
        };
        Target {
            local: ManuallyDrop::new(Notify::new(unparker)),
            owns_local,
            owned: OnceLock::new(),
        }
    }

    /// The heap-allocated `Notify` that owned wakers share, made on first
    /// use.
    pub(crate) fn owned(&self) -> &Arc<Notify> {
        self.owned
            .get_or_init(|| Arc::new(Notify::new(self.local.unparker.clone())))
    }

    /// An owned waker (one more reference to [`Target::owned`]).
    pub(crate) fn owned_waker(&self) -> Waker {
        Waker::from(self.owned().clone())
    }

    /// Takes a wake recorded by either waker.
    pub(crate) fn take(&self) -> bool {
        // Both, not `||`: a stale flag left set would cost a spurious poll.
        let local = self.local.take();
        let owned = self.owned.get().is_some_and(|n| n.take());
        local | owned
    }

    /// A waker that borrows this target: valid while `self` is, which
    /// `ManuallyDrop` and the `Context` borrow make sure of (see
    /// [`BORROWED`]).
    pub(crate) fn borrowed_waker(&self) -> ManuallyDrop<Waker> {
        let data = self as *const Target as *const ();
        // Soundness: the `BORROWED` functions treat `data` as a `&Target`,
        // which holds as long as `self` lives. The waker is `ManuallyDrop`
        // (dropping it would do nothing anyway) and lent to futures only
        // as the `&Waker` of a `Context`, whose borrow ends before `self`
        // goes (it is on the caller's frame, below the waker); a future
        // that keeps a waker clones it, and a clone is an owned waker,
        // independent of `self`. `Target` is `Sync` (atomics, a
        // `OnceLock`, an `Unparker`), so `&Target` may be used from any
        // thread, as the `RawWaker` contract requires.
        // SAFETY: by the soundness argument just above.
        ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(data, &BORROWED)) })
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if self.owns_local {
            // Soundness: `local` owns its unparker (a `Thread` cloned because
            // the thread local was gone), is dropped only here, and never
            // used again.
            // SAFETY: by the soundness argument just above.
            unsafe { ManuallyDrop::drop(&mut self.local) }
        }
    }
}

/// The vtable of a waker that points at a [`Target`] on a `block_on`
/// frame.
static BORROWED: RawWakerVTable =
    RawWakerVTable::new(borrowed_clone, borrowed_wake, borrowed_wake, borrowed_drop);

/// # Safety
/// `data` is the `&Target` of a waker made by [`Target::borrowed_waker`],
/// still alive (as for every `BORROWED` function).
unsafe fn borrowed_clone(data: *const ()) -> RawWaker {
    // SAFETY: this function's contract.
    let target = unsafe { &*(data as *const Target) };
    let owned = ManuallyDrop::new(target.owned_waker());
    // The owned waker's reference moves into the returned `RawWaker`.
    RawWaker::new(owned.data(), owned.vtable())
}

/// # Safety
/// As for [`borrowed_clone`].
unsafe fn borrowed_wake(data: *const ()) {
    // SAFETY: this function's contract.
    let target = unsafe { &*(data as *const Target) };
    target.local.wake();
}

/// # Safety
/// As for [`borrowed_clone`]. The borrowed waker owns nothing.
unsafe fn borrowed_drop(_: *const ()) {}

#[cfg(all(test, not(weft_loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_clone_of_the_borrowed_waker_outlives_it_and_wakes_the_same_target() {
        let target = Target::for_current();
        let clone = {
            let borrowed = target.borrowed_waker();
            let clone = (*borrowed).clone();
            borrowed.wake_by_ref();
            clone
        };
        assert!(target.take());
        assert!(!target.take());
        clone.wake_by_ref();
        assert!(target.take());
        // Further clones share the one owned `Notify`.
        assert!(clone.will_wake(&target.owned_waker()));
        drop(target);
        clone.wake(); // the owned Notify is still alive: no use after free
    }
}
