//! The whole weft-versus-peers comparison in one command:
//!
//! ```text
//! cargo run --release -p compare            # everything, ~6 minutes on 2 cores
//! cargo run --release -p compare -- --only micro,net --secs 2
//! ```
//!
//! It builds the servers and the load generator (`cargo build --release
//! -p weft -p compare --bins --examples`), then runs, each measurement in a
//! child process of its own:
//!
//! 1. the in-process workloads of `workloads/` (spawn + join,
//!    yield, channel ping-pong, mutex contention) on weft, tokio
//!    (multi-thread and current-thread), smol, may and std threads
//!    (`micro.rs`);
//! 2. the network workloads: every peer's echo and HTTP hello server in
//!    its own process, driven by `src/bin/loadgen.rs` (`net.rs`);
//! 3. resident memory per idle task at 10,000 and 1,000,000 tasks, and
//!    the time to spawn them (`memory.rs`);
//! 4. timers at scale: `src/bin/timer_scale.rs` at 10,000 and 1,000,000
//!    sleeping tasks, weft beside tokio (`timers.rs`);
//! 5. `wrk` against every HTTP server, installing it if it can (`wrk.rs`);
//!
//! and writes `BENCHMARKS.md` with SVG charts under `compare/charts/`
//! (`report.rs`, `chart.rs`). Every peer gets `WEFT_BENCH_WORKERS` worker
//! threads (default 2).

mod chart;
mod child;
mod cpu;
mod goals;
mod machine;
mod memory;
mod micro;
mod net;
mod report;
mod table;
mod timers;
mod wrk;

mod workloads;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use report::{Context, Section};

fn usage() -> ! {
    eprintln!(
        "usage: compare [--only micro,net,memory,timers,wrk] [--secs S] [--rounds N] [--no-build]\n\
         writes BENCHMARKS.md and compare/charts/*.svg in the repository"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        return child_main(&args[1..]);
    }
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args.get(i + 1).cloned().unwrap_or_else(|| usage()))
    };
    if args.iter().any(|a| a == "--help" || a == "-h") {
        usage();
    }
    let only = value("--only").unwrap_or_else(|| "micro,net,memory,timers,wrk".into());
    let parts: Vec<&str> = only.split(',').map(str::trim).collect();
    if parts
        .iter()
        .any(|p| !["micro", "net", "memory", "timers", "wrk"].contains(p))
    {
        usage();
    }
    let secs: f64 = value("--secs").map_or(3.0, |v| v.parse().unwrap_or_else(|_| usage()));
    let rounds: usize = value("--rounds").map_or(2, |v| v.parse().unwrap_or_else(|_| usage()));
    // The workspace root: BENCHMARKS.md and Cargo.lock live there.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("compare/ sits in the weft repository");
    let workers = workloads::workers();
    let started = Instant::now();

    if !args.iter().any(|a| a == "--no-build") {
        build(root);
    }
    eprintln!("measuring how busy the machine is before the run ...");
    let busy_before = machine::busy(Duration::from_secs(1));
    let machine = machine::Machine::describe();
    let mut sections = Vec::new();
    let mut skipped = Vec::new();

    if parts.contains(&"micro") {
        eprintln!("in-process workloads:");
        sections.push(Section {
            title: "In-process workloads",
            intro: "Each peer's own spawn, yield, channel and mutex, on the same number of \
                    worker threads; tokio's current-thread runtime runs everything on one."
                .into(),
            tables: micro::run(Duration::from_millis(1500)),
        });
    }
    if parts.contains(&"net") {
        eprintln!("network workloads:");
        sections.push(Section {
            title: "Network",
            intro: format!(
                "Servers: weft's `examples/echo.rs --serve` and `examples/http_hello.rs`; \
                 the peers' `compare/src/bin/peer_{{echo,http}}_{{tokio,smol,may,threads}}.rs` \
                 (tokio's also with `--current-thread`: its current-thread runtime, one \
                 thread). All the same logic \
                 (a task per connection, read then write back), {workers} worker threads each \
                 (threads: one per connection). {secs} s measured per run after a 1 s warm-up; \
                 {rounds} rounds, interleaved, each peer's best round shown."
            ),
            tables: net::run(workers, secs, rounds),
        });
    }
    if parts.contains(&"memory") {
        eprintln!("memory:");
        sections.push(Section {
            title: "Memory and spawn time of idle tasks",
            intro: "may is expected to fail at 1,000,000 on a stock `vm.max_map_count` \
                    (65,530): it maps each coroutine stack with its own guard page."
                .into(),
            tables: memory::run(),
        });
    }
    if parts.contains(&"timers") {
        eprintln!("timers:");
        sections.push(Section {
            title: "Timers at scale",
            intro: "`compare/src/bin/timer_scale.rs` in a process of its own, weft beside \
                    tokio's multi-thread and current-thread runtimes; CPU time (getrusage), \
                    the least of three runs where it repeats."
                .into(),
            tables: timers::run(),
        });
    }
    if parts.contains(&"wrk") {
        eprintln!("wrk:");
        match wrk::ensure() {
            Ok(()) => sections.push(Section {
                title: "wrk",
                intro: String::new(),
                tables: vec![wrk::run(workers, secs)],
            }),
            Err(e) => {
                eprintln!("  skipped: {e}");
                skipped.push(format!("wrk: {e}"));
            }
        }
    }
    let busy_after = machine::busy(Duration::from_secs(1));
    let cx = Context {
        machine,
        workers,
        busy_before,
        busy_after,
        duration_secs: started.elapsed().as_secs_f64(),
        skipped,
        peers: peers(root),
    };
    match report::write(root, &cx, &sections) {
        Ok(()) => eprintln!(
            "wrote {} in {:.0} s",
            root.join("BENCHMARKS.md").display(),
            cx.duration_secs
        ),
        Err(e) => {
            eprintln!("compare: writing the report failed: {e}");
            std::process::exit(1);
        }
    }
}

