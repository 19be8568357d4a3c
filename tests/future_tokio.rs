//! The tokio bridge: tokio sockets, timers and `tokio::spawn` from
//! coroutines (`weft::compat::tokio::block_on`), and tokio tasks that
//! spawn coroutines and await their `JoinHandle`s; channels between the
//! two worlds in both directions.
#![cfg(feature = "tokio")]

mod common;

use std::io::{self, ErrorKind, Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};
use tokio::net::TcpStream as TokioStream;
use weft::compat::tokio::{block_on, handle};

// tokio socket I/O through the readiness API, so these tests need only
// the features weft's `tokio` feature enables (no `io-util`).

async fn tokio_write_all(s: &TokioStream, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        s.writable().await?;
        match s.try_write(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn tokio_read(s: &TokioStream, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        s.readable().await?;
        match s.try_read(buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            done => return done,
        }
    }
}

async fn tokio_read_exact(s: &TokioStream, buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        match tokio_read(s, &mut buf[filled..]).await? {
            0 => return Err(ErrorKind::UnexpectedEof.into()),
            n => filled += n,
        }
    }
    Ok(())
}

/// A weft echo server: echoes each connection until EOF.
fn weft_echo_server() -> std::net::SocketAddr {
    let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    weft::spawn(move || {
        for stream in listener.incoming() {
            let mut s = stream.unwrap();
            weft::spawn(move || {
                let mut buf = [0; 4096];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => s.write_all(&buf[..n]).unwrap(),
                    }
                }
            });
        }
    });
    addr
}

#[test]
fn tokio_tcp_clients_driven_from_coroutines_against_a_weft_server() {
    with_timeout(60, || {
        let rt = runtime(2);
        rt.block_on(|| {
            let addr = weft_echo_server();
            let clients: Vec<_> = (0..200u32)
                .map(|i| {
                    weft::spawn(move || {
                        // The stream lives across several block_on calls.
                        let s = block_on(TokioStream::connect(addr)).unwrap();
                        for round in 0..5 {
                            let msg = format!("client {i} round {round}");
                            block_on(tokio_write_all(&s, msg.as_bytes())).unwrap();
                            let mut back = vec![0; msg.len()];
                            block_on(tokio_read_exact(&s, &mut back)).unwrap();
                            assert_eq!(back, msg.as_bytes());
                        }
                        i
                    })
                })
                .collect();
            let sum: u32 = clients.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(sum, 199 * 200 / 2);
        });
    });
}

/// The reverse: tokio tasks spawn coroutines (from inside the task) that
/// use `weft::net`, and await their `JoinHandle`s.
#[test]
fn tokio_tasks_await_coroutines_that_use_weft_net() {
    with_timeout(60, || {
        let rt = runtime(2);
        let addr = rt.block_on(weft_echo_server);
        let tasks: Vec<_> = (0..100u32)
            .map(|i| {
                handle().spawn(async move {
                    let coroutine = weft::spawn(move || {
                        assert!(weft::in_coroutine());
                        let mut s = weft::net::TcpStream::connect(addr).unwrap();
                        let msg = format!("from task {i}");
                        s.write_all(msg.as_bytes()).unwrap();
                        let mut back = vec![0; msg.len()];
                        s.read_exact(&mut back).unwrap();
                        String::from_utf8(back).unwrap()
                    });
                    // A tokio timer in the same task, to show the executor
                    // is not blocked by the await below.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    (i, coroutine.await.unwrap())
                })
            })
            .collect();
        let results = weft::future::block_on(async {
            let mut results = Vec::new();
            for t in tasks {
                results.push(t.await.unwrap());
            }
            results
        });
        for (i, echoed) in results {
            assert_eq!(echoed, format!("from task {i}"));
        }
    });
}

/// A tokio task blocked on nothing: it awaits a coroutine that sleeps,
/// while the runtime has a single thread, and another task on that same
/// thread still runs.
#[test]
fn awaiting_a_coroutine_does_not_block_a_current_thread_runtime() {
    with_timeout(20, || {
        let local = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        local.block_on(async {
            let coroutine = weft::spawn(|| {
                weft::sleep(Duration::from_millis(100));
                "slept"
            });
            let ticker = tokio::spawn(async {
                let mut ticks = 0;
                for _ in 0..5 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    ticks += 1;
                }
                ticks
            });
            assert_eq!(coroutine.await.unwrap(), "slept");
            assert_eq!(ticker.await.unwrap(), 5);
        });
    });
}

#[test]
fn tokio_timers_overlap_across_coroutines() {
    with_timeout(60, || {
        let rt = runtime(2);
        rt.block_on(|| {
            let start = Instant::now();
            let handles: Vec<_> = (0..1000)
                .map(|_| {
                    weft::spawn(|| {
                        // Inside `async`: `tokio::time::sleep` itself
                        // needs the context, which only the poll has.
                        block_on(async { tokio::time::sleep(Duration::from_millis(100)).await });
                    })
                })
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            // 1000 x 100 ms serially would be 100 s.
            assert!(start.elapsed() < Duration::from_secs(10));
        });
    });
}

