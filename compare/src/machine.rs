//! The machine a report comes from: CPU model, cores, kernel, memory,
//! compiler, date, and how busy the machine was with *other* work when
//! the run started and ended (a shared 2-core machine makes that the
//! largest source of error, so the report says it).

use std::process::Command;
use std::time::Duration;

use super::child;

pub struct Machine {
    pub date: String,
    pub cpu: String,
    pub cores: usize,
    pub kernel: String,
    pub memory_gib: f64,
    pub rustc: String,
    pub max_map_count: String,
    pub open_files: String,
}

impl Machine {
    pub fn describe() -> Machine {
        let command = |program: &str, args: &[&str]| {
            child::run(Command::new(program).args(args), Duration::from_secs(10))
                .map(|o| o.stdout.trim().to_string())
                .unwrap_or_else(|_| "unknown".into())
        };
        let cpu = command("lscpu", &[])
            .lines()
            .find_map(|l| l.strip_prefix("Model name:"))
            .map(|m| m.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let memory_kib: f64 = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "unknown".into())
        };
        Machine {
            date: command("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
            cpu,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: read("/proc/sys/kernel/osrelease"),
            memory_gib: memory_kib / (1024.0 * 1024.0),
            rustc: command("rustc", &["-V"]),
            max_map_count: read("/proc/sys/vm/max_map_count"),
            open_files: command("sh", &["-c", "ulimit -n"]),
        }
    }
}

/// Share of all CPUs busy over the next `window`, from `/proc/stat`
/// (0.0–1.0). Sampled while this runner is idle, so it is other work.
pub fn busy(window: Duration) -> f64 {
    let sample = || -> Option<(f64, f64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu = stat.lines().next()?;
        let ticks: Vec<f64> = cpu
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let total: f64 = ticks.iter().sum();
        // idle + iowait
        let idle = ticks.get(3)? + ticks.get(4).unwrap_or(&0.0);
        Some((total, idle))
    };
    let Some((t0, i0)) = sample() else { return 0.0 };
    std::thread::sleep(window);
    let Some((t1, i1)) = sample() else { return 0.0 };
    if t1 > t0 {
        1.0 - (i1 - i0) / (t1 - t0)
    } else {
        0.0
    }
}

/// Total time [`settle`] has waited so far, in milliseconds.
pub static WAITED_MS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Waits (up to 15 s) until other work leaves the machine nearly idle,
/// so a measurement does not start in the middle of someone else's
/// build. Called between measurements, when this runner itself is idle.
pub fn settle() {
    let start = std::time::Instant::now();
    while busy(Duration::from_millis(200)) > 0.15 && start.elapsed() < Duration::from_secs(15) {
        std::thread::sleep(Duration::from_millis(800));
    }
    let waited = start.elapsed().saturating_sub(Duration::from_millis(200));
    WAITED_MS.fetch_add(
        waited.as_millis() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
}
