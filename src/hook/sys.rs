//! The real system calls behind every hook, made with `syscall(2)`
//! directly so that they never come back into the hooks (the hooks *are*
//! `read`, `write`, `close`... in the final binary).
//!
//! Raw system calls, not `dlsym(RTLD_NEXT, ...)`: they need no lazy
//! symbol lookup (which takes the dynamic linker's lock and may allocate,
//! both forbidden in a signal handler), and for these calls glibc's
//! wrappers add nothing but errno handling (and pthread cancellation
//! points, which Rust never uses), done here the same way: -1 and `errno`
//! on failure. Where an architecture lacks
//! a call (`poll`, `select`, `dup2` on aarch64) the universal one
//! (`ppoll`, `pselect6`, `dup3`) stands in.
//!
//! Every function here is `unsafe` with the contract of the system call
//! it makes: pointer arguments must be valid for the kernel's access, as
//! `man 2 <call>` describes.

use libc::{c_int, c_long, c_void, size_t, sockaddr, socklen_t};

/// `errno` of the calling thread.
#[inline]
pub(super) fn errno() -> c_int {
    // SAFETY: __errno_location returns the calling thread's errno slot,
    // valid for the thread's life.
    unsafe { *libc::__errno_location() }
}

/// Sets `errno` of the calling thread.
#[inline]
pub(super) fn set_errno(e: c_int) {
    // SAFETY: as in `errno`.
    unsafe { *libc::__errno_location() = e };
}

/// A system call with up to six integer arguments: -1 and `errno` on
/// failure, like `syscall(2)`. On x86-64 and AArch64 the instruction is
/// inlined (the kernel's calling convention, as `man 2 syscall` lists
/// it), so a pass-through call costs a dozen instructions more than
/// glibc's own wrapper rather than a second library call.
///
/// # Safety
/// The arguments must satisfy the contract of system call `n`.
#[inline(always)]
unsafe fn call6(n: c_long, a: [c_long; 6]) -> c_long {
    // SAFETY: the caller upholds system call `n`'s contract.
    let ret = unsafe { raw_syscall(n, a) };
    if (-4095..0).contains(&ret) {
        set_errno(-ret as c_int);
        return -1;
    }
    ret
}

/// The kernel's answer: a result, or `-errno`.
///
/// # Safety
/// As [`call6`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn raw_syscall(n: c_long, a: [c_long; 6]) -> c_long {
    let ret: c_long;
    // Soundness: the x86-64 Linux system call convention: number in rax,
    // arguments in rdi, rsi, rdx, r10, r8, r9; the kernel clobbers rcx and
    // r11 and returns in rax. It touches no user stack. What the call
    // does to memory is the caller's contract.
    // SAFETY: by the soundness argument just above.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") n => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// The kernel's answer: a result, or `-errno`.
///
/// # Safety
/// As [`call6`].
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn raw_syscall(n: c_long, a: [c_long; 6]) -> c_long {
    let ret: c_long;
    // Soundness: the AArch64 Linux system call convention: number in x8,
    // arguments in x0-x5, result in x0; nothing else is clobbered. What
    // the call does to memory is the caller's contract.
    // SAFETY: by the soundness argument just above.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") n,
            inlateout("x0") a[0] => ret,
            in("x1") a[1],
            in("x2") a[2],
            in("x3") a[3],
            in("x4") a[4],
            in("x5") a[5],
            options(nostack),
        );
    }
    ret
}

