//! Per-worker timers: the deadlines of coroutines sleeping or waiting with
//! a timeout on this worker.
//!
//! Only the owning worker thread touches its [`Timers`] (a coroutine arms
//! and disarms its timer while running on that worker, and the worker
//! fires due entries between coroutines), so there is no lock. They live
//! in a hierarchical timing wheel ([`wheel`]) with one-millisecond ticks:
//! arming, cancelling and firing are O(1), a cancelled timeout is removed
//! at once (no garbage left by an I/O timeout that does not fire), and no
//! allocation happens per timer once the worker's slab has grown.
//!
//! Deadlines are rounded *up* to the next tick and the clock *down*, so a
//! timer never fires before its deadline; the worker sleeps in the poller
//! until [`Timers::next_deadline`], which is never later than the earliest
//! timer's tick. `arch/timers.md` has the why and the measurements.

mod slab;
mod wheel;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::rt::coroutine::Header;

use wheel::Wheel;

/// One tick of the wheel: the resolution of every weft timer (`epoll_wait`
/// counts in milliseconds anyway).
const TICK: Duration = Duration::from_millis(1);
const _: () = assert!(
    TICK.as_millis() == 1,
    "instant_of and the tick_at_* functions count ticks in milliseconds"
);

/// Identifies one armed timer, to cancel it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey(wheel::Handle);

/// The armed timers of one worker.
pub(crate) struct Timers {
    wheel: Wheel<Arc<Header>>,
    /// Tick 0.
    origin: Instant,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            wheel: Wheel::default(),
            origin: Instant::now(),
        }
    }
}

/// The first tick at or after `deadline`. (In 64-bit milliseconds: a
/// whole second is a whole number of ticks, so only the nanoseconds round,
/// and no 128-bit division runs on every timed wait.)
fn tick_at_or_after(origin: Instant, deadline: Instant) -> u64 {
    let since = deadline.saturating_duration_since(origin);
    let part = u64::from(since.subsec_nanos().div_ceil(1_000_000));
    millis(since.as_secs(), part)
}

/// The last tick at or before `now`.
fn tick_at_or_before(origin: Instant, now: Instant) -> u64 {
    let since = now.saturating_duration_since(origin);
    millis(since.as_secs(), u64::from(since.subsec_millis()))
}

/// `secs` seconds and `part` milliseconds in ticks, clamped to the wheel.
fn millis(secs: u64, part: u64) -> u64 {
    secs.saturating_mul(1_000)
        .saturating_add(part)
        .min(wheel::MAX_TICK)
}

/// When `tick` begins (`None`: past what `Instant` can count).
fn instant_of(origin: Instant, tick: u64) -> Option<Instant> {
    origin.checked_add(Duration::from_millis(tick))
}

impl Timers {
    /// Arms a timer that unparks `target` at `deadline`.
    pub(crate) fn insert(&mut self, deadline: Instant, target: Arc<Header>) -> TimerKey {
        TimerKey(
            self.wheel
                .insert(tick_at_or_after(self.origin, deadline), target),
        )
    }

    /// Disarms a timer; a no-op if it already fired. Runs on the
    /// coroutine that armed it, so that is where its `Arc` is dropped.
    pub(crate) fn remove(&mut self, key: TimerKey) {
        drop(self.wheel.remove(key.0));
    }

    /// How many timers are armed.
    pub(crate) fn len(&self) -> usize {
        self.wheel.len()
    }

    /// When the worker must look at its timers next, if any is armed: the
    /// earliest timer's (rounded up) deadline, or earlier, when timers
    /// must move to a finer level of the wheel first. `None` also if that
    /// is further than `Instant` can count.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        instant_of(self.origin, self.wheel.next_expiry()?)
    }

    /// Removes one timer due at `now`, returning whom to wake. The caller
    /// wakes it outside any borrow of `self` (waking may re-enter).
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Arc<Header>> {
        let now = tick_at_or_before(self.origin, now);
        self.wheel.pop(now).map(|(_, target)| target)
    }

    /// Gives the memory of a burst of timers back once none is armed.
    pub(crate) fn shrink(&mut self) {
        self.wheel.shrink();
    }
}
