//! A descriptor's state in weft's table, and the one race it settles:
//! two coroutines (on two workers) making the first call on a new
//! descriptor at once.
//!
//! Examining a descriptor (`table::examine`) reads its `O_NONBLOCK` and,
//! for a blocking socket, sets it. A second examiner running at the same
//! time could read the flag the first just set and conclude the *user*
//! made the socket non-blocking (`PASS`): its calls would then return
//! `EAGAIN` to a user who asked for blocking. So an examiner first moves
//! the state from `UNKNOWN` to `EXAMINING` (one CAS); everyone else who
//! finds `EXAMINING` yields until the outcome is stored, which is three
//! system calls away. `state_loom.rs` checks it.

#[cfg(weft_loom)]
use loom::sync::atomic::{AtomicU8, Ordering};
#[cfg(not(weft_loom))]
use std::sync::atomic::{AtomicU8, Ordering};

/// Never examined (or forgotten): a coroutine call examines it first.
pub(super) const UNKNOWN: u8 = 0;
/// Straight to the kernel: not a socket, or non-blocking by choice.
pub(super) const PASS: u8 = 1;
/// A blocking socket that weft made non-blocking underneath.
pub(super) const SWITCHED: u8 = 2;
/// A coroutine is examining it now; others wait for the outcome.
const EXAMINING: u8 = 3;

/// How many times a caller yields waiting for an examination to end
/// before it gives up and passes the call through (only a signal handler
/// that interrupted the examiner on its own thread can wait that long).
const SETTLE_TRIES: u32 = 10_000;

/// One descriptor's state. All-zero bytes are `UNKNOWN`.
pub(super) struct FdState(AtomicU8);

impl FdState {
    /// A new, `UNKNOWN` state.
    #[cfg(all(test, weft_loom))]
    pub(super) fn new() -> FdState {
        FdState(AtomicU8::new(UNKNOWN))
    }

    /// The state; if a coroutine is examining the descriptor right now,
    /// the state it settles on.
    #[inline]
    pub(super) fn get(&self) -> u8 {
        match self.0.load(Ordering::Acquire) {
            EXAMINING => self.settle().unwrap_or(PASS),
            state => state,
        }
    }

    /// Sets the state (a bookkeeping call: `fcntl`, `ioctl`, `dup`).
    pub(super) fn set(&self, state: u8) {
        self.0.store(state, Ordering::Release);
    }

    /// Back to `UNKNOWN` (a `close`): no wait, even while examining (the
    /// examiner's outcome is then dropped).
    #[inline]
    pub(super) fn forget(&self) {
        if self.0.load(Ordering::Acquire) != UNKNOWN {
            self.0.store(UNKNOWN, Ordering::Release);
        }
    }

    /// The state for a coroutine's call: `examine` decides it if it is
    /// `UNKNOWN` (one examiner at a time). `examine` returns `PASS`,
    /// `SWITCHED`, or `UNKNOWN` for a descriptor that is not open (then
    /// the state stays `UNKNOWN` and this call passes through).
    pub(super) fn classify(&self, examine: impl FnOnce() -> u8) -> u8 {
        let mut examine = Some(examine);
        loop {
            match self.0.load(Ordering::Acquire) {
                UNKNOWN => {}
                EXAMINING => match self.settle() {
                    Some(_) => continue,
                    None => return PASS,
                },
                state => return state,
            }
            if self
                .0
                .compare_exchange(UNKNOWN, EXAMINING, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                continue;
            }
            let examined = examine.take().expect("examined once")();
            // A close may have forgotten the number meanwhile (UNKNOWN):
            // then leave it so, for the next owner to be examined afresh.
            let _ =
                self.0
                    .compare_exchange(EXAMINING, examined, Ordering::AcqRel, Ordering::Acquire);
            return if examined == UNKNOWN { PASS } else { examined };
        }
    }

    /// Waits until the state is no longer `EXAMINING`; `None` if that
    /// takes too long.
    #[cold]
    fn settle(&self) -> Option<u8> {
        for _ in 0..SETTLE_TRIES {
            let state = self.0.load(Ordering::Acquire);
            if state != EXAMINING {
                return Some(state);
            }
            #[cfg(weft_loom)]
            loom::thread::yield_now();
            #[cfg(not(weft_loom))]
            std::thread::yield_now();
        }
        None
    }
}

#[cfg(all(test, weft_loom))]
#[path = "state_loom.rs"]
mod state_loom;
