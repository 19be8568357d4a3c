//! Thousands of connections cost coroutines, not threads: 5,000 concurrent
//! loopback connections on a 2-worker runtime each echo 64 KiB, checked
//! byte for byte with a checksum, and nothing is lost.

mod common;
mod net_support;

use std::io::{Read, Write};
use std::sync::Arc;

use common::{runtime, with_timeout};
use weft::net::{TcpListener, TcpStream};

const CONNECTIONS: usize = 5_000;
const BYTES: usize = 64 * 1024;

/// The payload of connection `seed`: a xorshift stream, different per
/// connection, so crossed or lost bytes change the checksum.
fn payload(seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..BYTES)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// FNV-1a over the bytes.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn echo(mut stream: TcpStream) {
    let mut buf = [0; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => stream.write_all(&buf[..n]).unwrap(),
            Err(e) => panic!("server read failed: {e}"),
        }
    }
}

#[test]
fn five_thousand_connections_echo_64_kib_each() {
    // Two descriptors per connection, plus the runtime's.
    net_support::raise_fd_limit(2 * CONNECTIONS as u64 + 256);
    with_timeout(120, || {
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = weft::spawn(move || {
                for _ in 0..CONNECTIONS {
                    let stream = listener.accept().unwrap().0;
                    weft::spawn(move || echo(stream));
                }
            });
            let clients: Vec<_> = (0..CONNECTIONS as u64)
                .map(|seed| {
                    weft::spawn(move || {
                        let data = payload(seed);
                        let expected = checksum(&data);
                        let stream = Arc::new(TcpStream::connect(addr).unwrap());
                        // Write from a second coroutine while this one reads,
                        // so neither side's buffers need to hold it all.
                        let writer = {
                            let stream = stream.clone();
                            weft::spawn(move || {
                                (&*stream).write_all(&data).unwrap();
                                stream.shutdown(weft::net::Shutdown::Write).unwrap();
                            })
                        };
                        let mut received = Vec::with_capacity(BYTES);
                        (&*stream).read_to_end(&mut received).unwrap();
                        writer.join().unwrap();
                        assert_eq!(received.len(), BYTES, "connection {seed} lost bytes");
                        checksum(&received) == expected
                    })
                })
                .collect();
            let intact = clients
                .into_iter()
                .map(|client| client.join().unwrap())
                .filter(|&ok| ok)
                .count();
            server.join().unwrap();
            assert_eq!(intact, CONNECTIONS);
        });
    });
}
