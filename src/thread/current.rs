//! [`Thread`] and [`ThreadId`]: one handle for "whoever runs this code",
//! a coroutine or a plain OS thread, so that `thread::current()` always
//! has an answer, as std's does.
//!
//! A coroutine's handle is its [`Coroutine`]; an OS thread's is std's own
//! [`std::thread::Thread`]. Ids keep the two kinds apart, so a coroutine's
//! id never equals a thread's even when the numbers do.

use std::fmt;
use std::time::{Duration, Instant};

use crate::observe::{self, WaitFor};
use crate::rt::coroutine::{Coroutine, CoroutineId};
use crate::rt::park;
use crate::rt::worker;

/// A handle to a coroutine or an OS thread, like [`std::thread::Thread`].
///
/// Inside a coroutine, [`current`] returns the coroutine's handle; on a
/// plain thread, the thread's.
///
/// ```
/// use weft::thread;
///
/// let h = thread::Builder::new()
///     .name("fetcher".into())
///     .spawn(|| thread::current().name().map(String::from))
///     .unwrap();
/// assert_eq!(h.thread().name(), Some("fetcher"));
/// assert_eq!(h.join().unwrap().as_deref(), Some("fetcher"));
/// ```
#[derive(Clone)]
pub struct Thread {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Coroutine(Coroutine),
    Os(std::thread::Thread),
}

impl Thread {
    pub(crate) fn from_coroutine(coroutine: Coroutine) -> Thread {
        Thread {
            inner: Inner::Coroutine(coroutine),
        }
    }

    /// The name given with [`Builder::name`](super::Builder::name), if
    /// any; for an OS thread, std's name (`"main"` for the main thread).
    ///
    /// ```
    /// use weft::thread;
    /// let h = thread::spawn(|| thread::current().name().map(String::from));
    /// assert_eq!(h.join().unwrap(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        match &self.inner {
            Inner::Coroutine(c) => c.name(),
            Inner::Os(t) => t.name(),
        }
    }

    /// The unique id of the coroutine or thread.
    ///
    /// ```
    /// use weft::thread;
    /// let h = thread::spawn(|| thread::current().id());
    /// let id = h.thread().id();
    /// assert_eq!(h.join().unwrap(), id);
    /// assert_ne!(id, thread::current().id());
    /// ```
    pub fn id(&self) -> ThreadId {
        match &self.inner {
            Inner::Coroutine(c) => ThreadId(Kind::Coroutine(c.id())),
            Inner::Os(t) => ThreadId(Kind::Os(t.id())),
        }
    }

    /// Makes the next [`park`] of this coroutine or thread return, or wakes
    /// it if it is parked now, like [`std::thread::Thread::unpark`]. An
    /// unpark before the park is not lost: the token waits for it.
    ///
    /// ```
    /// use weft::thread;
    /// let h = thread::spawn(|| thread::park());
    /// h.thread().unpark();
    /// h.join().unwrap();
    /// ```
    pub fn unpark(&self) {
        match &self.inner {
            Inner::Coroutine(c) => c.unpark(),
            Inner::Os(t) => t.unpark(),
        }
    }

    /// The coroutine behind this handle, `None` for an OS thread (weft's
    /// own; std has no coroutines).
    ///
    /// ```
    /// use weft::thread;
    /// assert!(thread::current().coroutine().is_none());
    /// let h = thread::spawn(|| thread::current().coroutine().map(|c| c.id()));
    /// let id = h.thread().coroutine().unwrap().id();
    /// assert_eq!(h.join().unwrap(), Some(id));
    /// ```
    pub fn coroutine(&self) -> Option<&Coroutine> {
        match &self.inner {
            Inner::Coroutine(c) => Some(c),
            Inner::Os(_) => None,
        }
    }
}

impl fmt::Debug for Thread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

/// A unique identifier of a coroutine or an OS thread, like
/// [`std::thread::ThreadId`]. Never reused; a coroutine's id differs from
/// every thread's.
///
/// ```
/// use std::collections::HashSet;
/// use weft::thread;
///
/// let ids: HashSet<thread::ThreadId> = (0..3)
///     .map(|_| thread::spawn(|| thread::current().id()))
///     .map(|h| h.join().unwrap())
///     .chain([thread::current().id()])
///     .collect();
/// assert_eq!(ids.len(), 4);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThreadId(Kind);

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Coroutine(CoroutineId),
    Os(std::thread::ThreadId),
}

impl fmt::Debug for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Kind::Coroutine(id) => write!(f, "ThreadId(coroutine {id})"),
            Kind::Os(id) => write!(f, "ThreadId(os {id:?})"),
        }
    }
}

/// A handle to the caller: its coroutine inside one, its OS thread
/// elsewhere, like [`std::thread::current`].
///
/// ```
/// use weft::thread;
/// assert_eq!(thread::current().id(), thread::current().id());
/// let h = thread::spawn(|| thread::current().id());
/// assert_ne!(h.join().unwrap(), thread::current().id());
/// ```
pub fn current() -> Thread {
    match worker::current_header() {
        Some(header) => Thread::from_coroutine(Coroutine::from_header(header)),
        None => Thread {
            inner: Inner::Os(std::thread::current()),
        },
    }
}

/// Waits until the caller's token is made available by [`Thread::unpark`],
/// and takes it, like [`std::thread::park`]. A token left by an earlier
/// `unpark` makes it return at once. May also return spuriously, so wait
/// in a loop on a condition.
///
/// Parks the coroutine (its worker runs others) or blocks the thread. A
/// parking point: a cancelled coroutine unwinds from here.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use weft::thread;
///
/// let done = Arc::new(AtomicBool::new(false));
/// let d = done.clone();
/// let h = thread::spawn(move || {
///     while !d.load(Ordering::Acquire) {
///         thread::park();
///     }
/// });
/// done.store(true, Ordering::Release);
/// h.thread().unpark();
/// h.join().unwrap();
/// ```
pub fn park() {
    crate::park();
}

/// Like [`park`], but returns after `dur` at the latest, like
/// [`std::thread::park_timeout`].
///
/// ```
/// use std::time::{Duration, Instant};
/// use weft::thread;
///
/// let h = thread::spawn(|| {
///     let start = Instant::now();
///     thread::park_timeout(Duration::from_millis(20));
///     start.elapsed()
/// });
/// assert!(h.join().unwrap() >= Duration::from_millis(20));
/// ```
pub fn park_timeout(dur: Duration) {
    let _waiting = observe::waiting(WaitFor::Park);
    // Longer than the clock can count: wait for the token only.
    park::park_for_token(Instant::now().checked_add(dur));
}
