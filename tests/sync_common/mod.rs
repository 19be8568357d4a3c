//! Helpers shared by the `sync_*` tests: run a role as a coroutine or as
//! a thread, so each primitive is tested in the three settings.
#![allow(dead_code)]

/// Where a test role runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Coroutine,
    Thread,
}

/// Both sides.
pub const SIDES: [Side; 2] = [Side::Coroutine, Side::Thread];

/// Every (first role, second role) combination: coroutines only, threads
/// only, and mixed both ways.
pub const SETTINGS: [(Side, Side); 4] = [
    (Side::Coroutine, Side::Coroutine),
    (Side::Thread, Side::Thread),
    (Side::Coroutine, Side::Thread),
    (Side::Thread, Side::Coroutine),
];

/// A started role; `join` waits for its result.
pub struct Role<T>(Box<dyn FnOnce() -> T>);

impl<T> Role<T> {
    pub fn join(self) -> T {
        (self.0)()
    }
}

/// Runs `f` as a coroutine (default runtime) or on a new thread.
pub fn start<T: Send + 'static>(side: Side, f: impl FnOnce() -> T + Send + 'static) -> Role<T> {
    match side {
        Side::Coroutine => {
            let h = weft::spawn(f);
            Role(Box::new(move || h.join().unwrap()))
        }
        Side::Thread => {
            let h = std::thread::spawn(f);
            Role(Box::new(move || h.join().unwrap()))
        }
    }
}

/// Yields (on a thread: spins politely) until `cond` holds.
pub fn until(cond: impl Fn() -> bool) {
    while !cond() {
        weft::yield_now();
    }
}
