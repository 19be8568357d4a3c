//! [`TcpStream`]: std's TCP stream, parking the coroutine instead of the
//! thread.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use super::ToSocketAddrs;
use super::addr::each_addr;
use super::evented::Evented;
use super::fd::fd_traits;
use crate::io::registration::{READ, WRITE};

/// A TCP connection between a local and a remote socket, like
/// [`std::net::TcpStream`], with the same methods and errors.
///
/// Inside a coroutine, a read, write or connect that would block parks the
/// coroutine until the socket is ready (or the timeout passes) while its
/// worker runs others; on a plain thread it blocks the thread, as std's
/// does. Data is read with [`Read`] and written with [`Write`], both also
/// implemented for `&TcpStream`, so one coroutine can read while another
/// writes through a shared reference (or through a
/// [`try_clone`](TcpStream::try_clone)).
///
/// ```
/// use std::io::{Read, Write};
/// use weft::net::{TcpListener, TcpStream};
///
/// weft::run(|| {
///     let listener = TcpListener::bind("127.0.0.1:0").unwrap();
///     let addr = listener.local_addr().unwrap();
///     let server = weft::spawn(move || {
///         let (mut conn, _) = listener.accept().unwrap();
///         let mut line = String::new();
///         conn.read_to_string(&mut line).unwrap();
///         line
///     });
///     let mut client = TcpStream::connect(addr).unwrap();
///     client.write_all(b"hello").unwrap();
///     drop(client); // EOF for the server
///     assert_eq!(server.join().unwrap(), "hello");
/// });
/// ```
pub struct TcpStream {
    pub(crate) inner: Evented<std::net::TcpStream>,
}

fd_traits!(TcpStream, std::net::TcpStream);

