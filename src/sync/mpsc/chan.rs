//! The shared core of an mpsc channel: a queue behind a mutex, and the
//! wait lists of the receiver and of blocked senders.
//!
//! One `Chan` serves all three flavours: unbounded (`cap: None`, a send
//! never waits), bounded (`Some(n)`, a send waits while `n` messages are
//! queued) and rendezvous (`Some(0)`). A rendezvous channel is a bounded
//! channel of one slot whose sender, after filling the slot, also waits
//! for its message to be taken (an "ack", counted by `received`); if the
//! receiver goes away first the sender takes the message back, so `send`
//! can return it in `SendError` as std's does.
//!
//! Wakes are notifications, not handoffs: a sender pushes and then wakes
//! the receiver, which looks at the queue again; a receive that frees a
//! slot wakes one blocked sender, which may find a newcomer took the slot
//! (it then re-queues at the front). A woken sender that leaves (cancel)
//! passes its wake on. The receiver never needs to pass anything on: it
//! is the only one ([`Receiver`](super::Receiver) is `!Sync`), and
//! messages stay in the queue until taken.
//!
//! Generic over the [`Parker`] so the loom tests can run it on loom
//! threads; weft's channels are `Chan<T, Weft>`.

use std::cell::{Cell, UnsafeCell};
use std::collections::VecDeque;
use std::sync::mpsc::{RecvError, SendError, TryRecvError, TrySendError};
use std::time::Instant;

use crate::sync::spin::ModelLock as Mutex;
use crate::sync::waitlist::{
    Left, NOTIFIED, Parker, Ticket, WaitFor, WaitList, Waiter, Wakes, wait,
};

/// A channel's shared core (see the module docs).
pub(crate) struct Chan<T, P: Parker> {
    state: Mutex<State<T, P>>,
    /// `None`: unbounded; `Some(0)`: rendezvous.
    cap: Option<usize>,
}

pub(crate) struct State<T, P: Parker> {
    queue: VecDeque<T>,
    /// Live `Sender`s and `SyncSender`s.
    senders: usize,
    /// Whether the `Receiver` is alive.
    receiver: bool,
    /// Messages ever queued; a message's ticket is `sent` at its push.
    sent: u64,
    /// Messages ever taken: message `t` was taken once `received > t`.
    received: u64,
    /// Rendezvous: the message in the slot belongs to a sender blocked
    /// until it is taken (the receiver's drop must leave it to that
    /// sender). Set by that sender's push, cleared when the message is
    /// taken or taken back, so it never outlives the message.
    owner_waiting: bool,
    /// The receiver (or a `select!` on it), with the slot a sender may
    /// hand a message into.
    recv_waiters: WaitList<P, SlotPtr<T>>,
    send_waiters: WaitList<P>,
    ack_waiters: WaitList<P>,
}

