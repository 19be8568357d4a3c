//! A small HTTP/1.1 keep-alive server answering `Hello, World!`, written
//! like a std::net thread-per-connection server, run on weft coroutines.
//! Load it with `wrk` or `curl`:
//!
//! ```text
//! cargo run --release --example http_hello -- 127.0.0.1:8080
//! wrk -t1 -c256 -d10s http://127.0.0.1:8080/
//! ```
//! `examples/http_hello_tokio.rs` is the same logic on tokio, for comparison.

use std::io::{self, Read, Write};
use std::time::Duration;

use weft::net::{TcpListener, TcpStream};

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

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = TcpListener::bind(addr.as_str())?;
    println!("http_hello on http://{}/", listener.local_addr()?);
    weft::run(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => {
                    weft::spawn(move || handle(stream));
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    eprintln!("accept failed: {e}; retrying in 100 ms");
                    weft::sleep(Duration::from_millis(100));
                }
            }
        }
    });
    Ok(())
}
