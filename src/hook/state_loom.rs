//! `loom` model of a descriptor's state (`state.rs`): two coroutines
//! making the first call on a blocking socket at once both treat it as
//! the blocking socket it is (`SWITCHED`), although the kernel flag they
//! examine is set by whichever examines first.
//!
//! Run with `RUSTFLAGS="--cfg weft_loom" CARGO_TARGET_DIR=target/loom
//! cargo test --release --features hook --lib hook::state`.

use std::sync::Arc;

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::thread;

use super::{FdState, PASS, SWITCHED};

/// `table::examine` on a socket the user left blocking: the kernel's
/// `O_NONBLOCK` flag is read, and set if clear.
fn examine(kernel_nonblocking: &AtomicBool) -> u8 {
    if kernel_nonblocking.load(Ordering::SeqCst) {
        PASS
    } else {
        kernel_nonblocking.store(true, Ordering::SeqCst);
        SWITCHED
    }
}

#[test]
fn loom_two_first_calls_both_see_a_blocking_socket() {
    loom::model(|| {
        let state = Arc::new(FdState::new());
        let flag = Arc::new(AtomicBool::new(false));
        let other = {
            let (state, flag) = (state.clone(), flag.clone());
            thread::spawn(move || state.classify(|| examine(&flag)))
        };
        let mine = state.classify(|| examine(&flag));
        let theirs = other.join().unwrap();
        assert_eq!((mine, theirs), (SWITCHED, SWITCHED));
        assert_eq!(state.get(), SWITCHED);
    });
}
