//! [`Semaphore`]: a count of permits with FIFO waiting. Acquiring parks a
//! coroutine (blocks a thread) until enough permits are free.
//!
//! Strictly first come, first served, by handoff: a release gives permits
//! to the waiters at the front of the queue (all of what the front one
//! asked for, or it keeps waiting and nobody behind it is served), and
//! newcomers never take permits while anyone waits, so a large request
//! is not starved by a stream of small ones. A waiter that leaves after
//! being granted its permits releases them, which serves the next; a
//! queued waiter that leaves may unblock the ones behind it.
//!
//! The core is generic over the [`Parker`] for the loom tests.

use std::fmt;
use std::time::{Duration, Instant};

use super::spin::ModelLock as Mutex;
use super::waitlist::{Left, Parker, WaitFor, WaitList, Wakes, Weft, wait};
use crate::rt::coop;

/// Waiter token: your permits are granted.
const GRANTED: usize = 2;

/// The permit count and its queue.
pub(crate) struct SemCore<P: Parker> {
    state: Mutex<State<P>>,
}

pub(crate) struct State<P: Parker> {
    permits: usize,
    /// Each waiter with the number of permits it asks for.
    waiters: WaitList<P, usize>,
}

impl<P: Parker> SemCore<P> {
    pub(crate) fn new(permits: usize) -> SemCore<P> {
        SemCore {
            state: Mutex::new(State {
                permits,
                waiters: WaitList::new(),
            }),
        }
    }

    fn lock(&self) -> impl std::ops::DerefMut<Target = State<P>> + '_ {
        self.state.lock()
    }

    /// Takes `n` permits if they are free and nobody waits.
    pub(crate) fn try_acquire(&self, n: usize) -> bool {
        let mut state = self.lock();
        if state.waiters.is_empty() && state.permits >= n {
            state.permits -= n;
            true
        } else {
            false
        }
    }

    /// Takes `n` permits, waiting for them until `deadline`; `false` if
    /// it passed.
    pub(crate) fn acquire(&self, n: usize, deadline: Option<Instant>) -> bool {
        wait(&AcquireOp { core: self, n }, deadline).is_some()
    }

    /// Returns `n` permits and serves the waiters they satisfy.
    pub(crate) fn release(&self, n: usize) {
        let mut wakes = Wakes::new();
        {
            let mut state = self.lock();
            state.permits = state
                .permits
                .checked_add(n)
                .expect("semaphore permit count overflowed");
            state.serve(&mut wakes);
        }
        wakes.flush();
    }

    /// Permits free now.
    pub(crate) fn available(&self) -> usize {
        self.lock().permits
    }
}

impl<P: Parker> State<P> {
    /// Grants permits to the front waiters while they fit.
    fn serve(&mut self, wakes: &mut Wakes<P>) {
        while let Some(&wanted) = self.waiters.front_data() {
            if wanted > self.permits {
                break;
            }
            self.permits -= wanted;
            self.waiters.wake_front(GRANTED, wakes);
        }
    }
}

/// A waiter for `n` permits.
struct AcquireOp<'a, P: Parker> {
    core: &'a SemCore<P>,
    n: usize,
}

impl<P: Parker> WaitFor for AcquireOp<'_, P> {
    const REASON: crate::observe::WaitFor = crate::observe::WaitFor::Semaphore;
    type Parker = P;
    type State = State<P>;
    type Data = usize;
    type Output = ();

    fn lock(&self) -> impl std::ops::DerefMut<Target = State<P>> + '_ {
        self.core.lock()
    }

    fn list<'s>(&self, state: &'s mut State<P>) -> &'s mut WaitList<P, usize> {
        &mut state.waiters
    }

    fn data(&self) -> usize {
        self.n
    }

    fn handed(&self, token: usize) -> Option<()> {
        // Granted: the releaser already took our permits off the count.
        (token == GRANTED).then_some(())
    }

    fn poll(&self, state: &mut State<P>, token: usize, _: &mut Wakes<P>) -> Option<()> {
        if token == GRANTED {
            return Some(());
        }
        // Only before queueing (a queued waiter is served by handoff):
        // take the permits if nobody is ahead of us.
        if token == super::waitlist::WAITING && state.waiters.is_empty() && state.permits >= self.n
        {
            state.permits -= self.n;
            return Some(());
        }
        None
    }

    fn abandon(&self, state: &mut State<P>, left: Left<usize>, wakes: &mut Wakes<P>) {
        if let Left::Woken(_) = left {
            // Granted but leaving: give the permits back.
            state.permits += self.n;
        }
        // Either way the front may have changed: serve who fits now.
        state.serve(wakes);
    }
}

