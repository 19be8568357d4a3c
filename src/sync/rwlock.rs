//! [`RwLock`]: std's reader-writer lock, with waiting that parks a
//! coroutine (and blocks a thread), over the [`RawRwLock`] lock word.
//! Poisoning as in std: a writer that unwinds poisons, a reader does not.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::{LockResult, TryLockError, TryLockResult};

use super::poison;
use super::raw_rwlock::RawRwLock;
use crate::rt::coop;

/// A reader-writer lock protecting a `T`, like [`std::sync::RwLock`]:
/// any number of readers, or one writer.
///
/// Waiting parks the calling coroutine (blocks a thread). Readers that
/// arrive while a writer waits queue behind it, and a writer's unlock
/// lets in every reader queued meanwhile, so neither side starves.
///
/// ```
/// use weft::sync::{Arc, RwLock};
///
/// let lock = Arc::new(RwLock::new(5));
/// let reader = {
///     let lock = lock.clone();
///     weft::spawn(move || *lock.read().unwrap())
/// };
/// assert!(reader.join().unwrap() >= 5);
/// *lock.write().unwrap() += 1;
/// assert_eq!(*lock.read().unwrap(), 6);
/// ```
pub struct RwLock<T: ?Sized> {
    raw: RawRwLock,
    poison: poison::Flag,
    data: UnsafeCell<T>,
}

// SAFETY: a writer gets `&mut T` on any thread (needs `T: Send`), readers
// on several threads get `&T` at once (needs `T: Sync`), as for std.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

/// A read share of a [`RwLock`]; releases it when dropped.
///
/// ```
/// let lock = weft::sync::RwLock::new(1);
/// let a: weft::sync::RwLockReadGuard<'_, i32> = lock.read().unwrap();
/// let b = lock.read().unwrap();
/// assert_eq!(*a + *b, 2);
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T: ?Sized + 'a> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared read guard yields only `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

