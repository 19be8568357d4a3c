//! Per-worker timers: the deadlines of coroutines sleeping or waiting with
//! a timeout on this worker.
//!
//! Only the owning worker thread touches its [`Timers`] (a coroutine sets
//! its deadline while running on that worker, and the worker fires due
//! entries between coroutines), so there is no lock. Entries live in a
//! `BTreeMap` ordered by `(deadline, sequence number)`: insert, cancel and
//! pop-earliest are all O(log n) with no garbage left behind by a cancelled
//! timeout (an I/O timeout that does not fire is removed, not tombstoned).
//! `arch/timers.md` argues this choice against a timer wheel.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use crate::rt::coroutine::Header;

/// Identifies one armed timer, to cancel it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    deadline: Instant,
    seq: u64,
}

/// The armed timers of one worker.
#[derive(Default)]
pub(crate) struct Timers {
    entries: BTreeMap<TimerKey, Arc<Header>>,
    next_seq: u64,
}

impl Timers {
    /// Arms a timer that unparks `target` at `deadline`.
    pub(crate) fn insert(&mut self, deadline: Instant, target: Arc<Header>) -> TimerKey {
        let key = TimerKey {
            deadline,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.entries.insert(key, target);
        key
    }

    /// Disarms a timer; a no-op if it already fired.
    pub(crate) fn remove(&mut self, key: TimerKey) {
        self.entries.remove(&key);
    }

    /// How many timers are armed.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The earliest deadline, if any timer is armed.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.entries.first_key_value().map(|(k, _)| k.deadline)
    }

    /// Removes one timer due at `now`, returning whom to wake. The caller
    /// wakes it outside any borrow of `self` (waking may re-enter).
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Arc<Header>> {
        let entry = self.entries.first_entry()?;
        if entry.key().deadline <= now {
            Some(entry.remove())
        } else {
            None
        }
    }
}
