//! Linux-specific networking, mirroring [`std::os::linux::net`]: the
//! stable [`TcpStreamExt`] for weft's [`TcpStream`],
//! and std's own [`SocketAddrExt`] (abstract socket names), which applies
//! unchanged because weft's Unix socket addresses are std's type.

use std::io;

/// Abstract Unix socket names (Linux), std's own trait: weft's
/// [`SocketAddr`](crate::os::unix::net::SocketAddr) is std's, so
/// `use weft::os::linux::net::SocketAddrExt;` works wherever the std
/// `use` line did.
///
/// ```
/// use weft::os::linux::net::SocketAddrExt;
/// use weft::os::unix::net::{SocketAddr, UnixListener, UnixStream};
///
/// let name = format!("weft-doc-{}", std::process::id());
/// let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
/// let listener = UnixListener::bind_addr(&addr).unwrap();
/// let client = UnixStream::connect_addr(&addr).unwrap();
/// let local = listener.local_addr().unwrap();
/// assert_eq!(local.as_abstract_name(), Some(name.as_bytes()));
/// # drop(client);
/// ```
pub use std::os::linux::net::SocketAddrExt;

use socket2::SockRef;

use crate::net::TcpStream;

mod sealed {
    /// Only weft's TCP stream implements the extension, as in std.
    pub trait Sealed {}
    impl Sealed for crate::net::TcpStream {}
}

/// Linux-only TCP options of a [`TcpStream`], like
/// [`std::os::linux::net::TcpStreamExt`]: swap the `use` line and calls
/// such as `stream.set_quickack(true)` compile unchanged.
///
/// ```
/// use weft::net::{TcpListener, TcpStream};
/// use weft::os::linux::net::TcpStreamExt;
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
/// stream.set_quickack(true).unwrap();
/// assert!(stream.quickack().unwrap());
/// ```
pub trait TcpStreamExt: sealed::Sealed {
    /// Sets `TCP_QUICKACK`: acknowledge at once instead of delaying
    /// (the kernel may turn it off again by itself).
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// use weft::os::linux::net::TcpStreamExt;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// stream.set_quickack(false).unwrap();
    /// assert!(!stream.quickack().unwrap());
    /// ```
    fn set_quickack(&self, quickack: bool) -> io::Result<()>;

    /// Whether `TCP_QUICKACK` is set.
    ///
    /// ```
    /// use weft::net::{TcpListener, TcpStream};
    /// use weft::os::linux::net::TcpStreamExt;
    /// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    /// stream.quickack().unwrap();
    /// ```
    fn quickack(&self) -> io::Result<bool>;
}

impl TcpStreamExt for TcpStream {
    fn set_quickack(&self, quickack: bool) -> io::Result<()> {
        SockRef::from(self).set_tcp_quickack(quickack)
    }

    fn quickack(&self) -> io::Result<bool> {
        SockRef::from(self).tcp_quickack()
    }
}
