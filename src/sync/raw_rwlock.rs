//! The lock word under [`RwLock`](super::RwLock): an atomic with the
//! reader count and two flags for the fast paths, and two wait lists
//! (readers, writers) behind a small mutex for the slow ones.
//!
//! `state` = readers × `READER` | `WRITER` | `QUEUED`. Uncontended read
//! and write locks are one CAS each; unlocks are one atomic op while
//! `QUEUED` is clear. `QUEUED` (someone may be queued) changes only under
//! the list mutex, and a locker sets it by CAS while it still sees the
//! lock held, so the holder's release cannot miss a waiter.
//!
//! **Policy: phase-fair handoff.** A reader that arrives while a writer
//! waits queues behind it (writers do not starve); a writer's unlock
//! hands the lock to *all* readers queued meanwhile, or else to the next
//! writer; the last reader's unlock hands it to the next writer. Grants
//! are handoffs (the waker updates `state` for the waiter), so nothing
//! barges between phases. A granted waiter that unwinds releases what it
//! was granted, which hands it on in turn; a queued writer that leaves
//! lets the readers it was holding back in. A writer that downgrades
//! keeps a read share and lets in every queued reader with it, as its
//! unlock would; queued writers wait for all of them.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::spin::{SpinGuard, SpinLock};
use super::waitlist::{Left, WaitFor, WaitList, Wakes, Weft, wait};

const WRITER: usize = 1;
const QUEUED: usize = 2;
const READER: usize = 4;
const HOLDERS: usize = !QUEUED;

/// Waiter token: the lock (a read share, or the write lock) is yours.
const GRANTED: usize = 2;

struct Lists {
    readers: WaitList<Weft>,
    writers: WaitList<Weft>,
}

/// A reader-writer lock without data or poisoning.
pub(crate) struct RawRwLock {
    state: AtomicUsize,
    lists: SpinLock<Lists>,
}

impl RawRwLock {
    pub(crate) const fn new() -> RawRwLock {
        RawRwLock {
            state: AtomicUsize::new(0),
            lists: SpinLock::new(Lists {
                readers: WaitList::new(),
                writers: WaitList::new(),
            }),
        }
    }

    fn lists(&self) -> SpinGuard<'_, Lists> {
        self.lists.lock()
    }

    /// Takes a read share if no writer holds or waits.
    #[inline]
    pub(crate) fn try_read(&self) -> bool {
        let mut state = self.state.load(Ordering::Relaxed);
        loop {
            if state & (WRITER | QUEUED) != 0 {
                return false;
            }
            let next = state.checked_add(READER).expect("too many readers");
            match self.state.compare_exchange_weak(
                state,
                next,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => state = actual,
            }
        }
    }

    /// Takes a read share, parking while a writer holds or waits.
    #[inline]
    pub(crate) fn read(&self) {
        if !self.try_read() {
            wait(
                &LockOp {
                    raw: self,
                    write: false,
                },
                None,
            );
        }
    }

    /// Takes the write lock if it is free.
    #[inline]
    pub(crate) fn try_write(&self) -> bool {
        self.state
            .compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes the write lock, parking while anyone holds it.
    #[inline]
    pub(crate) fn write(&self) {
        if !self.try_write() {
            wait(
                &LockOp {
                    raw: self,
                    write: true,
                },
                None,
            );
        }
    }

    /// Releases a read share.
    #[inline]
    pub(crate) fn read_unlock(&self) {
        let before = self.state.fetch_sub(READER, Ordering::Release);
        if before - READER == QUEUED {
            // The last reader left and someone waits.
            self.slow(|raw, lists, wakes| raw.hand_over(lists, wakes, false));
        }
    }

    /// Releases the write lock.
    #[inline]
    pub(crate) fn write_unlock(&self) {
        if self
            .state
            .compare_exchange(WRITER, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.slow(|raw, lists, wakes| raw.hand_over(lists, wakes, true));
        }
    }

    /// Turns the caller's write lock into a read share, letting in every
    /// reader queued meanwhile; queued writers keep waiting.
    #[inline]
    pub(crate) fn downgrade(&self) {
        if self
            .state
            .compare_exchange(WRITER, READER, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.slow(|raw, lists, wakes| raw.downgrade_queued(lists, wakes));
        }
    }

    /// With the list mutex held, the write lock ours and `QUEUED` set:
    /// no one else can change `state` (lockers fail on `WRITER` and
    /// queue under this mutex, there is no reader to unlock), so a store
    /// suffices, as in `hand_over`.
    fn downgrade_queued(&self, lists: &mut Lists, wakes: &mut Wakes<Weft>) {
        let mut n = 1;
        while lists.readers.wake_front(GRANTED, wakes).is_some() {
            n += 1;
        }
        self.state
            .store((n * READER) | queued(lists), Ordering::Release);
    }

    #[cold]
    fn slow(&self, f: impl FnOnce(&Self, &mut Lists, &mut Wakes<Weft>)) {
        let mut wakes = Wakes::new();
        {
            let mut lists = self.lists();
            f(self, &mut lists, &mut wakes);
        }
        wakes.flush();
    }

    /// With the list mutex held and no reader left: hands the lock on,
    /// or frees it. `readers_first`: the caller holds the write lock and
    /// releases it (phase fairness: readers go next); otherwise the last
    /// reader left.
    fn hand_over(&self, lists: &mut Lists, wakes: &mut Wakes<Weft>, readers_first: bool) {
        let state = self.state.load(Ordering::Relaxed);
        if !readers_first && state & HOLDERS != 0 {
            // After a read unlock, a slow reader got in before us: its
            // own unlock will hand the lock over.
            return;
        }
        // No holder can come or go meanwhile: lockers fail on QUEUED or
        // WRITER and then need the list mutex; there is no reader.
        let to_readers = !lists.readers.is_empty() && (readers_first || lists.writers.is_empty());
        // The lock word says who holds the lock *before* any grantee sees
        // its token: a granted reader may return without the list mutex
        // (after a spurious wake) and unlock at once, and its unlock must
        // find its share counted. (Nobody on these lists is in a
        // `select!`, so every entry is claimed.)
        if to_readers {
            let n = lists.readers.len();
            let queued = if lists.writers.is_empty() { 0 } else { QUEUED };
            self.state.store((n * READER) | queued, Ordering::Release);
            lists.readers.wake_all(GRANTED, wakes);
        } else if !lists.writers.is_empty() {
            let queued = if lists.readers.is_empty() && lists.writers.len() == 1 {
                0
            } else {
                QUEUED
            };
            self.state.store(WRITER | queued, Ordering::Release);
            lists.writers.wake_front(GRANTED, wakes);
        } else {
            self.state.store(0, Ordering::Release);
        }
    }

    /// A queued writer left: readers it was holding back may go in if
    /// no writer holds the lock.
    fn writer_left(&self, lists: &mut Lists, wakes: &mut Wakes<Weft>) {
        let state = self.state.load(Ordering::Relaxed);
        if lists.writers.is_empty() && state & WRITER == 0 {
            // Count the shares before granting them (see `hand_over`).
            // Readers may be unlocking concurrently: add, do not store.
            let n = lists.readers.len();
            self.state.fetch_add(n * READER, Ordering::Acquire);
            lists.readers.wake_all(GRANTED, wakes);
        }
        if queued(lists) == 0 {
            self.state.fetch_and(!QUEUED, Ordering::Release);
        }
    }
}

