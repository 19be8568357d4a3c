//! Read and write timeouts: a call that waits longer returns
//! `WouldBlock` (what std gives on Unix), within bounded time, and the
//! socket stays usable. Each runs from a plain thread and in coroutines.

mod common;
mod net_support;

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use net_support::both;
use weft::net::{TcpListener, TcpStream, UdpSocket};

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

const TIMEOUT: Duration = Duration::from_millis(100);

#[test]
fn read_timeout_returns_would_block_in_bounded_time() {
    both(20, || {
        let (mut client, mut server) = pair();
        server.set_read_timeout(Some(TIMEOUT)).unwrap();
        assert_eq!(server.read_timeout().unwrap(), Some(TIMEOUT));
        let start = Instant::now();
        let err = server.read(&mut [0; 8]).unwrap_err();
        let waited = start.elapsed();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        assert!(waited >= TIMEOUT, "returned early: {waited:?}");
        assert!(waited < Duration::from_secs(5), "returned late: {waited:?}");
        // Still usable after a timeout.
        client.write_all(b"ok").unwrap();
        let mut buf = [0; 2];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ok");
        // Peek honours the read timeout too.
        let start = Instant::now();
        assert_eq!(
            server.peek(&mut [0; 1]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert!(start.elapsed() >= TIMEOUT);
    });
}

#[test]
fn write_timeout_returns_would_block_when_the_peer_does_not_read() {
    both(30, || {
        let (mut client, _server) = pair();
        client.set_write_timeout(Some(TIMEOUT)).unwrap();
        let chunk = vec![7u8; 1 << 20];
        let start = Instant::now();
        // Fill the socket buffers; a write must then time out.
        let err = loop {
            match client.write(&chunk) {
                Ok(n) => assert!(n > 0 && start.elapsed() < Duration::from_secs(10)),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        assert!(start.elapsed() >= TIMEOUT);
    });
}

#[test]
fn zero_timeouts_are_refused_and_none_clears() {
    both(20, || {
        let (client, _server) = pair();
        let err = client.set_read_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = client.set_write_timeout(Some(Duration::ZERO)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        client.set_write_timeout(Some(TIMEOUT)).unwrap();
        client.set_write_timeout(None).unwrap();
        assert_eq!(client.write_timeout().unwrap(), None);
        assert_eq!(client.read_timeout().unwrap(), None);
    });
}

#[test]
fn udp_read_timeout_returns_would_block() {
    both(20, || {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(TIMEOUT)).unwrap();
        let start = Instant::now();
        let err = socket.recv_from(&mut [0; 8]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        let waited = start.elapsed();
        assert!(
            waited >= TIMEOUT && waited < Duration::from_secs(5),
            "{waited:?}"
        );
    });
}

#[test]
fn a_timeout_set_on_a_clone_applies_to_the_original() {
    both(20, || {
        let (_client, mut server) = pair();
        let clone = server.try_clone().unwrap();
        clone.set_read_timeout(Some(TIMEOUT)).unwrap();
        assert_eq!(server.read_timeout().unwrap(), Some(TIMEOUT));
        let start = Instant::now();
        let err = server.read(&mut [0; 8]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        assert!(start.elapsed() >= TIMEOUT);
        // Cleared on the clone: the original's read waits for the data.
        clone.set_read_timeout(None).unwrap();
        assert_eq!(server.read_timeout().unwrap(), None);
    });
}

#[test]
fn a_timeout_that_passes_before_the_wait_parks_still_ends_it() {
    both(20, || {
        // One nanosecond is over before the wait can park: the timer is
        // armed for a deadline already past and must still end the read.
        let (_client, mut server) = pair();
        server
            .set_read_timeout(Some(Duration::from_nanos(1)))
            .unwrap();
        for _ in 0..3 {
            let err = server.read(&mut [0; 8]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock);
        }
    });
}

#[test]
fn a_timeout_too_long_to_count_waits_for_the_data() {
    both(20, || {
        let (mut client, mut server) = pair();
        server.set_read_timeout(Some(Duration::MAX)).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            client.write_all(b"late").unwrap();
            client
        });
        let mut buf = [0; 4];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"late");
        drop(writer.join().unwrap());
    });
}
