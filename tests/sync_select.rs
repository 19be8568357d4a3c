//! `weft::select!` and `Select`: waiting on several receivers at once,
//! with senders on coroutines and threads, disconnection, timeouts and
//! cancellation.

mod common;
mod sync_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};
use sync_common::{SETTINGS, start};
use weft::sync::mpsc::{self, RecvError};
use weft::sync::{Select, TryReadyError};

#[test]
fn select_receives_from_whichever_channel_is_ready_in_every_setting() {
    with_timeout(20, || {
        for (senders, selector) in SETTINGS {
            let (tx1, rx1) = mpsc::channel();
            let (tx2, rx2) = mpsc::sync_channel(0);
            let a = start(senders, move || {
                for i in 0..500 {
                    tx1.send(i).unwrap();
                }
            });
            let b = start(senders, move || {
                for i in 0..500 {
                    tx2.send(-i).unwrap();
                }
            });
            let sel = start(selector, move || {
                let (mut ones, mut twos, mut closed) = (0, 0, 0);
                while closed < 2 {
                    weft::select! {
                        recv(rx1) -> msg => match msg {
                            Ok(_) => ones += 1,
                            Err(RecvError) => closed += 1,
                        },
                        recv(rx2) -> msg => match msg {
                            Ok(_) => twos += 1,
                            Err(RecvError) => closed += 1,
                        },
                    }
                    if closed == 1 {
                        // One disconnected channel is always ready: stop
                        // selecting on it.
                        break;
                    }
                }
                // Drain the rest the plain way.
                ones += rx1.iter().count();
                twos += rx2.iter().count();
                (ones, twos)
            });
            a.join();
            b.join();
            assert_eq!(sel.join(), (500, 500), "{senders:?} -> {selector:?}");
        }
    });
}

#[test]
fn a_disconnected_receiver_fires_its_arm_with_an_error() {
    let (tx, rx) = mpsc::channel::<u8>();
    let (_keep, other) = mpsc::channel::<u8>();
    drop(tx);
    let got = weft::select! {
        recv(other) -> _msg => "other",
        recv(rx) -> msg => { assert_eq!(msg, Err(RecvError)); "closed" }
    };
    assert_eq!(got, "closed");
}

#[test]
fn default_without_timeout_does_not_wait_and_with_one_times_out() {
    with_timeout(10, || {
        let (_tx, rx) = mpsc::channel::<u8>();
        let now = weft::select! {
            recv(rx) -> _m => false,
            default => true,
        };
        assert!(now);
        for side in [sync_common::Side::Coroutine, sync_common::Side::Thread] {
            let r = start(side, || {
                let (_tx, rx) = mpsc::channel::<u8>();
                let start = Instant::now();
                let timed_out = weft::select! {
                    recv(rx) -> _m => false,
                    default(Duration::from_millis(20)) => true,
                };
                (timed_out, start.elapsed())
            });
            let (timed_out, took) = r.join();
            assert!(timed_out && took >= Duration::from_millis(20), "{side:?}");
        }
    });
}

#[test]
fn a_select_wakes_for_a_late_message_from_a_thread() {
    with_timeout(10, || {
        let (tx1, rx1) = mpsc::channel::<u8>();
        let (tx2, rx2) = mpsc::channel::<u8>();
        let h = weft::spawn(move || {
            weft::select! {
                recv(rx1) -> m => (1, m.unwrap()),
                recv(rx2) -> m => (2, m.unwrap()),
                default(Duration::from_secs(5)) => panic!("timed out"),
            }
        });
        std::thread::sleep(Duration::from_millis(20));
        tx2.send(9).unwrap();
        assert_eq!(h.join().unwrap(), (2, 9));
        drop(tx1);
    });
}

#[test]
fn select_rotates_between_ready_receivers() {
    let (tx1, rx1) = mpsc::channel();
    let (tx2, rx2) = mpsc::channel();
    for _ in 0..100 {
        tx1.send(()).unwrap();
        tx2.send(()).unwrap();
    }
    let (mut a, mut b) = (0, 0);
    for _ in 0..100 {
        weft::select! {
            recv(rx1) -> _m => a += 1,
            recv(rx2) -> _m => b += 1,
        }
    }
    assert!(a > 10 && b > 10, "{a} vs {b}");
}

#[test]
fn the_select_builder_reports_readiness() {
    let (tx1, rx1) = mpsc::channel::<u8>();
    let (tx2, rx2) = mpsc::channel::<u8>();
    let mut sel = Select::new();
    let i1 = sel.recv(&rx1);
    let i2 = sel.recv(&rx2);
    assert_eq!(sel.try_ready(), Err(TryReadyError));
    assert!(sel.ready_timeout(Duration::from_millis(5)).is_err());
    tx2.send(1).unwrap();
    assert_eq!(sel.ready(), i2);
    drop(sel);
    assert_eq!(rx2.try_recv(), Ok(1));
    drop(tx1);
    let mut sel = Select::new();
    assert_eq!(sel.recv(&rx1), i1);
    assert_eq!(sel.ready(), i1);
    drop(tx2);
}

#[test]
fn a_cancelled_select_leaves_every_channel_clean() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let (tx1, rx1) = mpsc::channel::<u8>();
            let (tx2, rx2) = mpsc::channel::<u8>();
            let parked = Arc::new(AtomicBool::new(false));
            let p = parked.clone();
            let (back_tx, back_rx) = mpsc::channel();
            let h = weft::spawn(move || {
                struct GiveBack(
                    Option<(mpsc::Receiver<u8>, mpsc::Receiver<u8>)>,
                    mpsc::Sender<(mpsc::Receiver<u8>, mpsc::Receiver<u8>)>,
                );
                impl Drop for GiveBack {
                    fn drop(&mut self) {
                        let _ = self.1.send(self.0.take().unwrap());
                    }
                }
                let g = GiveBack(Some((rx1, rx2)), back_tx);
                let (rx1, rx2) = g.0.as_ref().unwrap();
                p.store(true, Ordering::SeqCst);
                weft::select! {
                    recv(rx1) -> _m => unreachable!(),
                    recv(rx2) -> _m => unreachable!(),
                }
            });
            while !parked.load(Ordering::SeqCst) {
                weft::yield_now();
            }
            tx1.send(1).unwrap(); // wakes the select...
            h.cancel(); // ...which unwinds instead
            assert!(h.join().unwrap_err().is::<weft::Cancelled>());
            tx2.send(2).unwrap(); // its registration is gone: no stale wake
            let (rx1, rx2) = back_rx.recv().unwrap();
            assert_eq!(rx1.try_recv(), Ok(1));
            assert_eq!(rx2.try_recv(), Ok(2));
        });
    });
}
