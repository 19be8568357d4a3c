//! One worker: an OS thread running an event loop of coroutines.
//!
//! The loop, in order of preference: run a ready (started, woken)
//! coroutine; start a new one from the local queue; every few ticks drain
//! the inbox of remote wakes, fire due timers and poll I/O without
//! blocking; when there is nothing local, steal new coroutines from the
//! injector and the other workers; when there is nothing anywhere, sleep in
//! the poller until an event, a timer or a wake.
//!
//! Everything here is owned by the worker thread. Code running on that
//! thread (the worker loop and the coroutines it resumes) reaches it
//! through a thread-local pointer, set for the worker's life. A coroutine
//! is resumed only from the loop, never from another coroutine, so the
//! loop and a coroutine never hold the same `RefCell` borrow: every borrow
//! below ends before a resume.
//!
//! No code of the user's runs on the loop itself (`arch/overview.md`,
//! invariant 5): there a weft lock or channel could not park, it would
//! block the worker. A cancelled coroutine whose closure has destructors
//! is started anyway, to drop it on its own stack; a finished task holds
//! nothing of the user's when the loop drops it; and the loop aborts the
//! process rather than unwind over suspended coroutines.

use std::cell::{Cell, RefCell, UnsafeCell};
use std::collections::VecDeque;
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use corosensei::{Coroutine, CoroutineResult, Yielder};
use crossbeam_deque::{Steal, Worker as Deque};

use crate::io::reactor::Reactor;
use crate::rt::coroutine::{Header, HeaderFields, Owner};
use crate::rt::local::LocalMap;
use crate::rt::prefetch;
use crate::rt::scheduler::{LiveHeader, NewTask, Shared, Start, WorkerRemote};
use crate::rt::timer::Timers;
use crate::stack::{self, Stack};

/// Why a coroutine handed control back to its worker.
pub(crate) enum Suspend {
    /// `yield_now`: run again after the other ready coroutines.
    Yield,
    /// `park`: run again only once unparked.
    Park,
}

type CoYielder = Yielder<(), Suspend>;

/// A started coroutine, as its worker holds it.
pub(crate) struct Task {
    coro: UnsafeCell<Coroutine<(), Suspend, (), Stack>>,
    header: Arc<Header>,
    /// `header`'s fields, found once at start: reaching them through the
    /// `Arc<dyn Tail>` costs a vtable load and an alignment computation
    /// on every use, and the switch path uses them several times.
    fields: *const HeaderFields,
    /// Where the coroutine's yielder lives on its own stack; set when it
    /// first runs, fixed after.
    yielder: Cell<*const CoYielder>,
    /// Its stack pointer when it last suspended (0 until then), so that
    /// the worker can warm those lines before resuming it
    /// (`WorkerLocal::prefetch_next`). A park also records it in the
    /// header for dumps (`Observed::record_sp`), but reading it there
    /// would first load the header's line, which is as cold as the stack;
    /// this copy sits in the task entry, which the coroutine's next
    /// `run_task` loads anyway, and yields set it too.
    resume_sp: Cell<usize>,
    /// Its `coroutine_local!` values.
    locals: LocalMap,
}

impl Task {
    /// The header's fields, without going through the `dyn` header.
    #[inline]
    fn fields(&self) -> &HeaderFields {
        // SAFETY: `fields` points into the allocation `self.header` keeps
        // alive (an `Arc`'s contents never move), for as long as `self`.
        unsafe { &*self.fields }
    }
}

/// How many started coroutines a worker must hold before it warms the
/// next one's stack ahead of each switch (`WorkerLocal::prefetch_next`).
/// Below it their stacks' hot lines stay in the cache anyway and the
/// hints are pure cost: measured on one worker, a yield among 10
/// coroutines took 42.5 ns without them and 45–46 with them, among 100
/// 51–52 without and 49 with, among 1,000 94–97 without and 61–63 with.
const PREFETCH_FROM: usize = 64;

/// How many coroutines a worker runs between two looks at its inbox,
/// timers and poller while it stays busy.
const MAINTENANCE_INTERVAL: u32 = 61;

/// Most new coroutines a worker keeps in its own queue (tokio's local run
/// queue has 256 slots too). Further spawns from its coroutines go to the
/// shared injector: a burst of a million spawns then grows no single
/// buffer to a million entries (a 16 MB allocation, whose free raises
/// glibc's trim threshold so later frees are not returned to the OS), and
/// every worker takes from the injector instead of stealing from one.
const LOCAL_QUEUE_CAP: usize = 256;

/// How many new coroutines a full local queue moves to the shared
/// overflow at once: its older half. Every overflow batch has this size.
pub(crate) const OVERFLOW_BATCH: usize = LOCAL_QUEUE_CAP / 2;

/// Most wakes in a row a worker runs from its LIFO slot before it turns to
/// its ready queue again: two coroutines that keep waking each other would
/// otherwise starve every other ready coroutine of the worker (tokio's
/// figure).
const MAX_LIFO_RUNS: u32 = 3;

/// How long a worker must have been idle before it gives the memory of
/// its last burst back (`WorkerLocal::trim`): long enough that a server
/// between two requests keeps its hot stacks, short enough that memory
/// returns soon after a burst.
const TRIM_AFTER: Duration = Duration::from_secs(1);

