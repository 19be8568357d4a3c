//! The wait list every `weft::sync` primitive shares: who waits, in which
//! order, and how a waiter is woken, handed something, or leaves.
//!
//! A primitive keeps its state (a queue, a permit count, a lock word's
//! slow half) behind a small internal lock (`spin.rs`), and beside it one
//! or more [`WaitList`]s. A waiter is a [`Waiter`] on the waiting frame's own stack
//! (a coroutine's stack stays put while it is parked, so does a thread's):
//! the list holds a pointer to it, never a copy, so registering costs no
//! allocation. Everything about an entry happens under the primitive's
//! mutex, with one exception: `select!` puts one waiter on several lists,
//! guarded by several mutexes, so the waiter's `state` is an atomic that the
//! first waker claims with a CAS (crossbeam's waker lists work the same
//! way).
//!
//! A waker pops the front entry and sets the waiter's `state` from
//! [`WAITING`] to a token that says what it was given: [`NOTIFIED`] ("look
//! again", for primitives that let newcomers barge) or a primitive's own
//! grant token (the lock, a read share, permits: handoff). It takes the
//! waiter's handle out of the waiter under the lock and, through
//! [`Parker::claim`], either wakes it there (a coroutine of the waker's
//! own worker, which cannot run before the waker suspends) or takes an
//! owned unparker for it, *then* stores the token (a waiter reads its
//! token without the lock after any return from `park`, and may return
//! and free itself the moment it sees it: the token store is the waker's
//! last touch, and whatever the token grants is in place before it). An
//! owned unparker is woken after unlocking ([`Wakes`]), so the waiter's
//! frame may already be gone by then: a stale unpark only makes some later
//! park return spuriously, which every wait loop tolerates.
//!
//! The waiter side is one loop, [`wait`], driven by a primitive's
//! [`WaitFor`]: poll under the lock, register, park, repeat. A waiter that
//! leaves without finishing (timeout, or a cancel unwinding out of the
//! park) is removed under the lock by a drop guard, and told whether it
//! was still queued or had already been handed a token; the primitive's
//! `abandon` then passes a token it can no longer use on to the next
//! waiter, so no permit, message or notification is lost. `arch/sync.md`
//! tells the whole story.
//!
//! The parking mechanism is a type parameter ([`Parker`]) so that `loom`
//! can model the lists with its own threads; weft itself uses [`Weft`].

use std::cell::OnceCell;
use std::collections::VecDeque;
use std::ops::DerefMut;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Instant;

use crate::rt::coroutine::Header;
use crate::rt::loom::{AtomicUsize, Ordering, UnsafeCell};
use crate::rt::park::{self, Unparker};
use crate::rt::worker;

/// How the current waiter parks and how others wake it.
pub(crate) trait Parker: 'static {
    /// A handle that wakes one waiter from any thread, owned by its
    /// waker until the wake.
    type Unparker: Send + Sync;
    /// What a listed waiter holds for its waker: it may borrow from the
    /// waiting coroutine, since a waker uses it only in [`claim`](Self::claim).
    type Handle: Send;
    /// The handle of the calling waiter.
    fn current() -> Self::Handle;
    /// Called by the waker that claimed a waiter, with the waiter's
    /// handle, under the mutex of a list the waiter is on: the waiter is
    /// inside its wait then and cannot leave it (`Waiter::claim`). Wakes
    /// it at once where that is cheap and safe (`None`), or gives an owned
    /// unparker, to wake it after the mutex is released.
    fn claim(handle: Self::Handle) -> Option<Self::Unparker>;
    /// Wakes the waiter (or makes its next park return at once).
    fn unpark(unparker: &Self::Unparker);
    /// Parks until unparked or `deadline`; `true` once the deadline has
    /// passed. May return spuriously.
    fn park_until(deadline: Option<Instant>) -> bool;

    /// Whether the waiter must leave its wait now, unfinished, as a
    /// cancelled coroutine does. weft's own parker never says so: a
    /// cancel *unwinds* out of [`park`](park::park) and leaves through
    /// the very same drop guard. The loom model cannot unwind across its
    /// thread switches, so its parker reports a cancel here instead.
    #[inline]
    fn abandoned() -> bool {
        false
    }
}

