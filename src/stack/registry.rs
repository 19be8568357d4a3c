//! Lock-free, append-only registry of slabs, readable from a signal handler.
//!
//! The overflow handler must answer "is this faulting address inside one of
//! our guard pages?" without taking locks or allocating. Slabs are never
//! unmapped, so a fixed array that only ever grows is enough: a writer
//! (serialised by a mutex; writers are never in signal handlers) fills entry
//! `n` and then publishes `COUNT = n + 1` with `Release`; readers take no
//! lock: they load `COUNT` with `Acquire` and scan entries `0..n`.
//!
//! If the array is full (4096 slabs; with slabs growing to 1 GiB each that
//! is terabytes of stacks) further slabs still work, they are just not
//! recognised by the overflow handler: an overflow there is reported by the
//! previous handler as a plain SIGSEGV.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Capacity of the registry, in slabs.
pub(super) const MAX_SLABS: usize = 4096;

/// One registered slab: `len` bytes at `base`, cut into slots of
/// `slot_size` bytes whose lowest `guard` bytes are the guard region.
struct Entry {
    base: AtomicUsize,
    len: AtomicUsize,
    slot_size: AtomicUsize,
    guard: AtomicUsize,
}

impl Entry {
    const fn new() -> Entry {
        Entry {
            base: AtomicUsize::new(0),
            len: AtomicUsize::new(0),
            slot_size: AtomicUsize::new(0),
            guard: AtomicUsize::new(0),
        }
    }
}

static ENTRIES: [Entry; MAX_SLABS] = [const { Entry::new() }; MAX_SLABS];
static COUNT: AtomicUsize = AtomicUsize::new(0);
/// Serialises writers.
static WRITER: Mutex<()> = Mutex::new(());

/// Records a slab so that [`is_guard`] recognises its guard regions.
///
/// Returns `false` (and records nothing) when the registry is full.
/// Not async-signal-safe (takes a lock); [`is_guard`] is.
pub(super) fn publish(base: usize, len: usize, slot_size: usize, guard: usize) -> bool {
    let _writer = WRITER.lock().unwrap_or_else(|e| e.into_inner());
    let n = COUNT.load(Ordering::Relaxed);
    if n == MAX_SLABS {
        return false;
    }
    let e = &ENTRIES[n];
    e.base.store(base, Ordering::Relaxed);
    e.len.store(len, Ordering::Relaxed);
    e.slot_size.store(slot_size, Ordering::Relaxed);
    e.guard.store(guard, Ordering::Relaxed);
    // Release: a reader that sees the new count also sees the entry.
    COUNT.store(n + 1, Ordering::Release);
    true
}

/// If `addr` is inside the guard region of some slot of some registered
/// slab, the top of that slot (one past its highest byte): the guard is at
/// the slot's low end, so that is the slot whose stack overflows into it,
/// and its owner record sits just below the top (`owner.rs`).
///
/// Async-signal-safe: only atomic loads and arithmetic.
pub(crate) fn guard_slot_top(addr: usize) -> Option<usize> {
    let n = COUNT.load(Ordering::Acquire);
    for e in &ENTRIES[..n] {
        let base = e.base.load(Ordering::Relaxed);
        let len = e.len.load(Ordering::Relaxed);
        if addr < base || addr - base >= len {
            continue;
        }
        let slot_size = e.slot_size.load(Ordering::Relaxed);
        let guard = e.guard.load(Ordering::Relaxed);
        if slot_size == 0 || (addr - base) % slot_size >= guard {
            return None;
        }
        let slot = (addr - base) / slot_size;
        return Some(base + (slot + 1) * slot_size);
    }
    None
}

/// Is `addr` inside the guard region of some slot of some registered slab?
#[cfg(test)]
pub(crate) fn is_guard(addr: usize) -> bool {
    guard_slot_top(addr).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_regions_are_recognised() {
        // A fake slab in the kernel half of the address space: no user
        // mapping can ever be there, so the entry cannot confuse the real
        // overflow handler in this test process.
        let base = 0xffff_ff00_0000_0000_usize;
        assert!(publish(base, 4 * 0x5000, 0x5000, 0x1000));
        assert!(is_guard(base));
        assert!(is_guard(base + 0xfff));
        assert!(!is_guard(base + 0x1000));
        assert!(!is_guard(base + 0x4fff));
        assert!(is_guard(base + 0x5000));
        assert!(is_guard(base + 3 * 0x5000 + 0x10));
        assert!(!is_guard(base + 4 * 0x5000));
        assert!(!is_guard(base - 1));
        assert_eq!(guard_slot_top(base + 0x10), Some(base + 0x5000));
        assert_eq!(guard_slot_top(base + 0x5fff), Some(base + 0xa000));
        assert_eq!(guard_slot_top(base + 0x6000), None);
    }
}
