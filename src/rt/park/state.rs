//! The park/unpark handshake of one coroutine, as a four-state atomic.
//!
//! A coroutine parks in two halves, on two stacks. On its own stack it
//! calls [`ParkState::try_consume_token`]; if no token is waiting it
//! switches back to its worker, and only there, once the coroutine's stack
//! is no longer in use, the worker calls [`ParkState::commit_park`]. An
//! unpark that lands between the two halves therefore never resumes a
//! coroutine that is still running: it leaves a token (`NOTIFIED`), and
//! `commit_park` sees the token and puts the coroutine straight back on the
//! ready queue.
//!
//! ```text
//!            unpark                      commit_park (worker)
//!   IDLE ───────────────▶ NOTIFIED   IDLE ────────────────▶ PARKED
//!     ▲  try_consume_token   │         ▲   unpark: returns true,  │
//!     └──────────────────────┘         └── caller schedules it ───┘
//!   any ── finish ──▶ DONE (unpark is a no-op forever after)
//! ```
//!
//! Invariants:
//! - Only the `PARKED → IDLE` transition schedules the coroutine, and
//!   exactly one `unpark` can make it, so a coroutine is never queued twice
//!   (no doubled wakeup).
//! - An unpark is never lost: it either finds `PARKED` and schedules, or
//!   leaves `NOTIFIED`, which the next park consumes without sleeping.
//! - Tokens do not accumulate, as with `std::thread::park`: parking may
//!   return spuriously, so every waiter re-checks its condition in a loop.
//!
//! `tests/loom_park.rs` checks these under every interleaving.

use crate::rt::loom::{AtomicU8, Ordering};

/// Running or runnable, no token waiting.
const IDLE: u8 = 0;
/// Running or runnable, and an unpark is waiting to be consumed.
const NOTIFIED: u8 = 1;
/// Suspended in `park`, off every queue, waiting for an unpark.
const PARKED: u8 = 2;
/// Finished: unparks are ignored.
const DONE: u8 = 3;

/// The park/unpark state of one coroutine (see the module docs).
#[derive(Debug)]
pub struct ParkState(AtomicU8);

impl Default for ParkState {
    fn default() -> Self {
        Self::new()
    }
}

impl ParkState {
    /// A fresh state: runnable, no token.
    pub fn new() -> ParkState {
        ParkState(AtomicU8::new(IDLE))
    }

    /// First half of a park, on the coroutine's own stack: takes a waiting
    /// token. Returns `true` if there was one, and the coroutine must not
    /// suspend.
    pub fn try_consume_token(&self) -> bool {
        // A plain load first: most parks find no token, and a failed
        // compare-exchange is still a locked instruction. Seeing no token
        // here is what a failed exchange would have said; one that lands
        // just after is `commit_park`'s business.
        self.0.load(Ordering::Relaxed) == NOTIFIED
            && self
                .0
                .compare_exchange(NOTIFIED, IDLE, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    /// Second half of a park, on the worker after the coroutine suspended.
    /// Returns `true` if the coroutine is now parked (the worker forgets
    /// it until an unpark schedules it), `false` if a token arrived in the
    /// meantime: the token is consumed and the worker must run the
    /// coroutine again.
    pub fn commit_park(&self) -> bool {
        match self
            .0
            .compare_exchange(IDLE, PARKED, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => true,
            Err(NOTIFIED) => {
                // Several unparks may collapse into this one token; the
                // coroutine re-checks its condition when it runs.
                self.0.swap(IDLE, Ordering::Acquire);
                false
            }
            Err(state) => unreachable!("commit_park in state {state}"),
        }
    }

    /// Wakes the coroutine. Returns `true` when the caller has taken the
    /// coroutine off `PARKED` and must now put it on its worker's ready
    /// queue; `false` when a token was left (or it is finished).
    pub fn unpark(&self) -> bool {
        let mut state = self.0.load(Ordering::Relaxed);
        loop {
            let next = match state {
                DONE => return false,
                PARKED => IDLE,
                // IDLE or NOTIFIED: leave a token. Writing NOTIFIED over
                // NOTIFIED still publishes this unparker's writes (Release).
                _ => NOTIFIED,
            };
            match self
                .0
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return state == PARKED,
                Err(actual) => state = actual,
            }
        }
    }

    /// Marks the coroutine finished; later unparks do nothing.
    pub fn set_done(&self) {
        self.0.store(DONE, Ordering::Release);
    }

    /// Whether the coroutine is suspended waiting for an unpark (racy; for
    /// diagnostics).
    pub fn is_parked(&self) -> bool {
        self.0.load(Ordering::Relaxed) == PARKED
    }
}
