//! `weft::future::block_on` with futures that need no runtime (the
//! channels of `futures` and `async-channel`, `async-io` sockets), and
//! `JoinHandle` awaited from async code: parking (not blocking) in a
//! coroutine, wakes from other threads, cancellation, panics, plain
//! threads.

mod common;

use std::future::Future;
use std::io::{Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::thread;
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};
use futures::channel::{mpsc, oneshot};
use futures::{SinkExt, StreamExt};
use weft::future::block_on;

#[test]
fn block_on_a_plain_thread_blocks_until_another_thread_wakes_it() {
    with_timeout(20, || {
        let (tx, rx) = oneshot::channel();
        let sender = thread::spawn(move || {
            thread::sleep(Duration::from_millis(50));
            tx.send(5).unwrap();
        });
        let start = Instant::now();
        assert_eq!(block_on(rx).unwrap(), 5);
        assert!(start.elapsed() >= Duration::from_millis(40));
        sender.join().unwrap();
    });
}

/// On one worker: if `block_on` blocked the thread, the coroutine that
/// sends could never run.
#[test]
fn block_on_parks_the_coroutine_so_its_neighbours_run() {
    with_timeout(20, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let (tx, rx) = oneshot::channel();
            let waiter = weft::spawn(move || block_on(rx).unwrap());
            let sender = weft::spawn(move || {
                weft::sleep(Duration::from_millis(20));
                tx.send("from a neighbour").unwrap();
            });
            assert_eq!(waiter.join().unwrap(), "from a neighbour");
            sender.join().unwrap();
        });
    });
}

/// Each wake comes from another OS thread and races with the coroutine
/// going to park: none is lost (the test would hang).
#[test]
fn wakes_from_threads_racing_with_the_park_are_never_lost() {
    with_timeout(60, || {
        let rt = runtime(2);
        rt.block_on(|| {
            const ROUNDS: usize = 20_000;
            let (mut to_thread, mut from_coroutine) = mpsc::channel::<usize>(0);
            let (mut to_coroutine, mut from_thread) = mpsc::channel::<usize>(0);
            let echo = thread::spawn(move || {
                block_on(async {
                    while let Some(n) = from_coroutine.next().await {
                        to_coroutine.send(n + 1).await.unwrap();
                    }
                })
            });
            for i in 0..ROUNDS {
                block_on(to_thread.send(i)).unwrap();
                assert_eq!(block_on(from_thread.next()), Some(i + 1));
            }
            drop(to_thread);
            echo.join().unwrap();
        });
    });
}

#[test]
fn futures_mpsc_between_coroutines_loses_nothing() {
    with_timeout(60, || {
        let rt = runtime(2);
        rt.block_on(|| {
            const N: u64 = 100_000;
            let (mut tx, mut rx) = mpsc::channel::<u64>(64);
            let producer = weft::spawn(move || {
                for i in 0..N {
                    block_on(tx.send(i)).unwrap();
                }
            });
            let consumer = weft::spawn(move || {
                let mut expected = 0;
                while let Some(i) = block_on(rx.next()) {
                    assert_eq!(i, expected);
                    expected += 1;
                }
                expected
            });
            producer.join().unwrap();
            assert_eq!(consumer.join().unwrap(), N);
        });
    });
}

/// Many coroutines parked in `block_on` at once, woken by one thread.
#[test]
fn async_channel_fans_out_to_many_parked_coroutines() {
    with_timeout(60, || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (tx, rx) = async_channel::unbounded::<u32>();
            let receivers: Vec<_> = (0..500)
                .map(|_| {
                    let rx = rx.clone();
                    weft::spawn(move || {
                        let mut got = 0;
                        while let Ok(v) = block_on(rx.recv()) {
                            got += v as u64;
                        }
                        got
                    })
                })
                .collect();
            drop(rx);
            let sender = thread::spawn(move || {
                for _ in 0..50_000 {
                    tx.send_blocking(1).unwrap();
                }
            });
            sender.join().unwrap();
            let total: u64 = receivers.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(total, 50_000);
        });
    });
}

