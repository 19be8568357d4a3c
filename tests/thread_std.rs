//! std's thread tests, ported: what `library/std/src/thread/tests.rs`
//! checks of `std::thread`, run against `weft::thread` (coroutines on a
//! runtime). Each test names the std behaviour it keeps.

mod common;

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use common::{runtime, with_timeout};
use weft::thread::{self, Builder, ThreadId};

#[test]
fn unnamed_coroutine_has_no_name() {
    with_timeout(10, || {
        thread::spawn(|| assert!(thread::current().name().is_none()))
            .join()
            .unwrap();
    });
}

#[test]
fn named_coroutine_sees_its_name() {
    with_timeout(10, || {
        let h = Builder::new()
            .name("ada lovelace".to_string())
            .spawn(|| assert_eq!(thread::current().name(), Some("ada lovelace")))
            .unwrap();
        assert_eq!(h.thread().name(), Some("ada lovelace"));
        h.join().unwrap();
    });
}

#[test]
fn plain_thread_current_is_the_os_thread() {
    with_timeout(10, || {
        let me = thread::current();
        assert_eq!(me.name(), std::thread::current().name());
        assert!(me.coroutine().is_none());
        // Its unpark is std's: a token for the next park.
        me.unpark();
        thread::park();
    });
}

#[test]
fn run_basic() {
    with_timeout(10, || {
        let (tx, rx) = channel();
        thread::spawn(move || tx.send(()).unwrap());
        rx.recv().unwrap();
    });
}

#[test]
fn spawn_from_a_coroutine_many_levels_deep() {
    with_timeout(10, || {
        fn f(i: u32, tx: std::sync::mpsc::Sender<()>) {
            if i == 0 {
                tx.send(()).unwrap();
            } else {
                thread::spawn(move || f(i - 1, tx));
            }
        }
        let (tx, rx) = channel();
        f(10, tx);
        rx.recv().unwrap();
    });
}

fn join_payload(f: impl FnOnce() + Send + 'static) -> Box<dyn Any + Send> {
    thread::spawn(f).join().unwrap_err()
}

#[test]
fn join_of_a_panic_with_a_static_str() {
    with_timeout(10, || {
        let payload = join_payload(|| panic!("static string"));
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"static string"));
    });
}

#[test]
fn join_of_a_panic_with_a_formatted_string() {
    with_timeout(10, || {
        let word = String::from("string");
        let payload = join_payload(move || panic!("owned {word}"));
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("owned string")
        );
    });
}

#[test]
fn join_of_a_panic_with_a_custom_payload() {
    #[derive(Debug, PartialEq)]
    struct Juju(u32);
    with_timeout(10, || {
        let payload = join_payload(|| std::panic::panic_any(Juju(1337)));
        assert_eq!(payload.downcast_ref::<Juju>(), Some(&Juju(1337)));
    });
}

#[test]
fn join_of_a_panic_with_a_boxed_any() {
    with_timeout(10, || {
        let payload = join_payload(|| std::panic::panic_any(Box::new(7u8) as Box<dyn Any + Send>));
        let inner = payload.downcast::<Box<dyn Any + Send>>().unwrap();
        assert_eq!(inner.downcast_ref::<u8>(), Some(&7));
    });
}

#[test]
fn park_returns_after_an_unpark_made_before_it() {
    with_timeout(10, || {
        let h = thread::spawn(|| {
            thread::current().unpark();
            thread::park(); // the token is waiting: returns at once
            // A token is not kept across unparks: it does not accumulate.
            thread::current().unpark();
            thread::current().unpark();
            thread::park();
        });
        h.join().unwrap();
    });
}

#[test]
fn unpark_before_park_survives_a_sleep_in_between() {
    with_timeout(10, || {
        let h = thread::spawn(|| {
            thread::current().unpark();
            // weft's own waits park too; they must not eat the token.
            thread::sleep(Duration::from_millis(5));
            thread::park();
        });
        h.join().unwrap();
    });
}

#[test]
fn unpark_after_park_wakes_it() {
    with_timeout(10, || {
        let rt = runtime(1);
        let parked = Arc::new(AtomicBool::new(false));
        let go = Arc::new(AtomicBool::new(false));
        let (p, g) = (parked.clone(), go.clone());
        let h = thread::JoinHandle::from(rt.spawn(move || {
            p.store(true, Ordering::SeqCst);
            while !g.load(Ordering::SeqCst) {
                thread::park();
            }
        }));
        while !parked.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(10));
        go.store(true, Ordering::SeqCst);
        h.thread().unpark();
        h.join().unwrap();
    });
}

#[test]
fn park_timeout_without_unpark_times_out() {
    with_timeout(10, || {
        let h = thread::spawn(|| {
            let start = Instant::now();
            thread::park_timeout(Duration::from_millis(30));
            start.elapsed()
        });
        assert!(h.join().unwrap() >= Duration::from_millis(30));
    });
}

#[test]
fn park_timeout_with_an_unpark_returns_early() {
    with_timeout(10, || {
        let h = thread::spawn(|| {
            let start = Instant::now();
            thread::park_timeout(Duration::from_secs(60));
            start.elapsed()
        });
        h.thread().unpark();
        assert!(h.join().unwrap() < Duration::from_secs(30));
    });
}

