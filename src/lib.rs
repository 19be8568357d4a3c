//! # weft: stackful green threads with std's API
//!
//! weft runs plain sequential Rust code as coroutines on small pooled
//! stacks, many per OS thread, with one worker thread per core. Spawn is
//! go-style, joining is `std::thread`'s, and sockets look exactly like
//! `std::net`'s but park the calling coroutine (not the thread) until the
//! socket is ready. Swap `std::` for `weft::` in a `use` line and the code
//! compiles and means the same thing, while ten thousand connections cost
//! ten thousand small stacks instead of ten thousand threads.
//!
//! ```
//! use std::time::Duration;
//!
//! weft::run(|| {
//!     let handles: Vec<_> = (0..1000)
//!         .map(|i| weft::spawn(move || {
//!             weft::sleep(Duration::from_millis(10)); // parks, does not block
//!             i
//!         }))
//!         .collect();
//!     let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
//!     assert_eq!(sum, 999 * 1000 / 2);
//! });
//! ```
//!
//! ## Coroutines and threads
//!
//! - [`spawn`] / [`go!`] start a coroutine; [`JoinHandle::join`] waits for
//!   it (parking a coroutine, blocking a thread). A panic is caught and
//!   returned by `join`; the worker goes on.
//! - [`JoinHandle::cancel`] makes a coroutine unwind from its next parking
//!   point; `join` then returns `Err` with a [`Cancelled`] payload.
//! - [`yield_now`], [`sleep`], [`park`] and every blocking-looking weft call
//!   park the coroutine; called outside a coroutine they block the thread,
//!   so the same code runs on plain threads too.
//! - A started coroutine never moves to another OS thread: its stack may
//!   hold `!Send` values and `thread_local!` borrows across a parking point.
//!   `thread_local!` inside a coroutine is therefore the *worker thread's*
//!   value, shared by the coroutines of that worker.
//! - Another coroutine of the worker runs only while this one is inside a
//!   call that can wait in std (a receive, a lock, blocking socket I/O,
//!   `join`, `sleep`, ...): such calls park when they must wait and yield
//!   once in a while even when they need not (the fairness budget). Calls
//!   that never wait in std (an unbounded `send`, `try_*`, unlocks,
//!   non-blocking socket I/O) never switch, so a `thread_local!` borrow
//!   held across them is as safe as with std. [`sync`] lists them.
//!
//! [`thread`] is the same API in `std::thread`'s exact shape (`Thread`,
//! `ThreadId`, `park_timeout`, `scope`), for code that swaps
//! `use std::thread;` for `use weft::thread;`.
//!
//! ## Unmodified std code: the `hook` feature
//!
//! Code that says `std::net`, `std::thread::sleep` or `to_socket_addrs`
//! (a dependency you cannot edit: a database client, an HTTP client)
//! blocks the worker thread it runs on. With the `hook` cargo feature
//! (Linux), weft defines libc's socket, poll, sleep and `getaddrinfo`
//! functions in the final binary, so such calls made by a coroutine park
//! it instead, with std's blocking semantics kept; everything else goes
//! to the kernel as before. `hook::active()` says whether it is linked in.
//!
//! ## Design
//!
//! The `arch/` directory of the repository explains each part: the
//! scheduler, the stack pool and its guard pages, the parking protocol,
//! timers, I/O.

#![warn(missing_docs)]

mod blocking;
#[cfg(feature = "tokio")]
pub mod compat;
pub mod fs;
pub mod future;
#[cfg(feature = "hook")]
pub mod hook;
mod io;
pub mod net;
mod observe;
pub mod os;
mod rt;
mod stack;
pub mod sync;
pub mod thread;

use std::time::{Duration, Instant};

pub use blocking::spawn_blocking;
pub use observe::WaitFor;
pub use observe::dump::{CoroutineRecord, CoroutineState, Dump, WorkerRecord, dump};
pub use observe::stats::{Stats, stats};
pub use rt::coroutine::{Cancelled, Coroutine, CoroutineId};
pub use rt::join::JoinHandle;
pub use rt::local::CoroutineLocalKey;
pub use rt::runtime::{Runtime, RuntimeBuilder, run};
pub use rt::spawn::{Builder, spawn};

/// Whether the caller runs inside a weft coroutine.
///
/// ```
/// assert!(!weft::in_coroutine());
/// assert!(weft::spawn(weft::in_coroutine).join().unwrap());
/// ```
#[inline]
pub fn in_coroutine() -> bool {
    rt::worker::in_coroutine()
}