/// A counting semaphore with first-come-first-served waiting.
///
/// [`acquire`](Self::acquire) parks the calling coroutine (blocks a
/// thread) until a permit is free and returns a [`SemaphorePermit`] that
/// gives it back when dropped.
///
/// ```
/// use weft::sync::{Arc, Semaphore};
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// // At most 2 of these 8 coroutines in the critical section at once.
/// let sem = Arc::new(Semaphore::new(2));
/// let inside = Arc::new(AtomicUsize::new(0));
/// let handles: Vec<_> = (0..8)
///     .map(|_| {
///         let (sem, inside) = (sem.clone(), inside.clone());
///         weft::spawn(move || {
///             let _permit = sem.acquire();
///             assert!(inside.fetch_add(1, Ordering::SeqCst) < 2);
///             weft::yield_now();
///             inside.fetch_sub(1, Ordering::SeqCst);
///         })
///     })
///     .collect();
/// for h in handles {
///     h.join().unwrap();
/// }
/// assert_eq!(sem.available_permits(), 2);
/// ```
pub struct Semaphore {
    core: SemCore<Weft>,
}

/// Permits taken from a [`Semaphore`]; dropping returns them.
///
/// ```
/// let sem = weft::sync::Semaphore::new(3);
/// let permit: weft::sync::SemaphorePermit<'_> = sem.acquire_many(2);
/// assert_eq!(permit.num_permits(), 2);
/// assert_eq!(sem.available_permits(), 1);
/// drop(permit);
/// assert_eq!(sem.available_permits(), 3);
/// ```
#[must_use = "the permits are released as soon as this is dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

impl Semaphore {
    /// A semaphore with `permits` free permits.
    ///
    /// ```
    /// assert_eq!(weft::sync::Semaphore::new(4).available_permits(), 4);
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            core: SemCore::new(permits),
        }
    }

    /// Takes one permit, waiting for it. A parking point when it waits;
    /// counts against the fairness budget. A coroutine cancelled while
    /// waiting unwinds and takes no permit (if one had just been granted
    /// to it, it goes to the next waiter).
    ///
    /// ```
    /// let sem = weft::sync::Semaphore::new(1);
    /// let p = sem.acquire();
    /// assert_eq!(sem.available_permits(), 0);
    /// drop(p);
    /// ```
    pub fn acquire(&self) -> SemaphorePermit<'_> {
        self.acquire_many(1)
    }

    /// Takes `n` permits at once, waiting until they are all free (and
    /// every earlier waiter is served). Asking for more than will ever be
    /// free waits forever.
    ///
    /// ```
    /// let sem = weft::sync::Semaphore::new(5);
    /// let p = sem.acquire_many(5);
    /// assert!(sem.try_acquire().is_none());
    /// drop(p);
    /// ```
    pub fn acquire_many(&self, n: usize) -> SemaphorePermit<'_> {
        coop::proceed();
        self.core.acquire(n, None);
        SemaphorePermit { sem: self, n }
    }

    /// Like [`acquire`](Self::acquire), but gives up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let sem = weft::sync::Semaphore::new(0);
    /// assert!(sem.acquire_timeout(Duration::from_millis(5)).is_none());
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphorePermit<'_>> {
        coop::proceed();
        let deadline = Instant::now().checked_add(timeout);
        self.core
            .acquire(1, deadline)
            .then(|| SemaphorePermit { sem: self, n: 1 })
    }

    /// Takes a permit if one is free and nobody waits; never yields.
    ///
    /// ```
    /// let sem = weft::sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(p);
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody waits.
    ///
    /// ```
    /// let sem = weft::sync::Semaphore::new(2);
    /// assert!(sem.try_acquire_many(3).is_none());
    /// assert!(sem.try_acquire_many(2).is_some());
    /// ```
    pub fn try_acquire_many(&self, n: usize) -> Option<SemaphorePermit<'_>> {
        self.core
            .try_acquire(n)
            .then(|| SemaphorePermit { sem: self, n })
    }

    /// How many permits are free now (some may be set aside for the
    /// first waiter, which needs more).
    ///
    /// ```
    /// let sem = weft::sync::Semaphore::new(2);
    /// let _p = sem.acquire();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.core.available()
    }

    /// Adds `n` new permits, serving waiters.
    ///
    /// ```
    /// let sem = weft::sync::Semaphore::new(0);
    /// sem.add_permits(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub fn add_permits(&self, n: usize) {
        self.core.release(n);
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("permits", &self.available_permits())
            .finish()
    }
}

impl SemaphorePermit<'_> {
    /// How many permits this holds.
    ///
    /// ```
    /// let sem = weft::sync::Semaphore::new(1);
    /// assert_eq!(sem.acquire().num_permits(), 1);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// Drops the permits without returning them: the semaphore has that
    /// many fewer for good.
    ///
    /// ```
    /// let sem = weft::sync::Semaphore::new(2);
    /// sem.acquire().forget();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn forget(mut self) {
        self.n = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.n > 0 {
            self.sem.core.release(self.n);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}
