//! With the `hook` feature, `std::net` sockets used from coroutines park
//! the coroutine instead of blocking its worker, and keep the blocking
//! semantics std promises: timeouts, the user's non-blocking flag,
//! descriptors shared with plain threads, `dup`, `close`, `EINTR`.
#![cfg(feature = "hook")]

mod common;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A coroutine that counts ticks of 5 ms: if the worker were blocked, it
/// would stop counting.
fn ticker(stop: Arc<AtomicBool>) -> weft::JoinHandle<usize> {
    weft::spawn(move || {
        let mut ticks = 0;
        while !stop.load(Ordering::SeqCst) {
            weft::sleep(Duration::from_millis(5));
            ticks += 1;
        }
        ticks
    })
}

fn status_flags(fd: i32) -> i32 {
    // SAFETY: F_GETFL only reads the flags.
    unsafe { libc::fcntl(fd, libc::F_GETFL) }
}

/// A connected pair of blocking `std::net` sockets on loopback: the
/// client's end and the server's.
fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

#[test]
fn a_std_net_echo_server_overlaps_its_clients() {
    let elapsed = common::with_timeout(60, || {
        let rt = common::runtime(2);
        rt.block_on(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            weft::spawn(move || {
                for stream in listener.incoming() {
                    let mut stream = stream.unwrap();
                    weft::spawn(move || {
                        let mut buf = [0u8; 64];
                        loop {
                            let n = stream.read(&mut buf).unwrap();
                            if n == 0 {
                                return;
                            }
                            // A slow handler: std's sleep, parked.
                            std::thread::sleep(Duration::from_millis(100));
                            stream.write_all(&buf[..n]).unwrap();
                        }
                    });
                }
            });
            let start = Instant::now();
            let clients: Vec<_> = (0..200u32)
                .map(|i| {
                    weft::spawn(move || {
                        let mut stream = TcpStream::connect(addr).unwrap();
                        let msg = format!("hello {i}");
                        stream.write_all(msg.as_bytes()).unwrap();
                        let mut back = vec![0u8; msg.len()];
                        stream.read_exact(&mut back).unwrap();
                        assert_eq!(back, msg.as_bytes());
                    })
                })
                .collect();
            for c in clients {
                c.join().unwrap();
            }
            start.elapsed()
        })
    });
    // One after the other: 200 × 100 ms = 20 s.
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

#[test]
fn socket_timeouts_set_with_setsockopt_end_a_parked_read() {
    common::with_timeout(60, || {
        let rt = common::runtime(2);
        rt.block_on(|| {
            let (mut stream, mut server) = tcp_pair();
            stream
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let ticks = ticker(stop.clone());
            let start = Instant::now();
            let err = stream.read(&mut [0u8; 8]).unwrap_err();
            let waited = start.elapsed();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
            assert!(waited >= Duration::from_millis(190), "{waited:?}");
            assert!(waited < Duration::from_secs(3), "{waited:?}");
            // The write timeout too: fill the send buffer.
            server
                .set_write_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let chunk = vec![7u8; 1 << 16];
            let err = loop {
                if let Err(e) = server.write(&chunk) {
                    break e;
                }
            };
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
            stop.store(true, Ordering::SeqCst);
            // The ticker kept running while the reads were parked.
            assert!(ticks.join().unwrap() >= 10);
        });
    });
}

#[test]
fn a_socket_moves_between_coroutines_and_threads() {
    common::with_timeout(60, || {
        let rt = common::runtime(2);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            for word in [b"one", b"two", b"thr"] {
                std::thread::sleep(Duration::from_millis(100));
                s.write_all(word).unwrap();
            }
            s
        });
        // A coroutine connects and reads: weft switches it underneath.
        let stream = rt.block_on(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            let mut buf = [0u8; 3];
            stream.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"one");
            stream
        });
        // The user still sees a blocking socket...
        assert_eq!(status_flags(stream.as_raw_fd()) & libc::O_NONBLOCK, 0);
        // ...and a plain thread's read waits for data instead of failing
        // with WouldBlock.
        let stream = std::thread::spawn(move || {
            let mut stream = stream;
            let mut buf = [0u8; 3];
            stream.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"two");
            stream
        })
        .join()
        .unwrap();
        // And back to a coroutine.
        rt.block_on(move || {
            let mut stream = stream;
            let mut buf = [0u8; 3];
            stream.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"thr");
        });
        drop(peer.join().unwrap());
    });
}

