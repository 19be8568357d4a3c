//! The socket calls: `read`, `write`, their vectored forms, the `recv` and
//! `send` families, `accept`, `accept4` and `connect`.
//!
//! Each is a thin `extern "C"` definition over [`io`], which decides in
//! one thread-local load whether the caller is a coroutine:
//!
//! - **not a coroutine** (a plain thread, a worker's own loop, a signal
//!   handler outside a coroutine): the system call, as is. Only if it
//!   says `EAGAIN` does the hook look up the descriptor (two atomic loads,
//!   no lock, no allocation): if weft switched it to non-blocking
//!   underneath, the thread waits in `poll(2)` and retries, so the
//!   descriptor still behaves as blocking for it.
//! - **a coroutine**: the descriptor's state ([`table::classify`]). A
//!   descriptor that is not a socket, or that its user made non-blocking
//!   (mio's, weft::net's), gets the plain system call. A blocking socket
//!   is switched to non-blocking once; then every call tries the system
//!   call and, on `EAGAIN`, parks the coroutine on the socket's
//!   registration until it is ready, honouring `SO_RCVTIMEO` and
//!   `SO_SNDTIMEO`.
//!
//! Calls with `MSG_DONTWAIT` never wait, as in the kernel. `write` and
//! `send` on a switched socket go on after a short transfer until every
//! byte is sent, as a blocking stream socket does; the vectored and
//! message forms (`writev`, `sendmsg`) and `sendto` return the short
//! count (callers loop, as POSIX allows them to need to).

use std::time::{Duration, Instant};

use libc::{c_int, c_void, size_t, sockaddr, socklen_t, ssize_t};

use super::sys::{self, errno, set_errno};
use super::table::{self, SWITCHED};
use super::wait;
use crate::io::registration::{READ, WRITE};

/// Runs `op` (one system call returning -1 and `errno` on failure) with
/// blocking semantics on `fd` for the calls described in the module docs.
#[inline(always)]
fn io(fd: c_int, interest: usize, mut op: impl FnMut() -> ssize_t) -> ssize_t {
    if !crate::rt::worker::in_coroutine() {
        let r = op();
        if r == -1 && errno() == libc::EAGAIN && table::state(fd) == SWITCHED {
            return thread_retry(fd, interest, op);
        }
        return r;
    }
    coroutine_io(fd, interest, op)
}

/// A plain thread's `EAGAIN` on a descriptor weft switched: wait in
/// `poll(2)` and retry, as the blocking call would have waited.
#[cold]
#[inline(never)]
fn thread_retry(fd: c_int, interest: usize, mut op: impl FnMut() -> ssize_t) -> ssize_t {
    let deadline = wait::deadline(fd, interest);
    loop {
        if let Err(e) = wait::poll_thread(fd, interest, deadline) {
            set_errno(e);
            return -1;
        }
        let r = op();
        if r != -1 || errno() != libc::EAGAIN || table::state(fd) != SWITCHED {
            return r;
        }
    }
}

/// A coroutine's call: see the module docs.
#[inline(never)]
fn coroutine_io(fd: c_int, interest: usize, mut op: impl FnMut() -> ssize_t) -> ssize_t {
    let (state, slot) = table::classify(fd);
    let (SWITCHED, Some(slot)) = (state, slot) else {
        return op();
    };
    let mut deadline: Option<Option<Instant>> = None;
    loop {
        // Snapshot readiness *before* the attempt, so that clearing it
        // after an EAGAIN cannot erase an event that came meanwhile.
        let seen = slot.watch();
        let ready = seen.as_ref().and_then(|w| w.reg.ready(interest));
        let r = op();
        if r != -1 {
            return r;
        }
        let e = errno();
        // The user may have made it non-blocking meanwhile (fcntl/ioctl).
        if e != libc::EAGAIN || slot.state() != SWITCHED {
            return r;
        }
        let until = *deadline.get_or_insert_with(|| wait::deadline(fd, interest));
        if let Err(e) = wait::wait(fd, slot, seen, ready, interest, until) {
            set_errno(e);
            return -1;
        }
    }
}

/// `io` for the calls with a flags argument: `MSG_DONTWAIT` never waits.
#[inline(always)]
fn io_flags(fd: c_int, interest: usize, flags: c_int, mut op: impl FnMut() -> ssize_t) -> ssize_t {
    if flags & libc::MSG_DONTWAIT != 0 {
        return op();
    }
    io(fd, interest, op)
}

