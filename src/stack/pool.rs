//! The pool: per-thread caches of hot stacks over a global pool of cold slots.
//!
//! * Thread cache (`thread_local!`): per size class, a LIFO of at most
//!   [`CACHE_CAP`] stacks that keep their pages ("hot"): reusing one costs no
//!   page fault. When a push finds the list full, the [`FLUSH`] oldest are
//!   given back to the global pool in one batch. A thread's cache is given
//!   back whole in its thread-local destructor.
//! * Global pool (`Mutex`): per size class, the slabs and, in each, a bitmap
//!   of free slots. A slot in the global pool is always *cold*: no guard, no
//!   pages (`MADV_GUARD_REMOVE`, or `mprotect` back to read/write with the
//!   fallback, then `MADV_DONTNEED` on the way in), so the pool holds no
//!   resident memory whatever its size. Page-table pages are freed by the
//!   kernel only when one `MADV_DONTNEED` covers their whole 2 MiB, so once
//!   every slot around a run's edges is cold too, those 2 MiB are zapped
//!   again under the lock.
//!
//! Allocation order: thread cache, then a free slot of the global pool
//! (lowest slab first, lowest address first), then a fresh slot of the
//! class's newest slab, then a new slab. A slot leaving the global pool gets
//! its guard installed outside the lock.
//!
//! Batches: when a thread's cache of a class up to the default stack size
//! is empty, it takes [`BATCH`] slots at once (one lock, one slab mapped at
//! most), installs their guards and faults in their top pages with two
//! system calls (`batch.rs`), keeps one and caches the others hot. A burst
//! of spawns, whose every coroutine needs a fresh stack that stays
//! resident while it parks, then pays the kernel's cheapest way to get
//! those pages instead of a trap and a `madvise` per coroutine.
//!
//! Counters for [`super::stats`]: the global pool counts, per class, slots
//! that are outside it (in use or hot in some cache); each thread cache
//! publishes its own hot count in an atomic that only its thread writes, so
//! the fast path touches no shared cache line.

use std::cell::RefCell;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::batch;
use super::slab::{self, Slab};
use super::{NUM_CLASSES, PoolStats, class_size};

/// Hot stacks kept per size class per thread.
pub(super) const CACHE_CAP: usize = 64;
/// How many of the oldest hot stacks a full cache gives back at once.
pub(super) const FLUSH: usize = CACHE_CAP / 2;

/// A slot handed out by the pool: its lowest address (start of the guard)
/// and the index of its slab within its class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Slot {
    /// Lowest address of the slot (the guard page).
    pub(super) addr: usize,
    /// Index of the slab in its class's slab list.
    pub(super) slab: u32,
}

/// Global state of one size class.
struct ClassPool {
    /// Slabs in creation order; only the last may have fresh slots.
    slabs: Vec<Slab>,
    /// The free bits of every slab, one after the other (see `Slab`).
    bits: Vec<u64>,
    /// Free (cold) slots over all slabs.
    cold: usize,
    /// No slab below this index has free slots.
    cold_hint: usize,
    /// Slots outside the global pool: in use or hot in a thread cache.
    outside: usize,
    /// Bytes mapped by `slabs`.
    mapped: usize,
}

impl ClassPool {
    const fn new() -> ClassPool {
        ClassPool {
            slabs: Vec::new(),
            bits: Vec::new(),
            cold: 0,
            cold_hint: 0,
            outside: 0,
            mapped: 0,
        }
    }

    /// Takes the lowest free slot, if the class has one.
    fn take_cold(&mut self) -> Option<Slot> {
        if self.cold == 0 {
            return None;
        }
        for i in self.cold_hint..self.slabs.len() {
            if let Some(addr) = self.slabs[i].take_free(&mut self.bits) {
                self.cold -= 1;
                self.cold_hint = i;
                return Some(Slot {
                    addr,
                    slab: i as u32,
                });
            }
        }
        debug_assert!(false, "class cold count out of sync");
        self.cold = 0;
        None
    }