/// How long an idle worker watches for work before it blocks in its
/// poller (`WorkerLocal::spin_for_work`).
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(20);

/// Capacity a trimmed queue or table keeps: small enough not to matter,
/// non-zero so shrinking is a `realloc` and not a `free` (see `trim`).
pub(crate) const SMALL_CAPACITY: usize = 64;

/// The worker-thread-only state of one worker.
pub(crate) struct WorkerLocal {
    pub(crate) shared: Arc<Shared>,
    pub(crate) remote: Arc<WorkerRemote>,
    ready: RefCell<VecDeque<usize>>,
    /// The coroutine a coroutine of this worker woke last, run next: it
    /// likely wants the data its waker just produced while that is still
    /// in cache, and a message round trip between two coroutines of one
    /// worker does not wait behind the whole ready queue.
    lifo: Cell<Option<usize>>,
    /// Runs from `lifo` since the last run from `ready` or `deque`.
    lifo_runs: Cell<u32>,
    tasks: RefCell<TaskTable>,
    deque: Deque<NewTask>,
    pub(crate) timers: RefCell<Timers>,
    reactor: RefCell<Reactor>,
    /// The coroutine running now, or null while the loop itself runs.
    current: Cell<*const Task>,
    tick: Cell<u32>,
    searching: Cell<bool>,
    /// `tick` when this worker last trimmed its memory.
    trimmed_at: Cell<u32>,
    /// Operations the running coroutine may still complete without
    /// parking before it must yield (`coop`).
    budget: Cell<u32>,
    /// Whether this worker's loop has begun its shutdown (`shut_down`).
    shutdown_seen: Cell<bool>,
}

thread_local! {
    /// The worker of this thread, or null on other threads. Const-
    /// initialised, without destructor: a plain TLS slot.
    static WORKER: Cell<*const WorkerLocal> = const { Cell::new(ptr::null()) };
}

/// Runs `f` with this thread's worker, if this thread is one.
#[inline]
fn with_worker<R>(f: impl FnOnce(Option<&WorkerLocal>) -> R) -> R {
    let ptr = WORKER.with(|w| w.get());
    // Soundness: WORKER is non-null only between `WorkerLocal::run` setting it
    // and clearing it, and the WorkerLocal outlives that span (it is owned
    // by the frame of `run_worker`, below `run`). Only this thread reads
    // its own slot, and `f` cannot keep the reference past this call.
    // SAFETY: by the soundness argument just above.
    f(unsafe { ptr.as_ref() })
}

/// Whether the calling code runs inside a coroutine.
#[inline]
pub(crate) fn in_coroutine() -> bool {
    with_worker(|w| w.is_some_and(|w| !w.current.get().is_null()))
}

/// The header of the coroutine running now.
pub(crate) fn current_header() -> Option<Arc<Header>> {
    with_worker(|w| {
        let task = w?.current.get();
        // SAFETY: `current` points at the running task, which lives in the
        // worker's table at least until it finishes, after this call.
        (!task.is_null()).then(|| unsafe { (*task).header.clone() })
    })
}

/// Runs `f` on the header of the running coroutine without cloning it.
#[inline]
pub(crate) fn with_current_header<R>(f: impl FnOnce(Option<&Arc<Header>>) -> R) -> R {
    with_worker(|w| {
        let task = w.map_or(ptr::null(), |w| w.current.get());
        // SAFETY: as in `current_header`.
        f((!task.is_null()).then(|| unsafe { &(*task).header }))
    })
}

/// Runs `f` on the header fields of the running coroutine: the cheapest
/// look-up, for the parking and unwinding paths.
#[inline]
pub(crate) fn with_current_fields<R>(f: impl FnOnce(Option<&HeaderFields>) -> R) -> R {
    with_worker(|w| {
        let task = w.map_or(ptr::null(), |w| w.current.get());
        // SAFETY: as in `current_header`.
        f((!task.is_null()).then(|| unsafe { (*task).fields() }))
    })
}

/// The remote handle of this thread's worker, if a coroutine runs here.
pub(crate) fn current_remote() -> Option<Arc<WorkerRemote>> {
    with_worker(|w| {
        let w = w?;
        (!w.current.get().is_null()).then(|| w.remote.clone())
    })
}

/// The runtime of the coroutine running on this thread.
pub(crate) fn current_shared() -> Option<Arc<Shared>> {
    with_worker(|w| w.map(|w| w.shared.clone()))
}

/// Runs `f` with the runtime of this worker thread, without cloning it.
pub(crate) fn with_current_shared<R>(f: impl FnOnce(Option<&Arc<Shared>>) -> R) -> R {
    with_worker(|w| f(w.map(|w| &w.shared)))
}

/// Runs `f` with this thread's timers (only on a worker thread).
pub(crate) fn with_timers<R>(f: impl FnOnce(&mut Timers) -> R) -> Option<R> {
    with_worker(|w| {
        w.map(|w| {
            let mut timers = w.timers.borrow_mut();
            let result = f(&mut timers);
            w.remote.publish_timers(timers.len());
            result
        })
    })
}

