//! A panic in a coroutine names the coroutine; panics elsewhere print what
//! std prints. Checked in a child process whose stderr we read.

use std::process::Command;

const CHILD_ENV: &str = "WEFT_TEST_PANIC_CHILD";

/// The child's body: runs only when re-executed by the tests below.
#[test]
fn panic_child() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = weft::Runtime::builder()
        .workers(1)
        .name_panics(mode != "off")
        .build()
        .unwrap();
    let h = rt.block_on(|| {
        weft::Builder::new()
            .name("handler-7".into())
            .spawn(|| panic!("bad request"))
            .unwrap()
    });
    assert!(h.join().is_err());
    let t = std::thread::Builder::new()
        .name("plain-thread".into())
        .spawn(|| panic!("thread failure"))
        .unwrap();
    assert!(t.join().is_err());
    // A cancel unwinds silently.
    let h = rt.spawn(|| weft::sleep(std::time::Duration::from_secs(60)));
    std::thread::sleep(std::time::Duration::from_millis(20));
    h.cancel();
    assert!(h.join().is_err());
}

fn child_stderr(mode: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "panic_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, mode)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn coroutine_panics_name_the_coroutine() {
    let stderr = child_stderr("on");
    assert!(
        stderr.contains("coroutine 'handler-7' (id "),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("bad request"), "stderr: {stderr}");
    assert!(!stderr.contains("thread 'weft-worker"), "stderr: {stderr}");
    // Plain threads are untouched.
    assert!(stderr.contains("thread 'plain-thread'"), "stderr: {stderr}");
    assert!(!stderr.contains("Cancelled"), "stderr: {stderr}");
}

#[test]
fn naming_can_be_turned_off() {
    let stderr = child_stderr("off");
    assert!(
        !stderr.contains("coroutine 'handler-7'"),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("thread 'weft-worker-0'"),
        "stderr: {stderr}"
    );
}
