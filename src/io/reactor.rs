//! One worker's poller, and the readiness state of a registered source.
//!
//! Every worker owns a `mio::Poll`. A socket registers (once, edge
//! triggered, for reading and writing) with the poller of the worker on
//! which a coroutine first had to wait for it. Events are dispatched by
//! that worker: [`ScheduledIo::dispatch`] records the readiness and unparks
//! the waiting coroutines, which may live on any worker (a wake of a
//! coroutine owned elsewhere goes through its owner's inbox).
//!
//! The mio token of a registration is the address of its
//! [`ScheduledIo`], kept alive by a strong count leaked to the poller.
//! Deregistration can happen on any thread while the owning worker is
//! between `epoll_wait` and dispatch, so that count is not dropped at once:
//! it goes to the worker's release list, and the worker drops a release
//! list only after a full poll cycle that began after the entries were
//! added. An event can then never name freed memory, and no token is ever
//! reused for another socket (no stale wakeup into a reused slot).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::rt::coroutine::Header;

/// The token of each worker's `mio::Waker`; registrations use addresses,
/// which are never 0.
pub(crate) const WAKER_TOKEN: mio::Token = mio::Token(0);

/// Readiness bits of a [`ScheduledIo`].
pub(crate) mod ready {
    /// Data (or a connection) may be read.
    pub(crate) const READABLE: usize = 1;
    /// Data may be written.
    pub(crate) const WRITABLE: usize = 2;
    /// The read half is closed: reads return EOF.
    pub(crate) const READ_CLOSED: usize = 4;
    /// The write half is closed or errored.
    pub(crate) const WRITE_CLOSED: usize = 8;
    /// The socket has a pending error.
    pub(crate) const ERROR: usize = 16;
    /// The registration is gone; waiters must stop waiting.
    pub(crate) const DEREGISTERED: usize = 32;
    /// The socket has had urgent (TCP out-of-band) data: a read may stop
    /// short at the urgent mark with data left, so a short read no longer
    /// proves the socket drained. Sticky; never cleared.
    pub(crate) const URGENT: usize = 64;
    /// All the bits above.
    pub(crate) const MASK: usize = 127;
}

/// What a worker's remote side shares for I/O: a handle to register with
/// its poller from any thread, and the registrations waiting for release.
pub(crate) struct IoShared {
    pub(crate) registry: mio::Registry,
    release: Mutex<Vec<Arc<ScheduledIo>>>,
    /// Live registrations with this poller; while 0 a busy worker skips
    /// its periodic non-blocking `epoll_wait`.
    pub(crate) sources: AtomicUsize,
    /// Set when the worker's poller is dropped (its runtime shut down):
    /// nobody will ever dispatch this poller's events again.
    closed: Arc<AtomicBool>,
}

impl IoShared {
    pub(crate) fn new(registry: mio::Registry, closed: Arc<AtomicBool>) -> IoShared {
        IoShared {
            registry,
            release: Mutex::new(Vec::new()),
            sources: AtomicUsize::new(0),
            closed,
        }
    }

    /// Whether the poller is gone: a wait on one of its registrations
    /// would never be woken.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Deregistered sources whose memory waits for the next poll cycle.
    pub(crate) fn pending_release(&self) -> usize {
        self.release.lock().unwrap().len()
    }

    /// Hands the poller's strong count of a deregistered source back, to be
    /// dropped after the next full poll cycle.
    pub(crate) fn release_later(&self, io: Arc<ScheduledIo>) {
        self.release.lock().unwrap().push(io);
        self.sources.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A worker's poller. Only its worker thread uses it.
pub(crate) struct Reactor {
    poll: mio::Poll,
    events: mio::Events,
    /// Shared with the worker's `IoShared`; set on drop.
    closed: Arc<AtomicBool>,
}

impl Drop for Reactor {
    fn drop(&mut self) {
        self.closed.store(true, Ordering::Release);
    }
}

impl Reactor {
    /// Creates a poller, its waker and the shared registration handle.
    pub(crate) fn new() -> io::Result<(Reactor, mio::Waker, IoShared)> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        let registry = poll.registry().try_clone()?;
        let closed = Arc::new(AtomicBool::new(false));
        Ok((
            Reactor {
                poll,
                events: mio::Events::with_capacity(1024),
                closed: closed.clone(),
            },
            waker,
            IoShared::new(registry, closed),
        ))
    }

    /// Waits up to `timeout` (`None`: until an event or a wake) and
    /// dispatches what arrived. Returns how many I/O events it dispatched.
    pub(crate) fn poll(&mut self, shared: &IoShared, timeout: Option<Duration>) -> usize {
        // Registrations released before this cycle began can no longer
        // appear in its events; drop them after dispatch.
        let releasable = std::mem::take(&mut *shared.release.lock().unwrap());
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("weft: the I/O poller failed: {e}"),
        }
        let mut dispatched = 0;
        for event in self.events.iter() {
            if event.token() == WAKER_TOKEN {
                continue;
            }
            let ptr = event.token().0 as *const ScheduledIo;
            // Soundness: a token other than WAKER_TOKEN is the address of a
            // ScheduledIo whose registration leaked a strong count to this
            // poller (Registration::new). That count is dropped only via the
            // release list, after a poll cycle that started after the
            // deregistration, and this event comes from the current cycle,
            // so the ScheduledIo is alive.
            // SAFETY: by the soundness argument just above.
            let io = unsafe { &*ptr };
            io.dispatch(event);
            dispatched += 1;
        }
        drop(releasable);
        dispatched
    }
}

