//! A coroutine that waits on a std `Mutex` held by a coroutine parked on
//! the same worker blocks the worker thread in `futex(2)`, and the holder,
//! which can only run on that thread, never gets to release it: the
//! worker is deadlocked for good. The stall watchdog names the cause:
//! "blocked in a std lock".
//!
//! The deadlock runs in a child process (this test binary re-executed
//! with an environment variable), which the test kills once the report
//! is on its stderr.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

const CHILD_ENV: &str = "WEFT_TEST_STD_LOCK_CHILD";

/// The child's body: runs only when re-executed by the test below.
#[test]
fn std_lock_child() {
    if std::env::var(CHILD_ENV).is_err() {
        return;
    }
    let rt = weft::Runtime::builder()
        .workers(1)
        .stall_threshold(Some(Duration::from_millis(50)))
        .build()
        .unwrap();
    rt.block_on(|| {
        let lock = Arc::new(Mutex::new(0));
        let l = lock.clone();
        let holder = weft::Builder::new()
            .name("holder".into())
            .spawn(move || {
                let mut guard = l.lock().unwrap();
                // Parks holding the std lock.
                weft::sleep(Duration::from_millis(100));
                *guard += 1;
            })
            .unwrap();
        weft::yield_now(); // the holder takes the lock and parks
        let waiter = weft::Builder::new()
            .name("waiter".into())
            .spawn(move || *lock.lock().unwrap())
            .unwrap();
        waiter.join().unwrap();
        holder.join().unwrap();
    });
    unreachable!("the worker is deadlocked: the holder never runs again");
}

#[test]
fn a_std_lock_held_by_a_parked_coroutine_deadlocks_its_worker_and_is_named() {
    common::with_timeout(60, || {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "std_lock_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let report = loop {
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(line) if line.starts_with("weft: coroutine") => break line,
                Ok(_) => continue,
                Err(e) => {
                    let _ = child.kill();
                    panic!("no stall report from the child: {e}");
                }
            }
        };
        // Well past the holder's 100 ms: it still has not finished.
        std::thread::sleep(Duration::from_millis(500));
        let still_running = child.try_wait().unwrap().is_none();
        let _ = child.kill();
        let _ = child.wait();
        assert!(report.contains("'waiter'"), "{report}");
        assert!(report.contains("blocked in a std lock"), "{report}");
        assert!(still_running, "the deadlocked child exited");
    });
}
