//! What a coroutine is to the rest of weft: its shared [`Header`], its
//! public identity ([`CoroutineId`], [`Coroutine`]) and the
//! [`Cancelled`] payload.
//!
//! The header is the part of a coroutine that other threads may touch: its
//! id and name, the park state, the cancel flag and, once it has started,
//! which worker owns it. Everything that can wake a coroutine (a timer, the
//! I/O poller, a channel, a joiner) holds an `Arc<Header>` and calls
//! [`Header::unpark`]. The coroutine's stack and the corosensei handle stay
//! with the owning worker and never cross threads.
//!
//! A coroutine costs one heap allocation at spawn: the header's fields,
//! followed by a [`Tail`] the spawner chose — the join packet and the
//! closure, of types only the spawner knows. `Header` is that allocation
//! with its tail type erased, so `Arc<Header>` is a (fat) pointer to all of
//! it and the last clone frees all of it.

use std::fmt;
use std::num::NonZeroU64;
use std::ops::Deref;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::observe::Observed;
use crate::rt::park::state::ParkState;
use crate::rt::scheduler::{Start, WorkerRemote};

/// A unique identifier of a coroutine, like [`std::thread::ThreadId`].
///
/// Ids are never reused within a process.
///
/// ```
/// let h = weft::spawn(|| weft::current().unwrap().id());
/// let id = h.id();
/// assert_eq!(h.join().unwrap(), id);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CoroutineId(NonZeroU64);

impl CoroutineId {
    fn next() -> CoroutineId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        CoroutineId(NonZeroU64::new(id).expect("coroutine id counter overflowed"))
    }

    /// The id as a number, for logs and tools.
    ///
    /// ```
    /// let h = weft::spawn(|| ());
    /// assert!(h.id().as_u64() > 0);
    /// # h.join().unwrap();
    /// ```
    pub fn as_u64(&self) -> u64 {
        self.0.get()
    }
}

impl CoroutineId {
    pub(crate) fn from_u64(id: u64) -> Option<CoroutineId> {
        NonZeroU64::new(id).map(CoroutineId)
    }
}

impl fmt::Debug for CoroutineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CoroutineId({})", self.0)
    }
}

impl fmt::Display for CoroutineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Which worker runs a started coroutine, and where in that worker's table
/// it lives. Set once, by the owning worker, before the coroutine first
/// runs; a coroutine can only be `PARKED` after that, so every path that
/// schedules it finds this set.
pub(crate) struct Owner {
    pub(crate) worker: Arc<WorkerRemote>,
    pub(crate) key: usize,
}

/// What follows a coroutine's header in its allocation: its join packet
/// and, until it starts, its closure (`spawn.rs`), or just a packet (the
/// blocking pool's jobs).
pub(crate) trait Tail: Send + Sync {
    /// Enters the coroutine's body: runs the closure (`Start::Run`) or
    /// drops it unrun, and completes the join packet.
    ///
    /// # Safety
    /// Called at most once, by the one owner of the coroutine's `NewTask`
    /// (the worker that starts, cancels or fails it): the closure is taken
    /// out of an `UnsafeCell` without synchronisation.
    unsafe fn start(&self, start: Start<'_>);

    /// Whether dropping the closure unrun runs code of the user's (its
    /// captures have destructors). If not, a worker may complete the
    /// coroutine as cancelled on its own loop, without a stack.
    fn body_needs_drop(&self) -> bool;
}

/// A coroutine's header fields followed by its tail. Only ever used behind
/// an `Arc`, as [`Header`] once the tail's type is erased.
pub(crate) struct HeaderWith<T: ?Sized> {
    fields: HeaderFields,
    pub(crate) tail: T,
}

/// The shared, thread-safe part of a coroutine: its header fields (through
/// `Deref`) and its type-erased tail, in one allocation.
pub(crate) type Header = HeaderWith<dyn Tail>;

impl<T: ?Sized> Deref for HeaderWith<T> {
    type Target = HeaderFields;