/// Runs `f` with the running coroutine's local values (`None` outside
/// coroutines).
#[inline]
pub(crate) fn with_current_locals<R>(f: impl FnOnce(Option<&LocalMap>) -> R) -> R {
    with_worker(|w| {
        let task = w.map_or(ptr::null(), |w| w.current.get());
        // SAFETY: as in `current_header`; the map is only touched from its
        // own coroutine, which is the one running.
        f((!task.is_null()).then(|| unsafe { &(*task).locals }))
    })
}

/// Takes one unit of the running coroutine's budget; returns `true` when
/// the budget is spent (and resets it): the caller must then yield.
/// `false` outside coroutines.
#[inline]
pub(crate) fn consume_budget() -> bool {
    with_worker(|w| match w {
        Some(w) if !w.current.get().is_null() => {
            let left = w.budget.get().saturating_sub(1);
            if left == 0 {
                w.budget.set(crate::rt::coop::BUDGET);
                true
            } else {
                w.budget.set(left);
                false
            }
        }
        _ => false,
    })
}

/// Suspends the running coroutine back to its worker.
///
/// # Panics
/// Outside a coroutine.
pub(crate) fn suspend(why: Suspend) {
    let task = with_worker(|w| {
        let task = w.expect("suspend outside a worker").current.get();
        assert!(!task.is_null(), "suspend outside a coroutine");
        task
    });
    // SAFETY: `task` is the running task; it outlives this call, which runs
    // on its own coroutine (see `current_header`).
    let task = unsafe { &*task };
    let yielder = task.yielder.get();
    task.resume_sp.set(stack::stack_pointer());
    let _unwinding = crate::rt::unwinding::Suspension::begin(task.fields());
    // Soundness: the yielder was stored by this very coroutine when it
    // started; it lives on this coroutine's stack, which we are running on,
    // so it is valid, and suspending through it is the one legal use.
    // SAFETY: by the soundness argument just above.
    unsafe { (*yielder).suspend(why) };
}

/// `yield_now` inside a coroutine, with a single look-up of the running
/// task (this is the hottest path of a busy worker). Returns `false`,
/// doing nothing, outside coroutines.
#[inline]
pub(crate) fn yield_current() -> bool {
    let task = with_worker(|w| w.map_or(ptr::null(), |w| w.current.get()));
    if task.is_null() {
        return false;
    }
    // SAFETY: `task` is the running task; it outlives this call, which runs
    // on its own coroutine (see `current_header`).
    let task = unsafe { &*task };
    let fields = task.fields();
    let cancelled = || fields.is_cancelled() && !crate::rt::unwinding::panicking();
    if cancelled() {
        crate::rt::unwinding::resume_unwind(Box::new(crate::Cancelled));
    }
    {
        task.resume_sp.set(stack::stack_pointer());
        let _unwinding = crate::rt::unwinding::Suspension::begin(fields);
        // SAFETY: as in `suspend`: our own yielder, on the stack we run on.
        unsafe { (*task.yielder.get()).suspend(Suspend::Yield) };
    }
    if cancelled() {
        crate::rt::unwinding::resume_unwind(Box::new(crate::Cancelled));
    }
    true
}

/// Schedules `key` directly if this thread is `remote`'s worker: woken by
/// one of the worker's coroutines, into the LIFO slot (its previous
/// occupant goes to the back of the ready queue); woken by the loop itself
/// (timers, I/O), onto the ready queue. Returns `false` if the caller must
/// use the inbox.
#[inline]
pub(crate) fn schedule_local(remote: &Arc<WorkerRemote>, key: usize) -> bool {
    wake_if_local(remote, key, || true)
}

/// If this thread is `remote`'s worker, runs `wake` and, if it says the
/// coroutine `key` must be scheduled (it was parked), schedules it here
/// as [`schedule_local`] does; returns whether this thread is that
/// worker (`false`: `wake` did not run).
#[inline]
pub(crate) fn wake_if_local(
    remote: &Arc<WorkerRemote>,
    key: usize,
    wake: impl FnOnce() -> bool,
) -> bool {
    with_worker(|w| match w {
        Some(w) if Arc::ptr_eq(&w.remote, remote) => {
            if !wake() {
                // Not parked: it will see the wake itself.
            } else if w.current.get().is_null() {
                w.ready.borrow_mut().push_back(key);
            } else if let Some(previous) = w.lifo.replace(Some(key)) {
                w.ready.borrow_mut().push_back(previous);
            }
            true
        }
        _ => false,
    })
}

/// Queues a new coroutine on this thread's worker if it belongs to
/// `shared`; gives it back otherwise. A full local queue
/// (`LOCAL_QUEUE_CAP`) first moves its older half to the shared overflow.
pub(crate) fn push_local(shared: &Arc<Shared>, task: NewTask) -> Result<(), NewTask> {
    with_worker(|w| match w {
        Some(w) if Arc::ptr_eq(&w.shared, shared) => {
            if w.deque.len() >= LOCAL_QUEUE_CAP {
                let batch: Vec<NewTask> = std::iter::from_fn(|| w.deque.pop())
                    .take(OVERFLOW_BATCH)
                    .collect();
                w.shared.overflow.push(batch);
            }
            w.deque.push(task);
            Ok(())
        }
        _ => Err(task),
    })
}

