//! Accept under descriptor exhaustion: when `accept` fails with EMFILE,
//! the listener returns that error as std does (no hang, no spin inside
//! weft), the pending connection stays queued, and once descriptors are
//! free again the same connection is accepted.
//!
//! Alone in its binary: it lowers the process's open-file limit.

mod common;

use std::io::{Read, Write};
use std::os::fd::AsRawFd;

use common::{runtime, with_timeout};
use weft::net::{TcpListener, TcpStream};

/// Sets the soft open-file limit; returns the previous one.
fn set_fd_limit(soft: libc::rlim_t) -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the valid struct we pass.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
        0
    );
    let previous = limit.rlim_cur;
    limit.rlim_cur = soft;
    // SAFETY: setrlimit reads the valid struct we pass.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    previous
}

/// The lowest descriptor number not in use: the one the next new fd gets.
fn lowest_free_fd(any_open: &impl AsRawFd) -> libc::rlim_t {
    // SAFETY: dup of an open descriptor; the copy is closed right away.
    let fd = unsafe { libc::dup(any_open.as_raw_fd()) };
    assert!(fd >= 0);
    // SAFETY: `fd` was just returned by dup and is owned here.
    unsafe { libc::close(fd) };
    fd as libc::rlim_t
}

/// Accepts with no descriptor left: must fail with EMFILE, then succeed
/// with the same client once the limit is restored.
fn accept_under_exhaustion(listener: &TcpListener) {
    let addr = listener.local_addr().unwrap();
    let mut client = TcpStream::connect(addr).unwrap();
    client.write_all(b"queued").unwrap();
    let previous = set_fd_limit(lowest_free_fd(listener));
    let result = listener.accept();
    set_fd_limit(previous);
    let err = result.expect_err("accept needed a descriptor it could not have");
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err}");
    // The connection waited in the queue and is accepted now.
    let (mut conn, peer) = listener.accept().unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    let mut buf = [0; 6];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"queued");
}

#[test]
fn accept_returns_emfile_and_recovers_in_threads_and_coroutines() {
    with_timeout(20, || {
        // The runtime's own descriptors (epoll, eventfd) exist before the
        // limit is lowered.
        let rt = runtime(2);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        accept_under_exhaustion(&listener);
        rt.block_on(move || accept_under_exhaustion(&listener));
    });
}
