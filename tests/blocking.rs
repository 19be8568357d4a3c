//! `spawn_blocking`: work that blocks runs on pool threads, so coroutines
//! on the same worker keep running; its result (or panic) comes back
//! through `join`, from coroutines and from plain threads.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};

#[test]
fn from_a_coroutine_runs_on_a_pool_thread() {
    with_timeout(10, || {
        let rt = runtime(1);
        let (name, in_coroutine) = rt.block_on(|| {
            weft::spawn_blocking(|| {
                (
                    thread::current().name().map(String::from),
                    weft::in_coroutine(),
                )
            })
            .join()
            .unwrap()
        });
        assert_eq!(name.as_deref(), Some("weft-blocking"));
        assert!(!in_coroutine);
    });
}

#[test]
fn from_a_plain_thread_without_any_runtime() {
    with_timeout(10, || {
        let h = weft::spawn_blocking(|| 6 * 7);
        assert_eq!(h.join().unwrap(), 42);
    });
}

#[test]
fn a_panic_is_returned_by_join_and_the_pool_goes_on() {
    with_timeout(10, || {
        let rt = runtime(1);
        let payload = rt.block_on(|| weft::spawn_blocking(|| panic!("boom")).join().unwrap_err());
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
        let payload = weft::spawn_blocking(|| panic!("bang")).join().unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"bang"));
        assert_eq!(weft::spawn_blocking(|| 1).join().unwrap(), 1);
    });
}

#[test]
fn is_finished_turns_true_when_the_job_returns() {
    with_timeout(10, || {
        let (tx, rx) = mpsc::channel::<()>();
        let h = weft::spawn_blocking(move || rx.recv().unwrap());
        thread::sleep(Duration::from_millis(20));
        assert!(!h.is_finished());
        tx.send(()).unwrap();
        while !h.is_finished() {
            thread::sleep(Duration::from_millis(1));
        }
        h.join().unwrap();
    });
}

#[test]
fn many_concurrent_jobs_grow_the_pool() {
    with_timeout(20, || {
        const JOBS: usize = 32;
        let rt = runtime(2);
        let threads = rt.block_on(|| {
            // Every job waits at the barrier until all JOBS are running at
            // once, which takes JOBS pool threads.
            let barrier = Arc::new(Barrier::new(JOBS));
            let hs: Vec<_> = (0..JOBS)
                .map(|_| {
                    let b = barrier.clone();
                    weft::spawn_blocking(move || {
                        b.wait();
                        thread::current().id()
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap())
                .collect::<HashSet<_>>()
        });
        assert_eq!(threads.len(), JOBS);
    });
}

#[test]
fn a_sleeping_blocking_job_does_not_delay_a_coroutine_sleep() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let start = Instant::now();
            let blocking = weft::spawn_blocking(move || {
                thread::sleep(Duration::from_secs(1));
                start.elapsed()
            });
            let sleeper = weft::spawn(move || {
                weft::sleep(Duration::from_millis(10));
                start.elapsed()
            });
            let slept = sleeper.join().unwrap();
            assert!(
                !blocking.is_finished(),
                "the sleeper finished only after the blocking job"
            );
            let blocked = blocking.join().unwrap();
            assert!(slept >= Duration::from_millis(10));
            assert!(
                slept < Duration::from_millis(500),
                "a 10 ms sleep took {slept:?} next to a blocking job"
            );
            assert!(blocked >= Duration::from_secs(1));
        });
    });
}

#[test]
fn join_parks_the_coroutine_not_the_worker() {
    with_timeout(10, || {
        // One worker: if `join` blocked it, the coroutine that releases the
        // job could never run.
        let rt = runtime(1);
        rt.block_on(|| {
            let (tx, rx) = mpsc::channel::<u32>();
            let job = weft::spawn_blocking(move || rx.recv().unwrap() + 1);
            let releaser = weft::spawn(move || {
                weft::sleep(Duration::from_millis(10));
                tx.send(41).unwrap();
            });
            assert_eq!(job.join().unwrap(), 42);
            releaser.join().unwrap();
        });
    });
}

#[test]
fn a_cancelled_joiner_leaves_the_job_running() {
    with_timeout(10, || {
        let rt = runtime(1);
        let done = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<()>();
        let d = done.clone();
        let joiner = rt.spawn(move || {
            weft::spawn_blocking(move || {
                rx.recv().unwrap();
                d.store(true, Ordering::SeqCst);
            })
            .join()
        });
        thread::sleep(Duration::from_millis(20));
        joiner.cancel();
        assert!(joiner.join().unwrap_err().is::<weft::Cancelled>());
        tx.send(()).unwrap();
        while !done.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(1));
        }
    });
}

const CHILD_ENV: &str = "WEFT_TEST_CAP_CHILD";

#[test]
fn cancel_before_start_means_the_job_never_runs() {
    with_timeout(20, || {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cap_and_cancel_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .env("WEFT_BLOCKING_THREADS", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "child failed: {stdout}\n{stderr}");
        assert!(stdout.contains("1 passed"), "child ran no test: {stdout}");
    });
}

/// Runs only in the child started above: with one pool thread, a second
/// job waits in the queue while the first blocks, so it can be cancelled
/// before it starts.
#[test]
fn cap_and_cancel_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let rt = runtime(1);
    rt.block_on(|| {
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let blocker = weft::spawn_blocking(move || {
            started_tx.send(()).unwrap();
            gate_rx.recv().unwrap();
            "blocker"
        });
        started_rx.recv().unwrap();

        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let cancelled = weft::spawn_blocking(move || r.fetch_add(1, Ordering::SeqCst));
        let r = ran.clone();
        let queued = weft::spawn_blocking(move || r.fetch_add(10, Ordering::SeqCst));
        cancelled.cancel();
        weft::sleep(Duration::from_millis(20));
        // The cap holds: nothing past the blocker has started.
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert!(!queued.is_finished());

        gate_tx.send(()).unwrap();
        assert_eq!(blocker.join().unwrap(), "blocker");
        assert!(cancelled.join().unwrap_err().is::<weft::Cancelled>());
        assert_eq!(queued.join().unwrap(), 0);
        assert_eq!(ran.load(Ordering::SeqCst), 10);
    });
}
