//! The storage of a worker's timer entries: a vector in chunks of at
//! least [`CHUNK_BYTES`] each, indexed by `usize`.
//!
//! Chunks, not one `Vec`, so that growing never copies: a single vector
//! of a million entries would move 32 MB on the worker loop when it
//! doubles, a pause every coroutine on the worker feels.
//!
//! Huge chunks (40 MiB of address space for 2^20 40-byte entries; pages
//! become resident only as entries are written) so that the
//! memory goes back after a burst. glibc serves a block this large with
//! its own `mmap` and unmaps it on free, and, being above its 32 MiB
//! ceiling for dynamic thresholds, freeing it leaves glibc's mmap and trim
//! thresholds alone (see `arch/stacks.md`, "Memory the allocator keeps").
//! Small chunks (64 KiB) would instead stay in the worker's arena, at its
//! top, which `malloc_trim` leaves resident. `million` still keeps more
//! memory after its burst than with the B-tree before, for a reason not
//! yet found (`arch/timers.md`).

use std::ops::{Index, IndexMut};

/// Bytes of address space per chunk.
const CHUNK_BYTES: usize = 33 << 20;

/// A growable array of `E` in fixed-size chunks that never move.
pub(crate) struct Slab<E> {
    chunks: Vec<Vec<E>>,
    len: usize,
}

impl<E> Default for Slab<E> {
    fn default() -> Self {
        Slab {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<E> Slab<E> {
    /// log2 of the entries per chunk: at least [`CHUNK_BYTES`] worth,
    /// rounded up to a power of two so that indexing is a shift and a mask.
    const SHIFT: u32 = (CHUNK_BYTES
        / if size_of::<E>() == 0 {
            1
        } else {
            size_of::<E>()
        })
    .next_power_of_two()
    .trailing_zeros();
    /// Entries per chunk.
    const CHUNK: usize = 1 << Self::SHIFT;

    /// How many entries it holds.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends `entry`, returning its index.
    pub(crate) fn push(&mut self, entry: E) -> usize {
        if self.len.is_multiple_of(Self::CHUNK) {
            self.chunks.push(Vec::with_capacity(Self::CHUNK));
        }
        let index = self.len;
        self.chunks
            .last_mut()
            .expect("a chunk with room")
            .push(entry);
        self.len += 1;
        index
    }

    /// The entry at `index` to change, if there is one.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut E> {
        self.chunks
            .get_mut(index >> Self::SHIFT)?
            .get_mut(index & (Self::CHUNK - 1))
    }

    /// Every entry, in index order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &E> {
        self.chunks.iter().flatten()
    }

    /// Drops every entry and gives the memory back.
    pub(crate) fn clear(&mut self) {
        self.chunks = Vec::new();
        self.len = 0;
    }
}

impl<E> Index<usize> for Slab<E> {
    type Output = E;

    fn index(&self, index: usize) -> &E {
        &self.chunks[index >> Self::SHIFT][index & (Self::CHUNK - 1)]
    }
}

impl<E> IndexMut<usize> for Slab<E> {
    fn index_mut(&mut self, index: usize) -> &mut E {
        &mut self.chunks[index >> Self::SHIFT][index & (Self::CHUNK - 1)]
    }
}
