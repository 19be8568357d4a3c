//! A server out of descriptors. A child process runs the README's echo
//! server (an `incoming()` loop that logs an accept error and sleeps
//! 100 ms) with `RLIMIT_NOFILE` lowered to leave room for a few dozen
//! connections; this test is its client. Once the server is at its limit:
//!
//! - `accept` reports `EMFILE` as std does (the server logs errno 24);
//! - every connection it already has keeps being served;
//! - the backing-off loop uses under 10% of a core (the child's CPU time,
//!   from `/proc/<pid>/stat`, over two seconds; the figure is printed);
//! - when connections close, the waiting connection is accepted and served.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::with_timeout;

const CHILD: &str = "WEFT_FD_EXHAUSTION_CHILD";
/// Descriptors the child may open beyond those it has when it lowers its
/// limit (plus any holes below its highest one).
const ROOM: u64 = 24;

/// The server: prints `port N`, then `accepted` per connection and
/// `error <errno>` per failed accept; exits when its stdin closes.
fn child() {
    let rt = common::runtime(2);
    let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    println!("port {}", listener.local_addr().unwrap().port());
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        // New descriptors fill the lowest free numbers first: room is
        // the limit less the descriptors open, unless one sits higher.
        let (open, highest) = open_fds();
        limit.rlim_cur = (open + ROOM).max(highest + 1);
        eprintln!(
            "server: {open} descriptors open, highest {highest}, limit {}",
            limit.rlim_cur
        );
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
    rt.spawn(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(mut stream) => {
                    println!("accepted");
                    weft::spawn(move || {
                        let mut buf = [0; 4096];
                        while let Ok(n @ 1..) = stream.read(&mut buf) {
                            if stream.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    });
                }
                // As the README shows: back off instead of spinning.
                Err(e) => {
                    println!("error {}", e.raw_os_error().unwrap_or(-1));
                    weft::sleep(Duration::from_millis(100));
                }
            }
        }
    });
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    std::process::exit(0);
}

/// How many descriptors are open, and the highest one.
fn open_fds() -> (u64, u64) {
    let fds: Vec<u64> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .collect();
    (fds.len() as u64, fds.into_iter().max().unwrap())
}

/// utime + stime of process `pid`, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) may hold spaces: split after its ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks as f64 / per_second
}

fn echo(conn: &mut TcpStream, msg: &[u8]) {
    conn.write_all(msg).unwrap();
    let mut back = vec![0; msg.len()];
    conn.read_exact(&mut back).unwrap();
    assert_eq!(back, msg);
}

/// The next line from the child, or `None` after `wait`.
fn next_line(lines: &mpsc::Receiver<String>, wait: Duration) -> Option<String> {
    lines.recv_timeout(wait).ok()
}

#[test]
fn a_server_out_of_descriptors_keeps_serving_backs_off_and_recovers() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    with_timeout(60, parent);
}

fn parent() {
    let mut server = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_server_out_of_descriptors_keeps_serving_backs_off_and_recovers",
            "--nocapture",
            "-q",
        ])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = server.id();
    let (tx, lines) = mpsc::channel();
    let stdout = server.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let port = loop {
        let line = next_line(&lines, Duration::from_secs(10)).expect("the server starts");
        if let Some(port) = line.strip_prefix("port ") {
            break port.parse::<u16>().unwrap();
        }
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));

    // Connect until the server cannot accept any more.
    let mut conns = Vec::new();
    let mut waiting = loop {
        assert!(conns.len() < 5_000, "the limit never bit");
        let mut conn = TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        match next_line(&lines, Duration::from_secs(5)).as_deref() {
            Some("accepted") => {
                echo(&mut conn, b"hello");
                conns.push(conn);
            }
            Some(error) => {
                assert_eq!(error, format!("error {}", libc::EMFILE), "accept's error");
                break conn;
            }
            None => panic!("the server neither accepted nor failed"),
        }
    };
    eprintln!("the server holds {} connections at its limit", conns.len());
    assert!(conns.len() >= ROOM as usize / 2);

    // At the limit: the existing connections are served...
    for (i, conn) in conns.iter_mut().enumerate() {
        echo(conn, format!("still here {i}").as_bytes());
    }
    // ... and the accept loop backs off instead of spinning.
    let cpu_before = cpu_seconds(pid);
    let start = Instant::now();
    let mut errors = 0;
    while start.elapsed() < Duration::from_secs(2) {
        if let Some(line) = next_line(&lines, Duration::from_millis(100)) {
            assert_eq!(line, format!("error {}", libc::EMFILE));
            errors += 1;
        }
    }
    let share = (cpu_seconds(pid) - cpu_before) / start.elapsed().as_secs_f64();
    eprintln!(
        "at the limit: {errors} failed accepts in {:?}, server CPU {:.1}% of a core",
        start.elapsed(),
        share * 100.0
    );
    assert!(
        share < 0.10,
        "the server spins: {:.1}% of a core",
        share * 100.0
    );
    assert!(errors >= 5, "the server retried accept {errors} times");

    // Free two descriptors: the waiting connection is accepted and served.
    conns.truncate(conns.len() - 2);
    loop {
        match next_line(&lines, Duration::from_secs(5)).as_deref() {
            Some("accepted") => break,
            Some(line) => assert_eq!(line, format!("error {}", libc::EMFILE)),
            None => panic!("the server did not recover"),
        }
    }
    echo(&mut waiting, b"finally");
    for conn in &mut conns {
        echo(conn, b"and the rest");
    }
    drop(server.stdin.take());
    assert!(server.wait().unwrap().success());
}
