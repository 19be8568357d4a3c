//! `reqwest` (async, on tokio) called from 500 coroutines on 2 workers
//! through `weft::compat::tokio::block_on`, against a small HTTP/1.1
//! server written with `weft::net` whose handler sleeps 100 ms: the
//! requests overlap, and every body comes back right.
#![cfg(feature = "tokio")]

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};

const COROUTINES: usize = 500;
const HANDLER_SLEEP: Duration = Duration::from_millis(100);

/// Serves one connection: HTTP/1.1 GETs with keep-alive, each answered
/// after a 100 ms sleep with the body `hello <path>`.
fn serve(mut stream: weft::net::TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        // Read until the end of a request's head (GETs have no body).
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end);
        let path = head
            .split_whitespace()
            .nth(1)
            .expect("a request line")
            .to_string();
        weft::sleep(HANDLER_SLEEP);
        let body = format!("hello {path}");
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn http_server() -> SocketAddr {
    let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    weft::spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            weft::spawn(move || serve(stream));
        }
    });
    addr
}

#[test]
fn reqwest_from_500_coroutines_overlaps_and_every_body_is_right() {
    with_timeout(120, || {
        let rt = runtime(2);
        rt.block_on(|| {
            let addr = http_server();
            // No proxy from the environment: the server is local.
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let start = Instant::now();
            let handles: Vec<_> = (0..COROUTINES)
                .map(|i| {
                    let client = client.clone();
                    weft::spawn(move || {
                        let url = format!("http://{addr}/item/{i}");
                        let (status, body) = weft::compat::tokio::block_on(async {
                            let response = client.get(&url).send().await?;
                            let status = response.status();
                            Ok::<_, reqwest::Error>((status, response.text().await?))
                        })
                        .unwrap();
                        assert_eq!(status, reqwest::StatusCode::OK);
                        assert_eq!(body, format!("hello /item/{i}"));
                        i
                    })
                })
                .collect();
            let mut done = vec![false; COROUTINES];
            for h in handles {
                done[h.join().unwrap()] = true;
            }
            let elapsed = start.elapsed();
            assert!(done.iter().all(|&d| d));
            // Serially this would take 500 x 100 ms = 50 s.
            assert!(
                elapsed < Duration::from_secs(15),
                "500 requests took {elapsed:?}"
            );
            eprintln!("500 reqwest GETs (100 ms handler each) in {elapsed:?}");
        });
    });
}