/// weft's own parking: coroutines park, threads block.
pub(crate) struct Weft;

/// A listed waiter's handle under [`Weft`].
pub(crate) enum WeftHandle {
    /// The waiting coroutine's header, borrowed: the coroutine's task
    /// holds a reference to it until the coroutine finishes, which it
    /// cannot while it waits.
    Coroutine(*const Header),
    /// A waiting thread.
    Thread(std::thread::Thread),
}

// SAFETY: the header pointer is dereferenced only by `Weft::claim`, on
// whichever thread, under the claim contract (the waiter waits, so the
// header is alive); `Header` itself is `Send + Sync` (it is shared in an
// `Arc` across threads), and `Thread` is `Send`.
unsafe impl Send for WeftHandle {}

impl Parker for Weft {
    type Unparker = Unparker;
    type Handle = WeftHandle;

    #[inline]
    fn current() -> WeftHandle {
        worker::with_current_header(|header| match header {
            Some(header) => WeftHandle::Coroutine(Arc::as_ptr(header)),
            None => WeftHandle::Thread(std::thread::current()),
        })
    }

    /// A coroutine of the waker's own worker is woken at once: it cannot
    /// run before the waker's coroutine suspends, so this takes no
    /// reference to its header, where any other waiter costs the waker a
    /// reference (an atomic increment now, a decrement after the unpark).
    #[inline]
    fn claim(handle: WeftHandle) -> Option<Unparker> {
        match handle {
            WeftHandle::Thread(thread) => Some(Unparker::Thread(thread)),
            WeftHandle::Coroutine(header) => {
                // Soundness: `claim`'s contract: the waiter is listed and
                // the caller holds that list's mutex, so the waiter is
                // inside its wait (leaving it takes that mutex, or a token
                // the caller stores only after this returns); its
                // coroutine has not finished, and its task's reference
                // keeps the header alive.
                // SAFETY: by the soundness argument just above.
                if unsafe { &*header }.unpark_if_local() {
                    return None;
                }
                // Soundness: as above, the header is alive; the count
                // added here is the one the returned `Arc` owns.
                // SAFETY: by the soundness argument just above.
                Some(Unparker::Coroutine(unsafe {
                    Arc::increment_strong_count(header);
                    Arc::from_raw(header)
                }))
            }
        }
    }

    #[inline]
    fn unpark(unparker: &Unparker) {
        unparker.unpark();
    }

    #[inline]
    fn park_until(deadline: Option<Instant>) -> bool {
        park::park_until(deadline)
    }
}

/// The state of a waiter that nobody has woken yet.
pub(crate) const WAITING: usize = 0;
/// The generic wake token: "the condition may hold now, look again".
pub(crate) const NOTIFIED: usize = 1;

/// One waiting coroutine or thread. Lives on the waiter's stack; lists
/// point at it while it is registered.
///
/// The waker that claims the waiter *takes* its unparker (so a wake
/// costs no reference-count traffic beyond the one the waiter paid to
/// make it); a waiter that registers again after a wake makes a new one.
pub(crate) struct Waiter<P: Parker> {
    /// `Some` while the waiter is unclaimed. Written by the waiter only
    /// while it is on no list; taken only by the waker whose claim
    /// succeeded, under the mutex of the list it found the waiter on.
    handle: UnsafeCell<Option<P::Handle>>,
    /// [`WAITING`], or the token of the waker that popped this waiter.
    state: AtomicUsize,
}

// SAFETY: the handle is `Send`, and the only access through `&Waiter` is
// the one claiming waker's take (moving it to the waker's thread); the
// cell is accessed under the protocol above (waiter while unlisted, or
// the single claiming waker): the waiter's write happens before it
// registers under the list's mutex, which the waker holds when it takes,
// and the waker's take happens before the waiter sees the token (stored
// after it, with Release) and before the waiter touches the cell again.
unsafe impl<P: Parker> Sync for Waiter<P> {}

