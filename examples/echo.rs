//! An echo server and a client that proves it works, on weft.
//!
//! The server is written exactly as it would be with `std::net` and one
//! thread per connection — only the `use` lines and `weft::spawn` differ —
//! yet every connection is a coroutine on a small stack.
//!
//! ```text
//! cargo run --release --example echo                     # server + built-in client
//! cargo run --release --example echo -- --conns 1000 --mib 2
//! cargo run --release --example echo -- --serve 127.0.0.1:7000   # server only
//! ECHO_READ_TIMEOUT_MS=10000 cargo run --release --example echo -- --serve 127.0.0.1:7000
//! ```
//!
//! With `ECHO_READ_TIMEOUT_MS` the server gives every connection that read
//! timeout (`set_read_timeout`), so every read arms a timer: how
//! `compare` measures the cost of timers at 5,000 connections.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use weft::net::{TcpListener, TcpStream};

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

/// Accepts forever. On an error such as running out of file descriptors
/// (EMFILE) it logs and backs off instead of spinning: the connections it
/// already has keep being served meanwhile.
fn serve(listener: TcpListener, timeout: Option<Duration>) {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                weft::spawn(move || handle(stream, timeout));
            }
            Err(e) => {
                eprintln!("echo: accept failed: {e}; retrying in 100 ms");
                weft::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// One client connection: sends `bytes` in chunks while reading the echo
/// back in a second coroutine, and checks every byte.
fn client(addr: std::net::SocketAddr, id: u64, bytes: usize) -> io::Result<()> {
    let stream = TcpStream::connect(addr)?;
    let mut reader = stream.try_clone()?;
    let expected = move |i: usize| (i as u64).wrapping_mul(31).wrapping_add(id) as u8;
    let check = weft::spawn(move || -> io::Result<()> {
        let mut buf = vec![0u8; 16 * 1024];
        let mut seen = 0;
        while seen < bytes {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            for (k, &b) in buf[..n].iter().enumerate() {
                if b != expected(seen + k) {
                    return Err(io::Error::other(format!("byte {} corrupted", seen + k)));
                }
            }
            seen += n;
        }
        Ok(())
    });
    let mut writer = stream;
    let mut sent = 0;
    while sent < bytes {
        let len = (bytes - sent).min(64 * 1024);
        // Chunks repeat the pattern from offset `sent`.
        let piece: Vec<u8> = (sent..sent + len).map(expected).collect();
        writer.write_all(&piece)?;
        sent += len;
    }
    writer.shutdown(std::net::Shutdown::Write)?;
    check
        .join()
        .map_err(|_| io::Error::other("checker panicked"))?
}

/// `ECHO_READ_TIMEOUT_MS`, if set: the read timeout of every connection.
fn read_timeout() -> Option<Duration> {
    let ms = std::env::var("ECHO_READ_TIMEOUT_MS").ok()?.parse().ok()?;
    Some(Duration::from_millis(ms))
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let Some(addr) = arg("--serve") {
        let listener = TcpListener::bind(addr.as_str())?;
        println!("echo server on {}", listener.local_addr()?);
        let timeout = read_timeout();
        weft::run(move || serve(listener, timeout));
        return Ok(());
    }
    let conns: u64 = arg("--conns").and_then(|v| v.parse().ok()).unwrap_or(100);
    let mib: usize = arg("--mib").and_then(|v| v.parse().ok()).unwrap_or(4);
    let bytes = mib * 1024 * 1024;

    weft::run(move || -> io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        weft::spawn(move || serve(listener, None));
        println!("echo server on {addr}; {conns} clients send {mib} MiB each and check the echo");
        let start = Instant::now();
        let clients: Vec<_> = (0..conns)
            .map(|id| weft::spawn(move || client(addr, id, bytes)))
            .collect();
        let mut failed = 0;
        for c in clients {
            if let Err(e) = c.join().map_err(|_| io::Error::other("client panicked"))? {
                eprintln!("client failed: {e}");
                failed += 1;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let total = (conns as usize * bytes) as f64;
        println!(
            "{} of {conns} connections verified every byte; {:.1} MiB echoed in {secs:.2} s = {:.0} MiB/s each way",
            conns - failed,
            total / (1024.0 * 1024.0),
            total / (1024.0 * 1024.0) / secs
        );
        if failed > 0 {
            return Err(io::Error::other(format!("{failed} connections failed")));
        }
        Ok(())
    })
}
