//! What the workers of one runtime share: the queues of coroutines that
//! have not started yet (stealable), each worker's remote inbox for wakes
//! of coroutines it owns, and the idle-worker accounting.
//!
//! Two kinds of work move between threads, and they move differently:
//!
//! - A **new** coroutine ([`NewTask`]) has no stack frames yet, so it may
//!   start on any worker. It is pushed on the spawning worker's
//!   `crossbeam-deque` queue (or the global injector, when spawned from a
//!   plain thread; or, half a full local queue at a time, the overflow),
//!   and idle workers steal from there.
//! - A **started** coroutine never changes thread. Waking it from another
//!   thread pushes its key onto its owner's inbox ([`WorkerRemote`]) and,
//!   if the owner sleeps, wakes the owner's poller.
//!
//! Idle workers follow the protocol of tokio's multi-thread scheduler, in
//! small: a spawn wakes a sleeping worker only if no worker is already
//! searching for work, and the last searcher to give up re-checks every
//! queue before it sleeps, so a spawn is never stranded while workers
//! sleep (`tests/loom_idle.rs`-style reasoning is in `arch/scheduler.md`).

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering as StdOrdering};
use std::sync::{Arc, Mutex};

use crossbeam_deque::{Injector, Stealer};

use crate::io::reactor::IoShared;
use crate::rt::coroutine::{Header, HeaderFields};
use crate::rt::local::LocalMap;
use crate::rt::loom::{AtomicUsize, Mutex as IdleMutex, Ordering, fence};

/// How a new coroutine's body is entered.
pub(crate) enum Start<'a> {
    /// On the coroutine's own stack: run the user's closure (or, if
    /// `cancelled`, drop it unrun), then drop the coroutine's locals
    /// before completing the join handle. Every destructor of the user's
    /// runs here, on a coroutine, never on a worker's loop.
    Run {
        header: &'a HeaderFields,
        locals: &'a LocalMap,
        cancelled: bool,
    },
    /// Complete the join handle as cancelled without running the closure:
    /// only where dropping it runs no user code on a worker's loop (it
    /// has no destructor, or this is not a worker thread).
    Cancelled,
    /// Complete the join handle with this error message (no stack could
    /// be had for it); as `Cancelled` for where this may run.
    Failed(String),
}

/// A coroutine that has not started: its header (whose tail holds its
/// body) and the size of the stack it will get when a worker starts it. Everything in it is
/// `Send`, so it can be stolen.
///
/// The stack is taken from the pool only when the coroutine starts, so a
/// burst of spawns that are run one after another reuses a few hot stacks
/// instead of touching a fresh one each.
///
/// Whoever holds the `NewTask` owns the right to enter the body in the
/// header's tail (`Tail::start`): the task is not `Clone`, and entering it
/// consumes it (or, for a started coroutine, moves the header into the
/// worker's `Task`, whose coroutine enters the body once).
pub(crate) struct NewTask {
    pub(crate) header: Arc<Header>,
    pub(crate) stack_size: usize,
}

impl NewTask {
    /// Completes the task as cancelled, without running it.
    pub(crate) fn cancel(self) {
        self.header.park.set_done();
        // SAFETY: we own the task and consume it: the one entry.
        unsafe { self.header.tail.start(Start::Cancelled) };
    }

    /// Completes the task with a start failure, without running it.
    pub(crate) fn fail(self, message: String) {
        self.header.park.set_done();
        // SAFETY: we own the task and consume it: the one entry.
        unsafe { self.header.tail.start(Start::Failed(message)) };
    }
}

