//! weft's sync primitives are `UnwindSafe`/`RefUnwindSafe` where std's
//! are, so code that catches a panic around a lock compiles unchanged
//! (a compile test: the assertions below are checked by the type
//! checker; the one test also runs them).

use std::panic::{RefUnwindSafe, UnwindSafe, catch_unwind};

use weft::sync::{
    Barrier, Condvar, LazyLock, Mutex, Once, OnceLock, RwLock, Semaphore, WaitGroup, mpsc, oneshot,
};

fn both<T: UnwindSafe + RefUnwindSafe>() {}

#[test]
fn primitives_are_unwind_safe_like_std_s() {
    both::<Mutex<Vec<u8>>>();
    both::<RwLock<Vec<u8>>>();
    both::<Condvar>();
    both::<Barrier>();
    both::<Once>();
    both::<OnceLock<String>>();
    both::<LazyLock<String>>();
    both::<Semaphore>();
    both::<WaitGroup>();
    both::<mpsc::Sender<u8>>();
    both::<mpsc::SyncSender<u8>>();
    both::<mpsc::Receiver<u8>>();
    both::<oneshot::Sender<u8>>();
    both::<oneshot::Receiver<u8>>();
}

#[test]
fn catch_unwind_around_lock_compiles_and_sees_poison() {
    let m = Mutex::new(0);
    let r = RwLock::new(0);
    let rx = mpsc::channel::<u8>().1;
    let cell = OnceLock::<u8>::new();
    let once = Once::new();
    let guard = catch_unwind(|| m.lock()).unwrap().unwrap();
    assert_eq!(*guard, 0);
    drop(guard);
    assert!(catch_unwind(|| r.read().is_ok()).unwrap());
    assert!(catch_unwind(|| rx.try_recv().is_err()).unwrap());
    assert_eq!(catch_unwind(|| *cell.get_or_init(|| 4)).unwrap(), 4);
    catch_unwind(|| once.call_once(|| {})).unwrap();
    let poisoned = catch_unwind(|| {
        let _g = m.lock().unwrap();
        panic!("poison it");
    });
    assert!(poisoned.is_err());
    assert!(m.is_poisoned());
}
