//! The in-process workloads (`benches/workloads/`): spawn + join, yield,
//! channel ping-pong, mutex contention, for every peer.
//!
//! Each (workload, peer) pair runs in a fresh child process (this binary
//! with `--child micro WORKLOAD PEER`): one warm-up iteration, then timed
//! iterations until at least 3 and about 1.5 s; the figure is the median
//! time per operation, the noise the spread of the iterations.
//!
//! Why not criterion's JSON: `cargo bench -p compare --bench compare` measures the
//! same code with more statistics, but 24 benchmarks at criterion's
//! warm-up and sample counts take several minutes of the 10-minute budget
//! and a second build profile; a median of a few seconds of iterations
//! per pair is enough to rank the peers, and a process per pair keeps one
//! peer's threads (may's scheduler never stops) from disturbing the next.

use std::process::Command;
use std::time::{Duration, Instant};

use super::child;
use super::table::{Better, Goal, Row, Table};
use super::workloads::{Harness, Peer, Workload};

/// Child side: runs `workload` on `peer` and prints one JSON line.
pub fn child_main(workload: &str, peer: &str, budget: Duration) {
    let workload = Workload::from_name(workload).expect("a known workload");
    let peer = Peer::from_name(peer).expect("a known peer");
    let harness = Harness::new(peer, super::workloads::workers());
    harness.run(workload);
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 3 || (start.elapsed() < budget && samples.len() < 100) {
        let t = Instant::now();
        harness.run(workload);
        samples.push(t.elapsed().as_secs_f64());
    }
    samples.sort_by(f64::total_cmp);
    let ops = workload.operations() as f64;
    let median = samples[samples.len() / 2] / ops * 1e9;
    let min = samples[0] / ops * 1e9;
    let mean = samples.iter().sum::<f64>() / samples.len() as f64;
    let var = samples.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / samples.len() as f64;
    println!(
        "{{\"ns_per_op\":{median:.3},\"min_ns_per_op\":{min:.3},\"iterations\":{},\"cv\":{:.4}}}",
        samples.len(),
        var.sqrt() / mean
    );
    // Exit without tearing down: may's scheduler and detached threads
    // have nothing to finish.
    std::process::exit(0);
}

/// Parent side: one table per workload.
pub fn run(budget: Duration) -> Vec<Table> {
    Workload::ALL
        .into_iter()
        .map(|workload| {
            let mut rows: Vec<Row> = Peer::ALL
                .into_iter()
                .map(|peer| {
                    eprint!("  {} on {} ... ", workload.name(), peer.name());
                    let row = measure(workload, peer, budget, None);
                    report(&row);
                    row
                })
                .collect();
            if matches!(workload, Workload::Yield | Workload::PingPong) {
                // Issue 13 holds weft on one worker to tokio's
                // current-thread runtime: the same single thread.
                eprint!("  {} on weft, one worker ... ", workload.name());
                let row = measure(workload, Peer::Weft, budget, Some(1));
                report(&row);
                rows.push(row);
            }
            Table {
                id: workload.name().to_string(),
                title: title(workload).to_string(),
                short: title(workload).to_lowercase(),
                what: what(workload),
                unit: format!("ns per {}", workload.operation()),
                better: Better::Lower,
                goal: match workload {
                    Workload::Mutex => Goal::NearBest,
                    _ => Goal::AheadOfTokio,
                },
                columns: vec!["fastest iteration".into(), "iterations".into()],
                rows,
                ceiling: None,
                remarks: Vec::new(),
            }
        })
        .collect()
}

/// The row name of weft run on one worker, beside the configured count.
pub const WEFT_ONE_WORKER: &str = "weft-1-worker";

fn report(row: &Row) {
    match row.figure {
        Some(f) => eprintln!("{f:.1} ns"),
        None => eprintln!("failed: {}", row.note),
    }
}

/// Runs `workload` on `peer` in a child process; `workers` overrides the
/// worker count every peer gets (`WEFT_BENCH_WORKERS`).
fn measure(workload: Workload, peer: Peer, budget: Duration, workers: Option<usize>) -> Row {
    super::machine::settle();
    let name = match workers {
        Some(1) if peer == Peer::Weft => WEFT_ONE_WORKER,
        _ => peer.name(),
    };
    let mut cmd = Command::new(child::own_exe());
    cmd.args(["--child", "micro", workload.name(), peer.name()])
        .arg(format!("--budget-ms={}", budget.as_millis()));
    if let Some(n) = workers {
        cmd.env("WEFT_BENCH_WORKERS", n.to_string());
    }
    match child::run(&mut cmd, Duration::from_secs(30)) {
        Err(e) => Row::failed(name, child::explain(&e)),
        Ok(out) => {
            let Some(line) = out.json_line() else {
                return Row::failed(name, "no result line");
            };
            let num = |k| child::json_number(line, k).unwrap_or(f64::NAN);
            Row::ok(
                name,
                num("ns_per_op"),
                num("cv"),
                num("iterations"),
                true,
                vec![
                    format!("{:.1} ns", num("min_ns_per_op")),
                    format!("{}", num("iterations")),
                ],
            )
        }
    }
}

fn title(workload: Workload) -> &'static str {
    match workload {
        Workload::SpawnJoin => "Spawn + join",
        Workload::Yield => "Yield",
        Workload::PingPong => "Channel ping-pong",
        Workload::Mutex => "Mutex contention",
    }
}

fn what(workload: Workload) -> String {
    use super::workloads::*;
    match workload {
        Workload::SpawnJoin => format!(
            "Spawn {SPAWNS} tasks that return a number from inside the runtime, then join them all."
        ),
        Workload::Yield => {
            format!("{YIELD_TASKS} tasks each yield {YIELDS} times, all ready at once.")
        }
        Workload::PingPong => format!(
            "{PING_PONGS} round trips of one message between two tasks over two unbounded \
             channels (each peer's own MPSC channel)."
        ),
        Workload::Mutex => format!(
            "{LOCKERS} tasks each lock one shared counter, increment it and unlock, \
             {LOCKS_EACH} times (each peer's own mutex; threads use std's)."
        ),
    }
}
