//! Spawns 1,000,000 coroutines that each sleep, waits for all of them,
//! and prints the spawn time and the resident memory per coroutine.
//!
//! Every coroutine has its own guarded stack (128 KiB reserved, a page or
//! two touched), and this runs on a stock `vm.max_map_count` (65,530):
//! stacks are carved from large slabs whose guard pages do not split the
//! mapping (see `arch/stacks.md`).
//!
//! ```text
//! cargo run --release --example million [-- COUNT]
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long each coroutine sleeps: long enough that all of them are
/// parked at once while the resident memory is read.
const SLEEP: Duration = Duration::from_secs(5);

/// Resident set size of this process, in KiB, from `/proc/self/status`.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Minor page faults and CPU time (user + system) of the whole process so
/// far: on a busy machine they say more about the cost of a spawn than
/// wall time does.
fn usage() -> (u64, Duration) {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it gets,
    // which points to enough writable memory for one.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage failed");
    // SAFETY: getrusage returned 0, so it filled the struct in.
    let u = unsafe { u.assume_init() };
    let t = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    (u.ru_minflt as u64, t(u.ru_utime) + t(u.ru_stime))
}

/// Time this process's threads have spent runnable but waiting for a CPU,
/// summed over its threads (`/proc/self/task/*/schedstat`, second field;
/// zero where the kernel does not report it). On a shared machine this
/// is where wall time goes that CPU time does not explain.
fn cpu_wait() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let ns: u64 = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}

/// Number of memory mappings of this process.
fn map_count() -> usize {
    std::fs::read_to_string("/proc/self/maps").map_or(0, |m| m.lines().count())
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let rt = weft::Runtime::builder().build().unwrap();
    // Warm the runtime up so its own memory is in the baseline.
    rt.block_on(|| weft::spawn(|| ()).join().unwrap());
    let rss_before = rss_kib();

    let asleep = Arc::new(AtomicUsize::new(0));
    let a = asleep.clone();
    let (faults_before, cpu_before) = usage();
    let wait_before = cpu_wait();
    let (spawn_time, all_asleep, rss_all_asleep, maps, wall, (faults, cpu), wait) =
        rt.block_on(move || {
            let start = Instant::now();
            let handles: Vec<_> = (0..count)
                .map(|_| {
                    let a = a.clone();
                    weft::spawn(move || {
                        a.fetch_add(1, Ordering::Relaxed);
                        weft::sleep(SLEEP);
                    })
                })
                .collect();
            let spawn_time = start.elapsed();
            while a.load(Ordering::Relaxed) < count {
                weft::sleep(Duration::from_millis(1));
            }
            let all_asleep = start.elapsed();
            let asleep_usage = usage();
            let wait = cpu_wait();
            let rss = rss_kib();
            let maps = map_count();
            for h in handles {
                h.join().unwrap();
            }
            (
                spawn_time,
                all_asleep,
                rss,
                maps,
                start.elapsed(),
                asleep_usage,
                wait,
            )
        });
    let rss_after = rss_kib();
    // Idle workers give the burst's memory back after a second.
    std::thread::sleep(Duration::from_secs(2));
    let rss_idle = rss_kib();

    let per = (rss_all_asleep.saturating_sub(rss_before)) as f64 / count as f64;
    println!("coroutines:            {count}");
    println!("workers:               {}", rt.workers());
    println!(
        "spawn time:            {:.3} s ({:.0} ns per coroutine)",
        spawn_time.as_secs_f64(),
        spawn_time.as_nanos() as f64 / count as f64
    );
    println!(
        "all asleep after:      {:.3} s ({:.0} ns per coroutine)",
        all_asleep.as_secs_f64(),
        all_asleep.as_nanos() as f64 / count as f64
    );
    println!(
        "until all asleep:      {:.2} page faults and {:.0} ns of CPU per coroutine",
        (faults - faults_before) as f64 / count as f64,
        (cpu - cpu_before).as_nanos() as f64 / count as f64
    );
    println!(
        "waiting for a CPU:     {:.3} s over all threads until all asleep \
         (other processes had the cores)",
        wait.saturating_sub(wait_before).as_secs_f64()
    );
    println!("resident before:       {} MiB", rss_before / 1024);
    println!("resident, all asleep:  {} MiB", rss_all_asleep / 1024);
    println!("resident per coroutine: {per:.2} KiB");
    if all_asleep >= SLEEP {
        println!(
            "  (not all were asleep at once: the first woke before the last started, \
             so their stacks were reused; the figure is too low)"
        );
    }
    println!("memory mappings:       {maps} (vm.max_map_count is usually 65530)");
    println!("all joined after:      {:.3} s", wall.as_secs_f64());
    println!("resident after join:   {} MiB", rss_after / 1024);
    println!(
        "resident 2 s later:    {:.1} MiB (workers idle: stacks and queues trimmed; \
         {:.2}% of the burst still resident)",
        rss_idle as f64 / 1024.0,
        rss_idle.saturating_sub(rss_before) as f64 * 100.0
            / rss_all_asleep.saturating_sub(rss_before).max(1) as f64
    );
}
