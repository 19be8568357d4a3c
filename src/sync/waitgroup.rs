//! [`WaitGroup`]: crossbeam's wait group. Every clone is a member;
//! dropping a member marks it done; `wait` consumes one member and waits
//! until every other member is gone.

use std::fmt;
use std::sync::Arc;

use super::spin::{SpinGuard, SpinLock};
use super::waitlist::{Left, NOTIFIED, WaitFor, WaitList, Wakes, Weft, wait};
use crate::rt::coop;

/// Waits for a group of coroutines or threads to finish, in
/// crossbeam-utils' shape: hand each one a clone, and `wait` on the
/// original.
///
/// ```
/// use weft::sync::WaitGroup;
///
/// let wg = WaitGroup::new();
/// for _ in 0..4 {
///     let member = wg.clone();
///     weft::spawn(move || {
///         // ... work ...
///         drop(member);
///     });
/// }
/// wg.wait(); // returns once all four members are dropped
/// ```
pub struct WaitGroup {
    inner: Arc<Inner>,
}

struct Inner {
    state: SpinLock<State>,
}

struct State {
    members: usize,
    waiters: WaitList<Weft>,
}

impl Inner {
    fn lock(&self) -> SpinGuard<'_, State> {
        self.state.lock()
    }
}

impl WaitGroup {
    /// A group of one member, this one.
    ///
    /// ```
    /// weft::sync::WaitGroup::new().wait(); // no other member: returns at once
    /// ```
    pub fn new() -> WaitGroup {
        WaitGroup {
            inner: Arc::new(Inner {
                state: SpinLock::new(State {
                    members: 1,
                    waiters: WaitList::new(),
                }),
            }),
        }
    }

    /// Drops this member and waits until every other member is dropped.
    /// A parking point when it waits; counts against the fairness
    /// budget. A coroutine cancelled while waiting unwinds; the group
    /// is unaffected (its own membership was already given up).
    ///
    /// ```
    /// let wg = weft::sync::WaitGroup::new();
    /// let member = wg.clone();
    /// let h = weft::spawn(move || drop(member));
    /// wg.wait();
    /// h.join().unwrap();
    /// ```
    pub fn wait(self) {
        coop::proceed();
        let inner = self.inner.clone();
        drop(self);
        wait(&WaitOp { inner: &inner }, None);
    }
}

impl Default for WaitGroup {
    fn default() -> WaitGroup {
        WaitGroup::new()
    }
}

impl Clone for WaitGroup {
    fn clone(&self) -> WaitGroup {
        self.inner.lock().members += 1;
        WaitGroup {
            inner: self.inner.clone(),
        }
    }
}

impl Drop for WaitGroup {
    fn drop(&mut self) {
        let mut wakes = Wakes::new();
        {
            let mut state = self.inner.lock();
            state.members -= 1;
            if state.members == 0 {
                state.waiters.wake_all(NOTIFIED, &mut wakes);
            }
        }
        wakes.flush();
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members = self.inner.lock().members;
        f.debug_struct("WaitGroup")
            .field("members", &members)
            .finish()
    }
}

/// Waiting for the member count to reach zero.
struct WaitOp<'a> {
    inner: &'a Inner,
}

impl WaitFor for WaitOp<'_> {
    const REASON: crate::observe::WaitFor = crate::observe::WaitFor::Barrier;
    type Parker = Weft;
    type State = State;
    type Data = ();
    type Output = ();

    fn lock(&self) -> impl std::ops::DerefMut<Target = State> + '_ {
        self.inner.lock()
    }

    fn list<'s>(&self, state: &'s mut State) -> &'s mut WaitList<Weft> {
        &mut state.waiters
    }

    fn data(&self) {}

    fn poll(&self, state: &mut State, _: usize, _: &mut Wakes<Weft>) -> Option<()> {
        (state.members == 0).then_some(())
    }

    fn abandon(&self, _: &mut State, _: Left<()>, _: &mut Wakes<Weft>) {
        // Every waiter is woken at once (wake_all): nothing to pass on.
    }
}
