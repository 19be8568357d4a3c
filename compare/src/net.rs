//! The network workloads: each server runs in its own process (one at a
//! time, killed before the next starts, so the 20,000 open-file limit is
//! never shared) and `src/bin/loadgen.rs` drives it from another.
//!
//! The load generator also runs against its own bare mio server (as many
//! event-loop threads as the peers have workers);
//! that row is the *ceiling*, the most this client can drive on this
//! machine. A server that reaches it is measured against the client and
//! the loopback device, not against its peers.

use std::process::Command;
use std::time::Duration;

use super::child::{self, Server};
use super::table::{Better, Goal, Row, Table, fmt_figure};

struct NetWorkload {
    id: &'static str,
    title: &'static str,
    short: &'static str,
    http: bool,
    conns: usize,
    size: usize,
    /// Every echo server gives every read this timeout
    /// (`ECHO_READ_TIMEOUT_MS`): the cost of a timer per read.
    read_timeout_ms: Option<u64>,
    goal: Goal,
}

/// The read timeout of the timer-heavy row: long enough never to fire.
const READ_TIMEOUT_MS: u64 = 10_000;

const WORKLOADS: [NetWorkload; 6] = [
    NetWorkload {
        id: "tcp_round_trip",
        short: "tcp round trip",
        title: "TCP round trip, one connection",
        http: false,
        conns: 1,
        size: 64,
        read_timeout_ms: None,
        goal: Goal::NearBest,
    },
    NetWorkload {
        id: "echo_100",
        short: "echo, 100 conns",
        title: "TCP echo, 100 connections",
        http: false,
        conns: 100,
        size: 1024,
        read_timeout_ms: None,
        goal: Goal::NearBest,
    },
    NetWorkload {
        id: "echo_1000",
        short: "echo, 1,000 conns",
        title: "TCP echo, 1,000 connections",
        http: false,
        conns: 1000,
        size: 1024,
        read_timeout_ms: None,
        goal: Goal::AheadOfTokio,
    },
    NetWorkload {
        id: "echo_5000",
        short: "echo, 5,000 conns",
        title: "TCP echo, 5,000 connections",
        http: false,
        conns: 5000,
        size: 1024,
        read_timeout_ms: None,
        goal: Goal::AheadOfTokio,
    },
    NetWorkload {
        id: "echo_5000_timeouts",
        short: "echo, 5,000 conns, read timeouts",
        title: "TCP echo, 5,000 connections, a read timeout on every read",
        http: false,
        conns: 5000,
        size: 1024,
        read_timeout_ms: Some(READ_TIMEOUT_MS),
        goal: Goal::AheadOfTokio,
    },
    NetWorkload {
        id: "http_hello",
        short: "http hello",
        title: "HTTP hello, keep-alive, 256 connections",
        http: true,
        conns: 256,
        size: 0,
        read_timeout_ms: None,
        goal: Goal::NearBest,
    },
];

/// A server binary (an example) and its arguments before the address.
pub struct Program {
    pub bin: &'static str,
    pub args: &'static [&'static str],
}

/// One peer's echo and HTTP servers.
pub struct ServerSpec {
    pub peer: &'static str,
    pub echo: Program,
    pub http: Program,
}

const fn spec(peer: &'static str, echo: Program, http: Program) -> ServerSpec {
    ServerSpec { peer, echo, http }
}

