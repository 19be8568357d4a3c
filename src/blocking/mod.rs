//! Offloading work that blocks: [`spawn_blocking`] for `'static` jobs with
//! a [`JoinHandle`], and the crate-internal [`unblock`] for calls that
//! borrow (a `File::read` into the caller's buffer).
//!
//! A coroutine must never block its worker thread: every other coroutine
//! of that worker would stop with it. Work that cannot park — a file
//! system call, a C library, a long computation — goes to the blocking
//! [`pool`] of plain OS threads instead, and the coroutine parks until the
//! result is back. On plain threads there is no loop to protect, so
//! [`unblock`] runs the call inline.

mod pool;

use std::any::Any;
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;
use std::sync::Arc;

use crate::rt::coroutine::{Cancelled, Header, HeaderWith};
use crate::rt::join::{JoinHandle, Packet};
use crate::rt::park;
use crate::rt::worker;

use pool::{Job, JobStart, Pool};

/// Runs `f` on a thread of weft's blocking pool and returns a
/// [`JoinHandle`] for its result, like [`std::thread::spawn`] but on
/// pooled threads, and like `tokio::task::spawn_blocking`.
///
/// Use it for work that would block a worker thread: a blocking system
/// call, a C library, a computation of more than a millisecond or so.
/// [`JoinHandle::join`] parks the calling coroutine (or blocks the calling
/// thread) until `f` has returned; a panic in `f` is caught and returned by
/// `join` as `Err`.
///
/// The pool is shared by the whole process (every runtime), and works
/// without one: `spawn_blocking` may be called from any thread. It starts
/// threads named `weft-blocking` on demand, up to 512 at once (the
/// `WEFT_BLOCKING_THREADS` environment variable, read on first use,
/// changes the cap); past the cap jobs wait in FIFO order. A thread idle
/// for 10 s exits. Do not make a blocking job wait for another blocking
/// job to start: at the cap that deadlocks.
///
/// **Cancellation.** [`JoinHandle::cancel`] before `f` has started means
/// it never runs, and `join` returns `Err` with a
/// [`Cancelled`] payload. A job that has started cannot be
/// interrupted (no OS thread can be, safely): it runs to the end and
/// `join` returns its result.
///
/// ```
/// use std::time::Duration;
/// weft::run(|| {
///     let h = weft::spawn_blocking(|| {
///         // Blocks this pool thread, not the coroutine's worker.
///         std::thread::sleep(Duration::from_millis(10));
///         std::thread::current().name().map(String::from)
///     });
///     assert_eq!(h.join().unwrap().as_deref(), Some("weft-blocking"));
/// });
/// ```
#[track_caller]
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_on(Pool::global(), f)
}

#[track_caller]
fn spawn_on<F, T>(pool: &Pool, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // The job's header: a packet is its whole tail (it never runs as a
    // coroutine).
    let job = HeaderWith::new(None, std::panic::Location::caller(), Packet::<T>::empty());
    let header: Arc<Header> = job.clone();
    // SAFETY: the packet is the tail of `header`'s own allocation.
    let handle = unsafe { JoinHandle::for_blocking_job(header, NonNull::from(&job.tail)) };
    pool.execute(Box::new(move |start| {
        let result = match start {
            JobStart::Run if job.is_cancelled() => {
                drop(f);
                Err(Box::new(Cancelled) as Box<dyn Any + Send>)
            }
            JobStart::Run => panic::catch_unwind(AssertUnwindSafe(f)),
            JobStart::NoThread(message) => {
                drop(f);
                Err(Box::new(message) as Box<dyn Any + Send>)
            }
        };
        // A late unpark (a cancel after the end) has nothing to wake.
        job.park.set_done();
        job.tail.complete(result);
    }));
    handle
}

/// Runs `f`, which may borrow from the caller, where it cannot stall a
/// worker: in a coroutine, on the blocking pool while the coroutine parks;
/// on any other thread, right here.
///
/// The park is not cancellable: `f` borrows from this frame, so the frame
/// must not unwind before `f` is done (the reason `Runtime::block_on`
/// waits the same way). A cancel delivered meanwhile takes effect at the
/// caller's next parking point; one already delivered unwinds from here
/// before anything is submitted, so the call counts as a parking point. A
/// panic in `f` is resumed in the caller.
pub(crate) fn unblock<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    if !worker::in_coroutine() {
        return f();
    }
    park::check_cancelled();
    offload(f)
}

