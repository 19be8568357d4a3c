//! `weft::dump()`: every live coroutine, its state and what it waits on.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};
use weft::{CoroutineState, WaitFor};

fn find(dump: &weft::Dump, name: &str) -> weft::CoroutineRecord {
    dump.coroutines()
        .find(|c| c.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no coroutine named {name} in\n{dump}"))
        .clone()
}

/// Polls `dump()` until `pred` holds (bounded by the test's timeout).
fn dump_until(pred: impl Fn(&weft::Dump) -> bool) -> weft::Dump {
    loop {
        let d = weft::dump();
        if pred(&d) {
            return d;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn parked_coroutines_show_what_they_wait_for() {
    with_timeout(20, || {
        let rt = runtime(2);
        let sleeper = rt.block_on(|| {
            weft::Builder::new()
                .name("dump-sleeper".into())
                .spawn(|| weft::sleep(Duration::from_secs(60)))
                .unwrap()
        });
        let parker = rt.block_on(|| {
            weft::Builder::new()
                .name("dump-parker".into())
                .spawn(|| {
                    loop {
                        weft::park()
                    }
                })
                .unwrap()
        });
        let sleeper_id = sleeper.id();
        let joiner = rt.block_on(move || {
            weft::Builder::new()
                .name("dump-joiner".into())
                .spawn(move || {
                    let _ = sleeper.join();
                })
                .unwrap()
        });
        // A small server: an acceptor parked in accept, a connection
        // handler parked in read (its client never sends).
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let listen_fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
        let acceptor = rt.block_on(move || {
            weft::Builder::new()
                .name("dump-acceptor".into())
                .spawn(move || {
                    let (mut conn, _) = listener.accept().unwrap();
                    weft::Builder::new()
                        .name("dump-reader".into())
                        .spawn(move || {
                            let mut buf = [0u8; 16];
                            let _ = std::io::Read::read(&mut conn, &mut buf);
                        })
                        .unwrap();
                    let _ = listener.accept();
                })
                .unwrap()
        });
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (tx, rx) = weft::sync::mpsc::channel::<u32>();
        let consumer = rt.block_on(move || {
            weft::Builder::new()
                .name("dump-consumer".into())
                .spawn(move || rx.iter().count())
                .unwrap()
        });
        let d = dump_until(|d| {
            [
                "dump-sleeper",
                "dump-parker",
                "dump-joiner",
                "dump-acceptor",
                "dump-reader",
                "dump-consumer",
            ]
            .iter()
            .all(|n| {
                d.coroutines()
                    .any(|c| c.name.as_deref() == Some(n) && c.state == CoroutineState::Parked)
            })
        });
        let s = find(&d, "dump-sleeper");
        assert!(matches!(s.wait, Some(WaitFor::Sleep(_))), "{d}");
        assert!(s.spawned_at.file().ends_with("dump.rs"), "{}", s.spawned_at);
        assert!(s.stack_used > 0 && s.stack_used <= s.stack_size, "{d}");
        assert!(s.stack_high_water >= s.stack_used);
        assert_eq!(find(&d, "dump-parker").wait, Some(WaitFor::Park));
        assert_eq!(
            find(&d, "dump-joiner").wait,
            Some(WaitFor::Join(sleeper_id))
        );
        assert_eq!(
            find(&d, "dump-acceptor").wait,
            Some(WaitFor::Socket {
                fd: listen_fd,
                write: false
            }),
            "{d}"
        );
        assert!(
            matches!(
                find(&d, "dump-reader").wait,
                Some(WaitFor::Socket { write: false, .. })
            ),
            "{d}"
        );
        assert_eq!(
            find(&d, "dump-consumer").wait,
            Some(WaitFor::Channel),
            "{d}"
        );
        let text = d.to_string();
        assert!(
            text.contains("coroutine") && text.contains("'dump-joiner' [parked: join of coroutine"),
            "{text}"
        );
        assert!(d.workers().count() >= 2);
        drop(tx);
        assert_eq!(consumer.join().unwrap(), 0);
        acceptor.cancel();
        assert!(acceptor.join().is_err());
        drop(client);
        joiner.cancel();
        parker.cancel();
        assert!(joiner.join().is_err());
        assert!(parker.join().is_err());
    });
}

#[test]
fn joining_a_blocking_job_shows_blocking_work() {
    with_timeout(20, || {
        let rt = runtime(1);
        let release = Arc::new(AtomicBool::new(false));
        let r = release.clone();
        let joiner = rt.block_on(move || {
            weft::Builder::new()
                .name("dump-blocking-joiner".into())
                .spawn(move || {
                    weft::spawn_blocking(move || {
                        while !r.load(Ordering::Acquire) {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    })
                    .join()
                    .unwrap()
                })
                .unwrap()
        });
        let d = dump_until(|d| {
            d.coroutines().any(|c| {
                c.name.as_deref() == Some("dump-blocking-joiner")
                    && c.state == CoroutineState::Parked
            })
        });
        assert_eq!(
            find(&d, "dump-blocking-joiner").wait,
            Some(WaitFor::Blocking),
            "{d}"
        );
        release.store(true, Ordering::Release);
        joiner.join().unwrap();
    });
}

#[test]
fn a_dump_counts_every_coroutine_not_started_yet() {
    with_timeout(20, || {
        // One worker, busy running the spawner: none of the 1,000 can
        // start, and most of them overflow the worker's local queue.
        let rt = runtime(1);
        let text = rt.block_on(|| {
            let handles: Vec<_> = (0..1000).map(|_| weft::spawn(|| ())).collect();
            let text = weft::dump().to_string();
            for h in handles {
                h.join().unwrap();
            }
            text
        });
        assert!(
            text.contains(": 1000 coroutines spawned, not started yet"),
            "{text}"
        );
    });
}

#[test]
fn a_dump_completes_while_every_worker_is_busy() {
    with_timeout(20, || {
        let rt = runtime(2);
        let stop = Arc::new(AtomicBool::new(false));
        let spinners: Vec<_> = (0..2)
            .map(|i| {
                let stop = stop.clone();
                rt.block_on(|| {
                    weft::Builder::new()
                        .name(format!("dump-spinner-{i}"))
                        .spawn(move || {
                            // Never parks while the dump is taken.
                            while !stop.load(Ordering::Relaxed) {
                                std::hint::spin_loop();
                            }
                        })
                        .unwrap()
                })
            })
            .collect();
        let d = dump_until(|d| {
            d.coroutines()
                .filter(|c| {
                    c.name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("dump-spinner"))
                })
                .filter(|c| c.state == CoroutineState::Running)
                .count()
                == 2
        });
        let t = Instant::now();
        let again = weft::dump();
        assert!(t.elapsed() < Duration::from_secs(1));
        assert!(again.to_string().contains("running on worker"), "{d}");
        stop.store(true, Ordering::Relaxed);
        for h in spinners {
            h.join().unwrap();
        }
    });
}

#[test]
fn a_joined_coroutine_is_in_no_dump() {
    with_timeout(60, || {
        let rt = runtime(2);
        for round in 0..2_000 {
            let h = rt.spawn(|| ());
            let id = h.id();
            h.join().unwrap();
            // Also the worker's "running" record: the coroutine is gone.
            let d = weft::dump();
            assert!(
                d.coroutines().all(|c| c.id != id) && d.workers().all(|w| w.running != Some(id)),
                "round {round}: coroutine {id} still in a dump after its join:\n{d}"
            );
        }
    });
}

const CHILD_ENV: &str = "WEFT_TEST_DUMP_CHILD";

/// The child: a default-runtime program that keeps serving after a dump.
#[test]
fn dump_signal_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    weft::run(|| {
        let _napper = weft::Builder::new()
            .name("signal-napper".into())
            .spawn(|| weft::sleep(Duration::from_secs(60)))
            .unwrap();
        println!("ready");
        // Go on serving: tick until stdin closes, answering each line.
        let mut line = String::new();
        let stdin = std::io::stdin();
        loop {
            line.clear();
            // Reading stdin blocks this worker; fine for a test child.
            if stdin.read_line(&mut line).unwrap() == 0 {
                break;
            }
            println!("pong");
        }
    });
}

#[test]
fn a_signal_prints_the_dump_and_the_program_goes_on() {
    with_timeout(20, || {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "dump_signal_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, "1")
            .env("WEFT_DUMP_SIGNAL", "USR1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("ready") {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "child exited early");
        }
        std::thread::sleep(Duration::from_millis(50));
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) }, 0);
        std::thread::sleep(Duration::from_millis(300));
        // Still serving.
        let mut stdin = child.stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, b"ping\n").unwrap();
        line.clear();
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "pong");
        drop(stdin);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("weft dump:"), "stderr: {stderr}");
        assert!(
            stderr.contains("'signal-napper' [parked: sleep"),
            "stderr: {stderr}"
        );
    });
}
