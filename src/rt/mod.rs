//! The runtime core: coroutines, the workers that run them, and the one
//! parking protocol everything else waits through.
//!
//! Everything outside this folder (`net/`, `os/`, `sync/`, `fs/`,
//! `blocking/`, `thread/`, `future/`, `compat/`, `hook/`) is built on the few entry points
//! here: [`park`] to wait and be woken, [`worker`] to ask "am I in a
//! coroutine, and which", [`spawn`] and [`join`] for the public API.
//!
//! | file | job |
//! |---|---|
//! | `runtime.rs` | `Runtime`, its builder, the default runtime |
//! | `spawn.rs`, `join.rs` | `spawn`/`Builder`, `JoinHandle` and the join packet |
//! | `coroutine.rs` | a coroutine's shared header (id, name, park state, cancel flag) |
//! | `worker.rs` | one worker's event loop and its task table |
//! | `scheduler.rs` | queues, stealing, idle workers |
//! | `park/` | the parking protocol and its state machine |
//! | `timer/` | a worker's timers: a hierarchical wheel over a slab |
//! | `prefetch.rs` | warming the next coroutine's stack before the switch |
//! | `coop.rs` | the cooperative budget |
//! | `local.rs` | `coroutine_local!` |
//! | `panic_hook.rs` | panic messages that name the coroutine |
//! | `unwinding.rs` | which coroutine unwinds (`thread::panicking()` per coroutine) |
//! | `watchdog.rs` | reports a coroutine stalling its worker |
//! | `loom.rs` | the atomics and cells seam that loom models check |
//! | `loom_idle.rs`, `loom_shutdown.rs` | loom models of the idle-worker and shutdown handshakes |

pub(crate) mod coop;
pub(crate) mod coroutine;
pub(crate) mod join;
pub(crate) mod local;
pub(crate) mod loom;
pub(crate) mod panic_hook;
pub(crate) mod park;
pub(crate) mod prefetch;
pub(crate) mod runtime;
pub(crate) mod scheduler;
pub(crate) mod spawn;
pub(crate) mod timer;
pub(crate) mod unwinding;
pub(crate) mod watchdog;
pub(crate) mod worker;

#[cfg(all(test, weft_loom))]
mod loom_idle;
#[cfg(all(test, weft_loom))]
mod loom_shutdown;
