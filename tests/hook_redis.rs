//! The `redis` crate's synchronous client (std::net underneath), unmodified,
//! against a real `redis-server`: with the `hook` feature its blocking
//! calls park coroutines, so a `BLPOP` waiting in the server does not
//! stall the worker it runs on.
//!
//! The test starts `redis-server` itself (`.ci/run` installs it) on a
//! free loopback port, and fails loudly if it cannot.
#![cfg(feature = "hook")]

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` child process, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--maxclients", "4000"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install it (apt-get install redis-server)")
            });
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("redis-server exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen in 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Room for a thousand connections (and the server's side of them is
/// another process).
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid rlimit buffers.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max.min(16_384);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

#[test]
fn a_thousand_coroutines_use_the_sync_client_while_blpops_are_parked() {
    raise_fd_limit();
    let server = Server::start();
    let url = server.url();
    let (elapsed, blpop_waited, timed_out) = common::with_timeout(120, move || {
        let rt = common::runtime(2);
        rt.block_on(move || {
            let client = redis::Client::open(url.as_str()).unwrap();
            let start = Instant::now();
            // Two BLPOPs, parked in the server for up to 30 s each: without
            // the hook each would block a worker thread, and with both
            // workers blocked nothing else could run.
            let blpops: Vec<_> = ["jobs-a", "jobs-b"]
                .into_iter()
                .map(|list| {
                    let client = client.clone();
                    weft::spawn(move || {
                        let mut con = client.get_connection().unwrap();
                        let t = Instant::now();
                        let got: Option<(String, String)> = redis::cmd("BLPOP")
                            .arg(list)
                            .arg(30)
                            .query(&mut con)
                            .unwrap();
                        (got, t.elapsed())
                    })
                })
                .collect();
            // And one that times out in the server after 1 s.
            let c = client.clone();
            let short = weft::spawn(move || {
                let mut con = c.get_connection().unwrap();
                let t = Instant::now();
                let got: Option<(String, String)> = redis::cmd("BLPOP")
                    .arg("nothing-here")
                    .arg(1)
                    .query(&mut con)
                    .unwrap();
                assert_eq!(got, None);
                t.elapsed()
            });
            weft::sleep(Duration::from_millis(50));
            let workers: Vec<_> = (0..1000)
                .map(|i| {
                    let client = client.clone();
                    weft::spawn(move || {
                        let mut con = client.get_connection().unwrap();
                        let key = format!("key-{i}");
                        let value = format!("value-{i}");
                        let () = redis::cmd("SET")
                            .arg(&key)
                            .arg(&value)
                            .query(&mut con)
                            .unwrap();
                        let back: String = redis::cmd("GET").arg(&key).query(&mut con).unwrap();
                        assert_eq!(back, value);
                    })
                })
                .collect();
            for w in workers {
                w.join().unwrap();
            }
            // Every SET/GET finished while the BLPOPs were still parked.
            for b in &blpops {
                assert!(!b.is_finished(), "a BLPOP returned early");
            }
            let mut con = client.get_connection().unwrap();
            for list in ["jobs-a", "jobs-b"] {
                let _: i64 = redis::cmd("LPUSH")
                    .arg(list)
                    .arg("go")
                    .query(&mut con)
                    .unwrap();
            }
            let mut waited = Duration::ZERO;
            for (b, list) in blpops.into_iter().zip(["jobs-a", "jobs-b"]) {
                let (got, w) = b.join().unwrap();
                assert_eq!(got, Some((list.to_string(), "go".to_string())));
                waited = waited.max(w);
            }
            let timed_out = short.join().unwrap();
            (start.elapsed(), waited, timed_out)
        })
    });
    eprintln!(
        "redis: 1000 SET/GET coroutines + 2 BLPOPs done in {elapsed:?} (BLPOP parked {blpop_waited:?})"
    );
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
    assert!(
        timed_out >= Duration::from_millis(900) && timed_out < Duration::from_secs(10),
        "{timed_out:?}"
    );
    drop(server);
}