    /// Takes a fresh slot, mapping a new slab if the newest is used up.
    fn take_fresh(&mut self, class: usize) -> io::Result<Slot> {
        if let Some(addr) = self.slabs.last_mut().and_then(Slab::take_fresh) {
            return Ok(Slot {
                addr,
                slab: (self.slabs.len() - 1) as u32,
            });
        }
        let bits_at = self.bits.len();
        let mut slab = Slab::map(
            class_size(class),
            slab::page_size(),
            self.slabs.len(),
            bits_at,
        )?;
        self.bits.resize(bits_at + slab.bit_words(), 0);
        self.mapped += slab.len();
        let addr = slab.take_fresh().expect("a new slab has at least one slot");
        self.slabs.push(slab);
        Ok(Slot {
            addr,
            slab: (self.slabs.len() - 1) as u32,
        })
    }

    /// Puts a cold slot back.
    fn put_cold(&mut self, slot: Slot) {
        let i = slot.slab as usize;
        self.slabs[i].put_free(&mut self.bits, slot.addr);
        self.cold += 1;
        self.cold_hint = self.cold_hint.min(i);
    }
}

/// Hot counts of one thread cache, readable by [`stats`] from any thread.
struct ThreadCounts {
    hot: [AtomicUsize; NUM_CLASSES],
}

/// The global pool.
struct Global {
    classes: [ClassPool; NUM_CLASSES],
    /// Hot counts of every live thread cache.
    threads: Vec<Arc<ThreadCounts>>,
}

static GLOBAL: Mutex<Global> = Mutex::new(Global {
    classes: [const { ClassPool::new() }; NUM_CLASSES],
    threads: Vec::new(),
});

/// Locks the global pool. No code panics while holding the lock in a way
/// that leaves the pool inconsistent, so a poisoned lock is still usable.
fn global() -> MutexGuard<'static, Global> {
    GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// This thread's cache of hot stacks.
struct ThreadCache {
    lists: [Vec<Slot>; NUM_CLASSES],
    counts: Arc<ThreadCounts>,
}

impl ThreadCache {
    fn new() -> ThreadCache {
        let counts = Arc::new(ThreadCounts {
            hot: [const { AtomicUsize::new(0) }; NUM_CLASSES],
        });
        global().threads.push(Arc::clone(&counts));
        ThreadCache {
            lists: [const { Vec::new() }; NUM_CLASSES],
            counts,
        }
    }

    fn publish(&self, class: usize) {
        // Only this thread writes its counts: a plain store suffices.
        self.counts.hot[class].store(self.lists[class].len(), Ordering::Relaxed);
    }

    fn pop(&mut self, class: usize) -> Option<Slot> {
        let slot = self.lists[class].pop()?;
        self.publish(class);
        Some(slot)
    }

    fn push(&mut self, class: usize, slot: Slot) {
        let list = &mut self.lists[class];
        if list.len() >= CACHE_CAP {
            // Give the oldest (least recently used) half back, in one batch.
            let mut batch = [slot; FLUSH];
            batch.copy_from_slice(&list[..FLUSH]);
            list.drain(..FLUSH);
            self.publish(class);
            give_global(class, &mut batch);
        }
        let list = &mut self.lists[class];
        if list.capacity() == 0 {
            list.reserve_exact(CACHE_CAP);
        }
        list.push(slot);
        self.publish(class);
    }
}

impl Drop for ThreadCache {
    fn drop(&mut self) {
        for class in 0..NUM_CLASSES {
            let mut list = std::mem::take(&mut self.lists[class]);
            self.publish(class);
            give_global(class, &mut list);
        }
        let mut g = global();
        g.threads.retain(|c| !Arc::ptr_eq(c, &self.counts));
    }
}

thread_local! {
    static CACHE: RefCell<ThreadCache> = RefCell::new(ThreadCache::new());
}

/// Slots a thread takes from the global pool at once when its cache of
/// `class` is empty, for classes up to [`BATCH_MAX_CLASS_BYTES`]: their
/// guards go in with one system call and their top pages are faulted in
/// with another (`batch.rs`), and the rest wait hot in the thread cache.
pub(super) const BATCH: usize = 32;
/// Largest class taken in batches: the default stack size. A batch of
/// larger stacks could map a new slab (up to 1 GiB of address space) for
/// stacks nobody asked for; their spawns are rarely a burst.
const BATCH_MAX_CLASS_BYTES: usize = super::DEFAULT_STACK_SIZE;

