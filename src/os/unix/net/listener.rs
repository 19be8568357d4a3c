//! [`UnixListener`] and its [`Incoming`] iterator: std's Unix stream
//! server socket, parking the coroutine in `accept`.

use std::io;
use std::path::Path;

use super::{SocketAddr, UnixStream};
use crate::io::registration::READ;
use crate::net::evented::Evented;
use crate::net::fd::fd_traits;

/// A Unix domain socket server, like [`std::os::unix::net::UnixListener`]:
/// [`accept`](UnixListener::accept) parks the calling coroutine until a
/// client connects.
///
/// ```
/// use weft::os::unix::net::{UnixListener, UnixStream};
/// let path = std::env::temp_dir().join(format!("weft-doc-ul-{}.sock", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path).unwrap();
/// let _client = UnixStream::connect(&path).unwrap();
/// let (stream, _addr) = listener.accept().unwrap();
/// assert!(stream.peer_addr().unwrap().is_unnamed());
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    inner: Evented<std::os::unix::net::UnixListener>,
}

fd_traits!(UnixListener, std::os::unix::net::UnixListener);

impl UnixListener {
    /// Creates a listener bound to the file system `path` (which must not
    /// exist yet: `AddrInUse` otherwise).
    ///
    /// ```
    /// use weft::os::unix::net::UnixListener;
    /// let path = std::env::temp_dir().join(format!("weft-doc-ulb-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).unwrap();
    /// assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// assert_eq!(UnixListener::bind(&path).unwrap_err().kind(), std::io::ErrorKind::AddrInUse);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let listener = std::os::unix::net::UnixListener::bind(path)?;
        Ok(UnixListener {
            inner: Evented::new(listener)?,
        })
    }

    /// Creates a listener bound to `socket_addr`.
    ///
    /// ```
    /// use weft::os::unix::net::{SocketAddr, UnixListener};
    /// let path = std::env::temp_dir().join(format!("weft-doc-ulba-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let addr = SocketAddr::from_pathname(&path).unwrap();
    /// let listener = UnixListener::bind_addr(&addr).unwrap();
    /// assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind_addr(socket_addr: &SocketAddr) -> io::Result<UnixListener> {
        let listener = std::os::unix::net::UnixListener::bind_addr(socket_addr)?;
        Ok(UnixListener {
            inner: Evented::new(listener)?,
        })
    }

    /// Wraps a std listener, keeping its blocking mode.
    ///
    /// ```
    /// use weft::os::unix::net::UnixListener;
    /// let path = std::env::temp_dir().join(format!("weft-doc-ulfs-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::from_std(std::os::unix::net::UnixListener::bind(&path).unwrap());
    /// assert!(listener.local_addr().unwrap().as_pathname().is_some());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> UnixListener {
        UnixListener {
            inner: Evented::from_std(listener),
        }
    }

    /// Unwraps the std listener, deregistered and blocking (unless
    /// [`set_nonblocking`](Self::set_nonblocking) chose otherwise).
    ///
    /// ```
    /// use weft::os::unix::net::UnixListener;
    /// let path = std::env::temp_dir().join(format!("weft-doc-ulis-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let std_listener = UnixListener::bind(&path).unwrap().into_std().unwrap();
    /// assert!(std_listener.local_addr().unwrap().as_pathname().is_some());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        let (listener, restored) = self.inner.into_std();
        restored.map(|()| listener)
    }

    /// Accepts a new connection: the stream and the client's address
    /// (usually unnamed). Parks the calling coroutine until one arrives.
    ///
    /// ```
    /// use weft::os::unix::net::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("weft-doc-ula-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).unwrap();
    /// weft::run(move || {
    ///     let client = weft::spawn(move || UnixStream::connect(&path).unwrap());
    ///     let (_stream, addr) = listener.accept().unwrap();
    ///     assert!(addr.is_unnamed());
    ///     client.join().unwrap();
    /// });
    /// ```
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, addr) = self.inner.io_restarting(READ, |l| l.accept())?;
        stream.set_nonblocking(true)?;
        Ok((UnixStream::from_nonblocking(stream), addr))
    }

    /// A second handle to the same listening socket.
    ///
    /// ```
    /// use weft::os::unix::net::UnixListener;
    /// let path = std::env::temp_dir().join(format!("weft-doc-ultc-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).unwrap();
    /// let clone = listener.try_clone().unwrap();
    /// assert_eq!(clone.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn try_clone(&self) -> io::Result<UnixListener> {
        let clone = self.inner.socket().try_clone()?;
        Ok(UnixListener {
            inner: Evented::new_clone(clone, self.inner.settings()),
        })
    }

    /// The address the listener is bound to.
    ///
    /// ```
    /// use weft::os::unix::net::UnixListener;
    /// let path = std::env::temp_dir().join(format!("weft-doc-ulla-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).unwrap();
    /// assert_eq!(listener.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.socket().local_addr()
    }

    /// In non-blocking mode `accept` returns `ErrorKind::WouldBlock` when
    /// no client waits, as in std.
    ///
    /// ```
    /// use weft::os::unix::net::UnixListener;
    /// let path = std::env::temp_dir().join(format!("weft-doc-ulnb-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).unwrap();
    /// listener.set_nonblocking(true).unwrap();
    /// assert_eq!(listener.accept().unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking);
        Ok(())
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    /// use weft::os::unix::net::UnixListener;
    /// let path = std::env::temp_dir().join(format!("weft-doc-ulte-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).unwrap();
    /// assert!(listener.take_error().unwrap().is_none());
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.socket().take_error()
    }

    /// An endless iterator over incoming connections.
    ///
    /// ```
    /// use weft::os::unix::net::{UnixListener, UnixStream};
    /// let path = std::env::temp_dir().join(format!("weft-doc-ulin-{}.sock", std::process::id()));
    /// # let _ = std::fs::remove_file(&path);
    /// let listener = UnixListener::bind(&path).unwrap();
    /// let _client = UnixStream::connect(&path).unwrap();
    /// for stream in &listener {
    ///     assert!(stream.unwrap().local_addr().unwrap().as_pathname().is_some());
    ///     break;
    /// }
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }
}

impl<'a> IntoIterator for &'a UnixListener {
    type Item = io::Result<UnixStream>;
    type IntoIter = Incoming<'a>;

    fn into_iter(self) -> Incoming<'a> {
        self.incoming()
    }
}

/// The iterator of [`UnixListener::incoming`]: accepts forever, yielding
/// each connection (or the error of a failed accept).
///
/// ```
/// use weft::os::unix::net::{UnixListener, UnixStream};
/// let path = std::env::temp_dir().join(format!("weft-doc-uinc-{}.sock", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let listener = UnixListener::bind(&path).unwrap();
/// let clients: Vec<_> = (0..2).map(|_| UnixStream::connect(&path).unwrap()).collect();
/// assert_eq!(listener.incoming().take(2).filter(Result::is_ok).count(), clients.len());
/// # std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a UnixListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn next(&mut self) -> Option<io::Result<UnixStream>> {
        Some(self.listener.accept().map(|(stream, _)| stream))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (usize::MAX, None)
    }
}

impl std::iter::FusedIterator for Incoming<'_> {}
