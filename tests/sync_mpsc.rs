//! `weft::sync::mpsc`: std's channel semantics between coroutines,
//! between threads and across the two; disconnection, timeouts, the
//! rendezvous channel, and cancellation of a coroutine waiting on a
//! channel (no lost message, no lost wake).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};
use weft::sync::mpsc::{self, RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

/// Where a test role runs.
#[derive(Clone, Copy, Debug)]
enum Side {
    Coroutine,
    Thread,
}

/// Every (sender side, receiver side) combination.
const SETTINGS: [(Side, Side); 4] = [
    (Side::Coroutine, Side::Coroutine),
    (Side::Thread, Side::Thread),
    (Side::Coroutine, Side::Thread),
    (Side::Thread, Side::Coroutine),
];

/// Runs `f` as a coroutine (default runtime) or on a new thread; the
/// returned closure joins it.
fn start<T: Send + 'static>(
    side: Side,
    f: impl FnOnce() -> T + Send + 'static,
) -> Box<dyn FnOnce() -> T> {
    match side {
        Side::Coroutine => {
            let h = weft::spawn(f);
            Box::new(move || h.join().unwrap())
        }
        Side::Thread => {
            let h = std::thread::spawn(f);
            Box::new(move || h.join().unwrap())
        }
    }
}

/// Yields (or spins on a thread) until `cond` holds.
fn until(cond: impl Fn() -> bool) {
    while !cond() {
        weft::yield_now();
    }
}

#[test]
fn unbounded_channel_delivers_in_order_in_every_setting() {
    with_timeout(20, || {
        for (tx_side, rx_side) in SETTINGS {
            let (tx, rx) = mpsc::channel();
            let producer = start(tx_side, move || {
                for i in 0..10_000u32 {
                    tx.send(i).unwrap();
                }
            });
            let consumer = start(rx_side, move || rx.iter().collect::<Vec<_>>());
            producer();
            let got = consumer();
            assert_eq!(
                got,
                (0..10_000).collect::<Vec<_>>(),
                "{tx_side:?} -> {rx_side:?}"
            );
        }
    });
}

