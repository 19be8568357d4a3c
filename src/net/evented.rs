//! The one wrapper every weft socket is built on: a std socket kept in
//! `O_NONBLOCK` mode, plus the wait-and-retry loop that turns its
//! `WouldBlock` back into the blocking behaviour std promises.
//!
//! Every operation goes the same way ([`Evented::io`]):
//!
//! 1. spend one unit of the coroutine's cooperative budget (`coop`);
//! 2. try the std call directly — when data is already there, that is the
//!    only syscall;
//! 3. on `WouldBlock`: if the *user* asked for non-blocking mode, return it
//!    as std would; otherwise wait for readiness and go to 2. Inside a
//!    coroutine the wait parks the coroutine on the socket's
//!    [`Registration`] (made once, on the first wait, with the poller of the
//!    worker running that coroutine); on a plain thread it blocks the thread
//!    in `poll(2)`, which is what a blocking std socket does inside the
//!    kernel.
//!
//! Read and write timeouts are tracked here, not with `SO_RCVTIMEO` (which
//! a non-blocking descriptor ignores); a wait that reaches one returns
//! `WouldBlock` (`EAGAIN`), the error std's timed-out calls give on Unix.
//! The user's non-blocking flag and the timeouts live in a [`Settings`]
//! shared by `try_clone` halves, because in std they are properties of the
//! shared file description (`O_NONBLOCK`, `SO_RCVTIMEO`).

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::io::registration::{READ, Registration, WRITE};
use crate::observe::WaitFor;

/// What the wrapper needs from the std socket inside it: switching its
/// blocking mode, and its kernel timeouts (for `from_std`/`into_std`).
pub(crate) trait StdSocket: AsRawFd + AsFd {
    /// std's `set_nonblocking`.
    fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()>;
    /// The kernel's read and write timeouts (sockets without: none).
    fn timeouts(&self) -> io::Result<[Option<Duration>; 2]> {
        Ok([None, None])
    }
    /// Sets the kernel's read and write timeouts (sockets without: no-op).
    fn set_timeouts(&self, _timeouts: [Option<Duration>; 2]) -> io::Result<()> {
        Ok(())
    }
}

/// Implements [`StdSocket`] for std socket types; `timeouts` for those with
/// read/write timeouts.
macro_rules! std_socket {
    ($($ty:ty),* ; timeouts: $($tty:ty),*) => {
        $(impl StdSocket for $ty {
            fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
                <$ty>::set_nonblocking(self, nonblocking)
            }
        })*
        $(impl StdSocket for $tty {
            fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
                <$tty>::set_nonblocking(self, nonblocking)
            }
            fn timeouts(&self) -> io::Result<[Option<Duration>; 2]> {
                Ok([self.read_timeout()?, self.write_timeout()?])
            }
            fn set_timeouts(&self, [read, write]: [Option<Duration>; 2]) -> io::Result<()> {
                self.set_read_timeout(read)?;
                self.set_write_timeout(write)
            }
        })*
    };
}

std_socket!(
    std::net::TcpListener, std::os::unix::net::UnixListener;
    timeouts: std::net::TcpStream, std::net::UdpSocket,
        std::os::unix::net::UnixStream, std::os::unix::net::UnixDatagram
);

/// The settings std keeps in the file description, shared by every
/// `try_clone` of one socket.
#[derive(Default)]
pub(crate) struct Settings {
    /// The user called `set_nonblocking(true)`: return `WouldBlock`.
    nonblocking: AtomicBool,
    /// Read and write timeouts, in nanoseconds: [`NO_TIMEOUT`] for none (a
    /// zero timeout is refused, so 0 is free), saturated at [`FOREVER`].
    /// Atomics, not a mutex: the wait path reads one on every wait. Each
    /// is one value on its own (nothing else is published through it), so
    /// `Relaxed` suffices: a wait racing a setter sees the old or the new
    /// timeout, as in std.
    timeouts: [AtomicU64; 2],
}

/// `timeouts` of a socket without a timeout.
const NO_TIMEOUT: u64 = 0;
/// `timeouts` of a timeout too long to count in nanoseconds (584 years):
/// a wait never reaches it, so it waits without a deadline, as it does
/// for a timeout `Instant` cannot add.
const FOREVER: u64 = u64::MAX;

impl Settings {
    fn new(nonblocking: bool, timeouts: [Option<Duration>; 2]) -> Settings {
        Settings {
            nonblocking: AtomicBool::new(nonblocking),
            timeouts: timeouts.map(|t| AtomicU64::new(nanos_of(t))),
        }
    }

    fn set_timeout(&self, index: usize, dur: Option<Duration>) {
        self.timeouts[index].store(nanos_of(dur), Ordering::Relaxed);
    }

