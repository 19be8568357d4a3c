//! `getaddrinfo`: host name lookups (`ToSocketAddrs`, every client that
//! connects to a name) block in libc and have no non-blocking form. In a
//! coroutine the hook runs libc's own `getaddrinfo` on weft's blocking
//! pool while the coroutine parks; elsewhere it calls it right there.
//!
//! libc's function is found with `dlsym(RTLD_NEXT, ...)` (a lookup has
//! no system call to stand in for it) on first use, and cached. Never in
//! a signal handler: `getaddrinfo` is not async-signal-safe anyway.
//!
//! The caller's pointers cross to the pool thread as they are, which is
//! sound because the park is uncancellable: this frame, which the
//! pointers borrow from, does not return (or unwind) before the pool
//! thread has finished with them. The list it returns was allocated by
//! libc's `malloc`, and `freeaddrinfo` frees it on whichever thread.

use std::sync::atomic::{AtomicUsize, Ordering};

use libc::{addrinfo, c_char, c_int};

type GetAddrInfo = unsafe extern "C" fn(
    *const c_char,
    *const c_char,
    *const addrinfo,
    *mut *mut addrinfo,
) -> c_int;

/// glibc's `RTLD_NEXT` (the libc crate does not define it for glibc).
const RTLD_NEXT: *mut libc::c_void = -1isize as *mut libc::c_void;

static REAL: AtomicUsize = AtomicUsize::new(0);

/// libc's `getaddrinfo`.
fn real() -> Option<GetAddrInfo> {
    let mut addr = REAL.load(Ordering::Acquire);
    if addr == 0 {
        // SAFETY: a symbol lookup with a NUL-terminated name.
        addr = unsafe { libc::dlsym(RTLD_NEXT, c"getaddrinfo".as_ptr()) } as usize;
        if addr == 0 {
            return None;
        }
        REAL.store(addr, Ordering::Release);
    }
    // SAFETY: `addr` is the address of libc's getaddrinfo, whose C
    // signature is `GetAddrInfo`.
    Some(unsafe { std::mem::transmute::<usize, GetAddrInfo>(addr) })
}

/// `getaddrinfo(3)`; in a coroutine it runs on the blocking pool while the
/// coroutine parks.
///
/// # Safety
/// `getaddrinfo(3)`'s contract: `node`/`service` null or C strings,
/// `hints` null or valid, `res` valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    let Some(real) = real() else {
        return libc::EAI_SYSTEM;
    };
    if !crate::rt::worker::in_coroutine() {
        // SAFETY: forwarded from this function's contract.
        return unsafe { real(node, service, hints, res) };
    }
    // Pointers are not Send; as addresses they cross (module docs).
    let args = [
        node as usize,
        service as usize,
        hints as usize,
        res as usize,
    ];
    let (code, err) = crate::blocking::offload(move || {
        // SAFETY: the caller's pointers, valid until this job completes
        // because `offload` parks uncancellably until it has (module docs).
        let code = unsafe {
            real(
                args[0] as *const c_char,
                args[1] as *const c_char,
                args[2] as *const addrinfo,
                args[3] as *mut *mut addrinfo,
            )
        };
        // EAI_SYSTEM reports through errno, which is per thread.
        (code, super::sys::errno())
    });
    if code == libc::EAI_SYSTEM {
        super::sys::set_errno(err);
    }
    code
}
