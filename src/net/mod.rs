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
//! The address types (`SocketAddr`, `IpAddr`, ...), [`Shutdown`] and
//! [`ToSocketAddrs`] are std's own, re-exported: a generic function
//! bounded by `std::net::ToSocketAddrs` passes its argument to weft's
//! sockets unchanged. `arch/io.md` explains how waiting works.
//!
//! # Host names
//!
//! Looking a host name up (`getaddrinfo`) blocks the calling thread; in a
//! coroutine that would be the worker and every coroutine on it. So inside
//! a coroutine, when weft's `connect`, `bind`, `send_to` (and the other
//! calls that take an address) get a host name in one of std's own types
//! (`&str`, `String`, `&String`, `(&str, u16)`, `(String, u16)` or a
//! reference to one of these), they copy it and look it up on weft's
//! blocking pool, parking only the coroutine. IP literals
//! (`"127.0.0.1:80"`, `("::1", 80)`, `SocketAddr`, ...) are parsed in
//! place. Two cases still block the worker for the lookup, as they would
//! block a thread with std:
//!
//! * calling `.to_socket_addrs()` yourself (it is std's method), and
//! * an address of your own type whose `ToSocketAddrs` impl looks a name
//!   up.
//!
//! For those, resolve on the blocking pool yourself:
//!
//! ```
//! use weft::net::{SocketAddr, ToSocketAddrs};
//!
//! let found = weft::spawn(|| {
//!     // Parks this coroutine, not its worker, while the lookup runs.
//!     weft::spawn_blocking(|| {
//!         ("localhost", 80).to_socket_addrs().map(|a| a.collect::<Vec<SocketAddr>>())
//!     })
//!     .join()
//!     .unwrap()
//! });
//! assert!(!found.join().unwrap().unwrap().is_empty());
//! ```

mod addr;
pub(crate) mod connect;
pub(crate) mod evented;
pub(crate) mod fd;
mod interrupt;
mod resolve;
mod tcp_listener;
mod tcp_stream;
mod udp;

pub use std::net::{
    AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4, SocketAddrV6,
    ToSocketAddrs,
};

pub use tcp_listener::{Incoming, TcpListener};
pub use tcp_stream::TcpStream;
pub use udp::UdpSocket;
