//! weft's [`ToSocketAddrs`]: std's trait, re-made so that a host name
//! lookup parks the coroutine instead of blocking its worker.

use std::io;
use std::iter;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::option;
use std::slice;
use std::vec;

use super::resolve::resolve;

/// A value that can be turned into one or more socket addresses, possibly
/// by looking a host name up: the twin of [`std::net::ToSocketAddrs`].
///
/// It is implemented for exactly the types std implements its trait for
/// ([`SocketAddr`], [`SocketAddrV4`], [`SocketAddrV6`], `(IpAddr, u16)`,
/// `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`, `(&str, u16)`, `(String, u16)`,
/// `str`, `String`, `&[SocketAddr]` and `&T` where `T: ToSocketAddrs`),
/// with the same `Iter` types and the same errors, so calls such as
/// `TcpStream::connect("localhost:8080")` or
/// `UdpSocket::bind(("0.0.0.0", 0))` compile and behave unchanged.
///
/// **Why weft has its own trait.** A host name has to be looked up with
/// `getaddrinfo`, which blocks in libc. Inside a coroutine weft runs the
/// lookup on weft's blocking pool and parks only the coroutine, so the worker
/// goes on running others; that needs a query it can send to another
/// thread. std's trait gives no way to ask a generic `A: ToSocketAddrs` for
/// one (and `A` may be neither `Send` nor `Sync`), so weft's impls make an
/// owned copy of the host name and port themselves. Literal addresses
/// (`"127.0.0.1:80"`, `(Ipv6Addr::LOCALHOST, 80)`) are parsed in place and
/// never leave the coroutine. Outside a coroutine a lookup blocks the
/// calling thread, as std's does.
///
/// Code that names only concrete address types compiles unchanged with
/// `use weft::net::ToSocketAddrs`. A generic function bounded by
/// `std::net::ToSocketAddrs` that passes its argument to a weft socket
/// needs its bound changed to `weft::net::ToSocketAddrs`. Your own types
/// can implement this trait just as they would std's.
///
/// ```
/// use weft::net::{SocketAddr, ToSocketAddrs};
///
/// let addrs: Vec<SocketAddr> = "127.0.0.1:80".to_socket_addrs().unwrap().collect();
/// assert_eq!(addrs, ["127.0.0.1:80".parse().unwrap()]);
///
/// // In a coroutine, a lookup parks the coroutine, not its worker.
/// let found = weft::spawn(|| ("localhost", 80).to_socket_addrs().unwrap().count());
/// assert!(found.join().unwrap() >= 1);
/// ```
pub trait ToSocketAddrs {
    /// The iterator over the resolved addresses.
    type Iter: Iterator<Item = SocketAddr>;

    /// Converts this value to an iterator of socket addresses, looking a
    /// host name up if needed (parking the coroutine meanwhile). An
    /// unresolvable name or a malformed address is an error.
    ///
    /// ```
    /// use weft::net::{Ipv4Addr, ToSocketAddrs};
    /// let mut addrs = (Ipv4Addr::LOCALHOST, 8080).to_socket_addrs().unwrap();
    /// assert_eq!(addrs.next().unwrap().port(), 8080);
    /// ```
    fn to_socket_addrs(&self) -> io::Result<Self::Iter>;
}

impl ToSocketAddrs for SocketAddr {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(Some(*self).into_iter())
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::V4(*self).to_socket_addrs()
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::V6(*self).to_socket_addrs()
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddr::new(self.0, self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddrV4::new(self.0, self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {
    type Iter = option::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        SocketAddrV6::new(self.0, self.1, 0, 0).to_socket_addrs()
    }
}

impl ToSocketAddrs for (&str, u16) {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        let (host, port) = *self;
        // Literal addresses first, as std does: no lookup, no thread.
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Ok(vec![SocketAddr::from((ip, port))].into_iter());
        }
        if let Ok(ip) = host.parse::<Ipv6Addr>() {
            return Ok(vec![SocketAddr::from((ip, port))].into_iter());
        }
        resolve((host.to_owned(), port))
    }
}

impl ToSocketAddrs for (String, u16) {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        (&*self.0, self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for str {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Ok(vec![addr].into_iter());
        }
        // std parses "host:port" and reports a malformed string itself;
        // the pool thread runs exactly that code.
        resolve(self.to_owned())
    }
}

impl ToSocketAddrs for String {
    type Iter = vec::IntoIter<SocketAddr>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        (**self).to_socket_addrs()
    }
}

impl<'a> ToSocketAddrs for &'a [SocketAddr] {
    type Iter = iter::Cloned<slice::Iter<'a, SocketAddr>>;
    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        Ok(self.iter().cloned())
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    type Iter = T::Iter;
    fn to_socket_addrs(&self) -> io::Result<T::Iter> {
        (**self).to_socket_addrs()
    }
}

/// Resolves `addr` and tries `f` on each address in turn, returning the
/// first success or the last error, as std's socket constructors do.
pub(crate) fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(&SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_error = None;
    for addr in addr.to_socket_addrs()? {
        match f(&addr) {
            Ok(value) => return Ok(value),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

/// Resolves `addr` fully (for std calls that take a list of addresses).
pub(crate) fn resolve_all<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    Ok(addr.to_socket_addrs()?.collect())
}
