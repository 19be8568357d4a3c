//! Reporting coroutine stack overflows.
//!
//! A coroutine that runs past the bottom of its stack touches the guard page
//! below it and gets `SIGSEGV` (or `SIGBUS`). Without help that looks like
//! any other crash. [`install_handler`] puts a handler in front of the
//! previous one (normally std's, which reports *thread* stack overflows):
//! if the faulting address is in a guard page of one of our slabs it prints
//!
//! ```text
//! coroutine '<name>' has overflowed its stack
//! fatal runtime error: stack overflow, aborting
//! ```
//!
//! and aborts, mirroring std's message for threads. The name is that of
//! the coroutine that *owns* the guard's stack, read from the slot's owner
//! record (`owner.rs`), not of whatever runs on the faulting thread: a
//! plain thread or another coroutine that walks into someone's guard
//! through a pointer names the stack it hit.
//!
//! Every other signal goes to the previous action as the kernel would
//! have delivered it (see [`chain`]): a handler runs with its own
//! `sa_mask` and flags, a default action is restored and, for a signal
//! sent with `kill` (which does not repeat by itself like a fault does),
//! raised again, so the process dies as it would have without weft.
//!
//! The handler runs on the thread's alternate signal stack (the faulting
//! stack is exhausted), which [`ensure_altstack`] makes sure exists. It is
//! async-signal-safe: it reads a lock-free registry of slabs and the owner
//! records (atomics only), formats into a buffer on its own stack, and
//! calls only `write`, `abort`, `raise`, `sigaction` and `pthread_sigmask`:
//! no allocation, no locks, no std printing.

use std::cell::{RefCell, UnsafeCell};
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use libc::{c_int, c_void, siginfo_t};

use super::{owner, registry, slab};

thread_local! {
    /// The alternate signal stack this crate mapped for this thread, if it
    /// had none; unmapped by its destructor when the thread exits.
    static ALTSTACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
}

/// The previous action for one signal, saved before ours is installed.
struct SavedAction {
    /// Set (Release) once `action` holds the previous action.
    ready: AtomicBool,
    /// Written once, before `ready`; read-only afterwards.
    action: UnsafeCell<MaybeUninit<libc::sigaction>>,
    /// The previous action had `SA_RESETHAND` and has run once: the
    /// kernel would have reset the signal to its default action, so from
    /// now on we behave as `SIG_DFL` (ours stays installed, so coroutine
    /// overflows are still reported).
    reset: AtomicBool,
}

// SAFETY: `action` is written exactly once, inside `install_handler`'s
// `Once`, before `ready` is set with Release; readers load `ready` with
// Acquire first and never write it. `reset` is an atomic.
unsafe impl Sync for SavedAction {}

impl SavedAction {
    const fn new() -> SavedAction {
        SavedAction {
            ready: AtomicBool::new(false),
            action: UnsafeCell::new(MaybeUninit::uninit()),
            reset: AtomicBool::new(false),
        }
    }

    /// The saved action, once there is one.
    fn get(&self) -> Option<&libc::sigaction> {
        if !self.ready.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: `ready` is set only after `action` was fully written by
        // sigaction(2), and it is never written again (see `Sync` above).
        Some(unsafe { (*self.action.get()).assume_init_ref() })
    }
}

static SAVED_SEGV: SavedAction = SavedAction::new();
static SAVED_BUS: SavedAction = SavedAction::new();

/// Installs the `SIGSEGV`/`SIGBUS` handler that reports coroutine stack
/// overflows. Once per process; later calls (from any thread) do nothing.
///
/// Faults that are not in a coroutine guard page are passed to the action
/// that was installed before (std's thread-overflow handler, normally). If
/// some library later replaces our handler without chaining, coroutine
/// overflows are reported as plain `SIGSEGV`s.
pub(crate) fn install_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        install(libc::SIGSEGV, &SAVED_SEGV);
        install(libc::SIGBUS, &SAVED_BUS);
    });
}