impl<T, P: Parker> Chan<T, P> {
    /// A channel with one sender and its receiver.
    pub(crate) fn new(cap: Option<usize>) -> Chan<T, P> {
        Chan {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                senders: 1,
                receiver: true,
                sent: 0,
                received: 0,
                owner_waiting: false,
                recv_waiters: WaitList::new(),
                send_waiters: WaitList::new(),
                ack_waiters: WaitList::new(),
            }),
            cap,
        }
    }

    #[inline]
    fn lock(&self) -> impl std::ops::DerefMut<Target = State<T, P>> + '_ {
        self.state.lock()
    }

    /// How many messages may be queued before a send waits.
    #[inline]
    fn slots(&self) -> usize {
        match self.cap {
            None => usize::MAX,
            Some(cap) => cap.max(1),
        }
    }

    /// A sender was cloned.
    pub(crate) fn add_sender(&self) {
        self.lock().senders += 1;
    }

    /// A sender was dropped; the last one disconnects the receiver.
    pub(crate) fn drop_sender(&self) {
        let mut wakes = Wakes::new();
        {
            let mut state = self.lock();
            state.senders -= 1;
            if state.senders == 0 {
                state.recv_waiters.wake_all(NOTIFIED, &mut wakes);
            }
        }
        wakes.flush();
    }

    /// The receiver was dropped: queued messages are dropped (except a
    /// rendezvous message its blocked sender will take back) and blocked
    /// senders fail.
    pub(crate) fn drop_receiver(&self) {
        let mut wakes = Wakes::new();
        let discarded = {
            let mut state = self.lock();
            state.receiver = false;
            let discarded = if state.owner_waiting {
                state.queue.split_off(1)
            } else {
                std::mem::take(&mut state.queue)
            };
            state.send_waiters.wake_all(NOTIFIED, &mut wakes);
            state.ack_waiters.wake_all(NOTIFIED, &mut wakes);
            discarded
        };
        wakes.flush();
        // User destructors run outside the lock.
        drop(discarded);
    }

    /// Takes a message if one is queued.
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut wakes = Wakes::new();
        let result = {
            let mut state = self.lock();
            match self.take(&mut state, &mut wakes) {
                Some(msg) => Ok(msg),
                None if state.senders == 0 => Err(TryRecvError::Disconnected),
                None => Err(TryRecvError::Empty),
            }
        };
        wakes.flush();
        result
    }

    /// Waits for a message until `deadline`: `None` if it passed,
    /// `Some(Err)` once the channel is empty and every sender is gone.
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Option<Result<T, RecvError>> {
        let op = RecvOp {
            chan: self,
            slot: UnsafeCell::new(None),
        };
        wait(&op, deadline)
    }

    /// Pops the first message and wakes whoever its departure lets on.
    fn take(&self, state: &mut State<T, P>, wakes: &mut Wakes<P>) -> Option<T> {
        let msg = state.queue.pop_front()?;
        state.received += 1;
        if self.cap.is_some() {
            state.send_waiters.wake_front(NOTIFIED, wakes);
            if self.cap == Some(0) {
                // The slot's message is delivered: its sender owns
                // nothing in the queue any more.
                state.owner_waiting = false;
                state.ack_waiters.wake_all(NOTIFIED, wakes);
            }
        }
        Some(msg)
    }

    /// Queues `msg`, waiting for room (and on a rendezvous channel for it
    /// to be taken). `Err` gives it back if the receiver is gone. `None`
    /// if the wait was abandoned (only in the loom model; a weft
    /// coroutine unwinds instead).
    pub(crate) fn send(&self, msg: T) -> Option<Result<(), SendError<T>>> {
        if self.cap.is_none() {
            return Some(self.send_unbounded(msg));
        }
        let op = SendOp {
            chan: self,
            msg: Cell::new(Some(msg)),
        };
        let ticket = match wait(&op, None)? {
            Ok(ticket) => ticket,
            Err(e) => return Some(Err(e)),
        };
        if self.cap != Some(0) {
            return Some(Ok(()));
        }
        let ack = AckOp {
            chan: self,
            ticket,
            retracted: Cell::new(None),
        };
        wait(&ack, None)
    }

    fn send_unbounded(&self, msg: T) -> Result<(), SendError<T>> {
        let mut wakes = Wakes::new();
        {
            let mut state = self.lock();
            if !state.receiver {
                return Err(SendError(msg));
            }
            state.sent += 1;
            // The receiver waits on an empty queue: hand the message
            // straight to it, so it need not take the lock again.
            if state.queue.is_empty()
                && let Some(&slot) = state.recv_waiters.front_unshared_data()
            {
                // Soundness: the slot belongs to the waiting receive's
                // op, alive while its waiter is listed (and it is);
                // the receiver reads it only after seeing `HANDED`,
                // stored below after this write, or under this lock.
                // SAFETY: by the soundness argument just above.
                unsafe { *slot.0 = Some(msg) };
                state.received += 1;
                state.recv_waiters.wake_front(HANDED, &mut wakes);
                drop(state);
                wakes.flush();
                return Ok(());
            }
            state.queue.push_back(msg);
            state.recv_waiters.wake_front(NOTIFIED, &mut wakes);
        }
        wakes.flush();
        Ok(())
    }

    /// Queues `msg` if that needs no wait. On a rendezvous channel that
    /// means the receiver is waiting right now.
    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        let mut wakes = Wakes::new();
        {
            let mut state = self.lock();
            if !state.receiver {
                return Err(TrySendError::Disconnected(msg));
            }
            let room = match self.cap {
                None => true,
                Some(0) => state.queue.is_empty() && !state.recv_waiters.is_empty(),
                Some(cap) => state.queue.len() < cap,
            };
            if !room {
                return Err(TrySendError::Full(msg));
            }
            state.queue.push_back(msg);
            state.sent += 1;
            state.recv_waiters.wake_front(NOTIFIED, &mut wakes);
        }
        wakes.flush();
        Ok(())
    }

    /// Whether a receive would finish at once (a message, or
    /// disconnection).
    pub(crate) fn is_ready(&self) -> bool {
        let state = self.lock();
        !state.queue.is_empty() || state.senders == 0
    }

    /// `select!`: returns `None` if ready, or registers `waiter` on the
    /// receiver's list.
    ///
    /// # Safety
    /// As [`WaitList::push_back`]: `waiter` stays put and alive until
    /// [`unregister`](Self::unregister) has been called with the ticket.
    pub(crate) unsafe fn register(&self, waiter: &Waiter<P>) -> Option<Ticket> {
        let mut state = self.lock();
        if !state.queue.is_empty() || state.senders == 0 {
            return None;
        }
        // SAFETY: forwarded to our caller.
        Some(unsafe { state.recv_waiters.push_back_shared(waiter, SlotPtr::NONE) })
    }

    /// `select!`: removes a registration (a no-op if a sender popped it).
    pub(crate) fn unregister(&self, ticket: Ticket) {
        self.lock().recv_waiters.remove(ticket);
    }
}

