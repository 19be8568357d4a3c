//! [`UnixStream`]: std's Unix stream socket, parking the coroutine
//! instead of the thread.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::path::Path;
use std::time::Duration;

use super::{SocketAddr, to_sock_addr};
use crate::io::registration::{READ, WRITE};
use crate::net::evented::Evented;
use crate::net::fd::fd_traits;

/// A Unix stream socket, like [`std::os::unix::net::UnixStream`]: reads,
/// writes and connects that would block park the calling coroutine; on a
/// plain thread they block it. [`Read`] and [`Write`] are implemented for
/// `UnixStream` and `&UnixStream`.
///
/// ```
/// use std::io::{Read, Write};
/// use weft::os::unix::net::UnixStream;
///
/// weft::run(|| {
///     let (mut a, mut b) = UnixStream::pair().unwrap();
///     let reader = weft::spawn(move || {
///         let mut text = String::new();
///         b.read_to_string(&mut text).unwrap();
///         text
///     });
///     a.write_all(b"over the pair").unwrap();
///     drop(a);
///     assert_eq!(reader.join().unwrap(), "over the pair");
/// });
/// ```
pub struct UnixStream {
    inner: Evented<std::os::unix::net::UnixStream>,
}

fd_traits!(UnixStream, std::os::unix::net::UnixStream);

impl UnixStream {
    pub(super) fn from_nonblocking(stream: std::os::unix::net::UnixStream) -> UnixStream {
        UnixStream {
            inner: Evented::from_nonblocking(stream),
        }
    }

