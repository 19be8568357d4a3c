//! Poisoning, as std does it: a lock whose guard is dropped while its
//! thread (here: its coroutine) unwinds is marked poisoned, and later
//! lockers get their guard wrapped in [`PoisonError`] so they can decide
//! whether the data is still sound. A cancelled coroutine unwinds too, so
//! a cancel that interrupts a critical section also poisons.
//!
//! "Unwinding" is the coroutine's own state (`rt::unwinding`), not the
//! worker thread's: a neighbour parked mid-unwind neither poisons a lock
//! released normally here nor hides a panic that happens here.

use std::sync::PoisonError;
use std::sync::atomic::{AtomicBool, Ordering};

/// A lock's poison flag.
pub(crate) struct Flag(AtomicBool);

impl Flag {
    pub(crate) const fn new() -> Flag {
        Flag(AtomicBool::new(false))
    }

    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn clear(&self) {
        self.0.store(false, Ordering::Relaxed);
    }

    /// Starts a critical section: remembers whether we were already
    /// unwinding (a destructor that locks must not poison).
    pub(crate) fn guard(&self) -> Guard {
        Guard {
            panicking: crate::rt::unwinding::panicking(),
        }
    }

    /// Ends a critical section: poisons if an unwind started inside it.
    pub(crate) fn done(&self, guard: &Guard) {
        if !guard.panicking && crate::rt::unwinding::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// What a critical section remembers for [`Flag::done`].
pub(crate) struct Guard {
    panicking: bool,
}

/// `Ok(value)`, or `Err(PoisonError(value))` if `poisoned`.
pub(crate) fn result<T>(poisoned: bool, value: T) -> Result<T, PoisonError<T>> {
    if poisoned {
        Err(PoisonError::new(value))
    } else {
        Ok(value)
    }
}

/// Maps the value inside a lock result, keeping its poison.
pub(crate) fn map<T, U>(
    result: Result<T, PoisonError<T>>,
    f: impl FnOnce(T) -> U,
) -> Result<U, PoisonError<U>> {
    match result {
        Ok(t) => Ok(f(t)),
        Err(e) => Err(PoisonError::new(f(e.into_inner()))),
    }
}
