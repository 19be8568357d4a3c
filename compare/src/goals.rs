//! The goals of issue 13 ("faster than tokio where it counts"), each read
//! off the tables of the same run: a figure for weft, the figure it is
//! held to, and whether it is met. The report prints them as one table
//! after issue 5's, so a reader sees every target and its miss at once.

use super::micro::WEFT_ONE_WORKER;
use super::table::Table;

/// One goal and what this run measured for it.
pub struct Line {
    /// What the issue asks, in words.
    pub goal: String,
    /// What was measured, in words with figures; "not measured" if a
    /// table or a peer is missing.
    pub measured: String,
    /// `None` when it could not be judged.
    pub met: Option<bool>,
}

/// Every goal of issue 13 that a `compare` run measures.
pub fn lines(tables: &[&Table]) -> Vec<Line> {
    let table = |id: &str| tables.iter().copied().find(|t| t.id == id);
    let mut lines = Vec::new();

    // Echo at 5,000 connections: CPU per request and memory.
    let cpu = |t: &Table, peer: &str| number(t.cell(peer, "server CPU µs/request")?);
    let echo = table("echo_5000");
    for (goal, peer, factor) in [
        (
            "echo, 5,000 connections: server CPU per request ≤ 0.9× tokio's",
            "tokio",
            0.9,
        ),
        ("… ≤ tokio current-thread's", "tokio-current-thread", 1.0),
        ("… ≤ the bare mio loop's (the ceiling row)", "ceiling", 1.0),
    ] {
        let pair = echo.and_then(|t| Some((cpu(t, "weft")?, cpu(t, peer)?)));
        lines.push(at_most(goal, pair, factor, "µs", 2));
    }
    let rss = |t: &Table, peer: &str| number(t.cell(peer, "server RSS MiB")?);
    let conns = super::net::conns("echo_5000").unwrap_or(5000) as f64;
    lines.push(judge(
        "… resident memory ≤ tokio's + 5 KiB per connection",
        echo.and_then(|t| Some((rss(t, "weft")?, rss(t, "tokio")?))),
        |w, t| {
            let per_conn = (w - t) * 1024.0 / conns;
            (
                per_conn <= 5.0,
                format!("{w:.1} MiB against {t:.1} MiB: {per_conn:+.1} KiB per connection"),
            )
        },
    ));

    // Tail latency: weft's p99 and p999 no higher than tokio's.
    for (id, name) in [
        ("echo_100", "echo, 100 connections"),
        ("echo_1000", "echo, 1,000 connections"),
        ("http_hello", "HTTP hello, 256 connections"),
    ] {
        for column in ["p99 µs", "p999 µs"] {
            let pair = table(id).and_then(|t| {
                Some((
                    number(t.cell("weft", column)?)?,
                    number(t.cell("tokio", column)?)?,
                ))
            });
            let goal = format!("{name}: {} ≤ tokio's", column.trim_end_matches(" µs"));
            lines.push(at_most(goal, pair, 1.0, "µs", 0));
        }
    }
    let wrk_p99 = table("wrk").and_then(|t| {
        Some((
            duration_us(t.cell("weft", "p99")?)?,
            duration_us(t.cell("tokio", "p99")?)?,
        ))
    });
    lines.push(at_most(
        "wrk, HTTP hello: p99 ≤ tokio's",
        wrk_p99,
        1.0,
        "µs",
        0,
    ));

    // The switch path: speed = tokio's time / weft's time.
    let figure = |id: &str, peer: &str| table(id)?.figure(peer);
    let speed = |goal: &str, id, peer, on, times: f64| {
        judge(goal, figure(id, peer).zip(figure(id, on)), |w, p| {
            (
                p / w >= times,
                format!("{w:.1} ns against {p:.1} ns ({:.2}×)", p / w),
            )
        })
    };
    lines.push(speed(
        "yield: ≥ 2× tokio's speed",
        "yield",
        "weft",
        "tokio",
        2.0,
    ));
    lines.push(speed(
        "channel ping-pong: ≥ 1.3× tokio's speed",
        "ping_pong",
        "weft",
        "tokio",
        1.3,
    ));
    lines.push(speed(
        "channel ping-pong on one worker: ≥ tokio current-thread's speed",
        "ping_pong",
        WEFT_ONE_WORKER,
        "tokio-current-thread",
        1.0,
    ));

    // Mass spawn and memory per idle coroutine.
    let spawn_cpu = table("spawn_idle_1m")
        .and_then(|t| number(t.cell("weft", "CPU ns per task")?))
        .map_or(String::new(), |ns| format!(" ({:.2} µs of CPU)", ns / 1e3));
    lines.push(judge(
        "spawn 1,000,000 idle coroutines: ≤ 1 µs each",
        figure("spawn_idle_1m", "weft").map(|ms| (ms * 1e3 / 1e6, 1.0)),
        |each, goal| (each <= goal, format!("{each:.2} µs each{spawn_cpu}")),
    ));
    lines.push(judge(
        "resident memory per idle coroutine (1,000,000): ≤ 4.5 KiB",
        figure("memory_1m", "weft").map(|kib| (kib, 4.5)),
        |kib, goal| (kib <= goal, format!("{kib:.2} KiB")),
    ));

    // Timers at scale: flat cost per timer, and no dearer than tokio's.
    let small = figure(&super::timers::sleep_id(super::timers::SIZES[0]), "weft");
    let large = figure(&super::timers::sleep_id(super::timers::SIZES[1]), "weft");
    lines.push(at_most(
        "1,000,000 sleeping coroutines: O(1) per timer (CPU per sleep at 1,000,000 ≤ 1.5× at 10,000)",
        large.zip(small),
        1.5,
        "ns",
        0,
    ));
    lines.push(speed(
        "1,000,000 sleeping coroutines: CPU per sleep ≤ tokio's",
        &super::timers::sleep_id(super::timers::SIZES[1]),
        "weft",
        "tokio",
        1.0,
    ));

    // Timers: a read timeout on every read.
    let timed = table("echo_5000_timeouts");
    lines.push(judge(
        "echo, 5,000 connections, read timeouts: server CPU ≤ 1.05× without",
        timed
            .zip(echo)
            .and_then(|(t, e)| Some((cpu(t, "weft")?, cpu(e, "weft")?))),
        |with, without| {
            (
                with <= 1.05 * without,
                format!(
                    "{with:.2} µs against {without:.2} µs ({:+.0}%)",
                    (with / without - 1.0) * 100.0
                ),
            )
        },
    ));
    lines
}

