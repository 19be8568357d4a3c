//! Connecting a stream socket from a coroutine without blocking its
//! worker: a non-blocking `connect(2)`, then a park until the socket is
//! writable, then `SO_ERROR` says how it went.
//!
//! (On a plain thread, `TcpStream::connect` and `UnixStream::connect`
//! simply call std's blocking versions.)

use std::io;
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, SockRef, Socket, Type};

use super::evented::{Evented, StdSocket};
use crate::io::registration::WRITE;

/// Connects a new stream socket of `domain` to `addr`, parking the calling
/// coroutine until the connection is made, refused, or `deadline` passes
/// (`ErrorKind::TimedOut`, "connection timed out", as std says).
pub(crate) fn connect<S>(
    domain: Domain,
    addr: &SockAddr,
    deadline: Option<Instant>,
) -> io::Result<Evented<S>>
where
    S: StdSocket + From<Socket>,
{
    let socket = Socket::new(domain, Type::STREAM.nonblocking(), None)?;
    let mut backoff = Duration::from_millis(1);
    loop {
        match socket.connect(addr) {
            Ok(()) => return Ok(Evented::from_nonblocking(S::from(socket))),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => break,
            // EINTR: the connection goes on in the background, as with
            // EINPROGRESS.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => break,
            // A Unix socket whose listener's backlog is full says EAGAIN and
            // has *not* started connecting, and no readiness event tells
            // when to retry; so retry after a short, growing sleep.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if deadline.is_some_and(|d| Instant::now() + backoff > d) {
                    return Err(timed_out());
                }
                crate::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_millis(64));
            }
            Err(e) => return Err(e),
        }
    }
    let evented = Evented::from_nonblocking(S::from(socket));
    // Writable means the handshake ended; SO_ERROR tells how. A fresh
    // registration reports "writable" before any event, so a socket still
    // connecting (ENOTCONN from getpeername) counts as WouldBlock: wait.
    let result = evented.io_until(
        WRITE,
        || deadline,
        |socket| {
            let socket = SockRef::from(socket);
            if let Some(e) = socket.take_error()? {
                return Err(e);
            }
            match socket.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        },
    );
    match result {
        Ok(()) => Ok(evented),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(timed_out()),
        Err(e) => Err(e),
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection timed out")
}
