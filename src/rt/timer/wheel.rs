//! A hierarchical timing wheel: the armed timers of one worker, in ticks.
//!
//! Six levels of 64 slots. A slot at level `k` spans `64^k` ticks, so
//! level 0 holds the timers of the next 64 ticks one tick per slot, level
//! 1 those of the next 4,096 ticks 64 per slot, and so on up to level 5
//! (2^36 ticks, two years of milliseconds). A timer whose tick is further
//! away waits in one overflow list until the clock enters its 2^36-tick
//! block. Which level a timer goes to is the highest bit in which its tick
//! differs from the wheel's clock (`elapsed`), divided by 6: so a level
//! `k` timer lies in the same level-`k+1` block as the clock, in a later
//! slot, and every timer of level `k` is due before every timer of level
//! `k+1`.
//!
//! When the clock reaches the start of a level-`k` slot (`k > 0`), its
//! timers are re-inserted, each landing on a lower level ("cascading");
//! a timer is moved at most once per level, six times in all, so arming,
//! cancelling and firing are O(1). A level-0 slot is one tick: its timers
//! fire in arming order (cascading appends in list order, so ties keep
//! the order they were armed in).
//!
//! Finding the next expiry is a `trailing_zeros` on the lowest level's
//! occupancy bitmap: the lowest level with a timer holds the earliest.
//! For a level above 0 the answer is the start of the slot (when it must
//! cascade), a lower bound of its timers' ticks, so a caller that sleeps
//! until the next expiry may wake once per level to cascade, never late.
//!
//! Entries live in a slab (`Vec`) with a free list, each linked into its
//! slot's doubly linked list by index: no allocation per timer once the
//! slab has grown to the peak number armed. A [`Handle`] is the index and
//! a generation, bumped on every free, so a stale handle (of a timer that
//! fired or was cancelled) cancels nothing.

use super::slab::Slab;

/// Bits of tick per level (64 slots).
const SLOT_BITS: u32 = 6;
const SLOTS: usize = 1 << SLOT_BITS;
const LEVELS: usize = 6;
/// Ticks spanned by the whole wheel: further timers overflow.
const WHEEL_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// The list of timers beyond the wheel's span.
const OVERFLOW: usize = LEVELS * SLOTS;
const LISTS: usize = OVERFLOW + 1;
/// The `list` of a free entry.
const FREE: u16 = u16::MAX;
const NIL: u32 = u32::MAX;
/// Ticks are clamped to this, far enough (2^62 ms is 146 million years)
/// that block arithmetic never overflows.
pub(crate) const MAX_TICK: u64 = 1 << 62;

/// Identifies one armed timer, to cancel it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Handle {
    index: u32,
    generation: u32,
}

struct Entry<T> {
    tick: u64,
    prev: u32,
    /// Next in its list, or in the free list.
    next: u32,
    generation: u32,
    /// Which list holds it (level * 64 + slot, [`OVERFLOW`]) or [`FREE`].
    list: u16,
    value: Option<T>,
}

// The entry size `arch/timers.md` and `slab.rs` quote (the header's `Arc`
// is a fat pointer: 16 bytes); a change to `Entry` must update them.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(
    std::mem::size_of::<Entry<std::sync::Arc<crate::rt::coroutine::Header>>>() == 40,
    "a timer entry is no longer 40 bytes: update arch/timers.md and slab.rs"
);

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY: List = List {
    head: NIL,
    tail: NIL,
};

/// Timers carrying a `T` each, fired by tick.
pub(crate) struct Wheel<T> {
    entries: Slab<Entry<T>>,
    free: u32,
    lists: Box<[List; LISTS]>,
    /// Bit `s` of `occupied[k]`: slot `s` of level `k` holds a timer.
    occupied: [u64; LEVELS],
    /// The wheel's clock: every timer with an earlier tick has fired.
    elapsed: u64,
    len: usize,
    /// Generation given to entries the slab grows by (see [`Wheel::shrink`]).
    fresh_generation: u32,
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Wheel {
            entries: Slab::default(),
            free: NIL,
            lists: Box::new([EMPTY; LISTS]),
            occupied: [0; LEVELS],
            elapsed: 0,
            len: 0,
            fresh_generation: 0,
        }
    }
}

