//! Panic messages that name the coroutine.
//!
//! std's hook prints `thread 'weft-worker-1' panicked at ...` for a panic
//! in a coroutine, which names the worker, not the code that failed. weft
//! chains a hook in front of whatever hook was installed before it: inside
//! a coroutine of a runtime that wants it, it prints
//! `coroutine '<name>' (id N) panicked at <file:line>:` and the message;
//! everywhere else it defers to the previous hook, so panics on plain
//! threads print exactly what they printed before. Cancellation unwinds
//! with `resume_unwind`, which runs no hook: a cancel prints nothing.
//!
//! The hook also tells `rt::unwinding` that the running coroutine starts
//! to unwind: std's own count is per thread, shared by every coroutine of
//! the worker.

use std::backtrace::{Backtrace, BacktraceStatus};
use std::fmt::Write;
use std::panic::{self, PanicHookInfo};
use std::sync::Once;

/// Installs weft's hook in front of the current one (once per process).
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            // First of all: this coroutine (not its worker) now unwinds.
            crate::rt::unwinding::mark();
            if !print_for_coroutine(info) {
                previous(info);
            }
        }));
    });
}

/// Prints the coroutine-named message if the panic happens in a coroutine
/// whose runtime names panics. Returns whether it printed.
fn print_for_coroutine(info: &PanicHookInfo<'_>) -> bool {
    let wanted = crate::rt::worker::with_current_shared(|s| s.is_some_and(|s| s.name_panics));
    if !wanted {
        return false;
    }
    let Some(header) = crate::rt::worker::current_header() else {
        return false;
    };
    let message = info.payload_as_str().unwrap_or("Box<dyn Any>");
    let location = info
        .location()
        .map_or_else(|| "<unknown>".to_string(), |l| l.to_string());
    let backtrace = Backtrace::capture();
    let mut text = format!(
        "\ncoroutine '{}' (id {}) panicked at {location}:\n{message}\n",
        header.name().unwrap_or("<unnamed>"),
        header.id()
    );
    match backtrace.status() {
        BacktraceStatus::Captured => {
            let _ = writeln!(text, "stack backtrace:\n{backtrace}");
        }
        _ => text.push_str(
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n",
        ),
    }
    // `eprint!` (not a raw stderr handle) so that test harnesses that
    // capture output capture this too, as they do std's message.
    eprint!("{text}");
    true
}
