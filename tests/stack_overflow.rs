//! A coroutine that overflows its stack hits a guard page: the process
//! prints which coroutine overflowed and aborts, like std does for threads.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

const CHILD_ENV: &str = "WEFT_TEST_OVERFLOW_CHILD";

fn recurse(depth: u64) -> u64 {
    let buf = std::hint::black_box([depth as u8; 512]);
    if depth == u64::MAX {
        return 0;
    }
    buf[7] as u64 + recurse(depth + 1)
}

/// The child's body: runs only when re-executed by the test below.
#[test]
fn overflow_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
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

#[test]
fn overflow_names_the_coroutine_and_aborts() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "overflow_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("coroutine 'deep-diver' has overflowed its stack"),
        "stderr was: {stderr}"
    );
    assert_eq!(
        out.status.signal(),
        Some(libc_sigabrt()),
        "status: {:?}",
        out.status
    );
}

fn libc_sigabrt() -> i32 {
    6
}
