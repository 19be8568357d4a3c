//! Helpers shared by the stack module's tests.

use std::hint::black_box;
use std::io::Read;
use std::os::fd::FromRawFd;

/// Bytes of locals in each frame of [`recurse_to`].
pub(super) const FRAME: usize = 1024;

/// Recurses `depth` frames deep, each with a [`FRAME`]-byte local array that
/// the optimiser cannot remove, and returns `depth`. With `usize::MAX` it
/// recurses until the stack overflows.
#[inline(never)]
pub(super) fn recurse_to(depth: usize) -> usize {
    let mut buf = [0u8; FRAME];
    black_box(&mut buf);
    if black_box(depth) == 0 {
        return 0;
    }
    buf[depth % FRAME] = 1;
    let below = recurse_to(black_box(depth - 1));
    black_box(&buf);
    below + 1
}

/// Forks; the child redirects its stderr to a pipe, runs `f` and exits
/// (status 0, or 101 if `f` panicked). Returns the child's wait status and
/// what it wrote to stderr.
///
/// The child is a copy of a multi-threaded test process, so `f` should do
/// little: no pool locks (allocate stacks before forking), no printing
/// through std.
pub(super) fn run_in_fork(f: impl FnOnce()) -> (libc::c_int, String) {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fork has no memory-safety preconditions; the child only runs
    // `f` (documented to be fork-safe) and then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: plain fd operations on fds this process owns.
        unsafe {
            libc::dup2(fds[1], 2);
            libc::close(fds[0]);
        }
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        // SAFETY: leaving the forked child without running the parent's
        // atexit handlers or destructors.
        unsafe { libc::_exit(if r.is_ok() { 0 } else { 101 }) };
    }
    // SAFETY: the write end belongs to this process; the child has its copy.
    unsafe { libc::close(fds[1]) };
    // SAFETY: `fds[0]` is an open fd owned by nothing else in this process.
    let mut reader = unsafe { std::fs::File::from_raw_fd(fds[0]) };
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    let mut status = 0;
    // SAFETY: waiting for our own child; `status` is a valid out-pointer.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid);
    (status, String::from_utf8_lossy(&out).into_owned())
}

/// Number of resident pages in `addr..addr + len` (page aligned).
pub(super) fn resident_pages(addr: usize, len: usize) -> usize {
    let page = super::slab::page_size();
    let mut vec = vec![0u8; len.div_ceil(page)];
    // SAFETY: the range is mapped by the caller; `vec` has one byte per page.
    let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, vec.as_mut_ptr()) };
    assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
    vec.iter().filter(|&&b| b & 1 != 0).count()
}

/// A `kB` field of `/proc/self/status`, e.g. `VmRSS`.
pub(super) fn proc_status_kib(field: &str) -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Environment variable naming the test a child process should run.
const CHILD_ENV: &str = "WEFT_STACK_TEST_CHILD";

/// Runs the test named `name` alone in a new process (this test binary,
/// filtered to it) and returns its output. That test should start with
/// `if !is_test_child(name) { return; }` so that it does nothing when the
/// harness runs it normally.
pub(super) fn run_test_in_child(name: &str) -> std::process::Output {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .output()
        .unwrap()
}

/// Is this process the child started by `run_test_in_child(name)`?
pub(super) fn is_test_child(name: &str) -> bool {
    std::env::var_os(CHILD_ENV).is_some_and(|v| v == name)
}
