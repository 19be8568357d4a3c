//! The blocking pool: OS threads that run jobs which may block, so that
//! coroutines never block their worker.
//!
//! One pool serves the whole process (every runtime shares it). It starts
//! with no thread. Submitting a job wakes an idle thread if there is one;
//! otherwise it starts a new thread, up to a cap; at the cap the job waits
//! in a FIFO queue for the next thread to finish its job. A thread that
//! has found no job for the keep-alive period exits, so a burst of file
//! I/O grows the pool and a quiet process gives the threads back.
//! `arch/blocking.md` argues the defaults.
//!
//! Idle accounting: `idle + notified` is always the number of threads
//! waiting for a job. A submitter that finds `idle > 0` moves one unit
//! from `idle` to `notified` and signals the condvar; a waiting thread
//! leaves the wait either by taking a unit of `notified` (it then looks at
//! the queue) or, after the keep-alive, by taking a unit of `idle` (it
//! then exits). So a submitter never counts on a thread that is leaving,
//! and two submitters never count on the same idle thread.
//!
//! **Every submitted job is called exactly once**, with
//! [`JobStart::Run`] on a pool thread, or with [`JobStart::NoThread`] on
//! the submitting thread when no thread could be started and none is left
//! to run it. The scoped offload in `blocking/mod.rs` relies on this for
//! soundness.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How a job is called.
pub(crate) enum JobStart {
    /// On a pool thread: run it.
    Run,
    /// On the submitting thread: no pool thread could be started (the
    /// message says why) and none is alive to run it.
    NoThread(String),
}

/// A unit of work for the pool. It does its own bookkeeping (catching
/// panics, completing a join packet), so the pool only calls it.
pub(crate) type Job = Box<dyn FnOnce(JobStart) + Send>;

/// Default cap on the number of pool threads (tokio's figure).
pub(crate) const DEFAULT_MAX_THREADS: usize = 512;
/// Default time an idle pool thread waits for a job before it exits.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);
/// The name of every pool thread.
pub(crate) const THREAD_NAME: &str = "weft-blocking";
/// Environment variable that overrides the cap of the process-wide pool.
pub(crate) const MAX_THREADS_ENV: &str = "WEFT_BLOCKING_THREADS";

/// A pool of blocking threads. Cloning gives another handle to the same
/// pool.
#[derive(Clone)]
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    /// Signalled once per unit moved from `idle` to `notified`.
    work: Condvar,
    max_threads: usize,
    keep_alive: Duration,
}

struct State {
    queue: VecDeque<Job>,
    /// Live pool threads, busy or idle (counted from the moment a
    /// submitter decides to start one).
    threads: usize,
    /// Waiting threads no submitter has claimed yet.
    idle: usize,
    /// Claims made by submitters that no waiting thread has taken yet.
    notified: usize,
}

impl Pool {
    /// An empty pool with at most `max_threads` threads (at least 1), each
    /// exiting after `keep_alive` without a job.
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> Pool {
        Pool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    notified: 0,
                }),
                work: Condvar::new(),
                max_threads: max_threads.max(1),
                keep_alive,
            }),
        }
    }

    /// The process-wide pool, created on first use; its cap comes from
    /// `WEFT_BLOCKING_THREADS` if set.
    pub(crate) fn global() -> &'static Pool {
        static GLOBAL: OnceLock<Pool> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let max_threads = std::env::var(MAX_THREADS_ENV)
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|&n: &usize| n > 0)
                .unwrap_or(DEFAULT_MAX_THREADS);
            Pool::new(max_threads, DEFAULT_KEEP_ALIVE)
        })
    }

    /// Queues `job` and makes sure a thread will run it. Never unwinds
    /// once the job is queued (callers rely on that, see the module docs).
    pub(crate) fn execute(&self, job: Job) {
        let mut state = self.inner.lock();
        state.queue.push_back(job);
        if state.idle > 0 {
            state.idle -= 1;
            state.notified += 1;
            drop(state);
            self.inner.work.notify_one();
            return;
        }
        if state.threads >= self.inner.max_threads {
            // Every thread is busy: the first to finish takes the job.
            return;
        }
        state.threads += 1;
        drop(state);
        let inner = self.inner.clone();
        let started = thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || inner.run_thread());
        if let Err(e) = started {
            self.thread_failed(e);
        }
    }

    /// A thread could not be started. If another thread lives it will run
    /// the queue; otherwise every queued job is handed back, here.
    fn thread_failed(&self, e: io::Error) {
        let mut state = self.inner.lock();
        state.threads -= 1;
        if state.threads > 0 {
            return;
        }
        let stranded: Vec<Job> = state.queue.drain(..).collect();
        drop(state);
        let message = format!("weft: cannot start a blocking-pool thread: {e}");
        // Not `eprintln!`: it panics when stderr is gone, and this path
        // must not unwind.
        let _ = writeln!(io::stderr(), "{message}");
        for job in stranded {
            job(JobStart::NoThread(message.clone()));
        }
    }

    /// Live threads of this pool, busy or idle.
    #[cfg(test)]
    pub(crate) fn threads(&self) -> usize {
        self.inner.lock().threads
    }
}

