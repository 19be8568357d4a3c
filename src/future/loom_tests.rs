//! `loom` model of `block_on`'s wait: the wake flag beside the park
//! token, against a wake from another thread and a future that parks
//! inside its own `poll` (and so may consume the token of our wake).
//!
//! Run with `RUSTFLAGS="--cfg weft_loom" cargo test --release --lib loom`.
//! Swapping the two steps of `WakeFlag::wake_then` (unpark, then set the
//! flag) makes this model fail with a lost wake.

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;

use super::waker::WakeFlag;
use crate::rt::park::state::ParkState;

/// A wake from another thread always gets the future polled again after
/// the event it reports, even when the future's own inner wait ate the
/// park token that wake left.
#[test]
fn loom_block_on_never_loses_a_wake() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        let flag = Arc::new(WakeFlag::new());
        let event = Arc::new(AtomicBool::new(false));
        let scheduled = Arc::new(AtomicUsize::new(0));

        let mut waker = Some({
            let (state, flag, event, scheduled) = (
                state.clone(),
                flag.clone(),
                event.clone(),
                scheduled.clone(),
            );
            thread::spawn(move || {
                event.store(true, Ordering::Release);
                flag.wake_then(|| {
                    if state.unpark() {
                        scheduled.fetch_add(1, Ordering::SeqCst);
                    }
                });
            })
        });

        loop {
            // poll: the future looks at its event, and (the hard case) its
            // poll parks once on something of its own, taking any token.
            let ready = event.load(Ordering::Acquire);
            let _ = state.try_consume_token();
            if ready {
                break;
            }
            // block_on's wait: park until the flag says we were woken.
            while !flag.take() {
                if state.try_consume_token() {
                    continue;
                }
                // ... the coroutine switches to its worker here ...
                if state.commit_park() {
                    // Parked: only the one wake scheduling us lets us go
                    // on. Let the waker finish: it must have scheduled us,
                    // or the wake was lost.
                    waker
                        .take()
                        .expect("parked twice: a wake was lost")
                        .join()
                        .unwrap();
                    assert_eq!(
                        scheduled.load(Ordering::SeqCst),
                        1,
                        "parked and never scheduled: a wake was lost"
                    );
                }
            }
        }
        if let Some(waker) = waker {
            waker.join().unwrap();
        }
        assert!(scheduled.load(Ordering::SeqCst) <= 1);
    });
}