/// A write of `len` bytes from `buf` through `op` (a `write`, `send` or
/// `sendto` of a pointer and a length). On a switched socket it goes on
/// until every byte is sent, as a blocking stream socket does in the
/// kernel; a timeout or an error after a partial transfer returns the
/// count sent, as the kernel does.
#[inline(always)]
fn write_io(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    op: impl Fn(*const c_void, size_t) -> ssize_t + Copy,
) -> ssize_t {
    let first = io(fd, WRITE, move || op(buf, len));
    if first <= 0 || first as usize >= len {
        return first;
    }
    write_rest(fd, buf, len, first as usize, op)
}

/// The rest of a short write, on a switched socket only (anywhere else
/// the short count is the kernel's own answer).
#[cold]
#[inline(never)]
fn write_rest(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    mut done: usize,
    op: impl Fn(*const c_void, size_t) -> ssize_t + Copy,
) -> ssize_t {
    if table::state(fd) != SWITCHED {
        return done as ssize_t;
    }
    let saved = errno();
    while done < len {
        let rest = buf.cast::<u8>().wrapping_add(done).cast::<c_void>();
        let r = io(fd, WRITE, move || op(rest, len - done));
        if r <= 0 {
            break;
        }
        done += r as usize;
    }
    set_errno(saved);
    done as ssize_t
}

/// `read(2)`, parking a coroutine on a blocking socket.
///
/// # Safety
/// `read(2)`'s contract: `buf` valid for `n` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t {
    // SAFETY: forwarded from this function's contract.
    io(fd, READ, move || unsafe { sys::read(fd, buf, n) })
}

/// `write(2)`, parking a coroutine on a blocking socket.
///
/// # Safety
/// `write(2)`'s contract: `buf` valid for `n` bytes of reads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t {
    write_io(fd, buf, n, move |buf, n| {
        // SAFETY: `buf..buf + n` lies within the caller's buffer (this
        // function's contract): `write_io` only advances inside it.
        unsafe { sys::write(fd, buf, n) }
    })
}

/// `readv(2)`, parking a coroutine on a blocking socket.
///
/// # Safety
/// `readv(2)`'s contract: `iov` valid for `n` entries, each writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const libc::iovec, n: c_int) -> ssize_t {
    // SAFETY: forwarded from this function's contract.
    io(fd, READ, move || unsafe { sys::readv(fd, iov, n) })
}

/// `writev(2)`, parking a coroutine on a blocking socket.
///
/// # Safety
/// `writev(2)`'s contract: `iov` valid for `n` entries, each readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const libc::iovec, n: c_int) -> ssize_t {
    // SAFETY: forwarded from this function's contract.
    io(fd, WRITE, move || unsafe { sys::writev(fd, iov, n) })
}

/// `recv(2)`, parking a coroutine on a blocking socket.
///
/// # Safety
/// `recv(2)`'s contract: `buf` valid for `n` bytes of writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int) -> ssize_t {
    io_flags(fd, READ, flags, move || {
        // SAFETY: forwarded from this function's contract; no address.
        unsafe {
            sys::recvfrom(
                fd,
                buf,
                n,
                flags,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        }
    })
}

/// `recvfrom(2)`, parking a coroutine on a blocking socket.
///
/// # Safety
/// `recvfrom(2)`'s contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    n: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
) -> ssize_t {
    // SAFETY: forwarded from this function's contract.
    io_flags(fd, READ, flags, move || unsafe {
        sys::recvfrom(fd, buf, n, flags, addr, len)
    })
}

/// `recvmsg(2)`, parking a coroutine on a blocking socket.
///
/// # Safety
/// `recvmsg(2)`'s contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut libc::msghdr, flags: c_int) -> ssize_t {
    // SAFETY: forwarded from this function's contract.
    io_flags(fd, READ, flags, move || unsafe {
        sys::recvmsg(fd, msg, flags)
    })
}

/// `send(2)`, parking a coroutine on a blocking socket.
///
/// # Safety
/// `send(2)`'s contract: `buf` valid for `n` bytes of reads.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, n: size_t, flags: c_int) -> ssize_t {
    let op = move |buf, n| {
        // SAFETY: `buf..buf + n` lies within the caller's buffer (this
        // function's contract); no address.
        unsafe { sys::sendto(fd, buf, n, flags, std::ptr::null(), 0) }
    };
    if flags & libc::MSG_DONTWAIT != 0 {
        return op(buf, n);
    }
    write_io(fd, buf, n, op)
}

/// `sendto(2)`, parking a coroutine on a blocking socket.
///
/// # Safety
/// `sendto(2)`'s contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    n: size_t,
    flags: c_int,
    addr: *const sockaddr,
    len: socklen_t,
) -> ssize_t {
    // SAFETY: forwarded from this function's contract.
    io_flags(fd, WRITE, flags, move || unsafe {
        sys::sendto(fd, buf, n, flags, addr, len)
    })
}

