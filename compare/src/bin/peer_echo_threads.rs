//! The echo server of `examples/echo.rs --serve`, on plain `std::net` and
//! one OS thread per connection — the code weft's version is a copy of,
//! with `std::` in the `use` lines. For `compare` (`compare/src/main.rs`).
//!
//! ```text
//! cargo run --release -p compare --bin peer_echo_threads -- 127.0.0.1:7000
//! ```
//!
//! With `ECHO_READ_TIMEOUT_MS` set, every read has that timeout (`set_read_timeout`).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

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

/// `ECHO_READ_TIMEOUT_MS`, if set: the read timeout of every connection.
fn read_timeout() -> Option<Duration> {
    let ms = std::env::var("ECHO_READ_TIMEOUT_MS").ok()?.parse().ok()?;
    Some(Duration::from_millis(ms))
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    let timeout = read_timeout();
    let listener = TcpListener::bind(addr.as_str())?;
    println!("echo server (threads) on {}", listener.local_addr()?);
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                if let Err(e) = std::thread::Builder::new().spawn(move || handle(stream, timeout)) {
                    eprintln!("echo: cannot start a thread: {e}; connection dropped");
                }
            }
            Err(e) => {
                eprintln!("echo: accept failed: {e}; retrying in 100 ms");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    Ok(())
}
