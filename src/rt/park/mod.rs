//! The one parking protocol: park the current coroutine (or thread) until
//! someone unparks it, from any thread, coroutine, timer or the poller.
//!
//! Every blocking-looking operation in weft (join, sleep, sockets, locks,
//! channels) is a loop around the same two calls:
//!
//! ```text
//! loop {
//!     if condition() { break }
//!     register(Unparker::current())   // on the thing we wait for
//!     park() / park_until(deadline)   // may return spuriously
//! }                                   // deregister (an RAII guard)
//! ```
//!
//! In a coroutine, [`park`] suspends it (see [`state`] for the handshake
//! that makes a racing unpark safe); on a plain thread it is
//! `std::thread::park`. Both may wake spuriously, so callers re-check.
//!
//! **Cancellation** is delivered here: a parking point of a cancelled
//! coroutine unwinds with a [`Cancelled`] payload instead of
//! parking, so waits must deregister in a `Drop` guard. While the
//! coroutine is already unwinding (a destructor that waits), parking
//! proceeds normally: a second unwind would abort the process.

pub(crate) mod state;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, Thread};
use std::time::Instant;

use crate::rt::coroutine::{Cancelled, Header};
use crate::rt::unwinding;
use crate::rt::worker::{self, Suspend};

/// Whoever waits: a coroutine or a plain thread. Waking it is always
/// `unpark`, whichever it is.
#[derive(Clone)]
pub(crate) enum Unparker {
    /// A coroutine, woken through its park state and its worker.
    Coroutine(Arc<Header>),
    /// An OS thread blocked in `std::thread::park`.
    Thread(Thread),
}

impl Unparker {
    /// The unparker of the calling coroutine, or of the calling thread.
    pub(crate) fn current() -> Unparker {
        match worker::current_header() {
            Some(header) => Unparker::Coroutine(header),
            None => Unparker::Thread(thread::current()),
        }
    }

    /// Wakes the waiter (or makes its next park return at once).
    pub(crate) fn unpark(&self) {
        match self {
            Unparker::Coroutine(header) => header.unpark(),
            Unparker::Thread(thread) => thread.unpark(),
        }
    }
}

/// Unwinds with [`Cancelled`] if the running coroutine was cancelled
/// (and is not already unwinding). A parking point calls this.
#[inline]
pub(crate) fn check_cancelled() {
    let cancelled = worker::with_current_fields(|h| h.is_some_and(|h| h.is_cancelled()));
    if cancelled && !unwinding::panicking() {
        unwinding::resume_unwind(Box::new(Cancelled));
    }
}

/// Parks the calling coroutine until unparked, or the calling thread via
/// `std::thread::park`. May return spuriously. Unwinds a cancelled
/// coroutine.
pub(crate) fn park() {
    // One look-up of the running coroutine: take a waiting token, or
    // record the stack depth for dumps before suspending.
    let token_waiting = worker::with_current_fields(|h| {
        h.map(|h| {
            let token = h.park.try_consume_token();
            if !token {
                h.observed.record_sp();
            }
            token
        })
    });
    match token_waiting {
        None => thread::park(),
        Some(true) => check_cancelled(),
        Some(false) => {
            check_cancelled();
            worker::suspend(Suspend::Park);
            check_cancelled();
        }
    }
}

/// Parks until unparked or `deadline` passes (`None`: no deadline).
/// Returns `true` if the deadline has passed. May return spuriously
/// before it.
pub(crate) fn park_until(deadline: Option<Instant>) -> bool {
    park_until_with(deadline, park)
}

/// [`park_until`] whose park does not unwind on a cancel (see
/// [`park_uncancellable`]): a cancel only makes it return early. For
/// waits whose frame must not unwind, such as the `hook` feature's libc
/// functions, which are `extern "C"`.
#[cfg_attr(not(feature = "hook"), allow(dead_code))]
pub(crate) fn park_until_uncancellable(deadline: Option<Instant>) -> bool {
    park_until_with(deadline, park_uncancellable)
}

fn park_until_with(deadline: Option<Instant>, park: fn()) -> bool {
    let Some(deadline) = deadline else {
        park();
        return false;
    };
    let Some(header) = worker::current_header() else {
        let now = Instant::now();
        if now < deadline {
            thread::park_timeout(deadline - now);
        }
        return Instant::now() >= deadline;
    };
    if Instant::now() >= deadline {
        return true;
    }
    park_armed(header, deadline, park);
    Instant::now() >= deadline
}

/// Parks the running coroutine, whose header is `header`, with `park`
/// (which may return spuriously) and a timer that unparks it at
/// `deadline`, disarmed when this returns or unwinds. Reads no clock:
/// the caller decides, after it returns, whether the deadline passed (a
/// deadline already past fires at the worker's next timer check, never
/// early). For waits that hold the header already and read the clock
/// themselves (`Registration::wait`).
pub(crate) fn park_armed(header: Arc<Header>, deadline: Instant, park: fn()) {
    let key =
        worker::with_timers(|t| t.insert(deadline, header)).expect("a coroutine runs on a worker");
    // Disarm on every exit, unwinding from a cancel included.
    struct Disarm(crate::rt::timer::TimerKey);
    impl Drop for Disarm {
        fn drop(&mut self) {
            worker::with_timers(|t| t.remove(self.0));
        }
    }
    let _disarm = Disarm(key);
    park();
}

/// `std::thread::park`'s meaning for user code: waits until an
/// [`unpark_token`] left the coroutine's token (and takes it), or
/// `deadline` passes. Outside a coroutine it is `std::thread::park` /
/// `park_timeout`. The token is the header's `unpark_token`, not the park
/// state's, which weft's own waits consume as spurious wakes.
pub(crate) fn park_for_token(deadline: Option<Instant>) {
    let Some(header) = worker::current_header() else {
        match deadline {
            None => thread::park(),
            Some(deadline) => {
                let now = Instant::now();
                if now < deadline {
                    thread::park_timeout(deadline - now);
                }
            }
        }
        return;
    };
    // The loop of invariant 2, its condition being the token: an unpark
    // stores the token before it unparks, so one that lands after the
    // check makes the park return at once, and the check runs again.
    while header
        .unpark_token
        .compare_exchange(true, false, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        if park_until(deadline) {
            return;
        }
    }
}

/// Leaves the coroutine's `unpark` token and wakes it (see
/// [`park_for_token`]).
pub(crate) fn unpark_token(header: &Arc<Header>) {
    header.unpark_token.store(true, Ordering::Release);
    header.unpark();
}

/// Like [`park`], but a cancel does not unwind out of it (for waits that
/// must not be abandoned, such as `block_on` whose coroutine borrows from
/// the waiting frame).
pub(crate) fn park_uncancellable() {
    let token_waiting = worker::with_current_fields(|h| h.map(|h| h.park.try_consume_token()));
    match token_waiting {
        None => thread::park(),
        Some(true) => {}
        Some(false) => worker::suspend(Suspend::Park),
    }
}

#[cfg(all(test, weft_loom))]
mod loom_tests;
