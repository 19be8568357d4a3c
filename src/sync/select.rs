//! Waiting on several [`Receiver`]s at once: the [`Select`] builder and
//! the [`select!`](crate::select) macro on top of it, in
//! crossbeam-channel's shape.
//!
//! One `Waiter` registers on the receive list of every channel (under
//! each channel's own mutex, after checking it is not ready), then parks.
//! Any sender's wake claims the waiter with a CAS on its state, so a
//! second channel becoming ready meanwhile skips it instead of waking it
//! twice. On waking, the select removes itself from every list (after
//! which no sender can touch the waiter any more) and looks again, from a
//! rotating start so no receiver is always preferred.
//!
//! A receiver is *ready* when a receive would finish at once: a message
//! is queued or every sender is gone. Because a [`Receiver`] has a single
//! owner, readiness cannot be taken away between the select and the
//! receive that follows it.

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

use super::mpsc::{Receiver, RecvError};
use super::waitlist::{Parker, Ticket, Waiter, Weft};
use crate::rt::coop;

/// Something a select can wait on: a channel's receive side.
pub(crate) trait Selectable {
    fn is_ready(&self) -> bool;
    /// Registers `waiter` unless ready (`None`).
    ///
    /// # Safety
    /// `waiter` must stay put and alive until `unregister` was called
    /// with the returned ticket.
    unsafe fn register(&self, waiter: &Waiter<Weft>) -> Option<Ticket>;
    fn unregister(&self, ticket: Ticket);
}

impl<T> Selectable for super::mpsc::chan::Chan<T, Weft> {
    fn is_ready(&self) -> bool {
        super::mpsc::chan::Chan::is_ready(self)
    }

    unsafe fn register(&self, waiter: &Waiter<Weft>) -> Option<Ticket> {
        // SAFETY: forwarded to our caller.
        unsafe { super::mpsc::chan::Chan::register(self, waiter) }
    }

    fn unregister(&self, ticket: Ticket) {
        super::mpsc::chan::Chan::unregister(self, ticket)
    }
}

/// A set of receivers to wait on; the dynamic form of
/// [`select!`](crate::select).
///
/// Add receivers with [`recv`](Self::recv) (each gets an index), then
/// [`ready`](Self::ready) waits until one of them is ready and returns
/// its index; receive from it with `try_recv` (it will not be empty
/// unless disconnected) or `recv`.
///
/// ```
/// use weft::sync::{mpsc, Select};
///
/// let (tx1, rx1) = mpsc::channel::<i32>();
/// let (tx2, rx2) = mpsc::channel::<&str>();
/// weft::spawn(move || tx2.send("two").unwrap());
///
/// let mut sel = Select::new();
/// let i1 = sel.recv(&rx1);
/// let i2 = sel.recv(&rx2);
/// let ready = sel.ready();
/// assert_eq!(ready, i2);
/// assert_eq!(rx2.recv(), Ok("two"));
/// # let _ = (i1, tx1);
/// ```
pub struct Select<'a> {
    handles: Vec<&'a dyn Selectable>,
}

/// [`Select::try_ready`] found nothing ready.
///
/// ```
/// let (_tx, rx) = weft::sync::mpsc::channel::<()>();
/// let mut sel = weft::sync::Select::new();
/// sel.recv(&rx);
/// let err: weft::sync::TryReadyError = sel.try_ready().unwrap_err();
/// assert_eq!(err.to_string(), "no operation was ready");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryReadyError;

/// [`Select::ready_timeout`] timed out.
///
/// ```
/// use std::time::Duration;
/// let (_tx, rx) = weft::sync::mpsc::channel::<()>();
/// let mut sel = weft::sync::Select::new();
/// sel.recv(&rx);
/// let err: weft::sync::ReadyTimeoutError = sel.ready_timeout(Duration::ZERO).unwrap_err();
/// assert_eq!(err.to_string(), "timed out waiting for an operation");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadyTimeoutError;

impl fmt::Display for TryReadyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no operation was ready")
    }
}

impl std::error::Error for TryReadyError {}

impl fmt::Display for ReadyTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out waiting for an operation")
    }
}

impl std::error::Error for ReadyTimeoutError {}