impl<P: Parker> Waiter<P> {
    /// A waiter for the calling coroutine or thread.
    pub(crate) fn new() -> Waiter<P> {
        Waiter {
            handle: UnsafeCell::new(Some(P::current())),
            state: AtomicUsize::new(WAITING),
        }
    }

    /// The token this waiter was handed, or [`WAITING`].
    #[inline]
    pub(crate) fn state(&self) -> usize {
        self.state.load(Ordering::Acquire)
    }

    /// Back to [`WAITING`], with a handle again if a waker took it.
    /// Only while the waiter is on no list, so no waker can race with it.
    #[inline]
    pub(crate) fn reset(&self) {
        if self.state.load(Ordering::Relaxed) != WAITING {
            // Soundness: on no list, so no waker can reach the cell, and
            // the claiming waker's take happened before we observed its
            // token (under its list's mutex).
            // SAFETY: by the soundness argument just above.
            self.handle
                .with_mut(|cell| unsafe { *cell = Some(P::current()) });
            self.state.store(WAITING, Ordering::Relaxed);
        }
    }

    /// Claims the waiter for `token`, takes its handle and wakes it
    /// through [`Parker::claim`], now or, through `wakes`, once the caller
    /// releases the mutex; `false` if another waker (of another list, in
    /// a `select!`) got there first. Only under the mutex of a list the
    /// waiter is on, and only once everything the token grants is in
    /// place (a handed message written, the lock word updated): the
    /// waiter may act on the token the moment it sees it.
    ///
    /// A waiter on one list only (`shared == false`) has no other waker to
    /// race with, but may read its token *without* the lock after any
    /// return from `park` (spurious ones included) and then return and
    /// free the waiter. So the waker takes the handle and makes its
    /// unparker (which may take a reference to the waiter's header) first
    /// and stores the token last, with Release: that store is its last
    /// touch of the waiter (invariant 3 in arch/sync.md). A `select!`
    /// waiter is claimed by a CAS, and only leaves after removing itself
    /// from every list, this one under the mutex we hold, so the take may
    /// follow the CAS.
    #[inline]
    fn claim(&self, token: usize, shared: bool, wakes: &mut Wakes<P>) -> bool {
        if shared {
            if self
                .state
                .compare_exchange(WAITING, token, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                return false;
            }
            // Soundness: our CAS won, so we are the one waker that may
            // take the handle; the waiter does not touch it while
            // listed, and frees the waiter only after leaving this list
            // under the mutex we hold.
            // SAFETY: by the soundness argument just above.
            unsafe { self.wake_claimed(wakes) };
        } else {
            debug_assert_eq!(self.state.load(Ordering::Relaxed), WAITING);
            // Soundness: the waiter is listed here, unclaimed (its state is
            // WAITING, and only the holder of this list's mutex, which we
            // are, claims it), so it does not touch the handle and nobody
            // else may; it cannot leave before it sees the token below.
            // SAFETY: by the soundness argument just above.
            unsafe { self.wake_claimed(wakes) };
            // Last touch: from here on the waiter may be gone.
            self.state.store(token, Ordering::Release);
        }
        true
    }

    /// Takes the handle and wakes the waiter through [`Parker::claim`]:
    /// now, or through `wakes` once the caller releases the mutex.
    ///
    /// # Safety
    /// Only by the one waker that claimed the waiter, under the mutex of a
    /// list it is on, while the waiter cannot have left its wait.
    #[inline]
    unsafe fn wake_claimed(&self, wakes: &mut Wakes<P>) {
        // SAFETY: forwarded to our caller: nobody else touches the cell.
        let handle = self.handle.with_mut(|cell| unsafe { (*cell).take() });
        let handle = handle.expect("an unclaimed waiter has its handle");
        if let Some(unparker) = P::claim(handle) {
            wakes.push(unparker);
        }
    }
}

impl<P: Parker> Drop for Waiter<P> {
    fn drop(&mut self) {
        // Through the cell, so that loom sees this access race with a
        // waker's take if the protocol ever lets them meet.
        // SAFETY: `&mut self`: nobody else holds a reference to the waiter.
        self.handle.with_mut(|cell| unsafe { (*cell).take() });
    }
}

/// Where a waiter stands in one list, to remove it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