#[test]
fn park_timeout_after_an_unpark_returns_at_once() {
    with_timeout(10, || {
        let h = thread::spawn(|| {
            thread::current().unpark();
            let start = Instant::now();
            thread::park_timeout(Duration::from_secs(60));
            start.elapsed()
        });
        assert!(h.join().unwrap() < Duration::from_secs(30));
    });
}

#[test]
fn ids_are_equal_for_the_same_coroutine_and_differ_otherwise() {
    with_timeout(10, || {
        let h = thread::spawn(|| (thread::current().id(), thread::current().id()));
        let spawned: ThreadId = h.thread().id();
        let (a, b) = h.join().unwrap();
        assert_eq!(a, b);
        assert_eq!(a, spawned);
        let other = thread::spawn(|| thread::current().id()).join().unwrap();
        assert_ne!(a, other);
        assert_ne!(a, thread::current().id());
        let os = std::thread::spawn(|| thread::current().id())
            .join()
            .unwrap();
        assert_ne!(os, thread::current().id());
        assert_eq!(thread::current().id(), thread::current().id());
    });
}

#[test]
fn is_finished_turns_true_when_the_coroutine_ends() {
    with_timeout(10, || {
        let (tx, rx) = channel::<()>();
        let h = thread::spawn(move || {
            let _ = rx.recv();
        });
        std::thread::sleep(Duration::from_millis(10));
        assert!(!h.is_finished());
        drop(tx);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !h.is_finished() {
            assert!(Instant::now() < deadline, "never finished");
            std::thread::sleep(Duration::from_millis(1));
        }
        h.join().unwrap();
    });
}

#[test]
fn sleep_until_waits_for_the_deadline() {
    with_timeout(10, || {
        let deadline = Instant::now() + Duration::from_millis(20);
        thread::spawn(move || thread::sleep_until(deadline))
            .join()
            .unwrap();
        assert!(Instant::now() >= deadline);
    });
}

#[test]
fn available_parallelism_is_std_s() {
    assert_eq!(
        thread::available_parallelism().unwrap(),
        std::thread::available_parallelism().unwrap()
    );
}

#[test]
fn scoped_spawns_borrow_from_the_caller() {
    with_timeout(10, || {
        let mut a = vec![1, 2, 3];
        let mut x = 0;
        thread::scope(|s| {
            s.spawn(|| assert_eq!(a.len(), 3));
            s.spawn(|| x += a[0] + a[2]);
        });
        a.push(4);
        assert_eq!(x, a.len());
    });
}

#[test]
fn scoped_results_dropped_before_the_scope_ends() {
    with_timeout(10, || {
        // Results borrowing from the environment, left unjoined: the
        // scope drops them before it returns.
        let drops = AtomicUsize::new(0);
        struct Counted<'a>(&'a AtomicUsize);
        impl Drop for Counted<'_> {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        thread::scope(|s| {
            for _ in 0..8 {
                let h = s.spawn(|| Counted(&drops));
                drop(h);
            }
            let joined = s.spawn(|| Counted(&drops)).join().unwrap();
            drop(joined);
        });
        assert_eq!(drops.load(Ordering::SeqCst), 9);
    });
}

#[test]
fn scope_returns_the_closure_value_and_joins_give_results() {
    with_timeout(10, || {
        let v: Vec<u64> = (1..=100).collect();
        let total = thread::scope(|s| {
            let hs: Vec<_> = v
                .chunks(10)
                .map(|c| s.spawn(move || c.iter().sum::<u64>()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        });
        assert_eq!(total, 5050);
    });
}

#[test]
fn scoped_builder_names_the_coroutine() {
    with_timeout(10, || {
        thread::scope(|s| {
            let h = Builder::new()
                .name("scoped".into())
                .spawn_scoped(s, || thread::current().name().map(String::from))
                .unwrap();
            assert_eq!(h.thread().name(), Some("scoped"));
            assert_eq!(h.join().unwrap().as_deref(), Some("scoped"));
        });
    });
}

/// std: `panicking()` is true only while this thread unwinds; weft's is
/// per coroutine, so a neighbour's unwind is not seen.
#[test]
fn panicking_is_true_only_in_the_unwinding_coroutine() {
    with_timeout(10, || {
        struct SeesUnwind(Arc<AtomicBool>);
        impl Drop for SeesUnwind {
            fn drop(&mut self) {
                self.0.store(thread::panicking(), Ordering::SeqCst);
            }
        }
        let seen = Arc::new(AtomicBool::new(false));
        let s = seen.clone();
        let h = thread::spawn(move || {
            assert!(!thread::panicking());
            let _guard = SeesUnwind(s);
            panic!("unwinding on purpose");
        });
        assert!(h.join().is_err());
        assert!(seen.load(Ordering::SeqCst), "the drop ran while unwinding");
        assert!(!thread::panicking());
        assert!(!thread::spawn(thread::panicking).join().unwrap());
    });
}
