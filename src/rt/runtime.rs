//! [`Runtime`]: a set of worker threads and everything they share; its
//! builder; and the default runtime behind [`spawn`](crate::spawn) and
//! [`run`].

use std::fmt;
use std::io;
use std::panic::{self, Location};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::Duration;

use crossbeam_deque::Worker as Deque;

use crate::io::reactor::Reactor;
use crate::observe::signal::DumpOnSignal;
use crate::rt::join::JoinHandle;
use crate::rt::scheduler::{Shared, WorkerRemote};
use crate::rt::spawn::{Builder, submit};
use crate::rt::watchdog::{self, Watchdog};
use crate::rt::worker;
use crate::stack;

/// A weft runtime: worker threads that run coroutines, each with its own
/// event loop, poller and timers.
///
/// Most programs never make one: [`weft::spawn`](crate::spawn) and
/// [`weft::run`](crate::run) use a default runtime with one worker per
/// core. Build one to choose the number of workers or the default stack
/// size, or to shut it down.
///
/// Dropping a runtime shuts it down (see [`Runtime::shutdown`]).
///
/// ```
/// let rt = weft::Runtime::builder().workers(2).build()?;
/// let sum = rt.block_on(|| {
///     let hs: Vec<_> = (0..10).map(|i| weft::spawn(move || i * i)).collect();
///     hs.into_iter().map(|h| h.join().unwrap()).sum::<i32>()
/// });
/// assert_eq!(sum, 285);
/// rt.shutdown();
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Runtime {
    shared: Arc<Shared>,
    threads: Vec<thread::JoinHandle<()>>,
    dump_on_signal: Option<DumpOnSignal>,
    /// Reports stalled workers; stopped after the workers exit, so a
    /// coroutine that delays shutdown is reported too.
    watchdog: Option<Watchdog>,
}

/// Configures and builds a [`Runtime`].
///
/// ```
/// let rt = weft::Runtime::builder()
///     .workers(1)
///     .stack_size(64 * 1024)
///     .build()?;
/// assert_eq!(rt.block_on(|| 1 + 1), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a RuntimeBuilder does nothing until build is called"]
pub struct RuntimeBuilder {
    workers: Option<usize>,
    stack_size: usize,
    thread_name: String,
    name_panics: bool,
    dump_signal: Option<i32>,
    /// `None`: not set, use `watchdog::default_threshold()`.
    stall_threshold: Option<Option<Duration>>,
}

impl Default for RuntimeBuilder {
    fn default() -> Self {
        RuntimeBuilder {
            workers: None,
            stack_size: stack::DEFAULT_STACK_SIZE,
            thread_name: "weft-worker".into(),
            name_panics: true,
            dump_signal: None,
            stall_threshold: None,
        }
    }
}

