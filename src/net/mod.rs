//! Networking primitives for TCP and UDP, the twins of [`std::net`]'s:
//! same names, same methods, same errors, but a call that would block
//! parks the calling coroutine (not its worker thread) until the socket is
//! ready.
//!
//! Swap `use std::net::...` for `use weft::net::...` and the code compiles
//! and means the same thing. Thousands of connections then cost thousands
//! of small coroutine stacks, not thousands of threads; outside a coroutine
//! the same types block the calling thread, exactly like std's.
//!
//! ```
//! use std::io::{BufRead, BufReader, Write};
//! use weft::net::{TcpListener, TcpStream};
//!
//! weft::run(|| {
//!     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     weft::spawn(move || {
//!         for stream in listener.incoming() {
//!             let stream = stream.unwrap();
//!             weft::spawn(move || {
//!                 let mut lines = BufReader::new(&stream);
//!                 let mut line = String::new();
//!                 while lines.read_line(&mut line).unwrap() > 0 {
//!                     (&stream).write_all(line.to_uppercase().as_bytes()).unwrap();
//!                     line.clear();
//!                 }
//!             });
//!         }
//!     });
//!     let clients: Vec<_> = (0..100)
//!         .map(|i| weft::spawn(move || {
//!             let mut stream = TcpStream::connect(addr).unwrap();
//!             writeln!(stream, "client {i}").unwrap();
//!             let mut reply = String::new();
//!             BufReader::new(stream).read_line(&mut reply).unwrap();
//!             reply
//!         }))
//!         .collect();
//!     for (i, client) in clients.into_iter().enumerate() {
//!         assert_eq!(client.join().unwrap(), format!("CLIENT {i}\n"));
//!     }
//! });
//! ```
//!
//! The address types (`SocketAddr`, `IpAddr`, ...) and [`Shutdown`] are
//! std's own, re-exported. [`ToSocketAddrs`] is weft's: the same trait,
//! implemented for the same types, whose host-name lookups park the
//! coroutine (its docs say why it is not std's). `arch/io.md` explains how
//! waiting works.

mod addr;
pub(crate) mod connect;
pub(crate) mod evented;
pub(crate) mod fd;
mod resolve;
mod tcp_listener;
mod tcp_stream;
mod udp;

pub use std::net::{
    AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6,
};

pub use addr::ToSocketAddrs;
pub use tcp_listener::{Incoming, TcpListener};
pub use tcp_stream::TcpStream;
pub use udp::UdpSocket;
