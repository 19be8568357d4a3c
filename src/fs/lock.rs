//! Advisory file locks (`File::lock` and friends) whose waits park the
//! coroutine and can be cancelled.
//!
//! std's locks are `flock(2)` on the file's open file description. A free
//! lock costs one hop to the blocking pool (`try_lock` there, which never
//! waits). A held one means waiting for another process or description,
//! for as long as it likes; `unblock` would do that wait on a pool thread
//! but could not be cancelled (its job borrows the caller's `File`). So
//! the wait runs as a `spawn_blocking` job on a *duplicate* descriptor
//! (`try_clone`: the same open file description, hence the same lock), and
//! the coroutine parks in a cancellable `join`.
//!
//! A cancelled caller must not end up holding a lock it never got: the
//! job and the caller settle it under a small mutex. If the caller unwinds
//! first, the job, once its `flock` returns, unlocks what it got; if the
//! job got the lock first, the unwinding caller unlocks it. Either way a
//! cancelled `lock()` leaves the description unlocked (or as it was: a
//! `flock` that converts a held lock and is cancelled releases it, as
//! a failed conversion may also do in the kernel).

use std::io;
use std::sync::{Arc, Mutex};

use crate::blocking::unblock;

pub use std::fs::TryLockError;

/// Who settles a parked `lock()`: see the module docs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wait {
    /// The job's `flock` has not returned, the caller still waits.
    Pending,
    /// The caller unwound (cancelled); the job unlocks what it gets.
    Abandoned,
    /// The job finished; `true` if it took the lock.
    Done(bool),
}

/// Takes an exclusive (`shared` false) or shared lock on `file`, parking
/// a coroutine until it is free.
pub(super) fn lock(file: &std::fs::File, shared: bool) -> io::Result<()> {
    if !crate::rt::worker::in_coroutine() {
        return blocking_lock(file, shared);
    }
    // A free lock: one hop, no extra descriptor.
    match unblock(|| try_lock(file, shared)) {
        Ok(()) => return Ok(()),
        Err(TryLockError::Error(e)) => return Err(e),
        Err(TryLockError::WouldBlock) => {}
    }
    let Ok(dup) = file.try_clone() else {
        // No descriptor to spare: wait on the pool without cancellation.
        return unblock(|| blocking_lock(file, shared));
    };
    let state = Arc::new(Mutex::new(Wait::Pending));
    let theirs = state.clone();
    let handle = crate::spawn_blocking(move || {
        let result = blocking_lock(&dup, shared);
        let mut state = theirs.lock().unwrap_or_else(|e| e.into_inner());
        if *state == Wait::Abandoned {
            if result.is_ok() {
                let _ = dup.unlock();
            }
        } else {
            *state = Wait::Done(result.is_ok());
        }
        result
    });
    let settle = Settle { state, file };
    let result = handle.join();
    std::mem::forget(settle);
    match result {
        Ok(result) => result,
        // The pool could not start a thread: it says why in a String.
        Err(payload) => match payload.downcast::<String>() {
            Ok(message) => Err(io::Error::other(*message)),
            Err(payload) => crate::rt::unwinding::resume_unwind(payload),
        },
    }
}

/// Runs when the caller unwinds out of the `join` (a cancel): see the
/// module docs. Forgotten when the `join` returns.
struct Settle<'a> {
    state: Arc<Mutex<Wait>>,
    file: &'a std::fs::File,
}

impl Drop for Settle<'_> {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match *state {
            Wait::Pending => *state = Wait::Abandoned,
            // `flock(LOCK_UN)` never waits: fine on the worker.
            Wait::Done(true) => drop(self.file.unlock()),
            Wait::Done(false) | Wait::Abandoned => {}
        }
    }
}

fn blocking_lock(file: &std::fs::File, shared: bool) -> io::Result<()> {
    if shared {
        file.lock_shared()
    } else {
        file.lock()
    }
}

/// std's `try_lock` / `try_lock_shared`; never waits for the lock.
pub(super) fn try_lock(file: &std::fs::File, shared: bool) -> Result<(), TryLockError> {
    if shared {
        file.try_lock_shared()
    } else {
        file.try_lock()
    }
}
