//! Preparing many slots with few system calls: guards installed and top
//! pages faulted in for a whole batch of slots at once.
//!
//! Why: a burst of coroutines that all park at once (a server accepting
//! thousands of connections, `examples/million.rs`) needs one fresh stack
//! each. Per stack that cost a `madvise(MADV_GUARD_INSTALL)` and a page
//! fault on the stack's top page when the coroutine first ran: on the
//! 2-core KVM guest this was measured on, ~0.4 µs and ~1.7 µs. The fault
//! is most of a spawn's cost and cannot be avoided (every parked coroutine
//! keeps its top page), but it can be made cheaper: `MADV_POPULATE_WRITE`
//! (Linux 5.14+) allocates the page without the trap, ~1.25 µs, and
//! `process_madvise` (advice on our own process: Linux 6.13+; the
//! `PIDFD_SELF` handle: 6.15+) applies either advice to up to `IOV_MAX`
//! ranges in one call (guard install ~0.26 µs per range). Measured with a
//! C loop over 200,000 slots of 132 KiB; the figures are in `arch/stacks.md`.
//!
//! Only the top page is faulted in: it is the one page a started, parked
//! coroutine keeps (its first frames); faulting in more would cost
//! resident memory for every idle coroutine.
//!
//! Every step degrades silently: without `process_madvise` (or without
//! `PIDFD_SELF`) each range gets its own `madvise`; without
//! `MADV_POPULATE_WRITE` the page is faulted in on first touch, as before.
//! The fallbacks are remembered in atomics so a kernel that said no once
//! is not asked again.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use libc::c_int;

/// `PIDFD_SELF_THREAD_GROUP` (Linux 6.15+, `include/uapi/linux/pidfd.h`):
/// "this process" as a pidfd, so no file descriptor has to be opened and
/// kept. Not in every `libc` release, so spelled out here.
const PIDFD_SELF: c_int = -10001;

/// Ranges per `process_madvise` call; the kernel accepts up to `IOV_MAX`
/// (1024), a batch of slots is far smaller.
const MAX_RANGES: usize = 64;

/// `process_madvise` on our own process has failed as unsupported.
static NO_PROCESS_MADVISE: AtomicBool = AtomicBool::new(false);
/// `MADV_POPULATE_WRITE` has failed as unknown advice.
static NO_POPULATE: AtomicBool = AtomicBool::new(false);

/// Is `MADV_POPULATE_WRITE` known to this kernel (as far as we know yet)?
#[cfg(test)]
pub(super) fn populates() -> bool {
    !NO_POPULATE.load(Ordering::Relaxed)
}

/// From now on every range gets its own `madvise`, as on a kernel before
/// 6.13. `WEFT_STACK_GUARDS=mprotect` (running as on such a kernel, see
/// `slab.rs`) and the tests of that fallback ask for it.
pub(super) fn without_process_madvise() {
    NO_PROCESS_MADVISE.store(true, Ordering::Relaxed);
}

/// Test hook: from now on nothing is faulted in ahead of use, as on a
/// kernel before 5.14.
#[cfg(test)]
pub(super) fn without_populate() {
    NO_POPULATE.store(true, Ordering::Relaxed);
}

/// `process_madvise` calls made so far (tests check that a fallback
/// really goes without it).
#[cfg(test)]
static PROCESS_MADVISE_CALLS: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// How many `process_madvise` calls this process has made.
#[cfg(test)]
pub(super) fn process_madvise_calls() -> usize {
    PROCESS_MADVISE_CALLS.load(Ordering::Relaxed)
}

/// Applies `advice` to `len` bytes at each of `addrs` with one system call
/// per [`MAX_RANGES`] ranges. `false` when that was not possible (an old
/// kernel, or an error): then none, some or all ranges got the advice, and
/// the caller applies it range by range itself (the advice it uses is
/// idempotent).
///
/// # Safety
///
/// Every range must be page aligned, lie in a mapping the caller owns, and
/// hold nothing anyone needs that `advice` would change.
pub(super) unsafe fn advise_all(addrs: &[usize], len: usize, advice: c_int) -> bool {
    if NO_PROCESS_MADVISE.load(Ordering::Relaxed) {
        return false;
    }
    for chunk in addrs.chunks(MAX_RANGES) {
        let mut iov = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; MAX_RANGES];
        for (v, &addr) in iov.iter_mut().zip(chunk) {
            *v = libc::iovec {
                iov_base: addr as *mut libc::c_void,
                iov_len: len,
            };
        }
        #[cfg(test)]
        PROCESS_MADVISE_CALLS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `iov` holds `chunk.len()` valid iovecs describing ranges
        // the caller vouches for; the kernel only reads the array.
        let done = unsafe {
            libc::syscall(
                libc::SYS_process_madvise,
                PIDFD_SELF,
                iov.as_ptr(),
                chunk.len(),
                advice,
                0,
            )
        };
        if done < 0 {
            let err = io::Error::last_os_error();
            if matches!(
                err.raw_os_error(),
                Some(libc::ENOSYS) | Some(libc::EBADF) | Some(libc::EPERM)
            ) {
                // No process_madvise, no PIDFD_SELF, or advice on ourselves
                // not allowed (kernels before 6.13): never again.
                NO_PROCESS_MADVISE.store(true, Ordering::Relaxed);
            }
            return false;
        }
        if done as usize != chunk.len() * len {
            // Partial progress (the kernel stops at the first range it
            // could not advise): let the caller finish range by range.
            return false;
        }
    }
    true
}

/// Faults in `len` bytes at each of `addrs` as if written, ahead of use.
/// Errors are ignored: a page that is not faulted in now is on first touch.
///
/// # Safety
///
/// Every range must be page aligned and lie in memory of our slabs that
/// the caller owns exclusively (a slot nobody runs on yet); its contents
/// are kept (populating does not change them).
pub(super) unsafe fn prefault(addrs: &[usize], len: usize) {
    if NO_POPULATE.load(Ordering::Relaxed) {
        return;
    }
    // SAFETY: forwarded from the caller's contract; populating changes no
    // contents.
    if unsafe { advise_all(addrs, len, libc::MADV_POPULATE_WRITE) } {
        return;
    }
    for &addr in addrs {
        // SAFETY: as above, one range.
        let rc =
            unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_POPULATE_WRITE) };
        if rc != 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
                // A kernel before 5.14: first touch faults, as it always did.
                NO_POPULATE.store(true, Ordering::Relaxed);
            }
            // ENOMEM, EFAULT, EINTR...: leave the rest to first touch.
            return;
        }
    }
}
