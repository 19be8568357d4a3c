//! Which primitives are [`UnwindSafe`] and [`RefUnwindSafe`], as std's
//! are, so that `catch_unwind(|| m.lock())` compiles as it does with
//! std.
//!
//! The auto traits do not find these by themselves: every primitive keeps
//! its state in an `UnsafeCell` (behind the spin lock, or the data of a
//! lock), which is not `RefUnwindSafe`. The claim holds because a panic
//! cannot leave that state half-updated: the internal critical sections
//! run no user code, and what user code does change (the data of a
//! `Mutex` or `RwLock`) is guarded by poisoning, as in std. `Once`,
//! `OnceLock` and `LazyLock` state theirs beside their definitions.

use std::panic::{RefUnwindSafe, UnwindSafe};

use super::{Barrier, Condvar, Mutex, RwLock, Semaphore, WaitGroup, mpsc, oneshot};

impl<T: ?Sized> UnwindSafe for Mutex<T> {}
impl<T: ?Sized> RefUnwindSafe for Mutex<T> {}
impl<T: ?Sized> UnwindSafe for RwLock<T> {}
impl<T: ?Sized> RefUnwindSafe for RwLock<T> {}
impl UnwindSafe for Condvar {}
impl RefUnwindSafe for Condvar {}
impl UnwindSafe for Barrier {}
impl RefUnwindSafe for Barrier {}
impl UnwindSafe for Semaphore {}
impl RefUnwindSafe for Semaphore {}
impl UnwindSafe for WaitGroup {}
impl RefUnwindSafe for WaitGroup {}
impl<T> UnwindSafe for mpsc::Sender<T> {}
impl<T> RefUnwindSafe for mpsc::Sender<T> {}
impl<T> UnwindSafe for mpsc::SyncSender<T> {}
impl<T> RefUnwindSafe for mpsc::SyncSender<T> {}
impl<T> UnwindSafe for mpsc::Receiver<T> {}
impl<T> RefUnwindSafe for mpsc::Receiver<T> {}
impl<T> UnwindSafe for oneshot::Sender<T> {}
impl<T> RefUnwindSafe for oneshot::Sender<T> {}
impl<T> UnwindSafe for oneshot::Receiver<T> {}
impl<T> RefUnwindSafe for oneshot::Receiver<T> {}
