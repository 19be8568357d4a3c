//! `weft::thread`: the twin of [`std::thread`], with coroutines
//! underneath. `use std::thread;` becomes `use weft::thread;` and the code
//! means the same: `thread::spawn` starts a coroutine, `thread::current()`
//! is the running coroutine (or, outside one, the OS thread),
//! `thread::park` parks the coroutine, and `thread::scope` runs scoped
//! coroutines that borrow from the caller's stack.
//!
//! The crate-root items (`weft::spawn`, `weft::Builder`,
//! `weft::JoinHandle`, `weft::current`) stay as they are, with weft's own
//! names (`Coroutine`, `coroutine()`, `cancel`); this module wraps them
//! in std's shapes. [`JoinHandle`] converts into the crate-root one for
//! weft's extras such as `cancel`.
//!
//! | file | job |
//! |---|---|
//! | `mod.rs` | `spawn`, `Builder`, `JoinHandle`, `sleep`, `yield_now` |
//! | `current.rs` | `Thread`, `ThreadId`, `current`, `park`, `park_timeout` |
//! | `scope.rs` | `scope`, `Scope`, `ScopedJoinHandle` (see `arch/thread.md`) |
//!
//! ```
//! use weft::thread;
//! use std::time::Duration;
//!
//! let h = thread::spawn(|| {
//!     thread::sleep(Duration::from_millis(1)); // parks the coroutine
//!     thread::current().id()
//! });
//! let id = h.thread().id();
//! assert_eq!(h.join().unwrap(), id);
//! ```

mod current;
mod scope;

use std::fmt;
use std::io;
use std::time::{Duration, Instant};

pub use current::{Thread, ThreadId, current, park, park_timeout};
pub use scope::{Scope, ScopedJoinHandle, scope};
pub use std::thread::{AccessError, LocalKey, available_parallelism};

/// A coroutine's result as [`JoinHandle::join`] returns it: `Err` holds
/// the panic payload, like [`std::thread::Result`].
///
/// ```
/// let r: weft::thread::Result<u8> = weft::thread::spawn(|| 1).join();
/// assert_eq!(r.unwrap(), 1);
/// ```
pub type Result<T> = std::thread::Result<T>;

/// Spawns a coroutine and returns its [`JoinHandle`], like
/// [`std::thread::spawn`]. See [`crate::spawn`] for where it runs.
///
/// # Panics
/// If the coroutine's stack cannot be mapped; [`Builder::spawn`] returns
/// the error instead.
///
/// ```
/// let h = weft::thread::spawn(|| "hi");
/// assert_eq!(h.join().unwrap(), "hi");
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    JoinHandle::from(crate::spawn(f))
}

/// Coroutine factory, like [`std::thread::Builder`]: a name and a stack
/// size, then [`spawn`](Builder::spawn) or
/// [`spawn_scoped`](Builder::spawn_scoped).
///
/// ```
/// let h = weft::thread::Builder::new()
///     .name("reader".into())
///     .stack_size(64 * 1024)
///     .spawn(|| weft::thread::current().name().unwrap().to_owned())?;
/// assert_eq!(h.join().unwrap(), "reader");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Default)]
#[must_use = "a Builder does nothing until spawn is called"]
pub struct Builder {
    inner: crate::Builder,
}

impl Builder {
    /// A builder with no name and the runtime's default stack size.
    ///
    /// ```
    /// let h = weft::thread::Builder::new().spawn(|| 3)?;
    /// assert_eq!(h.join().unwrap(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the coroutine; [`Thread::name`] returns it.
    ///
    /// ```
    /// let h = weft::thread::Builder::new().name("n".into()).spawn(|| ())?;
    /// assert_eq!(h.thread().name(), Some("n"));
    /// # h.join().unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn name(self, name: String) -> Builder {
        Builder {
            inner: self.inner.name(name),
        }
    }

    /// Sets the coroutine's stack size in bytes (see
    /// [`crate::Builder::stack_size`]).
    ///
    /// ```
    /// let h = weft::thread::Builder::new().stack_size(1 << 20).spawn(|| ())?;
    /// h.join().unwrap();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stack_size(self, size: usize) -> Builder {
        Builder {
            inner: self.inner.stack_size(size),
        }
    }

    /// Spawns the coroutine; fails if its stack cannot be mapped, like
    /// [`std::thread::Builder::spawn`].
    ///
    /// ```
    /// let h = weft::thread::Builder::new().spawn(|| 2 + 2)?;
    /// assert_eq!(h.join().unwrap(), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.inner.spawn(f).map(JoinHandle::from)
    }

    /// Spawns a coroutine that may borrow from outside the `'static`
    /// world, like [`std::thread::Builder::spawn_unchecked`].
    ///
    /// # Safety
    /// The caller must make sure the coroutine has finished (its handle
    /// joined, or its end otherwise observed) before anything `f`
    /// borrows, or the result `T`, goes out of scope. Prefer
    /// [`scope`], which guarantees that.
    ///
    /// ```
    /// let words = vec!["a", "b"];
    /// let words_ref = &words;
    /// // SAFETY: joined below, before `words` goes out of scope.
    /// let h = unsafe { weft::thread::Builder::new().spawn_unchecked(|| words_ref.len()) }?;
    /// assert_eq!(h.join().unwrap(), 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub unsafe fn spawn_unchecked<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        let at = std::panic::Location::caller();
        let shared = crate::rt::worker::current_shared()
            .unwrap_or_else(|| crate::rt::runtime::default_shared().clone());
        // SAFETY: our caller's promise is `prepare_unchecked`'s.
        let (task, handle) = unsafe { self.inner.prepare_unchecked(&shared, f, at) }?;
        crate::rt::spawn::submit(&shared, task);
        Ok(JoinHandle::from(handle))
    }

    /// Spawns a scoped coroutine in `scope`, like
    /// [`std::thread::Builder::spawn_scoped`]: it may borrow anything that
    /// outlives the scope, and the scope waits for it.
    ///
    /// ```
    /// let mut n = 0;
    /// weft::thread::scope(|s| {
    ///     weft::thread::Builder::new()
    ///         .name("adder".into())
    ///         .spawn_scoped(s, || n += 1)
    ///         .unwrap();
    /// });
    /// assert_eq!(n, 1);
    /// ```
    #[track_caller]
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &'scope Scope<'scope, 'env>,
        f: F,
    ) -> io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        scope.spawn_with(self.inner, f)
    }
}

