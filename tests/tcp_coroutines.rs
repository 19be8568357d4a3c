//! What coroutines add to sockets: a socket moves between coroutines and
//! workers, `try_clone` halves are used at once, a cancelled reader leaves
//! the socket working for the next one, and a shutdown wakes a parked
//! reader.

mod common;
mod net_support;

use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{runtime, with_timeout};
use net_support::{both, go};
use weft::net::{Shutdown, TcpListener, TcpStream};

fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

/// Makes `stream` register with the poller of the worker running the
/// caller: a read that must wait (and times out) registers it.
fn register_here(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    assert_eq!(
        stream.read(&mut [0; 1]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    stream.set_read_timeout(None).unwrap();
}

#[test]
fn a_socket_registered_on_one_worker_is_used_from_another() {
    with_timeout(20, || {
        // Two runtimes of one worker each: their workers are surely
        // different threads.
        let first = runtime(1);
        let second = runtime(1);
        let (client, server) = first.block_on(|| {
            let (client, mut server) = pair();
            register_here(&mut server);
            (client, server)
        });
        let first_thread = first.block_on(|| thread::current().id());
        let reader = second.spawn(move || {
            assert_ne!(thread::current().id(), first_thread);
            let mut server = server;
            let mut buf = [0; 5];
            server.read_exact(&mut buf).unwrap(); // parks; woken by the first worker's poller
            buf
        });
        thread::sleep(Duration::from_millis(30));
        let mut client = client;
        client.write_all(b"moved").unwrap();
        assert_eq!(&reader.join().unwrap(), b"moved");
        drop(first);
    });
}

#[test]
fn a_socket_created_in_one_coroutine_is_used_in_others() {
    with_timeout(20, || {
        let rt = runtime(2);
        let (client, server) = rt.spawn(pair).join().unwrap();
        let server = rt
            .spawn(move || {
                let mut server = server;
                register_here(&mut server);
                server
            })
            .join()
            .unwrap();
        let (client, server) = (Arc::new(client), Arc::new(server));
        // Many round trips, each from freshly spawned coroutines that land
        // on whichever worker is free.
        for round in 0..50u8 {
            let (c, s) = (client.clone(), server.clone());
            let reader = rt.spawn(move || {
                let mut b = [0];
                (&*s).read_exact(&mut b).unwrap();
                b[0]
            });
            let writer = rt.spawn(move || (&*c).write_all(&[round]).unwrap());
            writer.join().unwrap();
            assert_eq!(reader.join().unwrap(), round);
        }
    });
}

#[test]
fn try_clone_halves_read_and_write_concurrently() {
    both(30, || {
        let (client, server) = pair();
        const LEN: usize = 4 << 20;
        // The server echoes everything back.
        let echo = go(move || {
            let mut server = server;
            let mut buf = vec![0; 64 * 1024];
            loop {
                let n = server.read(&mut buf).unwrap();
                if n == 0 {
                    return;
                }
                server.write_all(&buf[..n]).unwrap();
            }
        });
        let mut writer = client.try_clone().unwrap();
        let mut reader = client;
        let sent: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
        let expected = sent.clone();
        let writing = go(move || {
            writer.write_all(&sent).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut received = Vec::with_capacity(LEN);
        reader.read_to_end(&mut received).unwrap();
        writing.join();
        echo.join();
        assert!(received == expected, "echoed bytes differ");
    });
}

#[test]
fn a_cancelled_reader_leaves_the_socket_working() {
    with_timeout(20, || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (mut client, server) = pair();
            let server = Arc::new(server);
            let s = server.clone();
            let parked = weft::spawn(move || {
                let mut buf = [0; 4];
                let _ = (&*s).read(&mut buf);
                unreachable!("the reader was cancelled while parked");
            });
            weft::sleep(Duration::from_millis(50)); // let it park in read
            parked.cancel();
            assert!(parked.join().unwrap_err().is::<weft::Cancelled>());
            // Another coroutine parks on the same socket and is woken.
            let s = server.clone();
            let reader = weft::spawn(move || {
                let mut buf = [0; 4];
                (&*s).read_exact(&mut buf).unwrap();
                buf
            });
            weft::sleep(Duration::from_millis(20));
            client.write_all(b"next").unwrap();
            assert_eq!(&reader.join().unwrap(), b"next");
            // And a timed wait on it still times out cleanly.
            server
                .set_read_timeout(Some(Duration::from_millis(20)))
                .unwrap();
            let err = (&*server).read(&mut [0; 1]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WouldBlock);
        });
    });
}

#[test]
fn cancelling_many_parked_readers_then_dropping_their_sockets_is_clean() {
    with_timeout(20, || {
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let mut keep = Vec::new();
            let readers: Vec<_> = (0..200)
                .map(|_| {
                    let client = TcpStream::connect(addr).unwrap();
                    keep.push(listener.accept().unwrap().0);
                    weft::spawn(move || {
                        let mut client = client;
                        let _ = client.read(&mut [0; 1]);
                    })
                })
                .collect();
            weft::sleep(Duration::from_millis(50));
            for reader in &readers {
                reader.cancel();
            }
            for reader in readers {
                assert!(reader.join().unwrap_err().is::<weft::Cancelled>());
            }
            // Their sockets are closed now: the peers see EOF, and new
            // sockets (reusing the descriptors) work normally.
            for mut peer in keep {
                assert_eq!(peer.read(&mut [0; 1]).unwrap(), 0);
            }
            let (mut a, mut b) = pair();
            a.write_all(b"fresh").unwrap();
            let mut buf = [0; 5];
            b.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"fresh");
        });
    });
}

