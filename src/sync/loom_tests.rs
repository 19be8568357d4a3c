//! `loom` models of the wait lists under the channel and the semaphore:
//! every interleaving of senders, receivers, acquirers and releasers, with
//! timeouts and cancellations, on loom's threads.
//!
//! The primitives' cores are generic over the [`Parker`]; here it is
//! [`LoomParker`], whose `park` is loom's and whose timed park times out
//! at once (a timer firing at the worst moment). A "cancelled" waiter
//! leaves its wait through the drop guard a cancelled coroutine unwinds
//! through ([`Parker::abandoned`]: loom cannot switch threads while one
//! unwinds), so the pass-on of unused wakes and grants is modelled too.
//!
//! Run with `RUSTFLAGS="--cfg weft_loom" cargo test --release --lib loom`.

use std::cell::RefCell;
use std::sync::mpsc::{RecvError, SendError, TryRecvError};
use std::time::Instant;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

use super::mpsc::chan::Chan;
use super::semaphore::SemCore;
use super::waitlist::Parker;

/// Parks loom threads, on a token of loom's own mutex and condvar per
/// thread. (loom's `unpark` would also wake a thread blocked on a mutex,
/// which a real unpark does not; the wait lists do unpark stale waiters.)
struct LoomParker;

/// One thread's park token.
struct Token {
    set: Mutex<bool>,
    cv: Condvar,
}

/// A cancel request for one waiter: the flag, and its park token.
struct Cancel {
    flag: AtomicBool,
    token: Mutex<Option<Arc<Token>>>,
}

impl Cancel {
    fn new() -> Arc<Cancel> {
        Arc::new(Cancel {
            flag: AtomicBool::new(false),
            token: Mutex::new(None),
        })
    }

    /// Cancels the waiter and wakes it, as `JoinHandle::cancel` does.
    fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Some(token) = self.token.lock().unwrap().clone() {
            LoomParker::unpark(&token);
        }
    }
}

loom::thread_local! {
    static TOKEN: Arc<Token> = Arc::new(Token { set: Mutex::new(false), cv: Condvar::new() });
    /// The cancel request of the current loom thread, if it can be cancelled.
    static CANCEL: RefCell<Option<Arc<Cancel>>> = RefCell::new(None);
}

impl Parker for LoomParker {
    type Unparker = Arc<Token>;
    type Handle = Arc<Token>;

    fn current() -> Arc<Token> {
        TOKEN.with(|t| t.clone())
    }

    /// A loom thread is woken after the unlock, always: the model checks
    /// the handoff every remote wake takes.
    fn claim(token: Arc<Token>) -> Option<Arc<Token>> {
        Some(token)
    }

    fn unpark(token: &Arc<Token>) {
        *token.set.lock().unwrap() = true;
        token.cv.notify_one();
    }

    fn park_until(deadline: Option<Instant>) -> bool {
        if deadline.is_some() {
            // The timer fires now.
            return true;
        }
        let token = Self::current();
        let mut set = token.set.lock().unwrap();
        while !*set {
            set = token.cv.wait(set).unwrap();
        }
        *set = false;
        false
    }

    fn abandoned() -> bool {
        // As weft's park: a cancelled waiter leaves once it runs again.
        CANCEL.with(|c| {
            c.borrow()
                .as_ref()
                .is_some_and(|c| c.flag.load(Ordering::SeqCst))
        })
    }
}

/// Makes the current loom thread cancellable through `cancel`.
fn cancellable(cancel: Arc<Cancel>) {
    *cancel.token.lock().unwrap() = Some(LoomParker::current());
    CANCEL.with(|c| *c.borrow_mut() = Some(cancel));
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(3);
    }
    builder.check(f);
}

type TestChan<T> = Chan<T, LoomParker>;