/// `async-io` sockets (their reactor has its own thread) against a weft
/// server.
#[test]
fn async_io_sockets_from_coroutines_against_a_weft_server() {
    with_timeout(60, || {
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = weft::spawn(move || {
                for _ in 0..100 {
                    let (mut s, _) = listener.accept().unwrap();
                    weft::spawn(move || {
                        let mut buf = [0; 64];
                        let n = s.read(&mut buf).unwrap();
                        s.write_all(&buf[..n]).unwrap();
                    });
                }
            });
            let clients: Vec<_> = (0..100u32)
                .map(|i| {
                    weft::spawn(move || {
                        use futures::{AsyncReadExt, AsyncWriteExt};
                        block_on(async move {
                            let mut s = async_io::Async::<std::net::TcpStream>::connect(addr)
                                .await
                                .unwrap();
                            let msg = format!("hello {i}");
                            s.write_all(msg.as_bytes()).await.unwrap();
                            let mut back = vec![0; msg.len()];
                            s.read_exact(&mut back).await.unwrap();
                            assert_eq!(back, msg.as_bytes());
                        })
                    })
                })
                .collect();
            for c in clients {
                c.join().unwrap();
            }
            server.join().unwrap();
        });
    });
}

/// A future that never completes and records its drop.
struct Pending(Arc<AtomicBool>);

impl Future for Pending {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn a_cancel_inside_block_on_drops_the_future_and_unwinds() {
    with_timeout(20, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let dropped = Arc::new(AtomicBool::new(false));
            let after = Arc::new(AtomicBool::new(false));
            let h = {
                let (dropped, after) = (dropped.clone(), after.clone());
                weft::spawn(move || {
                    block_on(Pending(dropped));
                    after.store(true, Ordering::SeqCst);
                })
            };
            // Let it reach the park.
            while !weft::dump()
                .coroutines()
                .any(|c| c.id == h.id() && c.wait == Some(weft::WaitFor::Future))
            {
                weft::sleep(Duration::from_millis(1));
            }
            assert!(!dropped.load(Ordering::SeqCst));
            h.cancel();
            let err = h.join().unwrap_err();
            assert!(err.is::<weft::Cancelled>());
            assert!(dropped.load(Ordering::SeqCst), "the future was not dropped");
            assert!(
                !after.load(Ordering::SeqCst),
                "block_on returned after a cancel"
            );
        });
    });
}

#[test]
fn a_panic_in_the_future_is_returned_by_join() {
    with_timeout(20, || {
        let h = weft::spawn(|| {
            block_on(async {
                let (tx, rx) = oneshot::channel::<()>();
                thread::spawn(move || tx.send(()).unwrap());
                rx.await.unwrap();
                panic!("boom in a future");
            })
        });
        let err = h.join().unwrap_err();
        assert_eq!(err.downcast_ref::<&str>(), Some(&"boom in a future"));
        // The runtime goes on.
        assert_eq!(weft::spawn(|| block_on(async { 1 })).join().unwrap(), 1);
    });
}

/// A future whose `poll` parks the coroutine itself (a weft sleep inside
/// the poll) while its waker is called from a thread: the inner park eats
/// the park token, and `block_on` must still see the wake.
#[test]
fn a_wake_is_kept_when_the_future_parks_inside_its_poll() {
    struct SleepsInPoll {
        polls: usize,
    }
    impl Future for SleepsInPoll {
        type Output = usize;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls += 1;
            if self.polls == 1 {
                let waker = cx.waker().clone();
                thread::spawn(move || waker.wake());
                // Parks inside poll, long enough for the wake to land.
                weft::sleep(Duration::from_millis(30));
                Poll::Pending
            } else {
                Poll::Ready(self.polls)
            }
        }
    }
    with_timeout(20, || {
        let h = weft::spawn(|| block_on(SleepsInPoll { polls: 0 }));
        assert_eq!(h.join().unwrap(), 2);
    });
}

/// The borrowed waker of a ready future, and a clone kept after
/// `block_on` returned, stay usable.
#[test]
fn a_waker_kept_after_block_on_returned_is_harmless() {
    with_timeout(20, || {
        let kept = Arc::new(std::sync::Mutex::new(None));
        let h = {
            let kept = kept.clone();
            weft::spawn(move || {
                block_on(std::future::poll_fn(|cx| {
                    *kept.lock().unwrap() = Some(cx.waker().clone());
                    Poll::Ready(())
                }));
            })
        };
        h.join().unwrap();
        let waker = kept.lock().unwrap().take().unwrap();
        waker.wake_by_ref(); // the coroutine is gone: nothing happens
        waker.wake();
    });
}

