//! The stall watchdog: reports a coroutine that keeps its worker thread
//! busy for too long without parking.
//!
//! A coroutine shares its worker with every other coroutine of that
//! worker, and gives the thread back only when it parks. One that calls
//! `std::thread::sleep`, blocks in std I/O or a std lock, or spins, stops
//! all of them, and nothing in the program says so: requests just get
//! slow. Go's scheduler trace and tokio-console name such tasks; this
//! does the same on stderr.
//!
//! Each runtime with a threshold has one `weft-watchdog` thread. Every
//! threshold/4 it samples each worker's resume counter
//! ([`WorkerRemote::switches`], written only by the worker) and the
//! coroutine it is running now ([`WorkerRemote::with_running`]). While
//! the counter stays the same the worker is still in the same run of the
//! same coroutine; once that has lasted the threshold with a coroutine
//! running, the watchdog prints one line naming it, and stays quiet until
//! the counter moves (the coroutine parked or yielded): one report per
//! episode. The workers pay nothing for this beyond the two stores they
//! make on every resume anyway.
//!
//! The thread waits on a condvar with a timeout between samples, so the
//! runtime's shutdown stops it at once and joins it.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::rt::scheduler::WorkerRemote;

/// The threshold in debug builds when neither the builder nor
/// `WEFT_STALL_MS` sets one. 100 ms is the point where a stall is a
/// visible latency (a web request, a frame, a heartbeat), and it is ten
/// times Go's 10 ms preemption slice, leaving room for the legitimate
/// bursts of computation that unoptimised debug code stretches out.
pub(crate) const DEFAULT_THRESHOLD: Duration = Duration::from_millis(100);

/// Environment variable: the threshold in milliseconds, `0` to disable.
pub(crate) const THRESHOLD_ENV: &str = "WEFT_STALL_MS";

/// The threshold of a runtime whose builder did not set one:
/// `WEFT_STALL_MS` if set (`0`: none), else [`DEFAULT_THRESHOLD`] in debug
/// builds and none in release builds.
pub(crate) fn default_threshold() -> Option<Duration> {
    let from_env = std::env::var(THRESHOLD_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok());
    match from_env {
        Some(0) => None,
        Some(ms) => Some(Duration::from_millis(ms)),
        None => cfg!(debug_assertions).then_some(DEFAULT_THRESHOLD),
    }
}

/// A running watchdog thread; stopping (or dropping) it joins the thread.
pub(crate) struct Watchdog {
    stop: Arc<StopSignal>,
    thread: Option<thread::JoinHandle<()>>,
}