/// Runtime-wide state shared by every worker and every spawner.
pub(crate) struct Shared {
    pub(crate) injector: Injector<NewTask>,
    /// Batches of new coroutines that overflowed a worker's local queue
    /// (`worker::LOCAL_QUEUE_CAP`): moved here half a queue at a time, so
    /// a burst of spawns costs one shared push per batch, not per spawn.
    pub(crate) overflow: Injector<Vec<NewTask>>,
    pub(crate) stealers: Vec<Stealer<NewTask>>,
    pub(crate) remotes: Vec<Arc<WorkerRemote>>,
    pub(crate) idle: Idle,
    pub(crate) stack_size: usize,
    /// Whether panics in this runtime's coroutines print the coroutine's
    /// name (`panic_hook`).
    pub(crate) name_panics: bool,
    shutdown: AtomicBool,
    /// Which workers have drained at shutdown; they leave together.
    pub(crate) drained: Drained,
}

impl Shared {
    pub(crate) fn new(
        stealers: Vec<Stealer<NewTask>>,
        remotes: Vec<Arc<WorkerRemote>>,
        stack_size: usize,
        name_panics: bool,
    ) -> Shared {
        Shared {
            drained: Drained::new(remotes.len()),
            injector: Injector::new(),
            overflow: Injector::new(),
            stealers,
            remotes,
            idle: Idle::new(),
            stack_size,
            name_panics,
            shutdown: AtomicBool::new(false),
        }
    }

    /// Wakes a sleeping worker to pick up new work, if none is searching.
    pub(crate) fn notify_new_work(&self) {
        if let Some(worker) = self.idle.worker_to_notify() {
            self.remotes[worker].unpark_thread();
        }
    }

    /// Whether any not-yet-started coroutine is queued anywhere.
    pub(crate) fn has_new_work(&self) -> bool {
        !self.injector.is_empty()
            || !self.overflow.is_empty()
            || self.stealers.iter().any(|s| !s.is_empty())
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(StdOrdering::SeqCst)
    }

    /// Starts shutdown: every worker cancels its coroutines and exits once
    /// none is left.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, StdOrdering::SeqCst);
        for remote in &self.remotes {
            remote.force_unpark_thread();
        }
    }

    /// Completes as cancelled every coroutine still in the injector or the
    /// overflow. Used after the workers exited, and by a spawner that raced
    /// with that.
    pub(crate) fn cancel_injected(&self) {
        loop {
            match self.injector.steal() {
                crossbeam_deque::Steal::Success(task) => task.cancel(),
                crossbeam_deque::Steal::Retry => continue,
                crossbeam_deque::Steal::Empty => break,
            }
        }
        loop {
            match self.overflow.steal() {
                crossbeam_deque::Steal::Success(batch) => {
                    batch.into_iter().for_each(NewTask::cancel)
                }
                crossbeam_deque::Steal::Retry => continue,
                crossbeam_deque::Steal::Empty => break,
            }
        }
    }
}

/// The part of a worker that other threads reach: its inbox of woken
/// coroutines and the means to wake the worker itself.
pub(crate) struct WorkerRemote {
    pub(crate) index: usize,
    inbox: Mutex<Vec<usize>>,
    /// A hint that `inbox` is non-empty, so the worker's hot loop checks it
    /// with a load instead of a lock.
    inbox_hint: AtomicBool,
    /// Set while the worker is (about to be) blocked in its poller.
    sleeping: AtomicBool,
    waker: mio::Waker,
    pub(crate) io: IoShared,
    /// The header of the coroutine running on this worker now, or null.
    /// Written by the worker around every resume; read by observers (the
    /// stall watchdog, dumps) only under `inspect`.
    running: AtomicPtr<HeaderFields>,
    /// Resumes so far; only the worker writes it (a plain store, no
    /// read-modify-write on the hot path). An observer that sees it
    /// unchanged while `running` is set knows one coroutine has been
    /// running all that time.
    switches: AtomicU64,
    /// The headers of this worker's started, live coroutines, by task key.
    /// The worker locks it when a coroutine starts and when it frees one;
    /// observers lock it to read `running` and the live headers.
    pub(crate) inspect: Mutex<Vec<LiveHeader>>,
    /// How many timers the worker has armed, published by the worker after
    /// each change for `weft::stats()` (a relaxed store; observers get a
    /// recent value).
    pub(crate) timers_armed: std::sync::atomic::AtomicUsize,
    /// The worker thread's kernel thread id (Linux; 0 until it runs), so
    /// the stall watchdog can ask `/proc` what a stalled worker waits in.
    pub(crate) tid: std::sync::atomic::AtomicI32,
}

