//! The echo server of `examples/echo.rs --serve`, on tokio's multi-thread
//! runtime (or, with `--current-thread`, its current-thread one): the same
//! logic (a task per connection, a 16 KiB buffer, read then write
//! everything back) for `compare` (`compare/src/main.rs`).
//!
//! ```text
//! cargo run --release -p compare --bin peer_echo_tokio -- 127.0.0.1:7000
//! cargo run --release -p compare --bin peer_echo_tokio -- --current-thread 127.0.0.1:7000
//! ```
//! Worker threads: `WEFT_WORKERS`, else one per available core. With
//! `ECHO_READ_TIMEOUT_MS` set, every read is wrapped in
//! `tokio::time::timeout`, as weft's server sets a read timeout.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Echoes everything back until the peer closes (or, with a `timeout`,
/// stays silent that long).
async fn handle(mut stream: TcpStream, timeout: Option<Duration>) -> std::io::Result<u64> {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0;
    loop {
        let n = match timeout {
            Some(d) => tokio::time::timeout(d, stream.read(&mut buf))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??,
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

/// `ECHO_READ_TIMEOUT_MS`, if set.
fn read_timeout() -> Option<Duration> {
    let ms = std::env::var("ECHO_READ_TIMEOUT_MS").ok()?.parse().ok()?;
    Some(Duration::from_millis(ms))
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let current_thread = args.iter().any(|a| a == "--current-thread");
    let addr = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:7000".into());
    let rt = if current_thread {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers())
            .enable_all()
            .build()?
    };
    let timeout = read_timeout();
    rt.block_on(async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        println!("echo server (tokio) on {}", listener.local_addr()?);
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(handle(stream, timeout));
                }
                Err(e) => {
                    eprintln!("echo: accept failed: {e}; retrying in 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    })
}
