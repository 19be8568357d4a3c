//! Reading and writing a TCP stream, as std's own tests check it: EOF,
//! shutdown of each half, peek, vectored I/O, options, non-blocking mode,
//! and conversions to and from std. Each runs from a plain thread and
//! inside coroutines.

mod common;
mod net_support;

use std::io::{ErrorKind, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::time::Duration;

use net_support::{both, go};
use weft::net::{Shutdown, TcpListener, TcpStream};

/// A connected (client, server) pair.
fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

#[test]
fn read_to_end_sees_everything_then_eof() {
    both(20, || {
        let (client, mut server) = pair();
        let data: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
        let expected = data.clone();
        let writer = go(move || {
            let mut client = client;
            client.write_all(&data).unwrap();
        });
        let mut received = Vec::new();
        server.read_to_end(&mut received).unwrap();
        writer.join();
        assert_eq!(received, expected);
        assert_eq!(server.read(&mut [0; 16]).unwrap(), 0, "EOF stays EOF");
    });
}

#[test]
fn shutdown_write_gives_the_peer_eof_but_keeps_reading() {
    both(20, || {
        let (mut client, mut server) = pair();
        client.shutdown(Shutdown::Write).unwrap();
        assert_eq!(server.read(&mut [0; 8]).unwrap(), 0);
        server.write_all(b"still open").unwrap();
        let mut buf = [0; 10];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"still open");
        let err = client.write_all(b"x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    });
}

#[test]
fn shutdown_read_makes_reads_return_zero() {
    both(20, || {
        let (mut client, _server) = pair();
        client.shutdown(Shutdown::Read).unwrap();
        assert_eq!(client.read(&mut [0; 8]).unwrap(), 0);
    });
}

#[test]
fn shutdown_both_ends_both_directions() {
    both(20, || {
        let (mut client, mut server) = pair();
        client.shutdown(Shutdown::Both).unwrap();
        assert_eq!(client.read(&mut [0; 8]).unwrap(), 0);
        assert_eq!(server.read(&mut [0; 8]).unwrap(), 0);
        assert!(client.write_all(b"x").is_err());
    });
}

#[test]
fn peek_leaves_the_data_for_read() {
    both(20, || {
        let (mut client, mut server) = pair();
        let peeker = go(move || {
            let mut buf = [0; 5];
            let n = server.peek(&mut buf).unwrap(); // waits for data
            let mut all = [0; 5];
            server.read_exact(&mut all).unwrap();
            (buf[..n].to_vec(), all)
        });
        client.write_all(b"hello").unwrap();
        let (peeked, read) = peeker.join();
        assert_eq!(&read, b"hello");
        assert!(b"hello".starts_with(&peeked) && !peeked.is_empty());
    });
}

#[test]
fn vectored_io_moves_every_slice() {
    both(20, || {
        let (mut client, mut server) = pair();
        let n = client
            .write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cde")])
            .unwrap();
        assert_eq!(n, 5);
        // Wait until all five bytes are queued, then one vectored read
        // must fill both slices.
        while server.peek(&mut [0; 5]).unwrap() < 5 {
            weft::yield_now();
        }
        let (mut first, mut second) = ([0; 2], [0; 3]);
        let mut bufs = [IoSliceMut::new(&mut first), IoSliceMut::new(&mut second)];
        assert_eq!(server.read_vectored(&mut bufs).unwrap(), 5);
        assert_eq!((&first, &second), (b"ab", b"cde"));
    });
}

#[test]
fn nodelay_and_ttl_round_trip() {
    both(20, || {
        let (client, _server) = pair();
        client.set_nodelay(true).unwrap();
        assert!(client.nodelay().unwrap());
        client.set_nodelay(false).unwrap();
        assert!(!client.nodelay().unwrap());
        client.set_ttl(33).unwrap();
        assert_eq!(client.ttl().unwrap(), 33);
        assert!(client.take_error().unwrap().is_none());
    });
}

#[test]
fn nonblocking_mode_returns_would_block_and_can_be_undone() {
    both(20, || {
        let (mut client, mut server) = pair();
        server.set_nonblocking(true).unwrap();
        assert_eq!(
            server.read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(
            server.peek(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        server.set_nonblocking(false).unwrap();
        let writer = go(move || {
            weft::sleep(Duration::from_millis(20));
            client.write_all(b"late").unwrap();
            client
        });
        let mut buf = [0; 4];
        server.read_exact(&mut buf).unwrap(); // blocks (parks) again
        assert_eq!(&buf, b"late");
        drop(writer.join());
    });
}

#[test]
fn nonblocking_is_shared_with_clones_as_in_std() {
    both(20, || {
        let (_client, server) = pair();
        let clone = server.try_clone().unwrap();
        server.set_nonblocking(true).unwrap();
        assert_eq!(
            (&clone).read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        clone
            .set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        assert_eq!(
            server.read_timeout().unwrap(),
            Some(Duration::from_millis(5))
        );
    });
}

#[test]
fn into_std_restores_blocking_mode_and_timeouts() {
    both(20, || {
        let (client, server) = pair();
        client
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut std_client = client.into_std().unwrap();
        assert_eq!(
            std_client.read_timeout().unwrap(),
            Some(Duration::from_millis(100))
        );
        // Blocking again: the read waits for the timeout, not WouldBlock at once.
        let start = std::time::Instant::now();
        let err = std_client.read(&mut [0; 4]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        assert!(start.elapsed() >= Duration::from_millis(90));
        // And back: a std socket's settings become weft's.
        let back = TcpStream::from_std(std_client);
        assert_eq!(
            back.read_timeout().unwrap(),
            Some(Duration::from_millis(100))
        );
        drop(server);
    });
}

#[test]
fn from_std_keeps_a_nonblocking_std_socket_nonblocking() {
    both(20, || {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let std_stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        std_stream.set_nonblocking(true).unwrap();
        let mut stream = TcpStream::from_std(std_stream);
        assert_eq!(
            stream.read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
    });
}

#[test]
fn raw_fd_conversions_keep_the_connection() {
    both(20, || {
        let (client, mut server) = pair();
        let fd = client.as_raw_fd();
        assert_eq!(client.as_fd().as_raw_fd(), fd);
        let raw = client.into_raw_fd();
        // SAFETY: `raw` was just released by into_raw_fd and is owned here.
        let client = unsafe { TcpStream::from_raw_fd(raw) };
        let owned: OwnedFd = client.into();
        let mut client = TcpStream::from(owned);
        client.write_all(b"fd").unwrap();
        let mut buf = [0; 2];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"fd");
        assert!(format!("{client:?}").contains("TcpStream"));
    });
}

#[test]
fn read_and_write_work_through_shared_references() {
    both(20, || {
        let (client, server) = pair();
        let server = std::sync::Arc::new(server);
        let echo = {
            let server = server.clone();
            go(move || {
                let mut buf = [0; 3];
                (&*server).read_exact(&mut buf).unwrap();
                (&*server).write_all(&buf).unwrap();
            })
        };
        (&client).write_all(b"ref").unwrap();
        let mut buf = [0; 3];
        (&client).read_exact(&mut buf).unwrap();
        echo.join();
        assert_eq!(&buf, b"ref");
    });
}

#[test]
fn socket_types_have_std_auto_traits() {
    use std::panic::{RefUnwindSafe, UnwindSafe};
    fn std_like<T: Send + Sync + Unpin + UnwindSafe + RefUnwindSafe + std::fmt::Debug>() {}
    std_like::<TcpStream>();
    std_like::<TcpListener>();
    std_like::<weft::net::UdpSocket>();
    std_like::<weft::os::unix::net::UnixStream>();
    std_like::<weft::os::unix::net::UnixListener>();
    std_like::<weft::os::unix::net::UnixDatagram>();
    std_like::<weft::net::Incoming<'static>>();
}
