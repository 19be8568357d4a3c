//! `mutex`: [`LOCKERS`] tasks each lock one shared counter, increment it
//! and unlock, [`LOCKS_EACH`] times, then the total is checked. With two
//! workers the lock is contended between them, and a task that finds it
//! held waits the way its peer waits: weft and may park the coroutine,
//! tokio and smol suspend the future, threads sleep on a futex.
//!
//! Mutexes: `weft::sync::Mutex`, `tokio::sync::Mutex`, `smol::lock::Mutex`
//! (async-lock), `may::sync::Mutex`, `std::sync::Mutex`.

use std::sync::Arc;

use super::{LOCKERS, LOCKS_EACH};

const TOTAL: u64 = LOCKERS * LOCKS_EACH;

pub fn weft() {
    let counter = Arc::new(weft::sync::Mutex::new(0u64));
    let hs: Vec<_> = (0..LOCKERS)
        .map(|_| {
            let counter = counter.clone();
            weft::spawn(move || {
                for _ in 0..LOCKS_EACH {
                    *counter.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*counter.lock().unwrap(), TOTAL);
}

pub async fn tokio() {
    let counter = Arc::new(tokio::sync::Mutex::new(0u64));
    let hs: Vec<_> = (0..LOCKERS)
        .map(|_| {
            let counter = counter.clone();
            tokio::spawn(async move {
                for _ in 0..LOCKS_EACH {
                    *counter.lock().await += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    assert_eq!(*counter.lock().await, TOTAL);
}

pub async fn smol(ex: Arc<smol::Executor<'static>>) {
    let counter = Arc::new(smol::lock::Mutex::new(0u64));
    let hs: Vec<_> = (0..LOCKERS)
        .map(|_| {
            let counter = counter.clone();
            ex.spawn(async move {
                for _ in 0..LOCKS_EACH {
                    *counter.lock().await += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.await;
    }
    assert_eq!(*counter.lock().await, TOTAL);
}

pub fn may() {
    let counter = Arc::new(may::sync::Mutex::new(0u64));
    let hs: Vec<_> = (0..LOCKERS)
        .map(|_| {
            let counter = counter.clone();
            may::go!(move || {
                for _ in 0..LOCKS_EACH {
                    *counter.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*counter.lock().unwrap(), TOTAL);
}

pub fn threads() {
    let counter = Arc::new(std::sync::Mutex::new(0u64));
    let hs: Vec<_> = (0..LOCKERS)
        .map(|_| {
            let counter = counter.clone();
            std::thread::spawn(move || {
                for _ in 0..LOCKS_EACH {
                    *counter.lock().unwrap() += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*counter.lock().unwrap(), TOTAL);
}
