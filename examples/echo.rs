//! An echo server plus a built-in client that proves it works: CONNS
//! concurrent connections each send BYTES and check that every byte comes
//! back; prints the throughput.
//!
//! The server is plain std-style code (`incoming()`, one coroutine per
//! connection, `read`/`write_all`) with `std::net` swapped for
//! `weft::net`. Its accept loop logs a failed accept (for example EMFILE,
//! out of file descriptors) and backs off instead of spinning.
//!
//! ```text
//! cargo run --release --example echo [-- CONNS [BYTES]]
//! ```

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use weft::net::{Shutdown, TcpListener, TcpStream};

fn serve(listener: TcpListener) {
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                weft::spawn(move || echo(stream));
            }
            Err(e) => {
                eprintln!("accept failed: {e}; backing off");
                weft::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn echo(mut stream: TcpStream) {
    let mut buf = [0; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// One client: writes `bytes` (from a second coroutine, so neither side's
/// buffers must hold it all) while reading the echo back; returns whether
/// every byte came back unchanged.
fn client(addr: std::net::SocketAddr, id: usize, bytes: usize) -> bool {
    let stream = std::sync::Arc::new(TcpStream::connect(addr).expect("connect"));
    let data: Vec<u8> = (0..bytes)
        .map(|i| (i.wrapping_mul(31) ^ id) as u8)
        .collect();
    let expected = data.clone();
    let writer = {
        let stream = stream.clone();
        weft::spawn(move || {
            (&*stream).write_all(&data).expect("write");
            stream.shutdown(Shutdown::Write).expect("shutdown");
        })
    };
    let mut received = Vec::with_capacity(bytes);
    (&*stream).read_to_end(&mut received).expect("read");
    writer.join().expect("writer");
    received == expected
}

fn main() {
    let mut args = std::env::args().skip(1);
    let conns: usize = args.next().map_or(1000, |a| a.parse().expect("CONNS"));
    let bytes: usize = args
        .next()
        .map_or(256 * 1024, |a| a.parse().expect("BYTES"));
    weft::run(move || {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        weft::spawn(move || serve(listener));
        println!("echo server on {addr}; {conns} clients x {bytes} bytes");
        let start = Instant::now();
        let clients: Vec<_> = (0..conns)
            .map(|id| weft::spawn(move || client(addr, id, bytes)))
            .collect();
        let ok = clients
            .into_iter()
            .map(|c| c.join().expect("client panicked"))
            .filter(|&ok| ok)
            .count();
        let elapsed = start.elapsed();
        let total = (conns * bytes * 2) as f64; // each byte goes out and back
        println!(
            "{ok}/{conns} connections echoed intact in {:.3} s: {:.1} MiB/s",
            elapsed.as_secs_f64(),
            total / elapsed.as_secs_f64() / (1024.0 * 1024.0)
        );
        assert_eq!(ok, conns, "some connections lost or corrupted data");
    });
}
