//! weft's `SIGSEGV` handler (for coroutine overflows) stands in front of
//! whatever action the process had before; every signal that is not a
//! coroutine overflow must reach that action as if weft were not there:
//! a `kill -SEGV` still kills, and a handler installed before weft runs
//! with its own mask and flags.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

const CHILD_ENV: &str = "WEFT_TEST_FAULT_CHAIN_CHILD";

fn is_child(name: &str) -> bool {
    std::env::var_os(CHILD_ENV).is_some_and(|v| v == name)
}

fn run_child(name: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .output()
        .unwrap()
}

/// No core file from the children that die by `SIGSEGV` on purpose.
fn no_core_dump() {
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) only changes this process's flag.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
}

/// Writes to stderr without std (usable in a signal handler).
fn say(msg: &[u8]) {
    // SAFETY: writing a valid buffer to fd 2.
    unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
}

/// Installs `handler` (an `SA_SIGINFO` handler) for `SIGSEGV` with `flags`
/// and `SIGUSR1` in its mask, before weft installs its own.
fn install_predecessor(
    handler: extern "C" fn(i32, *mut libc::siginfo_t, *mut libc::c_void),
    flags: i32,
) {
    // SAFETY: a zeroed sigaction is valid; we fill handler, mask and flags.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = handler as *const () as usize;
        act.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | flags;
        libc::sigemptyset(&mut act.sa_mask);
        libc::sigaddset(&mut act.sa_mask, libc::SIGUSR1);
        assert_eq!(libc::sigaction(libc::SIGSEGV, &act, ptr::null_mut()), 0);
    }
}

/// Two fresh inaccessible pages; their address.
fn two_protected_pages() -> usize {
    // SAFETY: a fresh private mapping, aliasing nothing.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            2 * 4096,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    p as usize
}

/// Calls of [`fixing_handler`], and the address it may fix.
static CALLS: AtomicUsize = AtomicUsize::new(0);
static FIXABLE: AtomicUsize = AtomicUsize::new(0);

/// A predecessor that reports what it saw and makes the faulting page
/// accessible, so the faulting write succeeds when it runs again.
extern "C" fn fixing_handler(sig: i32, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    CALLS.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the kernel's siginfo for a SIGSEGV; querying the mask.
    let (addr, usr1, segv) = unsafe {
        let mut cur: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_SETMASK, ptr::null(), &mut cur);
        (
            (*info).si_addr() as usize,
            libc::sigismember(&cur, libc::SIGUSR1),
            libc::sigismember(&cur, sig),
        )
    };
    say(if usr1 == 1 {
        b"predecessor: SIGUSR1 blocked\n"
    } else {
        b"predecessor: SIGUSR1 NOT blocked\n"
    });
    say(if segv == 1 {
        b"predecessor: SIGSEGV blocked\n"
    } else {
        b"predecessor: SIGSEGV not blocked\n"
    });
    let page = addr & !4095;
    if page == FIXABLE.load(Ordering::SeqCst) {
        say(b"predecessor: fault address ok\n");
        // SAFETY: the page is part of the test's own mapping.
        unsafe {
            libc::mprotect(
                page as *mut libc::c_void,
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
    } else {
        say(b"predecessor: unexpected address\n");
        // SAFETY: leaving the child process at once.
        unsafe { libc::_exit(3) };
    }
}

#[test]
fn kill_segv_child() {
    if !is_child("kill_segv_child") {
        return;
    }
    no_core_dump();
    // SAFETY: the default action, as a program that is not Rust has it.
    unsafe { libc::signal(libc::SIGSEGV, libc::SIG_DFL) };
    weft::spawn(|| {
        // SAFETY: sending ourselves a signal.
        unsafe { libc::kill(libc::getpid(), libc::SIGSEGV) };
        weft::sleep(std::time::Duration::from_millis(200));
    })
    .join()
    .unwrap();
    say(b"survived kill -SEGV\n");
}

#[test]
fn kill_segv_kills_as_without_weft() {
    let out = run_child("kill_segv_child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("survived"), "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSEGV),
        "{:?}: {stderr}",
        out.status
    );
}

