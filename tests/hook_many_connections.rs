//! A server written against `std::net` only (`std::net::TcpListener` and
//! `weft::spawn`), with the `hook` feature, holds 10,000 concurrent
//! connections on 2 workers.
//!
//! The clients run in a child process (this same binary, started with
//! `WEFT_HOOK_CLIENT_OF` set): 10,000 connections need 20,000 descriptors
//! on one machine, more than one process may open here. Custom harness
//! (`harness = false`) so that the binary can be its own client.
#![cfg(feature = "hook")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 10_000;
const CLIENT_ENV: &str = "WEFT_HOOK_CLIENT_OF";

fn raise_fd_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid rlimit buffers.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        assert!(
            limit.rlim_max >= needed,
            "the hard descriptor limit ({}) is below the {needed} this test needs",
            limit.rlim_max
        );
        limit.rlim_cur = limit.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

fn runtime() -> weft::Runtime {
    weft::Runtime::builder().workers(2).build().unwrap()
}

/// Kills the whole test if it runs past `secs`: every wait is bounded.
fn deadline(secs: u64, what: &'static str) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(secs));
        eprintln!("{what}: timed out after {secs} s");
        std::process::exit(2);
    });
}

fn main() {
    match std::env::var(CLIENT_ENV) {
        Ok(addr) => client(addr.parse().unwrap()),
        Err(_) => server(),
    }
}

/// Opens every connection, echoes once on each, waits until all are open
/// at once, echoes again on each, and closes them.
fn client(addr: SocketAddr) {
    deadline(170, "client");
    raise_fd_limit(CONNECTIONS as u64 + 100);
    let rt = runtime();
    rt.block_on(move || {
        let connecting = Arc::new(weft::sync::Semaphore::new(256));
        let all_open = Arc::new(weft::sync::Barrier::new(CONNECTIONS));
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|i| {
                let connecting = connecting.clone();
                let all_open = all_open.clone();
                weft::spawn(move || {
                    let permit = connecting.acquire();
                    let mut stream = TcpStream::connect(addr).unwrap();
                    let msg = (i as u64).to_le_bytes();
                    let mut back = [0u8; 8];
                    stream.write_all(&msg).unwrap();
                    stream.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg);
                    drop(permit);
                    all_open.wait();
                    stream.write_all(&msg).unwrap();
                    stream.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg);
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
    });
    println!("clients done: {CONNECTIONS}");
}

fn server() {
    deadline(180, "server");
    raise_fd_limit(CONNECTIONS as u64 + 100);
    let rt = runtime();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let live = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let served = Arc::new(AtomicUsize::new(0));
    let (l, m, s) = (live.clone(), most.clone(), served.clone());
    let start = Instant::now();
    rt.block_on(move || {
        assert!(weft::hook::active());
        // std::net only: every accept, read and write below parks.
        weft::spawn(move || {
            for stream in listener.incoming() {
                // ECANCELED when the runtime shuts down at the end.
                let Ok(mut stream) = stream else { break };
                let (live, most, served) = (l.clone(), m.clone(), s.clone());
                weft::spawn(move || {
                    let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let mut buf = [0u8; 64];
                    loop {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                stream.write_all(&buf[..n]).unwrap();
                                served.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                    live.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
    });
    let child = Command::new(std::env::current_exe().unwrap())
        .env(CLIENT_ENV, addr.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let elapsed = start.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "client failed: {:?}",
        output.status
    );
    assert!(stdout.contains("clients done: 10000"), "{stdout}");
    // Every connection was open at once, served by 2 workers.
    assert_eq!(most.load(Ordering::SeqCst), CONNECTIONS);
    // Each echoed twice (the server counts after its write).
    let deadline = Instant::now() + Duration::from_secs(10);
    while served.load(Ordering::SeqCst) < 2 * CONNECTIONS {
        assert!(
            Instant::now() < deadline,
            "served {}",
            served.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    println!(
        "hook_many_connections: {CONNECTIONS} concurrent std::net connections on 2 workers in {elapsed:?}: ok"
    );
    drop(rt);
}
