//! Coroutine-local storage: `coroutine_local!`, the per-coroutine twin of
//! `thread_local!`.
//!
//! Each coroutine owns a [`LocalMap`] (in its worker-side task, so values
//! may be `!Send`: they never leave the worker thread). A key gets a small
//! index the first time it is used; a coroutine's map holds one boxed
//! value per index, made lazily on first access and dropped when the
//! coroutine ends — by returning, panicking or being cancelled — on the
//! coroutine's own stack, before its `join` returns. Outside coroutines the
//! same keys use a map per thread, so the same code works on plain threads.
//!
//! Values are boxed so their address is fixed: `with` releases the map's
//! borrow before calling the user's closure, which may itself use other
//! keys (or initialise them) without a `BorrowMutError`.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The coroutine-local values of one coroutine (or one plain thread).
#[derive(Default)]
pub(crate) struct LocalMap {
    values: RefCell<Vec<Option<Box<dyn Any>>>>,
}

impl LocalMap {
    /// The value at `index`, made with `init` if absent. Returns a pointer
    /// to the boxed value, stable until [`LocalMap::clear`].
    fn get_or_init<T: 'static>(&self, index: usize, init: impl FnOnce() -> T) -> *const T {
        if let Some(Some(value)) = self.values.borrow().get(index) {
            return value.downcast_ref::<T>().expect("one type per key") as *const T;
        }
        // Initialise without holding the borrow: `init` may use other keys.
        let value: Box<dyn Any> = Box::new(init());
        let mut values = self.values.borrow_mut();
        if values.len() <= index {
            values.resize_with(index + 1, || None);
        }
        let slot = &mut values[index];
        if slot.is_none() {
            *slot = Some(value);
        }
        // else: `init` initialised this very key recursively; keep the
        // first value, as std's lazy thread locals do, and drop ours.
        slot.as_ref()
            .and_then(|v| v.downcast_ref::<T>())
            .expect("one type per key") as *const T
    }

    /// Drops every value. Destructors may use keys again (making new
    /// values); those are dropped too, a bounded number of rounds.
    /// Whether no value was ever made (the common case: then there is
    /// nothing to drop).
    pub(crate) fn is_empty(&self) -> bool {
        self.values.borrow().is_empty()
    }

    pub(crate) fn clear(&self) {
        for _ in 0..8 {
            let values = std::mem::take(&mut *self.values.borrow_mut());
            if values.iter().all(Option::is_none) {
                return;
            }
            drop(values);
        }
    }
}

impl Drop for LocalMap {
    fn drop(&mut self) {
        if !self.is_empty() {
            self.clear();
        }
    }
}

thread_local! {
    /// The coroutine-local values of code running outside coroutines.
    static THREAD_MAP: LocalMap = LocalMap::default();
}

static NEXT_INDEX: AtomicUsize = AtomicUsize::new(1);

/// A key for coroutine-local storage, made by [`coroutine_local!`](crate::coroutine_local); the
/// twin of [`std::thread::LocalKey`].
///
/// Each coroutine sees its own value, created by the initialiser on first
/// access and dropped when the coroutine ends (also when it panics or is
/// cancelled). Outside coroutines, each thread has its own value, as with
/// `thread_local!`.
///
/// ```
/// use std::cell::Cell;
/// weft::coroutine_local! {
///     static REQUESTS: Cell<u32> = Cell::new(0);
/// }
/// let h = weft::spawn(|| {
///     REQUESTS.set(REQUESTS.get() + 1);
///     REQUESTS.get()
/// });
/// assert_eq!(h.join().unwrap(), 1);
/// assert_eq!(REQUESTS.get(), 0); // this thread has its own value
/// ```
pub struct CoroutineLocalKey<T: 'static> {
    init: fn() -> T,
    /// Index into a `LocalMap`, plus one; 0 until first use.
    index: AtomicUsize,
}

