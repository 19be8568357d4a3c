//! Printing a dump when the process receives a signal, like Go's SIGQUIT.
//!
//! The signal handler itself (installed by `signal-hook`) only writes a
//! byte to a self-pipe, which is async-signal-safe; a dedicated thread
//! waiting on the pipe takes the dump and prints it on stderr, outside the
//! handler, while the program keeps running.

use std::io::{self, Write};
use std::thread;

use signal_hook::iterator::{Handle, Signals};

/// Prints `weft::dump()` to stderr each time `signal` arrives, until
/// dropped.
pub(crate) struct DumpOnSignal {
    handle: Handle,
    thread: Option<thread::JoinHandle<()>>,
}

impl DumpOnSignal {
    pub(crate) fn start(signal: i32) -> io::Result<DumpOnSignal> {
        let mut signals = Signals::new([signal])?;
        let handle = signals.handle();
        let thread = thread::Builder::new()
            .name("weft-dump".into())
            .spawn(move || {
                for _ in signals.forever() {
                    let text = crate::dump().to_string();
                    let _ = io::stderr().lock().write_all(text.as_bytes());
                }
            })?;
        Ok(DumpOnSignal {
            handle,
            thread: Some(thread),
        })
    }
}

impl Drop for DumpOnSignal {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Parses a signal given as `USR1`, `SIGUSR1` or a number.
pub(crate) fn parse_signal(name: &str) -> Option<i32> {
    let name = name.trim();
    if let Ok(n) = name.parse() {
        return Some(n);
    }
    let name = name.strip_prefix("SIG").unwrap_or(name);
    Some(match name {
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "QUIT" => libc::SIGQUIT,
        "HUP" => libc::SIGHUP,
        "INFO" | "PWR" => libc::SIGPWR,
        _ => return None,
    })
}
