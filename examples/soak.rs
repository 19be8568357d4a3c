//! Soak test: connection churn for N seconds against a loopback echo
//! server, failing (exit code 1) if anything grows that should stay flat.
//!
//! ```text
//! cargo run --release --example soak -- --secs N [--clients C]
//! ```
//!
//! `C` client loops (default 64) each repeat: connect, echo a random
//! number of bytes (up to 256 KiB, checked with a checksum both ways),
//! close. About one connection in ten is closed by a reset instead
//! (`SO_LINGER` 0) after a partial send, and one in ten is cancelled
//! mid-transfer from outside (`JoinHandle::cancel`).
//!
//! The run has two phases: a warm-up (a third of the run, at most a
//! minute) and the rest. At the start, after the warm-up and at the end,
//! all clients pause and the server drains; then it prints the process's
//! descriptors, resident memory, live coroutines and `weft::stats()`. The
//! end must not exceed the post-warm-up sample (resident memory within
//! 10% + 4 MiB): caches fill during the warm-up, a leak keeps growing
//! after it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use weft::net::{TcpListener, TcpStream};

const MAX_BYTES: usize = 256 * 1024;

/// A small, fast PRNG (xorshift64*), one per client loop.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// FNV-1a over a byte stream, fed in pieces.
#[derive(Clone, Copy)]
struct Checksum(u64);

impl Checksum {
    fn new() -> Checksum {
        Checksum(0xcbf2_9ce4_8422_2325)
    }

    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The payload of a connection: byte `i` of seed `s`.
fn fill(seed: u64, offset: usize, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate() {
        let x = (offset + i) as u64;
        *b = (x.wrapping_mul(31) ^ seed ^ (x >> 8)) as u8;
    }
}

#[derive(Default)]
struct Counters {
    echoed: AtomicUsize,
    reset: AtomicUsize,
    cancelled: AtomicUsize,
    bytes: AtomicU64,
    /// Failures that must not happen: checksum mismatches, unexpected
    /// errors on a connection that was not reset or cancelled.
    bad: AtomicUsize,
}

/// Cancels the coroutine when dropped: the writer half of a connection
/// must not outlive its client (if the client is cancelled, nobody would
/// read the echo and the writer would wait forever).
struct CancelOnDrop(Option<weft::JoinHandle<io::Result<()>>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(h) = &self.0 {
            h.cancel();
        }
    }
}

/// One full echo: send `len` bytes from a second coroutine while reading
/// the echo here, then compare checksums.
fn echo_once(addr: SocketAddr, seed: u64, len: usize) -> io::Result<bool> {
    let mut stream = TcpStream::connect(addr)?;
    let mut writer = stream.try_clone()?;
    let sent = weft::spawn(move || -> io::Result<()> {
        let mut buf = [0u8; 8192];
        let mut offset = 0;
        while offset < len {
            let n = buf.len().min(len - offset);
            fill(seed, offset, &mut buf[..n]);
            writer.write_all(&buf[..n])?;
            offset += n;
        }
        writer.shutdown(Shutdown::Write)
    });
    let mut sent = CancelOnDrop(Some(sent));
    let mut expected = Checksum::new();
    let mut buf = [0u8; 8192];
    let mut offset = 0;
    while offset < len {
        let n = buf.len().min(len - offset);
        fill(seed, offset, &mut buf[..n]);
        expected.feed(&buf[..n]);
        offset += n;
    }
    let mut got = Checksum::new();
    let mut received = 0;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got.feed(&buf[..n]);
        received += n;
    }
    match sent.0.take().expect("joined once").join() {
        Ok(result) => result?,
        Err(_) => return Err(io::Error::other("writer failed")),
    }
    Ok(received == len && got.0 == expected.0)
}

/// Sends part of a payload, then resets the connection.
fn reset_once(addr: SocketAddr, seed: u64, len: usize) -> io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    let mut buf = vec![0u8; len.min(8192)];
    fill(seed, 0, &mut buf);
    stream.write_all(&buf)?;
    socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO))?;
    Ok(())
}

/// One client loop: connections until `until`.
fn client_loop(addr: SocketAddr, seed: u64, until: Instant, counters: Arc<Counters>) {
    let mut rng = Rng(seed | 1);
    while Instant::now() < until {
        let len = rng.below(MAX_BYTES as u64) as usize + 1;
        let conn_seed = rng.next();
        match rng.below(10) {
            0 => {
                if reset_once(addr, conn_seed, len).is_ok() {
                    counters.reset.fetch_add(1, Ordering::Relaxed);
                } else {
                    counters.bad.fetch_add(1, Ordering::Relaxed);
                }
            }
            1 => {
                let h = weft::spawn(move || echo_once(addr, conn_seed, len));
                weft::sleep(Duration::from_micros(rng.below(2000)));
                h.cancel();
                match h.join() {
                    Ok(Ok(true)) => {
                        counters.echoed.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Ok(false)) => {
                        counters.bad.fetch_add(1, Ordering::Relaxed);
                    }
                    // An error after a cancel: the cancel interrupted it.
                    Ok(Err(_)) => {
                        counters.cancelled.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(payload) if payload.is::<weft::Cancelled>() => {
                        counters.cancelled.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(payload) => std::panic::resume_unwind(payload),
                }
            }
            _ => match echo_once(addr, conn_seed, len) {
                Ok(true) => {
                    counters.echoed.fetch_add(1, Ordering::Relaxed);
                    counters.bytes.fetch_add(len as u64, Ordering::Relaxed);
                }
                Ok(false) => {
                    eprintln!("soak: checksum mismatch ({len} bytes)");
                    counters.bad.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    eprintln!("soak: echo failed: {e}");
                    counters.bad.fetch_add(1, Ordering::Relaxed);
                }
            },
        }
    }
}

/// The echo server: a coroutine per connection, echoing until EOF or an
/// error (a reset peer).
fn serve(listener: TcpListener, handlers: Arc<AtomicUsize>) {
    for conn in listener.incoming() {
        let mut conn = match conn {
            Ok(conn) => conn,
            Err(e) => {
                eprintln!("soak: accept: {e}");
                weft::sleep(Duration::from_millis(5));
                continue;
            }
        };
        handlers.fetch_add(1, Ordering::Relaxed);
        let handlers = handlers.clone();
        weft::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 || conn.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            handlers.fetch_sub(1, Ordering::Relaxed);
        });
    }
}

