//! Timers at scale, weft beside tokio (issue 13): `src/bin/timer_scale.rs`
//! run in a child process at 10,000 and at 1,000,000 sleeping tasks.
//! Figures are CPU time (getrusage), not wall time: the sleeps themselves
//! are idle, and the machine is shared.
//!
//! Two tables: the CPU one timer costs to arm and fire, beside the same
//! park and wake without a timer (a yield), at both sizes, so the
//! 1,000,000 row shows whether the cost per timer stays flat (O(1)); and
//! the CPU a receive timeout adds when it is armed and then cancelled by
//! the message (the socket-timeout pattern).

use std::process::Command;
use std::time::Duration;

use super::child;
use super::table::{Better, Goal, Row, Table, fmt_figure};

/// The sizes the sleep table is measured at.
pub const SIZES: [u64; 2] = [10_000, 1_000_000];

/// Round trips of the timed ping-pong.
const PINGS: u64 = 200_000;

/// Sleeps per task with `n` tasks (the marginal cost needs two or more;
/// small runs need more to rise above the noise).
fn rounds(n: u64) -> u64 {
    if n >= 1_000_000 { 10 } else { 30 }
}

/// The peers `timer_scale` measures, by their names in the report.
const PEERS: [&str; 3] = ["weft", "tokio", "tokio-current-thread"];

/// A peer's prefix in `timer_scale`'s JSON line.
fn key(peer: &str) -> &str {
    match peer {
        "tokio-current-thread" => "tokio_ct",
        other => other,
    }
}

/// A difference of CPU times that came out zero or negative: the run's
/// noise was larger than what it measures (and a log-scale chart cannot
/// show it).
const BELOW_NOISE: &str = "below this run's noise (the difference came out ≤ 0)";

pub fn run() -> Vec<Table> {
    let results: Vec<(u64, Result<String, String>)> = SIZES
        .iter()
        .map(|&n| {
            eprint!("  timer_scale with {n} tasks ... ");
            super::machine::settle();
            let result = measure(n);
            match &result {
                Ok(_) => eprintln!("done"),
                Err(e) => eprintln!("failed: {e}"),
            }
            (n, result)
        })
        .collect();

    let mut timeout = Table {
        id: "timers_timeout".into(),
        title: "A receive timeout armed and cancelled".into(),
        short: "receive timeout".into(),
        what: format!(
            "{PINGS} channel round trips between two tasks, every receive with a 30 s timeout \
             that the message cancels, against the same without: the extra CPU per timed \
             receive (weft on a one-worker runtime: on two, where its two tasks start \
             decides the round trip's CPU, 0.3 or 5 µs)."
        ),
        unit: "CPU ns added per timed receive".into(),
        better: Better::Lower,
        goal: Goal::AheadOfTokio,
        columns: vec!["round trip ns".into(), "with timeouts ns".into()],
        rows: Vec::new(),
        ceiling: None,
        remarks: Vec::new(),
    };
    let mut tables: Vec<Table> = results
        .iter()
        .map(|(n, result)| {
            let rows = PEERS
                .into_iter()
                .map(|peer| match result {
                    Err(e) => Row::failed(peer, e.clone()),
                    Ok(line) => {
                        let num = |k: &str| child::json_number(line, &format!("{}_{k}", key(peer)));
                        match (num("sleep_ns"), num("yield_ns")) {
                            (Some(s), _) if s <= 0.0 => Row::failed(peer, BELOW_NOISE),
                            (Some(s), Some(y)) => Row::ok(
                                peer,
                                s,
                                0.0,
                                1.0,
                                false,
                                vec![
                                    format!("{y:.0}"),
                                    // A yield dearer than a sleep: the
                                    // yields' stacks were colder (see
                                    // the notes), not a negative timer.
                                    if s > y {
                                        format!("{:.0}", s - y)
                                    } else {
                                        "–".into()
                                    },
                                ],
                            ),
                            _ => Row::failed(peer, "no figures"),
                        }
                    }
                })
                .collect();
            Table {
                id: sleep_id(*n),
                title: format!(
                    "Arm and fire one timer, {} tasks asleep",
                    fmt_figure(*n as f64)
                ),
                short: format!("timer arm + fire, {}", fmt_figure(*n as f64)),
                what: format!(
                    "{} tasks each sleep for a distinct duration (1 ms + 2 µs × i), \
                     {} times; the first round (spawn, stack) is subtracted, so the \
                     figure is one timer armed and fired with its park and wake, in CPU ns. \
                     *yield* is the same park and wake without a timer: the difference is \
                     the timer's own cost.",
                    fmt_figure(*n as f64),
                    rounds(*n)
                ),
                unit: "CPU ns per sleep".into(),
                better: Better::Lower,
                goal: Goal::AheadOfTokio,
                columns: vec!["yield ns".into(), "timer alone ns".into()],
                rows,
                ceiling: None,
                remarks: Vec::new(),
            }
        })
        .collect();
    // The timed ping-pong does not depend on N: the smallest run's, which
    // leaves the least behind (a million stacks to trim) while it runs.
    if let Some((_, result)) = results.first() {
        for peer in PEERS {
            let row = match result {
                Err(e) => Row::failed(peer, e.clone()),
                Ok(line) => {
                    let num = |k: &str| child::json_number(line, &format!("{}_{k}", key(peer)));
                    match (num("ping_ns"), num("timeout_ns")) {
                        (_, Some(t)) if t <= 0.0 => Row::failed(peer, BELOW_NOISE),
                        (Some(p), Some(t)) => Row::ok(
                            peer,
                            t,
                            0.0,
                            1.0,
                            false,
                            vec![format!("{p:.0}"), format!("{:.0}", p + 2.0 * t)],
                        ),
                        _ => Row::failed(peer, "no figures"),
                    }
                }
            };
            timeout.rows.push(row);
        }
    }
    tables.push(timeout);
    tables
}

/// The id of the sleep table measured with `n` tasks.
pub fn sleep_id(n: u64) -> String {
    format!(
        "timers_sleep_{}",
        if n >= 1_000_000 {
            format!("{}m", n / 1_000_000)
        } else {
            format!("{}k", n / 1000)
        }
    )
}

/// One `timer_scale` run with `n` tasks: its JSON line.
fn measure(n: u64) -> Result<String, String> {
    let bin = child::example("timer_scale").ok_or("timer_scale is not built")?;
    let mut cmd = Command::new(bin);
    cmd.args([n.to_string(), rounds(n).to_string(), PINGS.to_string()]);
    let out = child::run(&mut cmd, Duration::from_secs(600))?;
    out.json_line()
        .map(str::to_string)
        .ok_or_else(|| "timer_scale printed no result".to_string())
}
