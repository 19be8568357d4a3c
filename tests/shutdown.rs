//! Shutdown with everything parked: 10,000 coroutines wait in `accept`,
//! `read`, `write` (to a peer that never reads), `sleep`, `join`, channel
//! `recv` and `Mutex::lock` when `Runtime::shutdown` is called. It must
//! return promptly (the bound below is only a hang guard; the time is
//! printed), every coroutine's destructors must have run exactly once,
//! every descriptor they owned must be closed (`/proc/self/fd` back to its
//! baseline) and no worker or watchdog thread may be left
//! (`/proc/self/task`).
//!
//! Alone in its binary: it counts the process's descriptors and threads,
//! which other tests running beside it would disturb.

mod common;
mod net_support;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::with_timeout;
use weft::net::{TcpListener, TcpStream};

/// Coroutines per kind of wait.
const ACCEPTERS: usize = 2_000;
const LISTENERS: usize = 20;
const READERS: usize = 2_000;
const WRITERS: usize = 1_000;
const SLEEPERS: usize = 1_000;
/// Each joiner joins its own parked coroutine: two coroutines per pair.
const JOIN_PAIRS: usize = 1_000;
const RECEIVERS: usize = 1_000;
/// Waiters on each of `MUTEXES` mutexes, whose first locker holds it.
const LOCKERS: usize = 1_000;
const MUTEXES: usize = 10;

/// Counts its own drop, once per coroutine index: a second drop of the
/// same guard (or none at all) shows in `DROPS`.
struct DropGuard {
    index: usize,
    drops: Arc<Vec<AtomicU8>>,
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.drops[self.index].fetch_add(1, Ordering::SeqCst);
    }
}

/// Hands out the guards, one index per coroutine.
struct Guards {
    drops: Arc<Vec<AtomicU8>>,
    next: AtomicUsize,
}

impl Guards {
    fn new(n: usize) -> Guards {
        Guards {
            drops: Arc::new((0..n).map(|_| AtomicU8::new(0)).collect()),
            next: AtomicUsize::new(0),
        }
    }

    fn guard(&self) -> DropGuard {
        let index = self.next.fetch_add(1, Ordering::Relaxed);
        assert!(index < self.drops.len(), "more guards than planned");
        DropGuard {
            index,
            drops: self.drops.clone(),
        }
    }

