//! A yield among N ready tasks, on one thread, for N from 2 to a million:
//! weft on a one-worker runtime beside tokio's current-thread runtime.
//!
//! `compare`'s yield row has 1,000 tasks; this shows how the cost of a
//! switch grows with the number of tasks it cycles through, which is
//! where a stackful coroutine pays for its stack (a switch onto a stack
//! last touched N switches ago) and where weft's worker warms the next
//! stack ahead of the switch (`arch/scheduler.md`, "Warming the next
//! stack"). Wall time, the best of three runs of `TOTAL` yields each
//! (spawns and joins included, which at a million tasks is most of it).
//!
//! ```text
//! cargo run --release -p compare --bin yield_scale [-- N N ...]
//! ```

use std::time::{Duration, Instant};

#[path = "../task_rounds.rs"]
mod task_rounds;
use task_rounds::{least, tokio_tasks, weft_tasks};

/// Yields per measurement, spread over the N tasks.
const TOTAL: usize = 4_000_000;

/// Wall time of `run`.
fn wall(run: impl FnOnce()) -> Duration {
    let start = Instant::now();
    run();
    start.elapsed()
}

fn main() {
    let mut counts: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number of tasks"))
        .collect();
    if counts.is_empty() {
        counts = vec![2, 10, 100, 1_000, 10_000, 100_000, 1_000_000];
    }
    let weft = weft::Runtime::builder().workers(1).build().unwrap();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    println!("| tasks | weft ns per yield | tokio current-thread | weft vs tokio |");
    println!("|--:|--:|--:|--:|");
    for n in counts {
        let rounds = (TOTAL / n).max(1);
        let yields = (rounds * n) as f64;
        let weft_ns = least(|| wall(|| weft.block_on(move || weft_tasks(n, rounds, false))))
            .as_nanos() as f64
            / yields;
        let tokio_ns = least(|| wall(|| tokio.block_on(tokio_tasks(n, rounds, false)))).as_nanos()
            as f64
            / yields;
        println!(
            "| {n} | {weft_ns:.1} | {tokio_ns:.1} | {:.2}× |",
            tokio_ns / weft_ns
        );
    }
}
