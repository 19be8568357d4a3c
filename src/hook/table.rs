//! What weft knows about each file descriptor number: whether a coroutine
//! may park on it, and its registration with a worker's poller.
//!
//! One [`Slot`] per descriptor number, in chunks of [`CHUNK`] slots that
//! are mapped (`mmap`, not the allocator: this may run in a signal
//! handler) the first time a *coroutine* touches a number in their range,
//! and never freed (24 KiB each; a process with a million descriptors
//! uses 24 MiB). Reading a slot never allocates and never
//! locks, so the pass-through paths (plain threads, signal handlers) can
//! ask "did weft switch this descriptor?" at the cost of two atomic loads.
//!
//! A slot's [`state`](Slot::state) is one of:
//!
//! - [`UNKNOWN`]: never examined, or forgotten since (`close`, `dup2` onto
//!   it, the user cleared `O_NONBLOCK` on a pass-through descriptor). The
//!   next coroutine call examines it ([`classify`]).
//! - [`PASS`]: not a socket, or a socket the *user* (or mio, or weft::net)
//!   put in non-blocking mode: every call goes straight to the kernel.
//! - [`SWITCHED`]: a socket the user left blocking; weft set `O_NONBLOCK`
//!   underneath, and the hooks make it look blocking again, on coroutines
//!   (park) and plain threads (`poll(2)`) alike.
//! - `EXAMINING`: one coroutine is examining it; everyone else waits the
//!   few system calls that takes for its outcome, since a second examiner
//!   would see the `O_NONBLOCK` the first just set and take the socket
//!   for one the user made non-blocking.
//!
//! The registration ([`Watch`]) is reference counted: a coroutine waiting
//! on it holds a clone, and `close` takes the slot's own count out. The
//! clone-versus-take race is settled by a one-byte spin lock per slot,
//! held for a load and a count increment only; the register-versus-close
//! race by a generation (`cell.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use super::cell::WatchCell;
use super::state::FdState;

use libc::c_int;

use super::sys;
use crate::io::registration::Registration;

pub(super) use super::state::{PASS, SWITCHED, UNKNOWN};

/// Slots per chunk.
const CHUNK: usize = 1024;
/// Chunks: descriptors `0..CHUNK * CHUNKS` are tracked; higher numbers
/// always pass through to the kernel (and block a worker, as without the
/// feature).
const CHUNKS: usize = 1024;

static TABLE: [AtomicPtr<Slot>; CHUNKS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS];

/// A descriptor's registration with a worker's poller, made on the first
/// wait of a coroutine on it.
pub(super) struct Watch {
    pub(super) reg: Registration,
    /// Set by `close` (or `dup2` onto the number): a waiter that wakes
    /// returns `EBADF` instead of retrying on a number that may already
    /// name another file.
    closed: AtomicBool,
}

impl Watch {
    /// Whether the descriptor was closed while this watch was installed.
    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// What weft knows about one descriptor number. All-zero bytes are a
/// valid, empty slot (chunks are fresh anonymous pages).
pub(super) struct Slot {
    state: FdState,
    /// The registration, and the close-versus-register protocol
    /// (`cell.rs`).
    watch: WatchCell<Watch>,
}

impl Slot {
    /// The slot's state; if a coroutine is examining the descriptor right
    /// now, the state it settles on.
    #[inline]
    pub(super) fn state(&self) -> u8 {
        self.state.get()
    }

    pub(super) fn set_state(&self, state: u8) {
        self.state.set(state);
    }

    /// A clone of the installed watch.
    pub(super) fn watch(&self) -> Option<Arc<Watch>> {
        self.watch.get()
    }

    /// Registers `fd` with the current worker's poller and installs the
    /// watch, unless one is installed already (then that one). `None` if
    /// registering failed, or the number was closed meanwhile.
    pub(super) fn register(&self, fd: c_int) -> Option<Arc<Watch>> {
        let generation = self.watch.generation();
        let watch = Arc::new(Watch {
            reg: Registration::new(fd).ok()?,
            closed: AtomicBool::new(false),
        });
        match self.watch.install(watch, generation) {
            Ok(watch) => Some(watch),
            Err(rejected) => {
                // Closed (and maybe reused) since we registered: removing
                // the number from the poller now could remove a new
                // file's registration, so leave it and leak the memory.
                rejected.reg.abandon();
                None
            }
        }
    }

