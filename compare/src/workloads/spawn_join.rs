//! `spawn_join`: spawn [`SPAWNS`] tasks that each return their index, then
//! join them in order and check the sum. Measures the cost of creating,
//! scheduling, completing and joining one task.

use std::hint::black_box;
use std::sync::Arc;

use super::SPAWNS;

const SUM: u64 = SPAWNS * (SPAWNS - 1) / 2;

pub fn weft() {
    let hs: Vec<_> = (0..SPAWNS).map(|i| weft::spawn(move || i)).collect();
    let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(black_box(sum), SUM);
}

pub async fn tokio() {
    let hs: Vec<_> = (0..SPAWNS)
        .map(|i| tokio::spawn(async move { i }))
        .collect();
    let mut sum = 0;
    for h in hs {
        sum += h.await.unwrap();
    }
    assert_eq!(black_box(sum), SUM);
}

pub async fn smol(ex: Arc<smol::Executor<'static>>) {
    let hs: Vec<_> = (0..SPAWNS).map(|i| ex.spawn(async move { i })).collect();
    let mut sum = 0;
    for h in hs {
        sum += h.await;
    }
    assert_eq!(black_box(sum), SUM);
}

pub fn may() {
    let hs: Vec<_> = (0..SPAWNS).map(|i| may::go!(move || i)).collect();
    let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(black_box(sum), SUM);
}

pub fn threads() {
    let hs: Vec<_> = (0..SPAWNS).map(|i| std::thread::spawn(move || i)).collect();
    let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(black_box(sum), SUM);
}
