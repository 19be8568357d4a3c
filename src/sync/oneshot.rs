//! A channel for exactly one value: [`channel`] returns a [`Sender`]
//! whose `send` consumes it and a [`Receiver`] that waits for the value.
//! Receiving parks a coroutine (blocks a thread); sending never waits.
//!
//! The errors are mpsc's ([`RecvError`], [`TryRecvError`],
//! [`RecvTimeoutError`]): "disconnected" means the sender was dropped
//! without sending (or the value was already taken).
//!
//! ```
//! use weft::sync::oneshot;
//!
//! let (tx, rx) = oneshot::channel();
//! weft::spawn(move || tx.send(6 * 7).unwrap());
//! assert_eq!(rx.recv(), Ok(42));
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::mpsc::{RecvError, RecvTimeoutError, TryRecvError};
use super::spin::{SpinGuard, SpinLock};
use super::waitlist::{Left, NOTIFIED, WaitFor, WaitList, Wakes, Weft, wait};
use crate::rt::coop;

/// Creates a one-value channel.
///
/// ```
/// let (tx, rx) = weft::sync::oneshot::channel::<&str>();
/// drop(tx);
/// assert!(rx.recv().is_err());
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: SpinLock::new(State {
            value: None,
            sender: true,
            receiver: true,
            waiters: WaitList::new(),
        }),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner },
    )
}

struct Inner<T> {
    state: SpinLock<State<T>>,
}

struct State<T> {
    value: Option<T>,
    /// The sender may still send.
    sender: bool,
    receiver: bool,
    waiters: WaitList<Weft>,
}

impl<T> Inner<T> {
    fn lock(&self) -> SpinGuard<'_, State<T>> {
        self.state.lock()
    }

    /// The sender is done (sent or dropped): wake the receiver.
    fn close_sender(&self, value: Option<T>) -> Result<(), T> {
        let mut wakes = Wakes::new();
        {
            let mut state = self.lock();
            state.sender = false;
            if let Some(value) = value {
                if !state.receiver {
                    return Err(value);
                }
                state.value = Some(value);
            }
            state.waiters.wake_all(NOTIFIED, &mut wakes);
        }
        wakes.flush();
        Ok(())
    }

    fn take(state: &mut State<T>) -> Result<T, TryRecvError> {
        match state.value.take() {
            Some(value) => Ok(value),
            None if state.sender => Err(TryRecvError::Empty),
            None => Err(TryRecvError::Disconnected),
        }
    }
}

/// The sending half: [`send`](Self::send) once, or drop to disconnect.
///
/// ```
/// let (tx, rx) = weft::sync::oneshot::channel();
/// tx.send(String::from("done")).unwrap();
/// assert_eq!(rx.recv().unwrap(), "done");
/// ```
pub struct Sender<T> {
    /// `None` once sent.
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends the value; `Err(value)` if the receiver is gone. Never
    /// waits.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send(5), Err(5));
    /// ```
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("a sender sends once");
        inner.close_sender(Some(value))
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let _ = inner.close_sender(None);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

/// The receiving half.
///
/// ```
/// use weft::sync::{mpsc::TryRecvError, oneshot};
/// let (tx, mut rx) = oneshot::channel();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// tx.send(1).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Receiver<T> {
    /// Waits for the value; `Err` if the sender was dropped without
    /// sending. A parking point when it waits; counts against the
    /// fairness budget. A coroutine cancelled while waiting unwinds, and
    /// a value sent meanwhile is dropped with the receiver.
    ///
    /// ```
    /// let (tx, rx) = weft::sync::oneshot::channel();
    /// let h = weft::spawn(move || rx.recv());
    /// tx.send('x').unwrap();
    /// assert_eq!(h.join().unwrap(), Ok('x'));
    /// ```
    pub fn recv(self) -> Result<T, RecvError> {
        coop::proceed();
        wait(&RecvOp { inner: &self.inner }, None).expect("a wait without deadline finishes")
    }

    /// Like [`recv`](Self::recv), but gives up after `timeout`; the
    /// receiver stays usable. Takes `&self` (not `self`) so a timed-out
    /// receiver can wait again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft::sync::mpsc::RecvTimeoutError;
    /// let (tx, rx) = weft::sync::oneshot::channel::<u8>();
    /// let r = rx.recv_timeout(Duration::from_millis(5));
    /// assert_eq!(r, Err(RecvTimeoutError::Timeout));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Ok(1));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        coop::proceed();
        let deadline = Instant::now().checked_add(timeout);
        match wait(&RecvOp { inner: &self.inner }, deadline) {
            Some(Ok(value)) => Ok(value),
            Some(Err(RecvError)) => Err(RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// Takes the value if it was sent; never waits or yields. After the
    /// value was taken, reports `Disconnected`.
    ///
    /// ```
    /// use weft::sync::{mpsc::TryRecvError, oneshot};
    /// let (tx, mut rx) = oneshot::channel::<u8>();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        Inner::take(&mut self.inner.lock())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let value = {
            let mut state = self.inner.lock();
            state.receiver = false;
            state.value.take()
        };
        // The value's destructor runs outside the lock.
        drop(value);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

/// The receiver waiting for the value or the sender's drop.
struct RecvOp<'a, T> {
    inner: &'a Inner<T>,
}

impl<T> WaitFor for RecvOp<'_, T> {
    const REASON: crate::observe::WaitFor = crate::observe::WaitFor::Channel;
    type Parker = Weft;
    type State = State<T>;
    type Data = ();
    type Output = Result<T, RecvError>;

    fn lock(&self) -> impl std::ops::DerefMut<Target = State<T>> + '_ {
        self.inner.lock()
    }

    fn list<'s>(&self, state: &'s mut State<T>) -> &'s mut WaitList<Weft> {
        &mut state.waiters
    }

    fn data(&self) {}

    fn poll(&self, state: &mut State<T>, _: usize, _: &mut Wakes<Weft>) -> Option<Self::Output> {
        match Inner::take(state) {
            Ok(value) => Some(Ok(value)),
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        }
    }

    fn abandon(&self, _: &mut State<T>, _: Left<()>, _: &mut Wakes<Weft>) {
        // One receiver: the value, if any, stays for a later try.
    }
}