/// Saves the current action for `sig` into `saved`, then installs ours.
///
/// There is a window between the two `sigaction` calls in which another
/// thread changing the action for `sig` would be lost; nothing in this
/// crate or std does that after startup.
fn install(sig: c_int, saved: &'static SavedAction) {
    // SAFETY: querying only (null new action); the out-pointer is our
    // static storage, which nobody reads before `ready` is set.
    let rc = unsafe { libc::sigaction(sig, ptr::null(), (*saved.action.get()).as_mut_ptr()) };
    if rc != 0 {
        return;
    }
    saved.ready.store(true, Ordering::Release);

    // SAFETY: sigaction is plain old data; all-zero is a valid value.
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = on_fault as *const () as usize;
    new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
    // SAFETY: `new.sa_mask` is a valid sigset_t to initialise; then a
    // well-formed action whose handler has the SA_SIGINFO signature.
    unsafe {
        libc::sigemptyset(&mut new.sa_mask);
        libc::sigaction(sig, &new, ptr::null_mut());
    }
}

/// The signal handler. Async-signal-safe, see the module docs.
extern "C" fn on_fault(sig: c_int, info: *mut siginfo_t, ctx: *mut c_void) {
    // SAFETY: __errno_location returns this thread's errno slot, valid for
    // the thread's lifetime.
    let errno = unsafe { *libc::__errno_location() };
    // Without a siginfo we cannot tell: treat it as sent, not as a fault.
    let mut fault = false;
    if !info.is_null() {
        // SAFETY: for an SA_SIGINFO handler the kernel passes a valid
        // siginfo; si_addr is meaningful for the fault signals we handle.
        let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
        // si_code > 0: sent by the kernel for a fault, not by kill/raise
        // (SI_USER, SI_TKILL, SI_QUEUE are all <= 0).
        fault = code > 0;
        if fault && let Some(top) = registry::guard_slot_top(addr) {
            // A guard page of a slot that a coroutine owns: its overflow.
            // A slot nobody owns is a wild access like any other: chained.
            report_overflow(top);
        }
    }
    // SAFETY: forwarding our own arguments, as the kernel gave them.
    unsafe { chain(sig, info, ctx, fault) };
    // SAFETY: as above; restores errno for the interrupted code.
    unsafe { *libc::__errno_location() = errno };
}

/// Hands a signal that is not a coroutine overflow to the previous action,
/// as the kernel would have delivered it without us.
///
/// * `SIG_IGN`: a fault is put back under `SIG_IGN` and re-executes (the
///   kernel then forces the default action on a synchronous fault, as it
///   would have); a sent signal is ignored, and we stay installed.
/// * `SIG_DFL` (also a `SA_RESETHAND` handler that already ran): the
///   default action is restored; a fault re-executes and a sent signal
///   (`fault` false) is raised again, pending until we return: either way
///   the process dies by the signal.
/// * A handler: called with the signal mask it asked for (the interrupted
///   code's mask, plus its `sa_mask`, plus the signal unless
///   `SA_NODEFER`), with the siginfo and context for `SA_SIGINFO` or the
///   signal number alone otherwise; `SA_RESETHAND` makes it run once.
///
/// # Safety
///
/// Must be called from the handler for `sig`, with the kernel's `info` and
/// `ctx`.
unsafe fn chain(sig: c_int, info: *mut siginfo_t, ctx: *mut c_void, fault: bool) {
    let saved = if sig == libc::SIGBUS {
        &SAVED_BUS
    } else {
        &SAVED_SEGV
    };
    let Some(old) = saved.get() else {
        // Cannot happen (we install only after saving); be conservative.
        // SAFETY: as for `to_default`.
        unsafe { to_default(sig, fault) };
        return;
    };
    let handler = old.sa_sigaction;
    if handler == libc::SIG_IGN {
        if fault {
            // SAFETY: `old` is a complete action obtained from sigaction(2).
            unsafe { libc::sigaction(sig, old, ptr::null_mut()) };
        }
        return;
    }
    let oneshot = old.sa_flags & libc::SA_RESETHAND != 0;
    if handler == libc::SIG_DFL || (oneshot && saved.reset.swap(true, Ordering::AcqRel)) {
        // SAFETY: we are the handler for `sig`.
        unsafe { to_default(sig, fault) };
        return;
    }
    // SAFETY: sigset_t is plain old data; it is filled right below.
    let mut mask: libc::sigset_t = unsafe { std::mem::zeroed() };
    // Soundness: ucontext_t is what the kernel passes an SA_SIGINFO handler
    // as its third argument; its uc_sigmask is the interrupted mask, which
    // the kernel restores when we return. Without one, the current mask
    // (which has `sig` added, as `SA_NODEFER` below may undo).
    // SAFETY: by the soundness argument just above.
    unsafe {
        if ctx.is_null() {
            libc::pthread_sigmask(libc::SIG_SETMASK, ptr::null(), &mut mask);
        } else {
            mask = (*ctx.cast::<libc::ucontext_t>()).uc_sigmask;
        }
    }
    // Linux signals are 1..=64 (_NSIG - 1).
    for s in 1..=64 {
        // SAFETY: both sets are initialised; these are pure bit operations.
        if unsafe { libc::sigismember(&old.sa_mask, s) } == 1 {
            // SAFETY: as above.
            unsafe { libc::sigaddset(&mut mask, s) };
        }
    }
    // SAFETY: pure bit operations on an initialised set.
    unsafe {
        if old.sa_flags & libc::SA_NODEFER == 0 {
            libc::sigaddset(&mut mask, sig);
        } else {
            libc::sigdelset(&mut mask, sig);
        }
    }
    // SAFETY: sigset_t is plain old data; pthread_sigmask fills it.
    let mut before: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: installing an initialised mask for this thread.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &mask, &mut before) };
    if old.sa_flags & libc::SA_SIGINFO != 0 {
        // Soundness: with SA_SIGINFO the saved handler has this signature; we
        // pass it the arguments the kernel passed us.
        let f: extern "C" fn(c_int, *mut siginfo_t, *mut c_void) =
        // SAFETY: by the soundness argument just above.
            unsafe { std::mem::transmute(handler) };
        f(sig, info, ctx);
    } else {
        // SAFETY: without SA_SIGINFO the saved handler takes the signal
        // number only.
        let f: extern "C" fn(c_int) = unsafe { std::mem::transmute(handler) };
        f(sig);
    }
    // SAFETY: restoring the mask saved just above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &before, ptr::null_mut()) };
}

