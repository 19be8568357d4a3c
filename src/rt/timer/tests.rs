//! The wheel against a `BTreeMap` model: random arming, cancelling and
//! advancing of the clock (small steps, jumps across levels and past the
//! wheel's span), checking that exactly the due timers fire, each at or
//! after its tick, in (tick, arming) order.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::wheel::{Handle, MAX_TICK, Wheel};
use super::{instant_of, tick_at_or_after, tick_at_or_before};

/// xorshift64*: a fixed-seed generator, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A distance ahead of the clock, from every scale the wheel handles.
fn distance(rng: &mut Rng) -> u64 {
    match rng.below(100) {
        0..=39 => rng.below(64),
        40..=69 => rng.below(4_096),
        70..=89 => rng.below(1 << 24),
        90..=96 => rng.below(1 << 38),
        97 => MAX_TICK,
        _ => 0,
    }
}

/// How far the clock moves in one step.
fn step(rng: &mut Rng) -> u64 {
    match rng.below(100) {
        0..=59 => rng.below(3),
        60..=89 => rng.below(200),
        90..=97 => rng.below(1 << 20),
        _ => rng.below(1 << 37),
    }
}

fn run_model(seed: u64, ops: usize) {
    let mut rng = Rng(seed);
    let mut wheel = Wheel::default();
    // (effective tick, arming order) -> (id, handle)
    let mut model: BTreeMap<(u64, u64), (u64, Handle)> = BTreeMap::new();
    let mut armed: Vec<(u64, u64, Handle)> = Vec::new(); // (tick, seq, handle)
    let mut stale: Vec<Handle> = Vec::new();
    let mut now = rng.below(1 << 20);
    // Start the wheel's clock somewhere other than 0.
    assert!(wheel.pop(now).is_none());
    let mut seq = 0u64;
    for _ in 0..ops {
        match rng.below(10) {
            0..=4 => {
                // Sometimes a tick already past: it is due at once.
                let tick = if rng.below(20) == 0 {
                    now.saturating_sub(rng.below(10))
                } else {
                    now.saturating_add(distance(&mut rng)).min(MAX_TICK)
                };
                let handle = wheel.insert(tick, seq);
                model.insert((tick.max(now), seq), (seq, handle));
                armed.push((tick.max(now), seq, handle));
                seq += 1;
            }
            5..=6 if !armed.is_empty() => {
                let i = rng.below(armed.len() as u64) as usize;
                let (tick, s, handle) = armed.swap_remove(i);
                assert_eq!(wheel.remove(handle), Some(s), "cancel an armed timer");
                assert!(model.remove(&(tick, s)).is_some());
                stale.push(handle);
            }
            7 if !stale.is_empty() => {
                let handle = stale[rng.below(stale.len() as u64) as usize];
                assert_eq!(wheel.remove(handle), None, "a stale handle cancels nothing");
            }
            _ => {
                now = now.saturating_add(step(&mut rng)).min(MAX_TICK);
                let expiry = wheel.next_expiry();
                let earliest = model.keys().next().map(|k| k.0);
                assert_eq!(expiry.is_some(), earliest.is_some());
                if let (Some(expiry), Some(earliest)) = (expiry, earliest) {
                    assert!(
                        expiry <= earliest,
                        "next expiry {expiry} after a timer at {earliest}"
                    );
                }
                while let Some((tick, id)) = wheel.pop(now) {
                    let (&(want_tick, want_seq), &(want_id, handle)) =
                        model.iter().next().expect("the model has a due timer");
                    assert!(tick <= now, "fired early: {tick} > {now}");
                    assert_eq!((tick, id), (want_tick, want_id), "fires in order");
                    model.remove(&(want_tick, want_seq));
                    armed.retain(|a| a.1 != want_seq);
                    stale.push(handle);
                }
                if let Some((&(tick, _), _)) = model.iter().next() {
                    assert!(tick > now, "timer at {tick} still armed at {now}");
                }
                assert!(wheel.next_expiry().is_none_or(|e| e > now));
            }
        }
        assert_eq!(wheel.len(), model.len());
        if stale.len() > 1_000 {
            stale.drain(..500);
        }
    }
}

