//! What every coroutine is doing, recorded cheaply enough to leave on.
//!
//! - [`WaitFor`]: why a coroutine is parked. A waiting primitive calls
//!   [`waiting`] before its park loop; the returned guard records the
//!   reason and the time in the coroutine's header (two relaxed stores,
//!   the time from a coarse clock the workers keep) and clears it on drop.
//! - Each parking point also records the stack pointer, giving the bytes
//!   of stack in use and their high-water mark.
//! - Each worker keeps its live coroutines' headers in its `inspect`
//!   table (touched on start and finish only), which [`dump`](crate::dump)
//!   reads.
//!
//! `arch/observe.md` tells what a dump costs and what it can miss.

pub(crate) mod dump;
pub(crate) mod signal;
pub(crate) mod stats;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::rt::coroutine::CoroutineId;

/// Why a coroutine is parked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitFor {
    /// `weft::sleep` (or a timed park) until this instant.
    Sleep(Instant),
    /// A socket: its file descriptor, and whether it waits to write
    /// (`true`) or to read (`false`).
    Socket {
        /// The socket's file descriptor.
        fd: i32,
        /// Waiting to write (`true`) or to read/accept (`false`).
        write: bool,
    },
    /// A channel (`mpsc`, `oneshot`, `select!`).
    Channel,
    /// A `Mutex`.
    Mutex,
    /// An `RwLock`.
    RwLock,
    /// A `Condvar`.
    Condvar,
    /// A `Semaphore`.
    Semaphore,
    /// A `Barrier` or a `WaitGroup`.
    Barrier,
    /// `join` of this coroutine.
    Join(CoroutineId),
    /// The result of a `spawn_blocking` job or a file operation.
    Blocking,
    /// A bare `weft::park`.
    Park,
    /// A `Once`, `OnceLock` or `LazyLock` another coroutine or thread is
    /// initialising.
    Once,
    /// The end of a `thread::scope`: its scoped coroutines.
    Scope,
    /// A future in `weft::future::block_on` (or the tokio bridge's).
    Future,
}

const KIND_SHIFT: u32 = 56;
const ARG_MASK: u64 = (1 << KIND_SHIFT) - 1;

impl WaitFor {
    #[inline]
    fn encode(self) -> u64 {
        let (kind, arg): (u64, u64) = match self {
            WaitFor::Sleep(at) => (1, nanos_since_epoch(at) & ARG_MASK),
            WaitFor::Socket { fd, write } => (2, ((fd as u32 as u64) << 1) | write as u64),
            WaitFor::Channel => (3, 0),
            WaitFor::Mutex => (4, 0),
            WaitFor::RwLock => (5, 0),
            WaitFor::Condvar => (6, 0),
            WaitFor::Semaphore => (7, 0),
            WaitFor::Barrier => (8, 0),
            WaitFor::Join(id) => (9, id.as_u64() & ARG_MASK),
            WaitFor::Blocking => (10, 0),
            WaitFor::Park => (11, 0),
            WaitFor::Once => (12, 0),
            WaitFor::Scope => (13, 0),
            WaitFor::Future => (14, 0),
        };
        (kind << KIND_SHIFT) | arg
    }

    fn decode(word: u64) -> Option<WaitFor> {
        let arg = word & ARG_MASK;
        Some(match word >> KIND_SHIFT {
            1 => WaitFor::Sleep(epoch() + Duration::from_nanos(arg)),
            2 => WaitFor::Socket {
                fd: (arg >> 1) as u32 as i32,
                write: arg & 1 == 1,
            },
            3 => WaitFor::Channel,
            4 => WaitFor::Mutex,
            5 => WaitFor::RwLock,
            6 => WaitFor::Condvar,
            7 => WaitFor::Semaphore,
            8 => WaitFor::Barrier,
            9 => WaitFor::Join(CoroutineId::from_u64(arg)?),
            10 => WaitFor::Blocking,
            11 => WaitFor::Park,
            12 => WaitFor::Once,
            13 => WaitFor::Scope,
            14 => WaitFor::Future,
            _ => return None,
        })
    }
}

/// The process's reference instant for coarse timestamps.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn nanos_since_epoch(at: Instant) -> u64 {
    at.saturating_duration_since(epoch()).as_nanos() as u64
}

