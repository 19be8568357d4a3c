//! [`UnixDatagram`]: std's Unix datagram socket, parking the coroutine
//! while it waits.

use std::io;
use std::net::Shutdown;
use std::path::Path;
use std::time::Duration;

use super::SocketAddr;
use crate::io::registration::{READ, WRITE};
use crate::net::evented::Evented;
use crate::net::fd::fd_traits;

/// A Unix datagram socket, like [`std::os::unix::net::UnixDatagram`]:
/// receiving parks the calling coroutine until a datagram arrives (sending
/// to a full peer queue parks it too); on a plain thread it blocks.
///
/// ```
/// use weft::os::unix::net::UnixDatagram;
///
/// weft::run(|| {
///     let (a, b) = UnixDatagram::pair().unwrap();
///     let receiver = weft::spawn(move || {
///         let mut buf = [0; 16];
///         let n = b.recv(&mut buf).unwrap();
///         buf[..n].to_vec()
///     });
///     a.send(b"one datagram").unwrap();
///     assert_eq!(receiver.join().unwrap(), b"one datagram");
/// });
/// ```
pub struct UnixDatagram {
    inner: Evented<std::os::unix::net::UnixDatagram>,
}

fd_traits!(UnixDatagram, std::os::unix::net::UnixDatagram);

fn wrap(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
    Ok(UnixDatagram {
        inner: Evented::new(socket)?,
    })
}

