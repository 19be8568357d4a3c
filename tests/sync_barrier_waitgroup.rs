//! `Barrier` and `WaitGroup`: coordination of coroutines, threads and
//! both; one leader per barrier generation; a cancelled participant
//! withdraws.

mod common;
mod sync_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{runtime, with_timeout};
use sync_common::{SIDES, start, until};
use weft::sync::{Barrier, WaitGroup};

#[test]
fn a_barrier_of_coroutines_and_threads_has_one_leader_per_generation() {
    with_timeout(20, || {
        const N: usize = 6;
        const ROUNDS: usize = 50;
        let barrier = Arc::new(Barrier::new(N));
        let arrived = Arc::new(AtomicUsize::new(0));
        let roles: Vec<_> = (0..N)
            .map(|i| {
                let (b, arrived) = (barrier.clone(), arrived.clone());
                start(SIDES[i % 2], move || {
                    let mut leads = 0;
                    for round in 0..ROUNDS {
                        arrived.fetch_add(1, Ordering::SeqCst);
                        if b.wait().is_leader() {
                            leads += 1;
                        }
                        // Everyone of this round arrived before anyone left.
                        assert!(arrived.load(Ordering::SeqCst) >= (round + 1) * N);
                    }
                    leads
                })
            })
            .collect();
        let leaders: usize = roles.into_iter().map(|r| r.join()).sum();
        assert_eq!(leaders, ROUNDS);
    });
}

#[test]
fn a_barrier_of_one_never_waits() {
    let b = Barrier::new(0);
    assert!(b.wait().is_leader());
    assert!(b.wait().is_leader());
}

#[test]
fn a_cancelled_participant_withdraws_its_arrival() {
    with_timeout(10, || {
        let rt = runtime(1);
        rt.block_on(|| {
            let barrier = Arc::new(Barrier::new(2));
            let parked = Arc::new(AtomicBool::new(false));
            let (b, p) = (barrier.clone(), parked.clone());
            let quitter = weft::spawn(move || {
                p.store(true, Ordering::SeqCst);
                b.wait();
                unreachable!("cancelled while waiting");
            });
            until(|| parked.load(Ordering::SeqCst));
            quitter.cancel();
            assert!(quitter.join().unwrap_err().is::<weft::Cancelled>());
            // The barrier still needs two live participants.
            let passed = Arc::new(AtomicBool::new(false));
            let (b, p) = (barrier.clone(), passed.clone());
            let other = weft::spawn(move || {
                b.wait();
                p.store(true, Ordering::SeqCst);
            });
            weft::sleep(Duration::from_millis(10));
            assert!(
                !passed.load(Ordering::SeqCst),
                "opened with one participant"
            );
            barrier.wait();
            other.join().unwrap();
            assert!(passed.load(Ordering::SeqCst));
        });
    });
}

#[test]
fn a_wait_group_waits_for_members_of_both_kinds_in_both_settings() {
    with_timeout(10, || {
        for waiter_side in SIDES {
            let done = Arc::new(AtomicUsize::new(0));
            let wg = WaitGroup::new();
            let members: Vec<_> = (0..8)
                .map(|i| {
                    let (member, done) = (wg.clone(), done.clone());
                    start(SIDES[i % 2], move || {
                        weft::sleep(Duration::from_millis(5));
                        done.fetch_add(1, Ordering::SeqCst);
                        drop(member);
                    })
                })
                .collect();
            let d = done.clone();
            let waiter = start(waiter_side, move || {
                wg.wait();
                d.load(Ordering::SeqCst)
            });
            assert_eq!(waiter.join(), 8, "{waiter_side:?}");
            for m in members {
                m.join();
            }
        }
    });
}

#[test]
fn several_wait_group_members_may_wait() {
    with_timeout(10, || {
        let wg = WaitGroup::new();
        let waiters: Vec<_> = (0..4)
            .map(|i| {
                let member = wg.clone();
                start(SIDES[i % 2], move || member.wait())
            })
            .collect();
        std::thread::sleep(Duration::from_millis(10));
        wg.wait();
        for w in waiters {
            w.join();
        }
    });
}

#[test]
fn a_cancelled_wait_group_waiter_leaves_the_group_intact() {
    with_timeout(10, || {
        let rt = runtime(2);
        let wg = WaitGroup::new();
        let blocker = wg.clone();
        let member = wg.clone();
        let h = rt.spawn(move || {
            member.wait();
            unreachable!("cancelled while waiting");
        });
        std::thread::sleep(Duration::from_millis(20));
        h.cancel();
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
        assert_eq!(format!("{wg:?}"), "WaitGroup { members: 2 }");
        drop(blocker);
        wg.wait();
    });
}
