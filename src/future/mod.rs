//! Futures from coroutines, and coroutines from async code.
//!
//! - [`block_on`] runs any [`Future`] to completion from sequential code.
//!   In a coroutine it parks the coroutine between polls (its worker runs
//!   other coroutines meanwhile) and the future's [`Waker`] unparks it,
//!   from any thread; on a plain thread it blocks the thread, like
//!   `futures::executor::block_on`.
//! - A [`JoinHandle`](crate::JoinHandle) is [`IntoFuture`]: async code on
//!   any executor can `.await` a coroutine without blocking that executor
//!   (the future is a [`JoinFuture`]).
//!
//! Futures that need no particular runtime (the channels of `futures` or
//! `async-channel`, `async-io` sockets, whose reactor runs on a thread of
//! its own) work with `block_on` alone. Futures of tokio's I/O, timers or
//! `tokio::spawn` need a tokio runtime's context: use
//! `weft::compat::tokio::block_on` (cargo feature `tokio`).
//!
//! `arch/future.md` explains the waker and why this is sound.
//!
//! [`Waker`]: std::task::Waker

mod waker;

#[cfg(all(test, weft_loom))]
mod loom_tests;

use std::pin::pin;
use std::task::{Context, Poll};

use crate::observe::{self, WaitFor};
use crate::rt::coop;
use crate::rt::park;
use waker::Target;

pub use crate::rt::join::JoinFuture;

/// Runs `future` to completion on the calling coroutine (or thread) and
/// returns its output.
///
/// In a coroutine, each time the future is pending the coroutine parks
/// until the future's waker is called, from any thread (no OS thread is
/// blocked: the worker runs other coroutines meanwhile). On a plain thread
/// the thread blocks, as in `futures::executor::block_on`. The future is
/// polled on the caller's stack and never moves, so it need not be `Send`
/// or `'static`.
///
/// A parking point: a coroutine cancelled while waiting here drops the
/// future (its destructors run) and unwinds with
/// [`Cancelled`](crate::Cancelled). A panic inside the future unwinds out
/// of `block_on` like any panic.
///
/// Futures of tokio's I/O and timers need a tokio runtime's context; see
/// the `tokio` feature's `weft::compat::tokio::block_on`.
///
/// ```
/// use futures::channel::oneshot;
///
/// let (tx, rx) = oneshot::channel();
/// let h = weft::spawn(move || weft::future::block_on(rx).unwrap() * 2);
/// weft::spawn(move || tx.send(21).unwrap());
/// assert_eq!(h.join().unwrap(), 42);
///
/// // On a plain thread it blocks the thread:
/// assert_eq!(weft::future::block_on(async { 7 }), 7);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    poll_until_ready(future, |future, cx| future.poll(cx))
}

/// The loop of [`block_on`], with `poll` saying how to poll the future
/// once (the tokio bridge enters its runtime's context around it).
pub(crate) fn poll_until_ready<F: Future>(
    future: F,
    mut poll: impl FnMut(std::pin::Pin<&mut F>, &mut Context<'_>) -> Poll<F::Output>,
) -> F::Output {
    // The future lives on this frame: a cancel unwinding from `park`
    // below drops it, running its destructors.
    let mut future = pin!(future);
    let target = Target::for_current();
    let borrowed = target.borrowed_waker();
    // Ready at once: no allocation, no parking.
    coop::proceed();
    if let Poll::Ready(output) = poll(future.as_mut(), &mut Context::from_waker(&borrowed)) {
        return output;
    }
    // Pending: from now on poll with the owned waker, the same one every
    // time, so futures that compare wakers keep their registration.
    let owned = target.owned_waker();
    let mut cx = Context::from_waker(&owned);
    let _waiting = observe::waiting(WaitFor::Future);
    loop {
        // A park may return for reasons that are not ours (a spurious
        // wake, a token left by an older wait): only our flag counts.
        while !target.take() {
            park::park();
        }
        coop::proceed();
        if let Poll::Ready(output) = poll(future.as_mut(), &mut cx) {
            return output;
        }
    }
}