/// Where a sender may hand a message to the waiting receiver: the slot
/// of its [`RecvOp`], or none (a `select!` waiter).
pub(crate) struct SlotPtr<T>(*mut Option<T>);

impl<T> SlotPtr<T> {
    const NONE: SlotPtr<T> = SlotPtr(std::ptr::null_mut());
}

impl<T> Clone for SlotPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SlotPtr<T> {}

// SAFETY: the pointer moves a `T` between threads (a sender writes, the
// receiver takes), which `T: Send` allows; when it is dereferenced is the
// handoff protocol's business (see `send_unbounded`).
unsafe impl<T: Send> Send for SlotPtr<T> {}

/// Waker token: a message was put in your slot (unbounded channels).
const HANDED: usize = 2;

/// The receiver waiting for a message or the end of the channel.
struct RecvOp<'a, T, P: Parker> {
    chan: &'a Chan<T, P>,
    /// A message a sender handed over directly (token `HANDED`).
    slot: UnsafeCell<Option<T>>,
}

impl<T, P: Parker> RecvOp<'_, T, P> {
    /// Takes the handed message. Only after seeing `HANDED`.
    fn take_handed(&self) -> T {
        // Soundness: the sender wrote the slot before storing `HANDED`, and
        // never touches it after; we saw the token (Acquire), and we are
        // the op's only user.
        // SAFETY: by the soundness argument just above.
        unsafe { (*self.slot.get()).take() }.expect("a handed message is in the slot")
    }
}

impl<T, P: Parker> WaitFor for RecvOp<'_, T, P> {
    const REASON: crate::observe::WaitFor = crate::observe::WaitFor::Channel;
    type Parker = P;
    type State = State<T, P>;
    type Data = SlotPtr<T>;
    type Output = Result<T, RecvError>;

    fn lock(&self) -> impl std::ops::DerefMut<Target = State<T, P>> + '_ {
        self.chan.lock()
    }

    fn list<'s>(&self, state: &'s mut State<T, P>) -> &'s mut WaitList<P, SlotPtr<T>> {
        &mut state.recv_waiters
    }

    fn data(&self) -> SlotPtr<T> {
        SlotPtr(self.slot.get())
    }

    fn handed(&self, token: usize) -> Option<Result<T, RecvError>> {
        (token == HANDED).then(|| Ok(self.take_handed()))
    }

    fn poll(
        &self,
        state: &mut State<T, P>,
        token: usize,
        wakes: &mut Wakes<P>,
    ) -> Option<Result<T, RecvError>> {
        if token == HANDED {
            return Some(Ok(self.take_handed()));
        }
        match self.chan.take(state, wakes) {
            Some(msg) => Some(Ok(msg)),
            None if state.senders == 0 => Some(Err(RecvError)),
            None => None,
        }
    }

    fn abandon(&self, state: &mut State<T, P>, left: Left<SlotPtr<T>>, _: &mut Wakes<P>) {
        // The only receiver leaves. A message that woke it stays queued;
        // one handed to it goes back to the front, where it came from.
        if let Left::Woken(HANDED) = left {
            state.received -= 1;
            state.queue.push_front(self.take_handed());
        }
    }
}

