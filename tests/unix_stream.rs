//! Unix stream sockets and listeners, as std's own tests check them: bind,
//! connect, accept, pairs, EOF, shutdown, timeouts, addresses, clones and
//! conversions. Each runs from a plain thread and inside coroutines;
//! socket files live in a fresh temp dir.

mod common;
mod net_support;

use std::io::{ErrorKind, IoSlice, Read, Write};
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::time::{Duration, Instant};

use net_support::{both, go, temp_dir};
use weft::net::Shutdown;
use weft::os::unix::net::{SocketAddr, UnixListener, UnixStream};

#[test]
fn bind_connect_accept_and_echo() {
    both(20, || {
        let dir = temp_dir();
        let path = dir.join("echo.sock");
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        let client_path = path.clone();
        let client = go(move || {
            let mut stream = UnixStream::connect(&client_path).unwrap();
            assert_eq!(
                stream.peer_addr().unwrap().as_pathname(),
                Some(client_path.as_path())
            );
            stream.write_all(b"hello unix").unwrap();
            stream.shutdown(Shutdown::Write).unwrap();
            let mut reply = String::new();
            stream.read_to_string(&mut reply).unwrap();
            reply
        });
        let (mut conn, addr) = listener.accept().unwrap();
        assert!(addr.is_unnamed());
        let mut got = Vec::new();
        conn.read_to_end(&mut got).unwrap();
        conn.write_all(&got).unwrap();
        drop(conn);
        assert_eq!(client.join(), "hello unix");
        std::fs::remove_dir_all(dir).unwrap();
    });
}

#[test]
fn bind_twice_is_addr_in_use_and_missing_path_is_not_found() {
    both(20, || {
        let dir = temp_dir();
        let path = dir.join("taken.sock");
        let _listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            UnixListener::bind(&path).unwrap_err().kind(),
            ErrorKind::AddrInUse
        );
        let missing = dir.join("missing.sock");
        assert_eq!(
            UnixStream::connect(&missing).unwrap_err().kind(),
            ErrorKind::NotFound
        );
        std::fs::remove_dir_all(dir).unwrap();
    });
}

#[test]
fn connect_to_a_closed_listener_is_refused() {
    both(20, || {
        let dir = temp_dir();
        let path = dir.join("closed.sock");
        drop(UnixListener::bind(&path).unwrap()); // the file stays
        let err = UnixStream::connect(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        std::fs::remove_dir_all(dir).unwrap();
    });
}

#[test]
fn bind_addr_and_connect_addr_use_socket_addrs() {
    both(20, || {
        let dir = temp_dir();
        let path = dir.join("addr.sock");
        let addr = SocketAddr::from_pathname(&path).unwrap();
        let listener = UnixListener::bind_addr(&addr).unwrap();
        let local = listener.local_addr().unwrap();
        let client = go(move || UnixStream::connect_addr(&local).unwrap());
        let (mut conn, _) = listener.accept().unwrap();
        let mut client = client.join();
        client.write_all(b"a").unwrap();
        let mut b = [0];
        conn.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"a");
        std::fs::remove_dir_all(dir).unwrap();
    });
}

#[cfg(target_os = "linux")]
#[test]
fn abstract_names_connect_from_coroutines_and_threads() {
    use std::os::linux::net::SocketAddrExt;
    both(20, || {
        let name = format!(
            "weft-test-abstract-{}-{:?}",
            std::process::id(),
            Instant::now()
        );
        let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let listener = UnixListener::bind_addr(&addr).unwrap();
        let client = go(move || UnixStream::connect_addr(&addr).unwrap());
        let (_conn, _) = listener.accept().unwrap();
        let client = client.join();
        assert_eq!(
            client.peer_addr().unwrap().as_abstract_name(),
            Some(name.as_bytes())
        );
    });
}