/// A clock the workers advance as they go (each maintenance pass and
/// each wake-up), so recording "since when" costs a load, not a syscall.
static COARSE_NOW: AtomicU64 = AtomicU64::new(0);

/// Workers call this with a fresh `Instant::now()` they took anyway.
pub(crate) fn advance_clock(now: Instant) {
    COARSE_NOW.fetch_max(nanos_since_epoch(now), Ordering::Relaxed);
}

fn coarse_now() -> u64 {
    COARSE_NOW.load(Ordering::Relaxed)
}

/// The observable state of one coroutine, kept in its header.
#[derive(Default)]
pub(crate) struct Observed {
    /// `WaitFor::encode`, or 0 when not waiting.
    wait: AtomicU64,
    /// Coarse time the current state began.
    since: AtomicU64,
    /// Lowest stack pointer seen at a parking point (high-water mark).
    low_sp: AtomicU64,
    /// Stack pointer at the latest parking point.
    sp: AtomicU64,
    /// Top of the coroutine's stack and its usable size, set on start.
    stack_top: AtomicU64,
    stack_size: AtomicU64,
}

impl Observed {
    pub(crate) fn set_stack(&self, top: usize, size: usize) {
        self.stack_top.store(top as u64, Ordering::Relaxed);
        self.stack_size.store(size as u64, Ordering::Relaxed);
        self.low_sp.store(top as u64, Ordering::Relaxed);
        self.since.store(coarse_now(), Ordering::Relaxed);
    }

    /// Records the stack pointer of a parking point.
    #[inline]
    pub(crate) fn record_sp(&self) {
        let sp = crate::stack::stack_pointer() as u64;
        self.sp.store(sp, Ordering::Relaxed);
        // Only the coroutine itself writes the mark once it runs (its
        // worker set it before): a load and a store, not a locked
        // `fetch_min` on every park.
        if sp < self.low_sp.load(Ordering::Relaxed) {
            self.low_sp.store(sp, Ordering::Relaxed);
        }
    }

    /// The coroutine's stack, lowest address to one past the highest, as
    /// its worker set it on start.
    #[cfg(test)]
    pub(crate) fn stack_range(&self) -> std::ops::Range<usize> {
        let top = self.stack_top.load(Ordering::Relaxed) as usize;
        top - self.stack_size.load(Ordering::Relaxed) as usize..top
    }

    /// (bytes in use at the last parking point, high-water mark, size).
    pub(crate) fn stack_usage(&self) -> (usize, usize, usize) {
        let top = self.stack_top.load(Ordering::Relaxed);
        let sp = self.sp.load(Ordering::Relaxed);
        let low = self.low_sp.load(Ordering::Relaxed);
        let used = if sp == 0 { 0 } else { top.saturating_sub(sp) };
        (
            used as usize,
            top.saturating_sub(low) as usize,
            self.stack_size.load(Ordering::Relaxed) as usize,
        )
    }

    pub(crate) fn wait(&self) -> Option<WaitFor> {
        WaitFor::decode(self.wait.load(Ordering::Relaxed))
    }

    /// How long ago the current state began (coarse).
    pub(crate) fn for_how_long(&self) -> Duration {
        Duration::from_nanos(coarse_now().saturating_sub(self.since.load(Ordering::Relaxed)))
    }

    /// Marks a state change now (to running / ready).
    #[inline]
    pub(crate) fn touch(&self) {
        self.since.store(coarse_now(), Ordering::Relaxed);
    }
}

/// Records what the running coroutine waits for until dropped.
pub(crate) struct WaitGuard {
    active: bool,
}

/// Records that the running coroutine is about to wait for `reason`; the
/// record is cleared when the guard drops. A no-op outside coroutines.
#[inline]
pub(crate) fn waiting(reason: WaitFor) -> WaitGuard {
    let active = crate::rt::worker::with_current_fields(|h| match h {
        Some(h) => {
            h.observed.wait.store(reason.encode(), Ordering::Relaxed);
            h.observed.since.store(coarse_now(), Ordering::Relaxed);
            true
        }
        None => false,
    });
    WaitGuard { active }
}

impl Drop for WaitGuard {
    #[inline]
    fn drop(&mut self) {
        if self.active {
            crate::rt::worker::with_current_fields(|h| {
                if let Some(h) = h {
                    h.observed.wait.store(0, Ordering::Relaxed);
                    h.observed.touch();
                }
            });
        }
    }
}
