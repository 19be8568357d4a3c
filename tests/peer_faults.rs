//! What a misbehaving peer can do to a weft socket, each case in three
//! settings: a coroutine on a 2-worker runtime, a coroutine on a 1-worker
//! runtime (where a hang of one coroutine would stop its neighbours too),
//! and a plain thread (std's blocking world). In every case the call
//! returns the error std returns, and the caller goes on.
//!
//! - a peer that resets (`SO_LINGER` 0, then close) while we are parked in
//!   `read`: `ConnectionReset` or EOF;
//! - writes to a reset peer: an error (`BrokenPipe` / `ConnectionReset`),
//!   no hang, and no SIGPIPE death even when SIGPIPE is not ignored;
//! - a writer to a peer that never reads parks until its write timeout,
//!   while a neighbour keeps running;
//! - half-close in each direction;
//! - 1,000 idle connections beside 20 busy ones do not slow the busy ones.

mod common;
mod net_support;

use std::io::{ErrorKind, IoSlice, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};
use net_support::go;
use weft::net::{TcpListener, TcpStream};

/// Runs `body` on a plain thread, then as a coroutine on a 1-worker and on
/// a 2-worker runtime, each bounded by `secs` seconds.
fn three(secs: u64, body: fn()) {
    with_timeout(secs, move || std::thread::spawn(body).join().unwrap());
    with_timeout(secs, move || runtime(1).block_on(body));
    with_timeout(secs, move || runtime(2).block_on(body));
}

/// `three`, telling `body` which setting it runs in.
fn three_named(secs: u64, body: fn(&'static str)) {
    with_timeout(secs, move || {
        std::thread::spawn(move || body("thread")).join().unwrap()
    });
    with_timeout(secs, move || {
        runtime(1).block_on(|| body("1-worker runtime"))
    });
    with_timeout(secs, move || {
        runtime(2).block_on(|| body("2-worker runtime"))
    });
}

/// Sleeps the caller: parks a coroutine, blocks a thread.
fn nap(ms: u64) {
    weft::sleep(Duration::from_millis(ms));
}

/// Makes the next close of `s` send RST instead of FIN.
fn arm_reset(s: &TcpStream) {
    socket2::SockRef::from(s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
}

fn is_reset_or_pipe(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
    )
}

fn reset_mid_read() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let peer = go(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"hello").unwrap();
        let mut ack = [0; 2];
        s.read_exact(&mut ack).unwrap();
        // Give the other side time to park in its next read.
        nap(50);
        arm_reset(&s);
        drop(s);
    });
    let (mut conn, _) = listener.accept().unwrap();
    let mut buf = [0; 5];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");
    conn.write_all(b"ok").unwrap();
    let start = Instant::now();
    match conn.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("read {n} bytes from a reset peer"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
    }
    assert!(
        start.elapsed() >= Duration::from_millis(20),
        "the read waited"
    );
    peer.join();
    // Life goes on: the same listener serves the next peer.
    let next = go(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"again").unwrap();
    });
    let (mut conn, _) = listener.accept().unwrap();
    let mut got = Vec::new();
    conn.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"again");
    next.join();
}

#[test]
fn a_peer_reset_mid_read_gives_reset_or_eof() {
    three(20, reset_mid_read);
}

/// Connects to a peer that resets right after accepting; returns our end
/// once the reset has arrived. Sequential on purpose: a peer that resets
/// while our `connect` is still in flight may make `connect` itself fail
/// with `ConnectionReset` (on a thread as with std).
fn reset_connection() -> TcpStream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut s = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (peer, _) = listener.accept().unwrap();
    arm_reset(&peer);
    drop(peer);
    // Wait for the RST: a read then fails or sees EOF at once.
    let mut buf = [0; 1];
    match s.read(&mut buf) {
        Ok(0) => {}
        Ok(n) => panic!("read {n} bytes from a reset peer"),
        Err(e) => assert!(is_reset_or_pipe(&e), "{e}"),
    }
    s
}