#[test]
fn pair_reads_to_eof_and_shutdown_each_half() {
    both(20, || {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let data: Vec<u8> = (0..500_000u32).map(|i| (i % 253) as u8).collect();
        let expected = data.clone();
        let writer = go(move || {
            a.write_all(&data).unwrap();
            a.shutdown(Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            a.read_to_end(&mut rest).unwrap();
            rest
        });
        let mut got = Vec::new();
        b.read_to_end(&mut got).unwrap();
        assert!(got == expected);
        b.write_all(b"back").unwrap();
        b.shutdown(Shutdown::Both).unwrap();
        assert_eq!(writer.join(), b"back");
        assert_eq!(b.read(&mut [0; 4]).unwrap(), 0);
    });
}

#[test]
fn shutdown_read_wakes_a_parked_reader() {
    both(20, || {
        let (a, _b) = UnixStream::pair().unwrap();
        let a = std::sync::Arc::new(a);
        let reader = {
            let a = a.clone();
            go(move || (&*a).read(&mut [0; 4]).unwrap())
        };
        weft::sleep(Duration::from_millis(50));
        a.shutdown(Shutdown::Read).unwrap();
        assert_eq!(reader.join(), 0);
    });
}

#[test]
fn read_timeout_and_nonblocking_mode() {
    both(20, || {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let start = Instant::now();
        assert_eq!(
            a.read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(100) && waited < Duration::from_secs(5));
        assert_eq!(
            a.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        b.set_nonblocking(true).unwrap();
        assert_eq!(
            b.read(&mut [0; 4]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        // A full send buffer makes a non-blocking write fail at once.
        let chunk = vec![0u8; 1 << 16];
        let err = loop {
            if let Err(e) = b.write(&chunk) {
                break e;
            }
        };
        assert_eq!(err.kind(), ErrorKind::WouldBlock);
        b.set_write_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        b.set_nonblocking(false).unwrap();
        let start = Instant::now();
        assert_eq!(b.write(&chunk).unwrap_err().kind(), ErrorKind::WouldBlock);
        assert!(start.elapsed() >= Duration::from_millis(100));
    });
}

#[test]
fn vectored_writes_and_clones() {
    both(20, || {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut a2 = a.try_clone().unwrap();
        assert_eq!(
            a2.write_vectored(&[IoSlice::new(b"ve"), IoSlice::new(b"ctored")])
                .unwrap(),
            8
        );
        let mut buf = [0; 8];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"vectored");
        assert!(a.take_error().unwrap().is_none());
        assert!(a.local_addr().unwrap().is_unnamed());
    });
}

#[test]
fn conversions_keep_the_connection() {
    both(20, || {
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let std_a = a.into_std().unwrap();
        assert_eq!(
            std_a.read_timeout().unwrap(),
            Some(Duration::from_millis(100))
        );
        let a = UnixStream::from_std(std_a);
        let owned: OwnedFd = a.into();
        let a = UnixStream::from(owned);
        let raw = a.into_raw_fd();
        // SAFETY: `raw` was just released by into_raw_fd and is owned here.
        let mut a = unsafe { UnixStream::from_raw_fd(raw) };
        a.write_all(b"ok").unwrap();
        let mut buf = [0; 2];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ok");
        assert!(format!("{a:?}").contains("UnixStream"));
    });
}

#[test]
fn listener_incoming_clone_and_nonblocking_accept() {
    both(20, || {
        let dir = temp_dir();
        let path = dir.join("incoming.sock");
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        listener.set_nonblocking(false).unwrap();
        let clone = listener.try_clone().unwrap();
        let client_path = path.clone();
        let clients = go(move || {
            (0..3u8)
                .map(|i| {
                    let mut s = UnixStream::connect(&client_path).unwrap();
                    s.write_all(&[i]).unwrap();
                    s
                })
                .collect::<Vec<_>>()
        });
        let mut got: Vec<u8> = (&clone)
            .into_iter()
            .take(3)
            .map(|s| {
                let mut b = [0];
                s.unwrap().read_exact(&mut b).unwrap();
                b[0]
            })
            .collect();
        got.sort();
        assert_eq!(got, [0, 1, 2]);
        assert!(listener.take_error().unwrap().is_none());
        drop(clients.join());
        let std_listener = listener.into_std().unwrap();
        assert_eq!(
            std_listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        std::fs::remove_dir_all(dir).unwrap();
    });
}

#[test]
fn connects_beyond_a_full_backlog_complete_once_accepted() {
    // Coroutines only: on a plain thread, connect is std's own blocking
    // call. std listens with the largest backlog the kernel allows
    // (`somaxconn`); more clients than that find the queue full, get
    // EAGAIN from the non-blocking connect, and must retry until the
    // accepts below make room.
    let backlog: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096);
    let clients = (backlog + 100).min(8000);
    net_support::raise_fd_limit(2 * clients as u64 + 256);
    common::with_timeout(60, move || {
        common::runtime(2).block_on(move || {
            let dir = temp_dir();
            let path = dir.join("backlog.sock");
            let listener = UnixListener::bind(&path).unwrap();
            let handles: Vec<_> = (0..clients)
                .map(|_| {
                    let path = path.clone();
                    weft::spawn(move || {
                        let mut s = UnixStream::connect(&path).unwrap();
                        let mut b = [0];
                        s.read_exact(&mut b).unwrap();
                        b[0]
                    })
                })
                .collect();
            weft::sleep(Duration::from_millis(300)); // let the queue overflow
            let mut conns = Vec::with_capacity(clients);
            for _ in 0..clients {
                let (mut conn, _) = listener.accept().unwrap();
                conn.write_all(&[7]).unwrap();
                conns.push(conn);
            }
            assert!(handles.into_iter().all(|h| h.join().unwrap() == 7));
            std::fs::remove_dir_all(dir).unwrap();
        });
    });
}

#[test]
fn paths_with_interior_nul_are_invalid_input() {
    both(20, || {
        let path = "/tmp/weft\0nul.sock";
        let err = UnixStream::connect(path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = UnixListener::bind(path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let err = weft::os::unix::net::UnixDatagram::bind(path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        // Too long for sun_path: InvalidInput too, as std says.
        let long = format!("/tmp/{}", "x".repeat(200));
        let err = UnixStream::connect(&long).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    });
}
