//! `idle`: spawn `n` tasks that each bump a counter and then wait forever
//! without a timer (weft and may `park`, tokio and smol await a future
//! that never completes, threads `thread::park`), and time how long it
//! takes until all `n` are started and waiting. The caller then reads its
//! resident memory and exits without tearing anything down, so this runs
//! in a child process of its own (see `src/main.rs`).
//!
//! The spawner drops each join handle, so only the task itself is counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::Harness;

/// Spawns `n` idle tasks on `harness` from inside it; returns the wall
/// time from the first spawn until all of them had started.
pub fn spawn_idle(harness: &Harness, n: u64) -> Duration {
    let started = Arc::new(AtomicU64::new(0));
    match harness {
        Harness::Weft(rt) => rt.block_on(move || {
            let begin = Instant::now();
            for _ in 0..n {
                let started = started.clone();
                weft::spawn(move || {
                    started.fetch_add(1, Ordering::Relaxed);
                    loop {
                        weft::park();
                    }
                });
            }
            while started.load(Ordering::Relaxed) < n {
                weft::sleep(Duration::from_millis(1));
            }
            begin.elapsed()
        }),
        Harness::TokioMt(rt) => {
            rt.block_on(async move { tokio::spawn(tokio_idle(started, n)).await.unwrap() })
        }
        Harness::TokioCt(rt) => rt.block_on(tokio_idle(started, n)),
        Harness::Smol(pool) => {
            let ex = pool.executor();
            pool.block_on(async move {
                let begin = Instant::now();
                for _ in 0..n {
                    let started = started.clone();
                    ex.spawn(async move {
                        started.fetch_add(1, Ordering::Relaxed);
                        std::future::pending::<()>().await
                    })
                    .detach();
                }
                while started.load(Ordering::Relaxed) < n {
                    smol::Timer::after(Duration::from_millis(1)).await;
                }
                begin.elapsed()
            })
        }
        Harness::May => may::go!(move || {
            let begin = Instant::now();
            for _ in 0..n {
                let started = started.clone();
                may::go!(move || {
                    started.fetch_add(1, Ordering::Relaxed);
                    loop {
                        may::coroutine::park();
                    }
                });
            }
            while started.load(Ordering::Relaxed) < n {
                may::coroutine::sleep(Duration::from_millis(1));
            }
            begin.elapsed()
        })
        .join()
        .unwrap(),
        Harness::Threads => {
            let begin = Instant::now();
            for _ in 0..n {
                let started = started.clone();
                std::thread::spawn(move || {
                    started.fetch_add(1, Ordering::Relaxed);
                    loop {
                        std::thread::park();
                    }
                });
            }
            while started.load(Ordering::Relaxed) < n {
                std::thread::sleep(Duration::from_millis(1));
            }
            begin.elapsed()
        }
    }
}

async fn tokio_idle(started: Arc<AtomicU64>, n: u64) -> Duration {
    let begin = Instant::now();
    for _ in 0..n {
        let started = started.clone();
        tokio::spawn(async move {
            started.fetch_add(1, Ordering::Relaxed);
            std::future::pending::<()>().await
        });
    }
    while started.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    begin.elapsed()
}

/// Resident set size of this process in KiB, from `/proc/self/status`.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