/// Writes (plain and vectored) to a reset peer fail with an error instead
/// of hanging; the connection stays failed.
fn writes_to_reset_peer() {
    let mut s = reset_connection();
    let chunk = [7u8; 1024];
    let mut failures = 0;
    for i in 0..100 {
        let result = if i % 2 == 0 {
            s.write(&chunk)
        } else {
            s.write_vectored(&[IoSlice::new(&chunk), IoSlice::new(&chunk)])
        };
        match result {
            Ok(_) => {}
            Err(e) => {
                assert!(is_reset_or_pipe(&e), "{e}");
                failures += 1;
            }
        }
    }
    assert!(failures >= 98, "only {failures} of 100 writes failed");
    let err = s.write_all(&chunk).unwrap_err();
    assert!(is_reset_or_pipe(&err), "{err}");
}

#[test]
fn writes_to_a_reset_peer_fail() {
    three(20, writes_to_reset_peer);
}

const SIGPIPE_CHILD: &str = "WEFT_PEER_FAULTS_SIGPIPE_CHILD";

/// `write` to a reset peer must not kill a program that did not ignore
/// SIGPIPE (a C host, or a Rust binary built with `-Zon-broken-pipe=kill`):
/// std's `write` sends with `MSG_NOSIGNAL`, and weft's is std's. Runs in a
/// child process with SIGPIPE restored to its default (death).
#[test]
fn writes_to_a_reset_peer_do_not_raise_sigpipe() {
    if std::env::var_os(SIGPIPE_CHILD).is_some() {
        // SAFETY: restoring the default disposition of SIGPIPE; this
        // process runs only this test.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        three(20, || {
            let mut s = reset_connection();
            for _ in 0..10 {
                let _ = s.write(&[1u8; 512]);
            }
            let err = s.write_all(&[1u8; 512]).unwrap_err();
            assert!(is_reset_or_pipe(&err), "{err}");
        });
        return;
    }
    // The harness, like every Rust `main`, ignores SIGPIPE.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let ignored = status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
        .unwrap();
    assert_ne!(
        ignored & (1 << (libc::SIGPIPE - 1)),
        0,
        "SIGPIPE is ignored"
    );
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "writes_to_a_reset_peer_do_not_raise_sigpipe",
            "--test-threads=1",
        ])
        .env(SIGPIPE_CHILD, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "child: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A writer whose peer never reads fills the buffers and parks until its
/// write timeout; a neighbour keeps running meanwhile.
fn writer_parks_until_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    let (_silent, _) = listener.accept().unwrap();
    let timeout = Duration::from_millis(300);
    s.set_write_timeout(Some(timeout)).unwrap();

    let ticks = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let neighbour = {
        let (ticks, stop) = (ticks.clone(), stop.clone());
        go(move || {
            while !stop.load(Ordering::SeqCst) {
                ticks.fetch_add(1, Ordering::SeqCst);
                nap(5);
            }
        })
    };
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0usize;
    let (err, blocked_for) = loop {
        let start = Instant::now();
        match s.write(&chunk) {
            Ok(n) => written += n,
            Err(e) => break (e, start.elapsed()),
        }
        assert!(written < 1 << 30, "the buffers never filled");
    };
    let ticks_seen = ticks.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    neighbour.join();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );
    assert!(blocked_for >= timeout, "gave up after {blocked_for:?}");
    assert!(
        blocked_for < timeout * 20,
        "the timeout fired late: {blocked_for:?}"
    );
    // About 60 ticks fit in the timeout; a parked writer lets them run.
    assert!(
        ticks_seen >= 10,
        "the neighbour ran only {ticks_seen} times"
    );
}

#[test]
fn a_writer_to_a_silent_peer_parks_until_its_timeout() {
    three(20, writer_parks_until_timeout);
}

