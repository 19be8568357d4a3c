//! `yield`: [`YIELD_TASKS`] tasks each yield [`YIELDS`] times, all at
//! once. Measures a switch out to the scheduler and back in, with a crowd
//! of other ready tasks in the run queues.

use std::sync::Arc;

use super::{YIELD_TASKS, YIELDS};

pub fn weft() {
    let hs: Vec<_> = (0..YIELD_TASKS)
        .map(|_| {
            weft::spawn(|| {
                for _ in 0..YIELDS {
                    weft::yield_now();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

pub async fn tokio() {
    let hs: Vec<_> = (0..YIELD_TASKS)
        .map(|_| {
            tokio::spawn(async {
                for _ in 0..YIELDS {
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}

pub async fn smol(ex: Arc<smol::Executor<'static>>) {
    let hs: Vec<_> = (0..YIELD_TASKS)
        .map(|_| {
            ex.spawn(async {
                for _ in 0..YIELDS {
                    smol::future::yield_now().await;
                }
            })
        })
        .collect();
    for h in hs {
        h.await;
    }
}

pub fn may() {
    let hs: Vec<_> = (0..YIELD_TASKS)
        .map(|_| {
            may::go!(|| {
                for _ in 0..YIELDS {
                    may::coroutine::yield_now();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

pub fn threads() {
    let hs: Vec<_> = (0..YIELD_TASKS)
        .map(|_| {
            std::thread::spawn(|| {
                for _ in 0..YIELDS {
                    std::thread::yield_now();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}