struct Entry<P: Parker, D> {
    seq: u64,
    waiter: NonNull<Waiter<P>>,
    /// The waiter may be on other lists too (`select!`).
    shared: bool,
    data: D,
}

/// A FIFO of waiters, each with a piece of data `D` for the primitive
/// (the permits it wants, when it started waiting, ...).
///
/// Entries are ordered by a sequence number that grows at the back and
/// shrinks at the front, so removing a given waiter is a binary search.
pub(crate) struct WaitList<P: Parker, D = ()> {
    entries: VecDeque<Entry<P, D>>,
    next_back: u64,
    next_front: u64,
}

// SAFETY: the list holds pointers to `Waiter`s, which are `Sync` (see
// there): moving the list to
// another thread only lets that thread use `&Waiter`s, which is what
// `Sync` permits. That the pointers stay valid is the registration
// contract of `push_back`/`push_front`, independent of the thread.
unsafe impl<P: Parker, D: Send> Send for WaitList<P, D> {}
// SAFETY: `&WaitList` gives no access to the waiters (every method that
// dereferences one takes `&mut self`), so sharing it is harmless.
unsafe impl<P: Parker, D: Sync> Sync for WaitList<P, D> {}

const MIDDLE: u64 = 1 << 63;

/// Capacity an emptied list keeps (see `release_if_empty`).
const KEPT_CAPACITY: usize = 64;

impl<P: Parker, D> WaitList<P, D> {
    /// An empty list.
    pub(crate) const fn new() -> WaitList<P, D> {
        WaitList {
            entries: VecDeque::new(),
            next_back: MIDDLE,
            next_front: MIDDLE - 1,
        }
    }

    /// Whether nobody waits.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many waiters are queued.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Queues `waiter` last.
    ///
    /// # Safety
    /// `waiter` must stay where it is and alive until it has been removed
    /// ([`remove`](Self::remove) finds it or it was popped), and every
    /// access to this list (and so to the waiter through it) must happen
    /// under the one mutex that guards the list.
    pub(crate) unsafe fn push_back(&mut self, waiter: &Waiter<P>, data: D) -> Ticket {
        let seq = self.next_back;
        self.next_back += 1;
        self.entries.push_back(Entry {
            seq,
            waiter: NonNull::from(waiter),
            shared: false,
            data,
        });
        Ticket(seq)
    }

    /// Queues last a waiter that may be on other lists at the same time
    /// (`select!`): wakers then claim it with a CAS.
    ///
    /// # Safety
    /// As for [`push_back`](Self::push_back), for every list it is on.
    pub(crate) unsafe fn push_back_shared(&mut self, waiter: &Waiter<P>, data: D) -> Ticket {
        let seq = self.next_back;
        self.next_back += 1;
        self.entries.push_back(Entry {
            seq,
            waiter: NonNull::from(waiter),
            shared: true,
            data,
        });
        Ticket(seq)
    }

    /// Queues `waiter` first: a waiter that was woken but found the
    /// resource taken by a newcomer keeps its place.
    ///
    /// # Safety
    /// As for [`push_back`](Self::push_back).
    pub(crate) unsafe fn push_front(&mut self, waiter: &Waiter<P>, data: D) -> Ticket {
        let seq = self.next_front;
        self.next_front -= 1;
        self.entries.push_front(Entry {
            seq,
            waiter: NonNull::from(waiter),
            shared: false,
            data,
        });
        Ticket(seq)
    }

    /// Removes the entry of `ticket` and returns its data, or `None` if a
    /// waker popped it already.
    pub(crate) fn remove(&mut self, ticket: Ticket) -> Option<D> {
        let index = self
            .entries
            .binary_search_by_key(&ticket.0, |e| e.seq)
            .ok()?;
        let data = self.entries.remove(index).map(|e| e.data);
        self.release_if_empty();
        data
    }

    /// An emptied list gives back the capacity a crowd of waiters left:
    /// shrinking is a `realloc`, where the `free` of a large block when the
    /// primitive is dropped would make glibc keep that much memory for good
    /// (see arch/stacks.md, "Memory the allocator keeps").
    fn release_if_empty(&mut self) {
        if self.entries.is_empty() && self.entries.capacity() > KEPT_CAPACITY {
            self.entries.shrink_to(KEPT_CAPACITY);
        }
    }

