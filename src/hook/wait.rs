//! How a hooked call waits when the kernel says `EAGAIN` on a descriptor
//! the user believes is blocking: a coroutine parks on the descriptor's
//! registration with its worker's poller (the same `io` layer as
//! `weft::net`); a plain thread blocks in `poll(2)`, which is what the
//! kernel would have done inside the blocking call.
//!
//! Timeouts are the socket's own `SO_RCVTIMEO`/`SO_SNDTIMEO`, read with
//! `getsockopt` when a call first has to wait (the kernel keeps them on a
//! non-blocking socket, it just ignores them). A wait that reaches one
//! ends the call with `EAGAIN`, as the blocking call would have.
//!
//! Every function returns the `errno` to fail with instead of unwinding:
//! they run inside `extern "C"` functions. A cancelled coroutine's wait
//! ends with `ECANCELED`; the cancel then unwinds it from its next weft
//! parking point.

use std::sync::Arc;
use std::time::{Duration, Instant};

use libc::c_int;

use super::sys;
use super::table::{Slot, Watch};
use crate::io::reactor::ReadyEvent;
use crate::io::registration::{READ, WRITE};
use crate::observe::WaitFor;

/// The deadline of a wait for `interest` on socket `fd`: now plus its
/// `SO_RCVTIMEO` (reading) or `SO_SNDTIMEO` (writing, connecting), or
/// none.
pub(super) fn deadline(fd: c_int, interest: usize) -> Option<Instant> {
    let name = if interest == WRITE {
        libc::SO_SNDTIMEO
    } else {
        libc::SO_RCVTIMEO
    };
    let mut tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 0,
    };
    let mut len = size_of::<libc::timeval>() as libc::socklen_t;
    let saved = sys::errno();
    // SAFETY: `tv` and `len` are valid and exclusively borrowed, `len`
    // holding the size of `tv`.
    let r = unsafe { sys::getsockopt(fd, libc::SOL_SOCKET, name, (&raw mut tv).cast(), &mut len) };
    sys::set_errno(saved);
    if r == -1 || (tv.tv_sec == 0 && tv.tv_usec == 0) {
        return None;
    }
    let timeout = Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    Instant::now().checked_add(timeout)
}

/// The watch of `fd`, registering it with the current worker's poller on
/// first use (or again, if the runtime it was registered with has shut
/// down). `None` if it cannot be registered: the caller then waits in
/// `poll(2)`, blocking the worker as it would have without the feature.
pub(super) fn watch(fd: c_int, slot: &'static Slot) -> Option<Arc<Watch>> {
    if let Some(watch) = slot.watch() {
        if !watch.reg.is_closed() {
            return Some(watch);
        }
        // Registered by a runtime that has shut down: nobody polls it any
        // more. Take it out and register with this worker.
        slot.forget_watch();
    }
    let saved = sys::errno();
    let fresh = slot.register(fd);
    sys::set_errno(saved);
    // Registration fails with EEXIST if another coroutine registered it
    // with this poller meanwhile: use theirs.
    fresh.or_else(|| slot.watch())
}

/// Waits in a coroutine (parks) or on a plain thread (`poll(2)`) until
/// `fd` may be ready for `interest`, or `deadline` passes (`EAGAIN`).
/// `stale` is the readiness an attempt just found wrong, snapshotted
/// from `seen` before it. `Err` carries the `errno` to fail with.
pub(super) fn wait(
    fd: c_int,
    slot: &'static Slot,
    seen: Option<Arc<Watch>>,
    stale: Option<ReadyEvent>,
    interest: usize,
    deadline: Option<Instant>,
) -> Result<(), c_int> {
    if !crate::rt::worker::in_coroutine() {
        return poll_thread(fd, interest, deadline);
    }
    let Some(watch) = watch(fd, slot) else {
        return poll_thread(fd, interest, deadline);
    };
    if let Some(event) = stale
        && let Some(seen) = &seen
        && Arc::ptr_eq(seen, &watch)
    {
        watch.reg.clear_readiness(event, interest);
    }
    let _waiting = crate::observe::waiting(WaitFor::Socket {
        fd,
        write: interest == WRITE,
    });
    let result = watch.reg.wait_uncancellable(interest, deadline);
    if watch.is_closed() {
        return Err(libc::EBADF);
    }
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err(libc::EAGAIN),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(libc::ECANCELED),
        // The poller went away under us: wait on the thread instead.
        Err(_) => poll_thread(fd, interest, deadline),
    }
}

/// Blocks the calling thread in `poll(2)` until `fd` is ready for
/// `interest` (or has an error or hang-up, which the retried call
/// reports), or `deadline` passes (`EAGAIN`). A signal ends the wait with
/// `EINTR`, as it ends a blocking call.
pub(super) fn poll_thread(
    fd: c_int,
    interest: usize,
    deadline: Option<Instant>,
) -> Result<(), c_int> {
    let mut events = 0;
    if interest & READ != 0 {
        events |= libc::POLLIN;
    }
    if interest & WRITE != 0 {
        events |= libc::POLLOUT;
    }
    let mut pollfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    loop {
        let mut ts = match deadline {
            None => None,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(libc::EAGAIN);
                }
                Some(timespec(left))
            }
        };
        let ts_ptr = ts
            .as_mut()
            .map_or(std::ptr::null_mut(), |ts| ts as *mut libc::timespec);
        // SAFETY: `pollfd` is one valid pollfd and `ts_ptr` null or a
        // valid, exclusively borrowed timespec.
        let n = unsafe { sys::ppoll(&mut pollfd, 1, ts_ptr, std::ptr::null(), 0) };
        match n {
            -1 => return Err(sys::errno()),
            0 => {} // re-check the deadline
            _ => return Ok(()),
        }
    }
}

/// A duration as a `timespec`, saturating.
pub(super) fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}
