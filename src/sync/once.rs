//! [`Once`]: one-time initialisation whose waiters park.
//!
//! std's `Once` blocks a second caller's OS thread on a futex while the
//! first runs the initialiser. In weft that thread may be the worker the
//! initialiser itself runs on: if the initialiser parks (reads a file,
//! sleeps), the worker is blocked waiting for a coroutine only it could
//! resume, and both hang. Here a second caller parks instead, through the
//! shared wait list, so the initialiser's worker keeps running.
//!
//! The state is one atomic (`INCOMPLETE → RUNNING → COMPLETE`, or back to
//! `POISONED` if the initialiser unwinds). Every transition happens under
//! the wait list's lock, so a waiter that saw `RUNNING` and registered
//! cannot miss the wake-all of the transition out of it; the only access
//! outside the lock is the fast path, an `Acquire` load that finds
//! `COMPLETE` (stored with `Release` after the initialiser's writes).
//! [`OnceLock`](super::OnceLock) and [`LazyLock`](super::LazyLock) are
//! built on it.

use std::fmt;
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};

use super::spin::SpinLock;
use super::waitlist::{Left, NOTIFIED, WaitFor, WaitList, Wakes, Weft, wait};

const INCOMPLETE: u8 = 0;
const POISONED: u8 = 1;
const RUNNING: u8 = 2;
const COMPLETE: u8 = 3;

/// A one-time initialisation, like [`std::sync::Once`]; a second caller
/// waits for the first by parking (a coroutine) or blocking (a thread),
/// so the initialiser may itself park.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use weft::sync::Once;
///
/// static INIT: Once = Once::new();
/// static RUNS: AtomicU32 = AtomicU32::new(0);
///
/// let hs: Vec<_> = (0..4)
///     .map(|_| {
///         weft::spawn(|| {
///             INIT.call_once(|| {
///                 weft::sleep(Duration::from_millis(5)); // may park
///                 RUNS.fetch_add(1, Ordering::Relaxed);
///             })
///         })
///     })
///     .collect();
/// for h in hs {
///     h.join().unwrap();
/// }
/// assert!(INIT.is_completed());
/// assert_eq!(RUNS.load(Ordering::Relaxed), 1);
/// ```
pub struct Once {
    state: AtomicU8,
    waiters: SpinLock<WaitList<Weft>>,
}

// The wait list is internal bookkeeping: an unwind leaves it consistent
// (its critical sections run no user code), as std's futex word is.
impl RefUnwindSafe for Once {}
impl UnwindSafe for Once {}

/// What a [`Once::call_once_force`] closure is told about the `Once`,
/// like [`std::sync::OnceState`].
///
/// ```
/// use weft::sync::Once;
/// let once = Once::new();
/// once.call_once_force(|state| assert!(!state.is_poisoned()));
/// ```
pub struct OnceState {
    poisoned: bool,
}

impl OnceState {
    /// Whether an earlier initialiser panicked (so this call of
    /// [`Once::call_once_force`] runs again on a poisoned `Once`).
    ///
    /// ```
    /// use std::panic::catch_unwind;
    /// use weft::sync::Once;
    ///
    /// let once = Once::new();
    /// let _ = catch_unwind(|| once.call_once(|| panic!("first try fails")));
    /// once.call_once_force(|state| assert!(state.is_poisoned()));
    /// assert!(once.is_completed());
    /// ```
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }
}

impl fmt::Debug for OnceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceState")
            .field("poisoned", &self.poisoned)
            .finish()
    }
}

/// How a claim on the `Once` ended.
pub(super) enum Claimed {
    /// Somebody completed it.
    Done,
    /// It is poisoned and the caller does not ignore that.
    Poisoned,
    /// The caller runs the initialiser now (`true`: after a poisoning).
    Run(bool),
}

impl Once {
    /// A `Once` that has not run; usable in a `static`.
    ///
    /// ```
    /// static START: weft::sync::Once = weft::sync::Once::new();
    /// assert!(!START.is_completed());
    /// ```
    #[must_use]
    pub const fn new() -> Once {
        Once {
            state: AtomicU8::new(INCOMPLETE),
            waiters: SpinLock::new(WaitList::new()),
        }
    }

    /// A `Once` that has already run (for `OnceLock::from`).
    pub(super) const fn completed() -> Once {
        Once {
            state: AtomicU8::new(COMPLETE),
            waiters: SpinLock::new(WaitList::new()),
        }
    }

