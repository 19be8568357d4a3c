//! [`UdpSocket`]: std's UDP socket, parking the coroutine while it waits
//! for a datagram (or for room to send one).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::ToSocketAddrs;
use super::addr::resolve_all;
use super::evented::Evented;
use super::fd::fd_traits;
use crate::io::registration::{READ, WRITE};

/// A UDP socket, like [`std::net::UdpSocket`]: receiving parks the calling
/// coroutine until a datagram arrives (or the read timeout passes); on a
/// plain thread it blocks the thread.
///
/// ```
/// use weft::net::UdpSocket;
///
/// weft::run(|| {
///     let a = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").unwrap();
///     let a_addr = a.local_addr().unwrap();
///     let receiver = weft::spawn(move || {
///         let mut buf = [0; 16];
///         let (n, from) = a.recv_from(&mut buf).unwrap();
///         (buf[..n].to_vec(), from)
///     });
///     b.send_to(b"datagram", a_addr).unwrap();
///     let (data, from) = receiver.join().unwrap();
///     assert_eq!(data, b"datagram");
///     assert_eq!(from, b.local_addr().unwrap());
/// });
/// ```
pub struct UdpSocket {
    inner: Evented<std::net::UdpSocket>,
}

fd_traits!(UdpSocket, std::net::UdpSocket);

/// Builds a one-line runnable example around two bound sockets `a`, `b`.
macro_rules! doc_pair {
    () => {
        "use weft::net::UdpSocket;\n\
         let a = UdpSocket::bind(\"127.0.0.1:0\").unwrap();\n"
    };
}