impl Inner {
    /// The pool's lock. Jobs never run under it, so it cannot be poisoned
    /// by a job; recovering from poison anyway keeps `execute` from ever
    /// unwinding.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A pool thread's life: run queued jobs; when there are none, wait up
    /// to the keep-alive for a claim, else exit.
    fn run_thread(self: Arc<Inner>) {
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                job(JobStart::Run);
                state = self.lock();
                continue;
            }
            state.idle += 1;
            let deadline = Instant::now() + self.keep_alive;
            loop {
                if state.notified > 0 {
                    state.notified -= 1;
                    break;
                }
                let now = Instant::now();
                if now >= deadline {
                    state.idle -= 1;
                    state.threads -= 1;
                    return;
                }
                state = self
                    .work
                    .wait_timeout(state, deadline - now)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Barrier, mpsc};

    fn wait_until(mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cond() {
            assert!(Instant::now() < deadline, "condition not reached in 10 s");
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// A job that runs `f` on a pool thread.
    fn job(f: impl FnOnce() + Send + 'static) -> Job {
        Box::new(move |start| match start {
            JobStart::Run => f(),
            JobStart::NoThread(m) => panic!("{m}"),
        })
    }

    #[test]
    fn grows_to_the_load_and_shrinks_when_idle() {
        let pool = Pool::new(64, Duration::from_millis(50));
        const N: usize = 16;
        // All N jobs must run at once to pass the barrier.
        let barrier = Arc::new(Barrier::new(N + 1));
        for _ in 0..N {
            let b = barrier.clone();
            pool.execute(job(move || {
                b.wait();
            }));
        }
        barrier.wait();
        assert_eq!(pool.threads(), N);
        wait_until(|| pool.threads() == 0);
    }

    #[test]
    fn idle_threads_are_reused_before_new_ones_start() {
        let pool = Pool::new(64, Duration::from_secs(10));
        for _ in 0..20 {
            let (tx, rx) = mpsc::channel();
            pool.execute(job(move || tx.send(()).unwrap()));
            rx.recv().unwrap();
            // Wait until the thread is back in its idle wait.
            wait_until(|| pool.inner.lock().idle == 1);
        }
        assert_eq!(pool.threads(), 1);
    }

    #[test]
    fn jobs_past_the_cap_wait_in_order() {
        let pool = Pool::new(1, Duration::from_secs(10));
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let order = Arc::new(Mutex::new(Vec::new()));
        let started = Arc::new(AtomicUsize::new(0));
        let mut gate_rx = Some(gate_rx);
        for i in 0..6 {
            let (gate, order, started) = (gate_rx.take(), order.clone(), started.clone());
            pool.execute(job(move || {
                started.fetch_add(1, Ordering::SeqCst);
                if let Some(gate) = gate {
                    gate.recv().unwrap();
                }
                order.lock().unwrap().push(i);
            }));
        }
        wait_until(|| started.load(Ordering::SeqCst) == 1);
        thread::sleep(Duration::from_millis(20));
        // The cap holds: the other five wait behind the blocked job.
        assert_eq!(started.load(Ordering::SeqCst), 1);
        assert_eq!(pool.threads(), 1);
        gate_tx.send(()).unwrap();
        wait_until(|| order.lock().unwrap().len() == 6);
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(pool.threads(), 1);
    }
}