#[test]
fn async_code_awaits_join_handles_without_blocking_its_executor() {
    with_timeout(20, || {
        // One executor thread awaits 100 coroutines in turn; they sleep
        // concurrently on weft's workers.
        let handles: Vec<_> = (0..100u64)
            .map(|i| {
                weft::spawn(move || {
                    weft::sleep(Duration::from_millis(50));
                    i
                })
            })
            .collect();
        let start = Instant::now();
        let sum = futures::executor::block_on(async {
            let mut sum = 0;
            for h in handles {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 99 * 100 / 2);
        assert!(start.elapsed() < Duration::from_secs(3));
    });
}

#[test]
fn awaiting_a_join_handle_returns_panics_and_cancels() {
    with_timeout(20, || {
        let panics = weft::spawn(|| -> u32 { panic!("awaited panic") });
        let err = futures::executor::block_on(panics.into_future()).unwrap_err();
        assert_eq!(err.downcast_ref::<&str>(), Some(&"awaited panic"));

        let sleeper = weft::spawn(|| weft::sleep(Duration::from_secs(3600)));
        sleeper.cancel();
        let err = futures::executor::block_on(sleeper.into_future()).unwrap_err();
        assert!(err.is::<weft::Cancelled>());
    });
}

/// A coroutine awaits another through `block_on(handle)`, and many
/// executors' tasks await handles concurrently (a `select` of two).
#[test]
fn join_futures_are_awaited_from_coroutines_and_selected() {
    with_timeout(20, || {
        let rt = runtime(2);
        rt.block_on(|| {
            let inner = weft::spawn(|| {
                weft::sleep(Duration::from_millis(10));
                "inner"
            });
            let outer = weft::spawn(move || block_on(inner.into_future()).unwrap());
            assert_eq!(outer.join().unwrap(), "inner");

            let fast = weft::spawn(|| 1);
            let (finished_tx, finished_rx) = oneshot::channel();
            let slow = weft::spawn(move || {
                weft::sleep(Duration::from_millis(200));
                finished_tx.send("slow finished").unwrap();
                2
            });
            let first = block_on(async {
                futures::select! {
                    a = futures::FutureExt::fuse(fast.into_future()) => a.unwrap(),
                    b = futures::FutureExt::fuse(slow.into_future()) => b.unwrap(),
                }
            });
            assert_eq!(first, 1);
            // Dropping `slow`'s future detached it, as dropping its
            // handle does: it runs to its end.
            assert_eq!(block_on(finished_rx).unwrap(), "slow finished");
        });
    });
}

#[test]
fn block_on_of_ready_futures_in_a_loop_lets_neighbours_run() {
    with_timeout(20, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let spins = Arc::new(AtomicUsize::new(0));
            let busy = {
                let (stop, spins) = (stop.clone(), spins.clone());
                weft::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        block_on(async {});
                        spins.fetch_add(1, Ordering::Relaxed);
                    }
                })
            };
            // Runs only if the busy loop gives the worker back.
            let neighbour = {
                let stop = stop.clone();
                weft::spawn(move || stop.store(true, Ordering::Relaxed))
            };
            neighbour.join().unwrap();
            busy.join().unwrap();
            assert!(spins.load(Ordering::Relaxed) > 0);
        });
    });
}

/// A `spawn_blocking` handle is a `JoinHandle` too: awaitable the same way.
#[test]
fn a_spawn_blocking_handle_is_awaited_like_a_coroutine() {
    with_timeout(20, || {
        let job = weft::spawn_blocking(|| {
            thread::sleep(Duration::from_millis(20));
            "from the pool"
        });
        assert_eq!(
            futures::executor::block_on(job.into_future()).unwrap(),
            "from the pool"
        );
    });
}

/// `block_on` in a thread-local destructor, registered before and after
/// `block_on` first ran on that thread (so its own thread-local state is
/// still there, or already gone): a wake from another thread still ends it.
#[test]
fn block_on_works_in_thread_local_destructors() {
    use std::cell::RefCell;

    struct OnExit {
        rx: Option<oneshot::Receiver<u32>>,
        done: std::sync::mpsc::Sender<u32>,
    }
    impl Drop for OnExit {
        fn drop(&mut self) {
            let v = block_on(self.rx.take().unwrap()).unwrap();
            self.done.send(v).unwrap();
        }
    }
    thread_local! {
        static ON_EXIT: RefCell<Option<OnExit>> = const { RefCell::new(None) };
    }

    with_timeout(20, || {
        for block_on_first in [false, true] {
            let (tx, rx) = oneshot::channel();
            let (done, finished) = std::sync::mpsc::channel();
            let t = thread::spawn(move || {
                if block_on_first {
                    block_on(async {});
                }
                ON_EXIT.with(|slot| *slot.borrow_mut() = Some(OnExit { rx: Some(rx), done }));
                if !block_on_first {
                    block_on(async {});
                }
            });
            thread::sleep(Duration::from_millis(20));
            tx.send(7).unwrap();
            t.join().unwrap();
            assert_eq!(finished.recv().unwrap(), 7);
        }
    });
}