#[test]
fn wheel_matches_model() {
    for seed in 1..=40 {
        run_model(seed * 0x9e37_79b9_7f4a_7c15, 20_000);
    }
}

#[test]
fn far_future_timer_fires_after_cascades() {
    let mut wheel = Wheel::default();
    let far = (1u64 << 40) + 12_345;
    let h = wheel.insert(far, "far");
    wheel.insert(5, "near");
    assert_eq!(wheel.pop(10), Some((5, "near")));
    let mut now = 10;
    // Step to each expiry: the far timer cascades down level by level.
    while let Some(expiry) = wheel.next_expiry() {
        assert!(expiry <= far);
        if expiry < far {
            assert_eq!(wheel.pop(expiry), None, "nothing is due before {far}");
        }
        now = expiry;
        if now == far {
            break;
        }
    }
    assert_eq!(now, far);
    assert_eq!(wheel.pop(far - 1), None);
    assert_eq!(wheel.pop(far), Some((far, "far")));
    assert_eq!(wheel.remove(h), None);
    assert_eq!(wheel.len(), 0);
}

#[test]
fn ties_fire_in_arming_order_across_levels() {
    let mut wheel = Wheel::default();
    // Armed from level 2, then level 1, then level 0 as the clock nears.
    wheel.insert(5_000, 0);
    assert_eq!(wheel.pop(4_100), None);
    wheel.insert(5_000, 1);
    assert_eq!(wheel.pop(4_993), None);
    wheel.insert(5_000, 2);
    let fired: Vec<_> = std::iter::from_fn(|| wheel.pop(5_000)).collect();
    assert_eq!(fired, [(5_000, 0), (5_000, 1), (5_000, 2)]);
}

#[test]
fn shrink_keeps_stale_handles_stale() {
    let mut wheel = Wheel::default();
    let handles: Vec<_> = (0..1_000).map(|i| wheel.insert(10 + i, i)).collect();
    while wheel.pop(5_000).is_some() {}
    wheel.shrink();
    let fresh = wheel.insert(6_000, 7);
    for h in handles {
        assert_eq!(wheel.remove(h), None);
    }
    assert_eq!(wheel.len(), 1);
    assert_eq!(wheel.remove(fresh), Some(7));
}

#[test]
fn deadlines_round_up_and_the_clock_down() {
    let origin = Instant::now();
    let deadline = origin + Duration::from_micros(1_500);
    let tick = tick_at_or_after(origin, deadline);
    assert_eq!(tick, 2);
    assert!(instant_of(origin, tick).unwrap() >= deadline);
    assert_eq!(tick_at_or_before(origin, deadline), 1);
    assert_eq!(
        tick_at_or_before(origin, instant_of(origin, tick).unwrap()),
        tick
    );
    assert_eq!(
        tick_at_or_after(origin, origin + Duration::from_millis(3)),
        3
    );
    // Whole seconds are whole ticks; only the nanoseconds round.
    let at = |secs, nanos| origin + Duration::new(secs, nanos);
    assert_eq!(tick_at_or_after(origin, at(2, 0)), 2_000);
    assert_eq!(tick_at_or_after(origin, at(2, 1)), 2_001);
    assert_eq!(tick_at_or_after(origin, at(0, 999_999)), 1);
    assert_eq!(tick_at_or_after(origin, at(7, 999_000_001)), 8_000);
    assert_eq!(tick_at_or_before(origin, at(7, 999_999_999)), 7_999);
    assert_eq!(tick_at_or_before(origin, at(2, 0)), 2_000);
    assert_eq!(tick_at_or_after(origin, origin), 0);
    // A deadline years away is a tick, not an overflow.
    let years = origin + Duration::from_secs(100 * 365 * 24 * 3600);
    assert!(tick_at_or_after(origin, years) < MAX_TICK);
}
