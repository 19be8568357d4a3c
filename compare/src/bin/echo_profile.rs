//! The `tcp_echo` bench workload (`compare/benches/net.rs`) without
//! criterion, for profiling (perf, strace, cachegrind) a fixed amount of
//! work: `MODE=weft|tokio CONNS=100 ROUNDS=50 WEFT_BENCH_WORKERS=2 cargo
//! run --release -p compare --bin echo_profile`. Prints throughput and the process's
//! user and system CPU time per round trip over the measured rounds (less
//! sensitive to a noisy machine than wall time), and for weft how many
//! coroutines each worker resumed and where client and server coroutines
//! ran.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[path = "../../benches/support/echo_workload.rs"]
mod echo_workload;

use echo_workload::{PER_CONN, WRITE};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

static PLACES: Mutex<Option<HashMap<(String, &'static str), usize>>> = Mutex::new(None);

fn note(role: &'static str) {
    let name = std::thread::current().name().unwrap_or("?").to_string();
    *PLACES
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .entry((name, role))
        .or_default() += 1;
}

fn main() {
    let conns = env("CONNS", 100);
    let rounds = env("ROUNDS", 50);
    let workers = env("WEFT_BENCH_WORKERS", 2);
    let mode = std::env::var("MODE").unwrap_or_else(|_| "weft".into());
    let start;
    if mode == "weft" {
        let rt = weft::Runtime::builder().workers(workers).build().unwrap();
        let addr = echo_workload::weft_echo_server(&rt, || note("server"));
        let mut streams: Vec<_> = rt.block_on(|| {
            (0..conns)
                .map(|_| weft::net::TcpStream::connect(addr).unwrap())
                .collect()
        });
        mark();
        start = Instant::now();
        for _ in 0..rounds {
            let taken = std::mem::take(&mut streams);
            streams = echo_workload::weft_round(&rt, taken, || note("client"));
        }
        let elapsed = start.elapsed();
        let dump = weft::dump();
        for w in dump.workers() {
            eprintln!("worker {} switches {}", w.index, w.switches);
        }
        let mut places: Vec<_> = PLACES.lock().unwrap().take().unwrap().into_iter().collect();
        places.sort();
        for ((thread, role), n) in places {
            eprintln!("{role} on {thread}: {n}");
        }
        report(&mode, conns, rounds, elapsed);
    } else {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .unwrap();
        let addr = echo_workload::tokio_echo_server(&rt);
        let mut streams: Vec<_> = rt.block_on(async {
            let mut v = Vec::with_capacity(conns);
            for _ in 0..conns {
                v.push(tokio::net::TcpStream::connect(addr).await.unwrap());
            }
            v
        });
        if std::env::var("STACKS").is_ok() {
            std::thread::sleep(std::time::Duration::from_millis(200));
            for c in weft::dump().coroutines().take(3) {
                eprintln!(
                    "{:?} wait {:?} stack_used {} high {}",
                    c.name, c.wait, c.stack_used, c.stack_high_water
                );
            }
        }
        mark();
        start = Instant::now();
        for _ in 0..rounds {
            let taken = std::mem::take(&mut streams);
            streams = echo_workload::tokio_round(&rt, taken);
        }
        report(&mode, conns, rounds, start.elapsed());
    }
}

/// User and system CPU time of the whole process so far, in seconds.
fn cpu() -> (f64, f64) {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage(RUSAGE_SELF) writes a whole `rusage` through the
    // valid, exclusively borrowed pointer and cannot fail for RUSAGE_SELF,
    // so the value is initialised when `assume_init` reads it.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
        u.assume_init()
    };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(u.ru_utime), t(u.ru_stime))
}

static CPU_START: Mutex<(f64, f64)> = Mutex::new((0.0, 0.0));

fn mark() {
    *CPU_START.lock().unwrap() = cpu();
}

fn report(mode: &str, conns: usize, rounds: usize, elapsed: std::time::Duration) {
    let bytes = (conns * PER_CONN * rounds) as f64;
    let (u0, s0) = *CPU_START.lock().unwrap();
    let (u1, s1) = cpu();
    let trips = (conns * rounds * PER_CONN / WRITE) as f64;
    println!(
        "{mode} conns={conns} rounds={rounds}: {:.3}s {:.1} MiB/s; cpu per round trip: user {:.2} us, sys {:.2} us",
        elapsed.as_secs_f64(),
        bytes / elapsed.as_secs_f64() / (1 << 20) as f64,
        (u1 - u0) / trips * 1e6,
        (s1 - s0) / trips * 1e6,
    );
}