/// The future is polled on the coroutine: it may hold `!Send` values
/// and borrow from the caller, and `tokio::spawn` inside it works.
#[test]
fn block_on_takes_non_send_futures_and_tokio_spawn_works_inside() {
    with_timeout(20, || {
        let h = weft::spawn(|| {
            let local = Rc::new(String::from("borrowed"));
            let borrowed: &str = &local;
            block_on(async {
                let task = tokio::spawn(async { 40 });
                tokio::time::sleep(Duration::from_millis(5)).await;
                let n = task.await.unwrap() + 2;
                format!("{borrowed} {n} {}", Rc::strong_count(&local))
            })
        });
        assert_eq!(h.join().unwrap(), "borrowed 42 1");
    });
}

#[test]
fn async_channel_between_a_coroutine_and_a_tokio_task_both_ways() {
    const N: u64 = 100_000;
    with_timeout(120, || {
        let rt = runtime(2);
        rt.block_on(|| {
            // coroutine -> tokio task
            let (tx, rx) = async_channel::bounded::<u64>(128);
            let task = handle().spawn(async move {
                let mut expected = 0;
                while let Ok(v) = rx.recv().await {
                    assert_eq!(v, expected);
                    expected += 1;
                }
                expected
            });
            let producer = weft::spawn(move || {
                for i in 0..N {
                    block_on(tx.send(i)).unwrap();
                }
            });
            producer.join().unwrap();
            assert_eq!(block_on(task).unwrap(), N);

            // tokio task -> coroutine
            let (tx, rx) = async_channel::bounded::<u64>(128);
            let task = handle().spawn(async move {
                for i in 0..N {
                    tx.send(i).await.unwrap();
                }
            });
            let consumer = weft::spawn(move || {
                let mut expected = 0;
                while let Ok(v) = block_on(rx.recv()) {
                    assert_eq!(v, expected);
                    expected += 1;
                }
                expected
            });
            assert_eq!(consumer.join().unwrap(), N);
            block_on(task).unwrap();
        });
    });
}

#[test]
fn futures_mpsc_between_a_coroutine_and_a_tokio_task_both_ways() {
    use futures::{SinkExt, StreamExt};
    const N: u64 = 100_000;
    with_timeout(120, || {
        let rt = runtime(2);
        rt.block_on(|| {
            let (mut to_task, mut task_rx) = futures::channel::mpsc::channel::<u64>(64);
            let (mut task_tx, mut from_task) = futures::channel::mpsc::channel::<u64>(64);
            // The task echoes each message back, doubled.
            let task = handle().spawn(async move {
                let mut n = 0;
                while let Some(v) = task_rx.next().await {
                    task_tx.send(v * 2).await.unwrap();
                    n += 1;
                }
                n
            });
            let consumer = weft::spawn(move || {
                let mut expected = 0;
                while let Some(v) = block_on(from_task.next()) {
                    assert_eq!(v, expected * 2);
                    expected += 1;
                }
                expected
            });
            let producer = weft::spawn(move || {
                for i in 0..N {
                    block_on(to_task.send(i)).unwrap();
                }
            });
            producer.join().unwrap();
            assert_eq!(block_on(task).unwrap(), N);
            assert_eq!(consumer.join().unwrap(), N);
        });
    });
}

/// Cancelling a coroutine parked in the bridge's `block_on` on a tokio
/// socket drops the socket (the server sees EOF).
#[test]
fn a_cancel_inside_the_tokio_block_on_drops_the_tokio_socket() {
    with_timeout(20, || {
        let rt = runtime(2);
        rt.block_on(|| {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let reader = weft::spawn(move || {
                block_on(async move {
                    let s = TokioStream::connect(addr).await.unwrap();
                    let mut buf = [0; 1];
                    // The server never writes: this waits until cancelled.
                    tokio_read(&s, &mut buf).await
                })
            });
            let (mut server_side, _) = listener.accept().unwrap();
            weft::sleep(Duration::from_millis(50));
            reader.cancel();
            assert!(reader.join().unwrap_err().is::<weft::Cancelled>());
            // The future, and its stream, were dropped: EOF.
            let mut buf = [0; 1];
            assert_eq!(server_side.read(&mut buf).unwrap(), 0);
        });
    });
}

#[test]
fn the_tokio_block_on_works_on_a_plain_thread() {
    with_timeout(20, || {
        let start = Instant::now();
        let n = block_on(async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            tokio::spawn(async { 7 }).await.unwrap()
        });
        assert_eq!(n, 7);
        assert!(start.elapsed() >= Duration::from_millis(25));
        // The runtime's threads are tokio's own, named for weft.
        let name =
            block_on(handle().spawn(async { std::thread::current().name().map(String::from) }))
                .unwrap();
        assert!(name.unwrap().starts_with("weft-tokio-"));
    });
}
