//! `loom` models of the parking handshake: every interleaving of a
//! coroutine parking in two halves against unparks from other threads.
//!
//! Run with `RUSTFLAGS="--cfg weft_loom" cargo test --release --lib loom`.

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;

use super::state::ParkState;

/// What the worker does with a coroutine after one park attempt.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// It did not suspend: a token was waiting.
    TokenConsumed,
    /// It suspended and the worker re-queued it (a token arrived meanwhile).
    Requeued,
    /// It suspended and is parked: someone must schedule it.
    Parked,
}

fn park_once(state: &ParkState) -> Outcome {
    if state.try_consume_token() {
        return Outcome::TokenConsumed;
    }
    // ... the coroutine switches to its worker here ...
    if state.commit_park() {
        Outcome::Parked
    } else {
        Outcome::Requeued
    }
}

/// An unpark racing with a park is never lost: either the park does not
/// sleep, or the unparker is told to schedule the coroutine. And never
/// doubled: at most one party schedules it.
#[test]
fn loom_unpark_is_neither_lost_nor_doubled() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        let event = Arc::new(AtomicBool::new(false));
        let scheduled = Arc::new(AtomicUsize::new(0));

        let unparker = {
            let (state, event, scheduled) = (state.clone(), event.clone(), scheduled.clone());
            thread::spawn(move || {
                event.store(true, Ordering::Release);
                if state.unpark() {
                    scheduled.fetch_add(1, Ordering::SeqCst);
                }
            })
        };

        // The coroutine waits for `event` the way every weft primitive does.
        let mut woken_by_schedule = false;
        while !event.load(Ordering::Acquire) {
            match park_once(&state) {
                Outcome::TokenConsumed | Outcome::Requeued => {}
                Outcome::Parked => {
                    // Parked: the only way on is the unparker scheduling us.
                    unparker_joined_or_wait(&scheduled);
                    woken_by_schedule = true;
                    break;
                }
            }
        }
        unparker.join().unwrap();
        let n = scheduled.load(Ordering::SeqCst);
        assert!(n <= 1, "scheduled {n} times");
        if woken_by_schedule {
            assert_eq!(n, 1);
        }
        assert!(event.load(Ordering::Acquire));
    });
}

/// Spins (in loom's sense) until the unparker scheduled us.
fn unparker_joined_or_wait(scheduled: &AtomicUsize) {
    while scheduled.load(Ordering::SeqCst) == 0 {
        thread::yield_now();
    }
}

/// Two concurrent unparkers of a parked coroutine schedule it once.
#[test]
fn loom_two_unparkers_schedule_once() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        assert_eq!(park_once(&state), Outcome::Parked);
        let scheduled = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (state, scheduled) = (state.clone(), scheduled.clone());
                thread::spawn(move || {
                    if state.unpark() {
                        scheduled.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(scheduled.load(Ordering::SeqCst), 1);
    });
}

/// After a coroutine finished, unparks are ignored (no wake of a dead
/// coroutine), whatever they race with.
#[test]
fn loom_unpark_after_done_is_ignored() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        let s = state.clone();
        let t = thread::spawn(move || s.unpark());
        state.set_done();
        let scheduled = t.join().unwrap();
        // It may have scheduled nothing (token or done): never a parked wake.
        assert!(!scheduled);
        assert!(!state.unpark());
    });
}

/// `thread::park`'s token (`park_for_token`/`unpark_token`): the user's
/// flag is stored before the park state's unpark, and the parker checks
/// it before each park. An unpark is never lost, whatever it races with.
#[test]
fn loom_user_token_is_not_lost() {
    loom::model(|| {
        let state = Arc::new(ParkState::new());
        let token = Arc::new(AtomicBool::new(false));
        let scheduled = Arc::new(AtomicUsize::new(0));

        let unparker = {
            let (state, token, scheduled) = (state.clone(), token.clone(), scheduled.clone());
            thread::spawn(move || {
                token.store(true, Ordering::Release);
                if state.unpark() {
                    scheduled.fetch_add(1, Ordering::SeqCst);
                }
            })
        };

        // `park_for_token` without a deadline (a CAS takes the token, as
        // there: loom 0.7 lets a store slip between the two halves of a
        // `swap`, tokio-rs/loom#254, but models a CAS faithfully).
        loop {
            if token
                .compare_exchange(true, false, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                break;
            }
            match park_once(&state) {
                Outcome::TokenConsumed | Outcome::Requeued => {}
                Outcome::Parked => {
                    unparker_joined_or_wait(&scheduled);
                    // Scheduled: a real worker resumes us, and we loop.
                    scheduled.store(0, Ordering::SeqCst);
                }
            }
        }
        unparker.join().unwrap();
        assert!(!token.load(Ordering::Acquire), "the token was taken once");
    });
}
