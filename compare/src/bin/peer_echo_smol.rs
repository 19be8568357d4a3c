//! The echo server of `examples/echo.rs --serve`, on smol: one
//! `Executor` run by `WEFT_WORKERS` threads (else one per available core),
//! a task per connection, the same 16 KiB read-then-write-back loop. For
//! `compare` (`compare/src/main.rs`).
//!
//! ```text
//! cargo run --release -p compare --bin peer_echo_smol -- 127.0.0.1:7000
//! ```
//!
//! With `ECHO_READ_TIMEOUT_MS` set, every read has that timeout (the read
//! races a `smol::Timer`).

use std::sync::Arc;
use std::time::Duration;

use smol::io::{AsyncReadExt, AsyncWriteExt};
use smol::net::{TcpListener, TcpStream};

/// Echoes everything back until the peer closes (or, with a `timeout`,
/// stays silent that long).
async fn handle(mut stream: TcpStream, timeout: Option<Duration>) -> std::io::Result<u64> {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    loop {
        let n = match timeout {
            Some(d) => {
                smol::future::or(stream.read(&mut buf), async {
                    smol::Timer::after(d).await;
                    Err(std::io::ErrorKind::TimedOut.into())
                })
                .await?
            }
            None => stream.read(&mut buf).await?,
        };
        if n == 0 {
            return Ok(total);
        }
        stream.write_all(&buf[..n]).await?;
        total += n as u64;
    }
}

fn workers() -> usize {
    std::env::var("WEFT_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// `ECHO_READ_TIMEOUT_MS`, if set: every read then races a timer.
fn read_timeout() -> Option<Duration> {
    let ms = std::env::var("ECHO_READ_TIMEOUT_MS").ok()?.parse().ok()?;
    Some(Duration::from_millis(ms))
}

fn main() -> std::io::Result<()> {
    let timeout = read_timeout();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    let ex = Arc::new(smol::Executor::new());
    for _ in 1..workers() {
        let ex = ex.clone();
        std::thread::spawn(move || smol::block_on(ex.run(smol::future::pending::<()>())));
    }
    // This thread is the last of the executor's threads.
    smol::block_on(ex.clone().run(async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        println!("echo server (smol) on {}", listener.local_addr()?);
        loop {
            match listener.accept().await {
                Ok((stream, _)) => ex.spawn(handle(stream, timeout)).detach(),
                Err(e) => {
                    eprintln!("echo: accept failed: {e}; retrying in 100 ms");
                    smol::Timer::after(Duration::from_millis(100)).await;
                }
            }
        }
    }))
}
