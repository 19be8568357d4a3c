//! The cost of a socket read timeout on the wait path, noise-free: two
//! coroutines on ONE worker ping-pong one byte over a unix socket pair,
//! so every read finds the socket empty and parks (with the timeout: arms
//! and cancels a timer). Meant for callgrind, whose instruction counts do
//! not depend on the machine's load: run it with two round-trip counts
//! and divide the difference by the difference in round trips, which
//! cancels the start-up cost.
//!
//! ```text
//! valgrind --tool=callgrind target/release/timed_read 2000 [--timeout]
//! valgrind --tool=callgrind target/release/timed_read 12000 [--timeout]
//! ```

use std::io::{Read, Write};
use std::time::Duration;

use weft::os::unix::net::UnixStream;

fn main() {
    let mut args = std::env::args().skip(1);
    let trips: usize = args
        .next()
        .map(|n| n.parse().expect("round trips: a number"))
        .unwrap_or(10_000);
    let timeout = args.next().as_deref() == Some("--timeout");
    let rt = weft::Runtime::builder().workers(1).build().unwrap();
    rt.block_on(move || {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        if timeout {
            let t = Some(Duration::from_secs(10));
            a.set_read_timeout(t).unwrap();
            b.set_read_timeout(t).unwrap();
        }
        let echo = weft::spawn(move || {
            let mut byte = [0u8; 1];
            for _ in 0..trips {
                b.read_exact(&mut byte).unwrap();
                b.write_all(&byte).unwrap();
            }
        });
        let mut byte = [7u8; 1];
        for _ in 0..trips {
            a.write_all(&byte).unwrap();
            a.read_exact(&mut byte).unwrap();
        }
        echo.join().unwrap();
    });
    println!("{trips} round trips, read timeout: {timeout}");
}