impl WorkerRemote {
    pub(crate) fn new(index: usize, waker: mio::Waker, io: IoShared) -> WorkerRemote {
        WorkerRemote {
            index,
            inbox: Mutex::new(Vec::new()),
            inbox_hint: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
            waker,
            io,
            running: AtomicPtr::new(std::ptr::null_mut()),
            switches: AtomicU64::new(0),
            inspect: Mutex::new(Vec::new()),
            timers_armed: std::sync::atomic::AtomicUsize::new(0),
            tid: std::sync::atomic::AtomicI32::new(0),
        }
    }

    /// Worker side: records how many timers are armed now.
    #[inline]
    pub(crate) fn publish_timers(&self, armed: usize) {
        self.timers_armed.store(armed, StdOrdering::Relaxed);
    }

    /// Worker side: `header`'s coroutine is about to run.
    #[inline]
    pub(crate) fn begin_run(&self, fields: &HeaderFields) {
        let n = self.switches.load(StdOrdering::Relaxed);
        self.switches.store(n.wrapping_add(1), StdOrdering::Relaxed);
        let fields: *const HeaderFields = fields;
        self.running.store(fields.cast_mut(), StdOrdering::Release);
    }

    /// Worker side: the running coroutine suspended or finished.
    #[inline]
    pub(crate) fn end_run(&self) {
        self.running
            .store(std::ptr::null_mut(), StdOrdering::Release);
    }

    /// How many coroutines this worker has resumed so far.
    pub(crate) fn switches(&self) -> u64 {
        self.switches.load(StdOrdering::Relaxed)
    }

    /// Observer side: runs `f` on the header of the coroutine running on
    /// this worker right now (`None` if the worker is in its own loop).
    pub(crate) fn with_running<R>(&self, f: impl FnOnce(Option<&HeaderFields>) -> R) -> R {
        let _inspect = self.inspect.lock().unwrap();
        let ptr = self.running.load(StdOrdering::Acquire);
        // Soundness: a non-null `running` names the task the worker is
        // resuming, which lives in its task table; the worker removes a
        // task only after clearing `running` (`end_run`) and while holding
        // `inspect`, which we hold, so the header outlives this call.
        // SAFETY: by the soundness argument just above.
        f(unsafe { ptr.as_ref() })
    }

    /// Puts the started coroutine `key`, owned by this worker, back on its
    /// ready queue. Runs on any thread.
    #[inline(never)]
    pub(crate) fn schedule(self: &Arc<Self>, key: usize) {
        if !crate::rt::worker::schedule_local(self, key) {
            self.schedule_remote(key);
        }
    }

    /// `schedule` from another thread: through the inbox, waking the
    /// worker. Out of line, so that the common wake of a coroutine on the
    /// waker's own worker (a channel ping-pong, a socket's reader woken
    /// by the loop) pays for none of the registers the lock needs.
    #[cold]
    #[inline(never)]
    fn schedule_remote(&self, key: usize) {
        self.inbox.lock().unwrap().push(key);
        self.inbox_hint.store(true, StdOrdering::Release);
        self.unpark_thread();
    }

    /// Wakes the worker thread if it sleeps in its poller.
    pub(crate) fn unpark_thread(&self) {
        if self.sleeping.swap(false, StdOrdering::SeqCst) {
            self.force_unpark_thread();
        }
    }

    /// Wakes the worker thread's poller whether or not it sleeps.
    pub(crate) fn force_unpark_thread(&self) {
        // A failed eventfd write means the counter is saturated, so the
        // worker is already due to wake.
        let _ = self.waker.wake();
    }

    /// Worker side: moves woken coroutines from the inbox into `ready`.
    pub(crate) fn drain_inbox(&self, ready: &mut std::collections::VecDeque<usize>) {
        if !self.inbox_hint.load(StdOrdering::Acquire) {
            return;
        }
        let mut inbox = self.inbox.lock().unwrap();
        self.inbox_hint.store(false, StdOrdering::Relaxed);
        ready.extend(inbox.drain(..));
    }

