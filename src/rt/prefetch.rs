//! Warming the next coroutine's stack while the current one runs.
//!
//! A worker switching among many coroutines switches onto a stack it has
//! not touched since that coroutine last ran: the frames a resumed
//! coroutine returns through (corosensei's saved registers, `suspend`,
//! `park` and the wait that called it) are cold, and on a thousand stacks
//! a yield spent more of its time waiting for those cache lines than
//! running instructions (`arch/scheduler.md`, "Warming the next stack").
//! So each suspend notes its stack pointer (`stack::stack_pointer`), and
//! the worker, about to resume one coroutine, asks the CPU to fetch the
//! lines around the *next* one's: they arrive while the current one runs.
//!
//! A prefetch is only a hint: it never faults, even on an address that is
//! not mapped, and changes no memory, so a stale or wrong address costs a
//! wasted fetch and nothing else.

/// Asks the CPU to bring the cache lines around `sp`, a stack pointer a
/// coroutine noted when it suspended, into the cache: the line below it
/// (the registers corosensei saves sit just under the frame that noted
/// it) and the three above (the frames the coroutine returns through
/// first). Four fixed hints: a prefetch loads the whole line its address
/// falls in, so no alignment is needed.
#[inline]
pub(crate) fn stack_around(sp: usize) {
    cache_line(sp.wrapping_sub(LINE));
    cache_line(sp);
    cache_line(sp.wrapping_add(LINE));
    cache_line(sp.wrapping_add(2 * LINE));
}

const LINE: usize = 64;

/// Asks the CPU to bring the cache line holding `addr` into its
/// innermost data cache. No effect on other architectures.
#[inline(always)]
fn cache_line(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // Soundness: PREFETCHT0 reads nothing into the program and never
        // faults, whatever the address (Intel SDM, "PREFETCHh"): no
        // memory is accessed in the language's sense. SSE, which it
        // needs, is part of the x86_64 baseline.
        // SAFETY: by the soundness argument just above.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(addr as *const i8) };
    }
    #[cfg(target_arch = "aarch64")]
    {
        // Soundness: PRFM is a hint that never generates a synchronous
        // abort, whatever the address (Arm ARM, "PRFM"), and writes no
        // register or memory.
        // SAFETY: by the soundness argument just above.
        unsafe {
            std::arch::asm!(
                "prfm pldl1keep, [{addr}]",
                addr = in(reg) addr,
                options(nostack, readonly, preserves_flags)
            )
        };
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = addr;
}
