//! The echo server of `examples/echo.rs --serve`, on may's stackful
//! coroutines with `WEFT_WORKERS` workers (else one per available core): a
//! coroutine per connection, the same 16 KiB read-then-write-back loop. For
//! `compare` (`compare/src/main.rs`).
//!
//! ```text
//! cargo run --release -p compare --bin peer_echo_may -- 127.0.0.1:7000
//! ```
//!
//! With `ECHO_READ_TIMEOUT_MS` set, every read has that timeout (`set_read_timeout`).

use std::io::{self, Read, Write};
use std::time::Duration;

use may::net::{TcpListener, TcpStream};

/// Echoes everything back until the peer closes (or, with a `timeout`,
/// stays silent that long: the timeout applies to every read).
fn handle(mut stream: TcpStream, timeout: Option<Duration>) -> io::Result<u64> {
    stream.set_read_timeout(timeout)?;
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n])?;
        total += n as u64;
    }
}

fn workers() -> usize {
    std::env::var("WEFT_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `ECHO_READ_TIMEOUT_MS`, if set: the read timeout of every connection.
fn read_timeout() -> Option<Duration> {
    let ms = std::env::var("ECHO_READ_TIMEOUT_MS").ok()?.parse().ok()?;
    Some(Duration::from_millis(ms))
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    may::config().set_workers(workers());
    let timeout = read_timeout();
    let server = may::go!(move || -> io::Result<()> {
        let listener = TcpListener::bind(addr.as_str())?;
        println!("echo server (may) on {}", listener.local_addr()?);
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => {
                    may::go!(move || handle(stream, timeout));
                }
                Err(e) => {
                    eprintln!("echo: accept failed: {e}; retrying in 100 ms");
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
