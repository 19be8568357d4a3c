//! Unmodified std-based client and server crates with the `hook` feature:
//! `ureq` and `tungstenite` clients in coroutines against weft servers,
//! and `tiny_http`'s server (its own threads) answering from coroutines.
//! Each checks that the work overlapped: the total is near the longest
//! request, not the sum.
#![cfg(feature = "hook")]

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

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

/// A minimal HTTP/1.1 server on weft::net: every request gets "hello"
/// after a 100 ms `weft::sleep`.
fn slow_http_server() -> SocketAddr {
    let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    weft::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            weft::spawn(move || {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                loop {
                    let Ok(n) = stream.read(&mut buf) else { return };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    if request.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
                weft::sleep(Duration::from_millis(100));
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
                );
            });
        }
    });
    addr
}

#[test]
fn five_hundred_ureq_gets_overlap() {
    raise_fd_limit();
    let elapsed = common::with_timeout(120, || {
        let rt = common::runtime(2);
        rt.block_on(|| {
            let addr = slow_http_server();
            let url = format!("http://{addr}/");
            let start = Instant::now();
            let gets: Vec<_> = (0..500)
                .map(|_| {
                    let url = url.clone();
                    weft::spawn(move || {
                        let mut response = ureq::get(&url).call().unwrap();
                        response.body_mut().read_to_string().unwrap()
                    })
                })
                .collect();
            for g in gets {
                assert_eq!(g.join().unwrap(), "hello");
            }
            start.elapsed()
        })
    });
    eprintln!("ureq: 500 GETs of a 100 ms handler in {elapsed:?}");
    // One after the other: 500 × 100 ms = 50 s.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

#[test]
fn tungstenite_over_a_std_tcp_stream_talks_to_a_weft_echo_server() {
    let elapsed = common::with_timeout(120, || {
        let rt = common::runtime(2);
        rt.block_on(|| {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            weft::spawn(move || {
                for stream in listener.incoming() {
                    let stream = stream.unwrap();
                    weft::spawn(move || {
                        let mut ws = tungstenite::accept(stream).unwrap();
                        while let Ok(msg) = ws.read() {
                            if msg.is_close() {
                                break;
                            }
                            weft::sleep(Duration::from_millis(100));
                            if ws.send(msg).is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            let start = Instant::now();
            let clients: Vec<_> = (0..100)
                .map(|i| {
                    weft::spawn(move || {
                        // Unmodified std socket under tungstenite's client.
                        let stream = std::net::TcpStream::connect(addr).unwrap();
                        let (mut ws, _) =
                            tungstenite::client(format!("ws://{addr}/"), stream).unwrap();
                        for round in 0..3 {
                            let text = format!("client {i} round {round}");
                            ws.send(tungstenite::Message::text(text.clone())).unwrap();
                            let back = ws.read().unwrap();
                            assert_eq!(back.into_text().unwrap().as_str(), text);
                        }
                        ws.close(None).unwrap();
                    })
                })
                .collect();
            for c in clients {
                c.join().unwrap();
            }
            start.elapsed()
        })
    });
    eprintln!("tungstenite: 100 clients × 3 echoes of 100 ms in {elapsed:?}");
    // One after the other: 100 × 3 × 100 ms = 30 s.
    assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");
}

#[test]
fn tiny_http_threads_stay_threads_and_handlers_run_on_coroutines() {
    let elapsed = common::with_timeout(120, || {
        let rt = common::runtime(2);
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let addr = server.server_addr().to_ip().unwrap();
        // tiny_http's own accept and connection threads, unmodified; each
        // request crosses to a coroutine that answers it.
        let (tx, rx) = weft::sync::mpsc::channel::<tiny_http::Request>();
        let dispatcher = std::thread::spawn(move || {
            for request in server.incoming_requests() {
                if request.url() == "/stop" {
                    let _ = request.respond(tiny_http::Response::from_string("bye"));
                    return;
                }
                tx.send(request).unwrap();
            }
        });
        let start = Instant::now();
        let elapsed = rt.block_on(move || {
            weft::spawn(move || {
                for request in rx {
                    weft::spawn(move || {
                        std::thread::sleep(Duration::from_millis(100)); // parks
                        request
                            .respond(tiny_http::Response::from_string("hi"))
                            .unwrap();
                    });
                }
            });
            let gets: Vec<_> = (0..100)
                .map(|_| {
                    weft::spawn(move || {
                        // Two requests on one keep-alive connection: the
                        // socket goes from tiny_http's thread to a
                        // coroutine and back.
                        let agent = ureq::Agent::new_with_defaults();
                        for _ in 0..2 {
                            let mut r = agent.get(format!("http://{addr}/")).call().unwrap();
                            assert_eq!(r.body_mut().read_to_string().unwrap(), "hi");
                        }
                    })
                })
                .collect();
            for g in gets {
                g.join().unwrap();
            }
            start.elapsed()
        });
        let mut r = ureq::get(format!("http://{addr}/stop")).call().unwrap();
        assert_eq!(r.body_mut().read_to_string().unwrap(), "bye");
        dispatcher.join().unwrap();
        elapsed
    });
    eprintln!("tiny_http: 100 clients × 2 requests of 100 ms in {elapsed:?}");
    // One after the other: 200 × 100 ms = 20 s.
    assert!(elapsed < Duration::from_secs(8), "took {elapsed:?}");
}
