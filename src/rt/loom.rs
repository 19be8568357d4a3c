//! One seam for the atomics and cells that `loom` model-checks.
//!
//! Lock-free handshakes (the park state machine, the idle-worker
//! accounting, the wait lists' waiters) import their atomics and shared
//! cells from here. Under `--cfg weft_loom` they are loom's instrumented
//! types, so the loom models explore every interleaving and report an
//! unsynchronised access to a cell; in a normal build they are `std`'s,
//! at no cost.

#[cfg(weft_loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(weft_loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(weft_loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering, fence};
#[cfg(not(weft_loom))]
pub(crate) use std::sync::Mutex;
#[cfg(not(weft_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering, fence};

/// `std`'s `UnsafeCell` with loom's closure API (`with_mut`), so that code
/// written for loom's checked cell compiles to a plain cell.
#[cfg(not(weft_loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(weft_loom))]
impl<T> UnsafeCell<T> {
    /// A cell holding `data`.
    #[inline]
    pub(crate) const fn new(data: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(data))
    }

    /// Runs `f` on a raw pointer to the contents; the caller's protocol
    /// must make that access exclusive (loom checks it under its cfg).
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
