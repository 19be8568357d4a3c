//! A short TCP read clears the socket's readiness, so the next read waits
//! for the next edge without trying a syscall first (`Evented::stream_io`).
//! These tests check the cases where trusting that would lose data: a read
//! cut short at the urgent mark with data left behind, and a non-blocking
//! read of data the poller has not reported yet.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener as StdListener;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::with_timeout;

/// A peer thread on a std listener; `script` gets the accepted stream.
fn peer(
    script: impl FnOnce(std::net::TcpStream) + Send + 'static,
) -> (std::net::SocketAddr, thread::JoinHandle<()>) {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_nodelay(true).unwrap();
        script(stream);
    });
    (addr, handle)
}

/// Urgent data makes a read stop short at the urgent mark with data still
/// queued and no further event coming. The read after it must still get
/// that data instead of waiting forever for an edge.
#[test]
fn read_cut_short_by_urgent_mark_does_not_lose_the_rest() {
    with_timeout(10, || {
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let (addr, peer) = peer(move |mut s| {
            // Let the reader register and park first.
            thread::sleep(Duration::from_millis(50));
            s.write_all(b"a").unwrap();
            thread::sleep(Duration::from_millis(50));
            s.write_all(b"hello").unwrap();
            socket2::SockRef::from(&s).send_out_of_band(b"!").unwrap();
            s.write_all(b"world").unwrap();
            // Keep the connection open: a FIN would wake the reader anyway.
            let _ = done_rx.recv();
        });
        let got = weft::run(move || {
            let mut s = weft::net::TcpStream::connect(addr).unwrap();
            let mut one = [0u8; 1];
            // Waits: registers the socket with the poller.
            s.read_exact(&mut one).unwrap();
            assert_eq!(&one, b"a");
            // Everything else arrives, and the worker's poller reports it,
            // while this coroutine sleeps.
            weft::sleep(Duration::from_millis(300));
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            while got.len() < b"helloworld".len() {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0, "unexpected EOF");
                got.extend_from_slice(&buf[..n]);
            }
            got
        });
        assert_eq!(got, b"helloworld");
        done_tx.send(()).unwrap();
        peer.join().unwrap();
    });
}

/// After a short read cleared readiness, a non-blocking read must not
/// wait for the next edge: it says WouldBlock when nothing is there, and
/// returns data that arrived since even if the worker has not polled for
/// it yet (std returns whatever the kernel holds).
#[test]
fn nonblocking_read_sees_data_the_poller_has_not_reported() {
    with_timeout(10, || {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (sent_tx, sent_rx) = mpsc::channel::<()>();
        let (addr, peer) = peer(move |mut s| {
            thread::sleep(Duration::from_millis(50));
            s.write_all(b"first").unwrap();
            go_rx.recv().unwrap();
            s.write_all(b"second").unwrap();
            sent_tx.send(()).unwrap();
            thread::sleep(Duration::from_millis(200));
        });
        let got = weft::run(move || {
            let mut s = weft::net::TcpStream::connect(addr).unwrap();
            let mut buf = [0u8; 64];
            // Waits (registers), then reads short: readiness is cleared.
            let n = s.read(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"first");
            s.set_nonblocking(true).unwrap();
            // Nothing there: WouldBlock at once, not a wait.
            let e = s.read(&mut buf).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
            go_tx.send(()).unwrap();
            // Block this worker thread (no poll can happen) until the data
            // is in the kernel.
            sent_rx.recv().unwrap();
            thread::sleep(Duration::from_millis(50));
            let n = s.read(&mut buf).unwrap();
            buf[..n].to_vec()
        });
        assert_eq!(got, b"second");
        peer.join().unwrap();
    });
}

/// A stream of short reads and writes with pauses in between never
/// stalls: every edge after a cleared readiness is seen.
#[test]
fn short_transfers_with_pauses_all_arrive() {
    with_timeout(20, || {
        let rt = common::runtime(2);
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = rt.spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let mut total = 0;
            loop {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    return total;
                }
                total += n;
                s.write_all(&buf[..n]).unwrap();
            }
        });
        let client = rt.spawn(move || {
            let mut s = weft::net::TcpStream::connect(addr).unwrap();
            s.set_nodelay(true).unwrap();
            let mut back = [0u8; 100];
            for i in 0..200u32 {
                let piece = [i as u8; 100];
                s.write_all(&piece[..(i as usize % 100) + 1]).unwrap();
                s.read_exact(&mut back[..(i as usize % 100) + 1]).unwrap();
                assert!(back[..(i as usize % 100) + 1].iter().all(|&b| b == i as u8));
                if i % 50 == 0 {
                    weft::sleep(Duration::from_millis(5));
                }
            }
        });
        client.join().unwrap();
        let total = server.join().unwrap();
        assert_eq!(total, (0..200usize).map(|i| i % 100 + 1).sum::<usize>());
    });
}
