//! Slabs: one big anonymous mapping carved into equal slots, and guard pages.
//!
//! A slot is `guard` bytes (one page) at its low end followed by the usable
//! stack above it; the slot's top is the next slot's guard (or the end of
//! the slab). A slab's slots are handed out in ascending order ("fresh");
//! slots given back to the global pool are tracked in a bitmap ("free").
//!
//! Guards are installed lazily, when a slot leaves the global pool, with
//! `madvise(MADV_GUARD_INSTALL)` (Linux 6.13+: a page-table marker, no VMA
//! split). If the kernel does not know that advice (asked once, with an
//! empty range, so that only "unknown advice" counts) or `WEFT_STACK_GUARDS=mprotect`
//! is set, we use `mprotect(PROT_NONE)` instead, which splits the VMA
//! (about two mappings per guarded slot; `vm.max_map_count` then bounds the
//! number of stacks). Errors of real installs are errors, never a switch.
//!
//! Nothing here ever unmaps a slab.

use std::io;
use std::ptr;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use libc::c_int;

use super::{batch, registry};

/// `MADV_GUARD_INSTALL` (Linux 6.13+, `include/uapi/asm-generic/mman-common.h`).
/// Not every `libc` release defines it, so it is spelled out here.
pub(super) const MADV_GUARD_INSTALL: c_int = 102;
/// `MADV_GUARD_REMOVE` (Linux 6.13+).
pub(super) const MADV_GUARD_REMOVE: c_int = 103;

/// Bytes a slab aims for when it is the first of its size class; each
/// following slab of the class doubles this, up to [`SLAB_MAX_BYTES`].
const SLAB_FIRST_BYTES: usize = 32 << 20;
/// Largest slab we map (virtual; `MAP_NORESERVE`, so it costs nothing until
/// touched). Bounded so that a small program never reserves much, and so
/// that 4096 registry entries still describe terabytes of stacks.
const SLAB_MAX_BYTES: usize = 1 << 30;

/// Guard mechanism not probed yet.
const MODE_UNKNOWN: u8 = 0;
/// `madvise(MADV_GUARD_INSTALL)` works on this kernel.
const MODE_MADVISE: u8 = 1;
/// The kernel said `EINVAL` to `MADV_GUARD_INSTALL`: use `mprotect`.
const MODE_MPROTECT: u8 = 2;

static GUARD_MODE: AtomicU8 = AtomicU8::new(MODE_UNKNOWN);
static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// The system page size (cached after the first call).
pub(crate) fn page_size() -> usize {
    let cached = PAGE_SIZE.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: sysconf has no preconditions; _SC_PAGESIZE is always valid.
    let raw = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let size = usize::try_from(raw)
        .ok()
        .filter(|s| s.is_power_of_two())
        .unwrap_or(4096);
    PAGE_SIZE.store(size, Ordering::Relaxed);
    size
}

/// Environment variable that makes weft guard stacks with `mprotect` even
/// where the kernel has `MADV_GUARD_INSTALL` (value `mprotect`), and
/// prepare batches of stacks range by range without `process_madvise`: to
/// run a program or a test suite as it runs on a kernel older than 6.13.
pub(crate) const GUARDS_ENV: &str = "WEFT_STACK_GUARDS";

/// The guard mechanism of this process, decided on first use: `mprotect`
/// if [`GUARDS_ENV`] says so or if the kernel does not know the advice.
fn guard_mode() -> u8 {
    let mode = GUARD_MODE.load(Ordering::Relaxed);
    if mode != MODE_UNKNOWN {
        return mode;
    }
    let forced = std::env::var_os(GUARDS_ENV).is_some_and(|v| v == "mprotect");
    if forced {
        // As on a kernel before 6.13, which has no `process_madvise` on
        // ourselves either: batches advise range by range.
        batch::without_process_madvise();
    }
    let mode = if forced || !kernel_knows_guard_advice() {
        MODE_MPROTECT
    } else {
        MODE_MADVISE
    };
    // Racing first callers compute the same answer.
    GUARD_MODE.store(mode, Ordering::Relaxed);
    mode
}

/// Does the kernel know `MADV_GUARD_INSTALL`? Asked with an empty range:
/// the kernel checks the advice before anything else and then returns 0
/// for a zero length, so `EINVAL` means exactly "unknown advice". Any
/// other answer (there should be none) counts as known: errors of real
/// installs are then reported as errors, not hidden by a switch.
fn kernel_knows_guard_advice() -> bool {
    let page = page_size();
    // SAFETY: a zero-length madvise touches no memory; the address only
    // has to be page aligned.
    let rc = unsafe { libc::madvise(page as *mut libc::c_void, 0, MADV_GUARD_INSTALL) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL)
}

