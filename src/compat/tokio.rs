//! tokio-based crates from coroutines: a tokio runtime for the process,
//! and a [`block_on`] that polls futures inside its context.
//!
//! Many crates' futures only work "inside a tokio runtime": their sockets
//! register with the runtime's I/O driver, their timers with its timer
//! wheel, and they `tokio::spawn` helper tasks (hyper's connections).
//! They find the runtime through a thread-local *context*. This module
//! starts one multi-threaded tokio runtime, lazily, the first time it is
//! needed, on threads of its own (`weft-tokio-N`), and [`block_on`]
//! enters its context around each poll of the future.
//!
//! The future is polled on the calling coroutine's own stack, between
//! parks, exactly as [`crate::future::block_on`] does; it is never sent to
//! tokio's threads, so it need not be `Send` and may borrow from the
//! caller. What runs on tokio's threads is tokio's own machinery: the I/O
//! driver and timer wheel (which call the future's `Waker`, unparking the
//! coroutine) and whatever the future `tokio::spawn`s.
//!
//! ## Size of the runtime
//! The runtime has [`set_worker_threads`] threads if that was called
//! before its first use, else the number in the environment variable
//! `WEFT_TOKIO_WORKER_THREADS`, else tokio's default (one per CPU core).
//! Its threads mostly sleep in `epoll_wait`: they run tokio's drivers and
//! the tasks spawned on it, not the coroutines' futures.
//!
//! ## Build tokio futures inside the `async` block
//! The context is there while the future is *polled*, not while its
//! argument is evaluated: some tokio constructors need it at once
//! (`tokio::time::sleep` panics with "there is no reactor running"), so
//! write `block_on(async { tokio::time::sleep(d).await })`, not
//! `block_on(tokio::time::sleep(d))`. An `async fn`'s future (such as
//! `TcpStream::connect(addr)`) runs nothing until polled and is fine
//! either way.
//!
//! ## Do not park inside `poll`
//! The context is entered only while the future is polled, never across a
//! park, because the other coroutines of the worker run on the same
//! thread in between and may enter it too (tokio's context is a
//! thread-local stack of guards, which must be left in order). So the
//! future's `poll` must not itself park the coroutine (call a blocking
//! weft function from inside an `async` block): a second coroutine could
//! enter and leave the context in between, out of order, and tokio
//! panics. Blocking weft calls belong before or after `block_on`, not
//! inside the future.
//!
//! `arch/future.md` explains why polling on the coroutine is sound.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::runtime::{Builder, Handle, Runtime};

/// The environment variable read for the runtime's thread count when
/// [`set_worker_threads`] was not called.
pub const WORKER_THREADS_ENV: &str = "WEFT_TOKIO_WORKER_THREADS";

/// Threads asked for with `set_worker_threads`; 0: not set.
static WORKER_THREADS: AtomicUsize = AtomicUsize::new(0);

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// Sets the number of threads of the process's tokio runtime. It takes
/// effect only before the runtime's first use (a [`block_on`] or
/// [`handle`]); returns `false`, changing nothing, if the runtime has
/// already started.
///
/// # Panics
/// If `n` is 0.
///
/// ```
/// // Before anything in the process used the runtime:
/// assert!(weft::compat::tokio::set_worker_threads(2));
/// weft::compat::tokio::handle(); // starts it, with 2 threads
/// assert!(!weft::compat::tokio::set_worker_threads(4));
/// ```
pub fn set_worker_threads(n: usize) -> bool {
    assert!(n > 0, "the tokio runtime needs at least one thread");
    if RUNTIME.get().is_some() {
        return false;
    }
    WORKER_THREADS.store(n, Ordering::Relaxed);
    // It may have started in between: then it did not see `n`.
    RUNTIME.get().is_none()
}

/// The number of threads to start: see the module docs.
fn worker_threads() -> Option<usize> {
    match WORKER_THREADS.load(Ordering::Relaxed) {
        0 => std::env::var(WORKER_THREADS_ENV)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|&n: &usize| n > 0),
        n => Some(n),
    }
}

fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        let mut builder = Builder::new_multi_thread();
        if let Some(n) = worker_threads() {
            builder.worker_threads(n);
        }
        builder
            .enable_io()
            .enable_time()
            .thread_name_fn(|| {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                format!("weft-tokio-{}", NEXT.fetch_add(1, Ordering::Relaxed))
            })
            .build()
            .unwrap_or_else(|e| panic!("failed to start the tokio runtime: {e}"))
    })
}

/// A handle to the process's tokio runtime, starting it if needed: to
/// `spawn` tasks on it from anywhere, or to enter its context yourself.
///
/// ```
/// let handle = weft::compat::tokio::handle();
/// let task = handle.spawn(async { 6 * 7 });
/// let answer = weft::spawn(move || weft::compat::tokio::block_on(task).unwrap());
/// assert_eq!(answer.join().unwrap(), 42);
/// ```
pub fn handle() -> &'static Handle {
    runtime().handle()
}

/// Runs `future` to completion on the calling coroutine (or thread), polling
/// it inside the context of the process's tokio runtime, so tokio's
/// sockets, timers and `tokio::spawn` work in it.
///
/// Otherwise exactly [`crate::future::block_on`]: in a coroutine it parks
/// between polls and the future's waker (called by tokio's driver threads)
/// unparks it; on a plain thread it blocks the thread. The future is never
/// moved to another thread, so it need not be `Send`. A parking point: a
/// cancelled coroutine drops the future and unwinds.
///
/// The future's `poll` must not park the coroutine (see the module docs).
/// Inside async code, `.await` instead: this blocks the executor's thread.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let handles: Vec<_> = (0..100)
///     .map(|_| weft::spawn(|| {
///         weft::compat::tokio::block_on(async {
///             tokio::time::sleep(Duration::from_millis(50)).await;
///         })
///     }))
///     .collect();
/// let start = Instant::now();
/// for h in handles {
///     h.join().unwrap();
/// }
/// // 100 sleeps of 50 ms, overlapped.
/// assert!(start.elapsed() < Duration::from_secs(3));
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    let handle = handle();
    crate::future::poll_until_ready(future, |future, cx| {
        // Entered for this poll only: between polls other coroutines run
        // on this thread (see the module docs).
        let _context = handle.enter();
        future.poll(cx)
    })
}
