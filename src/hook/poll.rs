//! `poll`, `ppoll` and `select`: libraries wait for readiness with them
//! (std's `TcpStream::connect_timeout` does, on a socket it made
//! non-blocking for the purpose). In a coroutine, a wait that would block
//! parks instead: weft registers every descriptor of the set with the
//! worker's poller (the same registrations the socket hooks use), asks
//! the kernel with a zero timeout, and parks on all of them until one
//! reports an edge or the timeout passes, then asks again.
//!
//! `epoll_wait` and `epoll_pwait` are the nested event loop's case (a
//! library that runs a private tokio or mio loop inside a coroutine): an
//! epoll descriptor is itself pollable, readable when its ready list is
//! not empty, so the coroutine parks on the *inner* epoll descriptor's
//! readiness, registered with the worker's poller, and then collects the
//! events with a zero-timeout `epoll_wait`.
//!
//! A zero timeout, a plain thread (the worker's own loop included: it is
//! never "in a coroutine"), or a call with a signal mask (which a
//! coroutine cannot honour: the mask belongs to the worker thread) go
//! straight to the kernel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use libc::{c_int, nfds_t, pollfd, timespec};

use super::sys::{self, set_errno};
use super::table::{self, Watch};
use super::wait;
use crate::io::reactor::ReadyEvent;
use crate::io::registration::{READ, WRITE};
use crate::observe::WaitFor;

/// `poll(2)`; parks a coroutine instead of blocking its worker.
///
/// # Safety
/// `poll(2)`'s contract: `fds` valid for `n` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn poll(fds: *mut pollfd, n: nfds_t, timeout_ms: c_int) -> c_int {
    let timeout = (timeout_ms >= 0).then(|| Duration::from_millis(timeout_ms as u64));
    if timeout != Some(Duration::ZERO) && crate::rt::worker::in_coroutine() {
        // SAFETY: the contract gives `n` valid entries.
        let fds = unsafe { slice(fds, n) };
        return coroutine_poll(fds, timeout.and_then(|t| Instant::now().checked_add(t)));
    }
    let mut ts = timeout.map(wait::timespec);
    // SAFETY: forwarded from this function's contract; `ts` is a copy.
    unsafe { sys::ppoll(fds, n, opt_ptr(&mut ts), std::ptr::null(), 0) }
}

/// `ppoll(2)`; parks a coroutine when no signal mask is given.
///
/// # Safety
/// `ppoll(2)`'s contract.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ppoll(
    fds: *mut pollfd,
    n: nfds_t,
    timeout: *const timespec,
    mask: *const libc::sigset_t,
) -> c_int {
    // SAFETY: the contract: `timeout` is null or valid.
    let mut ts = (!timeout.is_null()).then(|| unsafe { *timeout });
    let zero = ts.is_some_and(|t| t.tv_sec == 0 && t.tv_nsec == 0);
    if !zero && mask.is_null() && crate::rt::worker::in_coroutine() {
        let dur = match ts.map(duration) {
            None => None,
            Some(Some(dur)) => Some(dur),
            Some(None) => {
                set_errno(libc::EINVAL);
                return -1;
            }
        };
        // SAFETY: the contract gives `n` valid entries.
        let fds = unsafe { slice(fds, n) };
        return coroutine_poll(fds, dur.and_then(|d| Instant::now().checked_add(d)));
    }
    let mask_len = if mask.is_null() {
        0
    } else {
        size_of::<libc::c_ulong>()
    };
    // SAFETY: forwarded from this function's contract; `ts` is a copy
    // (glibc's ppoll does not write the time left back either).
    unsafe { sys::ppoll(fds, n, opt_ptr(&mut ts), mask, mask_len) }
}

