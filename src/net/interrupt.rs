//! What a plain thread's socket wait does when a signal handler runs.
//!
//! On a plain thread a blocking-mode weft socket waits in `poll(2)`,
//! which the kernel never restarts: every handled signal ends it with
//! `EINTR`. A std socket blocks in `recv`/`send` instead, and there the
//! kernel restarts the call after a handler installed with `SA_RESTART`
//! unless the socket has a timeout (`SO_RCVTIMEO`/`SO_SNDTIMEO`), and
//! returns `EINTR` otherwise; std's `read`, `write`, `recv_from`, ...
//! hand that to the caller as `ErrorKind::Interrupted`, while its
//! `accept` and `connect` retry.
//!
//! The wait cannot learn which signal ended it, so [`surfaces`] decides
//! as follows: a call that std retries retries; a call with a timeout
//! returns `Interrupted`, as std's does; otherwise it returns
//! `Interrupted` when some installed handler lacks `SA_RESTART` (a program
//! that installs one wants its blocking calls cut short, the classic
//! `SIGALRM`/`SIGINT` pattern) and retries when every handler restarts.
//! The one difference from std: with both kinds of handler installed, a
//! restarting one also yields `Interrupted`, which the `io` traits allow
//! (`read_exact`, `write_all` and friends retry it).

use std::ptr;

/// Whether a plain-thread wait that `poll(2)` ended with `EINTR` returns
/// `Interrupted` (`true`) or waits again.
///
/// `std_retries`: std's call retries `EINTR` itself (`accept`);
/// `timed`: the call has a read or write timeout.
pub(crate) fn surfaces(std_retries: bool, timed: bool) -> bool {
    !std_retries && (timed || !every_handler_restarts())
}

/// Whether every installed signal handler has `SA_RESTART`. The fault
/// signals are left out: their handlers (std's, weft's) run for faults,
/// which never interrupt a system call. Costs one `sigaction` per signal,
/// only after an `EINTR`.
fn every_handler_restarts() -> bool {
    const FAULTS: [libc::c_int; 5] = [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGILL,
        libc::SIGFPE,
        libc::SIGTRAP,
    ];
    // Linux signals are 1..=64 (_NSIG - 1).
    for sig in 1..=64 {
        if FAULTS.contains(&sig) || sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: sigaction is plain old data; sigaction(2) fills it.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: querying only (null new action). glibc's reserved
        // signals fail with EINVAL and are skipped.
        if unsafe { libc::sigaction(sig, ptr::null(), &mut old) } != 0 {
            continue;
        }
        let caught = old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN;
        if caught && old.sa_flags & libc::SA_RESTART == 0 {
            return false;
        }
    }
    true
}