    /// Worker side: releases the inbox's spare capacity (by `realloc`,
    /// see `WorkerLocal::trim`).
    pub(crate) fn shrink_inbox(&self) {
        self.inbox
            .lock()
            .unwrap()
            .shrink_to(crate::rt::worker::SMALL_CAPACITY);
    }

    /// Worker side: whether a remote wake may be waiting in the inbox (a
    /// plain load; `drain_inbox` takes it).
    #[inline]
    pub(crate) fn has_inbox(&self) -> bool {
        self.inbox_hint.load(StdOrdering::Acquire)
    }

    /// Worker side: announces that the worker is about to block in its
    /// poller. Returns `false` (and stays awake) if the inbox has work.
    /// Taking the inbox lock after raising `sleeping` pairs with
    /// `schedule`, which pushes under the lock before it reads `sleeping`:
    /// one of the two always sees the other.
    pub(crate) fn prepare_sleep(&self) -> bool {
        self.sleeping.store(true, StdOrdering::SeqCst);
        if !self.inbox.lock().unwrap().is_empty() {
            self.sleeping.store(false, StdOrdering::SeqCst);
            return false;
        }
        true
    }

    /// Worker side: back from the poller.
    pub(crate) fn end_sleep(&self) {
        self.sleeping.store(false, StdOrdering::SeqCst);
    }
}

/// An entry of a worker's `inspect` table: the header of a live started
/// coroutine, or null for a free slot. A plain pointer, not an `Arc`, so
/// starting a coroutine costs no reference-count traffic: the worker's
/// task (which owns an `Arc<Header>`) outlives the entry, because the
/// worker clears the entry, under the table's lock, before it drops the
/// task.
#[derive(Clone, Copy)]
pub(crate) struct LiveHeader(Option<NonNull<Header>>);

// SAFETY: the pointer is only dereferenced under the `inspect` lock while
// the entry is set, when the header is kept alive by its task (see above);
// `Header` itself is `Sync`.
unsafe impl Send for LiveHeader {}

impl LiveHeader {
    pub(crate) const EMPTY: LiveHeader = LiveHeader(None);

    pub(crate) fn new(header: &Arc<Header>) -> LiveHeader {
        LiveHeader(NonNull::new(Arc::as_ptr(header).cast_mut()))
    }
}

impl WorkerRemote {
    /// Observer side: the headers of this worker's live started
    /// coroutines.
    pub(crate) fn live_headers(&self) -> Vec<Arc<Header>> {
        let inspect = self.inspect.lock().unwrap_or_else(|e| e.into_inner());
        inspect
            .iter()
            .filter_map(|e| e.0)
            .map(|ptr| {
                // Soundness: a set entry points at the header of a task the
                // worker still owns (it clears the entry under this lock
                // before dropping the task), so the header has a strong
                // count we can add one to and take.
                // SAFETY: by the soundness argument just above.
                unsafe {
                    Arc::increment_strong_count(ptr.as_ptr());
                    Arc::from_raw(ptr.as_ptr())
                }
            })
            .collect()
    }
}

/// Which workers have *drained* at shutdown: no coroutine of their own
/// left, none queued. A drained worker does not leave yet (its poller may
/// still have to wake another worker's unwinding coroutine); the workers
/// leave together once all are drained (`WorkerLocal::shut_down`).
///
/// The handshake: each worker marks itself, then (after a SeqCst fence)
/// reads every mark; of two workers marking at about the same time at
/// least one sees the other's mark, so the last to mark sees them all and wakes
/// the rest. A worker about to sleep re-reads the marks after announcing
/// its sleep, so a wake consumed earlier by a non-blocking poll is not
/// needed. Marks are never cleared: in shutdown a worker takes no new
/// work. `src/rt/loom_shutdown.rs` models it.
pub(crate) struct Drained {
    marks: Vec<AtomicUsize>,
}