impl<T: 'static> CoroutineLocalKey<T> {
    #[doc(hidden)]
    pub const fn new(init: fn() -> T) -> CoroutineLocalKey<T> {
        CoroutineLocalKey {
            init,
            index: AtomicUsize::new(0),
        }
    }

    fn index(&self) -> usize {
        let index = self.index.load(Ordering::Acquire);
        if index != 0 {
            return index - 1;
        }
        let fresh = NEXT_INDEX.fetch_add(1, Ordering::Relaxed);
        match self
            .index
            .compare_exchange(0, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => fresh - 1,
            Err(won) => won - 1,
        }
    }

    /// Runs `f` with a reference to this coroutine's value (this thread's,
    /// outside coroutines), initialising it first if needed.
    ///
    /// ```
    /// weft::coroutine_local! { static NAME: String = String::from("anon"); }
    /// let len = NAME.with(|n| n.len());
    /// assert_eq!(len, 4);
    /// ```
    pub fn with<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        self.try_with(f).expect(
            "cannot access a coroutine-local value during or after this thread's destruction",
        )
    }

    /// Like [`with`](Self::with), but returns `Err` instead of panicking
    /// when the value cannot be reached, like
    /// [`std::thread::LocalKey::try_with`]: on a plain thread whose
    /// thread-locals are being (or have been) destroyed. In a coroutine it
    /// always succeeds: a destructor that runs at the coroutine's end and
    /// uses a key gets a fresh value, which is dropped in turn.
    ///
    /// ```
    /// weft::coroutine_local! { static N: u32 = 7; }
    /// assert_eq!(N.try_with(|n| *n), Ok(7));
    /// let h = weft::spawn(|| N.try_with(|n| *n + 1));
    /// assert_eq!(h.join().unwrap(), Ok(8));
    /// ```
    pub fn try_with<F, R>(&'static self, f: F) -> Result<R, std::thread::AccessError>
    where
        F: FnOnce(&T) -> R,
    {
        let index = self.index();
        let ptr = match crate::rt::worker::with_current_locals(|map| {
            map.map(|map| map.get_or_init(index, self.init))
        }) {
            Some(ptr) => ptr,
            None => THREAD_MAP.try_with(|map| map.get_or_init(index, self.init))?,
        };
        // Soundness: `ptr` points into a Box owned by the current coroutine's
        // (or thread's) map, which frees values only in `clear`, run when
        // the coroutine ends or the thread exits — not while this frame,
        // which runs on that coroutine or thread, is live. The map is only
        // reached from its own coroutine/thread, so no `&mut` aliases it.
        // SAFETY: by the soundness argument just above.
        Ok(f(unsafe { &*ptr }))
    }
}

impl<T: 'static> fmt::Debug for CoroutineLocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoroutineLocalKey").finish_non_exhaustive()
    }
}

impl<T: 'static> CoroutineLocalKey<Cell<T>> {
    /// Sets the value, like [`std::thread::LocalKey::set`].
    ///
    /// ```
    /// use std::cell::Cell;
    /// weft::coroutine_local! { static N: Cell<i32> = Cell::new(1); }
    /// N.set(5);
    /// assert_eq!(N.get(), 5);
    /// ```
    pub fn set(&'static self, value: T) {
        self.with(|cell| cell.set(value))
    }

    /// Returns a copy of the value.
    ///
    /// ```
    /// use std::cell::Cell;
    /// weft::coroutine_local! { static N: Cell<i32> = Cell::new(3); }
    /// assert_eq!(N.get(), 3);
    /// ```
    pub fn get(&'static self) -> T
    where
        T: Copy,
    {
        self.with(Cell::get)
    }

    /// Takes the value, leaving `Default::default()`.
    ///
    /// ```
    /// use std::cell::Cell;
    /// weft::coroutine_local! { static N: Cell<i32> = Cell::new(3); }
    /// assert_eq!(N.take(), 3);
    /// assert_eq!(N.get(), 0);
    /// ```
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(Cell::take)
    }

    /// Replaces the value, returning the old one.
    ///
    /// ```
    /// use std::cell::Cell;
    /// weft::coroutine_local! { static N: Cell<i32> = Cell::new(3); }
    /// assert_eq!(N.replace(4), 3);
    /// assert_eq!(N.get(), 4);
    /// ```
    pub fn replace(&'static self, value: T) -> T {
        self.with(|cell| cell.replace(value))
    }
}