    /// Takes the watch out (a `close`), marks it closed, removes the
    /// descriptor from its poller while it is still open, and wakes its
    /// waiters. Takes no lock when there is no watch.
    pub(super) fn forget_watch(&self) {
        if let Some(watch) = self.watch.forget() {
            watch.closed.store(true, Ordering::Release);
            watch.reg.deregister_now();
        }
    }
}

/// The slot of `fd`, if its chunk exists. Never allocates.
#[inline]
pub(super) fn slot(fd: c_int) -> Option<&'static Slot> {
    let fd = usize::try_from(fd).ok()?;
    let chunk = TABLE.get(fd / CHUNK)?.load(Ordering::Acquire);
    if chunk.is_null() {
        return None;
    }
    // SAFETY: a non-null chunk is a leaked, never freed array of CHUNK
    // slots, and `fd % CHUNK < CHUNK`.
    Some(unsafe { &*chunk.add(fd % CHUNK) })
}

/// The state of `fd` (`UNKNOWN` if never tracked). Never allocates.
#[inline]
pub(super) fn state(fd: c_int) -> u8 {
    slot(fd).map_or(UNKNOWN, Slot::state)
}

/// The slot of `fd`, allocating its chunk on first use. `None` for
/// negative or untracked (too high) numbers.
pub(super) fn slot_or_create(fd: c_int) -> Option<&'static Slot> {
    if let Some(slot) = slot(fd) {
        return Some(slot);
    }
    let index = usize::try_from(fd).ok()?;
    let entry = TABLE.get(index / CHUNK)?;
    // Straight from the kernel, not the allocator: a signal handler that
    // interrupts a coroutine may be the first to touch this range, and
    // malloc is not async-signal-safe. Fresh anonymous pages are zeroed:
    // empty slots.
    let len = size_of::<[Slot; CHUNK]>();
    let saved = sys::errno();
    // SAFETY: an anonymous private mapping of `len` bytes; no file, no
    // fixed address.
    let fresh = unsafe {
        sys::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    sys::set_errno(saved);
    if fresh == -1 {
        return None;
    }
    let fresh = fresh as *mut Slot;
    if entry
        .compare_exchange(
            std::ptr::null_mut(),
            fresh,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_err()
    {
        // SAFETY: `fresh` was mapped above with `len` bytes and never
        // published.
        unsafe { sys::munmap(fresh.cast(), len) };
        sys::set_errno(saved);
    }
    slot(fd)
}

/// The state of `fd` for a call from a coroutine, examining the
/// descriptor first if it is `UNKNOWN`: a socket in blocking mode becomes
/// `SWITCHED` (weft sets `O_NONBLOCK`), anything else `PASS`.
pub(super) fn classify(fd: c_int) -> (u8, Option<&'static Slot>) {
    let Some(slot) = slot_or_create(fd) else {
        return (PASS, None);
    };
    let state = slot.state.classify(|| {
        // Standard input, output and error are left alone even if they
        // are sockets: their file description is usually shared with
        // other processes (a supervisor, a shell), which would see the
        // O_NONBLOCK.
        if fd <= 2 { PASS } else { examine(fd) }
    });
    (state, Some(slot))
}

/// Looks at an `UNKNOWN` descriptor: `SWITCHED` (and switched), `PASS`,
/// or `UNKNOWN` if it is not open. Preserves `errno`.
fn examine(fd: c_int) -> u8 {
    let saved = sys::errno();
    let result = (|| {
        // SAFETY: an all-zero `stat` is a valid value for the kernel to fill.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: `st` is a valid, exclusively borrowed stat buffer.
        if unsafe { sys::fstat(fd, &mut st) } == -1 {
            return UNKNOWN;
        }
        if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
            return PASS;
        }
        // SAFETY: F_GETFL/F_SETFL only read and change status flags.
        let flags = unsafe { sys::fcntl(fd, libc::F_GETFL, 0) };
        if flags == -1 || flags & libc::O_NONBLOCK != 0 {
            return PASS;
        }
        // SAFETY: as above.
        if unsafe {
            sys::fcntl(
                fd,
                libc::F_SETFL,
                (flags | libc::O_NONBLOCK) as libc::c_long,
            )
        } == -1
        {
            return PASS;
        }
        SWITCHED
    })();
    sys::set_errno(saved);
    result
}

/// Forgets everything about `fd` before its number is closed or reused
/// (`close`, the target of `dup2`/`dup3`): state back to `UNKNOWN`, the
/// registration removed from its poller and its waiters woken. Without a
/// watch this is two atomic operations and takes no lock.
#[inline]
pub(super) fn forget(fd: c_int) {
    if let Some(slot) = slot(fd) {
        slot.state.forget();
        slot.forget_watch();
    }
}

/// `new` is a duplicate of `old` (`dup`, `dup2`, `dup3`, `F_DUPFD`): it
/// shares `old`'s file description, so it inherits its state. Not its
/// registration: a poller registration is per descriptor number.
pub(super) fn copy(old: c_int, new: c_int) {
    let state = state(old);
    if state == UNKNOWN {
        if let Some(slot) = slot(new) {
            slot.set_state(UNKNOWN);
        }
        return;
    }
    if let Some(slot) = slot_or_create(new) {
        slot.set_state(state);
    }
}
