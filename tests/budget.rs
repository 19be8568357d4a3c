//! The fairness budget: a coroutine whose channel is never empty must
//! still let its neighbours run, long before it finishes.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{runtime, with_timeout};
use weft::sync::mpsc;

const MESSAGES: usize = 1_000_000;

#[test]
fn a_coroutine_draining_a_full_channel_lets_its_neighbour_run() {
    with_timeout(60, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let (tx, rx) = mpsc::channel();
            for i in 0..MESSAGES {
                tx.send(i).unwrap();
            }
            let consumed = Arc::new(AtomicUsize::new(0));
            let c = consumed.clone();
            // Never parks: every recv finds a message.
            let greedy = weft::spawn(move || {
                for _ in 0..MESSAGES {
                    rx.recv().unwrap();
                    c.fetch_add(1, Ordering::Relaxed);
                }
            });
            let c = consumed.clone();
            let neighbour = weft::spawn(move || c.load(Ordering::Relaxed));
            let seen = neighbour.join().unwrap();
            greedy.join().unwrap();
            assert_eq!(consumed.load(Ordering::Relaxed), MESSAGES);
            // The neighbour ran after a few budgets, not after a million
            // receives.
            assert!(seen < MESSAGES / 100, "neighbour ran after {seen} receives");
        });
    });
}

#[test]
fn a_coroutine_relocking_a_free_mutex_lets_its_neighbour_run() {
    with_timeout(60, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let m = Arc::new(weft::sync::Mutex::new(0usize));
            let m2 = m.clone();
            let greedy = weft::spawn(move || {
                for _ in 0..MESSAGES {
                    *m2.lock().unwrap() += 1;
                }
            });
            let m3 = m.clone();
            let neighbour = weft::spawn(move || *m3.lock().unwrap());
            let seen = neighbour.join().unwrap();
            greedy.join().unwrap();
            assert!(seen < MESSAGES / 100, "neighbour ran after {seen} locks");
        });
    });
}