/// Readiness of one registered source, and the coroutines waiting on it.
///
/// `readiness` holds the [`ready`] bits in its low byte and a tick (a
/// count of dispatched events) above, so that clearing readiness after a
/// `WouldBlock` never erases an event that arrived after the readiness was
/// read.
pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Vec<(usize, Arc<Header>)>>,
}

const TICK_SHIFT: usize = 8;

/// A snapshot of readiness, to clear it later if it turned out stale.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    tick: usize,
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        // A new source is assumed ready both ways: the first operation
        // tries the syscall, and only a WouldBlock makes it wait.
        ScheduledIo {
            readiness: AtomicUsize::new(ready::READABLE | ready::WRITABLE),
            waiters: Mutex::new(Vec::new()),
        }
    }

    fn bits_of(event: &mio::event::Event) -> usize {
        let mut bits = 0;
        if event.is_readable() {
            bits |= ready::READABLE;
        }
        if event.is_writable() {
            bits |= ready::WRITABLE;
        }
        if event.is_read_closed() {
            bits |= ready::READ_CLOSED;
        }
        if event.is_write_closed() {
            bits |= ready::WRITE_CLOSED;
        }
        if event.is_error() {
            bits |= ready::ERROR;
        }
        if event.is_priority() {
            bits |= ready::URGENT;
        }
        bits
    }

    /// Records an event and wakes the waiters it satisfies.
    fn dispatch(&self, event: &mio::event::Event) {
        self.set_readiness(Self::bits_of(event));
    }

    /// Adds readiness bits (bumping the tick) and wakes matching waiters.
    pub(crate) fn set_readiness(&self, bits: usize) {
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                let tick = (cur >> TICK_SHIFT).wrapping_add(1);
                Some((tick << TICK_SHIFT) | (cur & ready::MASK) | bits)
            });
        // Usually one waiter (a reader or a writer) is woken per event:
        // the woken are moved out of the list (no reference-count
        // traffic), the first into a slot of its own, so a dispatch
        // allocates nothing. The order of a socket's waiters does not
        // matter: each is woken by whatever satisfies its own interest.
        let mut first: Option<Arc<Header>> = None;
        let mut more = Vec::new();
        {
            let mut waiters = self.waiters.lock().unwrap();
            let mut i = 0;
            while i < waiters.len() {
                if !Self::satisfies(bits, waiters[i].0) {
                    i += 1;
                    continue;
                }
                let (_, header) = waiters.swap_remove(i);
                if first.is_none() {
                    first = Some(header);
                } else {
                    more.push(header);
                }
            }
        }
        if let Some(header) = first {
            header.unpark();
            for header in more {
                header.unpark();
            }
        }
    }

    /// Whether readiness `bits` end a wait for `interest`: the interest
    /// itself, or any closing/error condition, which the retried syscall
    /// will report.
    fn satisfies(bits: usize, interest: usize) -> bool {
        let finals = ready::READ_CLOSED | ready::WRITE_CLOSED | ready::ERROR | ready::DEREGISTERED;
        bits & (interest | finals) != 0
    }

    /// The current readiness for `interest`, if it is ready.
    pub(crate) fn ready(&self, interest: usize) -> Option<ReadyEvent> {
        let cur = self.readiness.load(Ordering::Acquire);
        if Self::satisfies(cur & ready::MASK, interest) {
            Some(ReadyEvent {
                tick: cur >> TICK_SHIFT,
            })
        } else {
            None
        }
    }

    /// Whether a short read or write may be taken as proof that the
    /// socket is drained (no urgent data was ever seen on it).
    pub(crate) fn short_means_drained(&self) -> bool {
        // Only epoll reports urgent data to us (see `registration`).
        cfg!(any(target_os = "linux", target_os = "android"))
            && self.readiness.load(Ordering::Acquire) & ready::URGENT == 0
    }

    /// After an operation returned `WouldBlock` (or a stream read or
    /// write came back short, which on epoll means the same): forgets the
    /// readiness it was tried on, unless an event arrived since (the tick
    /// moved).
    pub(crate) fn clear_readiness(&self, event: ReadyEvent, interest: usize) {
        let clear = interest & (ready::READABLE | ready::WRITABLE);
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                if cur >> TICK_SHIFT != event.tick {
                    return None;
                }
                Some(cur & !clear)
            });
    }

    /// Adds a waiter, unless the source became ready meanwhile (checked
    /// under the waiter lock, which `set_readiness` takes after updating
    /// the bits, so no event slips between check and registration).
    /// Returns `false` if it is ready now and the caller must not park.
    pub(crate) fn add_waiter(&self, interest: usize, header: &Arc<Header>) -> bool {
        let mut waiters = self.waiters.lock().unwrap();
        if self.ready(interest).is_some() {
            return false;
        }
        if !waiters.iter().any(|(_, h)| Arc::ptr_eq(h, header)) {
            waiters.push((interest, header.clone()));
        }
        true
    }

    /// Removes a waiter that stopped waiting (timeout, cancellation,
    /// spurious wake); a no-op if the event already took it.
    pub(crate) fn remove_waiter(&self, header: &Arc<Header>) {
        let mut waiters = self.waiters.lock().unwrap();
        // At most one entry per coroutine (`add_waiter`), and usually
        // none: the event that woke it took it.
        if let Some(i) = waiters.iter().position(|(_, h)| Arc::ptr_eq(h, header)) {
            drop(waiters.swap_remove(i));
        }
    }
}
