//! Multi-producer, single-consumer FIFO channels, with
//! [`std::sync::mpsc`]'s API and meaning; waiting parks a coroutine and
//! blocks a thread, so the two ends may live on either.
//!
//! - [`channel`]: unbounded; [`Sender::send`] never waits.
//! - [`sync_channel`]`(n)`: at most `n` queued messages;
//!   [`SyncSender::send`] waits for room. `sync_channel(0)` is a
//!   rendezvous: `send` returns once the receiver has taken the message.
//! - The channel disconnects when every sender is gone (the receiver
//!   drains what is queued, then gets [`RecvError`]) or when the receiver
//!   is gone (sends fail with the message in [`SendError`]; queued
//!   messages are dropped).
//!
//! The error types are std's own, so code matching on them does not
//! change. To wait on several receivers at once, see
//! [`select!`](crate::select) and [`Select`](crate::sync::Select).
//!
//! ```
//! use weft::sync::mpsc;
//!
//! let (tx, rx) = mpsc::channel();
//! for id in 0..3 {
//!     let tx = tx.clone();
//!     weft::spawn(move || tx.send(id).unwrap());
//! }
//! drop(tx);
//! let mut got: Vec<i32> = rx.iter().collect();
//! got.sort();
//! assert_eq!(got, [0, 1, 2]);
//! ```

pub(crate) mod chan;

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

use crate::rt::coop;
use crate::sync::waitlist::Weft;
use chan::Chan;

/// Creates an unbounded channel, like [`std::sync::mpsc::channel`].
///
/// ```
/// let (tx, rx) = weft::sync::mpsc::channel();
/// let h = weft::spawn(move || rx.recv().unwrap());
/// tx.send("hello").unwrap();
/// assert_eq!(h.join().unwrap(), "hello");
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(None));
    (Sender { chan: chan.clone() }, Receiver::new(chan))
}

/// Creates a channel that holds at most `bound` messages, like
/// [`std::sync::mpsc::sync_channel`]; `bound == 0` makes every send a
/// rendezvous with a receive.
///
/// ```
/// let (tx, rx) = weft::sync::mpsc::sync_channel(0);
/// let h = weft::spawn(move || tx.send(7).unwrap()); // waits for recv
/// assert_eq!(rx.recv().unwrap(), 7);
/// h.join().unwrap();
/// ```
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(Some(bound)));
    (SyncSender { chan: chan.clone() }, Receiver::new(chan))
}

/// The sending half of a [`channel`]; clone it for more producers.
///
/// ```
/// let (tx, rx) = weft::sync::mpsc::channel();
/// let tx2 = tx.clone();
/// tx.send(1).unwrap();
/// tx2.send(2).unwrap();
/// assert_eq!(rx.recv().unwrap() + rx.recv().unwrap(), 3);
/// ```
pub struct Sender<T> {
    chan: Arc<Chan<T, Weft>>,
}

impl<T> Sender<T> {
    /// Sends `t` without waiting. Fails, handing `t` back, only if the
    /// receiver is gone.
    ///
    /// Never switches coroutines: as std's, it never waits, so it never
    /// lets another coroutine of the worker run either (a `thread_local!`
    /// borrow held across it stays uncontended). It spends no fairness
    /// budget; a coroutine that only ever sends must yield on its own.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::channel();
    /// tx.send(1).unwrap();
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// ```
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        self.chan.send(t).expect("a wait without deadline finishes")
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.add_sender();
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// The sending half of a [`sync_channel`]; clone it for more producers.
///
/// ```
/// use weft::sync::mpsc::{sync_channel, TrySendError};
/// let (tx, rx) = sync_channel(1);
/// tx.send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// assert_eq!(rx.recv().unwrap(), 1);
/// ```
pub struct SyncSender<T> {
    chan: Arc<Chan<T, Weft>>,
}

impl<T> SyncSender<T> {
    /// Sends `t`, waiting while the channel is full; on a rendezvous
    /// channel, until the receiver has taken it. Fails, handing `t` back,
    /// if the receiver is gone (also while waiting).
    ///
    /// A parking point when it waits; counts against the fairness budget.
    /// A coroutine cancelled while waiting unwinds and its message is not
    /// sent (on a rendezvous channel: unless the receiver took it first).
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::sync_channel(1);
    /// let h = weft::spawn(move || {
    ///     for i in 0..3 {
    ///         tx.send(i).unwrap(); // waits while one is queued
    ///     }
    /// });
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// h.join().unwrap();
    /// ```
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        coop::proceed();
        self.chan.send(t).expect("a wait without deadline finishes")
    }