/// Restores the default action for `sig`; raises `sig` again if it was
/// sent rather than caused by a fault (a fault re-executes by itself).
/// The raised signal is blocked while our handler runs, so it is
/// delivered, with the default action, right after we return.
///
/// # Safety
///
/// Must be called from the handler for `sig`.
unsafe fn to_default(sig: c_int, fault: bool) {
    // SAFETY: signal(2) and raise(3) are async-signal-safe; restoring
    // the default action is what the process would have without us.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        if !fault {
            libc::raise(sig);
        }
    }
}

/// Writes the overflow message naming the owner of the slot whose top is
/// `top` to stderr and aborts; returns if no coroutine owns that slot.
/// Async-signal-safe: stack buffer, atomic loads, `write(2)`, `abort(3)`.
fn report_overflow(top: usize) {
    let mut name = [0u8; owner::MAX_NAME];
    // SAFETY: `top` came from the registry, so it is the top of a slot of
    // one of our slabs.
    let Some(len) = (unsafe { owner::read(top, &mut name) }) else {
        return;
    };
    let name: &[u8] = if len == 0 { b"<unnamed>" } else { &name[..len] };
    let mut buf = [0u8; owner::MAX_NAME + 128];
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        let k = bytes.len().min(buf.len() - n);
        buf[n..n + k].copy_from_slice(&bytes[..k]);
        n += k;
    };
    put(b"\ncoroutine '");
    put(name);
    put(b"' has overflowed its stack\nfatal runtime error: stack overflow, aborting\n");
    write_all(2, &buf[..n]);
    // SAFETY: abort is async-signal-safe and never returns.
    unsafe { libc::abort() }
}

/// `write(2)` all of `bytes` to `fd`, retrying on `EINTR`; gives up on any
/// other error. Async-signal-safe.
fn write_all(fd: c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is a valid buffer of `bytes.len()` bytes.
        let r = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if r < 0 {
            // SAFETY: __errno_location returns this thread's errno slot.
            if unsafe { *libc::__errno_location() } == libc::EINTR {
                continue;
            }
            return;
        }
        if r == 0 {
            return;
        }
        bytes = &bytes[r as usize..];
    }
}

/// Usable size of the alternate signal stacks this crate maps.
const ALTSTACK_SIZE: usize = 64 * 1024;
/// `AT_MINSIGSTKSZ` (auxv entry 51): the kernel's minimum signal stack
/// size for this CPU's register state. Not defined by every `libc`.
const AT_MINSIGSTKSZ: libc::c_ulong = 51;

/// An alternate signal stack mapped by [`ensure_altstack`]: a guard page
/// at `map` then `size` usable bytes.
struct AltStack {
    map: usize,
    map_len: usize,
}

