//! Loopback TCP on weft against tokio, same worker count
//! (`WEFT_BENCH_WORKERS`, default 2), in the same criterion groups:
//!
//! - `tcp_round_trip`: one connection, 64-byte request, 64-byte reply;
//!   reported per round trip.
//! - `tcp_echo/100` and `tcp_echo/5000`: that many connections each send
//!   16 KiB in 1 KiB writes and read the echo back; reported in bytes.
//!
//! Run: `cargo bench -p compare --bench net`.

use std::io::{Read, Write};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "support/echo_workload.rs"]
mod echo_workload;
#[path = "support/rt.rs"]
mod rt;
use echo_workload::{PER_CONN, tokio_echo_server, tokio_round, weft_echo_server, weft_round};
use rt::{tokio_rt, weft_rt};

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("tcp_round_trip");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(5));

    let rt = weft_rt();
    let addr = weft_echo_server(&rt, || {});
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
            let addr = weft_echo_server(&rt, || {});
            let mut streams: Vec<_> = rt.block_on(|| {
                (0..conns)
                    .map(|_| weft::net::TcpStream::connect(addr).unwrap())
                    .collect()
            });
            g.bench_with_input(BenchmarkId::new("weft", conns), &conns, |b, _| {
                b.iter(|| {
                    let taken = std::mem::take(&mut streams);
                    streams = weft_round(&rt, taken, || {});
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
                    streams = tokio_round(&rt, taken);
                })
            });
            drop(streams);
        }
    }
    g.finish();
}

criterion_group!(benches, round_trip, echo);
criterion_main!(benches);