/// `QUEUED` if any list holds a waiter.
fn queued(lists: &Lists) -> usize {
    if lists.readers.is_empty() && lists.writers.is_empty() {
        0
    } else {
        QUEUED
    }
}

/// A reader or writer waiting for the lock.
struct LockOp<'a> {
    raw: &'a RawRwLock,
    write: bool,
}

impl WaitFor for LockOp<'_> {
    const REASON: crate::observe::WaitFor = crate::observe::WaitFor::RwLock;
    type Parker = Weft;
    type State = Lists;
    type Data = ();
    type Output = ();

    fn lock(&self) -> impl std::ops::DerefMut<Target = Lists> + '_ {
        self.raw.lists()
    }

    fn list<'s>(&self, lists: &'s mut Lists) -> &'s mut WaitList<Weft> {
        if self.write {
            &mut lists.writers
        } else {
            &mut lists.readers
        }
    }

    fn data(&self) {}

    fn handed(&self, token: usize) -> Option<()> {
        // Granted: the waker already counted us in `state`.
        (token == GRANTED).then_some(())
    }

    fn poll(&self, lists: &mut Lists, token: usize, _: &mut Wakes<Weft>) -> Option<()> {
        if token == GRANTED {
            return Some(());
        }
        let state = &self.raw.state;
        let mut current = state.load(Ordering::Relaxed);
        loop {
            let free = if self.write {
                current & HOLDERS == 0
            } else {
                current & WRITER == 0 && lists.writers.is_empty()
            };
            let next = match (free, self.write) {
                (true, true) => current | WRITER,
                (true, false) => current.checked_add(READER).expect("too many readers"),
                // About to queue, in this critical section.
                (false, _) => current | QUEUED,
            };
            match state.compare_exchange_weak(current, next, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return free.then_some(()),
                Err(actual) => current = actual,
            }
        }
    }

    fn abandon(&self, lists: &mut Lists, left: Left<()>, wakes: &mut Wakes<Weft>) {
        let raw = self.raw;
        match left {
            // Handed the lock but leaving: release it, which hands it on.
            Left::Woken(_) if self.write => raw.hand_over(lists, wakes, true),
            Left::Woken(_) => {
                let before = raw.state.fetch_sub(READER, Ordering::Release);
                if before - READER == QUEUED {
                    raw.hand_over(lists, wakes, false);
                }
            }
            Left::Queued(()) if self.write => raw.writer_left(lists, wakes),
            Left::Queued(()) => {
                if queued(lists) == 0 {
                    raw.state.fetch_and(!QUEUED, Ordering::Release);
                }
            }
        }
    }
}
