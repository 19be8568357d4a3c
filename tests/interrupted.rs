//! A blocking weft socket call on a plain thread ends with
//! `ErrorKind::Interrupted` when a signal handler without `SA_RESTART`
//! runs, as std's does, and keeps waiting after one with `SA_RESTART`.
//! Each scenario runs against std's socket too, so the expectations are
//! std's, on this kernel.
//!
//! Signal dispositions are process-wide: this file has one test, which
//! installs its handlers in order.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::os::unix::thread::JoinHandleExt;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

static HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_usr1(_: libc::c_int) {
    HANDLED.fetch_add(1, Ordering::SeqCst);
}

fn install_usr1(flags: libc::c_int) {
    // SAFETY: a zeroed sigaction is valid; the handler only touches an
    // atomic, which is async-signal-safe.
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = on_usr1 as *const () as usize;
        act.sa_flags = flags;
        libc::sigemptyset(&mut act.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &act, ptr::null_mut()), 0);
    }
}

/// A connected pair: (client, server side), std's types.
fn pair() -> (std::net::TcpStream, std::net::TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// Blocks a fresh thread in `read` on `reader` (through `read`), signals
/// it with SIGUSR1 until it returns or `patience` passes; then, if it is
/// still blocked, writes a byte through `peer` so it returns. What the
/// read returned, and whether it returned before the byte was written.
fn read_under_signals<R: Read + Send + 'static>(
    mut reader: R,
    mut peer: std::net::TcpStream,
    patience: Duration,
) -> (std::io::Result<usize>, bool) {
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut buf = [0u8; 8];
        let r = reader.read(&mut buf);
        tx.send(()).unwrap();
        r
    });
    let start = std::time::Instant::now();
    let mut early = false;
    while start.elapsed() < patience {
        std::thread::sleep(Duration::from_millis(20));
        // SAFETY: the thread is alive until it is joined below.
        unsafe { libc::pthread_kill(thread.as_pthread_t(), libc::SIGUSR1) };
        if rx.try_recv().is_ok() {
            early = true;
            break;
        }
    }
    if !early {
        peer.write_all(b"x").unwrap();
    }
    (thread.join().unwrap(), early)
}

#[test]
fn plain_thread_reads_are_interrupted_as_std_reads_are() {
    common::with_timeout(60, || {
        let patience = Duration::from_millis(300);
        let weft_pair = || {
            let (client, server) = pair();
            (weft::net::TcpStream::from_std(client), server)
        };

        // SA_RESTART: std restarts the read; weft keeps waiting.
        install_usr1(libc::SA_RESTART);
        let (c, s) = pair();
        let (r, early) = read_under_signals(c, s, patience);
        assert!(!early && r.unwrap() == 1, "std");
        let (c, s) = weft_pair();
        let (r, early) = read_under_signals(c, s, patience);
        assert!(!early, "weft returned early: {r:?}");
        assert_eq!(r.unwrap(), 1);
        assert!(HANDLED.load(Ordering::SeqCst) > 0);

        // SA_RESTART, but the socket has a read timeout: Interrupted.
        let (c, s) = pair();
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (r, early) = read_under_signals(c, s, patience);
        assert!(early, "std");
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Interrupted, "std");
        let (c, s) = weft_pair();
        c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let (r, early) = read_under_signals(c, s, patience);
        assert!(early, "weft kept waiting: {r:?}");
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Interrupted);

        // No SA_RESTART: Interrupted.
        install_usr1(0);
        let (c, s) = pair();
        let (r, early) = read_under_signals(c, s, patience);
        assert!(early, "std");
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Interrupted, "std");
        let (c, s) = weft_pair();
        let (r, early) = read_under_signals(c, s, patience);
        assert!(early, "weft kept waiting: {r:?}");
        assert_eq!(r.unwrap_err().kind(), ErrorKind::Interrupted);

        // accept retries in std, and in weft.
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = std::thread::spawn(move || listener.accept().map(|(_, peer)| peer));
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(20));
            // SAFETY: the thread is alive until it is joined below.
            unsafe { libc::pthread_kill(acceptor.as_pthread_t(), libc::SIGUSR1) };
        }
        let client = std::net::TcpStream::connect(addr).unwrap();
        assert_eq!(
            acceptor.join().unwrap().unwrap(),
            client.local_addr().unwrap()
        );
    });
}
