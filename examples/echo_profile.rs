//! The `tcp_echo` bench workload (benches/net.rs) without criterion, for
//! profiling (perf, strace, cachegrind) a fixed amount of work:
//! `MODE=weft|tokio CONNS=100 ROUNDS=50 WEFT_BENCH_WORKERS=2 cargo run
//! --release --example echo_profile`. Prints throughput and the process's
//! user and system CPU time per round trip over the measured rounds (less
//! sensitive to a noisy machine than wall time), and for weft how many
//! coroutines each worker resumed and where client and server coroutines
//! ran.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Mutex;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PER_CONN: usize = 16 * 1024;
const WRITE: usize = 1024;

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
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                weft::spawn(move || {
                    note("server");
                    s.set_nodelay(true).unwrap();
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        let mut streams: Vec<_> = rt.block_on(|| {
            (0..conns)
                .map(|_| weft::net::TcpStream::connect(addr).unwrap())
                .collect()
        });
        mark();
        start = Instant::now();
        for _ in 0..rounds {
            let taken = std::mem::take(&mut streams);
            streams = rt.block_on(move || {
                let hs: Vec<_> = taken
                    .into_iter()
                    .map(|mut s| {
                        weft::spawn(move || {
                            note("client");
                            let out = [1u8; WRITE];
                            let mut back = [0u8; WRITE];
                            for _ in 0..PER_CONN / WRITE {
                                s.write_all(&out).unwrap();
                                s.read_exact(&mut back).unwrap();
                            }
                            s
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).collect()
            });
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
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move {
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    s.set_nodelay(true).unwrap();
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if s.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
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
            streams = rt.block_on(async move {
                let hs: Vec<_> = taken
                    .into_iter()
                    .map(|mut s| {
                        tokio::spawn(async move {
                            let out = [1u8; WRITE];
                            let mut back = [0u8; WRITE];
                            for _ in 0..PER_CONN / WRITE {
                                s.write_all(&out).await.unwrap();
                                s.read_exact(&mut back).await.unwrap();
                            }
                            s
                        })
                    })
                    .collect();
                let mut back = Vec::with_capacity(hs.len());
                for h in hs {
                    back.push(h.await.unwrap());
                }
                back
            });
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
