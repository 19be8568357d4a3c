//! Cancel storms: rounds of thousands of coroutines parked on sockets
//! (read, with and without a timeout, write to a full buffer, accept), timers (sleep), joins, channel
//! `recv` and `Mutex::lock`, each
//! cancelled at a random moment (before it starts, while it starts, while
//! parked). After every round nothing may be left behind: every
//! coroutine's destructors ran, its stack went back to the pool, its
//! sockets closed, their poller registrations were released and their
//! timers disarmed (`weft::stats()` and `/proc/self/fd` back to their baseline); and the
//! sockets that survive the storm still work.
//!
//! Alone in its binary: it counts the process's descriptors.

mod common;
mod net_support;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};
use weft::net::{TcpListener, TcpStream};
use weft::os::unix::net::UnixStream;

const ROUNDS: usize = 6;
const PER_ROUND: usize = 3_000;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Counts drops, to check every coroutine's destructors ran.
struct Dropped(Arc<AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Stops a parked coroutine when dropped.
struct StopOnDrop(Arc<AtomicBool>, weft::Coroutine);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
        self.1.unpark();
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Kinds of parking point a coroutine of the storm waits at.
const KINDS: usize = 8;

/// A coroutine that parks in one of several ways, by `kind`.
fn parker(
    kind: u64,
    listener: Arc<TcpListener>,
    mutex: Arc<weft::sync::Mutex<u64>>,
    dropped: Dropped,
) {
    let _dropped = dropped;
    match kind {
        5 => {
            let (_tx, rx) = weft::sync::mpsc::sync_channel::<u64>(1);
            let _ = rx.recv();
        }
        6 => {
            // The first locker holds the lock while parked, the rest
            // queue; a cancelled holder's unwinding poisons it, as std's.
            let held = mutex.lock().unwrap_or_else(|e| e.into_inner());
            let _held = held;
            loop {
                weft::park();
            }
        }
        0 => {
            let (mut a, _b) = UnixStream::pair().unwrap();
            let _ = a.read(&mut [0; 16]);
        }
        7 => {
            // A timed socket wait: its timer must be disarmed by the
            // unwinding as well.
            let (mut a, _b) = UnixStream::pair().unwrap();
            a.set_read_timeout(Some(Duration::from_secs(3600))).unwrap();
            let _ = a.read(&mut [0; 16]);
        }
        1 => {
            let (mut a, _b) = UnixStream::pair().unwrap();
            let chunk = [1u8; 8192];
            loop {
                if a.write_all(&chunk).is_err() {
                    return;
                }
            }
        }
        2 => {
            let _ = listener.accept();
        }
        3 => weft::sleep(Duration::from_millis(1 + kind * 50)),
        4 => {
            // Joins a coroutine that parks until told to stop; the joiner
            // tells it when it unwinds (a dropped JoinHandle detaches).
            let stop = Arc::new(AtomicBool::new(false));
            let inner = {
                let stop = stop.clone();
                weft::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        weft::park();
                    }
                })
            };
            let _stop_inner = StopOnDrop(stop, inner.coroutine().clone());
            let _ = inner.join();
        }
        _ => unreachable!(),
    }
}

/// Waits until `check` holds (the last coroutines may still be unwinding,
/// a worker may not have run its release cycle yet), or fails with what
/// it saw.
fn eventually(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let start = Instant::now();
    loop {
        match check() {
            Ok(()) => return,
            Err(seen) if start.elapsed() > Duration::from_secs(10) => {
                panic!("{what} did not return to its baseline: {seen}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

#[test]
fn cancel_storms_leak_nothing() {
    net_support::raise_fd_limit(4 * PER_ROUND as u64 + 1024);
    with_timeout(120, storms);
}

fn storms() {
    let rt = runtime(2);
    let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
    let addr = listener.local_addr().unwrap();
    // A connection that lives through every storm, to check afterwards.
    let survivor = {
        let l = listener.clone();
        rt.block_on(move || {
            // Accept first, so the listener registers with a poller
            // (parked) before the baseline, as it will be in the storm.
            let accepted = weft::spawn(move || l.accept().unwrap().0);
            weft::sleep(Duration::from_millis(20));
            let c = TcpStream::connect(addr).unwrap();
            (c, accepted.join().unwrap())
        })
    };
    // Settle: the runtime's own resources are part of the baseline.
    std::thread::sleep(Duration::from_millis(100));
    let base_stats = weft::stats();
    let base_fds = open_fds();
    let mut rng = Rng(0x5EED_1234_ABCD_0001);

    for round in 0..ROUNDS {
        let dropped = Arc::new(AtomicUsize::new(0));
        let mutex = Arc::new(weft::sync::Mutex::new(0));
        let handles: Vec<_> = (0..PER_ROUND)
            .map(|i| {
                let (l, m, d) = (listener.clone(), mutex.clone(), Dropped(dropped.clone()));
                let kind = (i % KINDS) as u64;
                rt.spawn(move || parker(kind, l, m, d))
            })
            .collect();
        // Cancel each at a random moment: in bursts, with random pauses,
        // so some have not started, some are starting, most are parked.
        // Let a random share of them start and park first.
        std::thread::sleep(Duration::from_micros(rng.below(30_000)));
        let parked = weft::dump()
            .coroutines()
            .filter(|c| c.state == weft::CoroutineState::Parked)
            .count();
        let mut order: Vec<usize> = (0..PER_ROUND).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        for (n, &i) in order.iter().enumerate() {
            if n % 100 == 0 {
                std::thread::sleep(Duration::from_micros(rng.below(3000)));
            }
            handles[i].cancel();
        }
        let mut cancelled = 0;
        for h in handles {
            match h.join() {
                Ok(()) => {}
                Err(e) if e.is::<weft::Cancelled>() => cancelled += 1,
                Err(_) => panic!("a coroutine failed"),
            }
        }
        assert_eq!(dropped.load(Ordering::SeqCst), PER_ROUND, "destructors ran");
        // The mutex its cancelled holders and waiters left is free.
        drop(mutex.try_lock().map_err(|e| match e {
            weft::sync::TryLockError::Poisoned(_) => {}
            weft::sync::TryLockError::WouldBlock => panic!("a cancelled holder kept the lock"),
        }));
        eventually("stacks and registrations", || {
            let s = weft::stats();
            if s.stacks_in_use == base_stats.stacks_in_use
                && s.io_registrations == base_stats.io_registrations
                && s.io_pending_release == 0
                && s.timers_armed == base_stats.timers_armed
            {
                Ok(())
            } else {
                Err(format!("{s:?}, baseline {base_stats:?}"))
            }
        });
        eventually("descriptors", || {
            let fds = open_fds();
            (fds == base_fds)
                .then_some(())
                .ok_or(format!("{fds}, baseline {base_fds}"))
        });
        eprintln!(
            "round {round}: {parked} coroutines parked when the storm began; \
             {cancelled} of {PER_ROUND} cancelled before finishing"
        );
    }
    // The surviving connection still works, in both directions.
    let (mut c, mut s) = survivor;
    rt.block_on(move || {
        c.write_all(b"after the storm").unwrap();
        let mut buf = [0; 15];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"after the storm");
        s.write_all(b"ok").unwrap();
        c.read_exact(&mut buf[..2]).unwrap();
        assert_eq!(&buf[..2], b"ok");
    });
    // And the listener the cancelled accepts waited on still accepts.
    rt.block_on(move || {
        let _c = TcpStream::connect(addr).unwrap();
        listener.accept().unwrap();
    });
}
