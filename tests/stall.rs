//! The stall watchdog: a coroutine that blocks its worker thread is named
//! on stderr once per stall; a disabled watchdog prints nothing; a
//! coroutine that parks often is never reported; and the watchdog thread
//! ends with its runtime.
//!
//! Each scenario runs in a child process (this test binary re-executed
//! with an environment variable, like `stack_overflow.rs`), so its stderr
//! holds only what that scenario printed.

mod common;

use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use common::with_timeout;

const CHILD_ENV: &str = "WEFT_TEST_STALL_CHILD";

fn runtime(threshold: Option<Duration>) -> weft::Runtime {
    weft::Runtime::builder()
        .workers(1)
        .stall_threshold(threshold)
        .build()
        .unwrap()
}

/// Keeps the calling thread busy for `dur` without parking: a spin, not
/// `thread::sleep`, which parks the coroutine under the `hook` feature.
fn hold_the_thread(dur: Duration) {
    let start = std::time::Instant::now();
    while start.elapsed() < dur {
        std::hint::spin_loop();
    }
}

/// A coroutine named `name` that blocks its worker for 300 ms.
fn block_the_worker(rt: &weft::Runtime, name: &str) {
    rt.block_on(|| {
        weft::Builder::new()
            .name(name.into())
            .spawn(|| hold_the_thread(Duration::from_millis(300)))
            .unwrap()
            .join()
            .unwrap();
    });
}

/// The threads of this process named `name` (Linux: /proc/self/task).
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

/// The child's body: runs only when re-executed by the tests below.
#[test]
fn stall_child() {
    let Ok(scenario) = std::env::var(CHILD_ENV) else {
        return;
    };
    match scenario.as_str() {
        "report" => block_the_worker(&runtime(Some(Duration::from_millis(50))), "spinner"),
        "disabled" => block_the_worker(&runtime(None), "spinner"),
        "from_env" => {
            // No threshold on the builder: WEFT_STALL_MS decides.
            let rt = weft::Runtime::builder().workers(1).build().unwrap();
            rt.block_on(|| hold_the_thread(Duration::from_millis(300)));
        }
        "healthy" => {
            let rt = runtime(Some(Duration::from_millis(50)));
            rt.block_on(|| {
                for _ in 0..30 {
                    // Short bursts of work, each followed by a park.
                    thread::sleep(Duration::from_millis(5));
                    weft::sleep(Duration::from_millis(5));
                }
            });
        }
        "thread_lifetime" => {
            let rt = runtime(Some(Duration::from_millis(50)));
            // A new thread names itself once it runs: give it a moment.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while threads_named("weft-watchdog") == 0 && std::time::Instant::now() < deadline {
                thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(threads_named("weft-watchdog"), 1);
            rt.shutdown();
            assert_eq!(threads_named("weft-watchdog"), 0);
            let rt = runtime(None);
            assert_eq!(threads_named("weft-watchdog"), 0);
            drop(rt);
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn run_child(scenario: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "stall_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, scenario)
        .env_remove("WEFT_STALL_MS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child {scenario} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn a_blocked_worker_is_reported_once_with_the_coroutine_name() {
    with_timeout(20, || {
        let out = run_child("report", &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.matches("spinner").count(), 1, "stderr: {stderr}");
        let line = stderr.lines().find(|l| l.contains("spinner")).unwrap();
        assert!(line.starts_with("weft: coroutine 'spinner' (id "), "{line}");
        assert!(line.contains("on worker thread 'weft-worker-0'"), "{line}");
        assert!(line.contains("weft::spawn_blocking"), "{line}");
        let ms: u64 = line
            .split("has run for ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no duration in {line}"));
        assert!((50..300).contains(&ms), "reported {ms} ms: {line}");
    });
}

#[test]
fn a_disabled_watchdog_prints_nothing() {
    with_timeout(20, || {
        let out = run_child("disabled", &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("weft:"), "stderr: {stderr}");
        assert!(!stderr.contains("spinner"), "stderr: {stderr}");
    });
}

#[test]
fn the_environment_sets_the_default_threshold() {
    with_timeout(20, || {
        let out = run_child("from_env", &[("WEFT_STALL_MS", "50")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.matches("<unnamed>").count(), 1, "stderr: {stderr}");

        let out = run_child("from_env", &[("WEFT_STALL_MS", "0")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("weft:"), "stderr: {stderr}");
    });
}

#[test]
fn a_coroutine_that_parks_often_is_not_reported() {
    with_timeout(20, || {
        let out = run_child("healthy", &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("weft:"), "stderr: {stderr}");
    });
}

#[test]
fn the_watchdog_thread_ends_with_its_runtime() {
    with_timeout(20, || {
        run_child("thread_lifetime", &[]);
    });
}
