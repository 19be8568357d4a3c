//! `coroutine_local!`: one value per coroutine, made lazily, dropped
//! exactly once when the coroutine ends however it ends.

mod common;

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{runtime, with_timeout};

static CREATED: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Counts its creations and drops.
struct Tracked(u64);

impl Tracked {
    fn new() -> Tracked {
        CREATED.fetch_add(1, Ordering::SeqCst);
        Tracked(0)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

weft::coroutine_local! {
    static TRACKED: RefCell<Tracked> = RefCell::new(Tracked::new());
    static COUNTER: Cell<u64> = const { Cell::new(0) };
}

/// All tests that count creations/drops run in this one test, in order,
/// so the global counters are not shared between parallel tests.
#[test]
fn values_are_isolated_lazy_and_dropped_exactly_once() {
    with_timeout(30, || {
        let rt = runtime(1);

        // 1,000 coroutines on one worker, interleaving at every step.
        let hs: Vec<_> = (0..1000u64)
            .map(|i| {
                rt.spawn(move || {
                    for step in 0..5 {
                        TRACKED.with_borrow_mut(|t| t.0 += i);
                        COUNTER.set(COUNTER.get() + 1);
                        weft::yield_now();
                        assert_eq!(TRACKED.with_borrow(|t| t.0), i * (step + 1));
                    }
                    COUNTER.get()
                })
            })
            .collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), 5);
        }
        assert_eq!(CREATED.load(Ordering::SeqCst), 1000);
        assert_eq!(DROPPED.load(Ordering::SeqCst), 1000);

        // A coroutine that never touches the key creates no value.
        rt.spawn(|| COUNTER.get()).join().unwrap();
        assert_eq!(CREATED.load(Ordering::SeqCst), 1000);

        // Dropped after a panic...
        let h = rt.spawn(|| {
            TRACKED.with_borrow_mut(|t| t.0 = 1);
            panic!("handler failed");
        });
        assert!(h.join().is_err());
        assert_eq!(DROPPED.load(Ordering::SeqCst), 1001);

        // ...and after a cancel.
        let h = rt.spawn(|| {
            TRACKED.with_borrow_mut(|t| t.0 = 1);
            weft::sleep(Duration::from_secs(3600));
        });
        while CREATED.load(Ordering::SeqCst) < 1002 {
            std::thread::yield_now();
        }
        h.cancel();
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
        assert_eq!(DROPPED.load(Ordering::SeqCst), 1002);

        // Outside coroutines it is a thread local.
        COUNTER.set(41);
        let other = std::thread::spawn(|| COUNTER.get()).join().unwrap();
        assert_eq!((COUNTER.get(), other), (41, 0));
    });
}

weft::coroutine_local! {
    static OUTER: Cell<u32> = Cell::new(INNER.with(|i| i.get()) + 1);
    static INNER: Cell<u32> = const { Cell::new(10) };
}

#[test]
fn an_initialiser_and_a_closure_may_use_other_keys() {
    with_timeout(10, || {
        let h = weft::spawn(|| OUTER.with(|o| INNER.with(|i| o.get() + i.get())));
        assert_eq!(h.join().unwrap(), 21);
    });
}

#[test]
fn try_with_fails_only_while_a_thread_destroys_its_locals() {
    use std::sync::atomic::{AtomicU8, Ordering};
    /// 0: not dropped yet; 1: try_with succeeded; 2: it failed.
    static SEEN: AtomicU8 = AtomicU8::new(0);
    struct UsesKeyOnDrop;
    impl Drop for UsesKeyOnDrop {
        fn drop(&mut self) {
            let r = OTHER.try_with(|v| *v);
            SEEN.store(if r.is_ok() { 1 } else { 2 }, Ordering::SeqCst);
        }
    }
    weft::coroutine_local! {
        static DROPPER: UsesKeyOnDrop = UsesKeyOnDrop;
        static OTHER: u32 = 5;
    }
    with_timeout(10, || {
        // In a coroutine, even a destructor at its end gets a value.
        let h = weft::spawn(|| {
            DROPPER.with(|_| ());
            OTHER.try_with(|v| *v)
        });
        assert_eq!(h.join().unwrap(), Ok(5));
        assert_eq!(SEEN.swap(0, Ordering::SeqCst), 1);
        // On a plain thread exiting, the locals' map is being destroyed.
        std::thread::spawn(|| DROPPER.with(|_| ())).join().unwrap();
        assert_eq!(SEEN.load(Ordering::SeqCst), 2);
    });
}