    fn deref(&self) -> &HeaderFields {
        &self.fields
    }
}

/// The header's own fields.
pub(crate) struct HeaderFields {
    id: CoroutineId,
    name: Option<String>,
    pub(crate) park: ParkState,
    /// The token of [`Coroutine::unpark`] and `weft::thread::park`, apart
    /// from the park state's own: weft's internal waits consume that one
    /// (a stale wake is a spurious return to them), so a user's unpark
    /// that landed during a sleep or a lock would otherwise be lost.
    pub(crate) unpark_token: AtomicBool,
    cancelled: AtomicBool,
    /// Unwinding (a panic or a cancel), as `rt::unwinding` tracks it.
    /// Only the coroutine's own thread touches it.
    unwinding: AtomicBool,
    /// Set by the coroutine itself at its end, before its `join` can
    /// return: dumps no longer list it, though its worker removes it from
    /// its table only once it has returned to the loop.
    ended: AtomicBool,
    pub(crate) owner: OnceLock<Owner>,
    /// Where `spawn` was called, for dumps.
    pub(crate) spawned_at: &'static Location<'static>,
    /// What it waits for, since when, its stack use: for dumps.
    pub(crate) observed: Observed,
}

impl<T> HeaderWith<T> {
    /// A new coroutine's allocation: fresh header fields, then `tail`.
    /// Coerce the `Arc` to `Arc<Header>` after taking what the spawner
    /// needs from the typed tail.
    pub(crate) fn new(
        name: Option<String>,
        spawned_at: &'static Location<'static>,
        tail: T,
    ) -> Arc<HeaderWith<T>> {
        Arc::new(HeaderWith {
            fields: HeaderFields {
                id: CoroutineId::next(),
                name,
                park: ParkState::new(),
                unpark_token: AtomicBool::new(false),
                cancelled: AtomicBool::new(false),
                unwinding: AtomicBool::new(false),
                ended: AtomicBool::new(false),
                owner: OnceLock::new(),
                spawned_at,
                observed: Observed::default(),
            },
            tail,
        })
    }
}

impl HeaderFields {
    pub(crate) fn id(&self) -> CoroutineId {
        self.id
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Whether the coroutine unwinds (see `rt::unwinding`).
    pub(crate) fn is_unwinding(&self) -> bool {
        self.unwinding.load(Ordering::Relaxed)
    }

    pub(crate) fn set_unwinding(&self, unwinding: bool) {
        self.unwinding.store(unwinding, Ordering::Relaxed);
    }

    /// The coroutine is at its very end: it will neither run code of the
    /// user's nor park again. Called on its own stack before its result
    /// is published, so whoever saw the result (a `join` that returned)
    /// sees this too.
    pub(crate) fn set_ended(&self) {
        self.ended.store(true, Ordering::Release);
    }

    /// Whether the coroutine has ended (`set_ended`): dumps skip it.
    pub(crate) fn has_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }
}

impl Header {
    /// Asks the coroutine to unwind from its next parking point, and wakes
    /// it if it is parked now.
    pub(crate) fn cancel(self: &Arc<Self>) {
        self.cancelled.store(true, Ordering::Release);
        self.unpark();
    }

    /// Wakes the coroutine from any thread. Safe to call any number of
    /// times, before it starts and after it finished.
    pub(crate) fn unpark(self: &Arc<Self>) {
        if self.park.unpark() {
            let owner = self
                .owner
                .get()
                .expect("a parked coroutine always has an owner");
            owner.worker.schedule(owner.key);
        }
    }

    /// Wakes the coroutine at once if it belongs to the worker whose
    /// thread this is, and says whether it did (`false`: nothing done,
    /// wake it with [`unpark`](Self::unpark)). Such a coroutine cannot
    /// run, let alone finish, before the caller's own coroutine suspends
    /// or the worker's loop moves on, so a waker holding only a borrowed
    /// pointer to its header may use this where it could not defer the
    /// wake (`sync::waitlist`, `Weft::claim`).
    #[inline]
    pub(crate) fn unpark_if_local(&self) -> bool {
        let Some(owner) = self.owner.get() else {
            return false;
        };
        crate::rt::worker::wake_if_local(&owner.worker, owner.key, || self.park.unpark())
    }
}

/// A handle to a running coroutine, as [`std::thread::Thread`] is to a
/// thread. Get one with [`current`](crate::current).
///
/// ```
/// weft::Builder::new()
///     .name("worker-7".into())
///     .spawn(|| {
///         let me = weft::current().unwrap();
///         assert_eq!(me.name(), Some("worker-7"));
///     })
///     .unwrap()
///     .join()
///     .unwrap();
/// ```
#[derive(Clone)]
pub struct Coroutine {
    header: Arc<Header>,
}

impl Coroutine {
    pub(crate) fn from_header(header: Arc<Header>) -> Coroutine {
        Coroutine { header }
    }

    pub(crate) fn header(&self) -> &Arc<Header> {
        &self.header
    }

    /// The coroutine's unique id.
    ///
    /// ```
    /// let h = weft::spawn(|| weft::current().unwrap().id());
    /// assert_eq!(h.id(), h.join().unwrap());
    /// ```
    pub fn id(&self) -> CoroutineId {
        self.header.id()
    }

    /// The name given with [`Builder::name`](crate::Builder::name), if any.
    ///
    /// ```
    /// let h = weft::spawn(|| weft::current().unwrap().name().map(String::from));
    /// assert_eq!(h.join().unwrap(), None);
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.header.name()
    }

    /// Wakes the coroutine if it is parked in [`park`](crate::park), or
    /// makes its next `park` return at once, like
    /// [`std::thread::Thread::unpark`]: the token is kept until a `park`
    /// takes it, whatever the coroutine waits for meanwhile.
    ///
    /// ```
    /// let h = weft::spawn(|| weft::park());
    /// h.coroutine().unpark();
    /// h.join().unwrap();
    /// ```
    pub fn unpark(&self) {
        crate::rt::park::unpark_token(&self.header);
    }
}

impl fmt::Debug for Coroutine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coroutine")
            .field("id", &self.id())
            .field("name", &self.name())
            .finish()
    }
}

/// The panic payload of a coroutine that was cancelled: its
/// [`join`](crate::JoinHandle::join) returns `Err(payload)` and
/// `payload.downcast_ref::<weft::Cancelled>()` is `Some`.
///
/// ```
/// let h = weft::spawn(|| loop { weft::yield_now() });
/// h.cancel();
/// let payload = h.join().unwrap_err();
/// assert!(payload.downcast_ref::<weft::Cancelled>().is_some());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("coroutine was cancelled")
    }
}

impl std::error::Error for Cancelled {}
