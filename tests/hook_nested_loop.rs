//! A library that runs its own event loop inside a coroutine (here a
//! private tokio runtime, as some blocking clients wrap): with the `hook`
//! feature its `epoll_wait` parks the coroutine on the inner epoll
//! descriptor instead of blocking the worker.
//!
//! One such loop per worker at a time: tokio keeps "inside a runtime" in
//! a thread local, shared by every coroutine of the worker, so a second
//! coroutine's `block_on` while the first is parked panics (tokio's own
//! rule against nested runtimes). See arch/hook.md.
#![cfg(feature = "hook")]

mod common;

use std::time::{Duration, Instant};

#[test]
fn a_private_tokio_runtime_in_a_coroutine_leaves_the_worker_free() {
    let (elapsed, ticks) = common::with_timeout(60, || {
        let rt = common::runtime(1);
        rt.block_on(|| {
            let start = Instant::now();
            let nested = weft::spawn(|| {
                let tokio_rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                tokio_rt.block_on(async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                });
            });
            // A neighbour on the same single worker keeps ticking while
            // tokio's loop waits in epoll_wait.
            let ticker = weft::spawn(move || {
                let mut ticks = 0;
                while !nested.is_finished() {
                    weft::sleep(Duration::from_millis(5));
                    ticks += 1;
                }
                nested.join().unwrap();
                ticks
            });
            let ticks = ticker.join().unwrap();
            (start.elapsed(), ticks)
        })
    });
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    // 300 ms of 5 ms ticks: about 60 if the worker was free, at most one
    // or two if tokio's epoll_wait had blocked it.
    assert!(ticks >= 20, "only {ticks} ticks in {elapsed:?}");
}

#[test]
fn a_private_tokio_socket_read_parks_the_coroutine() {
    common::with_timeout(60, || {
        let rt = common::runtime(1);
        rt.block_on(|| {
            let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            // The server answers after 200 ms; on the same single worker,
            // so it can only answer if the client's loop parks.
            weft::spawn(move || {
                let (mut s, _) = listener.accept().unwrap();
                weft::sleep(Duration::from_millis(200));
                std::io::Write::write_all(&mut s, b"pong").unwrap();
            });
            let client = weft::spawn(move || {
                let tokio_rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                tokio_rt.block_on(async move {
                    use tokio::io::AsyncReadExt;
                    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                    let mut buf = [0u8; 4];
                    s.read_exact(&mut buf).await.unwrap();
                    buf
                })
            });
            assert_eq!(&client.join().unwrap(), b"pong");
        });
    });
}