/// `sendmsg(2)`, parking a coroutine on a blocking socket.
///
/// # Safety
/// `sendmsg(2)`'s contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const libc::msghdr, flags: c_int) -> ssize_t {
    // SAFETY: forwarded from this function's contract.
    io_flags(fd, WRITE, flags, move || unsafe {
        sys::sendmsg(fd, msg, flags)
    })
}

/// `accept(2)`, parking a coroutine on a blocking listener.
///
/// # Safety
/// `accept(2)`'s contract: `addr`/`len` null or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe { accept4(fd, addr, len, 0) }
}

/// `accept4(2)`, parking a coroutine on a blocking listener. The new
/// descriptor starts with a clean slot in weft's table.
///
/// # Safety
/// `accept4(2)`'s contract: `addr`/`len` null or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    let accept = move || {
        // SAFETY: forwarded from this function's contract.
        unsafe { sys::accept4(fd, addr, len, flags) as ssize_t }
    };
    let new = io(fd, READ, accept) as c_int;
    if new >= 0 {
        // A number reused without passing through the hooked `close`
        // (a raw system call) must not inherit a stale state.
        table::forget(new);
    }
    new
}

/// `connect(2)`. On a blocking socket in a coroutine: start the
/// connection, park until it is writable (up to `SO_SNDTIMEO`, as Linux
/// does), and return its outcome (`SO_ERROR`). A Unix socket whose
/// listener's backlog is full (`EAGAIN`) is retried after a pause.
///
/// # Safety
/// `connect(2)`'s contract: `addr` valid for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    if crate::rt::worker::in_coroutine() {
        // Switch a blocking socket first, or the connect blocks the worker.
        table::classify(fd);
    }
    let mut backoff = Duration::from_millis(1);
    loop {
        // SAFETY: forwarded from this function's contract.
        let r = unsafe { sys::connect(fd, addr, len) };
        if r == 0 || table::state(fd) != SWITCHED {
            return r;
        }
        match errno() {
            libc::EINPROGRESS => return finish_connect(fd),
            // A Unix stream socket whose listener's backlog is full: a
            // blocking connect waits for room, and no readiness event
            // says when there is some. Retry after a pause that doubles
            // up to 64 ms, as weft::net does.
            libc::EAGAIN => {
                pause(backoff);
                backoff = (backoff * 2).min(Duration::from_millis(64));
            }
            _ => return r,
        }
    }
}

/// Sleeps `dur`: parks a coroutine (through the hooked sleep's path),
/// blocks a thread.
fn pause(dur: Duration) {
    let ts = wait::timespec(dur);
    let saved = errno();
    // SAFETY: a valid timespec and no remainder wanted.
    unsafe { super::sleep::nanosleep(&ts, std::ptr::null_mut()) };
    set_errno(saved);
}

/// Waits for a connection started on a switched socket and returns what
/// a blocking `connect` would have.
#[cold]
fn finish_connect(fd: c_int) -> c_int {
    let Some(slot) = table::slot(fd) else {
        set_errno(libc::EINPROGRESS);
        return -1;
    };
    let deadline = wait::deadline(fd, WRITE);
    loop {
        let seen = slot.watch();
        let ready = seen.as_ref().and_then(|w| w.reg.ready(WRITE));
        match connect_outcome(fd) {
            Some(0) => return 0,
            Some(e) => {
                set_errno(e);
                return -1;
            }
            None => {}
        }
        match wait::wait(fd, slot, seen, ready, WRITE, deadline) {
            Ok(()) => {}
            // A blocking connect that times out says EINPROGRESS.
            Err(libc::EAGAIN) => {
                set_errno(libc::EINPROGRESS);
                return -1;
            }
            Err(e) => {
                set_errno(e);
                return -1;
            }
        }
    }
}

/// `Some(0)` connected, `Some(errno)` failed, `None` still connecting.
fn connect_outcome(fd: c_int) -> Option<c_int> {
    let mut err: c_int = 0;
    let mut len = size_of::<c_int>() as socklen_t;
    // SAFETY: `err`/`len` are valid and exclusively borrowed.
    let r = unsafe {
        sys::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&raw mut err).cast(),
            &mut len,
        )
    };
    if r == -1 {
        return Some(errno());
    }
    if err != 0 {
        return Some(err);
    }
    // SAFETY: an all-zero sockaddr_storage is valid for the kernel to fill.
    let mut peer: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as socklen_t;
    // SAFETY: `peer`/`len` are valid and exclusively borrowed.
    let r = unsafe { sys::getpeername(fd, (&raw mut peer).cast(), &mut len) };
    if r == 0 {
        Some(0)
    } else if errno() == libc::ENOTCONN {
        None
    } else {
        Some(errno())
    }
}
