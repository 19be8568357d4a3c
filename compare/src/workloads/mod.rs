//! The in-process workloads of the weft-versus-peers comparison, written
//! once and shared by `benches/compare.rs` (criterion) and the `compare`
//! binary (`src/main.rs`, the one-command report), so both measure
//! exactly the same code.
//!
//! Each workload file (`spawn_join.rs`, `yield_now.rs`, `ping_pong.rs`,
//! `mutex.rs`, `idle.rs`) holds one function per peer, side by side, with
//! the same logic and the same sizes; this file holds what they share: the
//! list of peers, the sizes, and [`Harness`], which owns one peer's runtime
//! (built once, with the same number of worker threads for every peer) and
//! runs a workload on it *from inside the runtime*, the way a user's code
//! would: on a weft coroutine, a tokio task on a worker, a task on the smol
//! executor's threads, a may coroutine, or a plain thread.

// Each includer uses a different subset (criterion never runs `idle`).
#![allow(dead_code)]

pub mod idle;
pub mod mutex;
pub mod ping_pong;
pub mod spawn_join;
pub mod yield_now;

use std::future::Future;
use std::sync::Arc;
use std::thread;

/// Tasks spawned and joined per `spawn_join` iteration.
pub const SPAWNS: u64 = 100_000;
/// Tasks in the `yield` workload, each yielding [`YIELDS`] times.
pub const YIELD_TASKS: u64 = 1_000;
/// Yields per task in the `yield` workload.
pub const YIELDS: u64 = 1_000;
/// Round trips of one message between two tasks over two channels.
pub const PING_PONGS: u64 = 100_000;
/// Tasks contending for one mutex, each taking it [`LOCKS_EACH`] times.
pub const LOCKERS: u64 = 100;
/// Lock-increment-unlock rounds per task in the `mutex` workload.
pub const LOCKS_EACH: u64 = 10_000;

#[path = "../../benches/support/rt.rs"]
mod rt;
pub use rt::workers;

/// One implementation the comparison runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// weft coroutines on a `weft::Runtime`.
    Weft,
    /// tokio's multi-thread runtime.
    TokioMt,
    /// tokio's current-thread runtime (one thread, whatever the worker count).
    TokioCt,
    /// smol: an `async_executor::Executor` run by `workers` threads.
    Smol,
    /// may's stackful coroutines.
    May,
    /// Plain `std::thread`s.
    Threads,
}

impl Peer {
    /// Every peer, in report order.
    pub const ALL: [Peer; 6] = [
        Peer::Weft,
        Peer::TokioMt,
        Peer::TokioCt,
        Peer::Smol,
        Peer::May,
        Peer::Threads,
    ];

    /// The name used on command lines, in criterion ids and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Weft => "weft",
            Peer::TokioMt => "tokio",
            Peer::TokioCt => "tokio-current-thread",
            Peer::Smol => "smol",
            Peer::May => "may",
            Peer::Threads => "threads",
        }
    }

    /// The peer called `name`.
    pub fn from_name(name: &str) -> Option<Peer> {
        Peer::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// One in-process workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// Spawn [`SPAWNS`] tasks that return a number, join them all.
    SpawnJoin,
    /// [`YIELD_TASKS`] tasks each yield [`YIELDS`] times.
    Yield,
    /// [`PING_PONGS`] round trips between two tasks over two channels.
    PingPong,
    /// [`LOCKERS`] tasks increment one mutex-guarded counter
    /// [`LOCKS_EACH`] times each.
    Mutex,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 4] = [
        Workload::SpawnJoin,
        Workload::Yield,
        Workload::PingPong,
        Workload::Mutex,
    ];

    /// The name used on command lines, as criterion group and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Workload::SpawnJoin => "spawn_join",
            Workload::Yield => "yield",
            Workload::PingPong => "ping_pong",
            Workload::Mutex => "mutex",
        }
    }

    /// The workload called `name`.
    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// How many operations one run performs (the figure is time per operation).
    pub fn operations(self) -> u64 {
        match self {
            Workload::SpawnJoin => SPAWNS,
            Workload::Yield => YIELD_TASKS * YIELDS,
            Workload::PingPong => PING_PONGS,
            Workload::Mutex => LOCKERS * LOCKS_EACH,
        }
    }

    /// What one operation is, for the report.
    pub fn operation(self) -> &'static str {
        match self {
            Workload::SpawnJoin => "spawn + join of one task",
            Workload::Yield => "one yield",
            Workload::PingPong => "one round trip (two sends, two receives)",
            Workload::Mutex => "one lock + increment + unlock",
        }
    }
}

/// Why `peer` cannot run `workload` on this machine, if it cannot: may
/// and threads give every live task a stack mapping plus a guard-page
/// mapping, so the 100,000 live tasks of `spawn_join` need more mappings
/// than a stock `vm.max_map_count` (65,530) allows, and the process dies.
/// (weft carves its stacks from a few large slabs.) The criterion bench
/// skips these pairs; the report runner runs them in a child process and
/// reports the failure.
pub fn cannot_run(peer: Peer, workload: Workload) -> Option<String> {
    let max_map_count: u64 = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let stacked = matches!(peer, Peer::May | Peer::Threads);
    (stacked && workload == Workload::SpawnJoin && max_map_count < 2 * SPAWNS).then(|| {
        format!(
            "{} live {} stacks need about {} memory mappings; vm.max_map_count is {max_map_count}",
            SPAWNS,
            peer.name(),
            2 * SPAWNS
        )
    })
}

