//! [`OnceLock`]: a cell written once, std's API over weft's parking
//! [`Once`](super::Once). The value is written by the one caller that
//! runs the `Once`'s closure, before the `Once` publishes `COMPLETE`;
//! readers touch it only after seeing `COMPLETE`. A panicking initialiser
//! leaves the cell empty (the `Once` is poisoned, and the next
//! initialiser runs with `call_once_force`), as std's does.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::panic::{RefUnwindSafe, UnwindSafe};

use super::once::Once;

/// A cell written at most once, like [`std::sync::OnceLock`]; a caller
/// that finds another one initialising it waits by parking, so the
/// initialiser may park.
///
/// ```
/// use std::time::Duration;
/// use weft::sync::OnceLock;
///
/// static CONFIG: OnceLock<String> = OnceLock::new();
///
/// let hs: Vec<_> = (0..4)
///     .map(|_| {
///         weft::spawn(|| {
///             CONFIG
///                 .get_or_init(|| {
///                     weft::sleep(Duration::from_millis(5)); // parks
///                     "loaded".to_string()
///                 })
///                 .len()
///         })
///     })
///     .collect();
/// for h in hs {
///     assert_eq!(h.join().unwrap(), 6);
/// }
/// ```
pub struct OnceLock<T> {
    once: Once,
    value: UnsafeCell<MaybeUninit<T>>,
    /// Owns a `T` (for drop check), as std's does.
    _owns: PhantomData<T>,
}

// SAFETY: sharing a `&OnceLock<T>` shares `&T` (needs `T: Sync`) and lets
// any thread write the `T` it made (needs `T: Send`), std's bounds.
unsafe impl<T: Sync + Send> Sync for OnceLock<T> {}
// SAFETY: moving the cell moves its `T`.
unsafe impl<T: Send> Send for OnceLock<T> {}
impl<T: RefUnwindSafe + UnwindSafe> RefUnwindSafe for OnceLock<T> {}
impl<T: UnwindSafe> UnwindSafe for OnceLock<T> {}

impl<T> OnceLock<T> {
    /// An empty cell; usable in a `static`.
    ///
    /// ```
    /// static CELL: weft::sync::OnceLock<u8> = weft::sync::OnceLock::new();
    /// assert_eq!(CELL.get(), None);
    /// ```
    #[must_use]
    pub const fn new() -> OnceLock<T> {
        OnceLock {
            once: Once::new(),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            _owns: PhantomData,
        }
    }

    /// The value, if it is initialised; never waits.
    ///
    /// ```
    /// let cell = weft::sync::OnceLock::new();
    /// assert_eq!(cell.get(), None);
    /// cell.set(1).unwrap();
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn get(&self) -> Option<&T> {
        if self.once.is_completed() {
            // Soundness: `COMPLETE` (seen with `Acquire`) is published after
            // the value was written, and it is never written again while
            // shared.
            // SAFETY: by the soundness argument just above.
            Some(unsafe { (*self.value.get()).assume_init_ref() })
        } else {
            None
        }
    }

    /// The value, mutably, if it is initialised.
    ///
    /// ```
    /// let mut cell = weft::sync::OnceLock::from(1);
    /// *cell.get_mut().unwrap() += 1;
    /// assert_eq!(cell.get(), Some(&2));
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut T> {
        if self.once.is_completed() {
            // SAFETY: complete, so initialised; `&mut self` is exclusive.
            Some(unsafe { self.value.get_mut().assume_init_mut() })
        } else {
            None
        }
    }

    /// Waits until the cell is initialised and returns the value, like
    /// [`std::sync::OnceLock::wait`].
    ///
    /// ```
    /// use weft::sync::{Arc, OnceLock};
    /// let cell = Arc::new(OnceLock::new());
    /// let c = cell.clone();
    /// let h = weft::spawn(move || *c.wait());
    /// cell.set(5).unwrap();
    /// assert_eq!(h.join().unwrap(), 5);
    /// ```
    pub fn wait(&self) -> &T {
        self.once.wait_force();
        self.get().expect("a completed OnceLock holds a value")
    }