/// Table of the started coroutines of a worker, indexed by key.
///
/// Tasks live in fixed chunks of [`CHUNK`] slots, each chunk its own heap
/// block that never moves: a task's address stays fixed while the table
/// grows (the worker keeps a pointer to the running task across a resume),
/// and starting a coroutine allocates nothing once the table has room.
#[derive(Default)]
struct TaskTable {
    chunks: Vec<Box<Chunk>>,
    free: Vec<usize>,
    /// Keys handed out so far (free ones included).
    high: usize,
    len: usize,
}

/// Slots per chunk of the task table.
const CHUNK: usize = 64;

type Chunk = [Option<Task>; CHUNK];

impl TaskTable {
    fn vacant_key(&mut self) -> usize {
        if let Some(key) = self.free.pop() {
            return key;
        }
        let key = self.high;
        if key == self.chunks.len() * CHUNK {
            self.chunks.push(Box::new([const { None }; CHUNK]));
        }
        self.high += 1;
        key
    }

    fn slot(&mut self, key: usize) -> &mut Option<Task> {
        &mut self.chunks[key / CHUNK][key % CHUNK]
    }

    fn fill(&mut self, key: usize, task: Task) {
        let slot = self.slot(key);
        debug_assert!(slot.is_none());
        *slot = Some(task);
        self.len += 1;
    }

    fn get(&self, key: usize) -> &Task {
        self.chunks[key / CHUNK][key % CHUNK]
            .as_ref()
            .expect("a queued key names a live task")
    }

    fn remove(&mut self, key: usize) -> Task {
        let task = self.slot(key).take().expect("removing a live task");
        self.free.push(key);
        self.len -= 1;
        task
    }

    /// With no task left: gives the chunks back, keeping a little capacity
    /// (see `WorkerLocal::trim`).
    fn release_if_empty(&mut self) -> bool {
        if self.len != 0 {
            return false;
        }
        self.chunks.clear();
        self.chunks.shrink_to(SMALL_CAPACITY);
        self.free.clear();
        self.free.shrink_to(SMALL_CAPACITY);
        self.high = 0;
        true
    }

    fn headers(&self) -> Vec<Arc<Header>> {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.iter().flatten())
            .map(|t| t.header.clone())
            .collect()
    }
}

/// Builds a worker's thread-local state; the deque and reactor were made
/// by the runtime builder so their stealer and remote handle could be
/// shared first.
pub(crate) fn run_worker(
    shared: Arc<Shared>,
    index: usize,
    deque: Deque<NewTask>,
    reactor: Reactor,
) {
    stack::overflow::ensure_altstack();
    let worker = WorkerLocal {
        remote: shared.remotes[index].clone(),
        shared,
        ready: RefCell::new(VecDeque::new()),
        lifo: Cell::new(None),
        lifo_runs: Cell::new(0),
        tasks: RefCell::new(TaskTable::default()),
        deque,
        timers: RefCell::new(Timers::default()),
        reactor: RefCell::new(reactor),
        current: Cell::new(ptr::null()),
        tick: Cell::new(0),
        searching: Cell::new(false),
        budget: Cell::new(crate::rt::coop::BUDGET),
        trimmed_at: Cell::new(0),
        shutdown_seen: Cell::new(false),
    };
    #[cfg(target_os = "linux")]
    worker.remote.tid.store(
        // SAFETY: gettid has no preconditions.
        unsafe { libc::gettid() },
        std::sync::atomic::Ordering::Relaxed,
    );
    WORKER.with(|w| w.set(&worker));
    let unwinding = AbortIfUnwinding(&worker);
    worker.run();
    drop(unwinding);
    WORKER.with(|w| w.set(ptr::null()));
}

/// Aborts the process if the worker's loop unwinds (a weft bug: no code
/// of the user's runs there, and the coroutines' ends catch every panic)
/// while coroutines are suspended on it: dropping their corosensei handles
/// would force-unwind their stacks from here, and some of them wait with
/// borrowed buffers that another thread still writes (`unblock`, a nested
/// `block_on`), so their frames must never go away early.
struct AbortIfUnwinding<'a>(&'a WorkerLocal);

impl Drop for AbortIfUnwinding<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let live = self.0.tasks.try_borrow().map_or(usize::MAX, |t| t.len);
        if live != 0 {
            eprintln!(
                "weft: the loop of worker {} panicked with coroutines suspended on it; \
                 aborting, since their stacks cannot be unwound safely from there",
                self.0.remote.index
            );
            std::process::abort();
        }
    }
}

enum Next {
    Ready(usize),
    New(NewTask),
}

impl WorkerLocal {
    fn run(&self) {
        loop {
            if self.shared.is_shutdown() && self.shut_down() {
                return;
            }
            let mut ran = 0;
            while ran < MAINTENANCE_INTERVAL {
                let Some(next) = self.next_local() else { break };
                if self.searching.get() {
                    // Woken to search, we found work at home: stop counting
                    // as searching, or spawns elsewhere would wake nobody
                    // while we are busy.
                    self.stop_searching();
                }
                match next {
                    Next::Ready(key) => self.run_task(key),
                    Next::New(task) => self.start(task),
                }
                ran += 1;
            }
            self.maintain(Some(Duration::ZERO));
            if ran > 0 || self.has_ready() {
                continue;
            }
            if let Some(task) = self.search() {
                self.start(task);
                continue;
            }
            if self.spin_for_work() {
                continue;
            }
            self.sleep();
        }
    }

