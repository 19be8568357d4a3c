//! One seam for the atomics that `loom` model-checks.
//!
//! Lock-free handshakes (the park state machine, the idle-worker
//! accounting) import their atomics from here. Under `--cfg weft_loom` they are
//! loom's instrumented types, so `tests/loom_*.rs` explores every
//! interleaving; in a normal build they are `std`'s, at no cost.

#[cfg(weft_loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(weft_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering, fence};
#[cfg(not(weft_loom))]
pub(crate) use std::sync::Mutex;
#[cfg(not(weft_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering, fence};