/// A send never leaves the receiver asleep, and the last sender's drop
/// wakes it for the disconnection.
#[test]
fn loom_channel_send_wakes_the_receiver() {
    model(|| {
        let chan = Arc::new(TestChan::new(None));
        let c = chan.clone();
        let sender = thread::spawn(move || c.send(1).unwrap().unwrap());
        // The sender is still connected: only its send can wake us.
        assert_eq!(chan.recv(None), Some(Ok(1)));
        sender.join().unwrap();
        let c = chan.clone();
        let dropper = thread::spawn(move || c.drop_sender());
        assert_eq!(chan.recv(None), Some(Err(RecvError)));
        dropper.join().unwrap();
    });
}

/// Two senders on a one-slot channel both get through: each receive
/// wakes the next blocked sender.
#[test]
fn loom_bounded_senders_wait_for_room() {
    model(|| {
        let chan = Arc::new(TestChan::new(Some(1)));
        chan.add_sender();
        let senders: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let c = chan.clone();
                thread::spawn(move || {
                    c.send(v).unwrap().unwrap();
                    c.drop_sender();
                })
            })
            .collect();
        let mut got = [chan.recv(None), chan.recv(None), chan.recv(None)];
        got[..2].sort_by_key(|r| *r.as_ref().unwrap().as_ref().unwrap());
        assert_eq!(got, [Some(Ok(1)), Some(Ok(2)), Some(Err(RecvError))]);
        for s in senders {
            s.join().unwrap();
        }
    });
}

/// A rendezvous send returns once the message is taken, or hands it
/// back when the receiver leaves first.
#[test]
fn loom_rendezvous_acks_or_returns_the_message() {
    model(|| {
        let chan = Arc::new(TestChan::new(Some(0)));
        let c = chan.clone();
        let sender = thread::spawn(move || c.send(7).unwrap());
        let got = chan.try_recv();
        chan.drop_receiver();
        match (got, sender.join().unwrap()) {
            (Ok(7), Ok(())) => {}
            (Err(TryRecvError::Empty), Err(SendError(7))) => {}
            other => panic!("{other:?}"),
        }
    });
}

/// Two rendezvous senders and a receiver that takes one message and
/// leaves: each send either was received or gets its own message back.
#[test]
fn loom_rendezvous_senders_keep_their_own_messages() {
    model(|| {
        let chan = Arc::new(TestChan::new(Some(0)));
        chan.add_sender();
        let senders: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let c = chan.clone();
                thread::spawn(move || (v, c.send(v).unwrap()))
            })
            .collect();
        let got = chan.recv(None).unwrap().unwrap();
        chan.drop_receiver();
        for s in senders {
            match s.join().unwrap() {
                (v, Ok(())) => assert_eq!(v, got),
                (v, Err(SendError(back))) => assert_eq!((v, back == got), (back, false)),
            }
        }
    });
}

/// A receive that times out while a message arrives either takes it or
/// leaves it queued: never lost.
#[test]
fn loom_channel_timeout_loses_no_message() {
    model(|| {
        let chan = Arc::new(TestChan::new(None));
        let c = chan.clone();
        let sender = thread::spawn(move || c.send(3).unwrap().unwrap());
        let first = chan.recv(Some(Instant::now()));
        sender.join().unwrap();
        match first {
            Some(Ok(3)) => assert_eq!(chan.try_recv(), Err(TryRecvError::Empty)),
            None => assert_eq!(chan.try_recv(), Ok(3)),
            other => panic!("{other:?}"),
        }
    });
}

/// A blocked sender that is cancelled after a receive woke it passes the
/// wake to the other blocked sender, whose message then arrives.
#[test]
fn loom_cancelled_sender_passes_its_wake_on() {
    model(|| {
        let chan = Arc::new(TestChan::new(Some(1)));
        chan.send(0).unwrap().unwrap();
        chan.add_sender();
        let cancel = Cancel::new();
        let (c, f) = (chan.clone(), cancel.clone());
        let a = thread::spawn(move || {
            cancellable(f);
            c.send(1).is_some()
        });
        let c = chan.clone();
        let b = thread::spawn(move || c.send(2).unwrap().unwrap());
        assert_eq!(chan.recv(None), Some(Ok(0)));
        cancel.cancel();
        let mut got = Vec::new();
        while !got.contains(&2) {
            got.push(chan.recv(None).unwrap().unwrap());
        }
        b.join().unwrap();
        let a_sent = a.join().unwrap();
        got.extend(chan.try_recv());
        assert_eq!(got.contains(&1), a_sent, "{got:?}");
    });
}