/// Client closes its write half: the server reads EOF and can still
/// answer; then the server closes its write half first while the client
/// keeps sending.
fn half_close_both_ways() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = go(move || {
        // 1: the client shuts its write half; we read to EOF, then reply.
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"request");
        conn.write_all(b"response").unwrap();
        drop(conn);
        // 2: we shut our write half first; the client still sends.
        let (mut conn, _) = listener.accept().unwrap();
        conn.write_all(b"bye").unwrap();
        conn.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), 100_000);
        assert!(got.iter().all(|&b| b == 9));
    });

    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(b"request").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let err = c.write_all(b"more").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe, "{err}");
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"response");

    let mut c = TcpStream::connect(addr).unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"bye");
    // Our write half is still open, for more than the buffers hold.
    c.write_all(&vec![9u8; 100_000]).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    server.join();

    // Closing our own read half: a read returns EOF at once.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_conn, _) = listener.accept().unwrap();
    c.shutdown(Shutdown::Read).unwrap();
    assert_eq!(c.read(&mut [0; 8]).unwrap(), 0);
}

#[test]
fn half_close_in_each_direction() {
    three(20, half_close_both_ways);
}

const IDLE: usize = 1_000;
const BUSY: usize = 20;
const ROUND_TRIPS: usize = 500;

/// `BUSY` connections each do `ROUND_TRIPS` echo round trips of 64 bytes
/// at once; returns how long the slowest took.
fn busy_round(addr: std::net::SocketAddr) -> Duration {
    let start = Instant::now();
    let clients: Vec<_> = (0..BUSY)
        .map(|i| {
            go(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                let mut msg = [i as u8; 64];
                let mut back = [0u8; 64];
                for r in 0..ROUND_TRIPS {
                    msg[0] = r as u8;
                    s.write_all(&msg).unwrap();
                    s.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg);
                }
            })
        })
        .collect();
    for c in clients {
        c.join();
    }
    start.elapsed()
}

/// An echo server: every accepted connection gets its own coroutine (or
/// thread) that echoes until EOF.
fn echo_server(listener: TcpListener, accepted: Arc<AtomicUsize>) {
    loop {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        accepted.fetch_add(1, Ordering::SeqCst);
        go(move || {
            let mut buf = [0u8; 4096];
            loop {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if conn.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

fn idle_beside_busy(setting: &str) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = listener.try_clone().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let server = {
        let accepted = accepted.clone();
        go(move || echo_server(listener, accepted))
    };

    let alone = busy_round(addr);
    // Idle connections, each with its reader parked on the server side.
    // Connect no faster than the server accepts: a full accept queue
    // drops SYNs, and each retransmit costs a second.
    let mut idle = Vec::with_capacity(IDLE);
    for i in 0..IDLE {
        while i > accepted.load(Ordering::SeqCst) + 64 {
            nap(1);
        }
        idle.push(TcpStream::connect(addr).unwrap());
    }
    while accepted.load(Ordering::SeqCst) < BUSY + IDLE {
        nap(1);
    }
    let beside_idle = busy_round(addr);
    eprintln!(
        "{setting}: {BUSY} busy connections x {ROUND_TRIPS} round trips: alone {alone:?}, \
         beside {IDLE} idle ones {beside_idle:?}"
    );
    // A generous bound; the figures above are what to look at.
    assert!(
        beside_idle < alone * 5 + Duration::from_millis(500),
        "idle connections slowed the busy ones: {alone:?} -> {beside_idle:?}"
    );
    drop(idle);
    // Stop the acceptor: shut the listener's socket down for reading (a
    // parked accept then fails or returns), and nudge it with a connect.
    socket2::SockRef::from(&stop)
        .shutdown(Shutdown::Read)
        .unwrap();
    let _ = TcpStream::connect(addr);
    server.join();
}

#[test]
fn idle_connections_do_not_slow_busy_ones() {
    net_support::raise_fd_limit(4 * IDLE as u64 + 1024);
    three_named(60, idle_beside_busy);
}