const fn program(bin: &'static str, args: &'static [&'static str]) -> Program {
    Program { bin, args }
}

pub const SERVERS: [ServerSpec; 6] = [
    spec(
        "weft",
        program("echo", &["--serve"]),
        program("http_hello", &[]),
    ),
    spec(
        "tokio",
        program("peer_echo_tokio", &[]),
        program("peer_http_tokio", &[]),
    ),
    spec(
        "tokio-current-thread",
        program("peer_echo_tokio", &["--current-thread"]),
        program("peer_http_tokio", &["--current-thread"]),
    ),
    spec(
        "smol",
        program("peer_echo_smol", &[]),
        program("peer_http_smol", &[]),
    ),
    spec(
        "may",
        program("peer_echo_may", &[]),
        program("peer_http_may", &[]),
    ),
    spec(
        "threads",
        program("peer_echo_threads", &[]),
        program("peer_http_threads", &[]),
    ),
];

/// Starts `program` on the address `127.0.0.1:0` with `workers` worker
/// threads.
pub fn start(program: &Program, workers: usize) -> Result<Server, String> {
    start_with(program, workers, None)
}

/// [`start`], with a read timeout on every connection if `read_timeout_ms`.
fn start_with(
    program: &Program,
    workers: usize,
    read_timeout_ms: Option<u64>,
) -> Result<Server, String> {
    let bin = program.bin;
    let path = child::example(bin).ok_or_else(|| {
        format!("`{bin}` is not built (cargo build --release -p weft -p compare --bins --examples)")
    })?;
    let mut cmd = Command::new(path);
    cmd.args(program.args)
        .arg("127.0.0.1:0")
        .env("WEFT_WORKERS", workers.to_string());
    if let Some(ms) = read_timeout_ms {
        cmd.env("ECHO_READ_TIMEOUT_MS", ms.to_string());
    }
    Server::start(&mut cmd)
}

/// Runs every network workload against every server, `rounds` times.
///
/// The rounds are interleaved (every workload and server once, then
/// again in reverse server order), so a burst of other work on the
/// machine hits different peers in different rounds. Each peer's best
/// round is its figure, since other work can only slow a run down; the
/// gap between rounds counts towards the row's noise.
pub fn run(workers: usize, secs: f64, rounds: usize) -> Vec<Table> {
    let rounds = rounds.max(1);
    // results[workload][server] = one row per round; the last server is
    // the load generator's own.
    let mut results: Vec<Vec<Vec<Row>>> = WORKLOADS
        .iter()
        .map(|_| (0..=SERVERS.len()).map(|_| Vec::new()).collect())
        .collect();
    for round in 0..rounds {
        eprintln!("  round {} of {rounds}", round + 1);
        for (wi, w) in WORKLOADS.iter().enumerate() {
            let mut order: Vec<usize> = (0..=SERVERS.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for si in order {
                super::machine::settle();
                let row = match SERVERS.get(si) {
                    Some(server) => {
                        let program = if w.http { &server.http } else { &server.echo };
                        eprint!("  {} on {} ... ", w.id, server.peer);
                        let server_proc = start_with(program, workers, w.read_timeout_ms);
                        measure(server.peer, server_proc, w, secs)
                    }
                    None => {
                        eprint!("  {} on the load generator's own server ... ", w.id);
                        measure("ceiling", start_reference(w, workers), w, secs)
                    }
                };
                report(&row);
                results[wi][si].push(row);
            }
        }
    }
    let mut tables: Vec<Table> = WORKLOADS
        .iter()
        .zip(results)
        .map(|(w, mut per_server)| {
            let ceiling = best_round(per_server.pop().expect("the ceiling's rounds"));
            let rows = per_server.into_iter().map(best_round).collect();
            let mut columns: Vec<String> = [
                "MiB/s",
                "p50 µs",
                "p99 µs",
                "p999 µs",
                "server CPU",
                "server CPU µs/request",
                "server RSS MiB",
                "client CPU",
                "other load",
            ]
            .map(String::from)
            .to_vec();
            if rounds > 1 {
                columns.push("each round".into());
            }
            let mut table = Table {
                id: w.id.to_string(),
                title: w.title.to_string(),
                short: w.short.to_string(),
                what: what(w),
                unit: "requests per second".into(),
                better: Better::Higher,
                goal: w.goal,
                columns,
                rows,
                ceiling: Some(ceiling),
                remarks: Vec::new(),
            };
            remark_on_ceiling(&mut table);
            table
        })
        .collect();
    remark_on_timeouts(&mut tables);
    for table in &mut tables {
        remark_on_memory(table);
    }
    tables
}

/// How many connections the network table `id` holds open.
pub fn conns(id: &str) -> Option<usize> {
    WORKLOADS.iter().find(|w| w.id == id).map(|w| w.conns)
}

/// On the 5,000-connection rows: each server's resident memory above
/// tokio's, per connection (the goal for weft: at most 5 KiB).
fn remark_on_memory(table: &mut Table) {
    let Some(conns) = conns(&table.id).filter(|&n| n >= 5000) else {
        return;
    };
    let rss = |peer: &str| -> Option<f64> { table.cell(peer, "server RSS MiB")?.parse().ok() };
    let Some(tokio) = rss("tokio") else {
        return;
    };
    let parts: Vec<String> = table
        .rows
        .iter()
        .filter(|r| r.peer != "tokio")
        .filter_map(|r| {
            let mib = rss(&r.peer)?;
            let per_conn_kib = (mib - tokio) * 1024.0 / conns as f64;
            Some(format!("{} {per_conn_kib:+.1} KiB", r.peer))
        })
        .collect();
    if !parts.is_empty() {
        table.remarks.push(format!(
            "Server resident memory with all {conns} connections open, above tokio's \
             ({tokio:.1} MiB), per connection: {}. Goal for weft: at most +5 KiB.",
            parts.join("; ")
        ));
    }
}

/// On the timer-heavy row: each peer's server CPU per request against the
/// same server without timeouts (`echo_5000`), the measure of
/// what a timer per read costs (goal: at most 5% more for weft).
fn remark_on_timeouts(tables: &mut [Table]) {
    let cpu = |t: &Table, peer: &str| -> Option<f64> {
        t.cell(peer, "server CPU µs/request")?.parse().ok()
    };
    let Some(plain) = tables.iter().position(|t| t.id == "echo_5000") else {
        return;
    };
    let Some(timed) = tables.iter().position(|t| t.id == "echo_5000_timeouts") else {
        return;
    };
    let parts: Vec<String> = tables[timed]
        .rows
        .iter()
        .filter_map(|r| {
            let with = cpu(&tables[timed], &r.peer)?;
            let without = cpu(&tables[plain], &r.peer).filter(|&c| c > 0.0)?;
            Some(format!(
                "{} {:+.0}% ({without:.2} → {with:.2} µs)",
                r.peer,
                (with / without - 1.0) * 100.0
            ))
        })
        .collect();
    if !parts.is_empty() {
        tables[timed].remarks.push(format!(
            "Server CPU per request with a {} s read timeout on every read, against the \
             same server without (the row above): {}. Goal for weft: at most +5%.",
            READ_TIMEOUT_MS / 1000,
            parts.join("; ")
        ));
    }
}

/// The load generator's own server, in `w`'s mode, with `workers` threads.
fn start_reference(w: &NetWorkload, workers: usize) -> Result<Server, String> {
    let path = child::example("loadgen").ok_or("loadgen is not built")?;
    let mut cmd = Command::new(path);
    // `--serve ADDR`: the address must follow the flag.
    cmd.args(["--serve", "127.0.0.1:0"])
        .args(["--mode", if w.http { "http" } else { "echo" }])
        .env("WEFT_WORKERS", workers.to_string());
    Server::start(&mut cmd)
}

/// One peer's rounds as one row: the best round, its noise widened to
/// half the relative gap between rounds, and every round's figure.
fn best_round(rounds: Vec<Row>) -> Row {
    let several = rounds.len() > 1;
    let each: Vec<String> = rounds
        .iter()
        .map(|r| r.figure.map_or("failed".into(), fmt_figure))
        .collect();
    let figures: Vec<f64> = rounds.iter().filter_map(|r| r.figure).collect();
    let Some(best_index) = (0..rounds.len())
        .filter(|&i| rounds[i].figure.is_some())
        .max_by(|&a, &b| {
            rounds[a]
                .figure
                .partial_cmp(&rounds[b].figure)
                .expect("finite")
        })
    else {
        // Every round failed: the first failure says why.
        return rounds
            .into_iter()
            .next()
            .unwrap_or_else(|| Row::failed("?", "not run"));
    };
    let mut best = rounds.into_iter().nth(best_index).expect("in range");
    if several {
        let max = figures.iter().cloned().fold(f64::MIN, f64::max);
        let min = figures.iter().cloned().fold(f64::MAX, f64::min);
        best.noise = best.noise.max((max - min) / max / 2.0);
        best.cells.push(each.join(" / "));
    }
    best
}

fn report(row: &Row) {
    match row.figure {
        Some(f) => eprintln!("{f:.0} requests/s"),
        None => eprintln!("failed: {}", row.note),
    }
}

fn what(w: &NetWorkload) -> String {
    if let Some(ms) = w.read_timeout_ms {
        return format!(
            "{} connections, one {}-byte message in flight on each, echoed back and checked \
             byte for byte; every server gives every read a {} s timeout (weft, may and \
             threads: `set_read_timeout`; tokio: `tokio::time::timeout`; smol: a race with \
             a `Timer`), which never fires.",
            w.conns,
            w.size,
            ms / 1000
        );
    }
    if w.http {
        format!(
            "{} keep-alive connections, one `GET /` in flight on each; every response is \
             checked to be a 200 with body `Hello, World!`.",
            w.conns
        )
    } else {
        format!(
            "{} connection{}, one {}-byte message in flight on each, echoed back and checked \
             byte for byte.",
            w.conns,
            if w.conns == 1 { "" } else { "s" },
            w.size
        )
    }
}

fn measure(peer: &str, server: Result<Server, String>, w: &NetWorkload, secs: f64) -> Row {
    let mut server = match server {
        Ok(s) => s,
        Err(e) => return Row::failed(peer, e),
    };
    let Some(loadgen) = child::example("loadgen") else {
        return Row::failed(peer, "loadgen is not built");
    };
    let mut cmd = Command::new(loadgen);
    cmd.arg(&server.addr)
        .args(["--mode", if w.http { "http" } else { "echo" }])
        .args(["--conns", &w.conns.to_string()])
        .args(["--secs", &secs.to_string()])
        .args(["--warmup", "1"])
        .args(["--watch-pid", &server.pid().to_string()]);
    if !w.http {
        cmd.args(["--size", &w.size.to_string()]);
    }
    let result = child::run(&mut cmd, Duration::from_secs_f64(secs + 120.0));
    let died = !server.alive();
    drop(server);
    let out = match result {
        Ok(out) => out,
        Err(e) if died => {
            return Row::failed(peer, format!("the server died; load generator: {e}"));
        }
        Err(e) => return Row::failed(peer, format!("load generator: {e}")),
    };
    let Some(line) = out.json_line() else {
        return Row::failed(peer, "the load generator printed no result");
    };
    let num = |k| child::json_number(line, k);
    let rps = num("rps").unwrap_or(0.0);
    let per_request = num("server_cpu").map_or("–".to_string(), |cpu| {
        format!("{:.2}", cpu / rps.max(1e-9) * 1e6)
    });
    let server_cpu =
        num("server_cpu").map_or("–".to_string(), |cpu| format!("{:.0}%", cpu * 100.0));
    // CPU the rest of the machine used meanwhile: other work that ran
    // during this measurement (kernel threads included).
    let other = match (num("machine_cpu"), num("server_cpu")) {
        (Some(machine), Some(server)) => {
            let other = (machine - server - num("client_cpu").unwrap_or(0.0)).max(0.0);
            format!("{:.0}%", other * 100.0)
        }
        _ => "–".to_string(),
    };
    Row::ok(
        peer,
        rps,
        num("cv").unwrap_or(0.0),
        num("windows").unwrap_or(1.0),
        false,
        vec![
            format!("{:.1}", num("mib_s").unwrap_or(0.0)),
            format!("{:.1}", num("p50_us").unwrap_or(0.0)),
            format!("{:.1}", num("p99_us").unwrap_or(0.0)),
            format!("{:.1}", num("p999_us").unwrap_or(0.0)),
            server_cpu,
            per_request,
            num("server_rss_kib").map_or("–".to_string(), |k| format!("{:.1}", k / 1024.0)),
            format!("{:.0}%", num("client_cpu").unwrap_or(0.0) * 100.0),
            other,
        ],
    )
}

/// Notes when the best server gets close to what the client can drive.
fn remark_on_ceiling(table: &mut Table) {
    let Some(ceiling) = table.ceiling.as_ref().and_then(|c| c.figure) else {
        return;
    };
    let Some((best, figure)) = table.best() else {
        return;
    };
    let best = best.to_string();
    let (figure_text, ceiling_text) = (fmt_figure(figure), fmt_figure(ceiling));
    if figure >= ceiling * 0.9 {
        table.remarks.push(format!(
            "The best server ({best}, {figure_text}/s) gets at least 90% of what the load \
             generator drives against its own bare mio server ({ceiling_text}/s): the servers \
             near the top of this row are limited by what they share with it (the client, \
             the loopback device, the two cores), not by their runtimes alone."
        ));
    } else {
        table.remarks.push(format!(
            "The load generator drives {ceiling_text}/s against its own bare mio server, \
             {:.2}× the best server here ({best}): the client is not the bottleneck.",
            ceiling / figure
        ));
    }
}
