//! Unix domain sockets, the twins of [`std::os::unix::net`]'s: same names,
//! same methods, same errors, but a call that would block parks the
//! calling coroutine (not its worker thread); outside a coroutine it
//! blocks the thread, as std's does.
//!
//! ```
//! use std::io::{Read, Write};
//! use weft::os::unix::net::{UnixListener, UnixStream};
//!
//! let dir = std::env::temp_dir().join(format!("weft-doc-unix-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let path = dir.join("echo.sock");
//! # let _ = std::fs::remove_file(&path);
//! weft::run(move || {
//!     let listener = UnixListener::bind(&path).unwrap();
//!     let server = weft::spawn(move || {
//!         let (mut conn, _) = listener.accept().unwrap();
//!         let mut buf = [0; 5];
//!         conn.read_exact(&mut buf).unwrap();
//!         conn.write_all(&buf).unwrap();
//!     });
//!     let mut client = UnixStream::connect(&path).unwrap();
//!     client.write_all(b"hello").unwrap();
//!     let mut reply = [0; 5];
//!     client.read_exact(&mut reply).unwrap();
//!     assert_eq!(&reply, b"hello");
//!     server.join().unwrap();
//! });
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```
//!
//! [`SocketAddr`] is std's own type, re-exported, so addresses move freely
//! between std's sockets and weft's.

mod datagram;
mod listener;
mod stream;

use std::io;

use socket2::SockAddr;

pub use datagram::UnixDatagram;
pub use listener::{Incoming, UnixListener};
pub use std::os::unix::net::SocketAddr;
pub use stream::UnixStream;

/// The socket2 form of a std Unix address, to connect a non-blocking
/// socket to it.
fn to_sock_addr(addr: &SocketAddr) -> io::Result<SockAddr> {
    if let Some(path) = addr.as_pathname() {
        return SockAddr::unix(path);
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::ffi::OsStrExt;
        if let Some(name) = addr.as_abstract_name() {
            // A leading NUL byte marks an abstract name to the kernel.
            let mut bytes = Vec::with_capacity(name.len() + 1);
            bytes.push(0);
            bytes.extend_from_slice(name);
            return SockAddr::unix(std::ffi::OsStr::from_bytes(&bytes));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "cannot connect to an unnamed address",
    ))
}
