//! `weft::sync::RwLock`: shared readers, exclusive writers, between
//! coroutines, threads and both; readers queue behind a waiting writer;
//! cancelled waiters leave cleanly; poisoning as std.

mod common;
mod sync_common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, TryLockError};
use std::time::Duration;

use common::{runtime, with_timeout};
use sync_common::{SETTINGS, start, until};
use weft::sync::{Barrier, RwLock};

#[test]
fn readers_share_and_writers_exclude_in_every_setting() {
    with_timeout(30, || {
        for (a, b) in SETTINGS {
            let lock = Arc::new(RwLock::new(0u64));
            let readers = Arc::new(AtomicUsize::new(0));
            let writing = Arc::new(AtomicBool::new(false));
            let roles: Vec<_> = [a, b, a, b]
                .into_iter()
                .enumerate()
                .map(|(k, side)| {
                    let (lock, readers, writing) = (lock.clone(), readers.clone(), writing.clone());
                    start(side, move || {
                        for i in 0..1000 {
                            if (i + k) % 4 == 0 {
                                let mut g = lock.write().unwrap();
                                assert!(!writing.swap(true, Ordering::SeqCst));
                                assert_eq!(readers.load(Ordering::SeqCst), 0);
                                *g += 1;
                                writing.store(false, Ordering::SeqCst);
                            } else {
                                let g = lock.read().unwrap();
                                readers.fetch_add(1, Ordering::SeqCst);
                                assert!(!writing.load(Ordering::SeqCst));
                                let _ = *g;
                                if i % 50 == 0 {
                                    weft::yield_now();
                                }
                                readers.fetch_sub(1, Ordering::SeqCst);
                            }
                        }
                    })
                })
                .collect();
            for r in roles {
                r.join();
            }
            assert_eq!(*lock.read().unwrap(), 1000, "{a:?}/{b:?}");
        }
    });
}

#[test]
fn two_readers_hold_the_lock_at_once() {
    with_timeout(10, || {
        for (a, b) in SETTINGS {
            let lock = Arc::new(RwLock::new(()));
            let both_inside = Arc::new(Barrier::new(2));
            let roles: Vec<_> = [a, b]
                .into_iter()
                .map(|side| {
                    let (lock, both_inside) = (lock.clone(), both_inside.clone());
                    start(side, move || {
                        let _g = lock.read().unwrap();
                        both_inside.wait(); // would deadlock if exclusive
                    })
                })
                .collect();
            for r in roles {
                r.join();
            }
        }
    });
}

#[test]
fn a_reader_queues_behind_a_waiting_writer_and_goes_in_after_it() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let lock = Arc::new(RwLock::new(Vec::new()));
            let r = lock.read().unwrap();
            let parked = Arc::new(AtomicUsize::new(0));
            let (l, p) = (lock.clone(), parked.clone());
            let writer = weft::spawn(move || {
                p.fetch_add(1, Ordering::SeqCst);
                l.write().unwrap().push("writer");
            });
            until(|| parked.load(Ordering::SeqCst) == 1);
            assert!(matches!(lock.try_read(), Err(TryLockError::WouldBlock)));
            let (l, p) = (lock.clone(), parked.clone());
            let reader = weft::spawn(move || {
                p.fetch_add(1, Ordering::SeqCst);
                let g = l.read().unwrap();
                g.clone()
            });
            until(|| parked.load(Ordering::SeqCst) == 2);
            drop(r);
            // The writer went first, then the reader saw its write.
            writer.join().unwrap();
            assert_eq!(reader.join().unwrap(), ["writer"]);
        });
    });
}

#[test]
fn a_cancelled_queued_writer_lets_the_readers_behind_it_in() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let lock = Arc::new(RwLock::new(1));
            let r = lock.read().unwrap();
            let parked = Arc::new(AtomicUsize::new(0));
            let (l, p) = (lock.clone(), parked.clone());
            let writer = weft::spawn(move || {
                p.fetch_add(1, Ordering::SeqCst);
                let _g = l.write();
                unreachable!("cancelled while queued");
            });
            until(|| parked.load(Ordering::SeqCst) == 1);
            let (l, p) = (lock.clone(), parked.clone());
            let reader = weft::spawn(move || {
                p.fetch_add(1, Ordering::SeqCst);
                *l.read().unwrap()
            });
            until(|| parked.load(Ordering::SeqCst) == 2);
            writer.cancel();
            assert!(writer.join().unwrap_err().is::<weft::Cancelled>());
            // We still hold our read share: the reader got in beside it.
            assert_eq!(reader.join().unwrap(), 1);
            drop(r);
            assert!(lock.try_write().is_ok());
        });
    });
}