/// The coroutine half of [`unblock`], without its cancellation point: runs
/// `f` on the pool while the calling coroutine parks, uncancellably. Only
/// called in a coroutine. The `hook` feature's `getaddrinfo` uses it
/// directly, as an `extern "C"` function must not unwind.
pub(crate) fn offload<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let packet = Packet::new();
    let theirs = packet.clone();
    let job: Box<dyn FnOnce(JobStart) + Send + '_> = Box::new(move |start| {
        // With no pool thread to be had, run `f` here (on the submitting
        // worker): a stalled loop beats a failed file operation.
        let result = match start {
            JobStart::Run | JobStart::NoThread(_) => crate::rt::unwinding::catch_unwind(f),
        };
        theirs.complete(result);
    });
    // Soundness: only the lifetime changes (same layout for a boxed trait
    // object). The borrows of `f` and `T` live until this function
    // returns, and it returns only once the packet holds the result: the
    // pool calls every job exactly once (`pool` module docs) and the job
    // completes the packet only after `f` is consumed; `execute` never
    // unwinds once the job is queued, and the wait below is not
    // cancellable, so no unwind leaves this frame early either. After
    // `complete`, the job only drops its `Arc` of the now empty packet.
    // SAFETY: by the soundness argument just above.
    let job: Job = unsafe { mem::transmute::<Box<dyn FnOnce(JobStart) + Send + '_>, Job>(job) };
    Pool::global().execute(job);
    match packet.wait(false, crate::observe::WaitFor::Blocking) {
        Ok(value) => value,
        Err(payload) => crate::rt::unwinding::resume_unwind(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};
    use std::time::Duration;

    #[test]
    fn cancel_before_start_never_runs_the_job() {
        // One thread, held by a job, so the next one waits in the queue.
        let pool = Pool::new(1, Duration::from_secs(10));
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let blocker = spawn_on(&pool, move || {
            started_tx.send(()).unwrap();
            gate_rx.recv().unwrap();
        });
        started_rx.recv().unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let queued = spawn_on(&pool, move || r.store(true, Ordering::SeqCst));
        queued.cancel();
        gate_tx.send(()).unwrap();
        blocker.join().unwrap();
        assert!(queued.join().unwrap_err().is::<Cancelled>());
        assert!(!ran.load(Ordering::SeqCst));
    }

    #[test]
    fn cancel_after_start_lets_the_job_finish() {
        let pool = Pool::new(1, Duration::from_secs(10));
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let h = spawn_on(&pool, move || {
            started_tx.send(()).unwrap();
            gate_rx.recv().unwrap();
            7
        });
        started_rx.recv().unwrap();
        h.cancel();
        gate_tx.send(()).unwrap();
        assert_eq!(h.join().unwrap(), 7);
    }

    #[test]
    fn unblock_outside_a_coroutine_runs_inline() {
        let here = std::thread::current().id();
        let mut buf = [0u8; 4];
        let ran_on = unblock(|| {
            buf.copy_from_slice(b"abcd");
            std::thread::current().id()
        });
        assert_eq!(ran_on, here);
        assert_eq!(&buf, b"abcd");
    }

    #[test]
    fn unblock_in_a_coroutine_runs_on_the_pool_and_borrows() {
        let rt = crate::Runtime::builder().workers(1).build().unwrap();
        let (name, buf) = rt.block_on(|| {
            let mut buf = vec![0u8; 3];
            let name = unblock(|| {
                buf.copy_from_slice(b"xyz");
                std::thread::current().name().map(String::from)
            });
            (name, buf)
        });
        assert_eq!(name.as_deref(), Some(pool::THREAD_NAME));
        assert_eq!(buf, b"xyz");
    }

    #[test]
    fn unblock_resumes_a_panic_in_the_coroutine() {
        let rt = crate::Runtime::builder().workers(1).build().unwrap();
        let caught =
            rt.block_on(|| panic::catch_unwind(|| unblock(|| panic!("disk on fire"))).unwrap_err());
        assert_eq!(caught.downcast_ref::<&str>(), Some(&"disk on fire"));
    }
}
