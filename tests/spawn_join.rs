//! Spawning and joining, from threads and from coroutines.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{runtime, with_timeout};

#[test]
fn spawn_and_join_from_a_thread() {
    with_timeout(10, || {
        let h = weft::spawn(|| 40 + 2);
        assert_eq!(h.join().unwrap(), 42);
        assert!(!weft::in_coroutine());
    });
}

#[test]
fn join_from_a_coroutine_parks_it() {
    with_timeout(10, || {
        let rt = runtime(1);
        // On one worker, the joiner must park for the child to run at all.
        let v = rt.block_on(|| {
            let child = weft::spawn(|| {
                weft::sleep(Duration::from_millis(5));
                7
            });
            child.join().unwrap()
        });
        assert_eq!(v, 7);
    });
}

#[test]
fn nested_spawns_form_a_tree() {
    fn tree(depth: u32) -> u64 {
        if depth == 0 {
            return 1;
        }
        let l = weft::spawn(move || tree(depth - 1));
        let r = weft::spawn(move || tree(depth - 1));
        l.join().unwrap() + r.join().unwrap()
    }
    with_timeout(30, || {
        let rt = runtime(2);
        assert_eq!(rt.block_on(|| tree(12)), 4096);
    });
}

#[test]
fn many_joins_from_many_threads() {
    with_timeout(30, || {
        let rt = Arc::new(runtime(2));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let rt = rt.clone();
                std::thread::spawn(move || {
                    let hs: Vec<_> = (0..2000)
                        .map(|i| rt.spawn(move || t * 10_000 + i))
                        .collect();
                    hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
                })
            })
            .collect();
        let total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        let expected: u64 = (0..4u64)
            .map(|t| (0..2000u64).map(|i| t * 10_000 + i).sum::<u64>())
            .sum();
        assert_eq!(total, expected);
    });
}

#[test]
fn block_on_may_borrow_from_the_caller() {
    with_timeout(10, || {
        let rt = runtime(2);
        let data = String::from("abc");
        let counter = AtomicUsize::new(0);
        let sum = rt.block_on(|| {
            counter.fetch_add(1, Ordering::SeqCst);
            data.len() as i32 * 2
        });
        assert_eq!(sum, 6);
        assert_eq!(counter.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn is_finished_and_ids() {
    with_timeout(10, || {
        let rt = runtime(1);
        let (a, b) = (rt.spawn(|| ()), rt.spawn(|| ()));
        assert_ne!(a.id(), b.id());
        while !a.is_finished() {
            std::thread::yield_now();
        }
        a.join().unwrap();
        b.join().unwrap();
    });
}

#[test]
fn current_and_in_coroutine() {
    with_timeout(10, || {
        assert!(weft::current().is_none());
        let h = weft::spawn(|| (weft::in_coroutine(), weft::current().unwrap().id()));
        let id = h.id();
        assert_eq!(h.join().unwrap(), (true, id));
    });
}

#[test]
fn go_macro_moves_its_captures() {
    with_timeout(10, || {
        let v = String::from("abc");
        let h = weft::go! { v.len() };
        assert_eq!(h.join().unwrap(), 3);
    });
}

#[test]
fn park_and_unpark() {
    with_timeout(10, || {
        let h = weft::spawn(|| {
            weft::park();
            "unparked"
        });
        std::thread::sleep(Duration::from_millis(5));
        h.coroutine().unpark();
        assert_eq!(h.join().unwrap(), "unparked");
    });
}
