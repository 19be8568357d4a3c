//! Signal handlers run on whatever thread the signal hits, coroutines
//! included, and may call `write` (the self-pipe pattern): with the `hook`
//! feature that `write` goes through the hook, which must then neither
//! allocate nor lock. Here a handler writes to a descriptor number no one
//! used before (so the handler itself makes the table's first look at
//! it) while coroutines on the signalled worker do hooked socket I/O.
#![cfg(feature = "hook")]

mod common;

use std::io::{Read, Write};
use std::os::fd::IntoRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// The descriptor the handler writes to.
static TARGET: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_sigusr2(_: libc::c_int) {
    let saved = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let byte = 1u8;
    // SAFETY: write is async-signal-safe; a one-byte buffer.
    unsafe { libc::write(TARGET.load(Ordering::Relaxed), (&raw const byte).cast(), 1) };
    // SAFETY: restoring errno, as a handler must.
    unsafe { *libc::__errno_location() = saved };
}

#[test]
fn a_signal_handler_writing_from_inside_a_coroutine_is_passed_through() {
    common::with_timeout(60, || {
        // A high, never used number: its table chunk does not exist yet.
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: valid rlimit buffers.
        unsafe {
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
        let high = (limit.rlim_cur.min(1 << 20) - 10) as i32;
        assert!(
            high > 4096,
            "descriptor limit too low for this test: {}",
            limit.rlim_cur
        );
        let (sender, mut receiver) = UnixStream::pair().unwrap();
        sender.set_nonblocking(true).unwrap();
        let fd = sender.into_raw_fd();
        // SAFETY: dup2 onto an unused number, closing the original once.
        unsafe {
            assert_eq!(libc::dup2(fd, high), high);
            libc::close(fd);
        }
        TARGET.store(high, Ordering::SeqCst);
        // SAFETY: a zeroed sigaction is valid; the handler is signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigusr2 as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
                0
            );
        }
        let rt = common::runtime(1);
        let sent = rt.block_on(|| {
            // SAFETY: pthread_self has no preconditions; this is the worker.
            let worker = unsafe { libc::pthread_self() } as usize;
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let echo = weft::spawn(move || {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 4];
                while s.read_exact(&mut buf).is_ok() {
                    s.write_all(&buf).unwrap();
                }
            });
            // A plain thread signals the worker while it runs coroutines.
            let signaller = std::thread::spawn(move || {
                for _ in 0..200 {
                    // SAFETY: the worker thread outlives this loop (the
                    // runtime is alive until block_on returns).
                    unsafe { libc::pthread_kill(worker as libc::pthread_t, libc::SIGUSR2) };
                    std::thread::sleep(Duration::from_micros(500));
                }
            });
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            let mut buf = [0u8; 4];
            let mut rounds = 0;
            while !signaller.is_finished() {
                client.write_all(b"ping").unwrap();
                client.read_exact(&mut buf).unwrap();
                assert_eq!(&buf, b"ping");
                rounds += 1;
            }
            signaller.join().unwrap();
            drop(client);
            echo.join().unwrap();
            rounds
        });
        assert!(sent > 0);
        // SAFETY: closing the number we dup2'd onto, once.
        unsafe { libc::close(high) };
        // The handler's writes went through: one byte per delivered signal
        // (a signal sent while the previous one is still pending merges
        // with it, so at most 200).
        let mut got = Vec::new();
        receiver.read_to_end(&mut got).unwrap();
        assert!(!got.is_empty() && got.len() <= 200, "{} bytes", got.len());
    });
}
