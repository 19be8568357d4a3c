//! UDP sockets, as std's own tests check them: send_to/recv_from,
//! connect/send/recv, peek, options, non-blocking mode. Each runs from a
//! plain thread and inside coroutines.

mod common;
mod net_support;

use std::io::ErrorKind;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd};
use std::time::Duration;

use net_support::{both, go};
use weft::net::{Ipv4Addr, SocketAddr, UdpSocket};

fn bound() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

#[test]
fn send_to_and_recv_from_carry_the_sender_address() {
    both(20, || {
        let (a, b) = (bound(), bound());
        let a_addr = a.local_addr().unwrap();
        let b_addr = b.local_addr().unwrap();
        let receiver = go(move || {
            let mut buf = [0; 32];
            let (n, from) = a.recv_from(&mut buf).unwrap(); // waits
            (buf[..n].to_vec(), from)
        });
        weft::sleep(Duration::from_millis(20));
        assert_eq!(b.send_to(b"datagram", a_addr).unwrap(), 8);
        let (data, from) = receiver.join();
        assert_eq!(data, b"datagram");
        assert_eq!(from, b_addr);
    });
}

#[test]
fn connected_sockets_send_and_recv() {
    both(20, || {
        let (a, b) = (bound(), bound());
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        let echo = go(move || {
            let mut buf = [0; 16];
            let n = b.recv(&mut buf).unwrap();
            b.send(&buf[..n]).unwrap();
        });
        a.send(b"ping").unwrap();
        let mut buf = [0; 16];
        let n = a.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"ping");
        echo.join();
    });
}

#[test]
fn peek_from_leaves_the_datagram_queued() {
    both(20, || {
        let (a, b) = (bound(), bound());
        let a_addr = a.local_addr().unwrap();
        let peeker = go(move || {
            let mut buf = [0; 8];
            let (n, from) = a.peek_from(&mut buf).unwrap(); // waits
            let (m, again) = a.recv_from(&mut buf).unwrap();
            (n, m, from, again, buf)
        });
        weft::sleep(Duration::from_millis(20));
        b.send_to(b"twice", a_addr).unwrap();
        let (n, m, from, again, buf) = peeker.join();
        assert_eq!((n, m), (5, 5));
        assert_eq!(&buf[..5], b"twice");
        assert_eq!(from, b.local_addr().unwrap());
        assert_eq!(again, from);
    });
}

#[test]
fn connected_peek_waits_for_data() {
    both(20, || {
        let (a, b) = (bound(), bound());
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        let peeker = go(move || {
            let mut buf = [0; 8];
            let peeked = a.peek(&mut buf).unwrap();
            let (got, from) = a.peek_from(&mut buf).unwrap();
            let read = a.recv(&mut buf).unwrap();
            (peeked, got, read, from)
        });
        weft::sleep(Duration::from_millis(20));
        b.send(b"queued").unwrap();
        let (peeked, got, read, from) = peeker.join();
        assert_eq!((peeked, got, read), (6, 6, 6));
        assert_eq!(from, b.local_addr().unwrap());
    });
}

#[test]
fn send_to_takes_any_to_socket_addrs() {
    both(20, || {
        let (a, b) = (bound(), bound());
        let port = a.local_addr().unwrap().port();
        b.send_to(b"by name", ("127.0.0.1", port)).unwrap();
        let mut buf = [0; 16];
        assert_eq!(a.recv(&mut buf).unwrap(), 7);
        let none: &[SocketAddr] = &[];
        let err = b.send_to(b"x", none).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn nonblocking_recv_returns_would_block() {
    both(20, || {
        let a = bound();
        a.set_nonblocking(true).unwrap();
        assert_eq!(
            a.recv_from(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(
            a.peek_from(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        a.send_to(b"now", a.local_addr().unwrap()).unwrap();
        let mut got = None;
        for _ in 0..1000 {
            match a.recv(&mut [0; 4]) {
                Ok(n) => {
                    got = Some(n);
                    break;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => weft::yield_now(),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, Some(3));
    });
}

#[test]
fn options_round_trip() {
    both(20, || {
        let a = bound();
        a.set_ttl(21).unwrap();
        assert_eq!(a.ttl().unwrap(), 21);
        a.set_broadcast(true).unwrap();
        assert!(a.broadcast().unwrap());
        a.set_multicast_loop_v4(false).unwrap();
        assert!(!a.multicast_loop_v4().unwrap());
        a.set_multicast_ttl_v4(5).unwrap();
        assert_eq!(a.multicast_ttl_v4().unwrap(), 5);
        assert!(a.take_error().unwrap().is_none());
        assert_eq!(a.local_addr().unwrap().ip(), Ipv4Addr::LOCALHOST);
        assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    });
}

#[test]
fn try_clone_and_fd_conversions_share_the_socket() {
    both(20, || {
        let a = bound();
        let clone = a.try_clone().unwrap();
        clone
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        assert_eq!(a.read_timeout().unwrap(), Some(Duration::from_millis(100)));
        let addr = a.local_addr().unwrap();
        let raw = a.into_raw_fd();
        // SAFETY: `raw` was just released by into_raw_fd and is owned here.
        let a = unsafe { UdpSocket::from_raw_fd(raw) };
        assert_eq!(a.as_raw_fd(), raw);
        clone.send_to(b"self", addr).unwrap();
        assert_eq!(a.recv(&mut [0; 8]).unwrap(), 4);
        let std_socket = a.into_std().unwrap();
        assert_eq!(std_socket.local_addr().unwrap(), addr);
    });
}
