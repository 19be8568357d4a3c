//! `loom` model of the idle-worker protocol: a coroutine queued by a
//! spawner is never stranded while every worker sleeps.
//!
//! Run with `RUSTFLAGS="--cfg weft_loom" cargo test --release --lib loom`.

use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;

use crate::rt::scheduler::Idle;

/// One worker goes idle (search found nothing, so it sleeps) while a
/// spawner queues work and notifies. Afterwards, either the worker saw the
/// work before sleeping, or the spawner picked it to wake.
fn model(workers: usize) {
    let mut builder = loom::model::Builder::new();
    // Bounded preemption keeps the two-worker model to seconds; bugs of
    // this protocol need at most two preemptions to show.
    builder.preemption_bound = Some(3);
    builder.check(move || {
        let idle = Arc::new(Idle::new());
        let queued = Arc::new(AtomicUsize::new(0));
        let woken: Arc<Vec<AtomicBool>> =
            Arc::new((0..workers).map(|_| AtomicBool::new(false)).collect());
        let saw_work: Arc<Vec<AtomicBool>> =
            Arc::new((0..workers).map(|_| AtomicBool::new(false)).collect());

        let spawner = {
            let (idle, queued, woken) = (idle.clone(), queued.clone(), woken.clone());
            thread::spawn(move || {
                queued.fetch_add(1, Ordering::SeqCst);
                if let Some(w) = idle.worker_to_notify() {
                    woken[w].store(true, Ordering::SeqCst);
                }
            })
        };
        let threads: Vec<_> = (0..workers)
            .map(|i| {
                let (idle, queued, saw) = (idle.clone(), queued.clone(), saw_work.clone());
                thread::spawn(move || {
                    idle.begin_search();
                    if queued.load(Ordering::SeqCst) > 0 {
                        idle.end_search();
                        saw[i].store(true, Ordering::SeqCst);
                        return;
                    }
                    let last = idle.sleep(i, true);
                    if last && queued.load(Ordering::SeqCst) > 0 {
                        idle.unsleep(i);
                        saw[i].store(true, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        spawner.join().unwrap();
        for t in threads {
            t.join().unwrap();
        }
        let someone_saw = (0..workers).any(|i| saw_work[i].load(Ordering::SeqCst));
        let someone_woken = (0..workers).any(|i| woken[i].load(Ordering::SeqCst));
        assert!(
            someone_saw || someone_woken,
            "queued work stranded while all workers sleep"
        );
    });
}

#[test]
fn loom_idle_one_worker_never_strands_work() {
    model(1);
}

#[test]
fn loom_idle_two_workers_never_strand_work() {
    model(2);
}