/// What is sampled at the start, after warm-up and at the end.
#[derive(Clone, Copy, Debug)]
struct Sample {
    fds: usize,
    rss_kib: u64,
    coroutines: usize,
    stats: weft::Stats,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn sample(label: &str, handlers: &AtomicUsize) -> Sample {
    // Let the server's handlers see their clients' EOFs, and give the
    // workers time to trim after the burst (the same wait every time).
    let start = Instant::now();
    while handlers.load(Ordering::Relaxed) > 0 && start.elapsed() < Duration::from_secs(10) {
        weft::sleep(Duration::from_millis(10));
    }
    weft::sleep(Duration::from_millis(1500));
    let s = Sample {
        fds: std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()),
        rss_kib: rss_kib(),
        coroutines: weft::dump().coroutines().count(),
        stats: weft::stats(),
    };
    println!(
        "{label:>6}: fds {:>4}  rss {:>7} KiB  coroutines {:>3}  stacks in use {:>3} hot {:>3} \
         cold {:>4} mapped {:>5} MiB  io registrations {:>3} pending release {:>3}  timers {:>3}",
        s.fds,
        s.rss_kib,
        s.coroutines,
        s.stats.stacks_in_use,
        s.stats.stacks_hot,
        s.stats.stacks_cold,
        s.stats.stack_bytes_mapped >> 20,
        s.stats.io_registrations,
        s.stats.io_pending_release,
        s.stats.timers_armed,
    );
    s
}

/// The growth checks: `end` against the post-warm-up sample `mid`.
fn growth(mid: &Sample, end: &Sample) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |what: &str, mid: u64, end: u64, allowed: u64| {
        if end > allowed {
            problems.push(format!("{what} grew: {mid} -> {end} (allowed {allowed})"));
        }
    };
    check(
        "descriptors",
        mid.fds as u64,
        end.fds as u64,
        mid.fds as u64,
    );
    check(
        "resident memory (KiB)",
        mid.rss_kib,
        end.rss_kib,
        mid.rss_kib + mid.rss_kib / 10 + 4096,
    );
    check(
        "live coroutines",
        mid.coroutines as u64,
        end.coroutines as u64,
        mid.coroutines as u64,
    );
    check(
        "stacks in use",
        mid.stats.stacks_in_use as u64,
        end.stats.stacks_in_use as u64,
        mid.stats.stacks_in_use as u64,
    );
    check(
        "io registrations",
        mid.stats.io_registrations as u64,
        end.stats.io_registrations as u64,
        mid.stats.io_registrations as u64,
    );
    check(
        "armed timers",
        mid.stats.timers_armed as u64,
        end.stats.timers_armed as u64,
        mid.stats.timers_armed as u64,
    );
    // Address space grows with the peak number of coroutines alive at once,
    // which varies a little from phase to phase: a leak would be steady.
    check(
        "stack address space (MiB)",
        (mid.stats.stack_bytes_mapped >> 20) as u64,
        (end.stats.stack_bytes_mapped >> 20) as u64,
        ((2 * mid.stats.stack_bytes_mapped) >> 20) as u64,
    );
    problems
}

fn arg(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} takes a number"))
    })
}

fn main() -> ExitCode {
    let secs = arg("--secs").unwrap_or(30);
    let clients = arg("--clients").unwrap_or(64);
    let warm_up = Duration::from_secs(secs / 3).min(Duration::from_secs(60));
    let run_for = Duration::from_secs(secs);

    let counters = Arc::new(Counters::default());
    let c = counters.clone();
    let problems = weft::run(move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handlers = Arc::new(AtomicUsize::new(0));
        let h = handlers.clone();
        weft::spawn(move || serve(listener, h));
        sample("start", &handlers);
        let started = Instant::now();
        let phase = |until: Instant, salt: u64| {
            let loops: Vec<_> = (0..clients)
                .map(|i| {
                    let c = c.clone();
                    weft::spawn(move || client_loop(addr, (i + 1) * 7919 + salt, until, c))
                })
                .collect();
            for l in loops {
                l.join().unwrap();
            }
        };
        phase(started + warm_up, 0);
        let mid = sample("warm", &handlers);
        phase(started + run_for, 1 << 32);
        let end = sample("end", &handlers);
        growth(&mid, &end)
    });
    println!(
        "{secs} s, {clients} clients: {} echoed ({} MiB), {} reset, {} cancelled, {} bad",
        counters.echoed.load(Ordering::Relaxed),
        counters.bytes.load(Ordering::Relaxed) >> 20,
        counters.reset.load(Ordering::Relaxed),
        counters.cancelled.load(Ordering::Relaxed),
        counters.bad.load(Ordering::Relaxed),
    );
    let bad = counters.bad.load(Ordering::Relaxed);
    if bad > 0 {
        eprintln!("soak: FAILED: {bad} connections went wrong");
        return ExitCode::FAILURE;
    }
    if !problems.is_empty() {
        for p in problems {
            eprintln!("soak: FAILED: {p}");
        }
        return ExitCode::FAILURE;
    }
    println!("soak: OK, flat after warm-up");
    ExitCode::SUCCESS
}