    /// Before blocking in the poller, watches for work for up to
    /// [`SPIN_BEFORE_SLEEP`], as Go's idle Ms spin: a coroutine woken from
    /// another worker a few microseconds from now (a ping-pong across
    /// workers, a reply on a socket) then runs without the wake-up's
    /// `eventfd` write, `epoll_wait` return and context switch on either
    /// side. Polls the inbox and the shared queues (plain loads) and, every
    /// few turns, the timers and the poller without blocking. Each turn
    /// yields the CPU (`sched_yield`): on a machine it shares with other
    /// busy processes (a load generator, say) a busy spin took the core they
    /// needed and cost a loopback echo server a quarter of its throughput.
    /// Returns whether there is work.
    fn spin_for_work(&self) -> bool {
        let start = Instant::now();
        let mut round: u32 = 0;
        loop {
            if self.remote.has_inbox() || self.new_work_elsewhere() || !self.deque.is_empty() {
                self.maintain(Some(Duration::ZERO));
                return true;
            }
            round = round.wrapping_add(1);
            if round.is_multiple_of(8) {
                self.maintain(Some(Duration::ZERO));
                if self.has_ready() {
                    return true;
                }
                if self.shutdown_pending() {
                    return true;
                }
                if start.elapsed() >= SPIN_BEFORE_SLEEP {
                    return false;
                }
            }
            // Politely: another process runnable on this core (a client on
            // the same machine) gets it; otherwise this returns at once.
            std::thread::yield_now();
        }
    }

    /// Shutdown, at the top of every turn of the loop once it began:
    /// asks every coroutine here to unwind and completes the queued new
    /// ones; returns whether the worker may leave.
    ///
    /// A worker with no coroutine left does not leave at once: its poller
    /// may be the one a socket of another worker's unwinding coroutine is
    /// registered with (a destructor that flushes or reads), and a closed
    /// poller would leave that coroutine parked for ever. So it marks
    /// itself drained and goes on polling (and sleeping) until every
    /// worker is drained; the last to drain wakes the others. Drained is
    /// for good: in shutdown a worker takes no new work from the shared
    /// queues or other workers (`new_work_elsewhere`, `search`,
    /// `maintain`), and with no coroutine of its own nothing spawns onto
    /// its queue.
    fn shut_down(&self) -> bool {
        self.shutdown_seen.set(true);
        self.cancel_all();
        if self.tasks.borrow().len != 0 || !self.deque.is_empty() {
            return false;
        }
        if !self.shared.drained.mark(self.remote.index) {
            return false;
        }
        // Every worker is drained: wake those that sleep, so they see it.
        for remote in &self.shared.remotes {
            if !Arc::ptr_eq(remote, &self.remote) {
                remote.force_unpark_thread();
            }
        }
        true
    }

    /// Whether the loop must go back to its top instead of sleeping: a
    /// shutdown it has not handled yet, or the end of one (every worker
    /// drained). Checked after `prepare_sleep`, so a wake that a
    /// non-blocking poll consumed before is not needed to see either.
    fn shutdown_pending(&self) -> bool {
        self.shared.is_shutdown() && (!self.shutdown_seen.get() || self.shared.drained.all())
    }

    /// Whether new coroutines wait in the shared queues or other workers'
    /// queues for this worker to take; never during shutdown, when a
    /// worker takes no new work (see `shut_down`).
    fn new_work_elsewhere(&self) -> bool {
        !self.shutdown_seen.get() && self.shared.has_new_work()
    }

    /// Whether a started coroutine waits to run here.
    fn has_ready(&self) -> bool {
        self.lifo.get().is_some() || !self.ready.borrow().is_empty()
    }