impl ClassPool {
    /// Takes a fresh slot of the newest slab, without mapping a new one.
    fn take_fresh_mapped(&mut self) -> Option<Slot> {
        let slab = self.slabs.len().checked_sub(1)?;
        let addr = self.slabs[slab].take_fresh()?;
        Some(Slot {
            addr,
            slab: slab as u32,
        })
    }

    /// Takes up to `out.len()` slots, at least one (mapping a slab for the
    /// first if need be, never for the others): cold ones first, then
    /// fresh ones. Returns how many.
    fn take_some(&mut self, class: usize, out: &mut [Slot]) -> io::Result<usize> {
        out[0] = match self.take_cold() {
            Some(slot) => slot,
            None => self.take_fresh(class)?,
        };
        let mut n = 1;
        while n < out.len() {
            match self.take_cold().or_else(|| self.take_fresh_mapped()) {
                Some(slot) => out[n] = slot,
                None => break,
            }
            n += 1;
        }
        self.outside += n;
        Ok(n)
    }
}

/// Takes a slot of `class` with its guard installed.
pub(super) fn take(class: usize) -> io::Result<Slot> {
    // `None`: the thread cache is gone (thread exiting) or busy.
    let hot = CACHE
        .try_with(|c| c.try_borrow_mut().ok().map(|mut c| c.pop(class)))
        .ok()
        .flatten();
    let want = match hot {
        Some(Some(slot)) => return Ok(slot),
        Some(None) if class_size(class) <= BATCH_MAX_CLASS_BYTES => BATCH,
        _ => 1,
    };
    let mut slots = [Slot { addr: 0, slab: 0 }; BATCH];
    let n = global().classes[class].take_some(class, &mut slots[..want])?;
    let page = slab::page_size();
    let mut addrs = [0usize; BATCH];
    for (a, s) in addrs.iter_mut().zip(&slots[..n]) {
        *a = s.addr;
    }
    // SAFETY: the slots came out of the global pool, so nobody uses them;
    // each guard page lies inside one of our slabs and is page aligned.
    let (guarded, err) = unsafe { slab::install_guards(&addrs[..n], page) };
    if guarded < n {
        // The rest go straight back, cold: no pages, and no guard (a
        // batched install may have put some in before it failed).
        for &addr in &addrs[guarded..n] {
            // SAFETY: the slot is ours and unused; only its guard page is
            // given back.
            unsafe { slab::unguard_and_discard(addr, page) };
        }
        let mut g = global();
        let cp = &mut g.classes[class];
        for &slot in &slots[guarded..n] {
            cp.put_cold(slot);
        }
        cp.outside -= n - guarded;
        if guarded == 0 {
            return Err(err.unwrap_or_else(|| io::Error::other("weft: no stack guard")));
        }
    }
    if want > 1 {
        // The page below each slot's top: where the coroutine that gets it
        // will put its first frames.
        let mut tops = [0usize; BATCH];
        for (t, &a) in tops.iter_mut().zip(&addrs[..guarded]) {
            *t = a + class_size(class);
        }
        // SAFETY: these slots are ours (out of the pool, guarded, unused);
        // each top page lies in our slab, page aligned, above the guard.
        unsafe { batch::prefault(&tops[..guarded], page) };
        // Keep the first, cache the others (lowest address popped first).
        let rest = &slots[1..guarded];
        let cached = CACHE
            .try_with(|c| match c.try_borrow_mut() {
                Ok(mut c) => {
                    for &slot in rest.iter().rev() {
                        c.push(class, slot);
                    }
                    true
                }
                Err(_) => false,
            })
            .unwrap_or(false);
        if !cached {
            give_global(class, &mut slots[1..guarded]);
        }
    }
    Ok(slots[0])
}