impl TcpStream {
    /// Opens a TCP connection to a remote host, trying each address `addr`
    /// resolves to until one connects; the last error otherwise
    /// (`ConnectionRefused` when nothing listens). A host name is looked
    /// up without blocking the worker where weft can (see
    /// [the module docs](crate::net#host-names)).
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    /// ```
    pub fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(addr, |addr| Self::connect_one(addr, None))
    }

    /// Opens a TCP connection to `addr`, giving up with
    /// `ErrorKind::TimedOut` after `timeout`. A zero timeout is refused
    /// with `InvalidInput`, as in std.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    /// let zero = TcpStream::connect_timeout(&addr, Duration::ZERO).unwrap_err();
    /// assert_eq!(zero.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        Self::connect_one(addr, Some(timeout))
    }

    fn connect_one(addr: &SocketAddr, timeout: Option<Duration>) -> io::Result<TcpStream> {
        if !crate::in_coroutine() {
            let stream = match timeout {
                None => std::net::TcpStream::connect(addr)?,
                Some(timeout) => std::net::TcpStream::connect_timeout(addr, timeout)?,
            };
            return Ok(TcpStream {
                inner: Evented::new(stream)?,
            });
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let domain = socket2::Domain::for_address(*addr);
        let inner = super::connect::connect(domain, &(*addr).into(), deadline)?;
        Ok(TcpStream { inner })
    }

    /// Wraps a std stream, in whatever mode it is: if it was set
    /// non-blocking, weft's stream returns `WouldBlock` too; its read and
    /// write timeouts are kept.
    ///
    /// ```
    /// use weft::net::TcpStream;
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std_stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// let stream = TcpStream::from_std(std_stream);
    /// assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    /// ```
    pub fn from_std(stream: std::net::TcpStream) -> TcpStream {
        TcpStream {
            inner: Evented::from_std(stream),
        }
    }

    /// Unwraps the std stream, as std would have it: deregistered from
    /// weft's poller, blocking unless [`set_nonblocking`](Self::set_nonblocking)
    /// chose otherwise, and with the read and write timeouts set. Fails if
    /// the kernel refuses to restore a setting (the socket is then closed).
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    /// let std_stream = stream.into_std().unwrap();
    /// assert_eq!(std_stream.read_timeout().unwrap(), Some(Duration::from_secs(3)));
    /// ```
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        let (stream, restored) = self.inner.into_std();
        restored.map(|()| stream)
    }

    /// The address of the remote end.
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.socket().peer_addr()
    }

    /// The address of the local end.
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// let (_, seen_from) = listener.accept().unwrap();
    /// assert_eq!(stream.local_addr().unwrap(), seen_from);
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.socket().local_addr()
    }

    /// Shuts down the read half, the write half or both. After
    /// `Shutdown::Write` the peer reads EOF; after `Shutdown::Read` reads
    /// here return `Ok(0)`, waking a coroutine parked in a read.
    ///
    /// ```
    /// use std::io::Read;
    /// use weft::net::{Shutdown, TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// let (mut server, _) = listener.accept().unwrap();
    /// client.shutdown(Shutdown::Write).unwrap();
    /// assert_eq!(server.read(&mut [0; 8]).unwrap(), 0);
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.socket().shutdown(how)
    }

    /// A second handle to the same connection (a duplicated descriptor).
    /// The halves share the non-blocking flag and the timeouts, as in std,
    /// and may be used from different coroutines at once, on any workers.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// let (server, _) = listener.accept().unwrap();
    /// let mut reader = server.try_clone().unwrap();
    /// let mut writer = server;
    /// client.write_all(b"ping").unwrap();
    /// let mut buf = [0; 4];
    /// reader.read_exact(&mut buf).unwrap();
    /// writer.write_all(&buf).unwrap();
    /// client.read_exact(&mut buf).unwrap();
    /// assert_eq!(&buf, b"ping");
    /// ```
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        let clone = self.inner.socket().try_clone()?;
        Ok(TcpStream {
            inner: Evented::new_clone(clone, self.inner.settings()),
        })
    }

    /// Sets the read timeout: a read (or peek) that waits longer returns
    /// `ErrorKind::WouldBlock`, as std's does on Unix. `None` waits
    /// forever; a zero duration is refused with `InvalidInput`.
    ///
    /// ```
    /// use std::io::{ErrorKind, Read};
    /// use std::time::Duration;
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// stream.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    /// let err = stream.read(&mut [0; 8]).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::WouldBlock);
    /// ```
    pub fn set_read_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(READ, dur)
    }

    /// Sets the write timeout: a write that waits longer (the peer does
    /// not read) returns `ErrorKind::WouldBlock`. `None` waits forever; a
    /// zero duration is refused with `InvalidInput`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// stream.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    /// assert_eq!(stream.write_timeout().unwrap(), Some(Duration::from_secs(1)));
    /// ```
    pub fn set_write_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(WRITE, dur)
    }

    /// The read timeout, `None` if reads wait forever.
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// assert_eq!(stream.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeout(READ))
    }

    /// The write timeout, `None` if writes wait forever.
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// assert_eq!(stream.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeout(WRITE))
    }

    /// Reads without removing the data from the queue: the next read sees
    /// it again. Waits for data like [`read`](Read::read).
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// let (mut server, _) = listener.accept().unwrap();
    /// client.write_all(b"abc").unwrap();
    /// let mut buf = [0; 3];
    /// assert_eq!(server.peek(&mut buf).unwrap(), 3);
    /// server.read_exact(&mut buf).unwrap();
    /// assert_eq!(&buf, b"abc");
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.io(READ, |s| s.peek(buf))
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm when `true`).
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// stream.set_nodelay(true).unwrap();
    /// assert!(stream.nodelay().unwrap());
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.socket().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// assert!(!stream.nodelay().unwrap());
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.socket().nodelay()
    }

    /// Sets the `IP_TTL` of outgoing packets.
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// stream.set_ttl(100).unwrap();
    /// assert_eq!(stream.ttl().unwrap(), 100);
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.socket().set_ttl(ttl)
    }

    /// The `IP_TTL` of outgoing packets.
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// assert!(stream.ttl().unwrap() > 0);
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.socket().ttl()
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// assert!(stream.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.socket().take_error()
    }

    /// In non-blocking mode, reads and writes that cannot complete at once
    /// return `ErrorKind::WouldBlock` instead of waiting, as in std. (The
    /// descriptor itself is always non-blocking; this is weft's flag.)
    ///
    /// ```
    /// use std::io::{ErrorKind, Read};
    /// use weft::net::{TcpListener, TcpStream};
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let mut stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// stream.set_nonblocking(true).unwrap();
    /// assert_eq!(stream.read(&mut [0; 8]).unwrap_err().kind(), ErrorKind::WouldBlock);
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking);
        Ok(())
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = buf.len();
        self.inner.stream_io(READ, len, |mut s| s.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.inner
            .stream_io(READ, len, |mut s| s.read_vectored(bufs))
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.stream_io(WRITE, buf.len(), |mut s| s.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.inner
            .stream_io(WRITE, len, |mut s| s.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
