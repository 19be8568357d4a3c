//! Linux-specific networking, mirroring [`std::os::linux::net`]: the
//! stable [`TcpStreamExt`] for weft's [`TcpStream`](crate::net::TcpStream).
//!
//! (std's `SocketAddrExt` already applies to weft's Unix socket addresses,
//! which are std's own type.)

use std::io;

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