#[test]
fn dup_then_close_of_the_original_keeps_the_duplicate_working() {
    common::with_timeout(60, || {
        let rt = common::runtime(2);
        rt.block_on(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let writer = weft::spawn(move || {
                let (mut s, _) = listener.accept().unwrap();
                std::thread::sleep(Duration::from_millis(100));
                s.write_all(b"first").unwrap();
                std::thread::sleep(Duration::from_millis(100));
                s.write_all(b"second").unwrap();
            });
            let mut original = TcpStream::connect(addr).unwrap();
            let mut buf = [0u8; 5];
            original.read_exact(&mut buf).unwrap(); // switched and registered
            let mut copy = original.try_clone().unwrap();
            let number = original.as_raw_fd();
            drop(original);
            // The number may be handed out again at once; it must start
            // clean (a blocking socket of its own).
            let other = TcpListener::bind("127.0.0.1:0").unwrap();
            let _fresh = TcpStream::connect(other.local_addr().unwrap()).unwrap();
            let mut rest = [0u8; 6];
            copy.read_exact(&mut rest).unwrap();
            assert_eq!(&rest, b"second");
            assert_eq!(status_flags(copy.as_raw_fd()) & libc::O_NONBLOCK, 0);
            let _ = number;
            writer.join().unwrap();
        });
    });
}

#[test]
fn a_user_set_nonblocking_socket_passes_eagain_through() {
    common::with_timeout(60, || {
        let rt = common::runtime(2);
        rt.block_on(|| {
            let (mut stream, mut server) = tcp_pair();
            stream.set_nonblocking(true).unwrap();
            assert_ne!(status_flags(stream.as_raw_fd()) & libc::O_NONBLOCK, 0);
            let start = Instant::now();
            let err = stream.read(&mut [0u8; 4]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
            assert!(start.elapsed() < Duration::from_millis(100));
            // Back to blocking: the flag reads clear again, and a read
            // waits (parked) for the data.
            stream.set_nonblocking(false).unwrap();
            assert_eq!(status_flags(stream.as_raw_fd()) & libc::O_NONBLOCK, 0);
            let writer = weft::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                server.write_all(b"late").unwrap();
                server
            });
            let mut buf = [0u8; 4];
            stream.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"late");
            // fcntl(F_SETFL, O_NONBLOCK) is the user's choice too.
            let fd = stream.as_raw_fd();
            // SAFETY: F_SETFL on an open socket we own.
            let r = unsafe { libc::fcntl(fd, libc::F_SETFL, status_flags(fd) | libc::O_NONBLOCK) };
            assert_eq!(r, 0);
            let err = stream.read(&mut [0u8; 4]).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
            drop(writer.join().unwrap());
        });
    });
}

extern "C" fn on_sigusr1(_: libc::c_int) {}

/// Installs a SIGUSR1 handler without SA_RESTART, so a signal ends a
/// blocking call with EINTR.
fn install_sigusr1() {
    // SAFETY: a zeroed sigaction is valid; the handler does nothing.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigusr1 as *const () as usize;
        action.sa_flags = 0;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
}

/// Reads from `fd` on a new plain thread, sends it SIGUSR1 after 100 ms,
/// returns what `read` returned and its errno.
fn read_interrupted(fd: i32) -> (isize, i32) {
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        // SAFETY: pthread_self has no preconditions.
        tx.send(unsafe { libc::pthread_self() }).unwrap();
        let mut buf = [0u8; 4];
        // SAFETY: `buf` is valid for 4 bytes.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), 4) };
        (r, io::Error::last_os_error().raw_os_error().unwrap_or(0))
    });
    let thread = rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: the thread is alive until it returns from read, which needs
    // this signal.
    unsafe { libc::pthread_kill(thread, libc::SIGUSR1) };
    reader.join().unwrap()
}

#[test]
fn a_signal_interrupts_a_plain_threads_read_with_eintr() {
    common::with_timeout(60, || {
        install_sigusr1();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let untouched = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let _peer = listener.accept().unwrap();
        // A socket weft never saw: the kernel's own blocking read.
        assert_eq!(read_interrupted(untouched.as_raw_fd()), (-1, libc::EINTR));
        // A socket weft switched underneath: the hook's poll(2) wait.
        let switched = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let _peer2 = listener.accept().unwrap();
        let rt = common::runtime(1);
        let fd = switched.as_raw_fd();
        rt.block_on(move || {
            // A read with data classifies (switches) the socket.
            let mut s = &switched;
            s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
            assert!(s.read(&mut [0u8; 1]).is_err());
            s.set_read_timeout(None).unwrap();
            std::mem::forget(switched);
        });
        assert_eq!(read_interrupted(fd), (-1, libc::EINTR));
        // SAFETY: the descriptor leaked by `forget` above, closed once.
        unsafe { libc::close(fd) };
    });
}

#[test]
fn close_while_another_coroutine_waits_wakes_it_with_ebadf() {
    common::with_timeout(60, || {
        let rt = common::runtime(2);
        rt.block_on(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let fd = TcpStream::connect(listener.local_addr().unwrap())
                .unwrap()
                .into_raw_fd();
            let _peer = listener.accept().unwrap();
            let parked = Arc::new(AtomicUsize::new(0));
            let p = parked.clone();
            let reader = weft::spawn(move || {
                p.store(1, Ordering::SeqCst);
                let mut buf = [0u8; 4];
                // SAFETY: `buf` is valid for 4 bytes.
                let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), 4) };
                (r, io::Error::last_os_error().raw_os_error())
            });
            while parked.load(Ordering::SeqCst) == 0 {
                weft::sleep(Duration::from_millis(1));
            }
            weft::sleep(Duration::from_millis(100));
            assert!(!reader.is_finished());
            // SAFETY: the descriptor from into_raw_fd, closed once.
            assert_eq!(unsafe { libc::close(fd) }, 0);
            assert_eq!(reader.join().unwrap(), (-1, Some(libc::EBADF)));
        });
    });
}