    /// Drops the front entries whose waiters another list already woke
    /// (only `select!` waiters can be in that state).
    fn skip_claimed(&mut self) {
        while let Some(front) = self.entries.front() {
            // SAFETY: the entry is in the list, so its waiter is alive
            // (push contract), and we hold the list's mutex.
            if unsafe { front.waiter.as_ref() }.state() == WAITING {
                break;
            }
            self.entries.pop_front();
        }
    }

    /// The data of the first waiter still waiting, if it waits on this
    /// list only (a waker may then hand it something along with the wake).
    pub(crate) fn front_unshared_data(&mut self) -> Option<&D> {
        self.skip_claimed();
        self.entries.front().filter(|e| !e.shared).map(|e| &e.data)
    }

    /// The data of the first waiter still waiting.
    pub(crate) fn front_data(&mut self) -> Option<&D> {
        self.skip_claimed();
        self.entries.front().map(|e| &e.data)
    }

    /// Pops the first waiter still waiting, hands it `token` and queues
    /// its wake-up in `wakes`. Returns its data, or `None` if nobody
    /// waits.
    pub(crate) fn wake_front(&mut self, token: usize, wakes: &mut Wakes<P>) -> Option<D> {
        debug_assert_ne!(token, WAITING);
        while let Some(entry) = self.entries.pop_front() {
            // Soundness: the entry was in the list until now, so its waiter
            // is alive (push contract); we hold the list's mutex, and the
            // waiter cannot leave before taking it.
            // SAFETY: by the soundness argument just above.
            let waiter = unsafe { entry.waiter.as_ref() };
            if waiter.claim(token, entry.shared, wakes) {
                self.release_if_empty();
                return Some(entry.data);
            }
        }
        self.release_if_empty();
        None
    }

    /// Wakes every waiter with `token`.
    pub(crate) fn wake_all(&mut self, token: usize, wakes: &mut Wakes<P>) {
        while self.wake_front(token, wakes).is_some() {}
    }
}

/// How many unparkers `Wakes` holds back at most; more are woken at once.
const WAKE_BATCH: usize = 256;

/// Unparkers collected under a lock, to be woken once it is released (an
/// unpark may take another worker's inbox lock or a syscall; no reason to
/// make everyone wait for that). Unparks whatever is left when dropped,
/// so an unwinding path cannot forget a wake.
pub(crate) struct Wakes<P: Parker> {
    first: Option<P::Unparker>,
    more: Vec<P::Unparker>,
}

impl<P: Parker> Wakes<P> {
    /// Nothing to wake yet (does not allocate).
    #[inline]
    pub(crate) fn new() -> Wakes<P> {
        Wakes {
            first: None,
            more: Vec::new(),
        }
    }

    #[inline]
    fn push(&mut self, unparker: P::Unparker) {
        if self.first.is_none() {
            self.first = Some(unparker);
        } else {
            self.push_more(unparker);
        }
    }

    #[cold]
    fn push_more(&mut self, unparker: P::Unparker) {
        if self.more.len() == WAKE_BATCH {
            // A wake-all of a huge list: wake this batch now, under
            // the lock (correct, only slower), rather than grow a
            // buffer of a million entries whose `free` would make
            // glibc keep that much memory (see arch/stacks.md).
            for unparker in self.more.drain(..) {
                P::unpark(&unparker);
            }
        }
        self.more.push(unparker);
    }

    /// Wakes everyone collected so far. Call it after releasing the lock.
    ///
    /// Most flushes wake one waiter or none (a send, a receive, an
    /// unlock): those never touch `more`, whose `Drain` alone cost more
    /// than the rest of a ping-pong's wake.
    #[inline]
    pub(crate) fn flush(&mut self) {
        if let Some(first) = self.first.take() {
            P::unpark(&first);
            drop(first);
            if !self.more.is_empty() {
                self.flush_more();
            }
        }
    }

    #[cold]
    fn flush_more(&mut self) {
        for unparker in self.more.drain(..) {
            P::unpark(&unparker);
        }
    }
}

