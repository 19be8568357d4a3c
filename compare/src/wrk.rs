//! `wrk` (the Debian package) against every peer's HTTP hello server, as
//! a second opinion from a client we did not write. Installed with
//! `apt-get` when missing and this runs as root; skipped (and said so in
//! the report) when it cannot be had.

use std::process::Command;
use std::time::Duration;

use super::child;
use super::net::{SERVERS, start};
use super::table::{Better, Goal, Row, Table};

const CONNS: usize = 256;

/// Finds `wrk`, installing it if it can; `Err` says why not.
pub fn ensure() -> Result<(), String> {
    if have_wrk() {
        return Ok(());
    }
    let root = child::run(Command::new("id").arg("-u"), Duration::from_secs(5))
        .map(|o| o.stdout.trim() == "0")
        .unwrap_or(false);
    if !root {
        return Err("wrk is not installed, and installing it needs root".into());
    }
    eprintln!("  installing wrk: apt-get update && apt-get install -y wrk");
    let update = child::run(
        Command::new("apt-get").arg("update"),
        Duration::from_secs(300),
    );
    let install = child::run(
        Command::new("apt-get")
            .args(["install", "-y", "wrk"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
        Duration::from_secs(300),
    );
    if have_wrk() {
        Ok(())
    } else {
        Err(format!(
            "wrk is not installed and apt-get could not install it ({})",
            install.err().or(update.err()).unwrap_or_default()
        ))
    }
}

fn have_wrk() -> bool {
    // `wrk --version` exits with 1, but it starts only if it is installed.
    Command::new("wrk").arg("--version").output().is_ok()
}

/// Runs wrk against each HTTP server.
pub fn run(workers: usize, secs: f64) -> Table {
    let rows = SERVERS
        .iter()
        .map(|server| {
            let peer = server.peer;
            super::machine::settle();
            eprint!("  wrk on {peer} ... ");
            let row = match start(&server.http, workers) {
                Err(e) => Row::failed(peer, e),
                Ok(server) => {
                    let url = format!("http://{}/", server.addr);
                    // A 1 s warm-up, as the load generator does.
                    let _ = child::run(
                        Command::new("wrk").args(["-t1", &format!("-c{CONNS}"), "-d1s", &url]),
                        Duration::from_secs(30),
                    );
                    let mut cmd = Command::new("wrk");
                    cmd.args(["-t1", &format!("-c{CONNS}")])
                        .arg(format!("-d{}s", secs.ceil() as u64))
                        .args(["--latency", &url]);
                    let result = child::run(&mut cmd, Duration::from_secs_f64(secs + 60.0));
                    drop(server);
                    match result {
                        Err(e) => Row::failed(peer, format!("wrk: {e}")),
                        Ok(out) => parse(peer, &out.stdout),
                    }
                }
            };
            match row.figure {
                Some(f) => eprintln!("{f:.0} requests/s"),
                None => eprintln!("failed: {}", row.note),
            }
            row
        })
        .collect();
    Table {
        id: "wrk".into(),
        title: format!("wrk, HTTP hello, {CONNS} connections"),
        short: "wrk http hello".into(),
        what: format!(
            "`wrk -t1 -c{CONNS} -d{}s --latency` against each peer's HTTP hello server.",
            secs.ceil()
        ),
        unit: "requests per second".into(),
        better: Better::Higher,
        goal: Goal::NearBest,
        columns: vec!["p50".into(), "p99".into(), "errors".into()],
        rows,
        ceiling: None,
        remarks: Vec::new(),
    }
}

/// Reads wrk's summary: `Requests/sec:`, the latency distribution, errors.
fn parse(peer: &str, out: &str) -> Row {
    let field = |prefix: &str| {
        out.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    };
    let Some(rps) = field("Requests/sec:").and_then(|v| v.parse::<f64>().ok()) else {
        return Row::failed(
            peer,
            format!("no Requests/sec in wrk's output: {}", child::tail(out)),
        );
    };
    let errors = [field("Socket errors:"), field("Non-2xx or 3xx responses:")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ");
    Row::ok(
        peer,
        rps,
        0.0,
        1.0,
        false,
        vec![
            field("50%").unwrap_or_default(),
            field("99%").unwrap_or_default(),
            if errors.is_empty() {
                "none".into()
            } else {
                errors
            },
        ],
    )
}