/// Does this process guard stacks with `mprotect` (older kernel)?
pub(super) fn uses_mprotect_fallback() -> bool {
    guard_mode() == MODE_MPROTECT
}

/// Test hook: behave as on a kernel without `MADV_GUARD_INSTALL`.
#[cfg(test)]
pub(super) fn force_mprotect_fallback() {
    GUARD_MODE.store(MODE_MPROTECT, Ordering::Relaxed);
}

/// `madvise` that retries on `EINTR`/`EAGAIN` (guard install may ask to).
///
/// # Safety
///
/// `addr..addr + len` must be page aligned and lie in mappings owned by the
/// caller whose contents may be changed as `advice` does.
unsafe fn madvise_retry(addr: usize, len: usize, advice: c_int) -> io::Result<()> {
    loop {
        // SAFETY: forwarded from the caller's contract.
        if unsafe { libc::madvise(addr as *mut libc::c_void, len, advice) } == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) | Some(libc::EAGAIN) => continue,
            _ => return Err(err),
        }
    }
}

/// Makes `addr..addr + len` a guard region: any access faults.
///
/// Uses `MADV_GUARD_INSTALL`, or `mprotect(PROT_NONE)` when the kernel
/// does not know that advice (see [`guard_mode`]). Idempotent. Fails with
/// a readable error when `mprotect` runs into `vm.max_map_count`; any
/// error of `MADV_GUARD_INSTALL` on a kernel that knows it (`ENOMEM`, or
/// `EINVAL` for a mapping that cannot take guard markers, such as one
/// locked by `mlockall`) is returned as it is, with context.
///
/// # Safety
///
/// The range must be page aligned, lie inside a mapping owned by the caller
/// (a slab or a private mapping), and hold nothing anyone still needs: its
/// contents are discarded and later accesses fault.
pub(crate) unsafe fn install_guard(addr: usize, len: usize) -> io::Result<()> {
    if guard_mode() == MODE_MADVISE {
        // SAFETY: the caller owns the range and gives up its contents.
        return unsafe { madvise_retry(addr, len, MADV_GUARD_INSTALL) }.map_err(other_error);
    }
    // SAFETY: the caller owns the range; PROT_NONE only removes access to
    // memory nobody uses.
    if unsafe { libc::mprotect(addr as *mut libc::c_void, len, libc::PROT_NONE) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::ENOMEM) {
        // mprotect splits the VMA; ENOMEM means the mapping count limit.
        return Err(map_count_error());
    }
    Err(other_error(err))
}

/// Installs the guard region of `len` bytes at each of `addrs`, as
/// [`install_guard`] does one, with one system call per batch where the
/// kernel allows it (`process_madvise`, see `batch.rs`). Returns how many
/// of `addrs`, from the front, have their guard, and the error that
/// stopped the rest (whose guards may or may not be in place).
///
/// # Safety
///
/// As for [`install_guard`], for every range.
pub(super) unsafe fn install_guards(addrs: &[usize], len: usize) -> (usize, Option<io::Error>) {
    if GUARD_MODE.load(Ordering::Relaxed) == MODE_MADVISE
        // SAFETY: forwarded from the caller's contract.
        && unsafe { batch::advise_all(addrs, len, MADV_GUARD_INSTALL) }
    {
        return (addrs.len(), None);
    }
    for (i, &addr) in addrs.iter().enumerate() {
        // SAFETY: forwarded from the caller's contract (installing a guard
        // twice is harmless: it is idempotent).
        if let Err(e) = unsafe { install_guard(addr, len) } {
            return (i, Some(e));
        }
    }
    (addrs.len(), None)
}