impl<'a> Select<'a> {
    /// An empty set.
    ///
    /// ```
    /// let sel = weft::sync::Select::new();
    /// # drop(sel);
    /// ```
    pub fn new() -> Select<'a> {
        Select {
            handles: Vec::new(),
        }
    }

    /// Adds a receiver; returns its index.
    ///
    /// ```
    /// let (_tx, rx) = weft::sync::mpsc::channel::<u8>();
    /// let mut sel = weft::sync::Select::new();
    /// assert_eq!(sel.recv(&rx), 0);
    /// assert_eq!(sel.recv(&rx), 1);
    /// ```
    pub fn recv<T>(&mut self, rx: &'a Receiver<T>) -> usize {
        self.handles.push(rx.chan());
        self.handles.len() - 1
    }

    /// Waits until one receiver is ready; returns its index. A parking
    /// point when it waits; counts against the fairness budget.
    ///
    /// # Panics
    /// If the set is empty (it would wait forever).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::channel();
    /// tx.send(1).unwrap();
    /// let mut sel = weft::sync::Select::new();
    /// let i = sel.recv(&rx);
    /// assert_eq!(sel.ready(), i);
    /// ```
    pub fn ready(&mut self) -> usize {
        assert!(!self.handles.is_empty(), "Select::ready on an empty set");
        coop::proceed();
        select(&self.handles, Wait::Until(None)).expect("a wait without deadline finishes")
    }

    /// Like [`ready`](Self::ready), but gives up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = weft::sync::mpsc::channel::<u8>();
    /// let mut sel = weft::sync::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.ready_timeout(Duration::from_millis(5)).is_err());
    /// ```
    pub fn ready_timeout(&mut self, timeout: Duration) -> Result<usize, ReadyTimeoutError> {
        coop::proceed();
        let deadline = Instant::now().checked_add(timeout);
        select(&self.handles, Wait::Until(deadline)).ok_or(ReadyTimeoutError)
    }

    /// Like [`ready`](Self::ready), but gives up at `deadline`.
    ///
    /// ```
    /// use std::time::Instant;
    /// let (_tx, rx) = weft::sync::mpsc::channel::<u8>();
    /// let mut sel = weft::sync::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.ready_deadline(Instant::now()).is_err());
    /// ```
    pub fn ready_deadline(&mut self, deadline: Instant) -> Result<usize, ReadyTimeoutError> {
        coop::proceed();
        select(&self.handles, Wait::Until(Some(deadline))).ok_or(ReadyTimeoutError)
    }

    /// The index of a receiver ready now, without waiting or yielding.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::channel::<u8>();
    /// let mut sel = weft::sync::Select::new();
    /// let i = sel.recv(&rx);
    /// assert!(sel.try_ready().is_err());
    /// drop(tx); // disconnection makes it ready
    /// assert_eq!(sel.try_ready(), Ok(i));
    /// ```
    pub fn try_ready(&mut self) -> Result<usize, TryReadyError> {
        select(&self.handles, Wait::No).ok_or(TryReadyError)
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("receivers", &self.handles.len())
            .finish()
    }
}

enum Wait {
    No,
    Until(Option<Instant>),
}

thread_local! {
    /// Where the next select starts looking (a cheap rotation, so no
    /// receiver is always preferred).
    static START: Cell<usize> = const { Cell::new(0) };
}

/// The index of a ready handle, waiting as `how` says.
fn select(handles: &[&dyn Selectable], how: Wait) -> Option<usize> {
    let n = handles.len();
    if n == 0 {
        return match how {
            Wait::Until(Some(deadline)) => {
                while !Weft::park_until(Some(deadline)) {}
                None
            }
            _ => None,
        };
    }
    let start = START.with(|s| {
        let start = s.get();
        s.set(start.wrapping_add(1));
        start % n
    });
    let order = || (0..n).map(move |k| (start + k) % n);
    if let Some(i) = order().find(|&i| handles[i].is_ready()) {
        return Some(i);
    }
    let Wait::Until(deadline) = how else {
        return None;
    };
    let waiter = Waiter::<Weft>::new();
    let _reason = crate::observe::waiting(crate::observe::WaitFor::Channel);
    let mut reg = Registrations {
        handles,
        tickets: vec![None; n],
    };
    loop {
        // On no list now: the reset cannot race with a waker.
        waiter.reset();
        for i in order() {
            // SAFETY: `waiter` lives in this frame, below `reg`, whose
            // drop (or `clear`) unregisters every ticket before it goes.
            match unsafe { handles[i].register(&waiter) } {
                Some(ticket) => reg.tickets[i] = Some(ticket),
                None => {
                    reg.clear();
                    return Some(i);
                }
            }
        }
        let timed_out = Weft::park_until(deadline);
        reg.clear();
        if timed_out {
            return order().find(|&i| handles[i].is_ready());
        }
    }
}

/// The registrations of one select; removes them all on every way out.
struct Registrations<'a, 'h> {
    handles: &'a [&'h dyn Selectable],
    tickets: Vec<Option<Ticket>>,
}

impl Registrations<'_, '_> {
    /// Leaves every list. Afterwards no waker can reach the waiter: each
    /// pop happens under a list's mutex, which `unregister` takes.
    fn clear(&mut self) {
        for (handle, ticket) in self.handles.iter().zip(&mut self.tickets) {
            if let Some(ticket) = ticket.take() {
                handle.unregister(ticket);
            }
        }
    }
}