/// `select(2)`; parks a coroutine (through the same wait as `poll`).
///
/// # Safety
/// `select(2)`'s contract: each set null or valid, `n <= FD_SETSIZE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn select(
    n: c_int,
    r: *mut libc::fd_set,
    w: *mut libc::fd_set,
    e: *mut libc::fd_set,
    timeout: *mut libc::timeval,
) -> c_int {
    // SAFETY: the contract: `timeout` is null or valid.
    let tv = (!timeout.is_null()).then(|| unsafe { *timeout });
    let zero = tv.is_some_and(|t| t.tv_sec == 0 && t.tv_usec == 0);
    if zero || !crate::rt::worker::in_coroutine() {
        let mut ts = tv.map(|t| timespec {
            tv_sec: t.tv_sec,
            tv_nsec: t.tv_usec * 1000,
        });
        // SAFETY: forwarded from this function's contract.
        let result = unsafe { sys::pselect6(n, r, w, e, opt_ptr(&mut ts), std::ptr::null()) };
        if let (Some(ts), false) = (ts, timeout.is_null()) {
            // Linux's select writes the time left back.
            // SAFETY: `timeout` is non-null and valid (the contract).
            unsafe {
                *timeout = libc::timeval {
                    tv_sec: ts.tv_sec,
                    tv_usec: ts.tv_nsec / 1000,
                }
            };
        }
        return result;
    }
    if !(0..=libc::FD_SETSIZE as c_int).contains(&n)
        || tv.is_some_and(|t| t.tv_sec < 0 || !(0..1_000_000).contains(&t.tv_usec))
    {
        set_errno(libc::EINVAL);
        return -1;
    }
    let deadline = tv.and_then(|t| {
        Instant::now().checked_add(Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000))
    });
    // SAFETY: each set is null or valid (the contract).
    let sets = unsafe { [r.as_mut(), w.as_mut(), e.as_mut()] };
    let mut fds = Vec::new();
    for fd in 0..n {
        let mut events = 0;
        let is_set = |set: &Option<&mut libc::fd_set>| {
            set.as_ref().is_some_and(|s| {
                // SAFETY: FD_ISSET reads a valid set, fd < FD_SETSIZE.
                unsafe { libc::FD_ISSET(fd, &**s) }
            })
        };
        if is_set(&sets[0]) {
            events |= libc::POLLIN;
        }
        if is_set(&sets[1]) {
            events |= libc::POLLOUT;
        }
        if is_set(&sets[2]) {
            events |= libc::POLLPRI;
        }
        if events != 0 {
            fds.push(pollfd {
                fd,
                events,
                revents: 0,
            });
        }
    }
    let ready = coroutine_poll(&mut fds, deadline);
    if ready == -1 {
        return -1;
    }
    if fds.iter().any(|p| p.revents & libc::POLLNVAL != 0) {
        set_errno(libc::EBADF);
        return -1;
    }
    let mut sets = sets;
    for set in sets.iter_mut().flatten() {
        // SAFETY: FD_ZERO clears a valid set.
        unsafe { libc::FD_ZERO(&mut **set) };
    }
    let mut count = 0;
    for p in &fds {
        let bits = [
            libc::POLLIN | libc::POLLHUP | libc::POLLERR,
            libc::POLLOUT | libc::POLLERR,
            libc::POLLPRI,
        ];
        for (set, bits) in sets.iter_mut().zip(bits) {
            if let Some(set) = set
                && p.events & bits != 0
                && p.revents & bits != 0
            {
                // SAFETY: FD_SET on a valid set, fd < FD_SETSIZE.
                unsafe { libc::FD_SET(p.fd, &mut **set) };
                count += 1;
            }
        }
    }
    if !timeout.is_null() {
        let left = deadline.map_or(Duration::ZERO, |d| {
            d.saturating_duration_since(Instant::now())
        });
        // SAFETY: `timeout` is non-null and valid (the contract).
        unsafe {
            *timeout = libc::timeval {
                tv_sec: left.as_secs() as libc::time_t,
                tv_usec: left.subsec_micros() as libc::suseconds_t,
            }
        };
    }
    count
}

/// `epoll_wait(2)`; parks a coroutine on the epoll descriptor itself.
///
/// # Safety
/// `epoll_wait(2)`'s contract: `events` valid for `max` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn epoll_wait(
    epfd: c_int,
    events: *mut libc::epoll_event,
    max: c_int,
    timeout_ms: c_int,
) -> c_int {
    // SAFETY: forwarded from this function's contract.
    unsafe { epoll_pwait(epfd, events, max, timeout_ms, std::ptr::null()) }
}

/// `epoll_pwait(2)`; parks a coroutine when no signal mask is given.
///
/// # Safety
/// `epoll_pwait(2)`'s contract: `events` valid for `max` entries, `mask`
/// null or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn epoll_pwait(
    epfd: c_int,
    events: *mut libc::epoll_event,
    max: c_int,
    timeout_ms: c_int,
    mask: *const libc::sigset_t,
) -> c_int {
    let mask_len = if mask.is_null() { 0 } else { 8 };
    if timeout_ms == 0 || !mask.is_null() || !crate::rt::worker::in_coroutine() {
        // SAFETY: forwarded from this function's contract.
        return unsafe { sys::epoll_pwait(epfd, events, max, timeout_ms, mask, mask_len) };
    }
    let deadline = (timeout_ms > 0)
        .then(|| Instant::now().checked_add(Duration::from_millis(timeout_ms as u64)))
        .flatten();
    loop {
        // SAFETY: forwarded from this function's contract; no wait.
        let n = unsafe { sys::epoll_pwait(epfd, events, max, 0, std::ptr::null(), 0) };
        if n != 0 {
            return n;
        }
        let mut inner = [pollfd {
            fd: epfd,
            events: libc::POLLIN,
            revents: 0,
        }];
        match coroutine_poll(&mut inner, deadline) {
            0 => return 0,
            -1 => return -1,
            _ => {}
        }
    }
}

