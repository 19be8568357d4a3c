//! [`Barrier`]: std's barrier; waiting parks a coroutine (blocks a
//! thread). A coroutine cancelled while waiting withdraws its arrival, so
//! the barrier still needs `n` live participants to open.

use std::cell::Cell;
use std::fmt;

use super::spin::SpinLock;
use super::waitlist::{Left, NOTIFIED, WaitFor, WaitList, Wakes, Weft, wait};
use crate::rt::coop;

/// Lets `n` participants wait until all of them have arrived, like
/// [`std::sync::Barrier`]; reusable, one generation after another.
///
/// ```
/// use weft::sync::{Arc, Barrier};
///
/// let barrier = Arc::new(Barrier::new(3));
/// let handles: Vec<_> = (0..3)
///     .map(|_| {
///         let b = barrier.clone();
///         weft::spawn(move || b.wait().is_leader())
///     })
///     .collect();
/// let leaders = handles
///     .into_iter()
///     .map(|h| h.join().unwrap())
///     .filter(|&leader| leader)
///     .count();
/// assert_eq!(leaders, 1);
/// ```
pub struct Barrier {
    n: usize,
    state: SpinLock<State>,
}

struct State {
    arrived: usize,
    generation: u64,
    waiters: WaitList<Weft>,
}

/// What [`Barrier::wait`] returns: one participant per generation is the
/// leader.
///
/// ```
/// let b = weft::sync::Barrier::new(1);
/// let r: weft::sync::BarrierWaitResult = b.wait();
/// assert!(r.is_leader());
/// ```
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this participant arrived last (exactly one per
    /// generation).
    ///
    /// ```
    /// assert!(weft::sync::Barrier::new(1).wait().is_leader());
    /// ```
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl fmt::Debug for BarrierWaitResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWaitResult")
            .field("is_leader", &self.0)
            .finish()
    }
}

impl Barrier {
    /// A barrier for `n` participants (`0` counts as `1`); usable in a
    /// `static`.
    ///
    /// ```
    /// static B: weft::sync::Barrier = weft::sync::Barrier::new(1);
    /// assert!(B.wait().is_leader());
    /// ```
    pub const fn new(n: usize) -> Barrier {
        Barrier {
            n,
            state: SpinLock::new(State {
                arrived: 0,
                generation: 0,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Waits until `n` participants (this one included) have called
    /// `wait`. A parking point when it waits; counts against the
    /// fairness budget.
    ///
    /// ```
    /// use weft::sync::{Arc, Barrier};
    /// let b = Arc::new(Barrier::new(2));
    /// let b2 = b.clone();
    /// let h = weft::spawn(move || b2.wait().is_leader());
    /// let me = b.wait().is_leader();
    /// assert!(me ^ h.join().unwrap());
    /// ```
    pub fn wait(&self) -> BarrierWaitResult {
        coop::proceed();
        let op = WaitOp {
            barrier: self,
            generation: Cell::new(None),
        };
        let leader = wait(&op, None).expect("a wait without deadline finishes");
        BarrierWaitResult(leader)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").finish_non_exhaustive()
    }
}

/// A participant: arrives at its first poll, then waits for its
/// generation to end.
struct WaitOp<'a> {
    barrier: &'a Barrier,
    /// The generation we arrived in.
    generation: Cell<Option<u64>>,
}

impl WaitFor for WaitOp<'_> {
    const REASON: crate::observe::WaitFor = crate::observe::WaitFor::Barrier;
    type Parker = Weft;
    type State = State;
    type Data = ();
    /// Whether we are the leader.
    type Output = bool;

    fn lock(&self) -> impl std::ops::DerefMut<Target = State> + '_ {
        self.barrier.state.lock()
    }

    fn list<'s>(&self, state: &'s mut State) -> &'s mut WaitList<Weft> {
        &mut state.waiters
    }

    fn data(&self) {}

    fn poll(&self, state: &mut State, _: usize, wakes: &mut Wakes<Weft>) -> Option<bool> {
        match self.generation.get() {
            Some(generation) => (state.generation != generation).then_some(false),
            None if state.arrived + 1 >= self.barrier.n => {
                state.arrived = 0;
                state.generation += 1;
                state.waiters.wake_all(NOTIFIED, wakes);
                Some(true)
            }
            None => {
                state.arrived += 1;
                self.generation.set(Some(state.generation));
                None
            }
        }
    }

    fn abandon(&self, state: &mut State, _: Left<()>, _: &mut Wakes<Weft>) {
        // Still in our generation: withdraw. Otherwise it opened (we were
        // woken for that) and there is nothing to undo.
        if self.generation.get() == Some(state.generation) {
            state.arrived -= 1;
        }
    }
}
