//! The runtimes every criterion bench compares, built alike: the same
//! worker count for each peer (`WEFT_BENCH_WORKERS`, default 2).
//! Included with `#[path]`; each bench uses a subset.
#![allow(dead_code)]

/// The number of worker threads every peer gets: `WEFT_BENCH_WORKERS`,
/// default 2.
pub fn workers() -> usize {
    std::env::var("WEFT_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

/// tokio's multi-thread runtime with [`workers`] workers, I/O and timers on.
pub fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .enable_all()
        .build()
        .unwrap()
}

/// A weft runtime with [`workers`] workers.
pub fn weft_rt() -> weft::Runtime {
    weft::Runtime::builder().workers(workers()).build().unwrap()
}
