//! Handoffs under spurious wake-ups: a waiter handed a grant (Semaphore
//! permits, a Mutex handed to a starving waiter, RwLock shares) may see
//! its token without the list's lock after any return from `park`, so
//! the waker must be done with the waiter before it publishes the token.
//! Here a thread unparks every waiter in a loop (each unpark that lands
//! while a waiter is parked is a spurious return) while coroutines on two
//! workers and plain threads pass the locks around; every holder checks
//! that it is alone.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use common::{runtime, with_timeout};
use weft::sync::{Mutex, RwLock, Semaphore};

const COROUTINES: usize = 16;
const THREADS: usize = 2;
const ROUNDS: usize = 300;

/// What every participant shares.
struct Shared {
    sem: Semaphore,
    in_sem: AtomicUsize,
    mutex: Mutex<usize>,
    in_mutex: AtomicUsize,
    rwlock: RwLock<usize>,
    writers: AtomicUsize,
    readers: AtomicUsize,
    /// Set if any holder found company.
    crowded: AtomicBool,
}

impl Shared {
    fn alone<'a>(&'a self, count: &'a AtomicUsize) -> Alone<'a> {
        if count.fetch_add(1, Ordering::SeqCst) != 0 {
            self.crowded.store(true, Ordering::SeqCst);
        }
        Alone(count)
    }
}

/// Leaves a one-holder section.
struct Alone<'a>(&'a AtomicUsize);

impl Drop for Alone<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One participant's rounds: the semaphore, the mutex (sometimes held
/// past the 1 ms starvation bound, so the next waiter is handed the lock),
/// then the rwlock.
fn rounds(s: &Shared, id: usize, yield_inside: fn()) {
    for round in 0..ROUNDS {
        {
            let _permit = s.sem.acquire();
            let _alone = s.alone(&s.in_sem);
            yield_inside();
        }
        {
            let mut guard = s.mutex.lock().unwrap();
            let _alone = s.alone(&s.in_mutex);
            *guard += 1;
            if round % 50 == id % 50 {
                weft::sleep(Duration::from_micros(1500));
            } else {
                yield_inside();
            }
        }
        if round % 4 == id % 4 {
            let mut guard = s.rwlock.write().unwrap();
            let _alone = s.alone(&s.writers);
            if s.readers.load(Ordering::SeqCst) != 0 {
                s.crowded.store(true, Ordering::SeqCst);
            }
            *guard += 1;
            yield_inside();
        } else {
            let _guard = s.rwlock.read().unwrap();
            s.readers.fetch_add(1, Ordering::SeqCst);
            if s.writers.load(Ordering::SeqCst) != 0 {
                s.crowded.store(true, Ordering::SeqCst);
            }
            if round % 2 == 0 {
                // Or unlock at once: a granted reader's unlock races with
                // the end of the writer's handover.
                yield_inside();
            }
            s.readers.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[test]
fn grants_stay_exclusive_under_spurious_wakeups() {
    with_timeout(120, || {
        let rt = runtime(2);
        let shared = Arc::new(Shared {
            sem: Semaphore::new(1),
            in_sem: AtomicUsize::new(0),
            mutex: Mutex::new(0),
            in_mutex: AtomicUsize::new(0),
            rwlock: RwLock::new(0),
            writers: AtomicUsize::new(0),
            readers: AtomicUsize::new(0),
            crowded: AtomicBool::new(false),
        });
        let coroutines: Vec<_> = (0..COROUTINES)
            .map(|id| {
                let s = shared.clone();
                rt.spawn(move || rounds(&s, id, weft::yield_now))
            })
            .collect();
        let threads: Vec<_> = (0..THREADS)
            .map(|id| {
                let s = shared.clone();
                thread::spawn(move || rounds(&s, COROUTINES + id, thread::yield_now))
            })
            .collect();
        let done = Arc::new(AtomicBool::new(false));
        let unparks = Arc::new(AtomicUsize::new(0));
        let unparker = {
            let targets: Vec<_> = coroutines.iter().map(|h| h.coroutine().clone()).collect();
            let threads: Vec<_> = threads.iter().map(|h| h.thread().clone()).collect();
            let (done, unparks) = (done.clone(), unparks.clone());
            thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    for c in &targets {
                        c.unpark();
                    }
                    for t in &threads {
                        t.unpark();
                    }
                    unparks.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        for h in coroutines {
            h.join().unwrap();
        }
        for t in threads {
            t.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        unparker.join().unwrap();
        assert!(
            !shared.crowded.load(Ordering::SeqCst),
            "two holders at once"
        );
        let participants = COROUTINES + THREADS;
        assert_eq!(*shared.mutex.lock().unwrap(), participants * ROUNDS);
        assert_eq!(shared.sem.available_permits(), 1);
        assert!(
            shared.rwlock.try_write().is_ok(),
            "the rwlock is still held"
        );
        assert!(unparks.load(Ordering::Relaxed) > 0);
    });
}
