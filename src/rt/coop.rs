//! Cooperative budget: a coroutine whose operations keep succeeding
//! without ever parking (a channel that is never empty, a socket that
//! always has data) would otherwise never give its worker back.
//!
//! Every weft operation that can complete without waiting calls
//! [`proceed`] *before* it acts. The running coroutine gets [`BUDGET`]
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
