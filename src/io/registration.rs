//! A socket's registration with a worker's poller, and the wait that
//! parks a coroutine until the socket is ready.
//!
//! `weft::net` tries every operation directly first; only on `WouldBlock`
//! inside a coroutine does it register the socket (once: the registration
//! lives as long as the socket) and call [`Registration::wait`].

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Instant;

use mio::unix::SourceFd;

use super::reactor::{ReadyEvent, ScheduledIo, ready};
use crate::rt::coroutine::Header;
use crate::rt::scheduler::WorkerRemote;

/// Interest in reading.
pub(crate) const READ: usize = ready::READABLE;
/// Interest in writing.
pub(crate) const WRITE: usize = ready::WRITABLE;

/// A registered file descriptor. Must be dropped while the descriptor is
/// still open (declare it before the field that owns the descriptor), so
/// that it can remove itself from the poller: a descriptor duplicated with
/// `try_clone` keeps an epoll registration alive past its own close.
pub(crate) struct Registration {
    io: Arc<ScheduledIo>,
    worker: Arc<WorkerRemote>,
    fd: RawFd,
    /// Set by [`Registration::deregister_now`] (the `hook` feature,
    /// before it closes the descriptor): `DEREGISTERED` means the drop
    /// must not remove it from the poller again (the number may name
    /// another file by then); `LEAKED` means the removal failed, so the
    /// poller may still hold the token and its memory is never released.
    #[cfg(feature = "hook")]
    deregistered: std::sync::atomic::AtomicU8,
}

impl Registration {
    /// Registers `fd` (edge triggered, readable and writable, and for
    /// urgent data so that `ready::URGENT` can be recorded) with the poller
    /// of the worker running the current coroutine. Fails outside a
    /// coroutine.
    pub(crate) fn new(fd: RawFd) -> io::Result<Registration> {
        let worker = crate::rt::worker::current_remote().ok_or_else(|| {
            io::Error::other("weft: a socket can only be registered from inside a coroutine")
        })?;
        let io = Arc::new(ScheduledIo::new());
        let token = Arc::into_raw(io.clone()) as usize;
        let result = worker
            .io
            .registry
            .register(&mut SourceFd(&fd), mio::Token(token), interest());
        if let Err(e) = result {
            // Soundness: `token` came from Arc::into_raw just above and the
            // registration failed, so no event carries it: take the count
            // back exactly once.
            // SAFETY: by the soundness argument just above.
            drop(unsafe { Arc::from_raw(token as *const ScheduledIo) });
            return Err(e);
        }
        worker
            .io
            .sources
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Registration {
            io,
            worker,
            fd,
            #[cfg(feature = "hook")]
            deregistered: std::sync::atomic::AtomicU8::new(LIVE),
        })
    }

    /// The readiness for `interest` if it is (or may be) ready now.
    pub(crate) fn ready(&self, interest: usize) -> Option<ReadyEvent> {
        self.io.ready(interest)
    }

    /// Forgets readiness that an operation found stale (`WouldBlock`).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent, interest: usize) {
        self.io.clear_readiness(event, interest)
    }

    /// Whether a short stream read or write proves the socket drained.
    pub(crate) fn short_means_drained(&self) -> bool {
        self.io.short_means_drained()
    }

    /// Whether the poller this socket is registered with is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.worker.io.is_closed()
    }

    /// Parks the current coroutine until the source is ready for
    /// `interest` (or closed, or errored), or `deadline` passes
    /// (`ErrorKind::TimedOut`). Unwinds if the coroutine is cancelled.
    ///
    /// `ahead`: the caller computed `deadline` just now as the clock plus
    /// a positive timeout, so the wait parks without reading the clock
    /// first. (Should it have passed meanwhile, the timer, which never
    /// fires early, ends the wait at its next tick; only the clock read
    /// after a wake decides that the wait timed out.)
    pub(crate) fn wait(
        &self,
        interest: usize,
        deadline: Option<Instant>,
        ahead: bool,
    ) -> io::Result<ReadyEvent> {
        self.wait_with(interest, deadline, ahead, true)
    }

    /// [`wait`](Self::wait) that never unwinds: a cancel ends it with
    /// `ErrorKind::Interrupted` instead (the `hook` feature's waits run in
    /// `extern "C"` functions, which must not unwind).
    #[cfg(feature = "hook")]
    pub(crate) fn wait_uncancellable(
        &self,
        interest: usize,
        deadline: Option<Instant>,
    ) -> io::Result<ReadyEvent> {
        self.wait_with(interest, deadline, false, false)
    }

    fn wait_with(
        &self,
        interest: usize,
        deadline: Option<Instant>,
        ahead: bool,
        cancellable: bool,
    ) -> io::Result<ReadyEvent> {
        let header = crate::rt::worker::current_header()
            .ok_or_else(|| io::Error::other("weft: Registration::wait outside a coroutine"))?;
        // Whether the clock must say the deadline is still ahead before
        // the next park: always, except before the first when `ahead`.
        let mut check_clock = !ahead;
        loop {
            if let Some(event) = self.io.ready(interest) {
                return Ok(event);
            }
            if let Some(deadline) = deadline
                && check_clock
                && Instant::now() >= deadline
            {
                return Err(io::ErrorKind::TimedOut.into());
            }
            check_clock = true;
            if !cancellable && header.is_cancelled() {
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.worker.io.is_closed() {
                // Registered by a runtime that has shut down: no poller
                // will ever report this socket again. Fail, do not hang.
                return Err(io::Error::other(
                    "weft: the socket is registered with a runtime that has shut down",
                ));
            }
            if !self.io.add_waiter(interest, &header) {
                continue;
            }
            let _unregister = RemoveWaiter {
                io: &self.io,
                header: &header,
            };
            // Without a deadline, `park` directly: `park_until`'s frame
            // (timer bookkeeping) is large, and every parked coroutine's
            // frames are cold memory when it resumes (they are re-read on
            // the way back up), so a shallower wait is measurably cheaper
            // with thousands of sockets.
            // With one, arm the timer for the coroutine whose header is
            // at hand, without reading the clock: it was read above (or
            // the deadline is `ahead`), and the read at the top of the
            // loop, after the park, decides whether the wait timed out.
            match (deadline, cancellable) {
                (None, true) => crate::rt::park::park(),
                (Some(deadline), true) => {
                    crate::rt::park::park_armed(header.clone(), deadline, crate::rt::park::park);
                }
                (None, false) => crate::rt::park::park_uncancellable(),
                (Some(deadline), false) => {
                    crate::rt::park::park_armed(
                        header.clone(),
                        deadline,
                        crate::rt::park::park_uncancellable,
                    );
                }
            }
        }
    }

    /// Adds `header` as a waiter for `interest` unless the source is ready
    /// (then `false`): for a wait on several sources at once (`poll(2)`
    /// under the `hook` feature). Pair with [`remove_waiter`](Self::remove_waiter).
    #[cfg(feature = "hook")]
    pub(crate) fn add_waiter(&self, interest: usize, header: &Arc<Header>) -> bool {
        self.io.add_waiter(interest, header)
    }

    /// Takes a waiter added by [`add_waiter`](Self::add_waiter) off the list.
    #[cfg(feature = "hook")]
    pub(crate) fn remove_waiter(&self, header: &Arc<Header>) {
        self.io.remove_waiter(header)
    }

    /// Removes the descriptor from the poller now, while it is still open,
    /// and wakes every waiter (a retried call then sees the closed
    /// descriptor). The `hook` feature's `close` calls this before the
    /// real `close`; the drop later only releases the memory.
    ///
    /// If the poller refuses (the descriptor was closed behind weft's
    /// back, by a raw system call, and a duplicate may keep the epoll
    /// entry alive), the token's memory is leaked rather than risk an
    /// event naming freed memory.
    #[cfg(feature = "hook")]
    pub(crate) fn deregister_now(&self) {
        use std::sync::atomic::Ordering;
        if self.deregistered.load(Ordering::Acquire) == LIVE {
            let outcome = match self.worker.io.registry.deregister(&mut SourceFd(&self.fd)) {
                Ok(()) => DEREGISTERED,
                // The poller itself is gone: nothing can report the token.
                Err(_) if self.worker.io.is_closed() => DEREGISTERED,
                Err(_) => LEAKED,
            };
            self.deregistered.store(outcome, Ordering::Release);
        }
        self.io.set_readiness(ready::DEREGISTERED);
    }
}