impl Drop for Registrations<'_, '_> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// The receive of a `select!` arm whose receiver was found ready.
#[doc(hidden)]
pub fn __recv_ready<T>(rx: &Receiver<T>) -> Result<T, RecvError> {
    match rx.try_recv() {
        Ok(msg) => Ok(msg),
        Err(std::sync::mpsc::TryRecvError::Disconnected) => Err(RecvError),
        // Cannot happen (readiness persists, see the module docs); stay
        // correct anyway.
        Err(std::sync::mpsc::TryRecvError::Empty) => rx.recv(),
    }
}

/// Waits on several channel receivers at once, and optionally a
/// timeout, running the arm of the first one ready, as
/// crossbeam-channel's `select!`.
///
/// ```text
/// select! {
///     recv(rx1) -> msg => body,         // msg: Result<T, RecvError>
///     recv(rx2) -> msg => { block }
///     default(Duration) => body,        // optional, last: timeout
/// }
/// ```
///
/// An arm runs when its receiver has a message (`Ok(msg)`) or is
/// disconnected (`Err(RecvError)`). With `default => body` instead, the
/// select does not wait at all; with `default(timeout)` it waits at most
/// that long. When several are ready, the choice rotates. Bodies may
/// `break`, `continue` or `return` out of the enclosing code.
///
/// In a coroutine, waiting parks it; on a thread it blocks. A parking
/// point when it waits.
///
/// ```
/// use std::time::Duration;
/// use weft::sync::mpsc;
///
/// let (tx1, rx1) = mpsc::channel();
/// let (tx2, rx2) = mpsc::channel();
/// weft::spawn(move || tx1.send(1).unwrap());
/// weft::spawn(move || tx2.send("two").unwrap());
///
/// let mut got = Vec::new();
/// while got.len() < 2 {
///     weft::select! {
///         recv(rx1) -> msg => if let Ok(n) = msg { got.push(n.to_string()) },
///         recv(rx2) -> msg => if let Ok(s) = msg { got.push(s.to_string()) },
///         default(Duration::from_secs(5)) => panic!("timed out"),
///     }
/// }
/// got.sort();
/// assert_eq!(got, ["1", "two"]);
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__select_parse!([] $($tokens)*)
    };
}

/// Parses `select!` arms (a tt-muncher); not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // recv arm, block body, with or without a comma
    ([$($arms:tt)*] recv($rx:expr) -> $res:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!([$($arms)* (__rx, $rx, $res, $body)] $($rest)*)
    };
    ([$($arms:tt)*] recv($rx:expr) -> $res:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!([$($arms)* (__rx, $rx, $res, $body)] $($rest)*)
    };
    // recv arm, expression body
    ([$($arms:tt)*] recv($rx:expr) -> $res:pat => $body:expr, $($rest:tt)*) => {
        $crate::__select_parse!([$($arms)* (__rx, $rx, $res, { $body })] $($rest)*)
    };
    ([$($arms:tt)*] recv($rx:expr) -> $res:pat => $body:expr) => {
        $crate::__select_parse!([$($arms)* (__rx, $rx, $res, { $body })])
    };
    // default with a timeout, last
    ([$($arms:tt)*] default($timeout:expr) => $body:expr $(,)?) => {
        $crate::__select_run!([$($arms)*] [timeout $timeout] { $body })
    };
    // default without a timeout, last
    ([$($arms:tt)*] default => $body:expr $(,)?) => {
        $crate::__select_run!([$($arms)*] [now] { $body })
    };
    // no default
    ([$($arms:tt)*]) => {
        $crate::__select_run!([$($arms)*] [block] { ::std::unreachable!() })
    };
}

/// Expands parsed `select!` arms; not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_run {
    ([$(($r:ident, $rx:expr, $res:pat, $body:block))+] [$how:ident $($timeout:expr)?] { $($default:tt)* }) => {{
        // Each `__rx` was made by a different macro step, so they are
        // distinct variables (hygiene).
        $( let $r = &$rx; )+
        let mut __select = $crate::sync::Select::new();
        $( __select.recv($r); )+
        match $crate::__select_run!(@wait __select $how $($timeout)?) {
            ::std::option::Option::Some(__index) => {
                $crate::__select_run!(@dispatch __index, 0usize; $(($r, $res, $body))+)
            }
            ::std::option::Option::None => { $($default)* }
        }
    }};
    (@wait $sel:ident block) => {
        ::std::option::Option::Some($sel.ready())
    };
    (@wait $sel:ident now) => {
        $sel.try_ready().ok()
    };
    (@wait $sel:ident timeout $timeout:expr) => {
        $sel.ready_timeout($timeout).ok()
    };
    (@dispatch $index:ident, $k:expr; ($r:ident, $res:pat, $body:block) $($rest:tt)*) => {
        if $index == $k {
            let $res = $crate::sync::select::__recv_ready($r);
            $body
        } else {
            $crate::__select_run!(@dispatch $index, $k + 1usize; $($rest)*)
        }
    };
    (@dispatch $index:ident, $k:expr;) => {
        ::std::unreachable!("select! returned an index out of range")
    };
}