/// The write lock of a [`RwLock`]; releases it when dropped.
///
/// ```
/// let lock = weft::sync::RwLock::new(1);
/// let mut w: weft::sync::RwLockWriteGuard<'_, i32> = lock.write().unwrap();
/// *w = 2;
/// drop(w);
/// assert_eq!(*lock.read().unwrap(), 2);
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T: ?Sized + 'a> {
    lock: &'a RwLock<T>,
    poison: poison::Guard,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared write guard yields only `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<T> RwLock<T> {
    /// A new unlocked lock; usable in a `static`.
    ///
    /// ```
    /// static CONFIG: weft::sync::RwLock<u8> = weft::sync::RwLock::new(3);
    /// assert_eq!(*CONFIG.read().unwrap(), 3);
    /// ```
    pub const fn new(t: T) -> RwLock<T> {
        RwLock {
            raw: RawRwLock::new(),
            poison: poison::Flag::new(),
            data: UnsafeCell::new(t),
        }
    }

    /// Consumes the lock and returns the data (`Err` wraps it if
    /// poisoned).
    ///
    /// ```
    /// assert_eq!(weft::sync::RwLock::new(4).into_inner().unwrap(), 4);
    /// ```
    pub fn into_inner(self) -> LockResult<T> {
        let poisoned = self.poison.get();
        poison::result(poisoned, self.data.into_inner())
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Takes a read share, parking while a writer holds or waits for the
    /// lock. A parking point when it waits; counts against the fairness
    /// budget. Taking a second read share in the same coroutine may
    /// deadlock if a writer queued in between, as in std.
    ///
    /// ```
    /// let lock = weft::sync::RwLock::new(vec![1, 2]);
    /// assert_eq!(lock.read().unwrap().len(), 2);
    /// ```
    pub fn read(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        coop::proceed();
        self.raw.read();
        self.read_guard()
    }

    /// Takes a read share if that needs no wait; never yields.
    ///
    /// ```
    /// use std::sync::TryLockError;
    /// let lock = weft::sync::RwLock::new(0);
    /// let w = lock.write().unwrap();
    /// assert!(matches!(lock.try_read(), Err(TryLockError::WouldBlock)));
    /// drop(w);
    /// assert!(lock.try_read().is_ok());
    /// ```
    pub fn try_read(&self) -> TryLockResult<RwLockReadGuard<'_, T>> {
        if self.raw.try_read() {
            self.read_guard().map_err(TryLockError::Poisoned)
        } else {
            Err(TryLockError::WouldBlock)
        }
    }

    /// Takes the write lock, parking while anyone holds it. A parking
    /// point when it waits; counts against the fairness budget.
    ///
    /// ```
    /// let lock = weft::sync::RwLock::new(1);
    /// *lock.write().unwrap() *= 10;
    /// assert_eq!(*lock.read().unwrap(), 10);
    /// ```
    pub fn write(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        coop::proceed();
        self.raw.write();
        self.write_guard()
    }

    /// Takes the write lock if it is free; never yields.
    ///
    /// ```
    /// use std::sync::TryLockError;
    /// let lock = weft::sync::RwLock::new(0);
    /// let r = lock.read().unwrap();
    /// assert!(matches!(lock.try_write(), Err(TryLockError::WouldBlock)));
    /// drop(r);
    /// assert!(lock.try_write().is_ok());
    /// ```
    pub fn try_write(&self) -> TryLockResult<RwLockWriteGuard<'_, T>> {
        if self.raw.try_write() {
            self.write_guard().map_err(TryLockError::Poisoned)
        } else {
            Err(TryLockError::WouldBlock)
        }
    }

    fn read_guard(&self) -> LockResult<RwLockReadGuard<'_, T>> {
        let guard = RwLockReadGuard {
            lock: self,
            _not_send: PhantomData,
        };
        poison::result(self.poison.get(), guard)
    }

    fn write_guard(&self) -> LockResult<RwLockWriteGuard<'_, T>> {
        let guard = RwLockWriteGuard {
            lock: self,
            poison: self.poison.guard(),
            _not_send: PhantomData,
        };
        poison::result(self.poison.get(), guard)
    }

    /// Whether a writer unwound while holding the lock.
    ///
    /// ```
    /// let lock = weft::sync::RwLock::new(0);
    /// assert!(!lock.is_poisoned());
    /// ```
    pub fn is_poisoned(&self) -> bool {
        self.poison.get()
    }

    /// Clears the poison flag.
    ///
    /// ```
    /// let lock = weft::sync::RwLock::new(0);
    /// lock.clear_poison();
    /// assert!(!lock.is_poisoned());
    /// ```
    pub fn clear_poison(&self) {
        self.poison.clear();
    }

    /// A mutable reference to the data, without locking.
    ///
    /// ```
    /// let mut lock = weft::sync::RwLock::new(0);
    /// *lock.get_mut().unwrap() = 9;
    /// assert_eq!(*lock.read().unwrap(), 9);
    /// ```
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        let poisoned = self.poison.get();
        poison::result(poisoned, self.data.get_mut())
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> RwLock<T> {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(t: T) -> RwLock<T> {
        RwLock::new(t)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(TryLockError::Poisoned(err)) => d.field("data", &&**err.get_ref()),
            Err(TryLockError::WouldBlock) => d.field("data", &format_args!("<locked>")),
        };
        d.field("poisoned", &self.poison.get());
        d.finish_non_exhaustive()
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read share excludes writers, so no `&mut T` exists
        // while this guard lives.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.raw.read_unlock();
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write lock excludes everyone else.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write lock excludes everyone else, and `&mut self`
        // that this is the only reference through the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns the write lock into a read share without letting any writer
    /// in between, like [`std::sync::RwLockWriteGuard::downgrade`];
    /// readers queued meanwhile get in with it.
    ///
    /// ```
    /// use weft::sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(1);
    /// let mut w = lock.write().unwrap();
    /// *w = 2;
    /// let r = RwLockWriteGuard::downgrade(w);
    /// assert_eq!(*r, 2);
    /// assert_eq!(*lock.read().unwrap(), 2); // other readers may join
    /// assert!(lock.try_write().is_err());
    /// ```
    pub fn downgrade(s: Self) -> RwLockReadGuard<'a, T> {
        let s = std::mem::ManuallyDrop::new(s);
        let lock = s.lock;
        lock.poison.done(&s.poison);
        lock.raw.downgrade();
        RwLockReadGuard {
            lock,
            _not_send: PhantomData,
        }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.poison.done(&self.poison);
        self.lock.raw.write_unlock();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