/// A handle to the calling coroutine, or `None` outside one.
///
/// ```
/// assert!(weft::current().is_none());
/// let h = weft::spawn(|| weft::current().map(|c| c.id()));
/// let id = h.id();
/// assert_eq!(h.join().unwrap(), Some(id));
/// ```
pub fn current() -> Option<Coroutine> {
    rt::worker::current_header().map(Coroutine::from_header)
}

/// Whether the caller is unwinding: [`std::thread::panicking`] for the
/// calling coroutine rather than for its worker thread.
///
/// In a coroutine, `true` only while *this* coroutine unwinds (a panic,
/// or a [cancel](JoinHandle::cancel)), also while it is parked in a
/// destructor on the way; outside coroutines, exactly
/// `std::thread::panicking()`. Use it where std code would ask
/// `std::thread::panicking()`: in a `Drop` that must behave differently
/// during an unwind.
///
/// Why it exists: std counts panics per OS thread, and a coroutine that
/// unwinds may park (a `Drop` that joins or writes to a socket) while the
/// other coroutines of its worker run on the same thread. For them,
/// std's `std::thread::panicking()` says `true`, and std's own locks
/// (`std::sync::Mutex`) poison on that count when their guard is
/// dropped. weft's parking points, cancellation and `weft::sync` locks
/// ask this function instead, so a neighbour's unwind neither poisons
/// their locks nor stops a cancel. Two limits: weft learns of a panic
/// from the panic hook it installs (a later hook that does not call the
/// previous one hides panics from it), and a panic caught by the user's
/// own `catch_unwind` in a coroutine still counts, while another
/// coroutine of the worker is parked mid-unwind, until this coroutine's
/// next parking point.
///
/// ```
/// struct Report;
/// impl Drop for Report {
///     fn drop(&mut self) {
///         println!("dropped while unwinding: {}", weft::panicking());
///     }
/// }
///
/// let h = weft::spawn(|| {
///     let _r = Report; // prints `true`: this coroutine unwinds
///     assert!(!weft::panicking());
///     panic!("boom");
/// });
/// assert!(h.join().is_err());
/// assert!(!weft::panicking());
/// ```
#[inline]
pub fn panicking() -> bool {
    rt::unwinding::panicking()
}

/// Lets the other ready coroutines of this worker run, then continues;
/// outside a coroutine, [`std::thread::yield_now`].
///
/// A parking point: a cancelled coroutine unwinds from here.
///
/// ```
/// let h = weft::spawn(|| {
///     for _ in 0..3 {
///         weft::yield_now();
///     }
/// });
/// h.join().unwrap();
/// ```
pub fn yield_now() {
    if !rt::worker::yield_current() {
        std::thread::yield_now();
    }
}

/// Sleeps for at least `dur`: parks the calling coroutine (its worker runs
/// others meanwhile), or blocks the calling thread outside a coroutine.
///
/// A parking point: a cancelled coroutine unwinds from here.
///
/// ```
/// use std::time::{Duration, Instant};
/// let h = weft::spawn(|| {
///     let start = Instant::now();
///     weft::sleep(Duration::from_millis(20));
///     start.elapsed()
/// });
/// assert!(h.join().unwrap() >= Duration::from_millis(20));
/// ```
pub fn sleep(dur: Duration) {
    if !in_coroutine() {
        std::thread::sleep(dur);
        return;
    }
    let Some(deadline) = Instant::now().checked_add(dur) else {
        // Longer than the clock can count: sleep until cancelled.
        loop {
            rt::park::park();
        }
    };
    if dur.is_zero() {
        rt::park::check_cancelled();
        return;
    }
    let _waiting = observe::waiting(observe::WaitFor::Sleep(deadline));
    while !rt::park::park_until(Some(deadline)) {}
}

/// Parks the calling coroutine until [`Coroutine::unpark`] is called on it
/// (or spuriously), like [`std::thread::park`]; outside a coroutine it is
/// `std::thread::park`.
///
/// A parking point: a cancelled coroutine unwinds from here.
///
/// ```
/// let h = weft::spawn(|| weft::park());
/// h.coroutine().unpark();
/// h.join().unwrap();
/// ```
pub fn park() {
    let _waiting = observe::waiting(observe::WaitFor::Park);
    rt::park::park_for_token(None);
}