/// Gives a run of whole, unused slots back to the kernel: removes their
/// guards (so their page-table pages can be reclaimed, and so the
/// `mprotect` fallback's split VMAs merge back) and drops their pages.
/// Errors are ignored: the memory stays mapped and usable either way, it
/// just stays resident.
///
/// # Safety
///
/// `addr..addr + len` must be a page-aligned run of slots of our slabs that
/// no stack is using: their contents are discarded.
pub(super) unsafe fn unguard_and_discard(addr: usize, len: usize) {
    match GUARD_MODE.load(Ordering::Relaxed) {
        MODE_MPROTECT => {
            // SAFETY: the run is ours and unused; making its guard pages
            // readable/writable again only widens access to our own memory.
            let rc = unsafe {
                libc::mprotect(
                    addr as *mut libc::c_void,
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            debug_assert_eq!(rc, 0, "{}", io::Error::last_os_error());
        }
        MODE_MADVISE => {
            // SAFETY: the run is ours and unused.
            let r = unsafe { madvise_retry(addr, len, MADV_GUARD_REMOVE) };
            debug_assert!(r.is_ok(), "{r:?}");
        }
        _ => {}
    }
    // SAFETY: the run is ours and unused; after MADV_DONTNEED it reads as
    // zeroes, which is fine for memory nobody uses.
    let r = unsafe { madvise_retry(addr, len, libc::MADV_DONTNEED) };
    debug_assert!(r.is_ok(), "{r:?}");
}

/// Bytes of address space mapped by one last-level page-table page (2 MiB
/// with 4 KiB pages): a page of 8-byte entries, each mapping a page.
pub(super) fn page_table_span() -> usize {
    let page = page_size();
    page * (page / std::mem::size_of::<u64>())
}

/// Drops the pages (and, when the range covers it whole, the page-table
/// page) of `addr..addr + len`. Errors are ignored, as in
/// [`unguard_and_discard`].
///
/// # Safety
///
/// The range must be page aligned, inside our slabs, and hold only slots
/// that are free in the global pool or fresh (unguarded, unused).
pub(super) unsafe fn discard(addr: usize, len: usize) {
    // SAFETY: forwarded from the caller's contract.
    let r = unsafe { madvise_retry(addr, len, libc::MADV_DONTNEED) };
    debug_assert!(r.is_ok(), "{r:?}");
}

/// One `mmap` holding `slots` slots of `slot_size` bytes, each starting with
/// a guard region of `guard` bytes.
pub(super) struct Slab {
    /// Lowest address of the mapping.
    base: usize,
    /// Bytes per slot: guard plus usable stack.
    slot_size: usize,
    /// Number of slots.
    slots: usize,
    /// Slots `fresh..slots` have never been handed out.
    fresh: usize,
    /// Where this slab's free bits start in its class's bitmap (in
    /// words): one bit per slot, set when the slot is free in the global
    /// pool. One bitmap per class, not one per slab: a slab's bits would
    /// be a small heap block allocated amid a burst of coroutines, pinning
    /// a page of the heap after the burst is gone.
    bits_at: usize,
    /// Number of set bits of this slab.
    free: usize,
    /// No word of this slab's bits below this index has a set bit.
    free_hint: usize,
}

impl Slab {
    /// Maps a new slab for stacks of `usable` bytes, sized by how many slabs
    /// the class already has (`nth`): 32 MiB for the first, doubling up to
    /// 1 GiB. If the kernel refuses the size (strict overcommit, `ulimit -v`)
    /// the slab is halved until it fits or a single slot fails. Its bits
    /// start at word `bits_at` of the class bitmap, which the caller grows
    /// by [`Slab::bit_words`].
    pub(super) fn map(usable: usize, guard: usize, nth: usize, bits_at: usize) -> io::Result<Slab> {
        let slot_size = usable + guard;
        let target = SLAB_FIRST_BYTES
            .checked_shl(nth.min(16) as u32)
            .unwrap_or(SLAB_MAX_BYTES)
            .min(SLAB_MAX_BYTES);
        let mut slots = (target / slot_size).max(1);
        loop {
            let len = slots * slot_size;
            // SAFETY: a fresh anonymous private mapping at an address of
            // the kernel's choosing; it cannot alias anything.
            let p = unsafe {
                libc::mmap(
                    ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
                    -1,
                    0,
                )
            };
            if p != libc::MAP_FAILED {
                let base = p as usize;
                // Transparent huge pages would turn the first touch of a
                // stack into a 2 MiB allocation; ask for small pages.
                // Failure only costs memory, so the result is ignored.
                // SAFETY: the range is the mapping we just created.
                unsafe { libc::madvise(p, len, libc::MADV_NOHUGEPAGE) };
                registry::publish(base, len, slot_size, guard);
                return Ok(Slab {
                    base,
                    slot_size,
                    slots,
                    fresh: 0,
                    bits_at,
                    free: 0,
                    free_hint: 0,
                });
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::ENOMEM) {
                return Err(other_error(err));
            }
            if slots > 1 {
                slots /= 2;
                continue;
            }
            if near_map_count_limit() {
                return Err(map_count_error());
            }
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "weft: out of memory mapping {len} bytes for coroutine stacks ({err}); \
                     check `ulimit -v` and vm.overcommit_memory, or use fewer or smaller \
                     coroutine stacks"
                ),
            ));
        }
    }

    /// Bytes mapped by this slab.
    pub(super) fn len(&self) -> usize {
        self.slots * self.slot_size
    }

    /// Address of slot `i`.
    fn slot_addr(&self, i: usize) -> usize {
        self.base + i * self.slot_size
    }

    /// Takes a never-used slot, if any is left.
    pub(super) fn take_fresh(&mut self) -> Option<usize> {
        if self.fresh == self.slots {
            return None;
        }
        self.fresh += 1;
        Some(self.slot_addr(self.fresh - 1))
    }

    /// Words of the class bitmap this slab's bits take.
    pub(super) fn bit_words(&self) -> usize {
        self.slots.div_ceil(64)
    }

    /// Takes the lowest-addressed free slot, if any. `bits` is the class
    /// bitmap.
    pub(super) fn take_free(&mut self, bits: &mut [u64]) -> Option<usize> {
        if self.free == 0 {
            return None;
        }
        let bits = &mut bits[self.bits_at..self.bits_at + self.bit_words()];
        let hint = self.free_hint;
        for (w, word) in bits.iter_mut().enumerate().skip(hint) {
            if *word != 0 {
                let bit = word.trailing_zeros() as usize;
                *word &= !(1 << bit);
                self.free -= 1;
                self.free_hint = w;
                return Some(self.slot_addr(w * 64 + bit));
            }
        }
        // `free` said there is one; the bitmap disagrees. Never happens, but
        // resynchronise instead of panicking.
        debug_assert!(false, "slab free count out of sync");
        self.free = 0;
        None
    }

    /// Is `lo..hi` inside this slab, with every slot overlapping it unused
    /// (free in the global pool, or fresh)?
    pub(super) fn all_free(&self, bits: &[u64], lo: usize, hi: usize) -> bool {
        if lo < self.base || hi > self.base + self.len() || lo >= hi {
            return false;
        }
        let first = (lo - self.base) / self.slot_size;
        let last = (hi - 1 - self.base) / self.slot_size;
        let bits = &bits[self.bits_at..self.bits_at + self.bit_words()];
        (first..=last).all(|i| i >= self.fresh || bits[i / 64] & (1 << (i % 64)) != 0)
    }

    /// Marks the slot at `addr` free in the global pool.
    pub(super) fn put_free(&mut self, bits: &mut [u64], addr: usize) {
        debug_assert!(addr >= self.base && addr < self.base + self.len());
        let i = (addr - self.base) / self.slot_size;
        let (w, bit) = (i / 64, i % 64);
        let word = &mut bits[self.bits_at + w];
        debug_assert_eq!(*word & (1 << bit), 0, "slot freed twice");
        *word |= 1 << bit;
        self.free += 1;
        self.free_hint = self.free_hint.min(w);
    }
}