/// The poll set as a slice (empty for `n == 0`, whatever the pointer).
///
/// # Safety
/// `fds` valid for `n` entries when `n > 0`.
unsafe fn slice<'a>(fds: *mut pollfd, n: nfds_t) -> &'a mut [pollfd] {
    if n == 0 {
        return &mut [];
    }
    // SAFETY: forwarded from this function's contract.
    unsafe { std::slice::from_raw_parts_mut(fds, n as usize) }
}

fn opt_ptr<T>(value: &mut Option<T>) -> *mut T {
    value.as_mut().map_or(std::ptr::null_mut(), |v| v as *mut T)
}

/// A `timespec` as a duration; `None` if it is invalid.
fn duration(ts: timespec) -> Option<Duration> {
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return None;
    }
    Some(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// What a pollfd waits for, as registration interest.
fn interest(events: i16) -> usize {
    let mut interest = 0;
    if events & (libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP) != 0 {
        interest |= READ;
    }
    if events & libc::POLLOUT != 0 {
        interest |= WRITE;
    }
    interest
}

/// A coroutine's poll: ask the kernel without waiting; if nothing is
/// ready, park on every descriptor's registration until one moves or the
/// deadline passes, and ask again.
fn coroutine_poll(fds: &mut [pollfd], deadline: Option<Instant>) -> c_int {
    let header = crate::rt::worker::current_header().expect("called in a coroutine");
    let _waiting = crate::observe::waiting(WaitFor::Socket {
        fd: fds.first().map_or(-1, |p| p.fd),
        write: false,
    });
    loop {
        // Snapshot each registration's readiness before asking the kernel.
        let seen: Vec<Option<(Arc<Watch>, Option<ReadyEvent>)>> = fds
            .iter()
            .map(|p| {
                let watch = table::slot(p.fd)?.watch()?;
                let ready = watch.reg.ready(interest(p.events));
                Some((watch, ready))
            })
            .collect();
        let mut zero = timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `fds` is a valid slice of pollfds; `zero` a valid timespec.
        let n = unsafe {
            sys::ppoll(
                fds.as_mut_ptr(),
                fds.len() as nfds_t,
                &mut zero,
                std::ptr::null(),
                0,
            )
        };
        if n != 0 {
            return n;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return 0;
        }
        if header.is_cancelled() {
            set_errno(libc::ECANCELED);
            return -1;
        }
        // Register every descriptor (a no-op after the first round), and
        // forget the readiness the kernel just contradicted.
        let mut watches = Vec::with_capacity(fds.len());
        for (p, seen) in fds.iter().zip(seen) {
            if p.fd < 0 {
                continue;
            }
            let watch = table::slot_or_create(p.fd).and_then(|slot| wait::watch(p.fd, slot));
            let Some(watch) = watch else {
                return blocking_poll(fds, deadline);
            };
            if let Some((seen, Some(event))) = seen
                && Arc::ptr_eq(&seen, &watch)
            {
                watch.reg.clear_readiness(event, interest(p.events));
            }
            watches.push((watch, interest(p.events)));
        }
        let mut parked = true;
        for (watch, interest) in &watches {
            if !watch.reg.add_waiter(*interest, &header) {
                parked = false;
                break;
            }
        }
        if parked {
            crate::rt::park::park_until_uncancellable(deadline);
        }
        for (watch, _) in &watches {
            watch.reg.remove_waiter(&header);
        }
    }
}

/// A descriptor that cannot be registered (none such is a socket or
/// pipe): wait in the kernel, blocking the worker as without the hook.
fn blocking_poll(fds: &mut [pollfd], deadline: Option<Instant>) -> c_int {
    let mut ts = deadline.map(|d| wait::timespec(d.saturating_duration_since(Instant::now())));
    // SAFETY: `fds` is a valid slice of pollfds; `ts` null or valid.
    unsafe {
        sys::ppoll(
            fds.as_mut_ptr(),
            fds.len() as nfds_t,
            opt_ptr(&mut ts),
            std::ptr::null(),
            0,
        )
    }
}
