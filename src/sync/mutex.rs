//! [`Mutex`]: std's mutual-exclusion lock, with waiting that parks a
//! coroutine (and blocks a thread), over the [`RawMutex`] lock word.
//! Poisoning works as in std.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::{LockResult, TryLockError, TryLockResult};

use super::poison;
use super::raw_mutex::RawMutex;
use crate::rt::coop;

/// A mutual-exclusion lock protecting a `T`, like [`std::sync::Mutex`].
///
/// `lock` parks the calling coroutine while another holder has it (on a
/// plain thread it blocks), so coroutines and threads may share one lock.
/// Newcomers may take a just-released lock before a woken waiter
/// (throughput), but a waiter left waiting for over a millisecond is
/// handed the lock directly (no starvation).
///
/// ```
/// use weft::sync::{Arc, Mutex};
///
/// let count = Arc::new(Mutex::new(0));
/// let handles: Vec<_> = (0..10)
///     .map(|_| {
///         let count = count.clone();
///         weft::spawn(move || *count.lock().unwrap() += 1)
///     })
///     .collect();
/// for h in handles {
///     h.join().unwrap();
/// }
/// assert_eq!(*count.lock().unwrap(), 10);
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    poison: poison::Flag,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out `&mut T` to one holder at a time, on any
// thread: that needs `T: Send` (as std::sync::Mutex), not `T: Sync`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above; `&Mutex<T>` only gives exclusive access through the
// lock.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Proof of holding a [`Mutex`]: dereferences to the data, unlocks when
/// dropped. Like std's, it is not `Send`.
///
/// ```
/// let m = weft::sync::Mutex::new(vec![1]);
/// let mut guard: weft::sync::MutexGuard<'_, Vec<i32>> = m.lock().unwrap();
/// guard.push(2);
/// drop(guard);
/// assert_eq!(*m.lock().unwrap(), [1, 2]);
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized + 'a> {
    mutex: &'a Mutex<T>,
    poison: poison::Guard,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared `&MutexGuard` only yields `&T`, so sharing it across
// threads is sound when `T: Sync`, as for std's guard.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex; usable in a `static`.
    ///
    /// ```
    /// static COUNT: weft::sync::Mutex<u32> = weft::sync::Mutex::new(0);
    /// *COUNT.lock().unwrap() += 1;
    /// assert_eq!(*COUNT.lock().unwrap(), 1);
    /// ```
    pub const fn new(t: T) -> Mutex<T> {
        Mutex {
            raw: RawMutex::new(),
            poison: poison::Flag::new(),
            data: UnsafeCell::new(t),
        }
    }

    /// Consumes the mutex and returns the data (`Err` wraps it if
    /// poisoned).
    ///
    /// ```
    /// let m = weft::sync::Mutex::new(5);
    /// assert_eq!(m.into_inner().unwrap(), 5);
    /// ```
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        poison::result(poisoned, self.data.into_inner())
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, parking the coroutine (blocking the thread) while another
    /// holder has the lock. `Err` (still holding the lock) if a holder
    /// unwound while holding it.
    ///
    /// A parking point when it waits; counts against the fairness
    /// budget. A coroutine cancelled while waiting unwinds without the
    /// lock and leaves no one stranded. Locking a mutex the caller
    /// already holds deadlocks, as in std.
    ///
    /// ```
    /// let m = weft::sync::Mutex::new(1);
    /// *m.lock().unwrap() += 1;
    /// assert_eq!(*m.lock().unwrap(), 2);
    /// ```
    pub fn lock(&self) -> LockResult<MutexGuard<'_, T>> {
        coop::proceed();
        self.raw.lock();
        self.guard()
    }

    /// Locks if the lock is free now; never waits or yields.
    ///
    /// ```
    /// use std::sync::TryLockError;
    /// let m = weft::sync::Mutex::new(1);
    /// let held = m.lock().unwrap();
    /// assert!(matches!(m.try_lock(), Err(TryLockError::WouldBlock)));
    /// drop(held);
    /// assert!(m.try_lock().is_ok());
    /// ```
    pub fn try_lock(&self) -> TryLockResult<MutexGuard<'_, T>> {
        if self.raw.try_lock() {
            self.guard().map_err(TryLockError::Poisoned)
        } else {
            Err(TryLockError::WouldBlock)
        }
    }

    /// The guard of a lock just taken.
    pub(crate) fn guard(&self) -> LockResult<MutexGuard<'_, T>> {
        let guard = MutexGuard {
            mutex: self,
            poison: self.poison.guard(),
            _not_send: PhantomData,
        };
        poison::result(self.poison.get(), guard)
    }

    /// The lock word, for [`Condvar`](super::Condvar).
    pub(crate) fn raw(&self) -> &RawMutex {
        &self.raw
    }

    /// Whether a holder unwound while holding the lock.
    ///
    /// ```
    /// use weft::sync::{Arc, Mutex};
    /// let m = Arc::new(Mutex::new(0));
    /// let m2 = m.clone();
    /// let _ = weft::spawn(move || {
    ///     let _guard = m2.lock().unwrap();
    ///     panic!("poison it");
    /// })
    /// .join();
    /// assert!(m.is_poisoned());
    /// ```
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison flag.
    ///
    /// ```
    /// use weft::sync::{Arc, Mutex};
    /// let m = Arc::new(Mutex::new(0));
    /// let m2 = m.clone();
    /// let _ = weft::spawn(move || {
    ///     let _guard = m2.lock().unwrap();
    ///     panic!("poison it");
    /// })
    /// .join();
    /// m.clear_poison();
    /// assert!(m.lock().is_ok());
    /// ```
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// A mutable reference to the data, without locking (`&mut self`
    /// proves no one else holds it).
    ///
    /// ```
    /// let mut m = weft::sync::Mutex::new(1);
    /// *m.get_mut().unwrap() = 2;
    /// assert_eq!(*m.lock().unwrap(), 2);
    /// ```
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        poison::result(poisoned, self.data.get_mut())
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(t: T) -> Mutex<T> {
        Mutex::new(t)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(TryLockError::Poisoned(err)) => d.field("data", &&**err.get_ref()),
            Err(TryLockError::WouldBlock) => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.poison.get());
        d.finish_non_exhaustive()
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves we hold the lock, so no `&mut T`
        // exists elsewhere; the borrow ends with the guard's.
        unsafe { &*self.mutex.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves we hold the lock, and `&mut self`
        // that this is the only reference through it.
        unsafe { &mut *self.mutex.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.mutex.poison.done(&self.poison);
        self.mutex.raw.unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard holds (for [`Condvar`](super::Condvar)).
    pub(crate) fn mutex(&self) -> &'a Mutex<T> {
        self.mutex
    }
}