impl<P: Parker> Drop for Wakes<P> {
    #[inline]
    fn drop(&mut self) {
        self.flush();
    }
}

/// How a waiter left a list without finishing its wait.
pub(crate) enum Left<D> {
    /// It was still queued: nobody gave it anything. Carries its data as
    /// the list last saw it.
    Queued(D),
    /// A waker had popped it and handed it this token, which it will not
    /// use: the primitive must pass it on.
    Woken(usize),
}

/// One kind of wait on one primitive: the primitive's side of [`wait`].
/// Every method but `lock` runs with the primitive's mutex held.
pub(crate) trait WaitFor {
    /// How the waiter parks.
    type Parker: Parker;
    /// What the mutex guards.
    type State;
    /// Per-entry data kept in the list.
    type Data: Clone;
    /// What a finished wait returns.
    type Output;

    /// What `weft::dump()` shows a coroutine parked in this wait waiting
    /// for.
    const REASON: crate::observe::WaitFor;

    /// Locks the primitive's state.
    fn lock(&self) -> impl DerefMut<Target = Self::State> + '_;

    /// The list this wait queues on.
    fn list<'s>(&self, state: &'s mut Self::State) -> &'s mut WaitList<Self::Parker, Self::Data>;

    /// The data to queue with this waiter.
    fn data(&self) -> Self::Data;

    /// Finishes the wait if it can. `token` is what a waker handed this
    /// waiter since the last poll ([`WAITING`] if nothing); `None` means
    /// keep waiting (the waiter re-queues, at the front if it was woken).
    fn poll(
        &self,
        state: &mut Self::State,
        token: usize,
        wakes: &mut Wakes<Self::Parker>,
    ) -> Option<Self::Output>;

    /// Finishes the wait *without the lock* if a waker handed this waiter
    /// everything it needs along with `token` (`None`: take the lock and
    /// `poll`). Only sound for what a waker fully wrote before storing
    /// the token, which it does not touch afterwards.
    fn handed(&self, _token: usize) -> Option<Self::Output> {
        None
    }

    /// The waiter leaves unfinished (timeout, or a cancel unwinding):
    /// undo what `left` says it was given, passing it on.
    fn abandon(
        &self,
        state: &mut Self::State,
        left: Left<Self::Data>,
        wakes: &mut Wakes<Self::Parker>,
    );
}

/// Waits until `w.poll` finishes, or `deadline` passes (`None` then).
///
/// The loop of the parking protocol: poll under the lock, register in the
/// same critical section, park, repeat. A cancel unwinding out of the park
/// leaves through the drop guard, which removes the registration and calls
/// `abandon`.
pub(crate) fn wait<W: WaitFor>(w: &W, deadline: Option<Instant>) -> Option<W::Output> {
    let mut wakes = Wakes::new();
    // Made on first need, inside the critical section that registers it,
    // so a wait that must park takes the lock once before parking, and
    // one that need not wait never makes a waiter.
    let waiter = OnceCell::<Waiter<W::Parker>>::new();
    let mut reg = Registration {
        w,
        waiter: &waiter,
        data: None,
        ticket: None,
        active: true,
    };
    let mut queued_before = false;
    let mut timed_out = false;
    let mut reason = None;
    loop {
        {
            let mut state = w.lock();
            let token = reg.observe(&mut state);
            if let Some(out) = w.poll(&mut state, token, &mut wakes) {
                reg.finish(&mut state);
                drop(state);
                wakes.flush();
                return Some(out);
            }
            if timed_out {
                reg.leave(&mut state, &mut wakes);
                drop(state);
                wakes.flush();
                return None;
            }
            if reg.ticket.is_none() {
                let waiter = waiter.get_or_init(Waiter::new);
                waiter.reset();
                let data = reg.data.get_or_insert_with(|| w.data()).clone();
                let list = w.list(&mut state);
                // Soundness: `waiter` lives in this frame, below `reg`, whose
                // drop removes the entry (under this same mutex) before
                // `waiter` goes; every path out of this function goes
                // through `finish`, `leave` or that drop.
                // SAFETY: by the soundness argument just above.
                reg.ticket = Some(unsafe {
                    if queued_before {
                        list.push_front(waiter, data)
                    } else {
                        list.push_back(waiter, data)
                    }
                });
                queued_before = true;
            }
        }
        wakes.flush();
        if reason.is_none() {
            // Recorded once, and only when the wait really parks.
            reason = Some(crate::observe::waiting(W::REASON));
        }
        timed_out = W::Parker::park_until(deadline);
        if W::Parker::abandoned() {
            // What an unwind out of the park would do.
            drop(reg);
            return None;
        }
        // A waiter on one list is claimed by a plain store of its token,
        // the waker's last touch of it (invariant 3 in arch/sync.md): seen
        // here, the entry is gone and the waker done with the waiter.
        let token = reg.token();
        if token != WAITING
            && let Some(out) = w.handed(token)
        {
            reg.ticket = None;
            reg.active = false;
            return Some(out);
        }
    }
}

