//! Memory per idle task: each peer spawns 10,000 and 1,000,000 tasks
//! (threads: 10,000 only) that wait forever, in a child process of its
//! own (`--child idle PEER N`), which reports its resident memory before
//! and after, the wall time until all of them had started, and the CPU
//! time the process used meanwhile (every thread's: on a shared machine
//! the wall time also counts the waits for a core, the CPU time does
//! not).

use std::process::Command;
use std::time::Duration;

use super::child;
use super::table::{Better, Goal, Row, Table};
use super::workloads::{Harness, Peer, idle};

/// Child side: prints one JSON line and exits without tearing down.
pub fn child_main(peer: &str, n: u64) {
    let peer = Peer::from_name(peer).expect("a known peer");
    let harness = Harness::new(peer, super::workloads::workers());
    // Start the runtime's threads and pools before the baseline.
    idle::spawn_idle(&harness, 1);
    let before = idle::rss_kib();
    let cpu_before = super::cpu::process_cpu();
    let spawn = idle::spawn_idle(&harness, n);
    let cpu = super::cpu::process_cpu().saturating_sub(cpu_before);
    let after = idle::rss_kib();
    println!(
        "{{\"rss_before_kib\":{before},\"rss_after_kib\":{after},\"kib_per_task\":{:.4},\"spawn_ms\":{:.3},\"spawn_cpu_ms\":{:.3}}}",
        after.saturating_sub(before) as f64 / n as f64,
        spawn.as_secs_f64() * 1e3,
        cpu.as_secs_f64() * 1e3
    );
    std::process::exit(0);
}

/// Parent side: for each count, a memory table and a spawn-time table.
pub fn run() -> Vec<Table> {
    let mut tables = Vec::new();
    for (n, label) in [(10_000u64, "10,000"), (1_000_000, "1,000,000")] {
        let mut memory = Vec::new();
        let mut spawn = Vec::new();
        for peer in Peer::ALL {
            eprint!("  {label} idle tasks on {} ... ", peer.name());
            if peer == Peer::Threads && n > 10_000 {
                eprintln!("not run");
                let why = "not run: the issue measures threads at 10,000 only";
                memory.push(Row::failed(peer.name(), why));
                spawn.push(Row::failed(peer.name(), why));
                continue;
            }
            super::machine::settle();
            let mut cmd = Command::new(child::own_exe());
            cmd.args(["--child", "idle", peer.name(), &n.to_string()]);
            match child::run(&mut cmd, Duration::from_secs(180)) {
                Ok(out) if out.json_line().is_some() => {
                    let line = out.json_line().expect("checked");
                    let num = |k| child::json_number(line, k).unwrap_or(f64::NAN);
                    let (kib, ms) = (num("kib_per_task"), num("spawn_ms"));
                    eprintln!("{kib:.2} KiB each, spawned in {ms:.0} ms");
                    let rss = format!(
                        "{:.0} → {:.0}",
                        num("rss_before_kib") / 1024.0,
                        num("rss_after_kib") / 1024.0
                    );
                    memory.push(Row::ok(peer.name(), kib, 0.0, 1.0, false, vec![rss]));
                    spawn.push(Row::ok(
                        peer.name(),
                        ms,
                        0.0,
                        1.0,
                        false,
                        vec![
                            format!("{:.0}", ms * 1e6 / n as f64),
                            format!("{:.0}", num("spawn_cpu_ms") * 1e6 / n as f64),
                        ],
                    ));
                }
                Ok(_) => {
                    eprintln!("no result");
                    memory.push(Row::failed(peer.name(), "no result line"));
                    spawn.push(Row::failed(peer.name(), "no result line"));
                }
                Err(e) => {
                    eprintln!("failed: {e}");
                    let why = child::explain(&e);
                    memory.push(Row::failed(peer.name(), why.clone()));
                    spawn.push(Row::failed(peer.name(), why));
                }
            }
        }
        let suffix = if n == 10_000 { "10k" } else { "1m" };
        tables.push(Table {
            id: format!("memory_{suffix}"),
            title: format!("Resident memory per idle task, {label} tasks"),
            short: format!("memory, {label} tasks"),
            what: format!(
                "{label} tasks that wait forever (no timer); resident set growth of the \
                 process divided by {label}. Each peer in its own process."
            ),
            unit: "KiB per idle task".into(),
            better: Better::Lower,
            goal: Goal::NearBest,
            columns: vec!["resident MiB before → after".into()],
            rows: memory,
            ceiling: None,
            remarks: Vec::new(),
        });
        tables.push(Table {
            id: format!("spawn_idle_{suffix}"),
            title: format!("Time to spawn {label} idle tasks"),
            short: format!("spawn {label} idle"),
            what: format!(
                "Wall time from the first spawn until all {label} tasks have started and \
                 wait (same runs as the memory table); *CPU ns per task* is the CPU the \
                 process used meanwhile, all threads: waits for a core do not inflate it."
            ),
            unit: "ms for all".into(),
            better: Better::Lower,
            goal: Goal::NearBest,
            columns: vec!["ns per task".into(), "CPU ns per task".into()],
            rows: spawn,
            ceiling: None,
            remarks: Vec::new(),
        });
    }
    tables
}
