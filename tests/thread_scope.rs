//! `weft::thread::scope`: scoped coroutines borrow from the caller's
//! stack, and nothing borrowed outlives the scope — not when the closure
//! panics, not when a scoped coroutine panics, not when the coroutine
//! waiting in the scope is cancelled.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{runtime, with_timeout};
use weft::thread;

/// Appends its word to a log when dropped.
struct LogOnDrop<'a>(&'a Mutex<Vec<&'static str>>, &'static str);

impl Drop for LogOnDrop<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap().push(self.1);
    }
}

#[test]
fn scope_on_a_plain_thread_waits_for_its_coroutines() {
    with_timeout(10, || {
        let done = AtomicUsize::new(0);
        thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    thread::sleep(Duration::from_millis(10));
                    done.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(done.load(Ordering::SeqCst), 16);
    });
}

#[test]
fn scope_inside_a_coroutine_on_one_worker() {
    with_timeout(10, || {
        let rt = runtime(1);
        let sum = rt.block_on(|| {
            let data: Vec<u32> = (1..=10).collect();
            let sum = AtomicUsize::new(0);
            thread::scope(|s| {
                for x in &data {
                    let sum = &sum;
                    s.spawn(move || {
                        thread::yield_now();
                        sum.fetch_add(*x as usize, Ordering::SeqCst);
                    });
                }
            });
            sum.into_inner()
        });
        assert_eq!(sum, 55);
    });
}

#[test]
fn nested_scopes_borrow_from_both_levels() {
    with_timeout(10, || {
        let outer = [1, 2, 3];
        let total = AtomicUsize::new(0);
        thread::scope(|s| {
            s.spawn(|| {
                let inner = [10, 20];
                thread::scope(|s2| {
                    s2.spawn(|| total.fetch_add(outer.iter().sum::<usize>(), Ordering::SeqCst));
                    s2.spawn(|| total.fetch_add(inner.iter().sum::<usize>(), Ordering::SeqCst));
                    // A scoped coroutine spawns into the outer scope too.
                    s.spawn(|| total.fetch_add(100, Ordering::SeqCst));
                });
            });
        });
        assert_eq!(total.load(Ordering::SeqCst), 136);
    });
}

#[test]
fn a_panicking_closure_still_waits_then_resumes_its_panic() {
    with_timeout(10, || {
        let finished = AtomicBool::new(false);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            thread::scope(|s| {
                s.spawn(|| {
                    thread::sleep(Duration::from_millis(30));
                    finished.store(true, Ordering::SeqCst);
                });
                panic!("closure panicked");
            })
        }));
        assert!(
            finished.load(Ordering::SeqCst),
            "scope returned before its coroutine"
        );
        let payload = caught.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"closure panicked"));
    });
}

#[test]
fn an_unjoined_panicking_coroutine_makes_the_scope_panic_after_all_finish() {
    with_timeout(10, || {
        let finished = AtomicBool::new(false);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            thread::scope(|s| {
                s.spawn(|| panic!("scoped panic"));
                s.spawn(|| {
                    thread::sleep(Duration::from_millis(30));
                    finished.store(true, Ordering::SeqCst);
                });
            })
        }));
        assert!(finished.load(Ordering::SeqCst));
        let payload = caught.unwrap_err();
        let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
        assert!(message.contains("scoped coroutine panicked"), "{message}");
    });
}

#[test]
fn a_joined_panic_does_not_make_the_scope_panic() {
    with_timeout(10, || {
        let r = thread::scope(|s| {
            let h = s.spawn(|| panic!("joined"));
            h.join().is_err()
        });
        assert!(r);
    });
}

#[test]
fn cancel_while_waiting_at_the_end_of_the_scope_waits_for_the_children() {
    with_timeout(10, || {
        let rt = runtime(2);
        let log = Arc::new(Mutex::new(Vec::new()));
        let in_scope = Arc::new(AtomicBool::new(false));
        let (l, started) = (log.clone(), in_scope.clone());
        let h = rt.spawn(move || {
            let log = &*l;
            let _env = LogOnDrop(log, "environment dropped");
            thread::scope(|s| {
                s.spawn(|| {
                    let _child = LogOnDrop(log, "child dropped");
                    thread::sleep(Duration::from_secs(3600));
                });
                started.store(true, Ordering::SeqCst);
            });
            log.lock().unwrap().push("scope returned");
        });
        while !in_scope.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        h.cancel();
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
        assert_eq!(
            *log.lock().unwrap(),
            ["child dropped", "environment dropped"]
        );
    });
}