/// The goal "the first figure ≤ `factor` × the second", both in `unit`,
/// shown with `digits` decimals and their ratio.
fn at_most(
    goal: impl Into<String>,
    pair: Option<(f64, f64)>,
    factor: f64,
    unit: &str,
    digits: usize,
) -> Line {
    judge(goal, pair, |a, b| {
        (
            a <= factor * b,
            format!(
                "{a:.digits$} {unit} against {b:.digits$} {unit} ({:.2}×)",
                a / b
            ),
        )
    })
}

/// A line from a measured pair, or "not measured".
fn judge(
    goal: impl Into<String>,
    pair: Option<(f64, f64)>,
    verdict: impl FnOnce(f64, f64) -> (bool, String),
) -> Line {
    match pair {
        Some((a, b)) if a.is_finite() && b.is_finite() && b > 0.0 => {
            let (met, measured) = verdict(a, b);
            Line {
                goal: goal.into(),
                measured,
                met: Some(met),
            }
        }
        _ => Line {
            goal: goal.into(),
            measured: "not measured".into(),
            met: None,
        },
    }
}

/// A table cell as a number ("–" and the like are `None`).
fn number(cell: &str) -> Option<f64> {
    cell.trim().trim_end_matches('%').parse().ok()
}

/// wrk's latency cells ("812.00us", "4.30ms", "1.02s") in µs.
fn duration_us(cell: &str) -> Option<f64> {
    let cell = cell.trim();
    let (digits, scale) = if let Some(v) = cell.strip_suffix("us") {
        (v, 1.0)
    } else if let Some(v) = cell.strip_suffix("ms") {
        (v, 1e3)
    } else if let Some(v) = cell.strip_suffix('s') {
        (v, 1e6)
    } else {
        return None;
    };
    Some(digits.parse::<f64>().ok()? * scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Better, Goal, Row};

    /// An echo_5000 table as `net.rs` makes it: CPU per request and RSS
    /// per peer, and the ceiling row beside the peers.
    fn echo_5000(weft_cpu: &str) -> Table {
        let row = |peer: &str, cpu: &str, rss: &str| {
            Row::ok(peer, 1.0, 0.0, 1.0, false, vec![cpu.into(), rss.into()])
        };
        Table {
            id: "echo_5000".into(),
            title: String::new(),
            short: String::new(),
            what: String::new(),
            unit: String::new(),
            better: Better::Higher,
            goal: Goal::AheadOfTokio,
            columns: vec!["server CPU µs/request".into(), "server RSS MiB".into()],
            rows: vec![
                row("weft", weft_cpu, "103.7"),
                row("tokio", "6.73", "85.3"),
                row("tokio-current-thread", "6.05", "85.1"),
            ],
            ceiling: Some(row("ceiling", "6.45", "7.8")),
            remarks: Vec::new(),
        }
    }

    fn line<'a>(lines: &'a [Line], goal: &str) -> &'a Line {
        lines.iter().find(|l| l.goal.starts_with(goal)).unwrap()
    }

    #[test]
    fn cpu_and_memory_goals_read_the_peers_and_the_ceiling() {
        let table = echo_5000("6.06");
        let lines = lines(&[&table]);
        let tokio = line(&lines, "echo, 5,000 connections: server CPU");
        assert_eq!(tokio.met, Some(false), "{}", tokio.measured);
        assert_eq!(tokio.measured, "6.06 µs against 6.73 µs (0.90×)");
        let ct = line(&lines, "… ≤ tokio current-thread's");
        assert_eq!(ct.met, Some(false));
        let ceiling = line(&lines, "… ≤ the bare mio loop's");
        assert_eq!(ceiling.met, Some(true));
        assert_eq!(ceiling.measured, "6.06 µs against 6.45 µs (0.94×)");
        let memory = line(&lines, "… resident memory");
        assert_eq!(memory.met, Some(true));
        assert!(
            memory.measured.ends_with("+3.8 KiB per connection"),
            "{}",
            memory.measured
        );
        // A table that is not there is "not measured", not a miss.
        let yield_goal = line(&lines, "yield");
        assert_eq!(yield_goal.met, None);
        assert_eq!(yield_goal.measured, "not measured");
    }

    #[test]
    fn a_faster_weft_meets_the_cpu_goal() {
        let table = echo_5000("5.00");
        let lines = lines(&[&table]);
        assert_eq!(
            line(&lines, "echo, 5,000 connections: server CPU").met,
            Some(true)
        );
        assert_eq!(line(&lines, "… ≤ tokio current-thread's").met, Some(true));
    }

    #[test]
    fn wrk_latencies_are_read_in_their_units() {
        assert_eq!(duration_us("812.00us"), Some(812.0));
        assert_eq!(duration_us("4.30ms"), Some(4300.0));
        assert_eq!(duration_us("1.02s"), Some(1_020_000.0));
        assert_eq!(duration_us("–"), None);
    }
}
