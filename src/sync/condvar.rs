//! [`Condvar`]: std's condition variable over weft's [`Mutex`]; waiting
//! parks a coroutine (blocks a thread).
//!
//! A waiter queues on the condvar's wait list *before* it unlocks the
//! mutex, so a notify issued by anyone who locks the mutex after that
//! finds it. A notify pops waiters and hands them [`NOTIFIED`]; the
//! waiter re-locks the mutex and returns. A waiter that was notified but
//! unwinds (cancelled, even while re-locking) passes the notification on
//! to the next waiter, so `notify_one` is never swallowed by a coroutine
//! that is going away. A waiter that times out while a notify races in
//! counts as notified.

use std::fmt;
use std::sync::LockResult;
use std::time::{Duration, Instant};

use super::mutex::MutexGuard;
use super::poison;
use super::spin::{SpinGuard, SpinLock};
use super::waitlist::{NOTIFIED, Parker, Ticket, WAITING, WaitList, Waiter, Wakes, Weft};

/// A condition variable, like [`std::sync::Condvar`], for weft's
/// [`Mutex`](super::Mutex).
///
/// ```
/// use weft::sync::{Arc, Condvar, Mutex};
///
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let pair2 = pair.clone();
/// weft::spawn(move || {
///     let (ready, cv) = &*pair2;
///     *ready.lock().unwrap() = true;
///     cv.notify_one();
/// });
/// let (ready, cv) = &*pair;
/// let guard = cv.wait_while(ready.lock().unwrap(), |ready| !*ready).unwrap();
/// assert!(*guard);
/// ```
pub struct Condvar {
    waiters: SpinLock<WaitList<Weft>>,
}

