//! Host name lookup without blocking a worker.
//!
//! `getaddrinfo` blocks in libc and has no non-blocking form. On a plain
//! thread [`resolve`] simply calls it, as std does. In a coroutine it runs
//! the lookup on weft's blocking pool ([`spawn_blocking`](crate::spawn_blocking))
//! and parks the coroutine until the answer is back, so the worker keeps
//! running other coroutines.
//!
//! Only owned, `Send` queries (`String`, `(String, u16)`) cross to the
//! pool: the caller's `ToSocketAddrs` value never leaves its coroutine (it
//! may be neither `Send` nor `Sync`), and literal addresses are parsed in
//! place without any of this (see `addr.rs`).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::vec;

/// Looks `query` up with std's resolver, parking the calling coroutine
/// (not its worker) meanwhile; on a plain thread, blocks it.
///
/// A cancelled coroutine unwinds from the wait; the pool thread finishes
/// its lookup and the answer is dropped.
pub(crate) fn resolve<Q>(query: Q) -> io::Result<vec::IntoIter<SocketAddr>>
where
    Q: ToSocketAddrs + Send + 'static,
{
    if !crate::rt::worker::in_coroutine() {
        return lookup(&query).map(Vec::into_iter);
    }
    match crate::spawn_blocking(move || lookup(&query)).join() {
        Ok(result) => result.map(Vec::into_iter),
        // The pool could not start a thread: it says why in a String.
        Err(payload) => match payload.downcast::<String>() {
            Ok(message) => Err(io::Error::other(*message)),
            Err(payload) => crate::rt::unwinding::resume_unwind(payload),
        },
    }
}

fn lookup<Q: ToSocketAddrs>(query: &Q) -> io::Result<Vec<SocketAddr>> {
    Ok(query.to_socket_addrs()?.collect())
}
