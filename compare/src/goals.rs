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
    ] {
        lines.push(judge(
            goal,
            echo.and_then(|t| Some((cpu(t, "weft")?, cpu(t, peer)?))),
            |w, p| {
                (
                    w <= factor * p,
                    format!("{w:.2} µs against {p:.2} µs ({:.2}×)", w / p),
                )
            },
        ));
    }
    let ceiling_cpu = echo.and_then(|t| {
        let i = t
            .columns
            .iter()
            .position(|c| c == "server CPU µs/request")?;
        number(t.ceiling.as_ref()?.cells.get(i)?)
    });
    lines.push(judge(
        "… ≤ the bare mio loop's (the ceiling row)",
        echo.and_then(|t| Some((cpu(t, "weft")?, ceiling_cpu?))),
        |w, c| {
            (
                w <= c,
                format!("{w:.2} µs against {c:.2} µs ({:.2}×)", w / c),
            )
        },
    ));
    let rss = |t: &Table, peer: &str| number(t.cell(peer, "server RSS MiB")?);
    lines.push(judge(
        "… resident memory ≤ tokio's + 5 KiB per connection",
        echo.and_then(|t| Some((rss(t, "weft")?, rss(t, "tokio")?))),
        |w, t| {
            let per_conn = (w - t) * 1024.0 / 5000.0;
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
            lines.push(judge(goal, pair, |w, t| {
                (
                    w <= t,
                    format!("{w:.0} µs against {t:.0} µs ({:.2}×)", w / t),
                )
            }));
        }
    }
    let wrk_p99 = table("wrk").and_then(|t| {
        Some((
            duration_us(t.cell("weft", "p99")?)?,
            duration_us(t.cell("tokio", "p99")?)?,
        ))
    });
    lines.push(judge(
        "wrk, HTTP hello: p99 ≤ tokio's",
        wrk_p99,
        |w, t| {
            (
                w <= t,
                format!("{w:.0} µs against {t:.0} µs ({:.2}×)", w / t),
            )
        },
    ));

    // The switch path: speed = tokio's time / weft's time.
    let figure = |id: &str, peer: &str| -> Option<f64> {
        table(id)?.rows.iter().find(|r| r.peer == peer)?.figure
    };
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
    lines.push(judge(
        "1,000,000 sleeping coroutines: O(1) per timer (CPU per sleep at 1,000,000 ≤ 1.5× at 10,000)",
        large.zip(small),
        |l, s| (l <= 1.5 * s, format!("{l:.0} ns against {s:.0} ns ({:.2}×)", l / s)),
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