impl RuntimeBuilder {
    /// The number of worker threads (at least 1). Default: the
    /// `WEFT_WORKERS` environment variable if set, else one per available
    /// core.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().workers(1).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn workers(mut self, n: usize) -> RuntimeBuilder {
        self.workers = Some(n.max(1));
        self
    }

    /// The default usable stack size of this runtime's coroutines, in
    /// bytes (default 128 KiB; see `arch/stacks.md`).
    /// [`Builder::stack_size`](crate::Builder::stack_size) overrides it per
    /// coroutine.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().stack_size(1 << 20).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> RuntimeBuilder {
        self.stack_size = bytes;
        self
    }

    /// The prefix of the worker threads' names (default `weft-worker`;
    /// threads are named `<prefix>-<n>`).
    ///
    /// ```
    /// let rt = weft::Runtime::builder().thread_name("db").build()?;
    /// let name = rt.block_on(|| std::thread::current().name().unwrap().to_string());
    /// assert!(name.starts_with("db-"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn thread_name(mut self, prefix: impl Into<String>) -> RuntimeBuilder {
        self.thread_name = prefix.into();
        self
    }

    /// Whether a panic in one of this runtime's coroutines prints
    /// `coroutine '<name>' (id N) panicked at ...` (default) instead of
    /// std's `thread 'weft-worker-1' panicked at ...`. Either way the panic
    /// is caught and returned by `join`.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().name_panics(false).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn name_panics(mut self, on: bool) -> RuntimeBuilder {
        self.name_panics = on;
        self
    }

    /// Prints [`weft::dump()`](crate::dump) to stderr whenever the process
    /// receives `signal` (for example `libc::SIGUSR1`), while the program
    /// keeps running: Go's SIGQUIT dump, without the exit. The default
    /// runtime does this when the environment variable `WEFT_DUMP_SIGNAL`
    /// names a signal (`USR1`, `SIGUSR2`, or a number).
    ///
    /// ```
    /// let rt = weft::Runtime::builder().dump_on_signal(libc::SIGUSR1).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn dump_on_signal(mut self, signal: i32) -> RuntimeBuilder {
        self.dump_signal = Some(signal);
        self
    }

    /// Reports coroutines that run longer than `threshold` without
    /// parking, once per stall, on stderr: the coroutine's name and id,
    /// its worker thread, how long, and what to use instead. `None` turns
    /// the report off.
    ///
    /// A coroutine that does not park (it calls `std::thread::sleep`,
    /// blocks in std I/O or a std lock, or computes for long) holds up
    /// every other coroutine of its worker. A watchdog thread per runtime
    /// samples the workers every `threshold / 4` to catch it.
    ///
    /// Default: the `WEFT_STALL_MS` environment variable (milliseconds,
    /// `0` = off) if set; otherwise 100 ms in debug builds and off in
    /// release builds.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = weft::Runtime::builder()
    ///     .stall_threshold(Some(Duration::from_millis(20)))
    ///     .build()?;
    /// rt.block_on(|| {
    ///     // Prints "weft: coroutine <unnamed> (id ..) has run for 20 ms
    ///     // without parking on worker thread 'weft-worker-..' ..."
    ///     std::thread::sleep(Duration::from_millis(50));
    /// });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn stall_threshold(mut self, threshold: Option<Duration>) -> RuntimeBuilder {
        self.stall_threshold = Some(threshold);
        self
    }

    /// Starts the worker threads.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn build(self) -> io::Result<Runtime> {
        stack::overflow::install_handler();
        crate::rt::panic_hook::install();
        let n = self.workers.unwrap_or_else(default_workers);
        let mut deques = Vec::with_capacity(n);
        let mut reactors = Vec::with_capacity(n);
        let mut remotes = Vec::with_capacity(n);
        for index in 0..n {
            let (reactor, waker, io) = Reactor::new()?;
            deques.push(Deque::new_fifo());
            reactors.push(reactor);
            remotes.push(Arc::new(WorkerRemote::new(index, waker, io)));
        }
        let stealers = deques.iter().map(Deque::stealer).collect();
        let shared = Arc::new(Shared::new(
            stealers,
            remotes,
            self.stack_size,
            self.name_panics,
        ));
        let mut runtime = Runtime {
            shared,
            threads: Vec::with_capacity(n),
            dump_on_signal: None,
            watchdog: None,
        };
        let mut watched = Vec::with_capacity(n);
        for (index, (deque, reactor)) in deques.into_iter().zip(reactors).enumerate() {
            let worker_shared = runtime.shared.clone();
            let name = format!("{}-{index}", self.thread_name);
            watched.push((runtime.shared.remotes[index].clone(), name.clone()));
            let spawned = thread::Builder::new()
                .name(name)
                .spawn(move || worker::run_worker(worker_shared, index, deque, reactor));
            match spawned {
                Ok(handle) => runtime.threads.push(handle),
                Err(e) => {
                    // Dropping `runtime` stops the workers already started;
                    // they leave when every worker is drained, so the ones
                    // that never started count as drained.
                    for never_started in index..n {
                        runtime.shared.drained.mark(never_started);
                    }
                    return Err(e);
                }
            }
        }
        crate::observe::dump::register(&runtime.shared);
        let threshold = self
            .stall_threshold
            .unwrap_or_else(watchdog::default_threshold);
        if let Some(threshold) = threshold {
            runtime.watchdog = Some(Watchdog::start(watched, threshold)?);
        }
        if let Some(signal) = self.dump_signal {
            runtime.dump_on_signal = Some(DumpOnSignal::start(signal)?);
        }
        Ok(runtime)
    }
}

