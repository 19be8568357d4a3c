//! Helpers for the socket tests: run one behaviour both from a plain
//! thread and inside coroutines, and start a peer the same way.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `body` on a plain thread (std's blocking world), then as a
/// coroutine on a 2-worker runtime, each bounded by `secs` seconds.
pub fn both(secs: u64, body: fn()) {
    super::common::with_timeout(secs, move || {
        std::thread::spawn(body).join().unwrap();
    });
    super::common::with_timeout(secs, move || {
        super::common::runtime(2).block_on(body);
    });
}

/// A peer task: a coroutine when started from one, else a thread.
pub enum Peer<T> {
    Thread(std::thread::JoinHandle<T>),
    Coroutine(weft::JoinHandle<T>),
}

/// Starts `f` like the caller runs: as a coroutine from a coroutine, as a
/// thread from a thread.
pub fn go<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Peer<T> {
    if weft::in_coroutine() {
        Peer::Coroutine(weft::spawn(f))
    } else {
        Peer::Thread(std::thread::spawn(f))
    }
}

impl<T> Peer<T> {
    /// Waits for the peer and returns its result (panics if it panicked).
    pub fn join(self) -> T {
        match self {
            Peer::Thread(h) => h.join().unwrap(),
            Peer::Coroutine(h) => h.join().unwrap(),
        }
    }
}

/// A fresh, empty directory under the system temp dir for socket files.
pub fn temp_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("weft-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Raises the soft open-file limit to at least `needed` (up to the hard
/// limit), for tests that open thousands of sockets; panics with a clear
/// message if the hard limit is too low.
pub fn raise_fd_limit(needed: u64) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the valid struct we pass.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    if limit.rlim_cur >= needed {
        return;
    }
    assert!(
        limit.rlim_max >= needed,
        "this test needs {needed} open files; the hard limit is {}",
        limit.rlim_max
    );
    limit.rlim_cur = needed;
    // SAFETY: setrlimit reads the valid struct we pass.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
}
