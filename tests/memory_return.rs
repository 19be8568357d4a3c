//! After a burst of 1,000,000 coroutines has finished and the workers have
//! been idle for a moment, the process gives the burst's memory back.
//!
//! One test in its own binary: resident memory is per process, and other
//! tests running beside it would move the figure.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::with_timeout;

/// Resident set size of this process, in KiB, from `/proc/self/status`.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Spawns `n` coroutines, lets all of them park at once (on a lock the
/// test holds), measures resident memory, lets them go (each then sleeps
/// briefly, so timers are used too) and waits until all have finished.
/// Handles are dropped (detached): the burst holds only what the runtime
/// itself keeps per coroutine. Returns the peak resident size.
fn burst(rt: &weft::Runtime, n: usize) -> u64 {
    let gate = Arc::new(weft::sync::RwLock::new(()));
    let parked = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let closed = gate.write().unwrap();
    let (g, p, d) = (gate.clone(), parked.clone(), done.clone());
    rt.block_on(move || {
        for _ in 0..n {
            let (g, p, d) = (g.clone(), p.clone(), d.clone());
            weft::spawn(move || {
                p.fetch_add(1, Ordering::Relaxed);
                drop(g.read().unwrap());
                weft::sleep(Duration::from_millis(1));
                d.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    while parked.load(Ordering::Relaxed) < n {
        std::thread::sleep(Duration::from_millis(5));
    }
    let peak = rss_kib();
    drop(closed);
    while done.load(Ordering::Relaxed) < n {
        std::thread::sleep(Duration::from_millis(5));
    }
    peak
}

/// Waits until resident memory stops falling (workers trim after a second
/// of idleness), at most `limit`; returns the lowest figure seen.
fn settled_rss(limit: Duration) -> u64 {
    let start = Instant::now();
    let mut low = rss_kib();
    let mut low_at = Instant::now();
    while start.elapsed() < limit && low_at.elapsed() < Duration::from_millis(1500) {
        std::thread::sleep(Duration::from_millis(100));
        let now = rss_kib();
        if now < low {
            low = now;
            low_at = Instant::now();
        }
    }
    low
}

#[test]
fn a_million_finished_coroutines_give_back_their_memory() {
    with_timeout(120, || {
        let rt = weft::Runtime::builder().workers(2).build().unwrap();
        // Baseline: a runtime that has served a small burst and gone idle,
        // as a server between spikes would be.
        burst(&rt, 10_000);
        let before = settled_rss(Duration::from_secs(10));

        let count = 1_000_000;
        let peak = burst(&rt, count);
        let after = settled_rss(Duration::from_secs(20));

        let stats = weft::stats();
        let burst_kib = peak.saturating_sub(before);
        let kept_kib = after.saturating_sub(before);
        println!(
            "resident: before {before} KiB, all {count} parked {peak} KiB, \
             after {after} KiB ({:+.1}% of before, {:.2}% of the burst kept)",
            kept_kib as f64 * 100.0 / before as f64,
            kept_kib as f64 * 100.0 / burst_kib as f64,
        );
        assert!(
            burst_kib > count as u64 * 3,
            "the burst should have touched at least 3 KiB per coroutine \
             (peak {peak} KiB, before {before} KiB): is the test measuring?"
        );
        // Everything weft accounts for is back where it was.
        assert_eq!(stats.stacks_in_use, 0, "{stats:?}");
        assert_eq!(
            stats.stacks_hot, 0,
            "idle workers keep no hot stacks: {stats:?}"
        );
        assert_eq!(stats.timers_armed, 0, "{stats:?}");
        // And the process gave the burst's memory back to the OS: at most
        // 1% of it is still resident. What stays is the C allocator's
        // (glibc keeps per-thread caches and, after any large block was
        // freed, up to twice that block at the top of each heap; see
        // arch/stacks.md), not weft's.
        assert!(
            kept_kib * 100 <= burst_kib,
            "{kept_kib} KiB of the {burst_kib} KiB a burst of {count} coroutines \
             used is still resident after they finished (before {before} KiB, \
             after {after} KiB): more than 1%"
        );
    });
}
