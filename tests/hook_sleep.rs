//! With the `hook` feature, std's blocking sleep and name lookup park the
//! calling coroutine instead of its worker thread.
#![cfg(feature = "hook")]

mod common;

use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The threads of this process named `name` (Linux: /proc/self/task).
fn threads_named(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end() == name)
        .count()
}

#[test]
fn the_interposition_is_linked_in() {
    assert!(weft::hook::active());
}

#[test]
fn ten_thousand_std_sleeps_of_one_second_overlap() {
    let elapsed = common::with_timeout(60, || {
        let rt = common::runtime(2);
        rt.block_on(|| {
            let start = Instant::now();
            let handles: Vec<_> = (0..10_000)
                .map(|_| weft::spawn(|| std::thread::sleep(Duration::from_secs(1))))
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            start.elapsed()
        })
    });
    // Serially on 2 workers this would take 5,000 s.
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn every_libc_sleep_parks() {
    common::with_timeout(60, || {
        let rt = common::runtime(1);
        rt.block_on(|| {
            let start = Instant::now();
            let sleeps: Vec<Box<dyn FnOnce() + Send>> = vec![
                Box::new(|| {
                    // SAFETY: a plain sleep.
                    unsafe { libc::usleep(300_000) };
                }),
                Box::new(|| {
                    // SAFETY: a plain sleep.
                    unsafe { libc::sleep(1) };
                }),
                Box::new(|| {
                    let ts = libc::timespec {
                        tv_sec: 0,
                        tv_nsec: 300_000_000,
                    };
                    // SAFETY: a valid request, no remainder wanted.
                    let r = unsafe {
                        libc::clock_nanosleep(libc::CLOCK_MONOTONIC, 0, &ts, std::ptr::null_mut())
                    };
                    assert_eq!(r, 0);
                }),
                Box::new(|| {
                    let mut now = libc::timespec {
                        tv_sec: 0,
                        tv_nsec: 0,
                    };
                    // SAFETY: a valid timespec to fill.
                    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
                    now.tv_sec += 1;
                    // SAFETY: a valid request, no remainder wanted.
                    let r = unsafe {
                        libc::clock_nanosleep(
                            libc::CLOCK_MONOTONIC,
                            libc::TIMER_ABSTIME,
                            &now,
                            std::ptr::null_mut(),
                        )
                    };
                    assert_eq!(r, 0);
                }),
            ];
            let handles: Vec<_> = sleeps.into_iter().map(weft::spawn).collect();
            for h in handles {
                h.join().unwrap();
            }
            let elapsed = start.elapsed();
            // 2.6 s if they ran one after the other on the one worker.
            assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
            assert!(elapsed < Duration::from_millis(2300), "took {elapsed:?}");
        });
    });
}

#[test]
fn an_invalid_sleep_fails_with_einval() {
    let rt = common::runtime(1);
    let (r, e) = rt.block_on(|| {
        let ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 2_000_000_000,
        };
        // SAFETY: valid pointers; the request itself is invalid on purpose.
        let r = unsafe { libc::nanosleep(&ts, std::ptr::null_mut()) };
        (r, std::io::Error::last_os_error().raw_os_error())
    });
    assert_eq!(r, -1);
    assert_eq!(e, Some(libc::EINVAL));
}

#[test]
fn a_name_lookup_does_not_block_the_worker() {
    common::with_timeout(60, || {
        let rt = common::runtime(1);
        rt.block_on(|| {
            let ticks = Arc::new(AtomicUsize::new(0));
            let t = ticks.clone();
            let ticker = weft::spawn(move || {
                for _ in 0..20 {
                    weft::sleep(Duration::from_millis(5));
                    t.fetch_add(1, Ordering::SeqCst);
                }
            });
            let lookups: Vec<_> = (0..20)
                .map(|_| {
                    weft::spawn(|| {
                        let addrs: Vec<_> = "localhost:8080".to_socket_addrs().unwrap().collect();
                        assert!(
                            addrs
                                .iter()
                                .all(|a| a.ip().is_loopback() && a.port() == 8080)
                        );
                        assert!(!addrs.is_empty());
                    })
                })
                .collect();
            for h in lookups {
                h.join().unwrap();
            }
            ticker.join().unwrap();
            assert_eq!(ticks.load(Ordering::SeqCst), 20);
            // The lookups ran on weft's blocking pool (no other test in
            // this binary uses it), not on the worker.
            assert!(threads_named("weft-blocking") >= 1);
        });
    });
}