#[test]
fn many_producers_of_both_kinds_lose_nothing() {
    with_timeout(20, || {
        let (tx, rx) = mpsc::channel();
        let producers: Vec<_> = (0..8)
            .map(|p| {
                let tx = tx.clone();
                let side = if p % 2 == 0 {
                    Side::Coroutine
                } else {
                    Side::Thread
                };
                start(side, move || {
                    for i in 0..1000u32 {
                        tx.send((p, i)).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let mut next = [0u32; 8];
        for (p, i) in rx.iter() {
            assert_eq!(next[p], i, "per-producer FIFO");
            next[p] += 1;
        }
        assert_eq!(next, [1000; 8]);
        for p in producers {
            p();
        }
    });
}

#[test]
fn bounded_channel_waits_for_room_in_every_setting() {
    with_timeout(20, || {
        for (tx_side, rx_side) in SETTINGS {
            let (tx, rx) = mpsc::sync_channel(2);
            let sent = Arc::new(AtomicUsize::new(0));
            let s = sent.clone();
            let producer = start(tx_side, move || {
                for i in 0..100u32 {
                    tx.send(i).unwrap();
                    s.fetch_add(1, Ordering::SeqCst);
                }
            });
            let consumer = start(rx_side, move || {
                // Nothing received yet: the producer stops at the bound.
                weft::sleep(Duration::from_millis(20));
                assert_eq!(sent.load(Ordering::SeqCst), 2);
                rx.iter().collect::<Vec<_>>()
            });
            producer();
            assert_eq!(consumer(), (0..100).collect::<Vec<_>>());
        }
    });
}

#[test]
fn rendezvous_send_returns_only_after_the_receive() {
    with_timeout(20, || {
        for (tx_side, rx_side) in SETTINGS {
            let (tx, rx) = mpsc::sync_channel(0);
            let received = Arc::new(AtomicUsize::new(0));
            let r = received.clone();
            let producer = start(tx_side, move || {
                for i in 0..50usize {
                    tx.send(i).unwrap();
                    // The receiver took message i before send returned.
                    assert!(r.load(Ordering::SeqCst) >= i, "send returned early");
                }
            });
            let consumer = start(rx_side, move || {
                let mut n = 0;
                while let Ok(i) = rx.recv() {
                    assert_eq!(i, n);
                    n += 1;
                    received.store(n, Ordering::SeqCst);
                }
                n
            });
            producer();
            assert_eq!(consumer(), 50);
        }
    });
}

#[test]
fn rendezvous_try_send_needs_a_waiting_receiver() {
    with_timeout(10, || {
        let (tx, rx) = mpsc::sync_channel(0);
        assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
        let h = weft::spawn(move || rx.recv());
        // Once the receiver waits, try_send hands it the message.
        loop {
            match tx.try_send(2) {
                Ok(()) => break,
                Err(TrySendError::Full(_)) => std::thread::yield_now(),
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(h.join().unwrap(), Ok(2));
    });
}

#[test]
fn rendezvous_sender_gets_its_message_back_when_the_receiver_leaves() {
    with_timeout(10, || {
        for side in [Side::Coroutine, Side::Thread] {
            let (tx, rx) = mpsc::sync_channel(0);
            let sender = start(side, move || tx.send(String::from("kept")));
            std::thread::sleep(Duration::from_millis(20));
            drop(rx);
            assert_eq!(sender(), Err(SendError(String::from("kept"))), "{side:?}");
        }
    });
}

#[test]
fn blocked_bounded_sender_fails_when_the_receiver_leaves() {
    with_timeout(10, || {
        for side in [Side::Coroutine, Side::Thread] {
            let (tx, rx) = mpsc::sync_channel(1);
            tx.send(1).unwrap();
            let sender = start(side, move || tx.send(2));
            std::thread::sleep(Duration::from_millis(20));
            drop(rx);
            assert_eq!(sender(), Err(SendError(2)), "{side:?}");
        }
    });
}

#[test]
fn receiver_drains_then_sees_disconnection_in_every_setting() {
    with_timeout(10, || {
        for (tx_side, rx_side) in SETTINGS {
            let (tx, rx) = mpsc::channel();
            let producer = start(tx_side, move || {
                tx.send(1).unwrap();
                tx.send(2).unwrap();
            });
            producer();
            let consumer = start(rx_side, move || {
                let a = rx.recv();
                let b = rx.recv();
                let c = rx.recv();
                let d = rx.try_recv();
                (a, b, c, d)
            });
            assert_eq!(
                consumer(),
                (
                    Ok(1),
                    Ok(2),
                    Err(RecvError),
                    Err(TryRecvError::Disconnected)
                )
            );
        }
    });
}

#[test]
fn a_waiting_receiver_wakes_when_the_last_sender_drops() {
    with_timeout(10, || {
        for (tx_side, rx_side) in SETTINGS {
            let (tx, rx) = mpsc::channel::<u8>();
            let tx2 = tx.clone();
            let consumer = start(rx_side, move || rx.recv());
            std::thread::sleep(Duration::from_millis(10));
            let dropper = start(tx_side, move || {
                drop(tx);
                drop(tx2);
            });
            dropper();
            assert_eq!(consumer(), Err(RecvError));
        }
    });
}

#[test]
fn send_fails_once_the_receiver_is_gone() {
    let (tx, rx) = mpsc::channel();
    drop(rx);
    assert_eq!(tx.send(5), Err(SendError(5)));
    let (tx, rx) = mpsc::sync_channel(3);
    drop(rx);
    assert_eq!(tx.try_send(5), Err(TrySendError::Disconnected(5)));
    assert_eq!(tx.send(6), Err(SendError(6)));
}

#[test]
fn dropping_the_receiver_drops_queued_messages() {
    let marker = Arc::new(());
    let (tx, rx) = mpsc::channel();
    for _ in 0..3 {
        tx.send(marker.clone()).unwrap();
    }
    assert_eq!(Arc::strong_count(&marker), 4);
    drop(rx);
    assert_eq!(Arc::strong_count(&marker), 1);
}

#[test]
fn recv_timeout_times_out_and_delivers_in_both_settings() {
    with_timeout(10, || {
        for side in [Side::Coroutine, Side::Thread] {
            let (tx, rx) = mpsc::channel();
            let waiter = start(side, move || {
                let start = Instant::now();
                let first = rx.recv_timeout(Duration::from_millis(30));
                let waited = start.elapsed();
                let second = rx.recv_timeout(Duration::from_secs(5));
                (first, waited, second, rx)
            });
            std::thread::sleep(Duration::from_millis(100));
            tx.send(7).unwrap();
            let (first, waited, second, rx) = waiter();
            assert_eq!(first, Err(RecvTimeoutError::Timeout), "{side:?}");
            assert!(waited >= Duration::from_millis(30), "{side:?}: {waited:?}");
            assert_eq!(second, Ok(7), "{side:?}");
            drop(tx);
            assert_eq!(
                rx.recv_timeout(Duration::from_secs(5)),
                Err(RecvTimeoutError::Disconnected)
            );
        }
    });
}

#[test]
fn cancelled_receiver_unwinds_and_disconnects_the_channel() {
    with_timeout(10, || {
        let rt = runtime(2);
        let (tx, rx) = mpsc::channel::<u32>();
        let waiting = Arc::new(AtomicBool::new(false));
        let w = waiting.clone();
        let h = rt.spawn(move || {
            w.store(true, Ordering::SeqCst);
            let _ = rx.recv();
            unreachable!("cancelled while waiting");
        });
        while !waiting.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        std::thread::sleep(Duration::from_millis(10));
        h.cancel();
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
        // Its receiver was dropped while unwinding.
        assert_eq!(tx.send(1), Err(SendError(1)));
    });
}

#[test]
fn a_cancelled_woken_sender_passes_its_wake_to_the_next_sender() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let (tx, rx) = mpsc::sync_channel(1);
            tx.send(0).unwrap();
            let parked = Arc::new(AtomicUsize::new(0));
            let spawn_sender = |v: u32| {
                let (tx, parked) = (tx.clone(), parked.clone());
                weft::spawn(move || {
                    parked.fetch_add(1, Ordering::SeqCst);
                    tx.send(v)
                })
            };
            let a = spawn_sender(1);
            until(|| parked.load(Ordering::SeqCst) == 1);
            let b = spawn_sender(2);
            until(|| parked.load(Ordering::SeqCst) == 2);
            // One worker: both are parked in send, A first. Freeing the
            // slot wakes A; cancel it before it runs.
            assert_eq!(rx.recv(), Ok(0));
            a.cancel();
            // A unwinds from its park; its wake must reach B.
            assert_eq!(rx.recv(), Ok(2));
            assert!(a.join().unwrap_err().is::<weft::Cancelled>());
            assert_eq!(b.join().unwrap(), Ok(()));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        });
    });
}

#[test]
fn a_cancelled_rendezvous_sender_takes_its_message_back() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let (tx, rx) = mpsc::sync_channel(0);
            let parked = Arc::new(AtomicBool::new(false));
            let (tx1, p) = (tx.clone(), parked.clone());
            let a = weft::spawn(move || {
                p.store(true, Ordering::SeqCst);
                tx1.send("never")
            });
            until(|| parked.load(Ordering::SeqCst));
            a.cancel();
            assert!(a.join().unwrap_err().is::<weft::Cancelled>());
            // The message left with its sender, and the slot is free.
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            let b = weft::spawn(move || tx.send("later"));
            assert_eq!(rx.recv(), Ok("later"));
            b.join().unwrap().unwrap();
        });
    });
}

