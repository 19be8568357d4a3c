//! Host name lookup without blocking a worker.
//!
//! `getaddrinfo` blocks in libc and has no non-blocking form. On a plain
//! thread [`resolve`] simply calls it, as std does. In a coroutine it runs
//! the lookup on a short-lived helper thread and parks the coroutine until
//! the answer is back, so the worker keeps running other coroutines.
//!
//! Only owned, `Send` queries (`String`, `(String, u16)`) cross to the
//! helper: the caller's `ToSocketAddrs` value never leaves its coroutine
//! (it may be neither `Send` nor `Sync`), and literal addresses are parsed
//! in place without any of this (see `addr.rs`).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::thread;
use std::vec;

use crate::park::{self, Unparker};

/// Where the helper thread leaves the answer, and whom it wakes.
struct Answer {
    result: Mutex<Option<io::Result<Vec<SocketAddr>>>>,
    waiter: Unparker,
}

/// Looks `query` up with std's resolver, parking the calling coroutine
/// (not its worker) meanwhile; on a plain thread, blocks it.
///
/// A cancelled coroutine unwinds from the wait; the helper finishes its
/// lookup and drops the answer.
pub(crate) fn resolve<Q>(query: Q) -> io::Result<vec::IntoIter<SocketAddr>>
where
    Q: ToSocketAddrs + Send + 'static,
{
    if !crate::worker::in_coroutine() {
        return lookup(&query).map(Vec::into_iter);
    }
    let answer = Arc::new(Answer {
        result: Mutex::new(None),
        waiter: Unparker::current(),
    });
    let helper = answer.clone();
    let spawned = thread::Builder::new()
        .name("weft-resolve".into())
        .spawn(move || {
            let result = lookup(&query);
            *helper.result.lock().unwrap() = Some(result);
            helper.waiter.unpark();
        });
    // No thread to be had (resource limits): the query moved into the
    // failed closure is gone, so report why rather than block.
    spawned?;
    loop {
        if let Some(result) = answer.result.lock().unwrap().take() {
            return result.map(Vec::into_iter);
        }
        park::park();
    }
}

fn lookup<Q: ToSocketAddrs>(query: &Q) -> io::Result<Vec<SocketAddr>> {
    Ok(query.to_socket_addrs()?.collect())
}