impl AltStack {
    /// Maps a new alternate signal stack (not yet installed).
    fn new() -> Option<AltStack> {
        let page = slab::page_size();
        // SAFETY: getauxval has no preconditions; 0 means "unknown".
        let min = unsafe { libc::getauxval(AT_MINSIGSTKSZ) } as usize;
        let size = ALTSTACK_SIZE
            .max(min.saturating_mul(4))
            .next_multiple_of(page);
        let map_len = size + page;
        // SAFETY: a fresh anonymous private mapping; it aliases nothing.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        // A guard is nice to have; without one the stack still works.
        // SAFETY: the first page of the mapping we just made, unused.
        let _ = unsafe { slab::install_guard(p as usize, page) };
        Some(AltStack {
            map: p as usize,
            map_len,
        })
    }

    /// The `stack_t` describing the usable part.
    fn stack_t(&self) -> libc::stack_t {
        let page = slab::page_size();
        libc::stack_t {
            ss_sp: (self.map + page) as *mut c_void,
            ss_flags: 0,
            ss_size: self.map_len - page,
        }
    }
}

impl Drop for AltStack {
    fn drop(&mut self) {
        let ours = self.stack_t().ss_sp;
        // SAFETY: stack_t is plain old data; sigaltstack fills it.
        let mut cur: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: querying only.
        unsafe { libc::sigaltstack(ptr::null(), &mut cur) };
        if cur.ss_sp == ours && cur.ss_flags & libc::SS_DISABLE == 0 {
            if cur.ss_flags & libc::SS_ONSTACK != 0 {
                // Running on it (cannot happen in a thread-local
                // destructor): leak it rather than pull it from under us.
                return;
            }
            let off = libc::stack_t {
                ss_sp: ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            };
            // SAFETY: disabling this thread's alternate signal stack.
            unsafe { libc::sigaltstack(&off, ptr::null_mut()) };
        }
        // SAFETY: the mapping is ours and no longer installed as this
        // thread's signal stack, so nothing uses it.
        unsafe { libc::munmap(self.map as *mut c_void, self.map_len) };
    }
}