/// A receiver cancelled after a sender handed it a message puts the
/// message back: the next receive gets it.
#[test]
fn loom_cancelled_receiver_gives_a_handed_message_back() {
    model(|| {
        let chan = Arc::new(TestChan::new(None));
        let cancel = Cancel::new();
        let (c, f) = (chan.clone(), cancel.clone());
        let receiver = thread::spawn(move || {
            cancellable(f);
            c.recv(None)
        });
        chan.send(5).unwrap().unwrap();
        cancel.cancel();
        match receiver.join().unwrap() {
            Some(Ok(5)) => assert_eq!(chan.try_recv(), Err(TryRecvError::Empty)),
            None => assert_eq!(chan.try_recv(), Ok(5)),
            other => panic!("{other:?}"),
        }
    });
}

/// Permits are conserved whatever interleaves: a waiter that times out
/// after being granted keeps them (and gives them back), one that times
/// out before takes nothing.
#[test]
fn loom_semaphore_conserves_permits_across_timeouts() {
    model(|| {
        let sem = Arc::new(SemCore::<LoomParker>::new(1));
        let s = sem.clone();
        let holder = thread::spawn(move || {
            s.acquire(1, None);
            s.release(1);
        });
        if sem.acquire(1, Some(Instant::now())) {
            sem.release(1);
        }
        holder.join().unwrap();
        assert_eq!(sem.available(), 1);
    });
}

/// A waiter granted a permit and cancelled before it runs gives the
/// permit to the next waiter, which therefore does not wait forever.
#[test]
fn loom_cancelled_acquirer_passes_its_permit_on() {
    model(|| {
        let sem = Arc::new(SemCore::<LoomParker>::new(0));
        let cancel = Cancel::new();
        let (s, f) = (sem.clone(), cancel.clone());
        let a = thread::spawn(move || {
            cancellable(f);
            if s.acquire(1, None) {
                s.release(1);
            }
        });
        let s = sem.clone();
        let b = thread::spawn(move || {
            s.acquire(1, None);
            s.release(1);
        });
        sem.release(1);
        cancel.cancel();
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(sem.available(), 1);
    });
}

/// A grantee whose park returns spuriously (a stale unpark from
/// `Wakes::flush`, `Coroutine::unpark` or a timer: here its own, made
/// before it waits) reads its token without the lock and returns as soon
/// as it sees the grant, dropping its `Waiter`. The releaser must be done
/// with that waiter by then: it takes the unparker first and publishes
/// the token last (invariant 3 in arch/sync.md). With the two steps the
/// other way round, loom reports the releaser's take racing with the
/// waiter's drop.
#[test]
fn loom_spuriously_woken_grantee_returns_without_the_lock() {
    model(|| {
        let sem = Arc::new(SemCore::<LoomParker>::new(0));
        let s = sem.clone();
        let waiter = thread::spawn(move || {
            LoomParker::unpark(&LoomParker::current());
            assert!(s.acquire(1, None));
        });
        sem.release(1);
        waiter.join().unwrap();
        assert_eq!(sem.available(), 0);
    });
}

/// The same for a receiver handed a message on an unbounded channel: it
/// returns with the message on seeing `HANDED`, without the lock, after
/// a spurious wake.
#[test]
fn loom_spuriously_woken_receiver_takes_its_handed_message() {
    model(|| {
        let chan = Arc::new(TestChan::new(None));
        let c = chan.clone();
        let receiver = thread::spawn(move || {
            LoomParker::unpark(&LoomParker::current());
            c.recv(None)
        });
        chan.send(4).unwrap().unwrap();
        assert_eq!(receiver.join().unwrap(), Some(Ok(4)));
    });
}
