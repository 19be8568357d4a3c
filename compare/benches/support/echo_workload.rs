//! The `tcp_echo` workload: its echo servers and its clients' exchange,
//! shared by `benches/net.rs` and `src/bin/echo_profile.rs` (included
//! with `#[path]`), so the bench and its profiling driver measure the same
//! thing.

use std::io::{Read, Write};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A weft echo server; returns its address.
/// `on_connection` runs first in each connection's coroutine.
pub fn weft_echo_server(rt: &weft::Runtime, on_connection: fn()) -> std::net::SocketAddr {
    let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            weft::spawn(move || {
                on_connection();
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
pub fn tokio_echo_server(rt: &tokio::runtime::Runtime) -> std::net::SocketAddr {
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

pub const PER_CONN: usize = 16 * 1024;
pub const WRITE: usize = 1024;

/// Each connection writes `PER_CONN` bytes in `WRITE`-byte pieces, reading
/// each piece's echo back before the next.
pub fn exchange_std(s: &mut weft::net::TcpStream) {
    let out = [1u8; WRITE];
    let mut back = [0u8; WRITE];
    for _ in 0..PER_CONN / WRITE {
        s.write_all(&out).unwrap();
        s.read_exact(&mut back).unwrap();
    }
}

pub async fn exchange_tokio(s: &mut tokio::net::TcpStream) {
    let out = [1u8; WRITE];
    let mut back = [0u8; WRITE];
    for _ in 0..PER_CONN / WRITE {
        s.write_all(&out).await.unwrap();
        s.read_exact(&mut back).await.unwrap();
    }
}

/// One round of the workload on weft: a client coroutine per connection
/// runs the exchange (`on_client` first); returns the connections.
pub fn weft_round(
    rt: &weft::Runtime,
    streams: Vec<weft::net::TcpStream>,
    on_client: fn(),
) -> Vec<weft::net::TcpStream> {
    rt.block_on(move || {
        let hs: Vec<_> = streams
            .into_iter()
            .map(|mut s| {
                weft::spawn(move || {
                    on_client();
                    exchange_std(&mut s);
                    s
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// One round of the workload on tokio: a client task per connection.
pub fn tokio_round(
    rt: &tokio::runtime::Runtime,
    streams: Vec<tokio::net::TcpStream>,
) -> Vec<tokio::net::TcpStream> {
    rt.block_on(async move {
        let hs: Vec<_> = streams
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
    })
}
