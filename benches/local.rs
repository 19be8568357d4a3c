//! `coroutine_local!` access beside `thread_local!`, inside a coroutine
//! and on a plain thread. Reported per access.
//!
//! Run: `cargo bench --bench local`.

use std::cell::Cell;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

weft::coroutine_local! {
    static CO_COUNTER: Cell<u64> = const { Cell::new(0) };
}

thread_local! {
    static TH_COUNTER: Cell<u64> = const { Cell::new(0) };
}

const ACCESSES: u64 = 10_000;

fn local_access(c: &mut Criterion) {
    let mut g = c.benchmark_group("local_access");
    g.throughput(Throughput::Elements(ACCESSES));

    g.bench_function("thread_local", |b| {
        b.iter(|| {
            for _ in 0..ACCESSES {
                TH_COUNTER.with(|c| c.set(black_box(c.get() + 1)));
            }
        })
    });
    g.bench_function("coroutine_local/thread", |b| {
        b.iter(|| {
            for _ in 0..ACCESSES {
                CO_COUNTER.with(|c| c.set(black_box(c.get() + 1)));
            }
        })
    });

    let rt = weft::Runtime::builder().workers(1).build().unwrap();
    g.bench_function("coroutine_local/coroutine", |b| {
        b.iter_custom(|iters| {
            rt.block_on(|| {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    for _ in 0..ACCESSES {
                        CO_COUNTER.with(|c| c.set(black_box(c.get() + 1)));
                    }
                }
                start.elapsed()
            })
        })
    });
    g.bench_function("thread_local/coroutine", |b| {
        b.iter_custom(|iters| {
            rt.block_on(|| {
                let start = std::time::Instant::now();
                for _ in 0..iters {
                    for _ in 0..ACCESSES {
                        TH_COUNTER.with(|c| c.set(black_box(c.get() + 1)));
                    }
                }
                start.elapsed()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, local_access);
criterion_main!(benches);