/// An owned permission to join a coroutine, like
/// [`std::thread::JoinHandle`]. Dropping it detaches the coroutine.
/// Converts into [`crate::JoinHandle`] (for `cancel`, `id`).
///
/// ```
/// let h: weft::thread::JoinHandle<i32> = weft::thread::spawn(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    inner: crate::JoinHandle<T>,
    thread: Thread,
}

impl<T> JoinHandle<T> {
    /// Waits for the coroutine to finish; `Err(payload)` if it panicked
    /// (or was cancelled), like [`std::thread::JoinHandle::join`].
    ///
    /// ```
    /// let h = weft::thread::spawn(|| panic!("oops"));
    /// assert_eq!(h.join().unwrap_err().downcast_ref::<&str>(), Some(&"oops"));
    /// ```
    pub fn join(self) -> Result<T> {
        self.inner.join()
    }

    /// Whether the coroutine has finished. Does not block.
    ///
    /// ```
    /// let h = weft::thread::spawn(|| ());
    /// while !h.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// h.join().unwrap();
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The coroutine's handle, like [`std::thread::JoinHandle::thread`].
    ///
    /// ```
    /// let h = weft::thread::spawn(|| weft::thread::park());
    /// h.thread().unpark();
    /// h.join().unwrap();
    /// ```
    pub fn thread(&self) -> &Thread {
        &self.thread
    }
}

impl<T> From<crate::JoinHandle<T>> for JoinHandle<T> {
    /// Wraps weft's crate-root handle in std's shape.
    ///
    /// ```
    /// let h = weft::thread::JoinHandle::from(weft::spawn(|| 1));
    /// assert_eq!(h.join().unwrap(), 1);
    /// ```
    fn from(inner: crate::JoinHandle<T>) -> JoinHandle<T> {
        let thread = Thread::from_coroutine(inner.coroutine().clone());
        JoinHandle { inner, thread }
    }
}

impl<T> From<JoinHandle<T>> for crate::JoinHandle<T> {
    /// The crate-root handle, for weft's extras such as
    /// [`cancel`](crate::JoinHandle::cancel).
    ///
    /// ```
    /// use std::time::Duration;
    /// let h = weft::thread::spawn(|| weft::thread::sleep(Duration::from_secs(3600)));
    /// let h = weft::JoinHandle::from(h);
    /// h.cancel();
    /// assert!(h.join().unwrap_err().is::<weft::Cancelled>());
    /// ```
    fn from(handle: JoinHandle<T>) -> crate::JoinHandle<T> {
        handle.inner
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}

/// Sleeps for at least `dur`, like [`std::thread::sleep`]: parks the
/// coroutine, or blocks the thread outside one (see [`crate::sleep`]).
///
/// ```
/// use std::time::{Duration, Instant};
/// let start = Instant::now();
/// weft::thread::sleep(Duration::from_millis(5));
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// ```
pub fn sleep(dur: Duration) {
    crate::sleep(dur);
}

/// Sleeps until `deadline`, like `std::thread::sleep_until` (still
/// unstable in std 1.95; weft has it already).
///
/// ```
/// use std::time::{Duration, Instant};
/// let deadline = Instant::now() + Duration::from_millis(5);
/// weft::thread::spawn(move || weft::thread::sleep_until(deadline)).join().unwrap();
/// assert!(Instant::now() >= deadline);
/// ```
pub fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        crate::sleep(deadline - now);
    } else if crate::in_coroutine() {
        // Still a parking point, as `sleep(Duration::ZERO)` is.
        crate::sleep(Duration::ZERO);
    }
}

/// Lets other coroutines of this worker run, like
/// [`std::thread::yield_now`] (see [`crate::yield_now`]).
///
/// ```
/// weft::thread::spawn(weft::thread::yield_now).join().unwrap();
/// ```
pub fn yield_now() {
    crate::yield_now();
}

/// Whether the calling coroutine is unwinding from a panic (or a cancel),
/// like [`std::thread::panicking`] but per coroutine; outside a coroutine
/// it is std's answer for the thread. See [`crate::panicking`] for what
/// std's own function and std's locks still see.
///
/// ```
/// use weft::thread;
///
/// struct Check;
/// impl Drop for Check {
///     fn drop(&mut self) {
///         assert!(thread::panicking());
///     }
/// }
///
/// let h = thread::spawn(|| {
///     assert!(!thread::panicking());
///     let _check = Check;
///     panic!("unwinding");
/// });
/// assert!(h.join().is_err());
/// ```
#[inline]
pub fn panicking() -> bool {
    crate::panicking()
}
