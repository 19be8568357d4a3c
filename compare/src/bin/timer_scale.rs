//! Timers at scale, weft beside tokio in one run, by CPU time (getrusage),
//! not wall time: the machine is shared and the sleeps themselves are idle.
//!
//! - `sleep`: N tasks each sleep ROUNDS times for a distinct duration
//!   (1 ms + i * 2 µs, so 1..2001 ms over a million tasks); the same
//!   tasks doing `yield_now` instead are the baseline, and the difference
//!   per sleep is the cost of arming and firing one timer (plus the park
//!   and wake it causes, which a yield does not).
//! - `timeout`: a channel ping-pong where every receive has a 30 s timeout
//!   (armed, then cancelled by the message: the socket-timeout pattern),
//!   against the same ping-pong without timeouts.
//!
//! ```text
//! cargo run --release -p compare --bin timer_scale [-- N ROUNDS PINGS]
//! ```

use std::time::{Duration, Instant};

fn cpu() -> Duration {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it gets,
    // which points to enough writable memory for one.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage failed");
    // SAFETY: getrusage returned 0, so it filled the struct in.
    let u = unsafe { u.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn dur(i: usize) -> Duration {
    Duration::from_millis(1) + Duration::from_micros(2 * i as u64)
}

/// Runs `f`, returning (CPU, wall) it took.
fn measure(f: impl FnOnce()) -> (Duration, Duration) {
    let (c, w) = (cpu(), Instant::now());
    f();
    (cpu() - c, w.elapsed())
}

fn weft_tasks(n: usize, rounds: usize, sleep: bool) {
    let hs: Vec<_> = (0..n)
        .map(|i| {
            weft::spawn(move || {
                for _ in 0..rounds {
                    if sleep {
                        weft::sleep(dur(i));
                    } else {
                        weft::yield_now();
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

async fn tokio_tasks(n: usize, rounds: usize, sleep: bool) {
    let hs: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(async move {
                for _ in 0..rounds {
                    if sleep {
                        tokio::time::sleep(dur(i)).await;
                    } else {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}

fn weft_ping(pings: usize, timeout: bool) {
    let (to_tx, to_rx) = weft::sync::mpsc::channel::<u32>();
    let (back_tx, back_rx) = weft::sync::mpsc::channel::<u32>();
    let recv = move |rx: &weft::sync::mpsc::Receiver<u32>| {
        if timeout {
            rx.recv_timeout(Duration::from_secs(30)).unwrap()
        } else {
            rx.recv().unwrap()
        }
    };
    let echo = weft::spawn(move || {
        for _ in 0..pings {
            let v = recv(&to_rx);
            back_tx.send(v).unwrap();
        }
    });
    let ping = weft::spawn(move || {
        for i in 0..pings {
            to_tx.send(i as u32).unwrap();
            recv(&back_rx);
        }
    });
    ping.join().unwrap();
    echo.join().unwrap();
}

async fn tokio_ping(pings: usize, timeout: bool) {
    let (to_tx, mut to_rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
    let (back_tx, mut back_rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
    async fn recv(rx: &mut tokio::sync::mpsc::UnboundedReceiver<u32>, timeout: bool) -> u32 {
        if timeout {
            tokio::time::timeout(Duration::from_secs(30), rx.recv())
                .await
                .unwrap()
                .unwrap()
        } else {
            rx.recv().await.unwrap()
        }
    }
    let echo = tokio::spawn(async move {
        for _ in 0..pings {
            let v = recv(&mut to_rx, timeout).await;
            back_tx.send(v).unwrap();
        }
    });
    let ping = tokio::spawn(async move {
        for i in 0..pings {
            to_tx.send(i as u32).unwrap();
            recv(&mut back_rx, timeout).await;
        }
    });
    ping.await.unwrap();
    echo.await.unwrap();
}

fn ns(d: Duration, per: usize) -> f64 {
    d.as_nanos() as f64 / per as f64
}

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .map_or(default, |a| a.parse().expect("a number"))
    };
    let (n, rounds, pings) = (arg(1, 1_000_000), arg(2, 2), arg(3, 200_000));
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("{n} tasks x {rounds} sleeps of distinct durations (1..{} ms); {pings} ping-pongs", dur(n).as_millis());
    println!("{:<8} {:>16} {:>16} {:>16} {:>10}", "runtime", "yield CPU ns/op", "sleep CPU ns/op", "timer ns/sleep", "sleep wall");
    let ops = n * rounds;
    let (wy, _) = measure(|| weft_tasks(n, rounds, false));
    let (ws, wsw) = measure(|| weft_tasks(n, rounds, true));
    let (ty, _) = measure(|| tokio.block_on(tokio_tasks(n, rounds, false)));
    let (ts, tsw) = measure(|| tokio.block_on(tokio_tasks(n, rounds, true)));
    for (name, y, s, w) in [("weft", wy, ws, wsw), ("tokio", ty, ts, tsw)] {
        println!(
            "{name:<8} {:>16.0} {:>16.0} {:>16.0} {:>9.2}s",
            ns(y, ops),
            ns(s, ops),
            ns(s.saturating_sub(y), ops),
            w.as_secs_f64()
        );
    }
    println!("{:<8} {:>16} {:>16} {:>16}", "runtime", "ping CPU ns", "+timeout CPU ns", "arm+cancel ns");
    let (wp, _) = measure(|| weft_ping(pings, false));
    let (wt, _) = measure(|| weft_ping(pings, true));
    let (tp, _) = measure(|| tokio.block_on(tokio_ping(pings, false)));
    let (tt, _) = measure(|| tokio.block_on(tokio_ping(pings, true)));
    // Two receives with a timeout per round trip.
    for (name, p, t) in [("weft", wp, wt), ("tokio", tp, tt)] {
        println!(
            "{name:<8} {:>16.0} {:>16.0} {:>16.0}",
            ns(p, pings),
            ns(t, pings),
            ns(t.saturating_sub(p), 2 * pings)
        );
    }
}
