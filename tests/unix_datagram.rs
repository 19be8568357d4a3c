//! Unix datagram sockets, as std's own tests check them: bound, unbound
//! and paired sockets, send_to/recv_from, connect, timeouts, shutdown and
//! conversions. Each runs from a plain thread and inside coroutines.

mod common;
mod net_support;

use std::io::ErrorKind;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::time::{Duration, Instant};

use net_support::{both, go, temp_dir};
use weft::net::Shutdown;
use weft::os::unix::net::{SocketAddr, UnixDatagram};

#[test]
fn send_to_and_recv_from_between_bound_sockets() {
    both(20, || {
        let dir = temp_dir();
        let (pa, pb) = (dir.join("a.sock"), dir.join("b.sock"));
        let a = UnixDatagram::bind(&pa).unwrap();
        let b = UnixDatagram::bind(&pb).unwrap();
        let receiver = go(move || {
            let mut buf = [0; 16];
            let (n, from) = a.recv_from(&mut buf).unwrap(); // waits
            (
                buf[..n].to_vec(),
                from.as_pathname().map(|p| p.to_path_buf()),
            )
        });
        weft::sleep(Duration::from_millis(20));
        assert_eq!(b.send_to(b"unix dgram", &pa).unwrap(), 10);
        let (data, from) = receiver.join();
        assert_eq!(data, b"unix dgram");
        assert_eq!(from.as_deref(), Some(pb.as_path()));
        std::fs::remove_dir_all(dir).unwrap();
    });
}

#[test]
fn unbound_and_connected_sockets() {
    both(20, || {
        let dir = temp_dir();
        let path = dir.join("server.sock");
        let server = UnixDatagram::bind_addr(&SocketAddr::from_pathname(&path).unwrap()).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        assert_eq!(
            client.peer_addr().unwrap_err().kind(),
            ErrorKind::NotConnected
        );
        client.connect(&path).unwrap();
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        client.send(b"one").unwrap();
        client
            .send_to_addr(b"two", &server.local_addr().unwrap())
            .unwrap();
        let other = UnixDatagram::unbound().unwrap();
        other.connect_addr(&server.local_addr().unwrap()).unwrap();
        other.send(b"three").unwrap();
        let mut buf = [0; 8];
        let mut got = Vec::new();
        for _ in 0..3 {
            let n = server.recv(&mut buf).unwrap();
            got.push(buf[..n].to_vec());
        }
        assert_eq!(got, [&b"one"[..], b"two", b"three"]);
        std::fs::remove_dir_all(dir).unwrap();
    });
}

#[test]
fn pair_waits_for_datagrams_and_keeps_boundaries() {
    both(20, || {
        let (a, b) = UnixDatagram::pair().unwrap();
        let receiver = go(move || {
            let mut sizes = Vec::new();
            let mut buf = [0; 64];
            for _ in 0..3 {
                sizes.push(b.recv(&mut buf).unwrap());
            }
            sizes
        });
        weft::sleep(Duration::from_millis(20));
        for msg in [&b"1"[..], b"22", b"333"] {
            a.send(msg).unwrap();
        }
        assert_eq!(receiver.join(), [1, 2, 3]);
    });
}

#[test]
fn timeouts_nonblocking_and_shutdown() {
    both(20, || {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        assert_eq!(a.read_timeout().unwrap(), Some(Duration::from_millis(100)));
        let start = Instant::now();
        assert_eq!(
            a.recv(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(100) && waited < Duration::from_secs(5));
        assert_eq!(
            a.set_write_timeout(Some(Duration::ZERO))
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        b.set_nonblocking(true).unwrap();
        assert_eq!(
            b.recv_from(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // Fill the peer's queue: a non-blocking send then fails at once.
        let err = loop {
            if let Err(e) = b.send(&[0; 1024]) {
                break e;
            }
        };
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        // And a blocking send with a write timeout times out.
        b.set_nonblocking(false).unwrap();
        b.set_write_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let start = Instant::now();
        assert_eq!(
            b.send(&[0; 1024]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert!(start.elapsed() >= Duration::from_millis(100));
        b.shutdown(Shutdown::Write).unwrap();
        assert_eq!(b.send(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);
        assert!(a.take_error().unwrap().is_none());
    });
}

#[test]
fn clones_and_conversions_share_the_socket() {
    both(20, || {
        let (a, b) = UnixDatagram::pair().unwrap();
        let a2 = a.try_clone().unwrap();
        a2.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        assert_eq!(a.read_timeout().unwrap(), Some(Duration::from_millis(100)));
        let std_a = a.into_std().unwrap();
        assert_eq!(
            std_a.read_timeout().unwrap(),
            Some(Duration::from_millis(100))
        );
        let raw = UnixDatagram::from_std(std_a).into_raw_fd();
        // SAFETY: `raw` was just released by into_raw_fd and is owned here.
        let a = unsafe { UnixDatagram::from_raw_fd(raw) };
        b.send(b"hi").unwrap();
        assert_eq!(a.recv(&mut [0; 4]).unwrap(), 2);
        assert!(format!("{a:?}").contains("UnixDatagram"));
    });
}