/// Makes every stack cached hot by this thread cold (pages returned to
/// the OS) and gives it to the global pool. An idle worker calls this, so
/// memory a burst of coroutines used is returned once the burst is over.
pub(super) fn trim_thread_cache() {
    let _ = CACHE.try_with(|c| {
        if let Ok(mut c) = c.try_borrow_mut() {
            for class in 0..NUM_CLASSES {
                if c.lists[class].is_empty() {
                    continue;
                }
                let mut list = std::mem::take(&mut c.lists[class]);
                c.publish(class);
                give_global(class, &mut list);
            }
        }
    });
}

/// Gives back a slot of `class` (its stack is no longer used).
pub(super) fn give(class: usize, slot: Slot) {
    let cached = CACHE
        .try_with(|c| match c.try_borrow_mut() {
            Ok(mut c) => {
                c.push(class, slot);
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false);
    if !cached {
        // The thread cache is gone (thread exiting) or busy: go global.
        give_global(class, &mut [slot]);
    }
}

/// Makes `slots` cold and puts them into the global pool. Runs of adjacent
/// slots are given to the kernel with one pair of system calls each.
fn give_global(class: usize, slots: &mut [Slot]) {
    if slots.is_empty() {
        return;
    }
    let slot_size = class_size(class) + slab::page_size();
    slots.sort_unstable_by_key(|s| s.addr);
    // Runs of adjacent slots: (first slot, last slot), by index in `slots`.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut first = 0;
    for i in 1..=slots.len() {
        if i == slots.len() || slots[i].addr != slots[i - 1].addr + slot_size {
            runs.push((first, i - 1));
            first = i;
        }
    }
    for &(a, b) in &runs {
        let (start, end) = (slots[a].addr, slots[b].addr + slot_size);
        // SAFETY: `start..end` is a run of slots of our slabs that the
        // caller gave up; nobody uses them.
        unsafe { slab::unguard_and_discard(start, end - start) };
    }

    let mut g = global();
    let cp = &mut g.classes[class];
    for &s in slots.iter() {
        cp.put_cold(s);
    }
    cp.outside -= slots.len();

    // The kernel frees a page-table page on MADV_DONTNEED only when the
    // call covers its whole 2 MiB. A run's two ends usually share a table
    // with neighbouring slots; once those are all cold too, zap the whole
    // table's range so the table goes (slots stay put: they are cold).
    let table = slab::page_table_span();
    for &(a, b) in &runs {
        let edges = [
            (slots[a].slab, slots[a].addr & !(table - 1)),
            (
                slots[b].slab,
                (slots[b].addr + slot_size - 1) & !(table - 1),
            ),
        ];
        for (i, &(slab_idx, lo)) in edges.iter().enumerate() {
            if i == 1 && lo == edges[0].1 {
                continue;
            }
            let slab = &cp.slabs[slab_idx as usize];
            if slab.all_free(&cp.bits, lo, lo + table) {
                // Soundness: every slot overlapping the range is cold (free in
                // the global pool or fresh: no guard, contents unused) and
                // stays so while we hold the lock; the range lies inside
                // our slab.
                // SAFETY: by the soundness argument just above.
                unsafe { slab::discard(lo, table) };
            }
        }
    }
}

/// Counters of one class (`Some`) or of all classes (`None`).
pub(super) fn stats(class: Option<usize>) -> PoolStats {
    let g = global();
    let classes = match class {
        Some(c) => c..c + 1,
        None => 0..NUM_CLASSES,
    };
    let mut s = PoolStats {
        in_use: 0,
        cached_hot: 0,
        cached_cold: 0,
        mapped_bytes: 0,
    };
    for c in classes {
        let cp = &g.classes[c];
        let hot: usize = g
            .threads
            .iter()
            .map(|t| t.hot[c].load(Ordering::Relaxed))
            .sum();
        // Hot counts are read without the owners' cooperation: under
        // concurrent use the numbers are a snapshot, exact when quiescent.
        s.in_use += cp.outside.saturating_sub(hot);
        s.cached_hot += hot;
        s.cached_cold += cp.cold;
        s.mapped_bytes += cp.mapped;
    }
    s
}