    /// The timeout for `index` as the user set it, to the nanosecond up to
    /// [`FOREVER`], which reads back as 584 years (std's own getter rounds
    /// to microseconds and clamps too).
    fn timeout(&self, index: usize) -> Option<Duration> {
        match self.timeouts[index].load(Ordering::Relaxed) {
            NO_TIMEOUT => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }

    /// The timeout a wait for `index` uses: [`timeout`](Self::timeout),
    /// but `None` for [`FOREVER`].
    #[inline]
    fn wait_timeout(&self, index: usize) -> Option<Duration> {
        match self.timeouts[index].load(Ordering::Relaxed) {
            NO_TIMEOUT | FOREVER => None,
            nanos => Some(Duration::from_nanos(nanos)),
        }
    }
}

/// A timeout as [`Settings::timeouts`] holds it.
fn nanos_of(dur: Option<Duration>) -> u64 {
    match dur {
        None => NO_TIMEOUT,
        // Zero is refused before it gets here; keep it distinct anyway.
        Some(d) => u64::try_from(d.as_nanos()).unwrap_or(FOREVER).max(1),
    }
}

/// A std socket in non-blocking mode with weft's waiting around it.
pub(crate) struct Evented<S: StdSocket> {
    /// Declared before `socket` so that it is dropped first, while the
    /// descriptor is still open (see [`Registration`]).
    registration: OnceLock<Registration>,
    socket: S,
    settings: Arc<Settings>,
    /// Serialises the lazy creation of `registration`, so two coroutines
    /// waiting for the first time at once do not both register the fd.
    registering: Mutex<()>,
}

impl<S: StdSocket> Evented<S> {
    /// Wraps a socket that std just created in blocking mode.
    pub(crate) fn new(socket: S) -> io::Result<Evented<S>> {
        socket.set_nonblocking(true)?;
        Ok(Self::with_settings(socket, Arc::default()))
    }

    /// Wraps a socket that is already in non-blocking mode.
    pub(crate) fn from_nonblocking(socket: S) -> Evented<S> {
        Self::with_settings(socket, Arc::default())
    }

    /// Wraps a clone of a socket, sharing the original's settings.
    pub(crate) fn new_clone(socket: S, settings: &Arc<Settings>) -> Evented<S> {
        // The clone shares the file description, already non-blocking.
        Self::with_settings(socket, settings.clone())
    }

    fn with_settings(socket: S, settings: Arc<Settings>) -> Evented<S> {
        Evented {
            registration: OnceLock::new(),
            socket,
            settings,
            registering: Mutex::new(()),
        }
    }

    /// Adopts a std socket in whatever mode it is: its non-blocking flag
    /// and kernel timeouts become the user's settings.
    pub(crate) fn from_std(socket: S) -> Evented<S> {
        let nonblocking = fd_is_nonblocking(socket.as_raw_fd());
        let timeouts = socket.timeouts().unwrap_or([None, None]);
        // A socket's O_NONBLOCK can only fail to change if the descriptor
        // is invalid, and then every later call fails with EBADF anyway.
        let _ = socket.set_nonblocking(true);
        Self::with_settings(socket, Arc::new(Settings::new(nonblocking, timeouts)))
    }

    /// Gives the std socket back as std would have it: deregistered,
    /// blocking unless the user chose non-blocking, with the tracked
    /// timeouts set in the kernel. The socket comes back even if restoring
    /// a setting failed; the error says which.
    pub(crate) fn into_std(self) -> (S, io::Result<()>) {
        let Evented {
            registration,
            socket,
            settings,
            registering: _,
        } = self;
        drop(registration);
        let nonblocking = settings.nonblocking.load(Ordering::Relaxed);
        let timeouts = [0, 1].map(|index| settings.timeout(index));
        let restored = (|| {
            if !nonblocking {
                socket.set_nonblocking(false)?;
            }
            socket.set_timeouts(timeouts)
        })();
        (socket, restored)
    }

    /// The std socket (non-blocking: do not wait on it directly).
    pub(crate) fn socket(&self) -> &S {
        &self.socket
    }

    /// The settings to share with a `try_clone`.
    pub(crate) fn settings(&self) -> &Arc<Settings> {
        &self.settings
    }

    /// Records the user's blocking mode; the descriptor stays
    /// non-blocking.
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) {
        self.settings
            .nonblocking
            .store(nonblocking, Ordering::Relaxed);
    }

    /// Sets the read (`READ`) or write (`WRITE`) timeout; a zero duration
    /// is refused with `InvalidInput`, as std does.
    pub(crate) fn set_timeout(&self, interest: usize, dur: Option<Duration>) -> io::Result<()> {
        if dur == Some(Duration::ZERO) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        self.settings.set_timeout(timeout_index(interest), dur);
        Ok(())
    }

    /// The read (`READ`) or write (`WRITE`) timeout.
    pub(crate) fn timeout(&self, interest: usize) -> Option<Duration> {
        self.settings.timeout(timeout_index(interest))
    }

