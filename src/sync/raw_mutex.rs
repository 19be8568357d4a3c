//! The lock word under [`Mutex`](super::Mutex) and
//! [`Condvar`](super::Condvar): one atomic byte for the fast path, a wait
//! list behind a small mutex for the slow one.
//!
//! `state` holds `LOCKED` and `QUEUED`. Locking with no one queued is one
//! CAS; unlocking is one CAS as long as `QUEUED` is clear. `QUEUED` is set
//! whenever the list may hold a waiter and only changes under the list's
//! mutex, so an unlocker that sees it takes the slow path and wakes
//! someone; a locker about to park sets it (under the list mutex) while
//! `LOCKED` is still set, so the holder's fast unlock cannot miss it.
//!
//! **Barging, bounded.** An unlock normally *releases* the lock and wakes
//! the first waiter, which then competes with newcomers: a running
//! coroutine that locks again does not pay a context switch per
//! acquisition (handing the lock to a parked waiter would make every
//! acquisition wait for a wake-up, a convoy). But a waiter that has been
//! waiting for more than [`STARVATION`] is *handed* the lock: the unlock
//! leaves it `LOCKED` and gives ownership to that waiter (Go's
//! starvation mode, parking_lot's eventual fairness). A woken waiter that
//! lost the race re-queues at the front with its original start time.
//!
//! **Cancellation.** A waiter that leaves after being handed the lock
//! unlocks it (passing it on); one that leaves after a plain wake passes
//! the wake on if the lock is free.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use super::spin::{SpinGuard, SpinLock};
use super::waitlist::{Left, NOTIFIED, WaitFor, WaitList, Wakes, Weft, wait};

const LOCKED: u8 = 1;
const QUEUED: u8 = 2;

/// Waiter token: the unlocker handed you the lock.
const HANDOFF: usize = 2;

/// How long a waiter may lose to newcomers before the lock is handed to
/// it (Go's `starvationThresholdNs`).
const STARVATION: Duration = Duration::from_millis(1);

/// How many times a locker checks a held lock before it parks (std's
/// futex mutex: 100).
const SPIN_TURNS: u32 = 100;

/// A mutual-exclusion lock without data or poisoning.
pub(crate) struct RawMutex {
    state: AtomicU8,
    /// Waiters, each with when it started waiting.
    waiters: SpinLock<WaitList<Weft, Instant>>,
}

impl RawMutex {
    pub(crate) const fn new() -> RawMutex {
        RawMutex {
            state: AtomicU8::new(0),
            waiters: SpinLock::new(WaitList::new()),
        }
    }

    /// Takes the lock if it is free (even with waiters queued: barging).
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & LOCKED != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                state,
                state | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
    }

    /// Takes the lock, parking while it is held. A parking point: a
    /// cancelled coroutine unwinds from here without the lock.
    #[inline]
    pub(crate) fn lock(&self) {
        if !self.try_lock() {
            self.lock_contended();
        }
    }

    #[cold]
    fn lock_contended(&self) {
        // A holder running on another worker usually lets go within a few
        // hundred nanoseconds: watch for that briefly, as std's futex mutex
        // does, before paying for a park and a wake-up. Only while nobody
        // is queued (a queue means the lock is busy for longer).
        for _ in 0..SPIN_TURNS {
            if self.state.load(Ordering::Relaxed) != LOCKED {
                break;
            }
            std::hint::spin_loop();
        }
        if !self.try_lock() {
            wait(&LockOp { raw: self }, None);
        }
    }

    /// Releases the lock; the caller holds it.
    #[inline]
    pub(crate) fn unlock(&self) {
        if self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_slow();
        }
    }

    #[cold]
    fn unlock_slow(&self) {
        let mut wakes = Wakes::new();
        {
            let mut list = self.list();
            self.unlock_queued(&mut list, &mut wakes);
        }
        wakes.flush();
    }

    fn list(&self) -> SpinGuard<'_, WaitList<Weft, Instant>> {
        self.waiters.lock()
    }

    /// Unlocks with the list mutex held: hands the lock to a starving
    /// waiter, or releases it and wakes the first waiter.
    fn unlock_queued(&self, list: &mut WaitList<Weft, Instant>, wakes: &mut Wakes<Weft>) {
        // Only lockers (who fail while LOCKED is set) and list holders
        // (we are the one) touch `state` now: plain stores are enough.
        let starving = list
            .front_data()
            .is_some_and(|since| since.elapsed() >= STARVATION);
        if starving {
            // The lock word first: the starving waiter may see its token
            // without the list mutex (after a spurious wake) and own the
            // lock from then on. (No waiter of a mutex is in a `select!`,
            // so the front one is claimed.)
            let queued = if list.len() > 1 { QUEUED } else { 0 };
            self.state.store(LOCKED | queued, Ordering::Release);
            list.wake_front(HANDOFF, wakes);
        } else {
            list.wake_front(NOTIFIED, wakes);
            let queued = if list.is_empty() { 0 } else { QUEUED };
            self.state.store(queued, Ordering::Release);
        }
    }
}

/// A locker waiting for the lock.
struct LockOp<'a> {
    raw: &'a RawMutex,
}

impl WaitFor for LockOp<'_> {
    const REASON: crate::observe::WaitFor = crate::observe::WaitFor::Mutex;
    type Parker = Weft;
    type State = WaitList<Weft, Instant>;
    type Data = Instant;
    type Output = ();

    fn lock(&self) -> impl std::ops::DerefMut<Target = Self::State> + '_ {
        self.raw.list()
    }

    fn list<'s>(&self, list: &'s mut Self::State) -> &'s mut Self::State {
        list
    }

    fn data(&self) -> Instant {
        Instant::now()
    }

    fn handed(&self, token: usize) -> Option<()> {
        // Handed the lock: ours without looking at the list again.
        (token == HANDOFF).then_some(())
    }

    fn poll(&self, _: &mut Self::State, token: usize, _: &mut Wakes<Weft>) -> Option<()> {
        if token == HANDOFF {
            return Some(());
        }
        let state = &self.raw.state;
        let mut current = state.load(Ordering::Relaxed);
        loop {
            let (next, acquired) = if current & LOCKED == 0 {
                // QUEUED stays as it is; if we were the last waiter the
                // next unlock finds the list empty and clears it.
                (current | LOCKED, true)
            } else {
                // We are about to queue (in this same critical section).
                (current | QUEUED, false)
            };
            match state.compare_exchange_weak(current, next, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return acquired.then_some(()),
                Err(actual) => current = actual,
            }
        }
    }

    fn abandon(&self, list: &mut Self::State, left: Left<Instant>, wakes: &mut Wakes<Weft>) {
        match left {
            // We own the lock we were handed: unlock it, to the next one.
            Left::Woken(HANDOFF) => self.raw.unlock_queued(list, wakes),
            Left::Woken(_) => {
                // Pass the wake on, unless the lock is held: then its
                // holder's unlock will wake someone (QUEUED is set).
                if self.raw.state.load(Ordering::Relaxed) & LOCKED == 0 {
                    list.wake_front(NOTIFIED, wakes);
                }
                if list.is_empty() {
                    self.raw.state.fetch_and(!QUEUED, Ordering::Relaxed);
                }
            }
            Left::Queued(_) => {
                if list.is_empty() {
                    self.raw.state.fetch_and(!QUEUED, Ordering::Relaxed);
                }
            }
        }
    }
}