/// Whether a timed wait on a [`Condvar`] timed out.
///
/// ```
/// use std::time::Duration;
/// use weft::sync::{Condvar, Mutex};
/// let (m, cv) = (Mutex::new(()), Condvar::new());
/// let (_guard, result) = cv.wait_timeout(m.lock().unwrap(), Duration::from_millis(5)).unwrap();
/// assert!(result.timed_out());
/// ```
#[derive(Debug, PartialEq, Eq, Copy, Clone)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// Whether the wait ended because its time ran out (and not because
    /// of a notification).
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::sync::{Condvar, Mutex};
    /// let (m, cv) = (Mutex::new(()), Condvar::new());
    /// let (_g, r) = cv.wait_timeout(m.lock().unwrap(), Duration::ZERO).unwrap();
    /// assert!(r.timed_out());
    /// ```
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl Condvar {
    /// A condition variable with no waiters; usable in a `static`.
    ///
    /// ```
    /// static CV: weft::sync::Condvar = weft::sync::Condvar::new();
    /// CV.notify_all();
    /// ```
    pub const fn new() -> Condvar {
        Condvar {
            waiters: SpinLock::new(WaitList::new()),
        }
    }

    fn list(&self) -> SpinGuard<'_, WaitList<Weft>> {
        self.waiters.lock()
    }

    /// Unlocks `guard`'s mutex, waits for a notification, locks it
    /// again. May wake spuriously, as std's; call it in a loop over the
    /// condition, or use [`wait_while`](Self::wait_while).
    ///
    /// A parking point: a coroutine cancelled while waiting unwinds
    /// (without the lock) and passes on a notification it had received.
    ///
    /// ```
    /// use weft::sync::{Arc, Condvar, Mutex};
    /// let pair = Arc::new((Mutex::new(0), Condvar::new()));
    /// let p = pair.clone();
    /// weft::spawn(move || {
    ///     *p.0.lock().unwrap() = 1;
    ///     p.1.notify_all();
    /// });
    /// let mut n = pair.0.lock().unwrap();
    /// while *n == 0 {
    ///     n = pair.1.wait(n).unwrap();
    /// }
    /// ```
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> LockResult<MutexGuard<'a, T>> {
        self.wait_until(guard, None).0
    }

    /// Waits while `condition` holds, re-checking it after each wake.
    ///
    /// ```
    /// use weft::sync::{Arc, Condvar, Mutex};
    /// let pair = Arc::new((Mutex::new(3), Condvar::new()));
    /// let p = pair.clone();
    /// weft::spawn(move || {
    ///     for _ in 0..3 {
    ///         *p.0.lock().unwrap() -= 1;
    ///         p.1.notify_one();
    ///     }
    /// });
    /// let left = pair.1.wait_while(pair.0.lock().unwrap(), |n| *n > 0).unwrap();
    /// assert_eq!(*left, 0);
    /// ```
    pub fn wait_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: F,
    ) -> LockResult<MutexGuard<'a, T>>
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut *guard) {
            guard = self.wait(guard)?;
        }
        Ok(guard)
    }

    /// Like [`wait`](Self::wait), but gives up after `dur`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::sync::{Condvar, Mutex};
    /// let (m, cv) = (Mutex::new(()), Condvar::new());
    /// let (_g, r) = cv.wait_timeout(m.lock().unwrap(), Duration::from_millis(1)).unwrap();
    /// assert!(r.timed_out());
    /// ```
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        dur: Duration,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)> {
        let deadline = Instant::now().checked_add(dur);
        let (result, timed_out) = self.wait_until(guard, deadline);
        poison::map(result, |guard| (guard, WaitTimeoutResult(timed_out)))
    }

    /// Waits while `condition` holds, for at most `dur` in all.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::sync::{Condvar, Mutex};
    /// let (m, cv) = (Mutex::new(false), Condvar::new());
    /// let (g, r) = cv
    ///     .wait_timeout_while(m.lock().unwrap(), Duration::from_millis(5), |done| !*done)
    ///     .unwrap();
    /// assert!(r.timed_out() && !*g);
    /// ```
    pub fn wait_timeout_while<'a, T: ?Sized, F>(
        &self,
        mut guard: MutexGuard<'a, T>,
        dur: Duration,
        mut condition: F,
    ) -> LockResult<(MutexGuard<'a, T>, WaitTimeoutResult)>
    where
        F: FnMut(&mut T) -> bool,
    {
        let start = Instant::now();
        loop {
            if !condition(&mut *guard) {
                return Ok((guard, WaitTimeoutResult(false)));
            }
            let Some(left) = dur.checked_sub(start.elapsed()) else {
                return Ok((guard, WaitTimeoutResult(true)));
            };
            guard = self.wait_timeout(guard, left)?.0;
        }
    }

    /// Wakes one waiter, if any.
    ///
    /// ```
    /// let cv = weft::sync::Condvar::new();
    /// cv.notify_one(); // nobody waits: nothing happens
    /// ```
    pub fn notify_one(&self) {
        let mut wakes = Wakes::new();
        self.list().wake_front(NOTIFIED, &mut wakes);
        wakes.flush();
    }

    /// Wakes every waiter.
    ///
    /// ```
    /// let cv = weft::sync::Condvar::new();
    /// cv.notify_all();
    /// ```
    pub fn notify_all(&self) {
        let mut wakes = Wakes::new();
        self.list().wake_all(NOTIFIED, &mut wakes);
        wakes.flush();
    }

    /// The wait itself: returns the re-locked guard and whether it timed
    /// out.
    fn wait_until<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Option<Instant>,
    ) -> (LockResult<MutexGuard<'a, T>>, bool) {
        let mutex = guard.mutex();
        let waiter = Waiter::<Weft>::new();
        let _reason = crate::observe::waiting(crate::observe::WaitFor::Condvar);
        let mut wait = CondvarWait {
            condvar: self,
            waiter: &waiter,
            ticket: None,
            notified: false,
        };
        // SAFETY: `waiter` lives in this frame, below `wait`, whose drop
        // removes the entry under the list mutex on every way out.
        wait.ticket = Some(unsafe { self.list().push_back(&waiter, ()) });
        drop(guard);
        let mut timed_out = false;
        loop {
            {
                // The waiter's state is read under the list mutex: a
                // notifier is then done with our entry.
                let mut list = self.list();
                if waiter.state() != WAITING {
                    wait.ticket = None;
                    wait.notified = true;
                    timed_out = false;
                    break;
                }
                if timed_out {
                    if let Some(ticket) = wait.ticket.take() {
                        list.remove(ticket);
                    }
                    break;
                }
            }
            timed_out = Weft::park_until(deadline);
        }
        // A cancel while re-locking unwinds through `wait`'s drop, which
        // passes the notification on.
        mutex.raw().lock();
        wait.notified = false;
        (mutex.guard(), timed_out)
    }
}

/// A condvar waiter's registration; on an unwind it leaves the list and
/// passes on a notification it did not use.
struct CondvarWait<'a> {
    condvar: &'a Condvar,
    waiter: &'a Waiter<Weft>,
    ticket: Option<Ticket>,
    /// Notified, and not yet returned with the lock.
    notified: bool,
}

impl Drop for CondvarWait<'_> {
    fn drop(&mut self) {
        if self.ticket.is_none() && !self.notified {
            return;
        }
        let mut wakes = Wakes::new();
        {
            let mut list = self.condvar.list();
            let popped = match self.ticket.take() {
                Some(ticket) => list.remove(ticket).is_none(),
                None => false,
            };
            if (popped && self.waiter.state() != WAITING) || self.notified {
                list.wake_front(NOTIFIED, &mut wakes);
            }
        }
        wakes.flush();
    }
}

impl Default for Condvar {
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