#[test]
fn predecessor_mask_child() {
    if !is_child("predecessor_mask_child") {
        return;
    }
    install_predecessor(fixing_handler, 0);
    let pages = two_protected_pages();
    FIXABLE.store(pages, Ordering::SeqCst);
    weft::spawn(move || {
        // SAFETY: the page is ours; the write faults once, the predecessor
        // makes the page writable and the write runs again.
        unsafe { (pages as *mut u8).write_volatile(7) };
        say(b"write went through\n");
    })
    .join()
    .unwrap();
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
}

#[test]
fn predecessor_gets_faults_with_its_own_mask() {
    let out = run_child("predecessor_mask_child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(stderr.contains("predecessor: fault address ok"), "{stderr}");
    assert!(stderr.contains("predecessor: SIGUSR1 blocked"), "{stderr}");
    assert!(stderr.contains("predecessor: SIGSEGV blocked"), "{stderr}");
    assert!(stderr.contains("write went through"), "{stderr}");
}

#[test]
fn oneshot_nodefer_child() {
    if !is_child("oneshot_nodefer_child") {
        return;
    }
    no_core_dump();
    install_predecessor(fixing_handler, libc::SA_RESETHAND | libc::SA_NODEFER);
    let pages = two_protected_pages();
    FIXABLE.store(pages, Ordering::SeqCst);
    weft::spawn(move || {
        // SAFETY: as in `predecessor_mask_child`.
        unsafe { (pages as *mut u8).write_volatile(7) };
        say(b"first write went through\n");
        // The handler was one-shot: this fault gets the default action.
        // SAFETY: the second page of our mapping; the write faults.
        unsafe { ((pages + 4096) as *mut u8).write_volatile(7) };
        say(b"second write went through\n");
    })
    .join()
    .unwrap();
}

#[test]
fn predecessor_flags_resethand_and_nodefer_are_honoured() {
    let out = run_child("oneshot_nodefer_child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("predecessor: SIGSEGV not blocked"),
        "{stderr}"
    );
    assert!(stderr.contains("first write went through"), "{stderr}");
    assert!(!stderr.contains("second write"), "{stderr}");
    assert_eq!(stderr.matches("fault address ok").count(), 1, "{stderr}");
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSEGV),
        "{:?}: {stderr}",
        out.status
    );
}

fn recurse(depth: u64) -> u64 {
    let buf = std::hint::black_box([depth as u8; 512]);
    if depth == u64::MAX {
        return 0;
    }
    buf[7] as u64 + recurse(depth + 1)
}

#[test]
fn ignored_kill_child() {
    if !is_child("ignored_kill_child") {
        return;
    }
    no_core_dump();
    // SAFETY: ignoring SIGSEGV, as some programs do.
    unsafe { libc::signal(libc::SIGSEGV, libc::SIG_IGN) };
    weft::spawn(|| {
        // SAFETY: sending ourselves a signal.
        unsafe { libc::kill(libc::getpid(), libc::SIGSEGV) };
        weft::sleep(std::time::Duration::from_millis(100));
    })
    .join()
    .unwrap();
    say(b"ignored kill -SEGV\n");
    // weft's handler is still there for a coroutine overflow.
    let _ = weft::Builder::new()
        .name("after-kill".into())
        .stack_size(64 * 1024)
        .spawn(|| recurse(0))
        .unwrap()
        .join();
    say(b"overflow not reported\n");
}

#[test]
fn an_ignored_kill_keeps_the_overflow_handler() {
    let out = run_child("ignored_kill_child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ignored kill -SEGV"),
        "{:?}: {stderr}",
        out.status
    );
    assert!(
        stderr.contains("coroutine 'after-kill' has overflowed its stack"),
        "{:?}: {stderr}",
        out.status
    );
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "{:?}: {stderr}",
        out.status
    );
}