/// Makes sure this thread has an alternate signal stack, so the overflow
/// handler can run when a coroutine's stack is exhausted. Call it on each
/// worker thread before it runs coroutines; repeated calls are cheap.
///
/// Threads started by std normally have one already (std makes one when it
/// installs its own overflow handler); then this does nothing. Otherwise it
/// maps 64 KiB plus a guard page and installs it for the rest of the
/// thread's life; a thread-local destructor removes and unmaps it. If that
/// fails, nothing is installed and an overflow kills the process with a
/// plain `SIGSEGV` instead of the message.
pub(crate) fn ensure_altstack() {
    // SAFETY: stack_t is plain old data; sigaltstack fills it.
    let mut cur: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: querying only.
    if unsafe { libc::sigaltstack(ptr::null(), &mut cur) } != 0 {
        return;
    }
    if cur.ss_flags & libc::SS_DISABLE == 0 {
        return;
    }
    // Inside `try_with`: if the thread is already tearing down its
    // thread-locals there is nowhere to keep the mapping, so none is made.
    let _ = ALTSTACK.try_with(|slot| {
        let Some(alt) = AltStack::new() else {
            return;
        };
        let st = alt.stack_t();
        // SAFETY: `st` describes memory that stays mapped until `alt` is
        // dropped, which disables it first (see `AltStack::drop`).
        if unsafe { libc::sigaltstack(&st, ptr::null_mut()) } == 0 {
            // A previous one of ours, if any, is no longer installed (the
            // query above said none is): dropping it just unmaps it.
            *slot.borrow_mut() = Some(alt);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{is_test_child, recurse_to, run_in_fork, run_test_in_child};
    use super::super::{DEFAULT_STACK_SIZE, allocate};
    use super::*;

    /// This thread's alternate signal stack.
    fn altstack() -> libc::stack_t {
        // SAFETY: stack_t is plain old data; sigaltstack fills it.
        let mut cur: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: querying only.
        assert_eq!(unsafe { libc::sigaltstack(ptr::null(), &mut cur) }, 0);
        cur
    }

    fn disable_altstack() {
        let off = libc::stack_t {
            ss_sp: ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: disabling this thread's alternate signal stack.
        assert_eq!(unsafe { libc::sigaltstack(&off, ptr::null_mut()) }, 0);
    }

    /// Forks a child that overflows a pool stack inside a coroutine.
    fn overflow_in_child(name: Option<&'static str>, own_altstack: bool) -> (c_int, String) {
        install_handler();
        let stack = allocate(64 * 1024).unwrap();
        stack.set_owner(name.unwrap_or(""));
        run_in_fork(move || {
            use corosensei::Coroutine;
            if own_altstack {
                disable_altstack();
            }
            ensure_altstack();
            let alt = altstack();
            if alt.ss_flags & libc::SS_DISABLE != 0 {
                write_all(2, b"no altstack\n");
                return;
            }
            let mut co: Coroutine<(), (), usize, _> =
                Coroutine::with_stack(stack, |_, ()| recurse_to(usize::MAX));
            let _ = co.resume(());
            write_all(2, b"coroutine returned\n");
        })
    }

    #[test]
    fn overflow_is_reported_with_name() {
        let (status, err) = overflow_in_child(Some("deep"), true);
        assert!(
            err.contains("\ncoroutine 'deep' has overflowed its stack\n"),
            "{err}"
        );
        assert!(
            err.contains("fatal runtime error: stack overflow, aborting\n"),
            "{err}"
        );
        assert!(libc::WIFSIGNALED(status), "status {status:#x}: {err}");
        assert_eq!(libc::WTERMSIG(status), libc::SIGABRT, "{err}");
    }

    #[test]
    fn overflow_is_reported_unnamed_on_std_altstack() {
        let (status, err) = overflow_in_child(None, false);
        assert!(
            err.contains("coroutine '<unnamed>' has overflowed its stack"),
            "{err}"
        );
        assert!(libc::WIFSIGNALED(status), "status {status:#x}: {err}");
        assert_eq!(libc::WTERMSIG(status), libc::SIGABRT, "{err}");
    }

    #[test]
    fn other_faults_are_chained() {
        install_handler();
        let (status, err) = run_in_fork(|| {
            // SAFETY: address 64 is in the never-mapped zero page: the write
            // faults (killing this forked child) and modifies nothing.
            unsafe { (black_box_addr(64) as *mut u8).write_volatile(1) };
        });
        assert!(!err.contains("coroutine"), "{err}");
        assert!(libc::WIFSIGNALED(status), "status {status:#x}: {err}");
        assert_eq!(libc::WTERMSIG(status), libc::SIGSEGV, "{err}");
    }

    fn black_box_addr(a: usize) -> usize {
        std::hint::black_box(a)
    }

    #[test]
    fn thread_overflow_still_reported_by_std() {
        // In a fresh process: spawning a thread in a fork of this
        // multi-threaded test process is not safe enough.
        let out = run_test_in_child("thread_overflow_child");
        let err = String::from_utf8_lossy(&out.stderr);
        // std >= 1.90 adds the thread id: "thread 'small' (1234) has ...".
        assert!(err.contains("thread 'small'"), "{err}");
        assert!(err.contains("has overflowed its stack"), "{err}");
        assert!(!err.contains("coroutine '"), "{err}");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(libc::SIGABRT), "{err}");
    }

    /// Child of `thread_overflow_still_reported_by_std`: our handler is
    /// installed, and a thread (not a coroutine) overflows its stack.
    #[test]
    fn thread_overflow_child() {
        if !is_test_child("thread_overflow_child") {
            return;
        }
        install_handler();
        let t = std::thread::Builder::new()
            .name("small".into())
            .stack_size(DEFAULT_STACK_SIZE)
            .spawn(|| recurse_to(usize::MAX))
            .unwrap();
        let _ = t.join();
    }

    #[test]
    fn ensure_altstack_keeps_or_maps() {
        std::thread::spawn(|| {
            // std gave this thread one: it is kept.
            let before = altstack();
            ensure_altstack();
            let after = altstack();
            if before.ss_flags & libc::SS_DISABLE == 0 {
                assert_eq!(after.ss_sp, before.ss_sp);
            }
            // Without one, we map ours, once.
            disable_altstack();
            ensure_altstack();
            let ours = altstack();
            assert_eq!(ours.ss_flags & libc::SS_DISABLE, 0);
            assert!(ours.ss_size >= ALTSTACK_SIZE);
            ensure_altstack();
            assert_eq!(altstack().ss_sp, ours.ss_sp);
            assert!(ALTSTACK.with(|a| a.borrow().is_some()));
        })
        .join()
        .unwrap();
    }
}