impl UdpSocket {
    /// Creates a UDP socket bound to `addr` (the first address it resolves
    /// to that can be bound; port 0 picks a free port).
    ///
    /// ```
    /// use weft::net::UdpSocket;
    /// let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_ne!(socket.local_addr().unwrap().port(), 0);
    /// ```
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let socket = std::net::UdpSocket::bind(&resolve_all(addr)?[..])?;
        Ok(UdpSocket {
            inner: Evented::new(socket)?,
        })
    }

    /// Wraps a std socket, keeping its blocking mode and timeouts.
    ///
    /// ```
    /// use weft::net::UdpSocket;
    /// let std_socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let addr = std_socket.local_addr().unwrap();
    /// assert_eq!(UdpSocket::from_std(std_socket).local_addr().unwrap(), addr);
    /// ```
    pub fn from_std(socket: std::net::UdpSocket) -> UdpSocket {
        UdpSocket {
            inner: Evented::from_std(socket),
        }
    }

    /// Unwraps the std socket, deregistered, blocking unless
    /// [`set_nonblocking`](Self::set_nonblocking) chose otherwise, with the
    /// read and write timeouts set.
    ///
    /// ```
    /// use weft::net::UdpSocket;
    /// let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let addr = socket.local_addr().unwrap();
    /// assert_eq!(socket.into_std().unwrap().local_addr().unwrap(), addr);
    /// ```
    pub fn into_std(self) -> io::Result<std::net::UdpSocket> {
        let (socket, restored) = self.inner.into_std();
        restored.map(|()| socket)
    }

    /// Receives one datagram: its length (truncated to `buf`) and sender.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// a.send_to(b"hi", a.local_addr().unwrap()).unwrap();
    /// let mut buf = [0; 8];
    /// let (n, from) = a.recv_from(&mut buf).unwrap();
    /// assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr().unwrap()));
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.io(READ, |s| s.recv_from(buf))
    }

    /// Like [`recv_from`](Self::recv_from), but leaves the datagram queued.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// a.send_to(b"hi", a.local_addr().unwrap()).unwrap();
    /// let mut buf = [0; 8];
    /// assert_eq!(a.peek_from(&mut buf).unwrap().0, 2);
    /// assert_eq!(a.recv_from(&mut buf).unwrap().0, 2);
    /// ```
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.io(READ, |s| s.peek_from(buf))
    }

    /// Sends `buf` to the first address `addr` resolves to; returns the
    /// number of bytes sent.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// assert_eq!(a.send_to(b"hello", a.local_addr().unwrap()).unwrap(), 5);
    /// ```
    pub fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], addr: A) -> io::Result<usize> {
        let Some(&addr) = resolve_all(addr)?.first() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no addresses to send data to",
            ));
        };
        self.inner.io(WRITE, |s| s.send_to(buf, addr))
    }

    /// The address of the peer this socket is [connected](Self::connect)
    /// to; `NotConnected` otherwise.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// assert_eq!(a.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.socket().peer_addr()
    }

    /// The local address the socket is bound to.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// assert!(a.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.socket().local_addr()
    }

    /// A second handle to the same socket, sharing its settings.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// let b = a.try_clone().unwrap();
    /// assert_eq!(a.local_addr().unwrap(), b.local_addr().unwrap());
    /// ```
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        let clone = self.inner.socket().try_clone()?;
        Ok(UdpSocket {
            inner: Evented::new_clone(clone, self.inner.settings()),
        })
    }

    /// Sets the read timeout: a receive that waits longer returns
    /// `ErrorKind::WouldBlock`. A zero duration is refused with
    /// `InvalidInput`.
    ///
    /// ```
    /// use std::time::Duration;
    #[doc = doc_pair!()]
    /// a.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    /// let err = a.recv(&mut [0; 8]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn set_read_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(READ, dur)
    }

    /// Sets the write timeout. A zero duration is refused with
    /// `InvalidInput`.
    ///
    /// ```
    /// use std::time::Duration;
    #[doc = doc_pair!()]
    /// a.set_write_timeout(Some(Duration::from_secs(1))).unwrap();
    /// assert!(a.set_write_timeout(Some(Duration::ZERO)).is_err());
    /// ```
    pub fn set_write_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_timeout(WRITE, dur)
    }

    /// The read timeout.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// assert_eq!(a.read_timeout().unwrap(), None);
    /// ```
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeout(READ))
    }

    /// The write timeout.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// assert_eq!(a.write_timeout().unwrap(), None);
    /// ```
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.timeout(WRITE))
    }

    /// Sets `SO_BROADCAST`.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// a.set_broadcast(true).unwrap();
    /// assert!(a.broadcast().unwrap());
    /// ```
    pub fn set_broadcast(&self, broadcast: bool) -> io::Result<()> {
        self.inner.socket().set_broadcast(broadcast)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// assert!(!a.broadcast().unwrap());
    /// ```
    pub fn broadcast(&self) -> io::Result<bool> {
        self.inner.socket().broadcast()
    }

    /// Sets `IP_MULTICAST_LOOP`.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// a.set_multicast_loop_v4(false).unwrap();
    /// assert!(!a.multicast_loop_v4().unwrap());
    /// ```
    pub fn set_multicast_loop_v4(&self, multicast_loop_v4: bool) -> io::Result<()> {
        self.inner.socket().set_multicast_loop_v4(multicast_loop_v4)
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// assert!(a.multicast_loop_v4().unwrap());
    /// ```
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.inner.socket().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL`.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// a.set_multicast_ttl_v4(8).unwrap();
    /// assert_eq!(a.multicast_ttl_v4().unwrap(), 8);
    /// ```
    pub fn set_multicast_ttl_v4(&self, multicast_ttl_v4: u32) -> io::Result<()> {
        self.inner.socket().set_multicast_ttl_v4(multicast_ttl_v4)
    }

    /// The `IP_MULTICAST_TTL`.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// assert_eq!(a.multicast_ttl_v4().unwrap(), 1);
    /// ```
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.inner.socket().multicast_ttl_v4()
    }

    /// Sets `IPV6_MULTICAST_LOOP` (on an IPv6 socket).
    ///
    /// ```
    /// use weft::net::UdpSocket;
    /// # let Ok(a) = UdpSocket::bind("[::1]:0") else { return };
    /// a.set_multicast_loop_v6(false).unwrap();
    /// assert!(!a.multicast_loop_v6().unwrap());
    /// ```
    pub fn set_multicast_loop_v6(&self, multicast_loop_v6: bool) -> io::Result<()> {
        self.inner.socket().set_multicast_loop_v6(multicast_loop_v6)
    }

    /// Whether `IPV6_MULTICAST_LOOP` is set.
    ///
    /// ```
    /// use weft::net::UdpSocket;
    /// # let Ok(a) = UdpSocket::bind("[::1]:0") else { return };
    /// assert!(a.multicast_loop_v6().unwrap());
    /// ```
    pub fn multicast_loop_v6(&self) -> io::Result<bool> {
        self.inner.socket().multicast_loop_v6()
    }

    /// Sets the `IP_TTL` of outgoing packets.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// a.set_ttl(42).unwrap();
    /// assert_eq!(a.ttl().unwrap(), 42);
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.socket().set_ttl(ttl)
    }

    /// The `IP_TTL` of outgoing packets.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// assert!(a.ttl().unwrap() > 0);
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner.socket().ttl()
    }

    /// Joins an IPv4 multicast group (`IP_ADD_MEMBERSHIP`).
    ///
    /// ```
    /// use weft::net::{Ipv4Addr, UdpSocket};
    /// let a = UdpSocket::bind("0.0.0.0:0").unwrap();
    /// let group = Ipv4Addr::new(239, 255, 0, 1);
    /// // May fail on a host without a multicast route.
    /// if a.join_multicast_v4(&group, &Ipv4Addr::LOCALHOST).is_ok() {
    ///     a.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST).unwrap();
    /// }
    /// ```
    pub fn join_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.inner.socket().join_multicast_v4(multiaddr, interface)
    }

    /// Joins an IPv6 multicast group (`IPV6_ADD_MEMBERSHIP`) on interface
    /// index `interface` (0: any).
    ///
    /// ```
    /// use weft::net::{Ipv6Addr, UdpSocket};
    /// # let Ok(a) = UdpSocket::bind("[::]:0") else { return };
    /// let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x1234);
    /// if a.join_multicast_v6(&group, 0).is_ok() {
    ///     a.leave_multicast_v6(&group, 0).unwrap();
    /// }
    /// ```
    pub fn join_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner.socket().join_multicast_v6(multiaddr, interface)
    }

    /// Leaves an IPv4 multicast group (`IP_DROP_MEMBERSHIP`).
    ///
    /// ```
    /// use weft::net::{Ipv4Addr, UdpSocket};
    /// let a = UdpSocket::bind("0.0.0.0:0").unwrap();
    /// let group = Ipv4Addr::new(239, 255, 0, 2);
    /// // Leaving a group never joined is an error.
    /// assert!(a.leave_multicast_v4(&group, &Ipv4Addr::LOCALHOST).is_err());
    /// ```
    pub fn leave_multicast_v4(&self, multiaddr: &Ipv4Addr, interface: &Ipv4Addr) -> io::Result<()> {
        self.inner.socket().leave_multicast_v4(multiaddr, interface)
    }

    /// Leaves an IPv6 multicast group (`IPV6_DROP_MEMBERSHIP`).
    ///
    /// ```
    /// use weft::net::{Ipv6Addr, UdpSocket};
    /// # let Ok(a) = UdpSocket::bind("[::]:0") else { return };
    /// let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x4321);
    /// assert!(a.leave_multicast_v6(&group, 0).is_err());
    /// ```
    pub fn leave_multicast_v6(&self, multiaddr: &Ipv6Addr, interface: u32) -> io::Result<()> {
        self.inner.socket().leave_multicast_v6(multiaddr, interface)
    }

    /// Takes the pending socket error (`SO_ERROR`), if any.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// assert!(a.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.socket().take_error()
    }

    /// Connects the socket to one remote address (the first of `addr`'s
    /// that works): [`send`](Self::send) goes there and only its datagrams
    /// are received.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// a.connect(a.local_addr().unwrap()).unwrap();
    /// a.send(b"me").unwrap();
    /// assert_eq!(a.recv(&mut [0; 8]).unwrap(), 2);
    /// ```
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        self.inner.socket().connect(&resolve_all(addr)?[..])
    }

    /// Sends `buf` to the connected peer.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// assert!(a.send(b"nobody").is_err()); // not connected
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.io(WRITE, |s| s.send(buf))
    }

    /// Receives one datagram from the connected peer.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    /// b.connect(a.local_addr().unwrap()).unwrap();
    /// a.send_to(b"to b", b.local_addr().unwrap()).unwrap();
    /// assert_eq!(b.recv(&mut [0; 8]).unwrap(), 4);
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.io(READ, |s| s.recv(buf))
    }

    /// Like [`recv`](Self::recv), but leaves the datagram queued.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// a.connect(a.local_addr().unwrap()).unwrap();
    /// a.send(b"twice").unwrap();
    /// assert_eq!(a.peek(&mut [0; 8]).unwrap(), 5);
    /// assert_eq!(a.recv(&mut [0; 8]).unwrap(), 5);
    /// ```
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.io(READ, |s| s.peek(buf))
    }

    /// In non-blocking mode, receives (and sends) that cannot complete at
    /// once return `ErrorKind::WouldBlock`, as in std.
    ///
    /// ```
    #[doc = doc_pair!()]
    /// a.set_nonblocking(true).unwrap();
    /// assert_eq!(a.recv(&mut [0; 8]).unwrap_err().kind(), std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.inner.set_nonblocking(nonblocking);
        Ok(())
    }
}
