//! The sleep calls: `nanosleep`, `clock_nanosleep`, `usleep` and `sleep`
//! (`std::thread::sleep` is `nanosleep`). In a coroutine they park it on
//! a worker timer, as `weft::sleep` does; elsewhere (plain threads, the
//! worker's own loop, the blocking pool) they are the system call.
//!
//! A cancel does not cut a hooked sleep short (a C sleep cannot report
//! it, and `EINTR` would make std's loop sleep again at once): the
//! coroutine sleeps out its time, parked, and unwinds at its next weft
//! parking point.

use std::time::{Duration, Instant};

use libc::{c_int, c_uint, clockid_t, timespec};

use super::sys::{self, errno, set_errno};

/// Parks the running coroutine for `dur`.
fn park_for(dur: Duration) {
    let Some(deadline) = Instant::now().checked_add(dur) else {
        // Longer than the clock counts: as good as forever.
        loop {
            crate::rt::park::park_uncancellable();
        }
    };
    let _waiting = crate::observe::waiting(crate::observe::WaitFor::Sleep(deadline));
    while Instant::now() < deadline {
        crate::rt::park::park_until_uncancellable(Some(deadline));
    }
}

/// A valid request as a duration (`EINVAL` otherwise, as the kernel says).
fn request(ts: &timespec) -> Result<Duration, c_int> {
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(libc::EINVAL);
    }
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

/// `nanosleep(2)`; parks a coroutine.
///
/// # Safety
/// `nanosleep(2)`'s contract: `req` valid, `rem` null or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nanosleep(req: *const timespec, rem: *mut timespec) -> c_int {
    if !crate::rt::worker::in_coroutine() || req.is_null() {
        // SAFETY: forwarded from this function's contract.
        return unsafe { sys::nanosleep(req, rem) };
    }
    // SAFETY: `req` is non-null and valid (the contract).
    match request(unsafe { &*req }) {
        Ok(dur) => {
            park_for(dur);
            0
        }
        Err(e) => {
            set_errno(e);
            -1
        }
    }
}

/// `clock_nanosleep(3)`; parks a coroutine for a relative or absolute
/// (`TIMER_ABSTIME`) time on its clock. Returns an error number, not -1.
///
/// # Safety
/// `clock_nanosleep`'s contract: `req` valid, `rem` null or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn clock_nanosleep(
    clock: clockid_t,
    flags: c_int,
    req: *const timespec,
    rem: *mut timespec,
) -> c_int {
    let known = matches!(
        clock,
        libc::CLOCK_REALTIME | libc::CLOCK_MONOTONIC | libc::CLOCK_BOOTTIME
    );
    if !known || req.is_null() || !crate::rt::worker::in_coroutine() {
        let saved = errno();
        // SAFETY: forwarded from this function's contract.
        let r = unsafe { sys::clock_nanosleep(clock, flags, req, rem) };
        let e = if r == -1 { errno() } else { 0 };
        set_errno(saved);
        return e;
    }
    // SAFETY: `req` is non-null and valid (the contract).
    let req = unsafe { *req };
    let dur = match request(&req) {
        Ok(dur) => dur,
        Err(e) => return e,
    };
    let dur = if flags & libc::TIMER_ABSTIME != 0 {
        let mut now = timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `now` is a valid timespec to fill; a vDSO read.
        unsafe { libc::clock_gettime(clock, &mut now) };
        let now = Duration::new(now.tv_sec.max(0) as u64, now.tv_nsec as u32);
        dur.saturating_sub(now)
    } else {
        dur
    };
    park_for(dur);
    0
}

/// `usleep(3)`; parks a coroutine.
///
/// # Safety
/// None beyond C's: the function only sleeps.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn usleep(usec: libc::useconds_t) -> c_int {
    let dur = Duration::from_micros(usec.into());
    if crate::rt::worker::in_coroutine() {
        park_for(dur);
        return 0;
    }
    let req = super::wait::timespec(dur);
    // SAFETY: `req` is a valid timespec; no remainder wanted.
    unsafe { sys::nanosleep(&req, std::ptr::null_mut()) }
}

/// `sleep(3)`; parks a coroutine. Returns the seconds left if a signal
/// ended the sleep of a plain thread.
///
/// # Safety
/// None beyond C's: the function only sleeps.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn sleep(secs: c_uint) -> c_uint {
    let dur = Duration::from_secs(secs.into());
    if crate::rt::worker::in_coroutine() {
        park_for(dur);
        return 0;
    }
    let req = super::wait::timespec(dur);
    let mut rem = timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `req` and `rem` are valid timespecs.
    if unsafe { sys::nanosleep(&req, &mut rem) } == -1 {
        // Rounded up, as glibc does.
        return (rem.tv_sec + (rem.tv_nsec > 0) as libc::time_t) as c_uint;
    }
    0
}