    /// Panics unless every guard handed out was dropped exactly once.
    fn assert_each_dropped_once(&self) {
        let handed = self.next.load(Ordering::SeqCst);
        assert_eq!(handed, self.drops.len(), "every coroutine got a guard");
        let bad: Vec<(usize, u8)> = self
            .drops
            .iter()
            .enumerate()
            .map(|(i, d)| (i, d.load(Ordering::SeqCst)))
            .filter(|&(_, n)| n != 1)
            .collect();
        assert!(
            bad.is_empty(),
            "{} guards not dropped exactly once, first: {:?}",
            bad.len(),
            &bad[..bad.len().min(10)]
        );
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
        .map(|s| s.trim_end().to_string())
        .collect()
}

fn weft_threads() -> Vec<String> {
    thread_names()
        .into_iter()
        .filter(|n| n.starts_with("weft-") || n.starts_with("shutdown-w"))
        .collect()
}

/// A connected loopback pair made with std: (the side a coroutine uses,
/// the peer). The send buffer of the first is made small so a writer
/// fills it quickly.
fn pair(
    listener: &std::net::TcpListener,
    addr: SocketAddr,
) -> (std::net::TcpStream, std::net::TcpStream) {
    let client = std::net::TcpStream::connect(addr).unwrap();
    let (server, _) = listener.accept().unwrap();
    socket2::SockRef::from(&client)
        .set_send_buffer_size(4096)
        .unwrap();
    (client, server)
}

/// Waits until `n` coroutines are parked (or panics after a while).
fn wait_parked(n: usize) {
    let start = Instant::now();
    loop {
        let parked = weft::dump()
            .coroutines()
            .filter(|c| c.state == weft::CoroutineState::Parked)
            .count();
        if parked >= n {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "only {parked} of {n} coroutines parked"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn shutdown_with_10k_parked_coroutines_cleans_up_everything() {
    net_support::raise_fd_limit(19_000);
    with_timeout(120, shutdown_everything_parked);
}

fn shutdown_everything_parked() {
    let fd_baseline = open_fds();
    assert!(weft_threads().is_empty(), "{:?}", weft_threads());
    let thread_baseline = thread_names().len();

    let total = ACCEPTERS + READERS + WRITERS + SLEEPERS + 2 * JOIN_PAIRS + RECEIVERS + LOCKERS;
    let guards = Arc::new(Guards::new(total));
    let rt = weft::Runtime::builder()
        .workers(2)
        .thread_name("shutdown-w")
        // The watchdog thread must go too.
        .stall_threshold(Some(Duration::from_secs(10)))
        .build()
        .unwrap();
    // A new thread names itself once it runs: wait for that.
    let start = Instant::now();
    while !thread_names().iter().any(|n| n == "weft-watchdog") {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no watchdog thread"
        );
        std::thread::sleep(Duration::from_millis(5));
    }

    let mut handles = Vec::with_capacity(total);

    // accept: several coroutines share each listener.
    for _ in 0..LISTENERS {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        for _ in 0..ACCEPTERS / LISTENERS {
            let (listener, guard) = (listener.clone(), guards.guard());
            handles.push(rt.spawn(move || {
                let _guard = guard;
                let conn = listener.accept();
                panic!("accept returned: {:?}", conn.map(|c| c.1));
            }));
        }
    }

    // read and write: each coroutine owns both ends of its connection.
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    for _ in 0..READERS {
        let (mine, peer) = pair(&std_listener, addr);
        let guard = guards.guard();
        handles.push(rt.spawn(move || {
            let _guard = guard;
            let _peer = peer;
            let mut mine = TcpStream::from_std(mine);
            let mut buf = [0u8; 64];
            let n = mine.read(&mut buf);
            panic!("read returned {n:?}");
        }));
    }
    for _ in 0..WRITERS {
        let (mine, peer) = pair(&std_listener, addr);
        let guard = guards.guard();
        handles.push(rt.spawn(move || {
            let _guard = guard;
            let _peer = peer; // never reads
            let mut mine = TcpStream::from_std(mine);
            let chunk = [0x5au8; 16 * 1024];
            loop {
                mine.write_all(&chunk).unwrap();
            }
        }));
    }
    drop(std_listener);

    for _ in 0..SLEEPERS {
        let guard = guards.guard();
        handles.push(rt.spawn(move || {
            let _guard = guard;
            weft::sleep(Duration::from_secs(3600));
        }));
    }

    for _ in 0..JOIN_PAIRS {
        let (g1, g2) = (guards.guard(), guards.guard());
        let parked = rt.spawn(move || {
            let _guard = g1;
            loop {
                weft::park();
            }
        });
        handles.push(rt.spawn(move || {
            let _guard = g2;
            let result = parked.join();
            assert!(
                result.unwrap_err().is::<weft::Cancelled>(),
                "the joined coroutine was cancelled too"
            );
        }));
    }

    for _ in 0..RECEIVERS {
        let guard = guards.guard();
        handles.push(rt.spawn(move || {
            let _guard = guard;
            let (tx, rx) = weft::sync::mpsc::channel::<u64>();
            let _keep_open = tx;
            let got = rx.recv();
            panic!("recv returned {got:?}");
        }));
    }

    for _ in 0..MUTEXES {
        let mutex = Arc::new(weft::sync::Mutex::new(0u64));
        for _ in 0..LOCKERS / MUTEXES {
            let (mutex, guard) = (mutex.clone(), guards.guard());
            handles.push(rt.spawn(move || {
                let _guard = guard;
                // The first holds the lock while parked; the rest wait.
                let mut held = mutex.lock().unwrap();
                *held += 1;
                loop {
                    weft::park();
                }
            }));
        }
    }

    wait_parked(total);
    let fds_parked = open_fds();
    assert!(
        fds_parked >= fd_baseline + 2 * (READERS + WRITERS) + LISTENERS,
        "the coroutines hold their sockets: {fds_parked} fds, baseline {fd_baseline}"
    );

    let start = Instant::now();
    rt.shutdown();
    let took = start.elapsed();
    eprintln!(
        "shutdown of {total} parked coroutines ({ACCEPTERS} accept, {READERS} read, \
         {WRITERS} write, {SLEEPERS} sleep, {JOIN_PAIRS} join + {JOIN_PAIRS} park, \
         {RECEIVERS} channel recv, {LOCKERS} Mutex lock): {took:?}"
    );
    // A hang guard only; the figure above is what counts.
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");

    for h in handles {
        let err = h.join().expect_err("every coroutine was cancelled");
        assert!(err.is::<weft::Cancelled>(), "a coroutine failed otherwise");
    }
    guards.assert_each_dropped_once();
    assert_eq!(open_fds(), fd_baseline, "descriptors leaked");
    assert!(
        weft_threads().is_empty(),
        "threads left: {:?}",
        weft_threads()
    );
    assert_eq!(thread_names().len(), thread_baseline);
    // Shutdown, not leaking, is what closed the sockets: a fresh pair
    // shows the descriptor count still moves as expected.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    c.shutdown(Shutdown::Both).unwrap();
    assert_eq!(open_fds(), fd_baseline + 2);
}
