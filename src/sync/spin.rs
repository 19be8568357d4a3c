//! The small lock that guards each primitive's state and wait lists.
//!
//! Its critical sections are a few dozen instructions (push or pop a
//! message, link or unlink a waiter), never park, never run user code
//! (messages are dropped and waiters unparked after unlocking) and never
//! allocate except when a queue grows. For that, a test-and-set lock with
//! backoff beats a futex mutex: unlocking is a plain store instead of an
//! atomic swap, and there is no kernel path to prepare for. A coroutine
//! cannot be switched out while holding it (it never parks inside), so
//! two coroutines of one worker never contend; contention comes from
//! other workers or threads, which spin briefly and then yield their OS
//! thread, in case the holder was preempted (crossbeam-channel guards its
//! waker lists the same way).
//!
//! Under `--cfg weft_loom` the primitives that loom models use loom's mutex
//! instead, so the model sees every interleaving of the critical sections.

use std::cell::UnsafeCell;
use std::hint;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

/// A spin lock with exponential backoff, then yielding.
pub(crate) struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands `&mut T` to one holder at a time, on any thread:
// that needs `T: Send`, as for `std::sync::Mutex`.
unsafe impl<T: Send> Send for SpinLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SpinLock<T> {}

/// Holding a [`SpinLock`]; unlocks when dropped.
pub(crate) struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    pub(crate) const fn new(value: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut step = 0u32;
        loop {
            // Wait for it to look free before trying again (no RMW storm).
            while self.locked.load(Ordering::Relaxed) {
                if step < 6 {
                    for _ in 0..1 << step {
                        hint::spin_loop();
                    }
                    step += 1;
                } else {
                    // The holder is probably preempted: let it run.
                    thread::yield_now();
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard proves we hold the lock: no other reference
        // to the value exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only one.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

/// The lock of the loom-modelled primitives (channel, semaphore): the
/// spin lock normally, loom's mutex under `--cfg weft_loom`.
#[cfg(not(weft_loom))]
pub(crate) type ModelLock<T> = SpinLock<T>;

/// The lock of the loom-modelled primitives (channel, semaphore): the
/// spin lock normally, loom's mutex under `--cfg weft_loom`.
#[cfg(weft_loom)]
pub(crate) struct ModelLock<T>(loom::sync::Mutex<T>);

#[cfg(weft_loom)]
impl<T> ModelLock<T> {
    pub(crate) fn new(value: T) -> ModelLock<T> {
        ModelLock(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        self.0.lock().unwrap()
    }
}