#[test]
fn a_connect_in_a_coroutine_parks_and_reports_refusal() {
    common::with_timeout(60, || {
        let rt = common::runtime(1);
        rt.block_on(|| {
            // A port nobody listens on: refused, as std reports it.
            let closed = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = closed.local_addr().unwrap();
            drop(closed);
            let err = TcpStream::connect(addr).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
            // connect_timeout goes through the hooked poll.
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let s =
                TcpStream::connect_timeout(&listener.local_addr().unwrap(), Duration::from_secs(5))
                    .unwrap();
            assert_eq!(status_flags(s.as_raw_fd()) & libc::O_NONBLOCK, 0);
        });
    });
}

#[test]
fn a_unix_connect_to_a_full_backlog_waits_instead_of_failing() {
    common::with_timeout(60, || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sock");
        let rt = common::runtime(2);
        rt.block_on(move || {
            // A backlog of 4: the fifth connect finds it full.
            let socket =
                socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
            socket
                .bind(&socket2::SockAddr::unix(&path).unwrap())
                .unwrap();
            socket.listen(4).unwrap();
            let listener =
                std::os::unix::net::UnixListener::from(std::os::fd::OwnedFd::from(socket));
            let connects: Vec<_> = (0..100)
                .map(|_| {
                    let path = path.clone();
                    weft::spawn(move || std::os::unix::net::UnixStream::connect(&path).map(drop))
                })
                .collect();
            weft::sleep(Duration::from_millis(200));
            let accepter = weft::spawn(move || {
                for _ in 0..100 {
                    listener.accept().unwrap();
                }
            });
            for c in connects {
                // A blocking connect waits for room; it never says WouldBlock.
                c.join().unwrap().unwrap();
            }
            accepter.join().unwrap();
        });
    });
}

#[test]
fn a_large_write_sends_every_byte_like_a_blocking_socket() {
    common::with_timeout(60, || {
        let rt = common::runtime(2);
        rt.block_on(|| {
            let (stream, mut server) = tcp_pair();
            const LEN: usize = 16 << 20; // far more than any socket buffer
            let reader = weft::spawn(move || {
                let mut total = 0;
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    std::thread::sleep(Duration::from_micros(200)); // a slow reader
                    match server.read(&mut buf).unwrap() {
                        0 => return total,
                        n => total += n,
                    }
                }
            });
            let data = vec![5u8; LEN];
            // One raw write(2), as a C client would make it.
            // SAFETY: `data` is valid for LEN bytes.
            let n = unsafe { libc::write(stream.as_raw_fd(), data.as_ptr().cast(), LEN) };
            assert_eq!(n, LEN as isize);
            drop(stream);
            assert_eq!(reader.join().unwrap(), LEN);
        });
    });
}

#[test]
fn a_cancel_ends_a_hooked_read_with_ecanceled_then_unwinds_at_the_next_parking_point() {
    common::with_timeout(60, || {
        let rt = common::runtime(2);
        rt.block_on(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let mut stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let _peer = listener.accept().unwrap();
            let (tx, rx) = weft::sync::mpsc::channel();
            let reader = weft::spawn(move || {
                let result = stream.read(&mut [0u8; 4]);
                tx.send(result.map_err(|e| e.raw_os_error())).unwrap();
                // A weft parking point: the cancel unwinds from here.
                weft::yield_now();
                unreachable!("cancelled");
            });
            weft::sleep(Duration::from_millis(100));
            assert!(!reader.is_finished());
            reader.cancel();
            assert_eq!(rx.recv().unwrap(), Err(Some(libc::ECANCELED)));
            let payload = reader.join().unwrap_err();
            assert!(payload.is::<weft::Cancelled>());
        });
    });
}

#[test]
fn shutdown_ends_coroutines_parked_in_hooked_calls() {
    common::with_timeout(60, || {
        let rt = common::runtime(2);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        rt.block_on(move || {
            // Parked in accept, in read, and in a std sleep.
            weft::spawn(move || {
                let _ = listener.accept();
            });
            weft::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                let _ = s.read(&mut [0u8; 1]);
            });
            weft::spawn(|| std::thread::sleep(Duration::from_millis(300)));
            weft::sleep(Duration::from_millis(50));
        });
        let start = Instant::now();
        rt.shutdown();
        // The sleep sleeps out its 300 ms (a C sleep cannot be cut short);
        // the socket waits end at once.
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    });
}
