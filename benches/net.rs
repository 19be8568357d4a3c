//! Loopback TCP on weft against tokio, same worker count
//! (`WEFT_BENCH_WORKERS`, default 2), in the same criterion groups:
//!
//! - `tcp_round_trip`: one connection, 64-byte request, 64-byte reply;
//!   reported per round trip.
//! - `tcp_echo/100` and `tcp_echo/5000`: that many connections each send
//!   16 KiB in 1 KiB writes and read the echo back; reported in bytes.
//!
//! Run: `cargo bench --bench net`.

use std::io::{Read, Write};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "rt.rs"]
mod rt;
use rt::{tokio_rt, weft_rt};

/// A weft echo server; returns its address.
fn weft_echo_server(rt: &weft::Runtime) -> std::net::SocketAddr {
    let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            weft::spawn(move || {
                s.set_nodelay(true).unwrap();
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// A tokio echo server; returns its address.
fn tokio_echo_server(rt: &tokio::runtime::Runtime) -> std::net::SocketAddr {
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                s.set_nodelay(true).unwrap();
                let mut buf = [0u8; 16 * 1024];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("tcp_round_trip");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(5));

    let rt = weft_rt();
    let addr = weft_echo_server(&rt);
    g.bench_function("weft", |b| {
        b.iter_custom(|iters| {
            rt.block_on(|| {
                let mut s = weft::net::TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                let mut msg = [7u8; 64];
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    s.write_all(&msg).unwrap();
                    s.read_exact(&mut msg).unwrap();
                }
                start.elapsed()
            })
        })
    });
    drop(rt);

    let rt = tokio_rt();
    let addr = tokio_echo_server(&rt);
    g.bench_function("tokio", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                s.set_nodelay(true).unwrap();
                let mut msg = [7u8; 64];
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    s.write_all(&msg).await.unwrap();
                    s.read_exact(&mut msg).await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

const PER_CONN: usize = 16 * 1024;
const WRITE: usize = 1024;

/// Each connection writes `PER_CONN` bytes in `WRITE`-byte pieces, reading
/// each piece's echo back before the next.
fn exchange_std(s: &mut weft::net::TcpStream) {
    let out = [1u8; WRITE];
    let mut back = [0u8; WRITE];
    for _ in 0..PER_CONN / WRITE {
        s.write_all(&out).unwrap();
        s.read_exact(&mut back).unwrap();
    }
}

async fn exchange_tokio(s: &mut tokio::net::TcpStream) {
    let out = [1u8; WRITE];
    let mut back = [0u8; WRITE];
    for _ in 0..PER_CONN / WRITE {
        s.write_all(&out).await.unwrap();
        s.read_exact(&mut back).await.unwrap();
    }
}

fn echo(c: &mut Criterion) {
    let mut g = c.benchmark_group("tcp_echo");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    for conns in [100usize, 5000] {
        g.throughput(Throughput::Bytes((conns * PER_CONN) as u64));

        // Connections are made once and reused by every iteration: the
        // group measures echo throughput, not connection setup (and does
        // not run out of ephemeral ports). Each runtime's sockets are
        // closed before the next runtime opens its own (20,000 fds max).
        {
            let rt = weft_rt();
            let addr = weft_echo_server(&rt);
            let mut streams: Vec<_> = rt.block_on(|| {
                (0..conns)
                    .map(|_| weft::net::TcpStream::connect(addr).unwrap())
                    .collect()
            });
            g.bench_with_input(BenchmarkId::new("weft", conns), &conns, |b, _| {
                b.iter(|| {
                    let taken = std::mem::take(&mut streams);
                    streams = rt.block_on(move || {
                        let hs: Vec<_> = taken
                            .into_iter()
                            .map(|mut s| {
                                weft::spawn(move || {
                                    exchange_std(&mut s);
                                    s
                                })
                            })
                            .collect();
                        hs.into_iter().map(|h| h.join().unwrap()).collect()
                    });
                })
            });
            drop(streams);
        }

        {
            let rt = tokio_rt();
            let addr = tokio_echo_server(&rt);
            let mut streams: Vec<_> = rt.block_on(async {
                let mut v = Vec::with_capacity(conns);
                for _ in 0..conns {
                    v.push(tokio::net::TcpStream::connect(addr).await.unwrap());
                }
                v
            });
            g.bench_with_input(BenchmarkId::new("tokio", conns), &conns, |b, _| {
                b.iter(|| {
                    let taken = std::mem::take(&mut streams);
                    streams = rt.block_on(async move {
                        let hs: Vec<_> = taken
                            .into_iter()
                            .map(|mut s| {
                                tokio::spawn(async move {
                                    exchange_tokio(&mut s).await;
                                    s
                                })
                            })
                            .collect();
                        let mut back = Vec::with_capacity(hs.len());
                        for h in hs {
                            back.push(h.await.unwrap());
                        }
                        back
                    });
                })
            });
            drop(streams);
        }
    }
    g.finish();
}

criterion_group!(benches, round_trip, echo);
criterion_main!(benches);