    /// When a call that starts waiting now gives up, and whether that is
    /// known to lie ahead (see [`Limit`]).
    fn deadline(
        &self,
        interest: usize,
        limit: Limit<impl FnOnce() -> Option<Instant>>,
    ) -> (Option<Instant>, bool) {
        match limit {
            Limit::Timeout => {
                let deadline = self
                    .settings
                    .wait_timeout(timeout_index(interest))
                    .and_then(|t| Instant::now().checked_add(t));
                (deadline, true)
            }
            Limit::Deadline(deadline) => (deadline(), false),
        }
    }

    /// Runs `op` on the socket until it does not return `WouldBlock`,
    /// waiting for `interest` (`READ` or `WRITE`) in between, up to the
    /// matching timeout. A timeout gives `WouldBlock`, as in std.
    pub(crate) fn io<R>(
        &self,
        interest: usize,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io_loop(interest, TIMEOUT, op, |_| false, false)
    }

    /// [`io`](Self::io) for a call that std retries after a signal
    /// handler interrupts it (`accept`): on a plain thread, an interrupted
    /// wait waits again instead of returning `Interrupted`
    /// (`interrupt.rs`).
    pub(crate) fn io_restarting<R>(
        &self,
        interest: usize,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io_loop(interest, TIMEOUT, op, |_| false, true)
    }

    /// [`io`](Self::io) for a stream read or write of `len` bytes (`op`
    /// returns how many it moved). A transfer that comes back short
    /// (`0 < n < len`) left the socket drained (epoll: a stream socket
    /// reads or writes all it can), so the readiness it used is forgotten
    /// and the next call waits for the next edge without first trying a
    /// syscall bound to say `WouldBlock`. In an echo-style exchange that
    /// saves one `recv` in four.
    pub(crate) fn stream_io(
        &self,
        interest: usize,
        len: usize,
        op: impl FnMut(&S) -> io::Result<usize>,
    ) -> io::Result<usize> {
        self.io_loop(interest, TIMEOUT, op, |&n| n > 0 && n < len, false)
    }

    /// [`io`](Self::io) with the deadline given by `deadline`, which is
    /// called only if the first attempt would block (most calls never need
    /// the clock).
    pub(crate) fn io_until<R>(
        &self,
        interest: usize,
        deadline: impl FnOnce() -> Option<Instant>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        self.io_loop(interest, Limit::Deadline(deadline), op, |_| false, false)
    }

    /// The loop behind every operation; `drained` says whether a success
    /// proves the socket has nothing more for `interest` (a short stream
    /// transfer); `std_retries` whether std's call retries after a signal
    /// handler interrupts it (see `interrupt.rs`).
    fn io_loop<R>(
        &self,
        interest: usize,
        limit: Limit<impl FnOnce() -> Option<Instant>>,
        mut op: impl FnMut(&S) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
        std_retries: bool,
    ) -> io::Result<R> {
        // Spends budget, but a socket in non-blocking mode never waits in
        // std, so it never switches either (its flag is read only when
        // the budget is spent).
        crate::rt::coop::proceed_unless(|| self.settings.nonblocking.load(Ordering::Relaxed));
        let mut limit = Some(limit);
        let mut until = None;
        loop {
            let registration = self.registration.get();
            // Snapshot readiness *before* the attempt, so that clearing it
            // after a WouldBlock cannot erase an event that came meanwhile.
            let ready = registration.and_then(|r| r.ready(interest));
            // A clear readiness bit is trusted (wait first, no syscall) only
            // by a blocking-mode call in a coroutine: a non-blocking call
            // must see data the poller has not reported yet, as std would,
            // and a plain thread waits in poll(2) anyway. (Checked only
            // when readiness is clear: the settings are one more cache line
            // the common, ready case need not touch.)
            if ready.is_none()
                && let Some(registration) = registration
                && !self.settings.nonblocking.load(Ordering::Relaxed)
                && crate::rt::worker::in_coroutine()
                && !registration.is_closed()
            {
                // Cleared readiness means the last attempt found the socket
                // drained and no edge has come since: the syscall would say
                // WouldBlock, so wait for the edge first. If the wait fails
                // (deadline, dead poller), fall through to the attempt,
                // which then ends the call exactly as without this shortcut.
                let mut ahead = false;
                if let Some(limit) = limit.take() {
                    (until, ahead) = self.deadline(interest, limit);
                }
                if self.wait(interest, until, ahead, None, std_retries).is_ok() {
                    continue;
                }
            }
            let error = match op(&self.socket) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => e,
                Ok(result) => {
                    if let Some(event) = ready
                        && drained(&result)
                        && let Some(registration) = registration
                        && registration.short_means_drained()
                    {
                        registration.clear_readiness(event, interest);
                    }
                    return Ok(result);
                }
                Err(e) => return Err(e),
            };
            if self.settings.nonblocking.load(Ordering::Relaxed) {
                return Err(error);
            }
            let mut ahead = false;
            if let Some(limit) = limit.take() {
                (until, ahead) = self.deadline(interest, limit);
            }
            match self.wait(interest, until, ahead, ready, std_retries) {
                Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(error),
                Err(e) => return Err(e),
                Ok(()) => {}
            }
        }
    }

    /// Waits until the socket may be ready for `interest`, or `deadline`
    /// (`ErrorKind::TimedOut`); `ahead`: `deadline` was just computed as
    /// now plus a timeout (see [`Registration::wait`]). `stale` is the
    /// readiness an attempt just found wrong. Parks a coroutine; blocks a
    /// plain thread, which a signal handler may interrupt (`Interrupted`,
    /// unless `std_retries`: see `interrupt.rs`).
    pub(crate) fn wait(
        &self,
        interest: usize,
        deadline: Option<Instant>,
        ahead: bool,
        stale: Option<crate::io::reactor::ReadyEvent>,
        std_retries: bool,
    ) -> io::Result<()> {
        if !crate::rt::worker::in_coroutine() {
            return poll_fd(self.socket.as_raw_fd(), interest, deadline, std_retries);
        }
        let registration = self.registration()?;
        if let Some(event) = stale {
            registration.clear_readiness(event, interest);
        }
        // What `weft::dump()` shows for this coroutine while it waits.
        let _waiting = crate::observe::waiting(WaitFor::Socket {
            fd: self.socket.as_raw_fd(),
            write: interest == WRITE,
        });
        registration.wait(interest, deadline, ahead).map(drop)
    }

    /// The socket's registration, made with the current worker's poller on
    /// first use. Only called inside a coroutine.
    fn registration(&self) -> io::Result<&Registration> {
        if let Some(registration) = self.registration.get() {
            return Ok(registration);
        }
        let _registering = self.registering.lock().unwrap();
        if let Some(registration) = self.registration.get() {
            return Ok(registration);
        }
        let registration = Registration::new(self.socket.as_raw_fd())?;
        Ok(self.registration.get_or_init(|| registration))
    }
}