fn default_workers() -> usize {
    std::env::var("WEFT_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()))
}

impl Runtime {
    /// A builder for a runtime.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().workers(2).build()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    /// Runs `f` as a coroutine on this runtime and waits for its result,
    /// blocking the calling thread (or parking the calling coroutine). A
    /// panic in `f` is resumed here.
    ///
    /// Unlike [`Runtime::spawn`], `f` may borrow from the caller: `block_on`
    /// does not return before the coroutine has finished.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().workers(1).build()?;
    /// let words = vec!["a", "b"];
    /// let n = rt.block_on(|| words.len());
    /// assert_eq!(n, 2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn block_on<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        // Soundness: the borrows of `f` and `T` live until this function
        // returns, and it returns only after `wait` saw the task complete;
        // the wait is not cancellable, and nothing between `submit` and
        // `wait` can unwind (see `submit`).
        // SAFETY: by the soundness argument just above.
        let prepared =
            unsafe { Builder::new().prepare_unchecked(&self.shared, f, Location::caller()) };
        let (task, handle) = prepared.unwrap_or_else(|e| panic!("failed to spawn coroutine: {e}"));
        submit(&self.shared, task);
        match handle.wait_uncancellable() {
            Ok(value) => value,
            Err(payload) => panic::resume_unwind(payload),
        }
    }

    /// Spawns a coroutine on this runtime, from any thread.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().workers(1).build()?;
    /// let h = rt.spawn(|| 7);
    /// assert_eq!(h.join().unwrap(), 7);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Builder::new()
            .spawn_on(&self.shared, f, Location::caller())
            .unwrap_or_else(|e| panic!("failed to spawn coroutine: {e}"))
    }

    /// The number of worker threads.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().workers(3).build()?;
    /// assert_eq!(rt.workers(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn workers(&self) -> usize {
        self.shared.remotes.len()
    }

    /// Shuts the runtime down: every coroutine still alive is cancelled
    /// (it unwinds from its parking point, running its destructors, so
    /// the sockets it owns close), queued ones never start, and this
    /// returns once the worker threads have exited. Dropping the runtime
    /// does the same.
    ///
    /// # Panics
    /// When called from one of this runtime's own coroutines, which would
    /// wait for itself.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = weft::Runtime::builder().workers(1).build()?;
    /// let h = rt.spawn(|| weft::sleep(Duration::from_secs(3600)));
    /// rt.shutdown();
    /// assert!(h.join().unwrap_err().is::<weft::Cancelled>());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        if worker::current_shared().is_some_and(|s| Arc::ptr_eq(&s, &self.shared)) {
            panic!(
                "weft: a runtime cannot be shut down (or dropped) from one of its own \
                 coroutines; shut it down from the thread that built it"
            );
        }
        self.dump_on_signal = None;
        self.shared.begin_shutdown();
        for handle in self.threads.drain(..) {
            // A worker panicking is a weft bug; the others still exit.
            let _ = handle.join();
        }
        self.shared.cancel_injected();
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.stop();
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.workers())
            .finish_non_exhaustive()
    }
}

static DEFAULT: OnceLock<Runtime> = OnceLock::new();

/// The default runtime, started on first use.
fn default_runtime() -> &'static Runtime {
    DEFAULT.get_or_init(|| {
        let mut builder = Runtime::builder();
        if let Some(signal) = std::env::var("WEFT_DUMP_SIGNAL")
            .ok()
            .and_then(|s| crate::observe::signal::parse_signal(&s))
        {
            builder = builder.dump_on_signal(signal);
        }
        builder
            .build()
            .unwrap_or_else(|e| panic!("weft: cannot start the default runtime: {e}"))
    })
}

pub(crate) fn default_shared() -> &'static Arc<Shared> {
    &default_runtime().shared
}

/// Runs `f` as a coroutine on the default runtime and returns its result:
/// the usual entry point of a weft program, like `block_on`.
///
/// ```
/// let n = weft::run(|| {
///     let h = weft::spawn(|| 20);
///     h.join().unwrap() + 22
/// });
/// assert_eq!(n, 42);
/// ```
#[track_caller]
pub fn run<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    default_runtime().block_on(f)
}
