//! [`dump`]: a snapshot of every live coroutine of every runtime, for
//! people (`Display`) and for tools (the records).
//!
//! Each worker's `inspect` table lists its started, live coroutines; a
//! dump locks each table in turn, just long enough to copy the records of
//! that worker's coroutines. It never waits for a worker to reach a safe
//! point, so it completes while every worker is busy; the price is that a
//! coroutine changing state during the copy may be shown in either state
//! (see `arch/observe.md`).

use std::fmt;
use std::panic::Location;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::WaitFor;
use crate::rt::coroutine::{CoroutineId, Header};
use crate::rt::scheduler::Shared;

/// Every runtime that has been built and not yet dropped.
static RUNTIMES: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// Every runtime built and not yet dropped, oldest first.
pub(crate) fn live_runtimes() -> Vec<Arc<Shared>> {
    let runtimes = RUNTIMES.lock().unwrap_or_else(|e| e.into_inner());
    runtimes.iter().filter_map(Weak::upgrade).collect()
}

/// Makes a runtime visible to [`dump`].
pub(crate) fn register(shared: &Arc<Shared>) {
    let mut runtimes = RUNTIMES.lock().unwrap_or_else(|e| e.into_inner());
    runtimes.retain(|w| w.strong_count() > 0);
    runtimes.push(Arc::downgrade(shared));
}

/// What a coroutine is doing at the moment of the dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CoroutineState {
    /// Running on its worker right now.
    Running,
    /// Runnable, waiting for its worker to get to it.
    Ready,
    /// Parked until something wakes it (see [`CoroutineRecord::wait`]).
    Parked,
}

/// One live coroutine in a [`Dump`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CoroutineRecord {
    /// Its id.
    pub id: CoroutineId,
    /// Its name, if it was given one.
    pub name: Option<String>,
    /// Index of its runtime in the dump (in order of creation).
    pub runtime: usize,
    /// Index of the worker that owns it.
    pub worker: usize,
    /// Running, ready or parked.
    pub state: CoroutineState,
    /// What a parked coroutine waits for, if it said.
    pub wait: Option<WaitFor>,
    /// How long it has been in this state (coarse: the workers' clock
    /// advances every few dozen coroutine runs).
    pub since: Duration,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// Bytes of stack in use at its latest parking point.
    pub stack_used: usize,
    /// The most stack it has been seen to use at a parking point.
    pub stack_high_water: usize,
    /// Its usable stack size.
    pub stack_size: usize,
}

/// One worker in a [`Dump`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WorkerRecord {
    /// Index of its runtime in the dump.
    pub runtime: usize,
    /// Its index within the runtime.
    pub index: usize,
    /// Started coroutines it owns.
    pub coroutines: usize,
    /// Of those, how many are ready to run.
    pub ready: usize,
    /// Coroutine resumes it has performed.
    pub switches: u64,
    /// The coroutine it is running, if any.
    pub running: Option<CoroutineId>,
}

/// A snapshot of every live coroutine of every runtime, from [`dump`].
///
/// `Display` prints it for people; [`Dump::coroutines`] and
/// [`Dump::workers`] walk it as data.
#[derive(Clone, Debug, Default)]
pub struct Dump {
    workers: Vec<WorkerRecord>,
    coroutines: Vec<CoroutineRecord>,
    not_started: Vec<usize>,
}

impl Dump {
    /// The live, started coroutines, worker by worker.
    ///
    /// ```
    /// let h = weft::Builder::new()
    ///     .name("napper".into())
    ///     .spawn(|| weft::sleep(std::time::Duration::from_millis(200)))
    ///     .unwrap();
    /// std::thread::sleep(std::time::Duration::from_millis(50));
    /// let dump = weft::dump();
    /// let me = dump.coroutines().find(|c| c.id == h.id()).unwrap();
    /// assert_eq!(me.name.as_deref(), Some("napper"));
    /// assert!(matches!(me.wait, Some(weft::WaitFor::Sleep(_))));
    /// # h.join().unwrap();
    /// ```
    pub fn coroutines(&self) -> impl Iterator<Item = &CoroutineRecord> {
        self.coroutines.iter()
    }

    /// One record per worker of every runtime.
    ///
    /// ```
    /// let rt = weft::Runtime::builder().workers(2).build().unwrap();
    /// let dump = weft::dump();
    /// assert!(dump.workers().count() >= 2);
    /// ```
    pub fn workers(&self) -> impl Iterator<Item = &WorkerRecord> {
        self.workers.iter()
    }
}