/// What ends a call's wait: the socket's timeout for the interest,
/// counted from the first wait (a deadline known to lie ahead when it is
/// computed, so the wait need not read the clock again before parking), or
/// a deadline computed by the closure when first needed (`connect`'s,
/// which may already have passed).
enum Limit<F> {
    Timeout,
    Deadline(F),
}

/// [`Limit::Timeout`], typed.
const TIMEOUT: Limit<fn() -> Option<Instant>> = Limit::Timeout;

fn timeout_index(interest: usize) -> usize {
    match interest {
        READ => 0,
        WRITE => 1,
        _ => unreachable!("a timeout is for reading or for writing"),
    }
}

/// Whether the descriptor has `O_NONBLOCK` set.
fn fd_is_nonblocking(fd: RawFd) -> bool {
    // SAFETY: F_GETFL only reads the descriptor's flags; an invalid fd
    // makes it return -1, which we treat as blocking.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    flags != -1 && flags & libc::O_NONBLOCK != 0
}

/// Blocks the calling thread until `fd` is ready for `interest` (or has
/// an error or hang-up, which the retried call reports), or `deadline`
/// passes (`ErrorKind::TimedOut`): what the kernel does inside a blocking
/// call. A signal handler that interrupts the wait makes it return
/// `Interrupted` where std's blocking call would (`interrupt.rs`).
pub(crate) fn poll_fd(
    fd: RawFd,
    interest: usize,
    deadline: Option<Instant>,
    std_retries: bool,
) -> io::Result<()> {
    let events = if interest == READ {
        libc::POLLIN
    } else {
        libc::POLLOUT
    };
    loop {
        let timeout_ms = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                // Round up: a 0 ms poll would spin until the deadline.
                let ms = left.as_nanos().div_ceil(1_000_000);
                ms.min(libc::c_int::MAX as u128) as libc::c_int
            }
        };
        let mut pollfd = libc::pollfd {
            fd,
            events,
            revents: 0,
        };
        // SAFETY: `pollfd` is a valid, exclusively borrowed array of one
        // element for the duration of the call.
        let n = unsafe { libc::poll(&mut pollfd, 1, timeout_ms) };
        match n {
            -1 => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted
                    || super::interrupt::surfaces(std_retries, deadline.is_some())
                {
                    return Err(e);
                }
            }
            0 => {} // the loop re-checks the deadline
            _ => return Ok(()),
        }
    }
}

impl<S: StdSocket + std::fmt::Debug> std::fmt::Debug for Evented<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // std's own Debug (addresses and fd) under std's type name.
        self.socket.fmt(f)
    }
}
