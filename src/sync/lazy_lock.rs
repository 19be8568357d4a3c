//! [`LazyLock`]: a value computed on first use, std's API over weft's
//! parking [`Once`](super::Once). The one caller that runs the `Once`'s
//! closure moves the function out and the value in; everyone else reads
//! only after `COMPLETE`. A panicking function poisons it: later uses
//! panic, as std's do.

use std::cell::UnsafeCell;
use std::fmt;
use std::mem;
use std::ops::{Deref, DerefMut};
use std::panic::{RefUnwindSafe, UnwindSafe};

use super::once::Once;

/// A value initialised on first access, like [`std::sync::LazyLock`];
/// a caller that finds another one initialising it waits by parking, so
/// the function may park.
///
/// ```
/// use std::collections::HashMap;
/// use weft::sync::LazyLock;
///
/// static PRIMES: LazyLock<HashMap<u32, bool>> = LazyLock::new(|| {
///     weft::yield_now(); // may park
///     [(2, true), (4, false)].into_iter().collect()
/// });
///
/// let h = weft::spawn(|| PRIMES[&2]);
/// assert!(h.join().unwrap());
/// assert!(!PRIMES[&4]);
/// ```
pub struct LazyLock<T, F = fn() -> T> {
    once: Once,
    data: UnsafeCell<Data<T, F>>,
}

enum Data<T, F> {
    Init(F),
    Value(T),
    /// The function panicked (or is running).
    Taken,
}

// SAFETY: shared, it hands out `&T` (`T: Sync`), and the thread that runs
// the function makes the `T` and consumes the `F` it got from elsewhere
// (`T: Send`, `F: Send`): std's bounds.
unsafe impl<T: Sync + Send, F: Send> Sync for LazyLock<T, F> {}
impl<T: RefUnwindSafe + UnwindSafe, F: UnwindSafe> RefUnwindSafe for LazyLock<T, F> {}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// A lazy value computed by `f` on first access; usable in a
    /// `static`.
    ///
    /// ```
    /// static N: weft::sync::LazyLock<u64> = weft::sync::LazyLock::new(|| 6 * 7);
    /// assert_eq!(*N, 42);
    /// ```
    pub const fn new(f: F) -> LazyLock<T, F> {
        LazyLock {
            once: Once::new(),
            data: UnsafeCell::new(Data::Init(f)),
        }
    }

    /// Forces the evaluation and returns the value, like
    /// [`std::sync::LazyLock::force`] (same as `Deref`).
    ///
    /// # Panics
    /// If the function panics, or panicked on an earlier access.
    ///
    /// ```
    /// use weft::sync::LazyLock;
    /// let lazy = LazyLock::new(|| 92);
    /// assert_eq!(*LazyLock::force(&lazy), 92);
    /// ```
    #[track_caller]
    pub fn force(this: &LazyLock<T, F>) -> &T {
        if !this.once.is_completed() {
            let ran = this.once.call(false, &mut |_| {
                // Soundness: we run the `Once`'s closure, so nobody else
                // touches `data` until `COMPLETE` is published.
                // SAFETY: by the soundness argument just above.
                let data = unsafe { &mut *this.data.get() };
                let Data::Init(f) = mem::replace(data, Data::Taken) else {
                    unreachable!("only an unpoisoned, incomplete LazyLock runs");
                };
                *data = Data::Value(f());
            });
            if ran.is_err() {
                panic!("LazyLock instance has previously been poisoned");
            }
        }
        // SAFETY: complete: the value was written before `COMPLETE` was
        // published and is not written again while shared.
        match unsafe { &*this.data.get() } {
            Data::Value(value) => value,
            _ => unreachable!("a completed LazyLock holds its value"),
        }
    }
}

impl<T, F: FnOnce() -> T> LazyLock<T, F> {
    /// Forces the evaluation and returns the value mutably, like
    /// [`std::sync::LazyLock::force_mut`] (same as `DerefMut`).
    ///
    /// # Panics
    /// If the function panics, or panicked on an earlier access.
    ///
    /// ```
    /// use weft::sync::LazyLock;
    /// let mut lazy = LazyLock::new(|| 1);
    /// *LazyLock::force_mut(&mut lazy) += 1;
    /// assert_eq!(*lazy, 2);
    /// ```
    #[track_caller]
    pub fn force_mut(this: &mut LazyLock<T, F>) -> &mut T {
        LazyLock::force(this);
        match this.data.get_mut() {
            Data::Value(value) => value,
            _ => unreachable!("a forced LazyLock holds its value"),
        }
    }
}

impl<T, F> LazyLock<T, F> {
    /// The value if it has been computed, without computing it, like
    /// [`std::sync::LazyLock::get`].
    ///
    /// ```
    /// use weft::sync::LazyLock;
    /// let lazy = LazyLock::new(|| 5);
    /// assert_eq!(LazyLock::get(&lazy), None);
    /// let _ = *lazy;
    /// assert_eq!(LazyLock::get(&lazy), Some(&5));
    /// ```
    pub fn get(this: &LazyLock<T, F>) -> Option<&T> {
        if !this.once.is_completed() {
            return None;
        }
        // SAFETY: complete: the value was written before `COMPLETE` was
        // published and is not written again while shared.
        match unsafe { &*this.data.get() } {
            Data::Value(value) => Some(value),
            _ => None,
        }
    }

    /// The value mutably if it has been computed, like
    /// [`std::sync::LazyLock::get_mut`].
    ///
    /// ```
    /// use weft::sync::LazyLock;
    /// let mut lazy = LazyLock::new(|| 5);
    /// assert_eq!(LazyLock::get_mut(&mut lazy), None);
    /// let _ = *lazy;
    /// *LazyLock::get_mut(&mut lazy).unwrap() = 6;
    /// assert_eq!(*lazy, 6);
    /// ```
    pub fn get_mut(this: &mut LazyLock<T, F>) -> Option<&mut T> {
        match this.data.get_mut() {
            Data::Value(value) => Some(value),
            _ => None,
        }
    }
}

impl<T, F: FnOnce() -> T> DerefMut for LazyLock<T, F> {
    /// Forces the evaluation ([`LazyLock::force_mut`]).
    fn deref_mut(&mut self) -> &mut T {
        LazyLock::force_mut(self)
    }
}

impl<T, F: FnOnce() -> T> Deref for LazyLock<T, F> {
    type Target = T;

    /// Forces the evaluation ([`LazyLock::force`]).
    fn deref(&self) -> &T {
        LazyLock::force(self)
    }
}

impl<T: Default> Default for LazyLock<T> {
    /// A lazy `T::default()`.
    ///
    /// ```
    /// let lazy: weft::sync::LazyLock<Vec<u8>> = Default::default();
    /// assert!(lazy.is_empty());
    /// ```
    fn default() -> LazyLock<T> {
        LazyLock::new(T::default)
    }
}

impl<T: fmt::Debug, F> fmt::Debug for LazyLock<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("LazyLock");
        if self.once.is_completed() {
            // SAFETY: complete: the value is written and stays.
            match unsafe { &*self.data.get() } {
                Data::Value(value) => d.field(value),
                _ => unreachable!("a completed LazyLock holds its value"),
            };
        } else {
            d.field(&format_args!("<uninit>"));
        }
        d.finish()
    }
}
