//! [`stats`]: process-wide resource counters of weft (coroutine stacks,
//! socket registrations, timers), cheap enough to sample in production.
//!
//! [`dump`](crate::dump) says what each coroutine does; these counters say
//! what weft holds. A leak shows as a count that keeps growing while the
//! load stays the same: `examples/soak.rs` samples them to fail on growth,
//! and the cancel-storm test checks they return to their baseline.

use std::sync::atomic::Ordering;

use crate::stack;

/// Resource counters of weft, summed over every live runtime; a snapshot
/// (exact when nothing runs, approximate under concurrent use).
///
/// ```
/// // A parked coroutine holds a stack from the pool.
/// let (tx, rx) = std::sync::mpsc::channel();
/// let h = weft::spawn(move || {
///     tx.send(weft::stats().stacks_in_use).unwrap();
///     weft::park();
/// });
/// assert!(rx.recv().unwrap() >= 1);
/// h.coroutine().unpark();
/// h.join().unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Coroutine stacks in use: one per started, unfinished coroutine.
    pub stacks_in_use: usize,
    /// Free stacks kept resident in the workers' caches for quick reuse
    /// (bounded per thread; given back after a second of idleness).
    pub stacks_hot: usize,
    /// Free stacks whose memory went back to the OS (address space only).
    pub stacks_cold: usize,
    /// Address space reserved for stacks, in bytes (virtual, not resident;
    /// never returned while the process lives).
    pub stack_bytes_mapped: usize,
    /// Sockets registered with a worker's poller.
    pub io_registrations: usize,
    /// Armed timers (sleeps, timeouts) on the workers.
    pub timers_armed: usize,
    /// Closed sockets whose poller state is freed after the next poll
    /// cycle of their worker (bounded by what closed since).
    pub io_pending_release: usize,
}

/// The current [`Stats`].
///
/// ```
/// let s = weft::stats();
/// println!("{} stacks in use, {} sockets registered", s.stacks_in_use, s.io_registrations);
/// ```
pub fn stats() -> Stats {
    let pool = stack::stats();
    let mut stats = Stats {
        stacks_in_use: pool.in_use,
        stacks_hot: pool.cached_hot,
        stacks_cold: pool.cached_cold,
        stack_bytes_mapped: pool.mapped_bytes,
        ..Stats::default()
    };
    for shared in super::dump::live_runtimes() {
        for remote in &shared.remotes {
            stats.io_registrations += remote.io.sources.load(Ordering::Relaxed);
            stats.io_pending_release += remote.io.pending_release();
            stats.timers_armed += remote.timers_armed.load(Ordering::Relaxed);
        }
    }
    stats
}