/// Reads a number from a `/proc` or `/sys` file.
fn read_number(path: &str) -> Option<usize> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// `vm.max_map_count`, if readable.
pub(crate) fn max_map_count() -> Option<usize> {
    read_number("/proc/sys/vm/max_map_count")
}

/// Number of mappings (lines of `/proc/self/maps`) of this process.
pub(crate) fn map_count() -> Option<usize> {
    let maps = std::fs::read("/proc/self/maps").ok()?;
    Some(maps.iter().filter(|&&b| b == b'\n').count())
}

/// Is this process within a few mappings of `vm.max_map_count`?
fn near_map_count_limit() -> bool {
    match (map_count(), max_map_count()) {
        (Some(n), Some(max)) => n + 16 >= max,
        _ => false,
    }
}

/// The error for "no more mappings allowed", naming the cause and the fix.
fn map_count_error() -> io::Error {
    let max = max_map_count().map_or_else(|| "?".to_string(), |m| m.to_string());
    let now = map_count().map_or_else(|| "?".to_string(), |n| n.to_string());
    let why = if uses_mprotect_fallback() {
        "; this kernel lacks MADV_GUARD_INSTALL (Linux 6.13+), so each guarded stack \
         costs about two mappings"
    } else {
        ""
    };
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!(
            "weft: cannot map a coroutine stack: vm.max_map_count ({max}) reached \
             ({now} mappings){why}; raise it with `sysctl -w vm.max_map_count=1048576` \
             or use fewer coroutines"
        ),
    )
}

