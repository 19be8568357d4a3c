//! A coroutine that overflows its stack hits a guard page: the process
//! prints which coroutine overflowed and aborts, like std does for threads.
//! The coroutine named is the one that owns the guard's stack, whoever
//! touched it; and all of it holds with `mprotect` guards too (kernels
//! older than 6.13, forced here with `WEFT_STACK_GUARDS=mprotect`).

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};
use std::sync::mpsc;

const CHILD_ENV: &str = "WEFT_TEST_OVERFLOW_CHILD";

fn recurse(depth: u64) -> u64 {
    let buf = std::hint::black_box([depth as u8; 512]);
    if depth == u64::MAX {
        return 0;
    }
    buf[7] as u64 + recurse(depth + 1)
}

/// Is this process the child asked to run `name`?
fn is_child(name: &str) -> bool {
    std::env::var_os(CHILD_ENV).is_some_and(|v| v == name)
}

/// Runs the test `name` of this binary alone in a new process, with
/// `env` added, and returns what it did.
fn run_child(name: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The child's body: runs only when re-executed by the tests below.
#[test]
fn overflow_child() {
    if !is_child("overflow_child") {
        return;
    }
    let h = weft::Builder::new()
        .name("deep-diver".into())
        .stack_size(64 * 1024)
        .spawn(|| recurse(0))
        .unwrap();
    let _ = h.join();
    unreachable!("the overflow must abort the process");
}

fn assert_overflow_of(out: &Output, name: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("coroutine '{name}' has overflowed its stack")),
        "stderr was: {stderr}"
    );
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "status: {:?}, stderr: {stderr}",
        out.status
    );
}

#[test]
fn overflow_names_the_coroutine_and_aborts() {
    assert_overflow_of(&run_child("overflow_child", &[]), "deep-diver");
}

#[test]
fn overflow_is_reported_with_mprotect_guards() {
    let out = run_child("overflow_child", &[("WEFT_STACK_GUARDS", "mprotect")]);
    assert_overflow_of(&out, "deep-diver");
}

/// Child: the coroutine "culprit" reads down from a local of the parked
/// coroutine "victim" until it hits victim's guard page.
#[test]
fn foreign_guard_child() {
    if !is_child("foreign_guard_child") {
        return;
    }
    let (addr_tx, addr_rx) = mpsc::channel::<usize>();
    let (_hold_tx, hold_rx) = weft::sync::mpsc::channel::<()>();
    let victim = weft::Builder::new()
        .name("victim".into())
        .spawn(move || {
            let local = std::hint::black_box([1u8; 64]);
            addr_tx.send(local.as_ptr() as usize).unwrap();
            // Parked, its stack untouched, until the process dies.
            let _ = hold_rx.recv();
        })
        .unwrap();
    let addr = addr_rx.recv().unwrap();
    let culprit = weft::Builder::new()
        .name("culprit".into())
        .spawn(move || {
            let page = 4096;
            let mut p = addr & !(page - 1);
            loop {
                // SAFETY: none, on purpose: this walks down victim's stack
                // (readable memory of ours) into its guard page, where the
                // read faults and the process aborts; nothing is written.
                unsafe { std::ptr::read_volatile(p as *const u8) };
                p -= page;
            }
        })
        .unwrap();
    let _ = culprit.join();
    let _ = victim.join();
    unreachable!("the guard fault must abort the process");
}

#[test]
fn overflow_names_the_owner_of_the_guard() {
    for env in [&[][..], &[("WEFT_STACK_GUARDS", "mprotect")][..]] {
        let out = run_child("foreign_guard_child", env);
        assert_overflow_of(&out, "victim");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("'culprit'"), "{env:?}: {stderr}");
    }
}