/// A sender of a bounded channel waiting for room.
struct SendOp<'a, T, P: Parker> {
    chan: &'a Chan<T, P>,
    msg: Cell<Option<T>>,
}

impl<T, P: Parker> WaitFor for SendOp<'_, T, P> {
    const REASON: crate::observe::WaitFor = crate::observe::WaitFor::Channel;
    type Parker = P;
    type State = State<T, P>;
    type Data = ();
    /// The queued message's ticket.
    type Output = Result<u64, SendError<T>>;

    fn lock(&self) -> impl std::ops::DerefMut<Target = State<T, P>> + '_ {
        self.chan.lock()
    }

    fn list<'s>(&self, state: &'s mut State<T, P>) -> &'s mut WaitList<P> {
        &mut state.send_waiters
    }

    fn data(&self) {}

    fn poll(
        &self,
        state: &mut State<T, P>,
        _token: usize,
        wakes: &mut Wakes<P>,
    ) -> Option<Result<u64, SendError<T>>> {
        let msg = || self.msg.take().expect("polled after the message left");
        if !state.receiver {
            return Some(Err(SendError(msg())));
        }
        if state.queue.len() >= self.chan.slots() {
            return None;
        }
        state.queue.push_back(msg());
        let ticket = state.sent;
        state.sent += 1;
        if self.chan.cap == Some(0) {
            state.owner_waiting = true;
        }
        state.recv_waiters.wake_front(NOTIFIED, wakes);
        Some(Ok(ticket))
    }

    fn abandon(&self, state: &mut State<T, P>, left: Left<()>, wakes: &mut Wakes<P>) {
        // Woken for a slot we will not use: the next sender may.
        if let Left::Woken(_) = left
            && state.queue.len() < self.chan.slots()
        {
            state.send_waiters.wake_front(NOTIFIED, wakes);
        }
    }
}

/// A rendezvous sender waiting for its message (ticket) to be taken.
struct AckOp<'a, T, P: Parker> {
    chan: &'a Chan<T, P>,
    ticket: u64,
    /// The message, taken back by a cancelled sender, dropped with the op
    /// after the lock is released.
    retracted: Cell<Option<T>>,
}

impl<T, P: Parker> AckOp<'_, T, P> {
    /// Takes our message back out of the slot. It is the last one
    /// pushed (the slot holds one message), so un-counting it keeps the
    /// tickets of later messages in step with `received`.
    fn retract(&self, state: &mut State<T, P>) -> T {
        debug_assert_eq!(state.sent, self.ticket + 1);
        state.sent -= 1;
        state.owner_waiting = false;
        state
            .queue
            .pop_front()
            .expect("an untaken message is in the slot")
    }
}

impl<T, P: Parker> WaitFor for AckOp<'_, T, P> {
    const REASON: crate::observe::WaitFor = crate::observe::WaitFor::Channel;
    type Parker = P;
    type State = State<T, P>;
    type Data = ();
    type Output = Result<(), SendError<T>>;

    fn lock(&self) -> impl std::ops::DerefMut<Target = State<T, P>> + '_ {
        self.chan.lock()
    }

    fn list<'s>(&self, state: &'s mut State<T, P>) -> &'s mut WaitList<P> {
        &mut state.ack_waiters
    }

    fn data(&self) {}

    fn poll(
        &self,
        state: &mut State<T, P>,
        _token: usize,
        _wakes: &mut Wakes<P>,
    ) -> Option<Result<(), SendError<T>>> {
        if state.received > self.ticket {
            Some(Ok(()))
        } else if !state.receiver {
            Some(Err(SendError(self.retract(state))))
        } else {
            None
        }
    }

    fn abandon(&self, state: &mut State<T, P>, _: Left<()>, wakes: &mut Wakes<P>) {
        if state.received > self.ticket {
            // Delivered before we left; `owner_waiting` may already be
            // another sender's.
        } else {
            // Never delivered: take it back and free the slot.
            self.retracted.set(Some(self.retract(state)));
            state.send_waiters.wake_front(NOTIFIED, wakes);
        }
    }
}