    /// Connects to the socket named by `path`; `NotFound` if nothing is
    /// there, `ConnectionRefused` if nothing listens.
    ///
    /// ```
    /// use weft::os::unix::net::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("weft-doc-usc-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let _listener = UnixListener::bind(&path).unwrap();
    /// let stream = UnixStream::connect(&path).unwrap();
    /// assert_eq!(stream.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        if !crate::in_coroutine() {
            let stream = std::os::unix::net::UnixStream::connect(path)?;
            return Ok(UnixStream {
                inner: Evented::new(stream)?,
            });
        }
        // std's own checks (an interior NUL or a too-long path is
        // `InvalidInput`, with std's message), then the same address.
        let addr = SocketAddr::from_pathname(path)?;
        Self::connect_in_coroutine(&to_sock_addr(&addr)?)
    }

    /// Connects to the socket at `socket_addr`.
    ///
    /// ```
    /// use weft::os::unix::net::{SocketAddr, UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("weft-doc-usca-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).unwrap();
    /// let addr = listener.local_addr().unwrap();
    /// let stream = weft::spawn(move || UnixStream::connect_addr(&addr)).join().unwrap();
    /// assert!(stream.is_ok());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn connect_addr(socket_addr: &SocketAddr) -> io::Result<UnixStream> {
        if !crate::in_coroutine() {
            let stream = std::os::unix::net::UnixStream::connect_addr(socket_addr)?;
            return Ok(UnixStream {
                inner: Evented::new(stream)?,
            });
        }
        Self::connect_in_coroutine(&to_sock_addr(socket_addr)?)
    }

    fn connect_in_coroutine(addr: &socket2::SockAddr) -> io::Result<UnixStream> {
        let inner = crate::net::connect::connect(socket2::Domain::UNIX, addr, None)?;
        Ok(UnixStream { inner })
    }

    /// Creates a connected pair of unnamed sockets.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// use weft::os::unix::net::UnixStream;
    /// let (mut a, mut b) = UnixStream::pair().unwrap();
    /// a.write_all(b"x").unwrap();
    /// let mut buf = [0; 1];
    /// b.read_exact(&mut buf).unwrap();
    /// assert_eq!(&buf, b"x");
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((
            UnixStream {
                inner: Evented::new(a)?,
            },
            UnixStream {
                inner: Evented::new(b)?,
            },
        ))
    }

    /// Wraps a std stream, keeping its blocking mode and timeouts.
    ///
    /// ```
    /// use weft::os::unix::net::UnixStream;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let a = UnixStream::from_std(a);
    /// assert!(a.peer_addr().unwrap().is_unnamed());
    /// ```
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> UnixStream {
        UnixStream {
            inner: Evented::from_std(stream),
        }
    }

    /// Unwraps the std stream, deregistered, blocking unless
    /// [`set_nonblocking`](Self::set_nonblocking) chose otherwise, with the
    /// read and write timeouts set.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::os::unix::net::UnixStream;
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// a.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    /// let a = a.into_std().unwrap();
    /// assert_eq!(a.write_timeout().unwrap(), Some(Duration::from_secs(2)));
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        let (stream, restored) = self.inner.into_std();
        restored.map(|()| stream)
    }

    /// A second handle to the same connection, sharing its settings; the
    /// halves may be used from different coroutines at once.
    ///
    /// ```
    /// use weft::os::unix::net::UnixStream;
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// let c = a.try_clone().unwrap();
    /// assert!(c.local_addr().unwrap().is_unnamed());
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixStream> {
        let clone = self.inner.socket().try_clone()?;
        Ok(UnixStream {
            inner: Evented::new_clone(clone, self.inner.settings()),
        })
    }

    /// The address of this end.
    ///
    /// ```
    /// use weft::os::unix::net::UnixStream;
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.socket().local_addr()
    }

    /// The address of the other end.
    ///
    /// ```
    /// use weft::os::unix::net::UnixStream;
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().is_unnamed());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.socket().peer_addr()
    }

    /// Sets the read timeout: a read that waits longer returns
    /// `ErrorKind::WouldBlock`. A zero duration is refused with
    /// `InvalidInput`.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    /// use weft::os::unix::net::UnixStream;
    /// let (mut a, _b) = UnixStream::pair().unwrap();
    /// a.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    /// assert_eq!(a.read(&mut [0; 4]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(READ, timeout)
    }

    /// Sets the write timeout. A zero duration is refused with
    /// `InvalidInput`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::os::unix::net::UnixStream;
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// assert!(a.set_write_timeout(Some(Duration::ZERO)).is_err());
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(WRITE, timeout)
    }

    /// The read timeout.
    ///
    /// ```
    /// use weft::os::unix::net::UnixStream;
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// assert_eq!(a.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeout(READ))
    }

    /// The write timeout.
    ///
    /// ```
    /// use weft::os::unix::net::UnixStream;
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// assert_eq!(a.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeout(WRITE))
    }

    /// In non-blocking mode, reads and writes that cannot complete at once
    /// return `ErrorKind::WouldBlock`, as in std.
    ///
    /// ```
    /// use std::io::Read;
    /// use weft::os::unix::net::UnixStream;
    /// let (mut a, _b) = UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// assert_eq!(a.read(&mut [0; 4]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking);
        Ok(())
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// use weft::os::unix::net::UnixStream;
    /// let (a, _b) = UnixStream::pair().unwrap();
    /// assert!(a.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.socket().take_error()
    }

    /// Shuts down the read half, the write half or both.
    ///
    /// ```
    /// use std::io::Read;
    /// use weft::net::Shutdown;
    /// use weft::os::unix::net::UnixStream;
    /// let (a, mut b) = UnixStream::pair().unwrap();
    /// a.shutdown(Shutdown::Write).unwrap();
    /// assert_eq!(b.read(&mut [0; 4]).unwrap(), 0);
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.socket().shutdown(how)
    }
}

impl Read for UnixStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }
}

impl Read for &UnixStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.io(READ, |mut s| s.read(buf))
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.io(READ, |mut s| s.read_vectored(bufs))
    }
}

impl Write for UnixStream {
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

impl Write for &UnixStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.io(WRITE, |mut s| s.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.io(WRITE, |mut s| s.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