#[test]
fn cancel_during_the_closure_cancels_and_waits_for_the_children() {
    with_timeout(10, || {
        let rt = runtime(1);
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let h = rt.spawn(move || {
            let log = &*l;
            let _env = LogOnDrop(log, "environment dropped");
            thread::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|| {
                        let _child = LogOnDrop(log, "child dropped");
                        thread::sleep(Duration::from_secs(3600));
                    });
                }
                thread::sleep(Duration::from_secs(3600));
            });
        });
        std::thread::sleep(Duration::from_millis(30));
        h.cancel();
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
        assert_eq!(
            *log.lock().unwrap(),
            [
                "child dropped",
                "child dropped",
                "child dropped",
                "child dropped",
                "environment dropped"
            ]
        );
    });
}

#[test]
fn cancel_cannot_cut_short_the_wait_for_a_slow_child() {
    /// Parks while it is dropped (a cancelled coroutine's destructors
    /// may wait), then logs.
    struct SlowDrop<'a>(&'a Mutex<Vec<&'static str>>);
    impl Drop for SlowDrop<'_> {
        fn drop(&mut self) {
            thread::sleep(Duration::from_millis(50));
            self.0.lock().unwrap().push("slow child done");
        }
    }
    with_timeout(10, || {
        let rt = runtime(1);
        let log = Arc::new(Mutex::new(Vec::new()));
        let in_scope = Arc::new(AtomicBool::new(false));
        let (l, started) = (log.clone(), in_scope.clone());
        let h = rt.spawn(move || {
            let log = &*l;
            let _env = LogOnDrop(log, "environment dropped");
            thread::scope(|s| {
                s.spawn(|| {
                    let _slow = SlowDrop(log);
                    thread::sleep(Duration::from_secs(3600));
                });
                started.store(true, Ordering::SeqCst);
            });
        });
        while !in_scope.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(10));
        h.cancel();
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
        assert_eq!(
            *log.lock().unwrap(),
            ["slow child done", "environment dropped"]
        );
    });
}

#[test]
fn spawning_into_a_cancelled_scope_cancels_the_newcomer() {
    with_timeout(10, || {
        let rt = runtime(1);
        let spawned_late = Arc::new(AtomicBool::new(false));
        let late = spawned_late.clone();
        let h = rt.spawn(move || {
            thread::scope(|s| {
                s.spawn(move || {
                    // Survives the first cancel wave by not parking while
                    // the owner is cancelled, then spawns a sibling that
                    // would sleep forever unless it is cancelled too.
                    let _ = catch_unwind(|| thread::sleep(Duration::from_secs(3600)));
                    s.spawn(|| thread::sleep(Duration::from_secs(3600)));
                    late.store(true, Ordering::SeqCst);
                });
                thread::sleep(Duration::from_secs(3600));
            });
        });
        std::thread::sleep(Duration::from_millis(30));
        h.cancel();
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
        assert!(spawned_late.load(Ordering::SeqCst));
    });
}

#[test]
fn a_failed_scoped_spawn_leaves_the_scope_balanced() {
    with_timeout(10, || {
        let borrowed = String::from("kept");
        let failed = thread::scope(|s| {
            let r = thread::Builder::new()
                .stack_size(usize::MAX)
                .spawn_scoped(s, || borrowed.len());
            r.is_err()
        });
        // The scope returned: the closure that never ran was counted out.
        assert!(failed);
        assert_eq!(borrowed, "kept");
    });
}

#[test]
fn dump_shows_the_owner_waiting_at_the_end_of_its_scope() {
    with_timeout(10, || {
        let release = Arc::new(AtomicBool::new(false));
        let r = release.clone();
        let owner = thread::Builder::new()
            .name("scope-owner".into())
            .spawn(move || {
                thread::scope(|s| {
                    s.spawn(|| {
                        while !r.load(Ordering::SeqCst) {
                            thread::sleep(Duration::from_millis(1));
                        }
                    });
                })
            })
            .unwrap();
        loop {
            let d = weft::dump();
            let waits = d
                .coroutines()
                .find(|c| c.name.as_deref() == Some("scope-owner"))
                .and_then(|c| c.wait);
            if waits == Some(weft::WaitFor::Scope) {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        release.store(true, Ordering::SeqCst);
        owner.join().unwrap();
    });
}