/// The kernel's answer: a result, or `-errno` (through libc's
/// `syscall`, which returns -1 and sets errno: turned back).
///
/// # Safety
/// As [`call6`].
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
unsafe fn raw_syscall(n: c_long, a: [c_long; 6]) -> c_long {
    // SAFETY: the caller upholds system call `n`'s contract.
    let r = unsafe { libc::syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r == -1 { -(errno() as c_long) } else { r }
}

macro_rules! raw {
    ($( $(#[$m:meta])* fn $name:ident($($arg:ident : $ty:ty),*) -> $ret:ty = $nr:expr; )*) => {$(
        $(#[$m])*
        /// # Safety
        /// The system call's own contract (`man 2`): pointers valid for
        /// the kernel's reads and writes of the given lengths.
        #[inline]
        pub(super) unsafe fn $name($($arg: $ty),*) -> $ret {
            let mut a = [0 as c_long; 6];
            let mut _i = 0;
            $( a[_i] = $arg as c_long; _i += 1; )*
            // SAFETY: forwarded from this function's contract.
            unsafe { call6($nr, a) as $ret }
        }
    )*};
}

raw! {
    /// `read(2)`.
    fn read(fd: c_int, buf: *mut c_void, n: size_t) -> isize = libc::SYS_read;
    /// `write(2)`.
    fn write(fd: c_int, buf: *const c_void, n: size_t) -> isize = libc::SYS_write;
    /// `readv(2)`.
    fn readv(fd: c_int, iov: *const libc::iovec, n: c_int) -> isize = libc::SYS_readv;
    /// `writev(2)`.
    fn writev(fd: c_int, iov: *const libc::iovec, n: c_int) -> isize = libc::SYS_writev;
    /// `recvfrom(2)` (`recv` is `recvfrom` with no address).
    fn recvfrom(fd: c_int, buf: *mut c_void, n: size_t, flags: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> isize = libc::SYS_recvfrom;
    /// `sendto(2)` (`send` is `sendto` with no address).
    fn sendto(fd: c_int, buf: *const c_void, n: size_t, flags: c_int, addr: *const sockaddr, len: socklen_t) -> isize = libc::SYS_sendto;
    /// `recvmsg(2)`.
    fn recvmsg(fd: c_int, msg: *mut libc::msghdr, flags: c_int) -> isize = libc::SYS_recvmsg;
    /// `sendmsg(2)`.
    fn sendmsg(fd: c_int, msg: *const libc::msghdr, flags: c_int) -> isize = libc::SYS_sendmsg;
    /// `connect(2)`.
    fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int = libc::SYS_connect;
    /// `accept4(2)` (`accept` is `accept4` with no flags).
    fn accept4(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int = libc::SYS_accept4;
    /// `close(2)`.
    fn close(fd: c_int) -> c_int = libc::SYS_close;
    /// `dup(2)`.
    fn dup(fd: c_int) -> c_int = libc::SYS_dup;
    /// `dup3(2)`.
    fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int = libc::SYS_dup3;
    /// `fcntl(2)`; `arg` is the third argument whatever its type.
    fn fcntl(fd: c_int, cmd: c_int, arg: c_long) -> c_int = libc::SYS_fcntl;
    /// `ioctl(2)`.
    fn ioctl(fd: c_int, request: libc::c_ulong, arg: *mut c_void) -> c_int = libc::SYS_ioctl;
    /// `fstat(2)`.
    fn fstat(fd: c_int, st: *mut libc::stat) -> c_int = libc::SYS_fstat;
    /// `getsockopt(2)`.
    fn getsockopt(fd: c_int, level: c_int, name: c_int, val: *mut c_void, len: *mut socklen_t) -> c_int = libc::SYS_getsockopt;
    /// `getpeername(2)`.
    fn getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int = libc::SYS_getpeername;
    /// `ppoll(2)` without a signal mask; the kernel writes the time left
    /// into `*ts`, so pass a copy.
    fn ppoll(fds: *mut libc::pollfd, n: libc::nfds_t, ts: *mut libc::timespec, mask: *const libc::sigset_t, mask_len: size_t) -> c_int = libc::SYS_ppoll;
    /// `pselect6(2)`; the kernel writes the time left into `*ts`.
    fn pselect6(n: c_int, r: *mut libc::fd_set, w: *mut libc::fd_set, e: *mut libc::fd_set, ts: *mut libc::timespec, mask: *const c_void) -> c_int = libc::SYS_pselect6;
    /// `epoll_pwait(2)` (`epoll_wait` is it without a mask).
    fn epoll_pwait(epfd: c_int, events: *mut libc::epoll_event, max: c_int, timeout: c_int, mask: *const libc::sigset_t, mask_len: size_t) -> c_int = libc::SYS_epoll_pwait;
    /// `mmap(2)`.
    fn mmap(addr: *mut c_void, len: size_t, prot: c_int, flags: c_int, fd: c_int, off: c_long) -> c_long = libc::SYS_mmap;
    /// `munmap(2)`.
    fn munmap(addr: *mut c_void, len: size_t) -> c_int = libc::SYS_munmap;
    /// `nanosleep(2)`.
    fn nanosleep(req: *const libc::timespec, rem: *mut libc::timespec) -> c_int = libc::SYS_nanosleep;
    /// `clock_nanosleep(2)`: -1 and `errno` on failure (the libc function
    /// returns the error number instead).
    fn clock_nanosleep(clock: libc::clockid_t, flags: c_int, req: *const libc::timespec, rem: *mut libc::timespec) -> c_int = libc::SYS_clock_nanosleep;
}

/// `dup2(2)`: `dup3` where the architecture has no `dup2`, with `dup2`'s
/// rule for `old == new` (return it if it is open, else `EBADF`).
///
/// # Safety
/// None beyond `dup2`'s: it only manipulates descriptor numbers.
pub(super) unsafe fn dup2(old: c_int, new: c_int) -> c_int {
    if old == new {
        // SAFETY: F_GETFD only reads the descriptor's flags.
        return if unsafe { fcntl(old, libc::F_GETFD, 0) } == -1 {
            -1
        } else {
            new
        };
    }
    // SAFETY: forwarded from this function's contract.
    unsafe { dup3(old, new, 0) }
}