#[derive(Default)]
struct StopSignal {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Watchdog {
    /// Starts watching `workers` (each with its thread's name), reporting
    /// runs longer than `threshold`.
    pub(crate) fn start(
        workers: Vec<(Arc<WorkerRemote>, String)>,
        threshold: Duration,
    ) -> io::Result<Watchdog> {
        let stop = Arc::new(StopSignal::default());
        let their_stop = stop.clone();
        let thread = thread::Builder::new()
            .name("weft-watchdog".into())
            .spawn(move || watch(&their_stop, workers, threshold))?;
        Ok(Watchdog {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the thread and waits for it to exit.
    pub(crate) fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        *self
            .stop
            .stopped
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.stop.wake.notify_all();
        let _ = thread.join();
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// The watchdog thread: sample every worker each period until stopped.
fn watch(stop: &StopSignal, workers: Vec<(Arc<WorkerRemote>, String)>, threshold: Duration) {
    let period = (threshold / 4).max(Duration::from_millis(1));
    let now = Instant::now();
    let mut watches: Vec<Watch> = workers
        .iter()
        .map(|(remote, _)| Watch {
            switches: remote.switches(),
            since: now,
            reported: false,
        })
        .collect();
    let mut stopped = stop.stopped.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let deadline = Instant::now() + period;
        loop {
            if *stopped {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            stopped = stop
                .wake
                .wait_timeout(stopped, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let now = Instant::now();
        for ((remote, thread_name), watch) in workers.iter().zip(&mut watches) {
            watch.sample(remote, thread_name, now, threshold);
        }
    }
}

/// What the watchdog knows of one worker.
struct Watch {
    /// The worker's resume counter at the last sample.
    switches: u64,
    /// When the counter was first seen at this value.
    since: Instant,
    /// Whether this run has been reported.
    reported: bool,
}

impl Watch {
    fn sample(
        &mut self,
        remote: &WorkerRemote,
        thread_name: &str,
        now: Instant,
        threshold: Duration,
    ) {
        let switches = remote.switches();
        if switches != self.switches {
            self.switches = switches;
            self.since = now;
            self.reported = false;
            return;
        }
        let stalled_for = now.saturating_duration_since(self.since);
        if self.reported || stalled_for < threshold {
            return;
        }
        let blocked = blocked_in(remote.tid.load(std::sync::atomic::Ordering::Relaxed));
        let report = remote.with_running(|running| {
            running
                .map(|h| stall_report(h.name(), h.id().as_u64(), thread_name, stalled_for, blocked))
        });
        if remote.switches() != switches {
            // A new run began while we looked: the header may be its.
            return;
        }
        match report {
            Some(report) => {
                // Not `eprintln!`, which panics when stderr is closed.
                let _ = io::stderr().write_all(report.as_bytes());
                self.reported = true;
            }
            // The worker is in its own loop (idle, polling), not stuck in
            // a coroutine: nothing to report, start counting afresh.
            None => self.since = now,
        }
    }
}

/// What a stalled worker thread is blocked in, when the kernel can say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Blocked {
    /// A futex wait: std's `Mutex`, `RwLock`, `Condvar`, `Once`, or
    /// parking_lot's, all wait with `futex(2)` on Linux.
    StdLock,
}

/// Asks the kernel which system call thread `tid` of this process is in
/// (`/proc/self/task/<tid>/syscall`: the number first, or `running`).
#[cfg(target_os = "linux")]
fn blocked_in(tid: i32) -> Option<Blocked> {
    if tid == 0 {
        return None;
    }
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).ok()?;
    let number: libc::c_long = text.split_whitespace().next()?.parse().ok()?;
    (number == libc::SYS_futex).then_some(Blocked::StdLock)
}

#[cfg(not(target_os = "linux"))]
fn blocked_in(_tid: i32) -> Option<Blocked> {
    None
}

/// The line printed for a stall.
fn stall_report(
    name: Option<&str>,
    id: u64,
    thread_name: &str,
    stalled_for: Duration,
    blocked: Option<Blocked>,
) -> String {
    let who = match name {
        Some(name) => format!("'{name}'"),
        None => "<unnamed>".to_string(),
    };
    let cause = match blocked {
        Some(Blocked::StdLock) => {
            "It is blocked in a std lock (the thread waits in futex(2): a std::sync Mutex, \
             RwLock, Condvar or Once, or parking_lot's); if the lock's holder is a coroutine \
             parked on this same worker, it can never run to release it: use weft::sync, whose \
             waits park the coroutine."
        }
        None => {
            "It blocks the thread (std::thread::sleep, std I/O, a std lock, a long \
             computation) or spins: use weft::sleep, weft::net, weft::fs and weft::sync, which \
             park the coroutine instead, or move the work to weft::spawn_blocking."
        }
    };
    format!(
        "weft: coroutine {who} (id {id}) has run for {} ms without parking on worker thread \
         '{thread_name}', stalling every other coroutine of that worker. {cause} (Reported \
         once per stall; set the threshold with RuntimeBuilder::stall_threshold or \
         WEFT_STALL_MS, 0 to disable.)\n",
        stalled_for.as_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_the_coroutine_thread_and_fix() {
        let r = stall_report(
            Some("spinner"),
            7,
            "weft-worker-0",
            Duration::from_millis(62),
            None,
        );
        assert!(r.starts_with("weft: coroutine 'spinner' (id 7) has run for 62 ms"));
        assert!(r.contains("'weft-worker-0'"));
        assert!(r.contains("weft::spawn_blocking"));
        assert!(r.ends_with('\n'));
        let r = stall_report(None, 8, "w-1", Duration::from_millis(100), None);
        assert!(r.starts_with("weft: coroutine <unnamed> (id 8)"));
        let r = stall_report(
            None,
            9,
            "w-1",
            Duration::from_millis(100),
            Some(Blocked::StdLock),
        );
        assert!(r.contains("blocked in a std lock"));
        assert!(r.contains("weft::sync"));
    }
}
