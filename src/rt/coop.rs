//! Cooperative budget: a coroutine whose operations keep succeeding
//! without ever parking (a channel that is never empty, a socket that
//! always has data) would otherwise never give its worker back.
//!
//! Every weft operation that *may wait* (one that can block in std: a
//! receive, a lock, a bounded or rendezvous send, socket I/O in blocking
//! mode, a directory read) calls [`proceed`] *before* it acts, also when
//! it then finishes at once. Operations that never wait in std (an
//! unbounded `send`, `try_*`, unlocks and releases, notifications, I/O on
//! a socket in non-blocking mode) never call it: in std they never give
//! up the thread, so code may hold a `thread_local!` `RefCell` borrow
//! across them, and in weft they never let another coroutine of the
//! worker run. The list is in `weft::sync`'s docs. The running coroutine gets [`BUDGET`]
//! units each time its worker resumes it; when they are spent, `proceed`
//! yields first, so the coroutine's neighbours run, and the operation
//! happens when it is resumed. Yielding before the operation (never after
//! it) means a cancel delivered at that yield loses no data.

/// Operations a coroutine may complete in one run before it must yield.
/// 128 is tokio's figure: large enough that the yield costs under 1% of
/// the operations it follows (~30 ns against ≥128 operations of ≥50 ns),
/// small enough that a neighbour waits at most a few tens of µs.
pub(crate) const BUDGET: u32 = 128;

/// Spends one unit of the running coroutine's budget, yielding first if
/// it is spent. Does nothing outside coroutines. A parking point when it
/// yields.
#[inline]
pub(crate) fn proceed() {
    if crate::rt::worker::consume_budget() {
        crate::yield_now();
    }
}

/// [`proceed`] for an operation that may or may not be able to wait:
/// `never_waits` (asked only when the budget is spent) says it cannot
/// this time, and then it does not yield. The budget starts over either
/// way, so such a call delays the next yield by at most one budget.
#[inline]
pub(crate) fn proceed_unless(never_waits: impl FnOnce() -> bool) {
    if crate::rt::worker::consume_budget() && !never_waits() {
        crate::yield_now();
    }
}
