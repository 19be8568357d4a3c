//! The fairness budget: a coroutine whose channel is never empty must
//! still let its neighbours run, long before it finishes; and calls that
//! never wait in std never let a neighbour run.

mod common;

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::{runtime, with_timeout};
use weft::sync::mpsc;

const MESSAGES: usize = 1_000_000;

#[test]
fn a_coroutine_draining_a_full_channel_lets_its_neighbour_run() {
    with_timeout(60, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let (tx, rx) = mpsc::channel();
            for i in 0..MESSAGES {
                tx.send(i).unwrap();
            }
            let consumed = Arc::new(AtomicUsize::new(0));
            let c = consumed.clone();
            // Never parks: every recv finds a message.
            let greedy = weft::spawn(move || {
                for _ in 0..MESSAGES {
                    rx.recv().unwrap();
                    c.fetch_add(1, Ordering::Relaxed);
                }
            });
            let c = consumed.clone();
            let neighbour = weft::spawn(move || c.load(Ordering::Relaxed));
            let seen = neighbour.join().unwrap();
            greedy.join().unwrap();
            assert_eq!(consumed.load(Ordering::Relaxed), MESSAGES);
            // The neighbour ran after a few budgets, not after a million
            // receives.
            assert!(seen < MESSAGES / 100, "neighbour ran after {seen} receives");
        });
    });
}

#[test]
fn a_coroutine_relocking_a_free_mutex_lets_its_neighbour_run() {
    with_timeout(60, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let m = Arc::new(weft::sync::Mutex::new(0usize));
            let m2 = m.clone();
            let greedy = weft::spawn(move || {
                for _ in 0..MESSAGES {
                    *m2.lock().unwrap() += 1;
                }
            });
            let m3 = m.clone();
            let neighbour = weft::spawn(move || *m3.lock().unwrap());
            let seen = neighbour.join().unwrap();
            greedy.join().unwrap();
            assert!(seen < MESSAGES / 100, "neighbour ran after {seen} locks");
        });
    });
}

thread_local! {
    /// A worker thread's log, borrowed by the coroutines of that worker.
    static LOG: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// In std an unbounded `send` never gives up the thread, so code may hold
/// a `thread_local!` borrow across it. In weft it must not let another
/// coroutine of the worker run either: here a neighbour that borrows the
/// same thread-local mutably whenever it runs would panic ("already
/// borrowed") if any of 10,000 sends (78 budgets' worth) switched.
#[test]
fn an_unbounded_send_never_switches_coroutines() {
    const SENDS: usize = 10_000;
    with_timeout(60, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let runs = Arc::new(AtomicUsize::new(0));
            let (s, r) = (stop.clone(), runs.clone());
            let neighbour = weft::spawn(move || {
                while !s.load(Ordering::SeqCst) {
                    LOG.with(|log| log.borrow_mut().push(0));
                    r.fetch_add(1, Ordering::SeqCst);
                    weft::yield_now();
                }
            });
            while runs.load(Ordering::SeqCst) == 0 {
                weft::yield_now();
            }
            let (tx, rx) = mpsc::channel();
            let sender = weft::spawn(move || {
                LOG.with(|log| {
                    let held = log.borrow();
                    for i in 0..SENDS {
                        tx.send(i).unwrap();
                    }
                    held.len()
                })
            });
            sender.join().unwrap();
            stop.store(true, Ordering::SeqCst);
            neighbour.join().expect("the neighbour ran during a send");
            assert_eq!(rx.try_iter().count(), SENDS);
        });
    });
}

/// Socket I/O on a socket in non-blocking mode never waits in std, so it
/// never switches either: a thread-local borrow held across 1,000 of
/// them (sends until the queue is full, receives until it is empty) is
/// never contended by the neighbour.
#[test]
fn nonblocking_socket_calls_never_switch_coroutines() {
    use std::io::ErrorKind;
    with_timeout(60, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let runs = Arc::new(AtomicUsize::new(0));
            let (s, r) = (stop.clone(), runs.clone());
            let neighbour = weft::spawn(move || {
                while !s.load(Ordering::SeqCst) {
                    LOG.with(|log| log.borrow_mut().push(1));
                    r.fetch_add(1, Ordering::SeqCst);
                    weft::yield_now();
                }
            });
            while runs.load(Ordering::SeqCst) == 0 {
                weft::yield_now();
            }
            let worker = weft::spawn(move || {
                let (a, b) = weft::os::unix::net::UnixDatagram::pair().unwrap();
                a.set_nonblocking(true).unwrap();
                b.set_nonblocking(true).unwrap();
                LOG.with(|log| {
                    let _held = log.borrow();
                    let (mut sent, mut received) = (0, 0);
                    let mut buf = [0u8; 8];
                    for _ in 0..1000 {
                        match a.send(b"ping") {
                            Ok(_) => sent += 1,
                            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                                while b.recv(&mut buf).is_ok() {
                                    received += 1;
                                }
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                    assert!(sent > 0 && received > 0, "{sent} sent, {received} received");
                });
            });
            worker.join().unwrap();
            stop.store(true, Ordering::SeqCst);
            neighbour
                .join()
                .expect("the neighbour ran during a socket call");
        });
    });
}