    /// Initialises the cell with `value`; `Err(value)` if it already held
    /// one (waiting first if another caller is initialising it).
    ///
    /// ```
    /// let cell = weft::sync::OnceLock::new();
    /// assert_eq!(cell.set(1), Ok(()));
    /// assert_eq!(cell.set(2), Err(2));
    /// ```
    pub fn set(&self, value: T) -> Result<(), T> {
        let mut value = Some(value);
        self.get_or_init(|| value.take().expect("taken once"));
        match value {
            None => Ok(()),
            Some(value) => Err(value),
        }
    }

    /// The value, initialising it with `f` first if the cell is empty.
    /// Concurrent callers wait (parking) for the one that runs `f`. If
    /// `f` panics the panic propagates and the cell stays empty; calling
    /// `get_or_init` from inside `f` deadlocks, as with std.
    ///
    /// ```
    /// let cell = weft::sync::OnceLock::new();
    /// assert_eq!(*cell.get_or_init(|| 92), 92);
    /// assert_eq!(*cell.get_or_init(|| unreachable!()), 92);
    /// ```
    pub fn get_or_init<F: FnOnce() -> T>(&self, f: F) -> &T {
        if let Some(value) = self.get() {
            return value;
        }
        let mut f = Some(f);
        self.once.call_once_force(|_| {
            let value = (f.take().expect("runs once"))();
            // SAFETY: we run the `Once`'s closure: nobody else writes,
            // and nobody reads before it publishes `COMPLETE`.
            unsafe { (*self.value.get()).write(value) };
        });
        self.get().expect("a completed OnceLock holds a value")
    }

    /// The value, leaving the cell empty.
    ///
    /// ```
    /// let mut cell = weft::sync::OnceLock::from("x".to_string());
    /// assert_eq!(cell.take().as_deref(), Some("x"));
    /// assert_eq!(cell.get(), None);
    /// ```
    pub fn take(&mut self) -> Option<T> {
        if self.once.is_completed() {
            self.once = Once::new();
            // SAFETY: it was complete, so initialised; the fresh `Once`
            // says "empty", so the value is not read or dropped again.
            Some(unsafe { self.value.get_mut().assume_init_read() })
        } else {
            None
        }
    }

    /// The value, consuming the cell.
    ///
    /// ```
    /// let cell = weft::sync::OnceLock::from(3);
    /// assert_eq!(cell.into_inner(), Some(3));
    /// ```
    pub fn into_inner(mut self) -> Option<T> {
        self.take()
    }
}

impl<T> Default for OnceLock<T> {
    /// An empty cell.
    ///
    /// ```
    /// let cell: weft::sync::OnceLock<u8> = Default::default();
    /// assert!(cell.get().is_none());
    /// ```
    fn default() -> OnceLock<T> {
        OnceLock::new()
    }
}

impl<T> From<T> for OnceLock<T> {
    /// A cell that holds `value`.
    ///
    /// ```
    /// let cell = weft::sync::OnceLock::from(7);
    /// assert_eq!(cell.get(), Some(&7));
    /// ```
    fn from(value: T) -> OnceLock<T> {
        OnceLock {
            once: Once::completed(),
            value: UnsafeCell::new(MaybeUninit::new(value)),
            _owns: PhantomData,
        }
    }
}

impl<T: Clone> Clone for OnceLock<T> {
    fn clone(&self) -> OnceLock<T> {
        match self.get() {
            Some(value) => OnceLock::from(value.clone()),
            None => OnceLock::new(),
        }
    }
}

impl<T: PartialEq> PartialEq for OnceLock<T> {
    fn eq(&self, other: &OnceLock<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceLock<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_tuple("OnceLock");
        match self.get() {
            Some(value) => d.field(value),
            None => d.field(&format_args!("<uninit>")),
        };
        d.finish()
    }
}

impl<T> Drop for OnceLock<T> {
    fn drop(&mut self) {
        if self.once.is_completed() {
            // SAFETY: complete, so initialised, and dropped only here.
            unsafe { self.value.get_mut().assume_init_drop() };
        }
    }
}