impl Drained {
    pub(crate) fn new(workers: usize) -> Drained {
        Drained {
            marks: (0..workers).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// Worker `index` has drained. Returns whether every worker has now:
    /// the caller must then wake the others.
    pub(crate) fn mark(&self, index: usize) -> bool {
        self.marks[index].store(1, Ordering::SeqCst);
        // Store, then load the others' marks: the store-buffering shape,
        // which only a SeqCst fence orders (as in `Idle::sleep`).
        fence(Ordering::SeqCst);
        self.all()
    }

    /// Whether every worker has drained.
    pub(crate) fn all(&self) -> bool {
        self.marks.iter().all(|m| m.load(Ordering::SeqCst) != 0)
    }
}

/// Which workers sleep, and how many are searching for work.
pub(crate) struct Idle {
    num_searching: AtomicUsize,
    num_sleeping: AtomicUsize,
    sleepers: IdleMutex<Vec<usize>>,
}

impl Default for Idle {
    fn default() -> Self {
        Idle::new()
    }
}

impl Idle {
    pub(crate) fn new() -> Idle {
        Idle {
            num_searching: AtomicUsize::new(0),
            num_sleeping: AtomicUsize::new(0),
            sleepers: IdleMutex::new(Vec::new()),
        }
    }

    /// Called after new work was queued: picks a sleeping worker to wake,
    /// unless a searching worker will find the work anyway. The picked
    /// worker counts as searching from here on.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        // Pairs with the fence in `sleep`: either we see the searcher, or
        // the last searcher's re-check sees our work.
        fence(Ordering::SeqCst);
        if self.num_searching.load(Ordering::SeqCst) != 0
            || self.num_sleeping.load(Ordering::SeqCst) == 0
        {
            return None;
        }
        let mut sleepers = self.sleepers.lock().unwrap();
        if self.num_searching.load(Ordering::SeqCst) != 0 {
            return None;
        }
        let worker = sleepers.pop()?;
        self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
        self.num_searching.fetch_add(1, Ordering::SeqCst);
        Some(worker)
    }

    /// How many workers search for work now (a hint: it may change at
    /// once).
    pub(crate) fn searching(&self) -> usize {
        self.num_searching.load(Ordering::Relaxed)
    }

    /// How many workers sleep now (a hint, as `searching`).
    pub(crate) fn sleeping(&self) -> usize {
        self.num_sleeping.load(Ordering::Relaxed)
    }

    /// A worker starts looking for work to steal.
    pub(crate) fn begin_search(&self) {
        self.num_searching.fetch_add(1, Ordering::SeqCst);
    }

    /// A searching worker found work. Returns `true` if it was the last
    /// searcher, in which case it should notify another worker, since
    /// there may be more work than it took.
    pub(crate) fn end_search(&self) -> bool {
        self.num_searching.fetch_sub(1, Ordering::SeqCst) == 1
    }

    /// Worker `index` goes to sleep. Returns `true` if it was the last
    /// searcher: it must then re-check every queue before blocking, and
    /// call [`Idle::unsleep`] if it finds work.
    pub(crate) fn sleep(&self, index: usize, searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock().unwrap();
        sleepers.push(index);
        self.num_sleeping.fetch_add(1, Ordering::SeqCst);
        let last = searching && self.num_searching.fetch_sub(1, Ordering::SeqCst) == 1;
        drop(sleepers);
        fence(Ordering::SeqCst);
        last
    }

    /// Worker `index` is awake again. Returns `true` if it was woken by
    /// [`Idle::worker_to_notify`] (it is now counted as searching), `false`
    /// if it woke for another reason (it is counted as neither).
    pub(crate) fn unsleep(&self, index: usize) -> bool {
        let mut sleepers = self.sleepers.lock().unwrap();
        match sleepers.iter().position(|&w| w == index) {
            Some(pos) => {
                sleepers.swap_remove(pos);
                self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
                false
            }
            None => true,
        }
    }
}
