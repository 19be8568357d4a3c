//! Timers at scale, weft beside tokio in one run, by CPU time (getrusage),
//! not wall time: the machine is shared and the sleeps themselves are idle.
//!
//! - `sleep`: N tasks each sleep for a distinct duration (1 ms + i * 2 µs,
//!   so 1..2001 ms over a million tasks), once, then ROUNDS times: the
//!   first round pays for the spawns and the stacks, each further one is
//!   N timers armed and fired (with the park and wake of each), all armed
//!   at once. The same with `yield_now` shows the switch alone.
//! - `timeout`: a channel ping-pong where every receive has a 30 s timeout
//!   (armed, then cancelled by the message: the socket-timeout pattern),
//!   against the same ping-pong without timeouts.
//!
//! ```text
//! cargo run --release -p compare --bin timer_scale [-- N ROUNDS PINGS [--weft-sleeps-only]]
//! ```

use std::time::{Duration, Instant};

#[path = "../cpu.rs"]
mod cpu;
use cpu::process_cpu as cpu;

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

/// The least CPU of `REPEAT` runs of `f`: other processes share the
/// machine, and they only ever add.
fn least(mut f: impl FnMut() -> Duration) -> Duration {
    (0..REPEAT).map(|_| f()).min().unwrap()
}

const REPEAT: usize = 3;

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .map_or(default, |a| a.parse().expect("a number"))
    };
    let (n, rounds, pings) = (arg(1, 1_000_000), arg(2, 3), arg(3, 200_000));
    assert!(rounds > 1, "the marginal cost needs at least two rounds");
    if std::env::args().nth(4).as_deref() == Some("--weft-sleeps-only") {
        // For a profiler: only weft's sleeps, nothing else in the samples.
        let (c, w) = measure(|| weft_tasks(n, rounds, true));
        println!(
            "weft sleeps: {:.0} ns CPU per sleep, {:.2}s",
            ns(c, n * rounds),
            w.as_secs_f64()
        );
        return;
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{n} tasks sleeping distinct durations (1..{} ms), 1 vs {rounds} rounds; {pings} ping-pongs; least CPU of {REPEAT}",
        dur(n).as_millis()
    );
    println!(
        "{:<8} {:>18} {:>18} {:>18} {:>10}",
        "runtime", "1st sleep ns/task", "next sleep ns", "next yield ns", "wall (1)"
    );
    // The first round pays for the spawn and the stack of each task; each
    // further round is one timer armed and fired (and a park and a wake).
    let marginal = |one: Duration, many: Duration| ns(many.saturating_sub(one), n * (rounds - 1));
    // The first round's CPU (spawns and fresh stacks: page faults) varies
    // most from run to run: the least of two.
    let first = |f: &dyn Fn()| {
        let (a, b) = (measure(f), measure(f));
        if a.0 <= b.0 { a } else { b }
    };
    let w1 = first(&|| weft_tasks(n, 1, true));
    let wn = measure(|| weft_tasks(n, rounds, true)).0;
    let wy1 = least(|| measure(|| weft_tasks(n, 1, false)).0);
    let wyn = least(|| measure(|| weft_tasks(n, rounds, false)).0);
    let t1 = first(&|| tokio.block_on(tokio_tasks(n, 1, true)));
    let tn = measure(|| tokio.block_on(tokio_tasks(n, rounds, true))).0;
    let ty1 = least(|| measure(|| tokio.block_on(tokio_tasks(n, 1, false))).0);
    let tyn = least(|| measure(|| tokio.block_on(tokio_tasks(n, rounds, false))).0);
    for (name, (c1, w), cn, y1, yn) in [("weft", w1, wn, wy1, wyn), ("tokio", t1, tn, ty1, tyn)] {
        println!(
            "{name:<8} {:>18.0} {:>18.0} {:>18.0} {:>9.2}s",
            ns(c1, n),
            marginal(c1, cn),
            marginal(y1, yn),
            w.as_secs_f64()
        );
    }
    println!(
        "{:<8} {:>18} {:>18} {:>18}",
        "runtime", "ping CPU ns", "+timeout CPU ns", "arm+cancel ns"
    );
    let wp = least(|| measure(|| weft_ping(pings, false)).0);
    let wt = least(|| measure(|| weft_ping(pings, true)).0);
    let tp = least(|| measure(|| tokio.block_on(tokio_ping(pings, false))).0);
    let tt = least(|| measure(|| tokio.block_on(tokio_ping(pings, true))).0);
    // Two receives with a timeout per round trip.
    for (name, p, t) in [("weft", wp, wt), ("tokio", tp, tt)] {
        println!(
            "{name:<8} {:>18.0} {:>18.0} {:>18.0}",
            ns(p, pings),
            ns(t, pings),
            (ns(t, pings) - ns(p, pings)) / 2.0
        );
    }
    // One line for `compare` (timers.rs) to read.
    println!(
        "{{\"n\":{n},\"weft_sleep_ns\":{:.1},\"tokio_sleep_ns\":{:.1},\
         \"weft_yield_ns\":{:.1},\"tokio_yield_ns\":{:.1},\"weft_ping_ns\":{:.1},\
         \"tokio_ping_ns\":{:.1},\"weft_timeout_ns\":{:.1},\"tokio_timeout_ns\":{:.1}}}",
        marginal(w1.0, wn),
        marginal(t1.0, tn),
        marginal(wy1, wyn),
        marginal(ty1, tyn),
        ns(wp, pings),
        ns(tp, pings),
        (ns(wt, pings) - ns(wp, pings)) / 2.0,
        (ns(tt, pings) - ns(tp, pings)) / 2.0,
    );
}
