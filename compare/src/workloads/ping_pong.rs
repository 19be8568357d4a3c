//! `ping_pong`: one message goes back and forth between two tasks over two
//! unbounded channels, [`PING_PONGS`] round trips. Each hop is a send that
//! wakes a parked receiver, so this measures the wake-up path: channel
//! hand-off, unpark, and the switch into the woken task.
//!
//! Channels: `weft::sync::mpsc`, `tokio::sync::mpsc::unbounded_channel`,
//! `smol::channel::unbounded` (async-channel), `may::sync::mpsc`,
//! `std::sync::mpsc`: each peer's own unbounded MPSC channel.

use std::sync::Arc;

use super::PING_PONGS;

pub fn weft() {
    let (to_ponger, from_pinger) = weft::sync::mpsc::channel::<u64>();
    let (to_pinger, from_ponger) = weft::sync::mpsc::channel::<u64>();
    let ponger = weft::spawn(move || {
        for v in from_pinger {
            to_pinger.send(v + 1).unwrap();
        }
    });
    for i in 0..PING_PONGS {
        to_ponger.send(i).unwrap();
        assert_eq!(from_ponger.recv().unwrap(), i + 1);
    }
    drop(to_ponger);
    ponger.join().unwrap();
}

pub async fn tokio() {
    let (to_ponger, mut from_pinger) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let (to_pinger, mut from_ponger) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let ponger = tokio::spawn(async move {
        while let Some(v) = from_pinger.recv().await {
            to_pinger.send(v + 1).unwrap();
        }
    });
    for i in 0..PING_PONGS {
        to_ponger.send(i).unwrap();
        assert_eq!(from_ponger.recv().await.unwrap(), i + 1);
    }
    drop(to_ponger);
    ponger.await.unwrap();
}

pub async fn smol(ex: Arc<smol::Executor<'static>>) {
    let (to_ponger, from_pinger) = smol::channel::unbounded::<u64>();
    let (to_pinger, from_ponger) = smol::channel::unbounded::<u64>();
    let ponger = ex.spawn(async move {
        while let Ok(v) = from_pinger.recv().await {
            to_pinger.send(v + 1).await.unwrap();
        }
    });
    for i in 0..PING_PONGS {
        to_ponger.send(i).await.unwrap();
        assert_eq!(from_ponger.recv().await.unwrap(), i + 1);
    }
    drop(to_ponger);
    ponger.await;
}

pub fn may() {
    let (to_ponger, from_pinger) = may::sync::mpsc::channel::<u64>();
    let (to_pinger, from_ponger) = may::sync::mpsc::channel::<u64>();
    let ponger = may::go!(move || {
        for v in from_pinger {
            to_pinger.send(v + 1).unwrap();
        }
    });
    for i in 0..PING_PONGS {
        to_ponger.send(i).unwrap();
        assert_eq!(from_ponger.recv().unwrap(), i + 1);
    }
    drop(to_ponger);
    ponger.join().unwrap();
}

pub fn threads() {
    let (to_ponger, from_pinger) = std::sync::mpsc::channel::<u64>();
    let (to_pinger, from_ponger) = std::sync::mpsc::channel::<u64>();
    let ponger = std::thread::spawn(move || {
        for v in from_pinger {
            to_pinger.send(v + 1).unwrap();
        }
    });
    for i in 0..PING_PONGS {
        to_ponger.send(i).unwrap();
        assert_eq!(from_ponger.recv().unwrap(), i + 1);
    }
    drop(to_ponger);
    ponger.join().unwrap();
}
