//! The `Hello, World!` HTTP/1.1 keep-alive server of
//! `examples/http_hello.rs`, on may's stackful coroutines with
//! `WEFT_WORKERS` workers (else one per available core), a coroutine per
//! connection. For `compare` (`compare/src/main.rs`) and `wrk`.
//!
//! ```text
//! cargo run --release -p compare --bin peer_http_may -- 127.0.0.1:8080
//! ```

use may::net::{TcpListener, TcpStream};
use std::io::{self, Read, Write};
use std::time::Duration;

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/// Serves requests on one connection until the client closes it.
fn handle(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 8192];
    let mut filled = 0;
    let mut out = Vec::with_capacity(4096);
    loop {
        // Answer every complete request in the buffer (pipelining).
        let mut consumed = 0;
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&buf[consumed..filled]) {
                Ok(httparse::Status::Complete(len)) => {
                    out.extend_from_slice(RESPONSE);
                    consumed += len;
                }
                Ok(httparse::Status::Partial) => break,
                Err(_) => {
                    stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")?;
                    return Ok(());
                }
            }
        }
        if !out.is_empty() {
            stream.write_all(&out)?;
            out.clear();
        }
        buf.copy_within(consumed..filled, 0);
        filled -= consumed;
        if filled == buf.len() {
            return Ok(()); // request headers too large
        }
        let n = stream.read(&mut buf[filled..])?;
        if n == 0 {
            return Ok(());
        }
        filled += n;
    }
}

fn workers() -> usize {
    std::env::var("WEFT_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    may::config().set_workers(workers());
    let server = may::go!(move || -> io::Result<()> {
        let listener = TcpListener::bind(addr.as_str())?;
        println!("http_hello (may) on http://{}/", listener.local_addr()?);
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => {
                    may::go!(move || handle(stream));
                }
                Err(e) => {
                    eprintln!("accept failed: {e}; retrying in 100 ms");
                    may::coroutine::sleep(Duration::from_millis(100));
                }
            }
        }
        Ok(())
    });
    server
        .join()
        .map_err(|_| io::Error::other("the server panicked"))?
}