/// Wraps an unexpected OS error with context.
fn other_error(err: io::Error) -> io::Error {
    io::Error::new(
        err.kind(),
        format!("weft: cannot map a coroutine stack: {err}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `ENOMEM` from `MADV_GUARD_INSTALL` (here: an unmapped range) is
    /// an error, not a reason to switch the process to `mprotect`.
    #[test]
    fn install_errors_do_not_switch_to_mprotect() {
        if uses_mprotect_fallback() {
            eprintln!("kernel without MADV_GUARD_INSTALL: nothing to check");
            return;
        }
        let page = page_size();
        // SAFETY: a fresh private mapping, unmapped again right away: the
        // range then belongs to nobody, and we only ask to guard it.
        let hole = unsafe {
            let p = libc::mmap(
                ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            libc::munmap(p, page);
            p as usize
        };
        // SAFETY: the range is unmapped: the call can only fail.
        let err = unsafe { install_guard(hole, page) }.unwrap_err();
        assert_eq!(err.raw_os_error(), None, "wrapped with context: {err}");
        assert!(err.to_string().contains("weft:"), "{err}");
        assert!(!uses_mprotect_fallback(), "ENOMEM switched to mprotect");

        // EINVAL for a mapping that cannot hold guard markers (locked):
        // also an error, no switch.
        // SAFETY: a fresh private mapping of ours, locked, then given up.
        let locked = unsafe {
            let p = libc::mmap(
                ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_LOCKED,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            p as usize
        };
        // SAFETY: our own mapping, nobody uses its contents.
        let r = unsafe { install_guard(locked, page) };
        // SAFETY: unmapping our own mapping.
        unsafe { libc::munmap(locked as *mut libc::c_void, page) };
        if let Err(e) = r {
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        }
        assert!(!uses_mprotect_fallback(), "EINVAL switched to mprotect");
    }

    #[test]
    fn slab_geometry_and_free_bitmap() {
        let page = page_size();
        // Its bits start after another slab's three words.
        let mut slab = Slab::map(16 * 1024, page, 0, 3).expect("map slab");
        let mut bits = vec![0; 3 + slab.bit_words()];
        let slot = 16 * 1024 + page;
        assert_eq!(slab.len() % slot, 0);
        assert!(slab.len() <= SLAB_FIRST_BYTES);
        assert!(slab.slots > 64, "need more than one bitmap word");
        let a = slab.take_fresh().unwrap();
        let b = slab.take_fresh().unwrap();
        assert_eq!(a, slab.base);
        assert_eq!(b, a + slot);
        assert!(registry::is_guard(a));
        assert!(registry::is_guard(b + page - 1));
        assert!(!registry::is_guard(b + page));
        // Free bitmap hands out the lowest free slot first.
        for _ in 2..70 {
            slab.take_fresh().unwrap();
        }
        let s66 = slab.slot_addr(66);
        slab.put_free(&mut bits, s66);
        slab.put_free(&mut bits, b);
        assert_eq!(slab.free, 2);
        assert_eq!(bits[..3], [0, 0, 0], "another slab's bits are untouched");
        assert!(slab.all_free(&bits, b, b + slot));
        assert!(!slab.all_free(&bits, a, a + slot));
        assert_eq!(slab.take_free(&mut bits), Some(b));
        assert_eq!(slab.take_free(&mut bits), Some(s66));
        assert_eq!(slab.take_free(&mut bits), None);
        // Exhaust the fresh slots.
        while slab.take_fresh().is_some() {}
        assert_eq!(slab.fresh, slab.slots);
    }

    #[test]
    fn slabs_grow_and_cap() {
        // Only the size computation: a 1 GiB class fits one slot per slab.
        let page = page_size();
        let slab = Slab::map(1 << 30, page, 5, 0).expect("map 1 GiB slab");
        assert_eq!(slab.slots, 1);
        assert_eq!(slab.len(), (1 << 30) + page);
    }

    #[test]
    fn max_map_count_is_readable() {
        assert!(max_map_count().is_some());
        assert!(map_count().unwrap() > 5);
    }
}
