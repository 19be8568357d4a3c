//! `weft::sync::oneshot`: one value between coroutines, threads and both;
//! disconnection, timeouts, cancellation.

mod common;
mod sync_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};
use sync_common::{SETTINGS, SIDES, start};
use weft::sync::mpsc::{RecvError, RecvTimeoutError, TryRecvError};
use weft::sync::oneshot;

#[test]
fn the_value_arrives_in_every_setting() {
    with_timeout(10, || {
        for (tx_side, rx_side) in SETTINGS {
            let (tx, rx) = oneshot::channel();
            let receiver = start(rx_side, move || rx.recv());
            let sender = start(tx_side, move || {
                weft::sleep(Duration::from_millis(5));
                tx.send(String::from("v"))
            });
            assert_eq!(sender.join(), Ok(()));
            assert_eq!(
                receiver.join(),
                Ok(String::from("v")),
                "{tx_side:?} -> {rx_side:?}"
            );
        }
    });
}

#[test]
fn dropping_the_sender_disconnects_a_waiting_receiver() {
    with_timeout(10, || {
        for (tx_side, rx_side) in SETTINGS {
            let (tx, rx) = oneshot::channel::<u8>();
            let receiver = start(rx_side, move || rx.recv());
            let sender = start(tx_side, move || {
                weft::sleep(Duration::from_millis(5));
                drop(tx);
            });
            sender.join();
            assert_eq!(receiver.join(), Err(RecvError));
        }
    });
}

#[test]
fn send_fails_with_the_value_once_the_receiver_is_gone() {
    let (tx, rx) = oneshot::channel();
    drop(rx);
    assert_eq!(tx.send(vec![1]), Err(vec![1]));
}

#[test]
fn try_recv_and_recv_timeout() {
    with_timeout(10, || {
        for side in SIDES {
            let (tx, rx) = oneshot::channel();
            let r = start(side, move || {
                let mut rx = rx;
                let empty = rx.try_recv();
                let start = Instant::now();
                let timed_out = rx.recv_timeout(Duration::from_millis(20));
                let waited = start.elapsed();
                let got = rx.recv_timeout(Duration::from_secs(5));
                let after = rx.try_recv();
                (empty, timed_out, waited, got, after)
            });
            std::thread::sleep(Duration::from_millis(60));
            tx.send(3).unwrap();
            let (empty, timed_out, waited, got, after) = r.join();
            assert_eq!(empty, Err(TryRecvError::Empty));
            assert_eq!(timed_out, Err(RecvTimeoutError::Timeout));
            assert!(waited >= Duration::from_millis(20));
            assert_eq!(got, Ok(3), "{side:?}");
            assert_eq!(after, Err(TryRecvError::Disconnected));
        }
    });
}

#[test]
fn a_cancelled_receiver_unwinds_and_the_sender_sees_it_gone() {
    with_timeout(10, || {
        let rt = runtime(2);
        let (tx, rx) = oneshot::channel::<u8>();
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
        assert_eq!(tx.send(1), Err(1));
    });
}