#[test]
fn shutdown_wakes_a_parked_reader_with_eof() {
    both(20, || {
        let (_client, server) = pair();
        let server = Arc::new(server);
        let s = server.clone();
        let reader = go(move || (&*s).read(&mut [0; 8]).unwrap());
        weft::sleep(Duration::from_millis(50)); // let it wait in read
        server.shutdown(Shutdown::Read).unwrap();
        assert_eq!(reader.join(), 0);
    });
}

#[test]
fn a_thread_and_a_coroutine_talk_over_one_connection() {
    with_timeout(20, || {
        let rt = runtime(2);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = rt.spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0; 6];
            stream.read_exact(&mut buf).unwrap();
            stream.write_all(&buf).unwrap();
        });
        let mut client = TcpStream::connect(addr).unwrap(); // a plain thread
        client.write_all(b"mixed!").unwrap();
        let mut buf = [0; 6];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"mixed!");
        server.join().unwrap();
    });
}

#[test]
fn many_coroutines_accept_from_one_listener() {
    with_timeout(20, || {
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
            let addr = listener.local_addr().unwrap();
            let acceptors: Vec<_> = (0..8)
                .map(|_| {
                    let listener = listener.clone();
                    weft::spawn(move || {
                        let (mut s, _) = listener.accept().unwrap();
                        let mut b = [0];
                        s.read_exact(&mut b).unwrap();
                        b[0]
                    })
                })
                .collect();
            weft::sleep(Duration::from_millis(20));
            let _clients: Vec<_> = (0..8u8)
                .map(|i| {
                    let mut c = TcpStream::connect(addr).unwrap();
                    c.write_all(&[i]).unwrap();
                    c
                })
                .collect();
            let mut got: Vec<u8> = acceptors.into_iter().map(|a| a.join().unwrap()).collect();
            got.sort();
            assert_eq!(got, (0..8).collect::<Vec<_>>());
        });
    });
}

#[test]
fn a_socket_outliving_its_registering_runtime_fails_instead_of_hanging() {
    with_timeout(20, || {
        let first = runtime(1);
        let (mut client, server) = first.block_on(|| {
            let (client, mut server) = pair();
            register_here(&mut server);
            (client, server)
        });
        first.shutdown(); // its poller is gone with its worker
        let second = runtime(1);
        let server = second.block_on(move || {
            let mut server = server;
            let err = server.read(&mut [0; 1]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Other, "{err}");
            server
        });
        // Data already queued needs no poller, and threads use poll(2).
        client.write_all(b"xy").unwrap();
        let mut server = second.block_on(move || {
            let mut server = server;
            let mut b = [0];
            server.read_exact(&mut b).unwrap();
            server
        });
        let mut b = [0];
        server.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"y");
    });
}

#[test]
fn a_coroutine_waiting_on_a_socket_shows_it_in_a_dump() {
    use std::os::fd::AsRawFd;
    with_timeout(20, || {
        let rt = runtime(2);
        let (mut client, server) = rt.block_on(pair);
        let fd = server.as_raw_fd();
        let reader = rt.spawn(move || {
            let mut server = server;
            let mut b = [0];
            server.read_exact(&mut b).unwrap();
        });
        // Wait until the dump shows the reader parked on the socket.
        let waiting = (0..200).any(|_| {
            thread::sleep(Duration::from_millis(10));
            weft::dump()
                .coroutines()
                .filter(|c| c.id == reader.id())
                .any(|c| c.wait == Some(weft::WaitFor::Socket { fd, write: false }))
        });
        client.write_all(b"!").unwrap();
        reader.join().unwrap();
        assert!(waiting, "the dump never showed the socket wait");
    });
}