impl<T: 'static> CoroutineLocalKey<RefCell<T>> {
    /// Runs `f` with a shared borrow of the value.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// weft::coroutine_local! { static V: RefCell<Vec<u8>> = RefCell::new(vec![1, 2]); }
    /// assert_eq!(V.with_borrow(|v| v.len()), 2);
    /// ```
    pub fn with_borrow<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&T) -> R,
    {
        self.with(|cell| f(&cell.borrow()))
    }

    /// Runs `f` with a mutable borrow of the value.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// weft::coroutine_local! { static V: RefCell<Vec<u8>> = RefCell::new(Vec::new()); }
    /// V.with_borrow_mut(|v| v.push(7));
    /// assert_eq!(V.with_borrow(|v| v[0]), 7);
    /// ```
    pub fn with_borrow_mut<F, R>(&'static self, f: F) -> R
    where
        F: FnOnce(&mut T) -> R,
    {
        self.with(|cell| f(&mut cell.borrow_mut()))
    }

    /// Sets the value.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// weft::coroutine_local! { static S: RefCell<String> = RefCell::new(String::new()); }
    /// S.set("hi".to_string());
    /// assert_eq!(S.take(), "hi");
    /// ```
    pub fn set(&'static self, value: T) {
        self.with(|cell| *cell.borrow_mut() = value)
    }

    /// Takes the value, leaving `Default::default()`.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// weft::coroutine_local! { static S: RefCell<Vec<i32>> = RefCell::new(vec![1]); }
    /// assert_eq!(S.take(), vec![1]);
    /// assert!(S.with_borrow(|s| s.is_empty()));
    /// ```
    pub fn take(&'static self) -> T
    where
        T: Default,
    {
        self.with(|cell| cell.take())
    }

    /// Replaces the value, returning the old one.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// weft::coroutine_local! { static S: RefCell<i32> = RefCell::new(1); }
    /// assert_eq!(S.replace(2), 1);
    /// ```
    pub fn replace(&'static self, value: T) -> T {
        self.with(|cell| cell.replace(value))
    }
}

/// Declares coroutine-local statics, with `thread_local!`'s syntax: each
/// coroutine gets its own value, made on first access and dropped when the
/// coroutine ends; outside coroutines each thread gets one.
///
/// ```
/// use std::cell::{Cell, RefCell};
/// weft::coroutine_local! {
///     /// Per-request scratch space.
///     static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::new());
///     static DEPTH: Cell<u32> = const { Cell::new(0) };
/// }
/// let hs: Vec<_> = (0..4)
///     .map(|i| weft::spawn(move || {
///         DEPTH.set(i);
///         weft::yield_now(); // others run in between, with their own DEPTH
///         DEPTH.get()
///     }))
///     .collect();
/// let got: Vec<u32> = hs.into_iter().map(|h| h.join().unwrap()).collect();
/// assert_eq!(got, vec![0, 1, 2, 3]);
/// # SCRATCH.with_borrow_mut(|s| s.push(1));
/// ```
#[macro_export]
macro_rules! coroutine_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }; $($rest:tt)*) => {
        $(#[$attr])* $vis static $name: $crate::CoroutineLocalKey<$t> =
            $crate::CoroutineLocalKey::new(|| $init);
        $crate::coroutine_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }) => {
        $(#[$attr])* $vis static $name: $crate::CoroutineLocalKey<$t> =
            $crate::CoroutineLocalKey::new(|| $init);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
        $(#[$attr])* $vis static $name: $crate::CoroutineLocalKey<$t> =
            $crate::CoroutineLocalKey::new(|| $init);
        $crate::coroutine_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
        $(#[$attr])* $vis static $name: $crate::CoroutineLocalKey<$t> =
            $crate::CoroutineLocalKey::new(|| $init);
    };
}
