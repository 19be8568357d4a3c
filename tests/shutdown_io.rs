//! Shutdown order: a coroutine unwinding at shutdown whose destructor
//! reads a socket registered with *another* worker's poller is woken when
//! the data comes, because no worker leaves (and closes its poller) while
//! another still has coroutines. And every worker begins its shutdown
//! when told, not at its next socket event: a worker whose shutdown wake
//! was consumed by a non-blocking poll of its idle spin used to sleep on.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};
use weft::net::TcpStream;

/// Reads one byte from its socket when dropped and reports the outcome.
struct ReadsOnDrop {
    stream: TcpStream,
    read: mpsc::Sender<std::io::Result<u8>>,
}

impl Drop for ReadsOnDrop {
    fn drop(&mut self) {
        let mut byte = [0u8; 1];
        let result = self.stream.read_exact(&mut byte).map(|()| byte[0]);
        let _ = self.read.send(result);
    }
}

/// Says so, then sleeps (parks) when dropped: keeps its worker busy for
/// a while at shutdown.
struct SlowToDie(Duration, mpsc::Sender<()>);

impl Drop for SlowToDie {
    fn drop(&mut self) {
        let _ = self.1.send(());
        weft::sleep(self.0);
    }
}

#[test]
fn a_destructor_reading_another_workers_socket_at_shutdown_finishes() {
    with_timeout(30, || {
        let rt = runtime(2);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer_client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        let ours = TcpStream::from_std(ours);

        let (read_tx, read_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let (first_tx, first_rx) = mpsc::channel::<()>();
        let (dying_tx, dying_rx) = mpsc::channel::<()>();
        // The registrar: waits on the socket first, so the socket registers
        // with its worker's poller; then hands it to a coroutine that it
        // forces onto the other worker, by never parking until that one
        // runs.
        let _registrar = rt.spawn(move || {
            let mut ours = ours;
            let mut byte = [0u8; 1];
            first_tx.send(()).unwrap();
            ours.read_exact(&mut byte).unwrap();
            let started = Arc::new(AtomicBool::new(false));
            let s = started.clone();
            let reader = weft::spawn(move || {
                let _guard = ReadsOnDrop {
                    stream: ours,
                    read: read_tx,
                };
                s.store(true, Ordering::SeqCst);
                weft::sleep(Duration::from_secs(3600));
            });
            let deadline = Instant::now() + Duration::from_secs(10);
            while !started.load(Ordering::SeqCst) {
                assert!(Instant::now() < deadline, "the reader never started");
                std::thread::yield_now();
            }
            let _slow = SlowToDie(Duration::from_millis(200), dying_tx);
            ready_tx.send(()).unwrap();
            drop(reader); // detached: it lives until shutdown
            weft::sleep(Duration::from_secs(3600));
        });
        first_rx.recv().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        peer_client.write_all(b"a").unwrap();
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        let busy_workers = weft::dump().workers().filter(|w| w.coroutines > 0).count();
        assert_eq!(busy_workers, 2, "registrar and reader on two workers");

        // At shutdown the reader's guard reads; its byte comes well after
        // the registrar's worker has no coroutine left.
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1000));
            // Both workers must have begun their shutdown by now, without
            // this byte's event to wake them.
            let registrar_unwinding = dying_rx.try_recv().is_ok();
            peer_client.write_all(b"b").unwrap();
            (peer_client, registrar_unwinding)
        });
        let t = Instant::now();
        rt.shutdown();
        let took = t.elapsed();
        let (_peer, registrar_unwinding) = writer.join().unwrap();
        assert!(
            registrar_unwinding,
            "the registrar's worker saw the shutdown only when a socket event woke it"
        );
        let read = read_rx
            .recv_timeout(Duration::from_secs(1))
            .expect("the destructor's read finished");
        assert_eq!(read.unwrap(), b'b');
        println!("shutdown took {took:?}");
    });
}
