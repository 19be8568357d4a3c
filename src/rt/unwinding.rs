//! Which coroutine is unwinding: `std::thread::panicking()` per coroutine.
//!
//! std counts panics per OS thread. weft lets an unwinding coroutine park
//! in a destructor (a `Drop` that joins, a `BufWriter` flushing into a
//! full socket), and while it is parked every other coroutine of its
//! worker runs on the same thread, where `std::thread::panicking()` says
//! `true`. weft must not believe that: a cancel would be ignored (a
//! parking point does not unwind a coroutine that is already unwinding,
//! since a second unwind would abort), and a lock released in a normal
//! critical section would be poisoned.
//!
//! So weft answers the question per coroutine. Each coroutine's header has
//! an `unwinding` flag, set when it starts to unwind (weft's panic hook,
//! which runs at the start of every panic; weft's own `resume_unwind`s:
//! cancels, re-raised payloads) and restored when a `catch_unwind` of
//! weft's catches the unwind. A per-thread count says how many coroutines
//! of this thread are suspended while unwinding; with none, the thread's
//! count is exactly the running coroutine's, and std's answer is used
//! (which also sees a user's own `resume_unwind`, that runs no hook).
//! Only when some other coroutine is suspended mid-unwind does the flag
//! decide. Every suspension refreshes the flag from std's answer when that
//! answer is exact, so a flag left set by a panic the user caught with
//! their own `catch_unwind` is corrected at the coroutine's next parking
//! point (until then, and only while another coroutine of its worker is
//! parked mid-unwind, it still reads `true`).

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};

use crate::rt::coroutine::HeaderFields;
use crate::rt::worker;

thread_local! {
    /// How many coroutines of this thread are suspended while unwinding.
    static SUSPENDED: Cell<u32> = const { Cell::new(0) };
}

/// Whether the caller is unwinding: the running coroutine (not its
/// neighbours), or the calling thread outside coroutines.
#[inline]
pub(crate) fn panicking() -> bool {
    // Fast path: nobody on this thread unwinds (a process-wide counter
    // read first, then a thread-local one).
    if !std::thread::panicking() {
        return false;
    }
    panicking_slow()
}

#[cold]
fn panicking_slow() -> bool {
    let exact = SUSPENDED.with(Cell::get) == 0;
    worker::with_current_fields(|header| match header {
        // The worker's own loop: unwinding only if no suspended coroutine
        // explains the thread's count (a plain thread never has one).
        None => exact,
        Some(header) if exact => {
            // The thread's count is this coroutine's: it unwinds, maybe
            // from a `resume_unwind` of the user's, which runs no hook.
            header.set_unwinding(true);
            true
        }
        Some(header) => header.is_unwinding(),
    })
}

/// Marks the running coroutine as unwinding: a panic starts (the hook),
/// or weft is about to `resume_unwind` in it.
#[inline]
pub(crate) fn mark() {
    worker::with_current_fields(|header| {
        if let Some(header) = header {
            header.set_unwinding(true);
        }
    });
}

/// `std::panic::resume_unwind`, marking the running coroutine as
/// unwinding first (std runs no hook for it).
pub(crate) fn resume_unwind(payload: Box<dyn Any + Send>) -> ! {
    mark();
    panic::resume_unwind(payload)
}

/// `std::panic::catch_unwind` for weft's own catches: when it catches an
/// unwind, the running coroutine's flag goes back to what it was before
/// (`false` for a coroutine's body; `true` for a catch inside a
/// destructor that runs during an unwind).
pub(crate) fn catch_unwind<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let before = worker::with_current_fields(|h| h.map(|h| h.is_unwinding()));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    if result.is_err()
        && let Some(before) = before
    {
        worker::with_current_fields(|header| {
            if let Some(header) = header {
                header.set_unwinding(before);
            }
        });
    }
    result
}

/// Held by a coroutine across one suspension: counts it among this
/// thread's suspended unwinding coroutines if it unwinds, and refreshes
/// its flag while std's answer is exact.
pub(crate) struct Suspension {
    counted: bool,
}

impl Suspension {
    /// Call on the coroutine whose header is `me`, right before it
    /// suspends.
    #[inline]
    pub(crate) fn begin(me: &HeaderFields) -> Suspension {
        let counted = if std::thread::panicking() {
            panicking_slow()
        } else {
            // Exact: not unwinding. Forget a panic the user caught.
            me.set_unwinding(false);
            false
        };
        if counted {
            SUSPENDED.with(|n| n.set(n.get() + 1));
        }
        Suspension { counted }
    }
}

impl Drop for Suspension {
    /// The coroutine runs again (or is unwound by its worker's teardown).
    #[inline]
    fn drop(&mut self) {
        if self.counted {
            SUSPENDED.with(|n| n.set(n.get() - 1));
        }
    }
}