    /// Sends `t` if that needs no wait: [`TrySendError::Full`] if the
    /// channel is full (on a rendezvous channel: if the receiver is not
    /// waiting right now), [`TrySendError::Disconnected`] if the receiver
    /// is gone. Never yields.
    ///
    /// ```
    /// use weft::sync::mpsc::{sync_channel, TrySendError};
    /// let (tx, rx) = sync_channel(0);
    /// assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(1), Err(TrySendError::Disconnected(1)));
    /// ```
    pub fn try_send(&self, t: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(t)
    }
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> SyncSender<T> {
        self.chan.add_sender();
        SyncSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for SyncSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for SyncSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncSender").finish_non_exhaustive()
    }
}

/// The receiving half of a channel. There is one per channel: it is
/// `Send` but not `Sync`, as std's.
///
/// ```
/// let (tx, rx) = weft::sync::mpsc::channel();
/// weft::spawn(move || {
///     for i in 0..3 {
///         tx.send(i).unwrap();
///     }
/// });
/// assert_eq!(rx.iter().sum::<i32>(), 3);
/// ```
///
/// ```compile_fail
/// fn shared<T: Sync>(_: T) {}
/// let (_tx, rx) = weft::sync::mpsc::channel::<i32>();
/// shared(rx); // a Receiver cannot be shared between threads
/// ```
pub struct Receiver<T> {
    chan: Arc<Chan<T, Weft>>,
    _not_sync: PhantomData<Cell<()>>,
}

impl<T> Receiver<T> {
    fn new(chan: Arc<Chan<T, Weft>>) -> Receiver<T> {
        Receiver {
            chan,
            _not_sync: PhantomData,
        }
    }

    pub(crate) fn chan(&self) -> &Chan<T, Weft> {
        &self.chan
    }

    /// Takes the next message, waiting for one. Fails once the channel is
    /// empty and every sender is gone.
    ///
    /// A parking point when it waits; counts against the fairness budget.
    /// A coroutine cancelled while waiting unwinds; no message is lost.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::channel::<u8>();
    /// drop(tx);
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        coop::proceed();
        self.chan
            .recv(None)
            .expect("a wait without deadline finishes")
    }

    /// Takes the next message if one is queued. Never waits or yields.
    ///
    /// ```
    /// use weft::sync::mpsc::{channel, TryRecvError};
    /// let (tx, rx) = channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Like [`recv`](Self::recv), but gives up after `timeout` with
    /// [`RecvTimeoutError::Timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::sync::mpsc::{channel, RecvTimeoutError};
    /// let (tx, rx) = channel::<i32>();
    /// let r = rx.recv_timeout(Duration::from_millis(10));
    /// assert_eq!(r, Err(RecvTimeoutError::Timeout));
    /// # drop(tx);
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.recv_deadline(deadline),
            // Too far to count: wait as long as it takes.
            None => self.recv().map_err(|_| RecvTimeoutError::Disconnected),
        }
    }

    /// Like [`recv`](Self::recv), but gives up at `deadline`
    /// (unstable in std, stable here).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = weft::sync::mpsc::channel();
    /// tx.send(1).unwrap();
    /// let deadline = Instant::now() + Duration::from_millis(10);
    /// assert_eq!(rx.recv_deadline(deadline), Ok(1));
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        coop::proceed();
        match self.chan.recv(Some(deadline)) {
            Some(Ok(msg)) => Ok(msg),
            Some(Err(RecvError)) => Err(RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// An iterator that waits for each message and ends when the channel
    /// disconnects.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::channel();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the messages queued now; it never waits.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::mpsc::channel();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().count(), 2);
    /// assert_eq!(rx.try_iter().count(), 0);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.drop_receiver();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// Waiting iterator over a [`Receiver`]'s messages; see
/// [`Receiver::iter`].
///
/// ```
/// let (tx, rx) = weft::sync::mpsc::channel();
/// tx.send(5).unwrap();
/// drop(tx);
/// let mut it: weft::sync::mpsc::Iter<'_, i32> = rx.iter();
/// assert_eq!(it.next(), Some(5));
/// assert_eq!(it.next(), None);
/// ```
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// Non-waiting iterator over the messages queued now; see
/// [`Receiver::try_iter`].
///
/// ```
/// let (tx, rx) = weft::sync::mpsc::channel::<i32>();
/// let mut it: weft::sync::mpsc::TryIter<'_, i32> = rx.try_iter();
/// assert_eq!(it.next(), None);
/// # drop(tx);
/// ```
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// Owning waiting iterator, from `Receiver::into_iter`.
///
/// ```
/// let (tx, rx) = weft::sync::mpsc::channel();
/// weft::spawn(move || tx.send(3).unwrap());
/// let it: weft::sync::mpsc::IntoIter<i32> = rx.into_iter();
/// assert_eq!(it.collect::<Vec<_>>(), [3]);
/// ```
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}