/// The list a timer due at `tick` belongs in while the clock is `elapsed`
/// (`tick >= elapsed`).
fn list_for(elapsed: u64, tick: u64) -> usize {
    let differ = (elapsed ^ tick) | 1;
    let level = (63 - differ.leading_zeros()) / SLOT_BITS;
    if level as usize >= LEVELS {
        return OVERFLOW;
    }
    let slot = (tick >> (level * SLOT_BITS)) as usize & (SLOTS - 1);
    level as usize * SLOTS + slot
}

impl<T> Wheel<T> {
    /// How many timers are armed.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Arms a timer due at `tick` (one already past is due at once).
    ///
    /// (This and [`Wheel::remove`] run on every timed wait, so each looks
    /// its entry up once, filling in list and free-list links together.)
    pub(crate) fn insert(&mut self, tick: u64, value: T) -> Handle {
        let tick = tick.clamp(self.elapsed, MAX_TICK);
        let list = list_for(self.elapsed, tick);
        let tail = self.lists[list].tail;
        let (index, generation) = match self.free {
            NIL => {
                let index = u32::try_from(self.entries.len())
                    .ok()
                    .filter(|&i| i != NIL)
                    .expect("fewer than 2^32 timers per worker");
                self.entries.push(Entry {
                    tick,
                    prev: tail,
                    next: NIL,
                    generation: self.fresh_generation,
                    list: list as u16,
                    value: Some(value),
                });
                (index, self.fresh_generation)
            }
            index => {
                let entry = &mut self.entries[index as usize];
                self.free = entry.next;
                entry.tick = tick;
                entry.prev = tail;
                entry.next = NIL;
                entry.list = list as u16;
                entry.value = Some(value);
                (index, entry.generation)
            }
        };
        self.len += 1;
        self.append(index, list, tail);
        Handle { index, generation }
    }

    /// Disarms a timer and returns its value; `None` if it already fired
    /// or was cancelled.
    pub(crate) fn remove(&mut self, handle: Handle) -> Option<T> {
        let free = self.free;
        let entry = self.entries.get_mut(handle.index as usize)?;
        if entry.generation != handle.generation || entry.list == FREE {
            return None;
        }
        let (list, prev, next) = (entry.list as usize, entry.prev, entry.next);
        let value = Self::free_entry(entry, free);
        self.free = handle.index;
        self.len -= 1;
        self.detach(list, prev, next);
        Some(value)
    }

    /// The tick at which [`Wheel::pop`] next has work: the earliest timer's
    /// tick, or a lower bound of it when that timer must cascade first.
    pub(crate) fn next_expiry(&self) -> Option<u64> {
        self.next_list().map(|(_, at)| at)
    }

    /// Removes one timer due at `now` (its tick `<= now`), earliest first
    /// and ties in arming order, cascading as the clock moves on. `None`
    /// once none is due; the clock is then `now`.
    pub(crate) fn pop(&mut self, now: u64) -> Option<(u64, T)> {
        loop {
            let Some((list, at)) = self.next_list().filter(|&(_, at)| at <= now) else {
                self.elapsed = self.elapsed.max(now.min(MAX_TICK));
                return None;
            };
            self.elapsed = at;
            if list < SLOTS {
                let index = self.lists[list].head;
                self.unlink(index);
                let tick = self.entries[index as usize].tick;
                return Some((tick, self.release(index)));
            }
            self.cascade(list);
        }
    }