#[test]
fn a_cancelled_writer_handed_the_lock_hands_it_on() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let lock = Arc::new(RwLock::new(0));
            let r = lock.read().unwrap();
            let parked = Arc::new(AtomicUsize::new(0));
            let spawn_writer = |v: i32| {
                let (l, p) = (lock.clone(), parked.clone());
                weft::spawn(move || {
                    p.fetch_add(1, Ordering::SeqCst);
                    *l.write().unwrap() = v;
                })
            };
            let a = spawn_writer(1);
            until(|| parked.load(Ordering::SeqCst) == 1);
            let b = spawn_writer(2);
            until(|| parked.load(Ordering::SeqCst) == 2);
            drop(r); // hands the write lock to A...
            a.cancel(); // ...which leaves without using it
            assert!(a.join().unwrap_err().is::<weft::Cancelled>());
            b.join().unwrap();
            assert_eq!(*lock.read().unwrap(), 2);
            assert!(!lock.is_poisoned());
        });
    });
}

#[test]
fn a_writer_waits_for_a_reader_on_another_side() {
    with_timeout(10, || {
        for (reader_side, writer_side) in SETTINGS {
            let lock = Arc::new(RwLock::new(0));
            let held = Arc::new(AtomicBool::new(false));
            let (l, h) = (lock.clone(), held.clone());
            let reader = start(reader_side, move || {
                let g = l.read().unwrap();
                h.store(true, Ordering::SeqCst);
                weft::sleep(Duration::from_millis(20));
                *g
            });
            while !held.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            let l = lock.clone();
            let writer = start(writer_side, move || *l.write().unwrap() = 5);
            writer.join();
            assert_eq!(reader.join(), 0, "the writer waited for the reader");
            assert_eq!(*lock.read().unwrap(), 5);
        }
    });
}

#[test]
fn a_panicking_writer_poisons_and_a_panicking_reader_does_not() {
    with_timeout(10, || {
        let lock = Arc::new(RwLock::new(0));
        let l = lock.clone();
        let _ = weft::spawn(move || {
            let _g = l.read().unwrap();
            panic!("reader");
        })
        .join();
        assert!(!lock.is_poisoned());
        let l = lock.clone();
        let _ = weft::spawn(move || {
            let _g = l.write().unwrap();
            panic!("writer");
        })
        .join();
        assert!(lock.is_poisoned());
        assert!(lock.read().is_err());
        assert!(matches!(lock.try_write(), Err(TryLockError::Poisoned(_))));
        lock.clear_poison();
        assert!(lock.write().is_ok());
    });
}

#[test]
fn rwlock_is_usable_in_a_static() {
    static LOCK: RwLock<Vec<u8>> = RwLock::new(Vec::new());
    LOCK.write().unwrap().push(1);
    assert_eq!(*LOCK.read().unwrap(), [1]);
    assert_eq!(
        format!("{:?}", RwLock::new(3)),
        "RwLock { data: 3, poisoned: false, .. }"
    );
}

#[test]
fn downgrade_lets_queued_readers_in_and_keeps_writers_out() {
    with_timeout(10, || {
        let rt = runtime(2);
        let lock = Arc::new(RwLock::new(0));
        let w = lock.write().unwrap();
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                rt.spawn(move || *lock.read().unwrap())
            })
            .collect();
        std::thread::sleep(Duration::from_millis(20)); // the readers queue
        let writer = {
            let lock = lock.clone();
            rt.spawn(move || *lock.write().unwrap() = 100)
        };
        std::thread::sleep(Duration::from_millis(20)); // and a writer too
        let mut w = w;
        *w = 7;
        let r = weft::sync::RwLockWriteGuard::downgrade(w);
        // The queued readers get in while we still read.
        for h in readers {
            assert_eq!(h.join().unwrap(), 7);
        }
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            !writer.is_finished(),
            "a writer got in during the read share"
        );
        assert_eq!(*r, 7);
        drop(r);
        writer.join().unwrap();
        assert_eq!(*lock.read().unwrap(), 100);
    });
}

#[test]
fn no_writer_slips_in_between_write_and_downgraded_read() {
    with_timeout(30, || {
        for (a, b) in SETTINGS {
            let lock = Arc::new(RwLock::new(0u64));
            let roles: Vec<_> = [a, b, a, b]
                .into_iter()
                .enumerate()
                .map(|(k, side)| {
                    let lock = lock.clone();
                    start(side, move || {
                        for i in 0..500u64 {
                            if (i + k as u64).is_multiple_of(3) {
                                let mut w = lock.write().unwrap();
                                let mine = i * 10 + k as u64;
                                *w = mine;
                                let r = weft::sync::RwLockWriteGuard::downgrade(w);
                                weft::yield_now();
                                assert_eq!(*r, mine, "a writer got in after downgrade");
                            } else {
                                let _ = *lock.read().unwrap();
                            }
                        }
                    })
                })
                .collect();
            for role in roles {
                role.join();
            }
            assert!(lock.try_write().is_ok(), "the lock is free at the end");
        }
    });
}
