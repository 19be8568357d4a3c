//! The bookkeeping calls: `close`, `dup`, `dup2`, `dup3`, `fcntl` and
//! `ioctl`. They never wait; they keep weft's table of descriptors
//! ([`table`]) true, and show the *user's* blocking mode rather than the
//! one weft set underneath.
//!
//! - `close` (and the implicit close of `dup2`/`dup3`'s target) forgets
//!   the number *before* the kernel frees it: the state goes back to
//!   unknown, and a registration is removed from its poller while the
//!   descriptor is still open, its waiters woken (they return `EBADF`). A
//!   number the kernel hands out again therefore never inherits a state or
//!   a registration.
//! - `dup`, `dup2`, `dup3` and `fcntl(F_DUPFD*)` give the new number the
//!   old one's state (they share the file description and its
//!   `O_NONBLOCK`), but not its registration (epoll registers a number).
//! - `fcntl(F_GETFL)` hides the `O_NONBLOCK` weft set; `F_SETFL` and
//!   `ioctl(FIONBIO)` record what the user asks for, keeping the kernel
//!   flag set while weft needs it.
//!
//! On a descriptor weft never touched each is the system call plus one or
//! two atomic loads: no lock, no allocation, so they stay usable in
//! signal handlers.

use libc::{c_int, c_long, c_ulong, c_void};

use super::sys;
use super::table::{self, PASS, SWITCHED, UNKNOWN};

/// The `fcntl` command [`super::active`] probes with (on descriptor -1,
/// which the kernel would answer with `EBADF`): the hook answers it with
/// this number, proving that libc calls reach the hooks.
pub(super) const PROBE: c_int = 0x7765_6674; // "weft"

/// `close(2)`; forgets the descriptor first (see the module docs).
///
/// # Safety
/// `close(2)`'s contract (the caller owns `fd`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    table::forget(fd);
    // SAFETY: forwarded from this function's contract.
    unsafe { sys::close(fd) }
}

/// `dup(2)`; the duplicate inherits the original's state.
///
/// # Safety
/// `dup(2)`'s contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    // SAFETY: forwarded from this function's contract.
    let new = unsafe { sys::dup(fd) };
    if new >= 0 {
        table::copy(fd, new);
    }
    new
}

/// `dup2(2)`; forgets the target's state, then copies the original's.
///
/// # Safety
/// `dup2(2)`'s contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    if old != new {
        table::forget(new);
    }
    // SAFETY: forwarded from this function's contract.
    let r = unsafe { sys::dup2(old, new) };
    if r >= 0 && old != new {
        table::copy(old, r);
    }
    r
}

/// `dup3(2)`; as [`dup2`].
///
/// # Safety
/// `dup3(2)`'s contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    if old != new {
        table::forget(new);
    }
    // SAFETY: forwarded from this function's contract.
    let r = unsafe { sys::dup3(old, new, flags) };
    if r >= 0 {
        table::copy(old, r);
    }
    r
}

/// `fcntl(2)`. C declares it variadic; on the Linux ABIs weft supports
/// (x86-64, AArch64) a variadic integer or pointer argument travels in
/// the same register as a named one, so the third argument is read as a
/// `long` whatever it is, and passed on as such.
///
/// # Safety
/// `fcntl(2)`'s contract for `cmd` (a pointer argument must be valid).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fcntl(fd: c_int, cmd: c_int, arg: c_long) -> c_int {
    match cmd {
        libc::F_GETFL => {
            // SAFETY: F_GETFL reads the status flags.
            let flags = unsafe { sys::fcntl(fd, cmd, arg) };
            if flags != -1 && table::state(fd) == SWITCHED {
                return flags & !libc::O_NONBLOCK;
            }
            flags
        }
        libc::F_SETFL => set_nonblocking_flag(fd, arg as c_int & libc::O_NONBLOCK != 0, |on| {
            let flags = if on {
                arg | libc::O_NONBLOCK as c_long
            } else {
                arg
            };
            // SAFETY: F_SETFL changes status flags only.
            unsafe { sys::fcntl(fd, cmd, flags) }
        }),
        libc::F_DUPFD | libc::F_DUPFD_CLOEXEC => {
            // SAFETY: forwarded from this function's contract.
            let new = unsafe { sys::fcntl(fd, cmd, arg) };
            if new >= 0 {
                table::copy(fd, new);
            }
            new
        }
        PROBE if fd == -1 => PROBE,
        // SAFETY: forwarded from this function's contract.
        _ => unsafe { sys::fcntl(fd, cmd, arg) },
    }
}

/// `fcntl64`: glibc's name for `fcntl` in C code built with 64-bit file
/// offsets on 32-bit ABIs, and an alias elsewhere; the same hook.
///
/// # Safety
/// As [`fcntl`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn fcntl64(fd: c_int, cmd: c_int, arg: c_long) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe { fcntl(fd, cmd, arg) }
}

/// `ioctl(2)`: `FIONBIO` records the user's blocking mode (see
/// [`fcntl`] for the variadic argument).
///
/// # Safety
/// `ioctl(2)`'s contract for `request`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ioctl(fd: c_int, request: c_ulong, arg: *mut c_void) -> c_int {
    if request != libc::FIONBIO as c_ulong || arg.is_null() {
        // SAFETY: forwarded from this function's contract.
        return unsafe { sys::ioctl(fd, request, arg) };
    }
    // SAFETY: FIONBIO's argument is a pointer to an int (the contract).
    let on = unsafe { *arg.cast::<c_int>() } != 0;
    set_nonblocking_flag(fd, on, |on_now| {
        let mut value: c_int = on_now as c_int;
        // SAFETY: `value` is a valid int for the kernel to read.
        unsafe { sys::ioctl(fd, request, (&raw mut value).cast()) }
    })
}

/// The user sets (`on`) or clears `O_NONBLOCK` on `fd`; `apply(kernel)`
/// makes the system call with the flag the kernel must get.
fn set_nonblocking_flag(fd: c_int, on: bool, apply: impl FnOnce(bool) -> c_int) -> c_int {
    let Some(slot) = table::slot(fd) else {
        return apply(on);
    };
    match slot.state() {
        // Weft needs the kernel flag: keep it, record the user's choice.
        SWITCHED => {
            let r = apply(true);
            if r != -1 && on {
                // Non-blocking by the user's choice from now on.
                slot.set_state(PASS);
            }
            r
        }
        state => {
            let r = apply(on);
            if r != -1 && !on && state == PASS {
                // Maybe a blocking socket now: look again on next use.
                slot.set_state(UNKNOWN);
            }
            r
        }
    }
}