    /// Runs `f` if no call has completed yet; returns once some call's
    /// closure has completed. Callers that arrive while another runs the
    /// closure wait for it (parking), like [`std::sync::Once::call_once`].
    ///
    /// # Panics
    /// If an earlier closure panicked (the `Once` is poisoned); and the
    /// panic of `f` itself propagates, poisoning it.
    ///
    /// ```
    /// use weft::sync::Once;
    /// let once = Once::new();
    /// let mut n = 0;
    /// once.call_once(|| n += 1);
    /// once.call_once(|| n += 1);
    /// assert_eq!(n, 1);
    /// ```
    #[track_caller]
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        let mut f = Some(f);
        if self
            .call(false, &mut |_| (f.take().expect("called once"))())
            .is_err()
        {
            panic!("Once instance has previously been poisoned");
        }
    }

    /// Like [`call_once`](Once::call_once), but runs `f` on a poisoned
    /// `Once` too (telling it through [`OnceState::is_poisoned`]), like
    /// [`std::sync::Once::call_once_force`].
    ///
    /// ```
    /// use weft::sync::Once;
    /// let once = Once::new();
    /// once.call_once_force(|state| assert!(!state.is_poisoned()));
    /// assert!(once.is_completed());
    /// ```
    pub fn call_once_force<F: FnOnce(&OnceState)>(&self, f: F) {
        if self.is_completed() {
            return;
        }
        let mut f = Some(f);
        let _ = self.call(true, &mut |state| (f.take().expect("called once"))(state));
    }

    /// Whether some call's closure has completed, like
    /// [`std::sync::Once::is_completed`]. Never waits.
    ///
    /// ```
    /// let once = weft::sync::Once::new();
    /// assert!(!once.is_completed());
    /// once.call_once(|| {});
    /// assert!(once.is_completed());
    /// ```
    #[inline]
    pub fn is_completed(&self) -> bool {
        self.state.load(Ordering::Acquire) == COMPLETE
    }

    /// Waits until some call's closure has completed, without running
    /// anything, like [`std::sync::Once::wait`].
    ///
    /// # Panics
    /// If the `Once` is poisoned.
    ///
    /// ```
    /// use weft::sync::{Arc, Once};
    /// let once = Arc::new(Once::new());
    /// let o = once.clone();
    /// let h = weft::spawn(move || o.wait());
    /// once.call_once(|| {});
    /// h.join().unwrap();
    /// ```
    #[track_caller]
    pub fn wait(&self) {
        if !self.is_completed() && self.wait_for(false).is_err() {
            panic!("Once instance has previously been poisoned");
        }
    }

    /// Like [`wait`](Once::wait), but a poisoning does not end the wait:
    /// it lasts until a closure completes, like
    /// [`std::sync::Once::wait_force`].
    ///
    /// ```
    /// let once = weft::sync::Once::new();
    /// once.call_once(|| {});
    /// once.wait_force();
    /// ```
    pub fn wait_force(&self) {
        if !self.is_completed() {
            let _ = self.wait_for(true);
        }
    }

    /// Runs `f` unless a call completed; `Err` if the `Once` is poisoned
    /// and `ignore_poison` is false.
    pub(super) fn call(
        &self,
        ignore_poison: bool,
        f: &mut dyn FnMut(&OnceState),
    ) -> Result<(), ()> {
        let op = Op {
            once: self,
            run: true,
            ignore_poison,
        };
        match wait(&op, None).expect("a wait without deadline finishes") {
            Claimed::Done => Ok(()),
            Claimed::Poisoned => Err(()),
            Claimed::Run(poisoned) => {
                // Whatever way `f` ends, the state leaves `RUNNING` and
                // the waiters are woken: `COMPLETE` if it returns,
                // `POISONED` if it unwinds.
                let mut finish = Finish {
                    once: self,
                    to: POISONED,
                };
                f(&OnceState { poisoned });
                finish.to = COMPLETE;
                Ok(())
            }
        }
    }

    /// Waits without running anything: `Err` if poisoned (unless
    /// `ignore_poison`).
    fn wait_for(&self, ignore_poison: bool) -> Result<(), ()> {
        let op = Op {
            once: self,
            run: false,
            ignore_poison,
        };
        match wait(&op, None).expect("a wait without deadline finishes") {
            Claimed::Done => Ok(()),
            Claimed::Poisoned => Err(()),
            Claimed::Run(_) => unreachable!("a plain wait never claims the run"),
        }
    }
}

impl Default for Once {
    /// Same as [`Once::new`].
    ///
    /// ```
    /// let once = weft::sync::Once::default();
    /// assert!(!once.is_completed());
    /// ```
    fn default() -> Once {
        Once::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").finish_non_exhaustive()
    }
}

/// Moves the state out of `RUNNING` (to `to`) and wakes every waiter.
struct Finish<'a> {
    once: &'a Once,
    to: u8,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let mut wakes = Wakes::new();
        {
            let mut waiters = self.once.waiters.lock();
            // Release: the initialiser's writes happen before a fast-path
            // `Acquire` load sees `COMPLETE`.
            self.once.state.store(self.to, Ordering::Release);
            waiters.wake_all(NOTIFIED, &mut wakes);
        }
        wakes.flush();
    }
}

/// A caller's wait on the `Once`: to run the closure (`run`), or only
/// until it completed.
struct Op<'a> {
    once: &'a Once,
    run: bool,
    ignore_poison: bool,
}

impl WaitFor for Op<'_> {
    const REASON: crate::observe::WaitFor = crate::observe::WaitFor::Once;
    type Parker = Weft;
    type State = WaitList<Weft>;
    type Data = ();
    type Output = Claimed;

    fn lock(&self) -> impl std::ops::DerefMut<Target = WaitList<Weft>> + '_ {
        self.once.waiters.lock()
    }

    fn list<'s>(&self, state: &'s mut WaitList<Weft>) -> &'s mut WaitList<Weft> {
        state
    }

    fn data(&self) {}

    fn poll(&self, _: &mut WaitList<Weft>, _: usize, _: &mut Wakes<Weft>) -> Option<Claimed> {
        let state = &self.once.state;
        match state.load(Ordering::Acquire) {
            COMPLETE => Some(Claimed::Done),
            RUNNING => None,
            POISONED if !self.ignore_poison => Some(Claimed::Poisoned),
            was if self.run => {
                // Under the lock, so no other caller claims it too.
                state.store(RUNNING, Ordering::Relaxed);
                Some(Claimed::Run(was == POISONED))
            }
            _ => None,
        }
    }

    fn abandon(&self, _: &mut WaitList<Weft>, _: Left<()>, _: &mut Wakes<Weft>) {
        // Every wake is a wake-all: nothing handed to us needs passing on.
    }
}
