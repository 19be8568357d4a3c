//! Synchronization that parks coroutines: std's [`std::sync`] types with
//! the same names and meaning, plus [`Semaphore`], [`WaitGroup`],
//! [`oneshot`] and [`select!`](crate::select).
//!
//! Every primitive works between coroutines (waiting parks the coroutine,
//! its worker runs others), between plain threads (waiting blocks the
//! thread) and across the two, in both directions. Swap
//! `use std::sync::{...}` for `use weft::sync::{...}`: the names std has
//! are here, either weft's own parking version or, for types that never
//! wait ([`Arc`], [`atomic`], the lock results), std's own re-exported.
//!
//! - **Cancellation.** A coroutine cancelled while it waits unwinds out
//!   of the wait and leaves it cleanly: it takes no lock, permit or
//!   message with it, and a wake or grant it had been handed goes to the
//!   next waiter.
//! - **Which calls may switch coroutines.** Exactly the calls that can
//!   wait in std (or in their std-like meaning). They park when they
//!   must wait, and they also count against the running coroutine's
//!   fairness budget, yielding once in 128 calls even when they finish at
//!   once, so a coroutine whose channel is never empty cannot starve its
//!   neighbours:
//!   - `mpsc`: `Receiver::recv`, `recv_timeout`, `recv_deadline`, `iter`
//!     (its `next`); `SyncSender::send` (bounded and rendezvous);
//!     `oneshot::Receiver::recv*`; `Select::ready*`, `select!`;
//!   - `Mutex::lock`, `RwLock::read`, `RwLock::write`, `Condvar::wait*`,
//!     `Semaphore::acquire*`, `Barrier::wait`, `WaitGroup::wait`;
//!   - outside this module: socket I/O in blocking mode (`weft::net`),
//!     `weft::fs` calls, `join`, `sleep`, `yield_now`, `park`.
//!
//!   Calls that never wait in std **never switch**: an unbounded
//!   `Sender::send`, every `try_*` (`try_recv`, `try_send`, `try_lock`,
//!   `try_read`, `try_write`, `try_acquire`, `try_iter`), unlocks and
//!   guard drops, permit drops and `add_permits`, `notify_*`,
//!   `oneshot::Sender::send`, `WaitGroup` clones and drops, socket I/O
//!   on a socket set to non-blocking mode. Code may hold a
//!   `thread_local!` `RefCell` borrow across them, as with std, without
//!   another coroutine of the worker running meanwhile.
//! - [`Once`], [`OnceLock`] and [`LazyLock`] are weft's own, with std's
//!   API: a second caller parks while the first initialises, so an
//!   initialiser may park (sleep, read a file, wait on a channel) while
//!   other coroutines of its worker touch the same cell.
//!
//! ```
//! use weft::sync::{mpsc, Arc, Mutex};
//!
//! let total = Arc::new(Mutex::new(0));
//! let (tx, rx) = mpsc::channel();
//! for i in 1..=4 {
//!     let (total, tx) = (total.clone(), tx.clone());
//!     weft::spawn(move || {
//!         *total.lock().unwrap() += i;
//!         tx.send(()).unwrap();
//!     });
//! }
//! drop(tx);
//! assert_eq!(rx.iter().count(), 4);
//! assert_eq!(*total.lock().unwrap(), 10);
//! ```

mod barrier;
mod condvar;
mod lazy_lock;
pub mod mpsc;
mod mutex;
mod once;
mod once_lock;
pub mod oneshot;
mod poison;
mod raw_mutex;
mod raw_rwlock;
mod rwlock;
#[doc(hidden)]
pub mod select;
mod semaphore;
mod spin;
mod unwind;
mod waitgroup;
pub(crate) mod waitlist;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condvar::{Condvar, WaitTimeoutResult};
pub use lazy_lock::LazyLock;
pub use mutex::{Mutex, MutexGuard};
pub use once::{Once, OnceState};
pub use once_lock::OnceLock;
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use select::{ReadyTimeoutError, Select, TryReadyError};
pub use semaphore::{Semaphore, SemaphorePermit};
pub use waitgroup::WaitGroup;

pub use std::sync::{Arc, LockResult, PoisonError, TryLockError, TryLockResult, Weak, atomic};

#[cfg(all(test, weft_loom))]
mod loom_tests;