    /// The next local thing to run: mostly a ready coroutine first (the
    /// LIFO slot, up to `MAX_LIFO_RUNS` times in a row, then the FIFO
    /// queue), but every fourth pick a new one first, so a crowd of busy
    /// coroutines cannot keep new ones from starting.
    fn next_local(&self) -> Option<Next> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick.is_multiple_of(4)
            && !self.leave_new_work()
            && let Some(task) = self.deque.pop()
        {
            self.lifo_runs.set(0);
            return Some(Next::New(task));
        }
        if let Some(key) = self.lifo.take() {
            let runs = self.lifo_runs.get();
            if runs < MAX_LIFO_RUNS {
                self.lifo_runs.set(runs + 1);
                return Some(Next::Ready(key));
            }
            // Its turn in the LIFO slot is over: it queues like the rest.
            self.ready.borrow_mut().push_back(key);
        }
        self.lifo_runs.set(0);
        if let Some(key) = self.ready.borrow_mut().pop_front() {
            return Some(Next::Ready(key));
        }
        self.deque.pop().map(Next::New)
    }

    /// Whether this worker, busy with started coroutines, should leave its
    /// new ones to another worker that is idle: started coroutines never
    /// migrate, so a busy worker that starts new ones itself while another
    /// sits idle keeps the extra work for good. A sleeping worker is woken
    /// for them. With no idle worker (always so on a one-worker runtime)
    /// this worker starts them itself, so they are never starved.
    fn leave_new_work(&self) -> bool {
        if self.deque.is_empty() || !self.has_ready() {
            return false;
        }
        let idle = &self.shared.idle;
        // We count ourselves while our own `searching` is set.
        let others_searching = idle
            .searching()
            .saturating_sub(usize::from(self.searching.get()));
        if others_searching > 0 {
            return true;
        }
        if idle.sleeping() > 0 {
            self.shared.notify_new_work();
            return true;
        }
        false
    }

    fn stop_searching(&self) {
        self.searching.set(false);
        if self.shared.idle.end_search() {
            // We were the last searcher and there may be more work.
            self.shared.notify_new_work();
        }
    }

    /// Drains the inbox, takes coroutines spawned from outside the runtime,
    /// fires due timers and polls I/O with `timeout`.
    fn maintain(&self, timeout: Option<Duration>) {
        self.remote.drain_inbox(&mut self.ready.borrow_mut());
        // A busy worker never searches, so it looks at the injector here:
        // otherwise a spawn from a plain thread could wait for as long as
        // this worker's coroutines keep it busy.
        if self.shutdown_seen.get() {
            // Takes no new work (see `shut_down`).
        } else if self.deque.is_empty() {
            if !self.shared.injector.is_empty() {
                let _ = self.shared.injector.steal_batch(&self.deque);
            } else if !self.take_overflow() && self.has_ready() {
                self.share_new_work();
            }
        } else {
            // New coroutines wait here while we are busy: another worker
            // may sleep that could start them.
            self.shared.notify_new_work();
        }
        let now = Instant::now();
        crate::observe::advance_clock(now);
        loop {
            let due = self.timers.borrow_mut().pop_due(now);
            match due {
                Some(header) => header.unpark(),
                None => break,
            }
        }
        self.remote.publish_timers(self.timers.borrow().len());
        let io = &self.remote.io;
        let polling_needed = timeout != Some(Duration::ZERO)
            || io.sources.load(std::sync::atomic::Ordering::Relaxed) > 0;
        if polling_needed {
            self.reactor.borrow_mut().poll(io, timeout);
            self.remote.drain_inbox(&mut self.ready.borrow_mut());
        }
    }

    /// A busy worker with no new coroutines of its own takes a batch of
    /// another worker's. Started coroutines never migrate, so which worker
    /// starts a new one decides for good where its work is done: if only
    /// idle workers stole, the spawning worker would start most of a burst
    /// itself (it starts one every fourth pick while the others are busy
    /// with their first batch) and end up with most of the work.
    fn share_new_work(&self) {
        let n = self.shared.stealers.len();
        let me = self.remote.index;
        for i in 1..n {
            if self.shared.stealers[(me + i) % n]
                .steal_batch(&self.deque)
                .is_success()
            {
                return;
            }
        }
    }

    /// Moves one overflowed batch into the local queue; `false` if there
    /// was none.
    fn take_overflow(&self) -> bool {
        loop {
            match self.shared.overflow.steal() {
                Steal::Success(batch) => {
                    batch.into_iter().for_each(|task| self.deque.push(task));
                    return true;
                }
                Steal::Retry => continue,
                Steal::Empty => return false,
            }
        }
    }

    /// Looks for new coroutines in the injector, then in other workers'
    /// queues. Counts this worker as searching meanwhile (see `Idle`).
    fn search(&self) -> Option<NewTask> {
        if self.shutdown_seen.get() {
            if self.searching.replace(false) {
                self.shared.idle.end_search();
            }
            return None;
        }
        if !self.searching.get() {
            self.searching.set(true);
            self.shared.idle.begin_search();
        }
        let found = self.steal();
        if found.is_some() {
            self.stop_searching();
        }
        found
    }

    fn steal(&self) -> Option<NewTask> {
        let n = self.shared.stealers.len();
        let me = self.remote.index;
        for _ in 0..4 {
            let mut retry = false;
            match self.shared.injector.steal_batch_and_pop(&self.deque) {
                Steal::Success(task) => return Some(task),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            if self.take_overflow() {
                return self.deque.pop();
            }
            for i in 1..n {
                match self.shared.stealers[(me + i) % n].steal_batch_and_pop(&self.deque) {
                    Steal::Success(task) => return Some(task),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                break;
            }
        }
        None
    }

    /// Blocks in the poller until an event, the next timer, or a wake.
    fn sleep(&self) {
        if !self.remote.prepare_sleep() {
            return;
        }
        if self.shutdown_pending() {
            self.remote.end_sleep();
            return;
        }
        let idle = &self.shared.idle;
        let last_searcher = idle.sleep(self.remote.index, self.searching.replace(false));
        if last_searcher && self.new_work_elsewhere() {
            self.remote.end_sleep();
            self.wake_up();
            return;
        }
        let start = Instant::now();
        let mut timeout = self
            .timers
            .borrow()
            .next_deadline()
            .map(|d| d.saturating_duration_since(start));
        // Ran anything since the last trim? Then wake up after
        // TRIM_AFTER at the latest, to trim if still idle.
        let trim_due = self.tick.get() != self.trimmed_at.get();
        if trim_due {
            timeout = Some(timeout.map_or(TRIM_AFTER, |t| t.min(TRIM_AFTER)));
        }
        // `None`: no timer armed, sleep until an event or a wake.
        self.maintain(timeout);
        self.remote.end_sleep();
        self.wake_up();
        if trim_due && self.ready.borrow().is_empty() && start.elapsed() >= TRIM_AFTER {
            self.trim();
        }
    }

    /// Gives memory a burst left behind back to the OS: the stacks this
    /// worker keeps hot, and the spare capacity of its queues and tables.
    ///
    /// Tables shrink with `shrink_to(SMALL_CAPACITY)`, a `realloc`, never
    /// with a `free` of the big block: glibc raises its trim threshold to
    /// twice the size of every large block freed, and from then on keeps
    /// that much unused memory at the top of each heap (see
    /// `arch/stacks.md`, "Memory the allocator keeps").
    fn trim(&self) {
        self.trimmed_at.set(self.tick.get());
        stack::trim();
        let mut ready = self.ready.borrow_mut();
        ready.shrink_to(SMALL_CAPACITY);
        let mut tasks = self.tasks.borrow_mut();
        if tasks.release_if_empty() {
            let mut inspect = self.remote.inspect.lock().unwrap();
            inspect.clear();
            inspect.shrink_to(SMALL_CAPACITY);
        }
        drop((ready, tasks));
        self.timers.borrow_mut().shrink();
        self.remote.shrink_inbox();
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim has no preconditions; it only returns free
        // heap memory (freed coroutine headers, tasks, closures) to the OS.
        unsafe {
            libc::malloc_trim(0);
        }
    }

    fn wake_up(&self) {
        if self.shared.idle.unsleep(self.remote.index) {
            // A spawner picked us: we count as searching.
            self.searching.set(true);
        }
    }

    /// Starts a new coroutine on this worker and runs it to its first
    /// suspension. A cancelled one (or any, once shutdown began) is
    /// started too, only to drop its closure on its own stack: no
    /// destructor of the user's runs on the loop. Only a closure without
    /// destructors is completed right here.
    fn start(&self, task: NewTask) {
        let cancelled = task.header.is_cancelled() || self.shared.is_shutdown();
        if cancelled && !task.header.tail.body_needs_drop() {
            task.cancel();
            return;
        }
        let stack = match stack::allocate(task.stack_size) {
            Ok(stack) => {
                crate::rt::spawn::stacks_available();
                stack
            }
            Err(e) => {
                let failure = (!cancelled).then(|| crate::rt::spawn::stacks_exhausted(&e));
                finish_off_loop(task, failure);
                return;
            }
        };
        let NewTask { header, .. } = task;
        let key = self.tasks.borrow_mut().vacant_key();
        let owner = Owner {
            worker: self.remote.clone(),
            key,
        };
        if header.owner.set(owner).is_err() {
            unreachable!("a new coroutine has no owner yet");
        }
        header.observed.set_stack(stack.top(), stack.size());
        // A fault in this stack's guard page names this coroutine.
        stack.set_owner(header.name().unwrap_or(""));
        {
            let mut inspect = self.remote.inspect.lock().unwrap();
            if inspect.len() <= key {
                inspect.resize(key + 1, LiveHeader::EMPTY);
            }
            inspect[key] = LiveHeader::new(&header);
        }
        let coro = Coroutine::with_stack(stack, move |yielder: &CoYielder, ()| {
            let task = with_worker(|w| w.expect("coroutine on a worker").current.get());
            // Soundness: the worker set `current` to this task right before
            // resuming it, and the task outlives its coroutine (it is
            // freed only after the coroutine returned).
            // SAFETY: by the soundness argument just above.
            let task = unsafe { &*task };
            task.yielder.set(yielder);
            // Soundness: this worker took the `NewTask` apart above and gave
            // its header to this task, so this is the body's one owner,
            // entering it once (a coroutine's closure runs once).
            // SAFETY: by the soundness argument just above.
            unsafe {
                task.header.tail.start(Start::Run {
                    header: &task.header,
                    locals: &task.locals,
                    cancelled,
                })
            };
        });
        let fields: *const HeaderFields = &**header;
        self.tasks.borrow_mut().fill(
            key,
            Task {
                coro: UnsafeCell::new(coro),
                header,
                fields,
                yielder: Cell::new(ptr::null()),
                resume_sp: Cell::new(0),
                locals: LocalMap::default(),
            },
        );
        self.run_task(key);
    }

    /// Warms the stack of the coroutine first in the ready queue, the one
    /// this worker most likely resumes after the one it is about to (see
    /// `rt/prefetch.rs`): its lines load while the current one runs.
    #[inline]
    fn prefetch_next(&self, tasks: &TaskTable) {
        let Some(&next) = self.ready.borrow().front() else {
            return;
        };
        let sp = tasks.get(next).resume_sp.get();
        if sp != 0 {
            prefetch::stack_around(sp);
        }
    }

    /// Resumes the started coroutine `key` until it suspends or finishes.
    fn run_task(&self, key: usize) {
        let task: *const Task = {
            let tasks = self.tasks.borrow();
            if tasks.len >= PREFETCH_FROM {
                self.prefetch_next(&tasks);
            }
            tasks.get(key)
        };
        // Soundness: tasks sit in chunks that never move and leave the
        // table only in the `Return` arm below, on this thread, after the
        // coroutine finished (chunks are freed only when the table is
        // empty); so the pointer stays valid for this whole call, and no
        // `RefCell` borrow of the table is held across the resume.
        // SAFETY: by the soundness argument just above.
        let task = unsafe { &*task };
        self.current.set(task);
        self.budget.set(crate::rt::coop::BUDGET);
        self.remote.begin_run(task.fields());
        // Soundness: only this worker resumes its coroutines, and only from
        // its loop (never re-entrantly from inside a coroutine), so this is
        // the one live `&mut` to the corosensei handle.
        // SAFETY: by the soundness argument just above.
        let result = unsafe { (*task.coro.get()).resume(()) };
        self.current.set(ptr::null());
        self.remote.end_run();
        match result {
            CoroutineResult::Yield(Suspend::Yield) => self.ready.borrow_mut().push_back(key),
            CoroutineResult::Yield(Suspend::Park) => {
                if !task.fields().park.commit_park() {
                    self.ready.borrow_mut().push_back(key);
                }
            }
            CoroutineResult::Return(()) => {
                task.header.park.set_done();
                let task = {
                    // Observers may be reading the header through
                    // `running` under this lock; they saw null since
                    // `end_run`, but the lock orders their earlier read
                    // before the drop below.
                    let mut inspect = self.remote.inspect.lock().unwrap();
                    inspect[key] = LiveHeader::EMPTY;
                    self.tasks.borrow_mut().remove(key)
                };
                // Dropped after the lock: nothing of the user's is left in
                // it (the coroutine emptied its packet, closure and locals
                // on its own stack), but no drop runs under `inspect`.
                let Task { coro, locals, .. } = task;
                // The stack goes back to the pool when dropped.
                drop(coro.into_inner().into_stack());
                // Never dropped here on the loop: the coroutine cleared
                // its locals, and a cleared map owns no allocation; a
                // value made after the last clear (a destructor that
                // keeps making them) is leaked.
                std::mem::forget(locals);
            }
        }
    }

    /// Shutdown: asks every live coroutine here to unwind, and completes
    /// every queued new one as cancelled.
    fn cancel_all(&self) {
        while let Some(task) = self.deque.pop() {
            // Started only to drop its closure (see `start`).
            self.start(task);
        }
        let headers = self.tasks.borrow().headers();
        for header in headers {
            if !header.is_cancelled() {
                header.cancel();
            }
        }
    }
}

/// Completes a coroutine that could get no stack: as cancelled
/// (`failure` is `None`) or with the start failure's message. Its closure
/// is dropped unrun, which must not happen on the worker's loop if that
/// runs code of the user's: then a short-lived thread does it (a plain
/// thread, where a lock or channel simply blocks). Only if not even a
/// thread can be had (the process is out of memory for stacks of either
/// kind) is it dropped here.
fn finish_off_loop(task: NewTask, failure: Option<String>) {
    fn finish(task: NewTask, failure: Option<String>) {
        match failure {
            Some(message) => task.fail(message),
            None => task.cancel(),
        }
    }
    if !task.header.tail.body_needs_drop() {
        finish(task, failure);
        return;
    }
    let slot = Arc::new(std::sync::Mutex::new(Some((task, failure))));
    let theirs = slot.clone();
    let spawned = std::thread::Builder::new()
        .name("weft-unstarted".into())
        .spawn(move || {
            let job = theirs.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some((task, failure)) = job {
                finish(task, failure);
            }
        });
    if spawned.is_err() {
        let job = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((task, failure)) = job {
            finish(task, failure);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// On a worker: each of its suspended coroutines' noted stack pointer
    /// and the range of its own stack.
    fn noted_stack_pointers() -> Vec<(usize, std::ops::Range<usize>)> {
        with_worker(|w| {
            let w = w.expect("called on a worker");
            let current = w.current.get();
            let tasks = w.tasks.borrow();
            tasks
                .chunks
                .iter()
                .flat_map(|chunk| chunk.iter().flatten())
                .filter(|task| !ptr::eq(*task, current))
                .map(|task| (task.resume_sp.get(), task.fields().observed.stack_range()))
                .collect()
        })
    }

    /// The worker warms the lines around the stack pointer a coroutine
    /// noted when it last suspended (`rt/prefetch.rs`): noted on the
    /// worker's own stack, or never, every hint would miss. Parked and
    /// yielding coroutines both note one on their own stack.
    #[test]
    fn a_suspended_coroutine_notes_a_stack_pointer_on_its_own_stack() {
        let rt = crate::Runtime::builder().workers(1).build().unwrap();
        let noted = rt.block_on(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let mut senders = Vec::new();
            let mut handles = Vec::new();
            for _ in 0..10 {
                let (tx, rx) = crate::sync::mpsc::channel::<()>();
                senders.push(tx);
                handles.push(crate::spawn(move || rx.recv().unwrap()));
                let stop = stop.clone();
                handles.push(crate::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        crate::yield_now();
                    }
                }));
            }
            // Until every other coroutine has started, and so (one
            // worker) run and suspended at least once.
            let mut noted = noted_stack_pointers();
            for _ in 0..10_000 {
                if noted.len() == 20 {
                    break;
                }
                crate::yield_now();
                noted = noted_stack_pointers();
            }
            stop.store(true, Ordering::Relaxed);
            for tx in senders {
                tx.send(()).unwrap();
            }
            for handle in handles {
                handle.join().unwrap();
            }
            noted
        });
        assert_eq!(noted.len(), 20);
        for (sp, stack) in noted {
            assert!(
                stack.contains(&sp),
                "noted stack pointer {sp:#x} outside its stack {stack:x?}"
            );
        }
    }
}