#[test]
fn cancelling_a_receiver_loses_no_queued_message() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            // The receiver goes back and forth between coroutines; the
            // one holding it is cancelled just after a send woke it.
            let (tx, rx) = mpsc::channel::<u32>();
            let (back_tx, back_rx) = mpsc::channel();
            let parked = Arc::new(AtomicBool::new(false));
            let p = parked.clone();
            let h = weft::spawn(move || {
                struct GiveBack(
                    Option<mpsc::Receiver<u32>>,
                    mpsc::Sender<mpsc::Receiver<u32>>,
                );
                impl Drop for GiveBack {
                    fn drop(&mut self) {
                        let _ = self.1.send(self.0.take().unwrap());
                    }
                }
                let guard = GiveBack(Some(rx), back_tx);
                p.store(true, Ordering::SeqCst);
                let _ = guard.0.as_ref().unwrap().recv();
                unreachable!("cancelled before it could run");
            });
            until(|| parked.load(Ordering::SeqCst));
            tx.send(42).unwrap(); // wakes the receiver...
            h.cancel(); // ...which unwinds instead of taking it
            assert!(h.join().unwrap_err().is::<weft::Cancelled>());
            let rx = back_rx.recv().unwrap();
            assert_eq!(rx.try_recv(), Ok(42));
        });
    });
}

#[test]
fn iterators_behave_like_std() {
    let (tx, rx) = mpsc::channel();
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(rx.try_iter().next(), None);
    tx.send(3).unwrap();
    drop(tx);
    let mut all = Vec::new();
    for v in &rx {
        all.push(v);
    }
    assert_eq!(all, [3]);
    assert_eq!(rx.into_iter().next(), None);
}

#[test]
fn senders_and_receivers_have_std_auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<mpsc::Sender<u8>>();
    send_sync::<mpsc::SyncSender<u8>>();
    send::<mpsc::Receiver<u8>>();
}
