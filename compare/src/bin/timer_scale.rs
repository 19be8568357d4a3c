//! Timers at scale, weft beside tokio (multi-thread and current-thread)
//! in one run, by CPU time (getrusage), not wall time: the machine is
//! shared and the sleeps themselves are idle.
//!
//! - `sleep`: N tasks each sleep for a distinct duration (1 ms + i * 2 µs,
//!   so 1..2001 ms over a million tasks), once, then ROUNDS times: the
//!   first round pays for the spawns and the stacks, each further one is
//!   N timers armed and fired (with the park and wake of each), all armed
//!   at once. The same with `yield_now` shows the switch alone.
//! - `timeout`: a channel ping-pong where every receive has a 30 s timeout
//!   (armed, then cancelled by the message: the socket-timeout pattern),
//!   against the same ping-pong without timeouts; weft's on a one-worker
//!   runtime, so that where its two coroutines start does not decide the
//!   figure.
//!
//! ```text
//! cargo run --release -p compare --bin timer_scale [-- N ROUNDS PINGS [--weft-sleeps-only]]
//! ```

use std::time::{Duration, Instant};

#[path = "../cpu.rs"]
mod cpu;
use cpu::process_cpu as cpu;

#[path = "../task_rounds.rs"]
mod task_rounds;
use task_rounds::{REPEAT, dur, least, tokio_tasks, weft_tasks};

/// Runs `f`, returning (CPU, wall) it took.
fn measure(f: impl FnOnce()) -> (Duration, Duration) {
    let (c, w) = (cpu(), Instant::now());
    f();
    (cpu() - c, w.elapsed())
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
    // weft's ping-pong on one worker: on two, whether its two coroutines
    // start on the same worker decides the CPU of a round trip (~0.3 µs
    // together, ~5 µs across workers, where each message wakes the other
    // worker), which would swamp the timer this measures.
    let weft_one = weft::Runtime::builder().workers(1).build().unwrap();
    let tokio_ct = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{n} tasks sleeping distinct durations (1..{} ms), 1 vs {rounds} rounds; {pings} ping-pongs; least CPU of {REPEAT}",
        dur(n).as_millis()
    );
    // Both tokio runtimes run the same futures.
    let on_tokio = |rt: &tokio::runtime::Runtime| {
        figures(
            n,
            rounds,
            pings,
            &|n, r, s| rt.block_on(tokio_tasks(n, r, s)),
            &|p, t| rt.block_on(tokio_ping(p, t)),
        )
    };
    let runtimes: [(&str, Figures); 3] = [
        (
            "weft",
            figures(n, rounds, pings, &weft_tasks, &|p, t| {
                weft_one.block_on(|| weft_ping(p, t))
            }),
        ),
        ("tokio", on_tokio(&tokio)),
        ("tokio_ct", on_tokio(&tokio_ct)),
    ];
    println!(
        "{:<9} {:>18} {:>14} {:>14} {:>10} {:>12} {:>15} {:>14}",
        "runtime",
        "1st sleep ns/task",
        "next sleep ns",
        "next yield ns",
        "wall (1)",
        "ping CPU ns",
        "+timeout CPU ns",
        "arm+cancel ns"
    );
    for (name, f) in &runtimes {
        println!(
            "{name:<9} {:>18.0} {:>14.0} {:>14.0} {:>9.2}s {:>12.0} {:>15.0} {:>14.0}",
            f.first_ns,
            f.sleep_ns,
            f.yield_ns,
            f.first_wall_secs,
            f.ping_ns,
            f.timed_ping_ns,
            f.timeout_ns
        );
    }
    // One line for `compare` (timers.rs) to read: NAME_sleep_ns and so on.
    let fields: Vec<String> = runtimes
        .iter()
        .flat_map(|(name, f)| {
            [
                format!("\"{name}_sleep_ns\":{:.1}", f.sleep_ns),
                format!("\"{name}_yield_ns\":{:.1}", f.yield_ns),
                format!("\"{name}_ping_ns\":{:.1}", f.ping_ns),
                format!("\"{name}_timeout_ns\":{:.1}", f.timeout_ns),
            ]
        })
        .collect();
    println!("{{\"n\":{n},{}}}", fields.join(","));
}

/// One runtime's figures, all CPU time.
struct Figures {
    /// The first round: spawn, stack and one sleep, per task.
    first_ns: f64,
    /// Its wall time.
    first_wall_secs: f64,
    /// Each further round: one timer armed and fired, with its park and wake.
    sleep_ns: f64,
    /// The same rounds with a yield instead of a sleep.
    yield_ns: f64,
    /// A channel round trip, and one with a 30 s timeout on both receives.
    ping_ns: f64,
    timed_ping_ns: f64,
    /// What one armed-then-cancelled receive timeout adds.
    timeout_ns: f64,
}

/// Measures one runtime: `tasks(n, rounds, sleep)` and `ping(pings, timeout)`
/// run to completion on it.
fn figures(
    n: usize,
    rounds: usize,
    pings: usize,
    tasks: &dyn Fn(usize, usize, bool),
    ping: &dyn Fn(usize, bool),
) -> Figures {
    // The first round pays for the spawn and the stack of each task; each
    // further round is one timer armed and fired (and a park and a wake).
    let marginal = |one: Duration, many: Duration| ns(many.saturating_sub(one), n * (rounds - 1));
    // The first round's CPU (spawns and fresh stacks: page faults) varies
    // most from run to run: the least of two.
    let (a, b) = (measure(|| tasks(n, 1, true)), measure(|| tasks(n, 1, true)));
    let (first, first_wall) = if a.0 <= b.0 { a } else { b };
    let sleeps = measure(|| tasks(n, rounds, true)).0;
    let y1 = least(|| measure(|| tasks(n, 1, false)).0);
    let yn = least(|| measure(|| tasks(n, rounds, false)).0);
    let p = least(|| measure(|| ping(pings, false)).0);
    let t = least(|| measure(|| ping(pings, true)).0);
    Figures {
        first_ns: ns(first, n),
        first_wall_secs: first_wall.as_secs_f64(),
        sleep_ns: marginal(first, sleeps),
        yield_ns: marginal(y1, yn),
        ping_ns: ns(p, pings),
        timed_ping_ns: ns(t, pings),
        // Two receives with a timeout per round trip.
        timeout_ns: (ns(t, pings) - ns(p, pings)) / 2.0,
    }
}
