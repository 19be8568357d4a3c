//! `loom` model of the reactor's release list (`reactor.rs`): a socket
//! deregistered on any thread while its worker is between `epoll_wait`
//! and dispatch must never have an event dispatched into freed memory, nor
//! into a *new* registration that reused the freed address.
//!
//! mio cannot run under loom, so this models the protocol, step for step
//! as `Reactor::poll`, `IoShared::release_later` and `Registration::drop`
//! do it:
//!
//! - the kernel's interest list is a mutex-protected set of tokens
//!   (`epoll_ctl` and `epoll_wait` are atomic with respect to each other);
//!   an `epoll_wait` returns a snapshot of it (every registered source may
//!   have an event);
//! - a token is a slot index (an address); a slot is reused only after it
//!   was freed, and every registration of a slot gets a new generation.
//!   The generation exists only in the model, as the ground truth the
//!   dispatch checks: the event must reach the registration that was in
//!   the interest list when the event was collected.
//!
//! Run with `RUSTFLAGS="--cfg weft_loom" cargo test --release --lib loom`.

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

const SLOTS: usize = 2;

struct Slot {
    /// Allocated (a live `ScheduledIo` at this address).
    alive: AtomicBool,
    /// Which registration occupies it (model-only ground truth).
    generation: AtomicUsize,
}

struct World {
    slots: [Slot; SLOTS],
    /// The kernel's interest list: (token, generation registered).
    interest: Mutex<Vec<(usize, usize)>>,
    /// The worker's release list.
    release: Mutex<Vec<usize>>,
    /// Freed slots an allocation may reuse (the allocator).
    free: Mutex<Vec<usize>>,
}

impl World {
    fn new() -> World {
        let slot = |alive| Slot {
            alive: AtomicBool::new(alive),
            generation: AtomicUsize::new(0),
        };
        World {
            // Slot 0 starts registered; slot 1 is free memory.
            slots: [slot(true), slot(false)],
            interest: Mutex::new(vec![(0, 0)]),
            release: Mutex::new(Vec::new()),
            free: Mutex::new(vec![1]),
        }
    }

    /// `Registration::new`: allocate (reusing freed memory first), bump
    /// the generation, `epoll_ctl(ADD)`.
    fn register(&self) -> usize {
        let token = self.free.lock().unwrap().pop().expect("a free slot");
        let slot = &self.slots[token];
        let generation = slot.generation.load(Ordering::SeqCst) + 1;
        slot.generation.store(generation, Ordering::SeqCst);
        slot.alive.store(true, Ordering::SeqCst);
        self.interest.lock().unwrap().push((token, generation));
        token
    }

    /// `Registration::drop`: `epoll_ctl(DEL)`, then hand the poller's
    /// count to the release list (`IoShared::release_later`).
    fn deregister(&self, token: usize) {
        self.interest.lock().unwrap().retain(|&(t, _)| t != token);
        self.release.lock().unwrap().push(token);
    }

    /// `Reactor::poll`: take the release list, `epoll_wait`, dispatch,
    /// then free what was taken.
    fn poll_cycle(&self) {
        let releasable = std::mem::take(&mut *self.release.lock().unwrap());
        let events = self.interest.lock().unwrap().clone();
        for (token, generation) in events {
            let slot = &self.slots[token];
            assert!(
                slot.alive.load(Ordering::SeqCst),
                "an event named freed memory"
            );
            assert_eq!(
                slot.generation.load(Ordering::SeqCst),
                generation,
                "an old registration's event reached a new one"
            );
        }
        for token in releasable {
            self.slots[token].alive.store(false, Ordering::SeqCst);
            self.free.lock().unwrap().push(token);
        }
    }
}

/// A socket closed on another thread, and a new one registered right
/// after (reusing the freed address if the worker freed it by then),
/// against two poll cycles of the worker: no event is dispatched into
/// freed memory or into the wrong registration.
#[test]
fn loom_released_token_is_never_dispatched() {
    loom::model(|| {
        let world = Arc::new(World::new());
        let w = world.clone();
        let closer = thread::spawn(move || {
            w.deregister(0);
            // Registers in slot 1, or in slot 0 if already freed.
            let token = w.register();
            w.deregister(token);
        });
        world.poll_cycle();
        world.poll_cycle();
        closer.join().unwrap();
        world.poll_cycle();
        world.poll_cycle();
        // Everything released was freed after two quiet cycles.
        assert!(world.release.lock().unwrap().is_empty());
        assert!(world.slots.iter().all(|s| !s.alive.load(Ordering::SeqCst)));
    });
}

/// The model catches the bug it is for: freeing released entries
/// *before* the cycle's dispatch (right after `epoll_wait`) lets a stale
/// event reach freed memory in some interleaving.
#[test]
#[should_panic]
fn loom_freeing_before_dispatch_is_caught() {
    loom::model(|| {
        let world = Arc::new(World::new());
        let w = world.clone();
        let closer = thread::spawn(move || w.deregister(0));
        // The broken cycle: epoll_wait, then free, then dispatch.
        let events = world.interest.lock().unwrap().clone();
        for token in std::mem::take(&mut *world.release.lock().unwrap()) {
            world.slots[token].alive.store(false, Ordering::SeqCst);
        }
        for (token, _) in events {
            assert!(world.slots[token].alive.load(Ordering::SeqCst));
        }
        closer.join().unwrap();
    });
}