impl UnixDatagram {
    /// Creates a socket bound to the file system `path`.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let path = std::env::temp_dir().join(format!("weft-doc-udb-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let socket = UnixDatagram::bind(&path).unwrap();
    /// assert_eq!(socket.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        wrap(std::os::unix::net::UnixDatagram::bind(path)?)
    }

    /// Creates a socket bound to `socket_addr`.
    ///
    /// ```
    /// use weft::os::unix::net::{SocketAddr, UnixDatagram};
    /// let path = std::env::temp_dir().join(format!("weft-doc-udba-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let socket = UnixDatagram::bind_addr(&SocketAddr::from_pathname(&path).unwrap()).unwrap();
    /// assert_eq!(socket.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind_addr(socket_addr: &SocketAddr) -> io::Result<UnixDatagram> {
        wrap(std::os::unix::net::UnixDatagram::bind_addr(socket_addr)?)
    }

    /// Creates a socket bound to no address.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let socket = UnixDatagram::unbound().unwrap();
    /// assert!(socket.local_addr().unwrap().is_unnamed());
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        wrap(std::os::unix::net::UnixDatagram::unbound()?)
    }

    /// Creates a pair of unnamed sockets connected to each other.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let (a, b) = UnixDatagram::pair().unwrap();
    /// a.send(b"x").unwrap();
    /// assert_eq!(b.recv(&mut [0; 4]).unwrap(), 1);
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((wrap(a)?, wrap(b)?))
    }

    /// Connects the socket to the socket at `path`: [`send`](Self::send)
    /// goes there and only its datagrams are received.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let path = std::env::temp_dir().join(format!("weft-doc-udc-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path).unwrap();
    /// let client = UnixDatagram::unbound().unwrap();
    /// client.connect(&path).unwrap();
    /// client.send(b"hi").unwrap();
    /// assert_eq!(server.recv(&mut [0; 4]).unwrap(), 2);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        self.inner.socket().connect(path)
    }

    /// Connects the socket to `socket_addr`.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let path = std::env::temp_dir().join(format!("weft-doc-udca-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path).unwrap();
    /// let client = UnixDatagram::unbound().unwrap();
    /// client.connect_addr(&server.local_addr().unwrap()).unwrap();
    /// assert_eq!(client.peer_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn connect_addr(&self, socket_addr: &SocketAddr) -> io::Result<()> {
        self.inner.socket().connect_addr(socket_addr)
    }

    /// Wraps a std socket, keeping its blocking mode and timeouts.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let socket = UnixDatagram::from_std(std::os::unix::net::UnixDatagram::unbound().unwrap());
    /// assert!(socket.local_addr().unwrap().is_unnamed());
    /// ```
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> UnixDatagram {
        UnixDatagram {
            inner: Evented::from_std(socket),
        }
    }

    /// Unwraps the std socket, deregistered, blocking unless
    /// [`set_nonblocking`](Self::set_nonblocking) chose otherwise, with the
    /// read and write timeouts set.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let socket = UnixDatagram::unbound().unwrap().into_std().unwrap();
    /// assert_eq!(socket.read_timeout().unwrap(), None);
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        let (socket, restored) = self.inner.into_std();
        restored.map(|()| socket)
    }

    /// A second handle to the same socket, sharing its settings.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let (a, b) = UnixDatagram::pair().unwrap();
    /// let a2 = a.try_clone().unwrap();
    /// a2.send(b"via clone").unwrap();
    /// assert_eq!(b.recv(&mut [0; 16]).unwrap(), 9);
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixDatagram> {
        let clone = self.inner.socket().try_clone()?;
        Ok(UnixDatagram {
            inner: Evented::new_clone(clone, self.inner.settings()),
        })
    }

    /// The address this socket is bound to.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// assert!(UnixDatagram::unbound().unwrap().local_addr().unwrap().is_unnamed());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.socket().local_addr()
    }

    /// The address of the connected peer; `NotConnected` otherwise.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let socket = UnixDatagram::unbound().unwrap();
    /// assert_eq!(socket.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.socket().peer_addr()
    }

    /// Receives one datagram: its length (truncated to `buf`) and sender.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let (a, b) = UnixDatagram::pair().unwrap();
    /// a.send(b"abc").unwrap();
    /// let (n, from) = b.recv_from(&mut [0; 8]).unwrap();
    /// assert_eq!(n, 3);
    /// assert!(from.is_unnamed());
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.io(READ, |s| s.recv_from(buf))
    }

    /// Receives one datagram from the connected peer.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let (a, b) = UnixDatagram::pair().unwrap();
    /// a.send(b"abcd").unwrap();
    /// assert_eq!(b.recv(&mut [0; 8]).unwrap(), 4);
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.io(READ, |s| s.recv(buf))
    }

    /// Sends `buf` to the socket at `path`.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let path = std::env::temp_dir().join(format!("weft-doc-udst-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path).unwrap();
    /// UnixDatagram::unbound().unwrap().send_to(b"hey", &path).unwrap();
    /// assert_eq!(server.recv(&mut [0; 8]).unwrap(), 3);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn send_to<P: AsRef<Path>>(&self, buf: &[u8], path: P) -> io::Result<usize> {
        let path = path.as_ref();
        self.inner.io(WRITE, |s| s.send_to(buf, path))
    }

    /// Sends `buf` to `socket_addr`.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let path = std::env::temp_dir().join(format!("weft-doc-udsta-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let server = UnixDatagram::bind(&path).unwrap();
    /// let addr = server.local_addr().unwrap();
    /// UnixDatagram::unbound().unwrap().send_to_addr(b"hey", &addr).unwrap();
    /// assert_eq!(server.recv(&mut [0; 8]).unwrap(), 3);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn send_to_addr(&self, buf: &[u8], socket_addr: &SocketAddr) -> io::Result<usize> {
        self.inner.io(WRITE, |s| s.send_to_addr(buf, socket_addr))
    }

    /// Sends `buf` to the connected peer.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let (a, _b) = UnixDatagram::pair().unwrap();
    /// assert_eq!(a.send(b"12345").unwrap(), 5);
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.io(WRITE, |s| s.send(buf))
    }

    /// Sets the read timeout: a receive that waits longer returns
    /// `ErrorKind::WouldBlock`. A zero duration is refused with
    /// `InvalidInput`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::os::unix::net::UnixDatagram;
    /// let (a, _b) = UnixDatagram::pair().unwrap();
    /// a.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    /// assert_eq!(a.recv(&mut [0; 4]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(READ, timeout)
    }

    /// Sets the write timeout. A zero duration is refused with
    /// `InvalidInput`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::os::unix::net::UnixDatagram;
    /// let (a, _b) = UnixDatagram::pair().unwrap();
    /// a.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    /// assert_eq!(a.write_timeout().unwrap(), Some(Duration::from_secs(1)));
    /// ```
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(WRITE, timeout)
    }

    /// The read timeout.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// assert_eq!(UnixDatagram::unbound().unwrap().read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeout(READ))
    }

    /// The write timeout.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// assert_eq!(UnixDatagram::unbound().unwrap().write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeout(WRITE))
    }

    /// In non-blocking mode, receives and sends that cannot complete at
    /// once return `ErrorKind::WouldBlock`, as in std.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// let (a, _b) = UnixDatagram::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// assert_eq!(a.recv(&mut [0; 4]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking);
        Ok(())
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// use weft::os::unix::net::UnixDatagram;
    /// assert!(UnixDatagram::unbound().unwrap().take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.socket().take_error()
    }

    /// Shuts down the read half, the write half or both: after
    /// `Shutdown::Write` a send fails with `BrokenPipe`.
    ///
    /// ```
    /// use weft::net::Shutdown;
    /// use weft::os::unix::net::UnixDatagram;
    /// let (a, _b) = UnixDatagram::pair().unwrap();
    /// a.shutdown(Shutdown::Write).unwrap();
    /// assert_eq!(a.send(b"x").unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.socket().shutdown(how)
    }
}