/// `--child micro WORKLOAD PEER [--budget-ms=N]` or `--child idle PEER N`.
fn child_main(args: &[String]) {
    match args {
        [kind, workload, peer, rest @ ..] if kind == "micro" => {
            let budget = rest
                .iter()
                .find_map(|a| a.strip_prefix("--budget-ms="))
                .and_then(|v| v.parse().ok())
                .unwrap_or(1500);
            micro::child_main(workload, peer, Duration::from_millis(budget));
        }
        [kind, peer, n] if kind == "idle" => {
            memory::child_main(peer, n.parse().unwrap_or_else(|_| usage()));
        }
        _ => usage(),
    }
}

/// Builds weft's example servers and this package's binaries (the peers'
/// servers, the load generator) in release mode; a failure is reported and
/// the run goes on with what was built.
fn build(root: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let args = [
        "build",
        "--release",
        "-p",
        "weft",
        "-p",
        "compare",
        "--bins",
        "--examples",
    ];
    eprintln!("building the servers: cargo {} ...", args.join(" "));
    let status = Command::new(cargo).args(args).current_dir(root).status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!("compare: the build failed ({s}); going on with what exists"),
        Err(e) => eprintln!("compare: cannot run cargo ({e}); going on with what exists"),
    }
}

/// The peers and their versions, from `Cargo.lock`.
fn peers(root: &Path) -> String {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
    let version = |name: &str| {
        let needle = format!("name = \"{name}\"\nversion = \"");
        lock.find(&needle)
            .map(|at| {
                let rest = &lock[at + needle.len()..];
                rest[..rest.find('"').unwrap_or(0)].to_string()
            })
            .unwrap_or_else(|| "?".into())
    };
    format!(
        "Peers: **weft** {}; **tokio** {} (multi-thread runtime, and current-thread on \
         every row: one thread for everything); **smol** {} (an `async-executor` run by the same \
         number of threads, async-io's reactor); **may** {} (stackful coroutines, \
         workers pinned to cores as by default); **threads**: std, one OS thread per task.",
        env!("CARGO_PKG_VERSION"),
        version("tokio"),
        version("smol"),
        version("may")
    )
}
