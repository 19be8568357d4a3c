//! A panic in a coroutine reaches its `join`; the worker goes on serving.

mod common;

use common::{runtime, with_timeout};

#[test]
fn a_panic_is_returned_by_join_and_the_worker_goes_on() {
    with_timeout(10, || {
        let rt = runtime(1);
        let bad = rt.spawn(|| -> u32 { panic!("boom in a coroutine") });
        let err = bad.join().unwrap_err();
        assert_eq!(err.downcast_ref::<&str>(), Some(&"boom in a coroutine"));
        // The single worker survived and runs more coroutines.
        let good: Vec<_> = (0..100).map(|i| rt.spawn(move || i)).collect();
        assert_eq!(
            good.into_iter().map(|h| h.join().unwrap()).sum::<u32>(),
            4950
        );
    });
}

#[test]
fn many_panics_among_many_successes() {
    with_timeout(20, || {
        let rt = runtime(2);
        let hs: Vec<_> = (0..1000)
            .map(|i| {
                rt.spawn(move || {
                    weft::yield_now();
                    if i % 3 == 0 {
                        panic!("coroutine {i} fails");
                    }
                    i
                })
            })
            .collect();
        let (mut ok, mut failed) = (0, 0);
        for h in hs {
            match h.join() {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert!(e.downcast_ref::<String>().unwrap().ends_with("fails"));
                    failed += 1;
                }
            }
        }
        assert_eq!((ok, failed), (666, 334));
    });
}

#[test]
fn block_on_resumes_the_panic() {
    with_timeout(10, || {
        let rt = runtime(1);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(|| panic!("inner"))
        }));
        assert!(r.is_err());
        assert_eq!(rt.block_on(|| 1), 1);
    });
}
