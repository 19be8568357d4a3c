//! What the `hook` feature costs, in two measurements:
//!
//! - `MODE=pipe`: a plain thread writes and reads one byte on a pipe, N
//!   times; prints ns per call. Run it with and without the feature: the
//!   difference is the pass-through cost (one thread-local load per call).
//!
//!   `cargo run --release --example hook_overhead` and
//!   `cargo run --release --features hook --example hook_overhead`
//!
//! - `MODE=std` / `MODE=weft`: an echo server on a 2-worker runtime,
//!   written against `std::net` (parked by the hook; needs
//!   `--features hook`) or against `weft::net`, with `CONNS` plain-thread
//!   clients doing `ROUNDS` 64-byte round trips each over blocking std
//!   sockets. Prints the *server's* CPU time per round trip: the
//!   process's CPU time minus what the client threads used.
//!
//!   `MODE=std cargo run --release --features hook --example hook_overhead`
//!   `MODE=weft cargo run --release --features hook --example hook_overhead`

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn cpu(who: libc::c_int) -> Duration {
    // SAFETY: an all-zero rusage is valid for the kernel to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, exclusively borrowed buffer.
    unsafe { libc::getrusage(who, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn main() {
    let mode = std::env::var("MODE").unwrap_or_else(|_| "pipe".into());
    #[cfg(feature = "hook")]
    let hooked = weft::hook::active();
    #[cfg(not(feature = "hook"))]
    let hooked = false;
    match mode.as_str() {
        "pipe" => pipe(hooked),
        "std" | "weft" => {
            if mode == "std" && !hooked {
                eprintln!("MODE=std needs --features hook (std sockets would block the workers)");
                std::process::exit(1);
            }
            echo(&mode, hooked);
        }
        other => panic!("unknown MODE {other}"),
    }
}

fn pipe(hooked: bool) {
    let n = env("N", 2_000_000);
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let mut byte = [7u8; 1];
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..n {
            // SAFETY: valid one-byte buffers on an open pipe.
            unsafe {
                libc::write(fds[1], byte.as_ptr().cast(), 1);
                libc::read(fds[0], byte.as_mut_ptr().cast(), 1);
            }
        }
        let per_call = start.elapsed().as_nanos() as f64 / (2 * n) as f64;
        best = best.min(per_call);
    }
    println!(
        "pipe, plain thread, hook linked in: {hooked}: {best:.1} ns per read or write (best of 5 x {n} pairs)"
    );
}

fn echo(mode: &str, hooked: bool) {
    let conns = env("CONNS", 50);
    let rounds = env("ROUNDS", 20_000);
    let rt = weft::Runtime::builder().workers(2).build().unwrap();
    let addr: SocketAddr = if mode == "std" {
        rt.block_on(|| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            weft::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { return };
                    stream.set_nodelay(true).unwrap();
                    weft::spawn(move || echo_loop(&mut stream));
                }
            });
            addr
        })
    } else {
        rt.block_on(|| {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            weft::spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { return };
                    stream.set_nodelay(true).unwrap();
                    weft::spawn(move || echo_loop(&mut stream));
                }
            });
            addr
        })
    };
    let go = Arc::new(Barrier::new(conns + 1));
    let clients: Vec<_> = (0..conns)
        .map(|_| {
            let go = go.clone();
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                let mut buf = [1u8; 64];
                go.wait();
                let before = cpu(libc::RUSAGE_THREAD);
                for _ in 0..rounds {
                    s.write_all(&buf).unwrap();
                    s.read_exact(&mut buf).unwrap();
                }
                cpu(libc::RUSAGE_THREAD) - before
            })
        })
        .collect();
    // Connections accepted; start everyone at once.
    std::thread::sleep(Duration::from_millis(200));
    let process_before = cpu(libc::RUSAGE_SELF);
    let start = Instant::now();
    go.wait();
    let client_cpu: Duration = clients.into_iter().map(|c| c.join().unwrap()).sum();
    let wall = start.elapsed();
    let server_cpu = (cpu(libc::RUSAGE_SELF) - process_before).saturating_sub(client_cpu);
    let trips = (conns * rounds) as f64;
    println!(
        "echo MODE={mode} (hook linked in: {hooked}): {conns} conns x {rounds} round trips in {:.2} s; \
         server CPU {:.2} us per round trip, {:.0} round trips/s",
        wall.as_secs_f64(),
        server_cpu.as_secs_f64() * 1e6 / trips,
        trips / wall.as_secs_f64()
    );
}

fn echo_loop<S: Read + Write>(stream: &mut S) {
    let mut buf = [0u8; 256];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}
