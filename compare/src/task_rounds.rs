//! N tasks that each sleep or yield for a number of rounds, on weft and
//! on tokio, and the least of a few runs: shared by
//! `src/bin/timer_scale.rs` and `src/bin/yield_scale.rs` (which include
//! this file by path).

use std::time::Duration;

/// How many runs `least` takes the least of: other processes share the
/// machine, and they only ever add.
pub const REPEAT: usize = 3;

/// The least of `REPEAT` runs of `f`.
pub fn least(mut f: impl FnMut() -> Duration) -> Duration {
    (0..REPEAT).map(|_| f()).min().unwrap()
}

/// Task `i`'s sleep: distinct for every task (1 ms + i * 2 µs).
pub fn dur(i: usize) -> Duration {
    Duration::from_millis(1) + Duration::from_micros(2 * i as u64)
}

/// `n` coroutines that each sleep `dur(i)` (or yield) `rounds` times;
/// returns once all have finished.
pub fn weft_tasks(n: usize, rounds: usize, sleep: bool) {
    let hs: Vec<_> = (0..n)
        .map(|i| {
            weft::spawn(move || {
                for _ in 0..rounds {
                    if sleep {
                        weft::sleep(dur(i));
                    } else {
                        weft::yield_now();
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

/// The same with tokio tasks.
pub async fn tokio_tasks(n: usize, rounds: usize, sleep: bool) {
    let hs: Vec<_> = (0..n)
        .map(|i| {
            tokio::spawn(async move {
                for _ in 0..rounds {
                    if sleep {
                        tokio::time::sleep(dur(i)).await;
                    } else {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}