/// A waiter's registration on one list; removes it on every way out.
struct Registration<'a, W: WaitFor> {
    w: &'a W,
    waiter: &'a OnceCell<Waiter<W::Parker>>,
    /// The entry data, computed at the first registration and kept.
    data: Option<W::Data>,
    ticket: Option<Ticket>,
    active: bool,
}

impl<W: WaitFor> Registration<'_, W> {
    /// The waiter's token, [`WAITING`] if there is no waiter yet.
    fn token(&self) -> usize {
        self.waiter.get().map_or(WAITING, Waiter::state)
    }

    /// The token handed to the waiter since it registered; forgets the
    /// ticket if a waker popped the entry.
    fn observe(&mut self, _locked: &mut W::State) -> usize {
        let token = self.token();
        if token != WAITING {
            self.ticket = None;
        }
        token
    }

    /// The wait finished: drop the entry if it is still queued.
    fn finish(&mut self, state: &mut W::State) {
        if let Some(ticket) = self.ticket.take() {
            self.w.list(state).remove(ticket);
        }
        self.active = false;
    }

    /// The wait ends unfinished: remove the entry and let the primitive
    /// pass on whatever the waiter was handed.
    fn leave(&mut self, state: &mut W::State, wakes: &mut Wakes<W::Parker>) {
        self.active = false;
        let left = match self.ticket.take() {
            Some(ticket) => match self.w.list(state).remove(ticket) {
                Some(data) => Left::Queued(data),
                None => Left::Woken(self.token()),
            },
            None => match self.token() {
                WAITING => return,
                token => Left::Woken(token),
            },
        };
        self.w.abandon(state, left, wakes);
    }
}

impl<W: WaitFor> Drop for Registration<'_, W> {
    fn drop(&mut self) {
        if !self.active {
            return;
        }
        let w = self.w;
        let mut wakes = Wakes::new();
        {
            let mut state = w.lock();
            self.leave(&mut state, &mut wakes);
        }
        wakes.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use crate::rt::worker;

    /// A wake between two coroutines of one worker takes no reference to
    /// the waiter's header (`Weft::claim`): while the receiver waits, its
    /// header is held by what held it before it waited, and no more.
    #[test]
    fn a_wait_woken_on_its_own_worker_takes_no_reference() {
        let rt = crate::Runtime::builder().workers(1).build().unwrap();
        let waiting = rt.block_on(|| {
            let (tx, rx) = crate::sync::mpsc::channel::<()>();
            let receiver_header = Arc::new(Mutex::new(None));
            let slot = receiver_header.clone();
            let receiver = crate::spawn(move || {
                *slot.lock().unwrap() = worker::current_header();
                rx.recv().unwrap();
            });
            // One worker: once the receiver has run, it waits.
            let header = loop {
                if let Some(header) = receiver_header.lock().unwrap().take() {
                    break header;
                }
                crate::yield_now();
            };
            let waiting = Arc::strong_count(&header);
            drop(header);
            tx.send(()).unwrap();
            receiver.join().unwrap();
            waiting
        });
        // The task's reference, the join handle's and ours: a waiter that
        // took one of its own would make it 4.
        assert_eq!(waiting, 3);
    }
}