impl Registration {
    /// Gives the registration up without removing it from the poller: the
    /// descriptor was closed behind it and its number may name another
    /// file, which a removal by number could hit. Its memory is leaked
    /// (a poller entry kept alive by a duplicate may still name it).
    #[cfg(feature = "hook")]
    pub(crate) fn abandon(&self) {
        self.deregistered
            .store(LEAKED, std::sync::atomic::Ordering::Release);
    }
}

#[cfg(feature = "hook")]
const LIVE: u8 = 0;
#[cfg(feature = "hook")]
const DEREGISTERED: u8 = 1;
#[cfg(feature = "hook")]
const LEAKED: u8 = 2;

/// What every socket registers for. Priority (`EPOLLPRI`, urgent data)
/// only where mio offers it; elsewhere `short_means_drained` is never
/// trusted.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn interest() -> mio::Interest {
    mio::Interest::READABLE | mio::Interest::WRITABLE | mio::Interest::PRIORITY
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn interest() -> mio::Interest {
    mio::Interest::READABLE | mio::Interest::WRITABLE
}

/// Takes a waiter off the list when its wait ends in any way, unwinding
/// from a cancel included.
struct RemoveWaiter<'a> {
    io: &'a ScheduledIo,
    header: &'a Arc<Header>,
}

impl Drop for RemoveWaiter<'_> {
    fn drop(&mut self) {
        self.io.remove_waiter(self.header);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Errors mean the poller or the descriptor is already gone; either
        // way no further event can carry this token once it is released.
        #[cfg(feature = "hook")]
        let state = self.deregistered.load(std::sync::atomic::Ordering::Acquire);
        #[cfg(feature = "hook")]
        if state == LEAKED {
            // The memory stays (see `deregister_now`); the count of live
            // sources, which decides whether a busy worker polls, does not.
            self.worker
                .io
                .sources
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        #[cfg(not(feature = "hook"))]
        let state = 0;
        if state == 0 {
            let _ = self.worker.io.registry.deregister(&mut SourceFd(&self.fd));
        }
        self.io.set_readiness(ready::DEREGISTERED);
        let token = Arc::as_ptr(&self.io);
        // Soundness: Registration::new leaked exactly one strong count of
        // `self.io` as the token; this is the one place it is taken back,
        // once per registration. The release list keeps it alive until no
        // poll cycle can still report it.
        // SAFETY: by the soundness argument just above.
        let leaked = unsafe { Arc::from_raw(token) };
        self.worker.io.release_later(leaked);
    }
}
