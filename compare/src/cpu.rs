//! The CPU time a process has used: on a shared machine the figure that
//! waits for a core do not inflate. Shared by the report (`memory.rs`)
//! and `src/bin/timer_scale.rs` (which includes this file by path).

use std::time::Duration;

/// User plus system CPU time of this process so far, every thread's.
pub fn process_cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it gets,
    // which points to enough writable memory for one.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_SELF) failed");
    // SAFETY: getrusage returned 0, so it filled the struct in.
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
