//! The cell that holds a descriptor's registration in its table slot,
//! and the one race it must settle: a coroutine registering the
//! descriptor for its first wait while another thread closes it.
//!
//! `close` must not pay for a lock on descriptors that never had a
//! registration (most of them; and `close` may run in a signal handler),
//! so it does not lock to *look*: [`forget`](WatchCell::forget) bumps the
//! cell's generation, then loads the pointer, and locks only if there is
//! something to take. A registering coroutine reads the generation
//! *before* it registers, and [`install`](WatchCell::install) stores its
//! value and *then* re-reads the generation (under the lock): if a forget
//! came in between, it takes its value back out and reports it rejected.
//!
//! Both sides store first and load second, with a `SeqCst` fence between:
//! of "install's generation re-read" and "forget's pointer load", at least
//! one sees the other's store (the store-buffering rule; plain `SeqCst`
//! accesses would do too, but loom models only the fences' guarantee). So a value installed for a
//! number that is being closed is either taken by the close or withdrawn
//! by the installer, never left behind to be found by the number's next
//! owner. `cell_loom.rs` checks it in every interleaving.
//!
//! Values are `Arc`s stored as raw pointers; the cell owns one count of
//! the value it holds.

use std::sync::Arc;

#[cfg(weft_loom)]
use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering, fence};
#[cfg(not(weft_loom))]
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering, fence};

/// A lockable slot for one `Arc<T>`, with a generation that every
/// [`forget`](WatchCell::forget) bumps. All-zero bytes are an empty cell
/// (the table's chunks are fresh anonymous pages).
pub(super) struct WatchCell<T> {
    lock: AtomicBool,
    ptr: AtomicPtr<T>,
    generation: AtomicU32,
}

impl<T> WatchCell<T> {
    /// An empty cell (the all-zero value).
    #[cfg(all(test, weft_loom))]
    pub(super) fn new() -> WatchCell<T> {
        WatchCell {
            lock: AtomicBool::new(false),
            ptr: AtomicPtr::new(std::ptr::null_mut()),
            generation: AtomicU32::new(0),
        }
    }

    fn locked<R>(&self, f: impl FnOnce() -> R) -> R {
        while self
            .lock
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            #[cfg(weft_loom)]
            loom::thread::yield_now();
            #[cfg(not(weft_loom))]
            std::hint::spin_loop();
        }
        let result = f();
        self.lock.store(false, Ordering::Release);
        result
    }

    /// The generation to pass to [`install`](Self::install): read it
    /// before making the value.
    pub(super) fn generation(&self) -> u32 {
        self.generation.load(Ordering::SeqCst)
    }

    /// A clone of the value held, if any.
    pub(super) fn get(&self) -> Option<Arc<T>> {
        if self.ptr.load(Ordering::Acquire).is_null() {
            return None;
        }
        self.locked(|| {
            let ptr = self.ptr.load(Ordering::Acquire);
            if ptr.is_null() {
                return None;
            }
            // Soundness: a non-null pointer is `Arc::into_raw` of a value
            // whose count the cell owns; under the lock nobody can take it
            // out, so the count stays at least one while we add ours.
            // SAFETY: by the soundness argument just above.
            unsafe {
                Arc::increment_strong_count(ptr);
                Some(Arc::from_raw(ptr))
            }
        })
    }

    /// Installs `value`, made after reading `generation`, unless a value is
    /// there already (`Ok` of a clone of that one) or a
    /// [`forget`](Self::forget) came since `generation` was read
    /// (`Err(value)`: the descriptor is being closed).
    pub(super) fn install(&self, value: Arc<T>, generation: u32) -> Result<Arc<T>, Arc<T>> {
        let raw = Arc::into_raw(value).cast_mut();
        let kept = self.locked(|| {
            let held = self.ptr.load(Ordering::SeqCst);
            let kept = if held.is_null() {
                self.ptr.store(raw, Ordering::SeqCst);
                // Re-read after the store (module docs): a forget since
                // `generation` may not have seen our pointer.
                fence(Ordering::SeqCst);
                if self.generation.load(Ordering::SeqCst) != generation {
                    self.ptr.store(std::ptr::null_mut(), Ordering::SeqCst);
                    return None;
                }
                raw
            } else {
                held
            };
            // SAFETY: `kept` is held by the cell, which owns a count of it
            // that nobody can take while we hold the lock.
            unsafe { Arc::increment_strong_count(kept) };
            Some(kept)
        });
        // SAFETY: `raw` came from Arc::into_raw above; unless the cell kept
        // it, its count is still ours to take back.
        let ours = |raw| unsafe { Arc::from_raw(raw) };
        match kept {
            None => Err(ours(raw)),
            Some(kept) => {
                if kept != raw {
                    drop(ours(raw));
                }
                // SAFETY: the count added under the lock above.
                Ok(unsafe { Arc::from_raw(kept) })
            }
        }
    }

    /// Takes the value out and bumps the generation, so that an install
    /// prepared before this call is rejected. Locks only if a value is
    /// there.
    pub(super) fn forget(&self) -> Option<Arc<T>> {
        self.generation.fetch_add(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if self.ptr.load(Ordering::SeqCst).is_null() {
            return None;
        }
        let raw = self.locked(|| self.ptr.swap(std::ptr::null_mut(), Ordering::SeqCst));
        // SAFETY: the cell's count, taken out under the lock.
        (!raw.is_null()).then(|| unsafe { Arc::from_raw(raw) })
    }
}

#[cfg(all(test, weft_loom))]
#[path = "cell_loom.rs"]
mod cell_loom;
