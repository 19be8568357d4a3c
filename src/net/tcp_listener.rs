//! [`TcpListener`] and its [`Incoming`] iterator: std's TCP server
//! socket, parking the coroutine in `accept`.

use std::io;
use std::net::SocketAddr;

use super::ToSocketAddrs;
use super::addr::resolve_all;
use super::evented::Evented;
use super::fd::fd_traits;
use super::tcp_stream::TcpStream;
use crate::io::registration::READ;

/// A TCP socket server, listening for connections, like
/// [`std::net::TcpListener`].
///
/// [`accept`](TcpListener::accept) parks the calling coroutine until a
/// connection arrives (on a plain thread it blocks the thread). The usual
/// server is one coroutine per connection:
///
/// ```
/// use std::io::{Read, Write};
/// use weft::net::{TcpListener, TcpStream};
///
/// weft::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     weft::spawn(move || {
///         for stream in listener.incoming() {
///             let mut stream = stream.unwrap();
///             weft::spawn(move || {
///                 let mut buf = [0; 1024];
///                 while let Ok(n @ 1..) = stream.read(&mut buf) {
///                     stream.write_all(&buf[..n]).unwrap();
///                 }
///             });
///         }
///     });
///     let mut client = TcpStream::connect(addr).unwrap();
///     client.write_all(b"echo").unwrap();
///     let mut buf = [0; 4];
///     client.read_exact(&mut buf).unwrap();
///     assert_eq!(&buf, b"echo");
/// });
/// ```
///
/// When the process runs out of file descriptors, `accept` returns the
/// `EMFILE`/`ENFILE` error as std does (the pending connection stays
/// queued); a server loop should log it and back off (for example
/// `weft::sleep` a few milliseconds) rather than retry at once.
pub struct TcpListener {
    inner: Evented<std::net::TcpListener>,
}

fd_traits!(TcpListener, std::net::TcpListener);

impl TcpListener {
    /// Creates a listener bound to `addr` (the first address it resolves
    /// to that can be bound; port 0 picks a free port). Fails with
    /// `AddrInUse` if another socket has it.
    ///
    /// ```
    /// use weft::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert_ne!(listener.local_addr().unwrap().port(), 0);
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let listener = std::net::TcpListener::bind(&resolve_all(addr)?[..])?;
        Ok(TcpListener {
            inner: Evented::new(listener)?,
        })
    }

    /// Wraps a std listener, keeping its blocking mode (a non-blocking std
    /// listener makes `accept` return `WouldBlock`).
    ///
    /// ```
    /// use weft::net::TcpListener;
    /// let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = std_listener.local_addr().unwrap();
    /// assert_eq!(TcpListener::from_std(std_listener).local_addr().unwrap(), addr);
    /// ```
    pub fn from_std(listener: std::net::TcpListener) -> TcpListener {
        TcpListener {
            inner: Evented::from_std(listener),
        }
    }

    /// Unwraps the std listener, deregistered and blocking (unless
    /// [`set_nonblocking`](Self::set_nonblocking) chose otherwise).
    ///
    /// ```
    /// use weft::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// assert_eq!(listener.into_std().unwrap().local_addr().unwrap(), addr);
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        let (listener, restored) = self.inner.into_std();
        restored.map(|()| listener)
    }

    /// The local address the listener is bound to.
    ///
    /// ```
    /// use weft::net::{Ipv4Addr, TcpListener};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(listener.local_addr().unwrap().ip(), Ipv4Addr::LOCALHOST);
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.socket().local_addr()
    }

    /// A second handle to the same listening socket; either can accept.
    ///
    /// ```
    /// use weft::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let clone = listener.try_clone().unwrap();
    /// assert_eq!(clone.local_addr().unwrap(), listener.local_addr().unwrap());
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        let clone = self.inner.socket().try_clone()?;
        Ok(TcpListener {
            inner: Evented::new_clone(clone, self.inner.settings()),
        })
    }

    /// Accepts a new connection: the stream and the peer's address. Parks
    /// the calling coroutine until a connection arrives.
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// let (_stream, peer) = listener.accept().unwrap();
    /// assert_eq!(peer, client.local_addr().unwrap());
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.inner.io_restarting(READ, |l| l.accept())?;
        stream.set_nonblocking(true)?;
        let stream = TcpStream {
            inner: Evented::from_nonblocking(stream),
        };
        Ok((stream, peer))
    }

    /// An endless iterator over incoming connections: each `next` is an
    /// [`accept`](Self::accept) (without the peer address).
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// let stream = listener.incoming().next().unwrap().unwrap();
    /// assert!(stream.peer_addr().is_ok());
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// Sets the `IP_TTL` of accepted connections' packets.
    ///
    /// ```
    /// use weft::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// listener.set_ttl(100).unwrap();
    /// assert_eq!(listener.ttl().unwrap(), 100);
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.socket().set_ttl(ttl)
    }

    /// The `IP_TTL` of the socket.
    ///
    /// ```
    /// use weft::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(listener.ttl().unwrap() > 0);
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.socket().ttl()
    }

    /// Sets `IPV6_V6ONLY` (on an IPv6 socket; fails on a bound one on
    /// most systems, as in std).
    ///
    /// ```
    /// # #![allow(deprecated)]
    /// use weft::net::TcpListener;
    /// let listener = TcpListener::bind("[::1]:0");
    /// # let Ok(listener) = listener else { return };
    /// let _ = listener.set_only_v6(true); // EINVAL once bound, on Linux
    /// assert!(listener.only_v6().is_ok());
    /// ```
    #[deprecated(
        since = "0.1.0",
        note = "this option can only be set before the socket is bound"
    )]
    #[allow(deprecated)]
    pub fn set_only_v6(&self, only_v6: bool) -> io::Result<()> {
        self.inner.socket().set_only_v6(only_v6)
    }

    /// Whether `IPV6_V6ONLY` is set.
    ///
    /// ```
    /// # #![allow(deprecated)]
    /// use weft::net::TcpListener;
    /// let listener = TcpListener::bind("[::1]:0");
    /// # let Ok(listener) = listener else { return };
    /// listener.only_v6().unwrap();
    /// ```
    #[deprecated(
        since = "0.1.0",
        note = "this option can only be set before the socket is bound"
    )]
    #[allow(deprecated)]
    pub fn only_v6(&self) -> io::Result<bool> {
        self.inner.socket().only_v6()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// use weft::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(listener.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.socket().take_error()
    }

    /// In non-blocking mode `accept` returns `ErrorKind::WouldBlock` when
    /// no connection is waiting, as in std.
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use weft::net::TcpListener;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// listener.set_nonblocking(true).unwrap();
    /// assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking);
        Ok(())
    }
}

/// The iterator of [`TcpListener::incoming`]: accepts forever, yielding
/// each connection (or the error of a failed accept). Never returns
/// `None`.
///
/// ```
/// use weft::net::{TcpListener, TcpStream};
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = listener.local_addr().unwrap();
/// let clients: Vec<_> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
/// let accepted = listener.incoming().take(2).filter(Result::is_ok).count();
/// assert_eq!(accepted, clients.len());
/// ```
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<io::Result<TcpStream>> {
        Some(self.listener.accept().map(|(stream, _)| stream))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl std::iter::FusedIterator for Incoming<'_> {}
