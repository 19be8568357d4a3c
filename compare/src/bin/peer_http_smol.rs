//! The `Hello, World!` HTTP/1.1 keep-alive server of
//! `examples/http_hello.rs`, on smol: one `Executor` run by `WEFT_WORKERS`
//! threads (else one per available core), a task per connection. For
//! `compare` (`compare/src/main.rs`) and `wrk`.
//!
//! ```text
//! cargo run --release -p compare --bin peer_http_smol -- 127.0.0.1:8080
//! ```

use std::io;
use std::sync::Arc;
use std::time::Duration;

use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/// Serves requests on one connection until the client closes it.
async fn handle(mut stream: TcpStream) -> io::Result<()> {
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
                    stream
                        .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                        .await?;
                    return Ok(());
                }
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        buf.copy_within(consumed..filled, 0);
        filled -= consumed;
        if filled == buf.len() {
            return Ok(()); // request headers too large
        }
        let n = stream.read(&mut buf[filled..]).await?;
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
    let ex = Arc::new(smol::Executor::new());
    for _ in 1..workers() {
        let ex = ex.clone();
        std::thread::spawn(move || smol::block_on(ex.run(smol::future::pending::<()>())));
    }
    // This thread is the last of the executor's threads.
    smol::block_on(ex.clone().run(async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        println!("http_hello (smol) on http://{}/", listener.local_addr()?);
        loop {
            match listener.accept().await {
                Ok((stream, _)) => ex.spawn(handle(stream)).detach(),
                Err(e) => {
                    eprintln!("accept failed: {e}; retrying in 100 ms");
                    smol::Timer::after(Duration::from_millis(100)).await;
                }
            }
        }
    }))
}