/// Takes a snapshot of every live coroutine of every runtime: for each,
/// its id, name, state, what it waits for and since when, where it was
/// spawned and its stack use; and per worker a summary. Like Go's
/// goroutine dump on SIGQUIT; see also
/// [`RuntimeBuilder::dump_on_signal`](crate::RuntimeBuilder::dump_on_signal).
///
/// Safe to call from anywhere, also while every worker is busy: it does
/// not wait for the workers.
///
/// ```
/// let rt = weft::Runtime::builder().workers(1).build().unwrap();
/// let h = rt.spawn(|| weft::park());
/// std::thread::sleep(std::time::Duration::from_millis(50));
/// println!("{}", weft::dump());
/// h.coroutine().unpark();
/// h.join().unwrap();
/// ```
pub fn dump() -> Dump {
    // The coarse clock stands still while every worker sleeps.
    super::advance_clock(std::time::Instant::now());
    let runtimes = live_runtimes();
    let mut dump = Dump::default();
    for (runtime, shared) in runtimes.iter().enumerate() {
        let not_started = shared.injector.len()
            + shared.stealers.iter().map(|s| s.len()).sum::<usize>()
            + shared.overflow.len() * crate::rt::worker::OVERFLOW_BATCH;
        dump.not_started.push(not_started);
        for remote in &shared.remotes {
            // A coroutine that has ended (its `join` may have returned)
            // is no longer listed, though its worker may not have taken
            // it out of its table yet.
            let headers: Vec<Arc<Header>> = remote
                .live_headers()
                .into_iter()
                .filter(|h| !h.has_ended())
                .collect();
            let running = remote.with_running(|h| h.filter(|h| !h.has_ended()).map(|h| h.id()));
            let start = dump.coroutines.len();
            for header in headers {
                let state = if Some(header.id()) == running {
                    CoroutineState::Running
                } else if header.park.is_parked() {
                    CoroutineState::Parked
                } else {
                    CoroutineState::Ready
                };
                let (stack_used, stack_high_water, stack_size) = header.observed.stack_usage();
                dump.coroutines.push(CoroutineRecord {
                    id: header.id(),
                    name: header.name().map(String::from),
                    runtime,
                    worker: remote.index,
                    state,
                    wait: if state == CoroutineState::Parked {
                        header.observed.wait()
                    } else {
                        None
                    },
                    since: header.observed.for_how_long(),
                    spawned_at: header.spawned_at,
                    stack_used,
                    stack_high_water,
                    stack_size,
                });
            }
            let mine = &dump.coroutines[start..];
            dump.workers.push(WorkerRecord {
                runtime,
                index: remote.index,
                coroutines: mine.len(),
                ready: mine
                    .iter()
                    .filter(|c| c.state == CoroutineState::Ready)
                    .count(),
                switches: remote.switches(),
                running,
            });
        }
    }
    dump
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

impl fmt::Display for WaitFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitFor::Sleep(until) => {
                let left = until.saturating_duration_since(std::time::Instant::now());
                write!(f, "sleep ({left:.0?} left)")
            }
            WaitFor::Socket { fd, write } => {
                write!(
                    f,
                    "socket fd {fd} ({})",
                    if *write { "writable" } else { "readable" }
                )
            }
            WaitFor::Channel => f.write_str("channel"),
            WaitFor::Mutex => f.write_str("Mutex"),
            WaitFor::RwLock => f.write_str("RwLock"),
            WaitFor::Condvar => f.write_str("Condvar"),
            WaitFor::Semaphore => f.write_str("Semaphore"),
            WaitFor::Barrier => f.write_str("Barrier/WaitGroup"),
            WaitFor::Join(id) => write!(f, "join of coroutine {id}"),
            WaitFor::Blocking => f.write_str("spawn_blocking"),
            WaitFor::Park => f.write_str("park"),
            WaitFor::Once => f.write_str("Once/OnceLock/LazyLock"),
            WaitFor::Scope => f.write_str("end of thread::scope"),
            WaitFor::Future => f.write_str("future (block_on)"),
        }
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "weft dump: {} live coroutines on {} workers",
            self.coroutines.len(),
            self.workers.len()
        )?;
        for (runtime, queued) in self.not_started.iter().enumerate() {
            writeln!(
                f,
                "runtime {runtime}: {queued} coroutines spawned, not started yet"
            )?;
            for w in self.workers.iter().filter(|w| w.runtime == runtime) {
                write!(
                    f,
                    "  worker {}: {} coroutines, {} ready, {} switches",
                    w.index, w.coroutines, w.ready, w.switches
                )?;
                match w.running {
                    Some(id) => writeln!(f, ", running coroutine {id}")?,
                    None => writeln!(f, ", idle")?,
                }
            }
        }
        for c in &self.coroutines {
            writeln!(f)?;
            write!(
                f,
                "coroutine {} '{}' [",
                c.id,
                c.name.as_deref().unwrap_or("<unnamed>")
            )?;
            match (c.state, c.wait) {
                (CoroutineState::Running, _) => write!(f, "running on worker {}", c.worker)?,
                (CoroutineState::Ready, _) => write!(f, "ready on worker {}", c.worker)?,
                (CoroutineState::Parked, Some(wait)) => write!(f, "parked: {wait}")?,
                (CoroutineState::Parked, None) => f.write_str("parked")?,
            }
            writeln!(f, ", for {:.0?}]", c.since)?;
            writeln!(f, "    spawned at {}", c.spawned_at)?;
            writeln!(
                f,
                "    stack: {} in use, {} at most, of {}; worker {} of runtime {}",
                kib(c.stack_used),
                kib(c.stack_high_water),
                kib(c.stack_size),
                c.worker,
                c.runtime
            )?;
        }
        Ok(())
    }
}