/// smol's multi-threaded set-up: one `Executor` run by `n` threads until
/// the pool is dropped.
pub struct SmolPool {
    executor: Arc<smol::Executor<'static>>,
    stop: Option<smol::channel::Sender<()>>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl SmolPool {
    /// Starts `n` executor threads.
    pub fn new(n: usize) -> SmolPool {
        let executor = Arc::new(smol::Executor::new());
        let (stop, stopped) = smol::channel::unbounded::<()>();
        let threads = (0..n)
            .map(|i| {
                let executor = executor.clone();
                let stopped = stopped.clone();
                thread::Builder::new()
                    .name(format!("smol-{i}"))
                    .spawn(move || {
                        // `recv` fails once the sender is dropped: run until then.
                        let _ = smol::block_on(executor.run(stopped.recv()));
                    })
                    .expect("spawn a smol executor thread")
            })
            .collect();
        SmolPool {
            executor,
            stop: Some(stop),
            threads,
        }
    }

    /// The executor, to spawn on from inside a task.
    pub fn executor(&self) -> Arc<smol::Executor<'static>> {
        self.executor.clone()
    }

    /// Runs `fut` as a task on the executor threads and waits for it.
    pub fn block_on<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> T {
        smol::block_on(self.executor.spawn(fut))
    }
}

impl Drop for SmolPool {
    fn drop(&mut self) {
        self.stop.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// One peer's runtime, built once and reused by every run.
pub enum Harness {
    /// A weft runtime with `workers` workers.
    Weft(weft::Runtime),
    /// A tokio multi-thread runtime with `workers` workers.
    TokioMt(tokio::runtime::Runtime),
    /// A tokio current-thread runtime.
    TokioCt(tokio::runtime::Runtime),
    /// A smol executor run by `workers` threads.
    Smol(SmolPool),
    /// may's global scheduler, configured for `workers` workers.
    May,
    /// No runtime: plain threads.
    Threads,
}

impl Harness {
    /// Builds `peer`'s runtime with `workers` worker threads. For may this
    /// configures the process-wide scheduler, which must not have started yet.
    pub fn new(peer: Peer, workers: usize) -> Harness {
        match peer {
            Peer::Weft => Harness::Weft(
                weft::Runtime::builder()
                    .workers(workers)
                    .build()
                    .expect("build a weft runtime"),
            ),
            Peer::TokioMt => Harness::TokioMt(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .enable_all()
                    .build()
                    .expect("build a tokio runtime"),
            ),
            Peer::TokioCt => Harness::TokioCt(
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("build a tokio runtime"),
            ),
            Peer::Smol => Harness::Smol(SmolPool::new(workers)),
            Peer::May => {
                may::config().set_workers(workers);
                Harness::May
            }
            Peer::Threads => Harness::Threads,
        }
    }

    /// Runs one iteration of `workload`, from inside the runtime.
    pub fn run(&self, workload: Workload) {
        match workload {
            Workload::SpawnJoin => self.drive(
                spawn_join::weft,
                spawn_join::tokio,
                spawn_join::smol,
                spawn_join::may,
                spawn_join::threads,
            ),
            Workload::Yield => self.drive(
                yield_now::weft,
                yield_now::tokio,
                yield_now::smol,
                yield_now::may,
                yield_now::threads,
            ),
            Workload::PingPong => self.drive(
                ping_pong::weft,
                ping_pong::tokio,
                ping_pong::smol,
                ping_pong::may,
                ping_pong::threads,
            ),
            Workload::Mutex => self.drive(
                mutex::weft,
                mutex::tokio,
                mutex::smol,
                mutex::may,
                mutex::threads,
            ),
        }
    }

    /// Runs the one of the given implementations that fits this harness.
    pub fn drive<TF, SF>(
        &self,
        on_weft: fn(),
        on_tokio: fn() -> TF,
        on_smol: fn(Arc<smol::Executor<'static>>) -> SF,
        on_may: fn(),
        on_threads: fn(),
    ) where
        TF: Future<Output = ()> + Send + 'static,
        SF: Future<Output = ()> + Send + 'static,
    {
        match self {
            Harness::Weft(rt) => rt.block_on(on_weft),
            // The driver runs as a task on a worker, like weft's coroutine,
            // not on the thread that called block_on.
            Harness::TokioMt(rt) => rt.block_on(async {
                tokio::spawn(on_tokio())
                    .await
                    .expect("the driver task panicked")
            }),
            Harness::TokioCt(rt) => rt.block_on(on_tokio()),
            Harness::Smol(pool) => pool.block_on(on_smol(pool.executor())),
            Harness::May => may::go!(on_may)
                .join()
                .expect("the driver coroutine panicked"),
            Harness::Threads => on_threads(),
        }
    }
}
