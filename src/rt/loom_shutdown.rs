//! `loom` model of the shutdown handshake (`Drained`): the workers leave
//! together, none before every worker has drained, and none sleeps for
//! ever, although a non-blocking poll may consume the wake meant to tell
//! it that everyone is done.
//!
//! Run with `RUSTFLAGS="--cfg weft_loom" cargo test --release --lib loom`.

use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

use crate::rt::scheduler::Drained;

/// The two workers' eventfds: a wake sets one, a poll (blocking or not)
/// consumes it. Also records which workers have left, so that a worker
/// about to block for good (no wake pending, nobody left to send one) is
/// reported instead of deadlocking the model.
#[derive(Default)]
struct Pollers {
    state: Mutex<([bool; 2], [bool; 2])>,
    cv: Condvar,
}

impl Pollers {
    fn wake(&self, worker: usize) {
        self.state.lock().unwrap().0[worker] = true;
        self.cv.notify_all();
    }

    /// A non-blocking poll: consumes a wake if there is one.
    fn poll_now(&self, worker: usize) {
        self.state.lock().unwrap().0[worker] = false;
    }

    /// `epoll_wait` without a timeout: blocks until a wake.
    fn wait(&self, worker: usize) {
        let mut state = self.state.lock().unwrap();
        while !state.0[worker] {
            assert!(
                !state.1[1 - worker],
                "worker {worker} sleeps for ever: its wake was consumed and nobody is left to wake it"
            );
            state = self.cv.wait(state).unwrap();
        }
        state.0[worker] = false;
    }

    fn leave(&self, worker: usize) {
        self.state.lock().unwrap().1[worker] = true;
        self.cv.notify_all();
    }
}

/// Two workers at shutdown; worker 1 drains a little later (it still has
/// a coroutine to finish). `recheck`: whether a worker about to block
/// re-reads the marks (`shutdown_pending`), as the loop does; without it
/// a wake consumed by the non-blocking poll of the loop's maintenance is
/// lost.
fn model(recheck: bool) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(move || {
        let drained = Arc::new(Drained::new(2));
        let pollers = Arc::new(Pollers::default());
        let threads: Vec<_> = (0..2)
            .map(|me| {
                let (drained, pollers) = (drained.clone(), pollers.clone());
                thread::spawn(move || {
                    if me == 1 {
                        // Its last coroutine ends after a poll of its own.
                        pollers.poll_now(me);
                    }
                    loop {
                        // `shut_down` at the top of the loop.
                        if drained.mark(me) {
                            pollers.wake(1 - me);
                            assert!(drained.all(), "left before every worker drained");
                            pollers.leave(me);
                            return;
                        }
                        // `maintain`: a non-blocking poll.
                        pollers.poll_now(me);
                        // `sleep`: after `prepare_sleep`, re-check.
                        if recheck && drained.all() {
                            continue;
                        }
                        pollers.wait(me);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn loom_shutdown_workers_leave_together() {
    model(true);
}

/// Without the re-check before blocking, loom finds the worker that
/// sleeps for ever, its wake consumed by the non-blocking poll.
#[test]
#[should_panic(expected = "sleeps for ever")]
fn loom_shutdown_without_the_recheck_is_caught() {
    model(false);
}
