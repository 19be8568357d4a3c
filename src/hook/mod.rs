//! The `hook` feature: unmodified std-based code parks instead of blocking.
//!
//! A Rust executable that defines `read`, `connect`, `nanosleep`... with
//! C linkage sees every call that `std::net`, `std::thread::sleep` and
//! crates built on them make: std calls libc's functions by name, and the
//! executable's own definitions win at link time. With this feature weft
//! defines them (`#[no_mangle] extern "C"`): a call made by a coroutine
//! on a socket its user left in blocking mode parks the coroutine until
//! the socket is ready, exactly as `weft::net` would, and returns what the
//! blocking call would have returned. Every other call (plain threads,
//! non-blocking descriptors such as mio's and weft's own, regular files,
//! pipes) goes to the kernel as before, for the price of one thread-local
//! load.
//!
//! | file | job |
//! |---|---|
//! | `table.rs` | what weft knows about each descriptor number |
//! | `cell.rs` | a slot's registration; the register-versus-close race |
//! | `state.rs` | a slot's state; two first calls at once |
//! | `socket.rs` | `read`, `write`, `recv*`, `send*`, `accept*`, `connect` |
//! | `poll.rs` | `poll`, `ppoll`, `select` |
//! | `sleep.rs` | `nanosleep`, `clock_nanosleep`, `usleep`, `sleep` |
//! | `dns.rs` | `getaddrinfo` on the blocking pool |
//! | `fdctl.rs` | `close`, `dup*`, `fcntl`, `ioctl`: bookkeeping, the user's view of `O_NONBLOCK` |
//! | `wait.rs` | parking a coroutine, or `poll(2)` on a thread, with socket timeouts |
//! | `sys.rs` | the real system calls |
//!
//! `arch/hook.md` lists what is interposed, what is not, and why each
//! part is sound.

#[cfg(not(target_os = "linux"))]
compile_error!("weft's `hook` feature interposes Linux libc calls and builds only on Linux");

mod cell;
mod dns;
mod fdctl;
mod poll;
mod sleep;
mod socket;
mod state;
mod sys;
mod table;
mod wait;

/// Whether weft's libc interposition is linked in: `true` when the
/// `hook` feature is on and calls to libc's socket and sleep functions
/// from this program reach weft's definitions.
///
/// A program that relies on unmodified std-based crates parking (a
/// `redis` client, `ureq`, `std::thread::sleep`) can assert it at
/// start-up.
///
/// ```
/// // Built with `--features hook`:
/// assert!(weft::hook::active());
///
/// weft::run(|| {
///     // A plain std sleep now parks the coroutine, not the worker.
///     std::thread::sleep(std::time::Duration::from_millis(1));
/// });
/// ```
pub fn active() -> bool {
    // The kernel answers any fcntl on descriptor -1 with EBADF; only the
    // hook answers this command with its own number.
    // SAFETY: fcntl on an invalid descriptor only fails; no argument is read.
    let answer = unsafe { libc::fcntl(-1, fdctl::PROBE) };
    answer == fdctl::PROBE
}