    /// Gives the slab's memory back if no timer is armed (after a burst).
    pub(crate) fn shrink(&mut self) {
        if self.len != 0 || self.entries.len() == 0 {
            return;
        }
        // A handle of a freed entry may still be held (its coroutine has
        // yet to disarm it): entries made later start past every
        // generation handed out, so such a handle still matches nothing.
        let newest = self.entries.iter().map(|e| e.generation).max();
        if let Some(newest) = newest {
            self.fresh_generation = self.fresh_generation.max(newest.wrapping_add(1));
        }
        self.entries.clear();
        self.free = NIL;
    }

    /// The first list with timers and the tick it is due (or must
    /// cascade) at.
    fn next_list(&self) -> Option<(usize, u64)> {
        for level in 0..LEVELS {
            let shift = level as u32 * SLOT_BITS;
            let current = (self.elapsed >> shift) as usize & (SLOTS - 1);
            let later = self.occupied[level] & (u64::MAX << current);
            if later != 0 {
                let slot = later.trailing_zeros() as u64;
                let block = self.elapsed & !((1u64 << (shift + SLOT_BITS)) - 1);
                return Some((level * SLOTS + slot as usize, block | (slot << shift)));
            }
        }
        if self.lists[OVERFLOW].head != NIL {
            let next_block = ((self.elapsed >> WHEEL_BITS) + 1) << WHEEL_BITS;
            return Some((OVERFLOW, next_block));
        }
        None
    }

    /// Re-inserts the timers of `list`, due to cascade now.
    fn cascade(&mut self, list: usize) {
        let mut index = self.lists[list].head;
        self.lists[list] = EMPTY;
        self.mark(list, false);
        while index != NIL {
            let next = self.entries[index as usize].next;
            let tick = self.entries[index as usize].tick;
            self.link(index, list_for(self.elapsed, tick));
            index = next;
        }
    }

    fn mark(&mut self, list: usize, occupied: bool) {
        if list < OVERFLOW {
            let bit = 1u64 << (list % SLOTS);
            if occupied {
                self.occupied[list / SLOTS] |= bit;
            } else {
                self.occupied[list / SLOTS] &= !bit;
            }
        }
    }

    /// Appends entry `index` to `list`.
    fn link(&mut self, index: u32, list: usize) {
        let tail = self.lists[list].tail;
        let entry = &mut self.entries[index as usize];
        entry.list = list as u16;
        entry.prev = tail;
        entry.next = NIL;
        self.append(index, list, tail);
    }

    /// The list's half of appending entry `index`, whose own links already
    /// say `list` and, before it, `tail`: the list's old tail.
    fn append(&mut self, index: u32, list: usize, tail: u32) {
        if tail == NIL {
            self.lists[list].head = index;
            self.mark(list, true);
        } else {
            self.entries[tail as usize].next = index;
        }
        self.lists[list].tail = index;
    }

    /// Takes entry `index` out of its list.
    fn unlink(&mut self, index: u32) {
        let entry = &self.entries[index as usize];
        let (list, prev, next) = (entry.list as usize, entry.prev, entry.next);
        self.detach(list, prev, next);
    }

    /// The neighbours' half of taking an entry that was between `prev`
    /// and `next` out of `list`.
    fn detach(&mut self, list: usize, prev: u32, next: u32) {
        match prev {
            NIL => self.lists[list].head = next,
            prev => self.entries[prev as usize].next = next,
        }
        match next {
            NIL => self.lists[list].tail = prev,
            next => self.entries[next as usize].prev = prev,
        }
        if self.lists[list].head == NIL {
            self.mark(list, false);
        }
    }

    /// Frees unlinked entry `index`, returning its value.
    fn release(&mut self, index: u32) -> T {
        let value = Self::free_entry(&mut self.entries[index as usize], self.free);
        self.free = index;
        self.len -= 1;
        value
    }

    /// Marks an unlinked entry free, at the head of the free list whose
    /// head was `free`, and takes its value (the caller makes the entry
    /// the new head and counts it out).
    fn free_entry(entry: &mut Entry<T>, free: u32) -> T {
        entry.list = FREE;
        entry.generation = entry.generation.wrapping_add(1);
        entry.next = free;
        entry.value.take().expect("an armed entry has a value")
    }
}
