//! [`ReadDir`]: the iterator of [`read_dir`](super::read_dir), fetching
//! entries in batches on the blocking pool.
//!
//! `std::fs::ReadDir::next` calls `readdir`, which now and then makes a
//! `getdents` system call that can block (a cold directory, a network
//! mount). Collecting the whole directory eagerly in `read_dir` would make
//! one hop but hold every entry of a million-entry directory in memory at
//! once, and make the first entry wait for the last. Hopping for every
//! entry would cost a pool round trip (~10 µs) per entry. So a coroutine
//! takes entries [`BATCH`] at a time: one hop per batch, bounded memory,
//! and the first entries arrive before the directory is read to the end.
//! On plain threads `next` is std's, one entry at a time. Each batch also
//! asks for the entries' file types on the pool (`dir_entry.rs`).
//!
//! Returning a buffered entry completes without waiting, so it spends the
//! coroutine's cooperative budget (`coop::proceed`).

use std::collections::VecDeque;
use std::fmt;
use std::io;

use super::DirEntry;
use crate::blocking::unblock;

/// Entries fetched per hop to the blocking pool. 128 makes the hop
/// (~10 µs) cost well under the ~100 ns per entry that `readdir` and the
/// `DirEntry` allocation take, while a batch stays a few tens of KiB.
const BATCH: usize = 128;

/// An iterator over the entries of a directory, like
/// [`std::fs::ReadDir`]; made by [`read_dir`](super::read_dir).
///
/// The entries are weft's [`DirEntry`]: in a coroutine their
/// [`metadata`](DirEntry::metadata) runs on the blocking pool and their
/// [`file_type`](DirEntry::file_type) comes with the batch.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-rd-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// weft::fs::write(dir.join("a"), "1")?;
/// weft::fs::write(dir.join("b"), "2")?;
/// let mut names = weft::fs::read_dir(&dir)?
///     .map(|e| e.map(|e| e.file_name()))
///     .collect::<Result<Vec<_>, _>>()?;
/// names.sort();
/// assert_eq!(names, ["a", "b"]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct ReadDir {
    /// `None` once std's iterator has ended.
    inner: Option<std::fs::ReadDir>,
    /// Entries fetched in a coroutine and not yet returned.
    buffered: VecDeque<io::Result<DirEntry>>,
}

impl ReadDir {
    pub(crate) fn new(inner: std::fs::ReadDir) -> ReadDir {
        ReadDir {
            inner: Some(inner),
            buffered: VecDeque::new(),
        }
    }

    /// Fetches the next batch on the blocking pool.
    fn refill(&mut self) {
        let Some(inner) = self.inner.as_mut() else {
            return;
        };
        let buffered = &mut self.buffered;
        let ended = unblock(|| {
            for _ in 0..BATCH {
                match inner.next() {
                    Some(entry) => buffered.push_back(entry.map(|e| DirEntry::new(e, true))),
                    None => return true,
                }
            }
            false
        });
        if ended {
            self.inner = None;
        }
    }
}

impl Iterator for ReadDir {
    type Item = io::Result<DirEntry>;

    fn next(&mut self) -> Option<io::Result<DirEntry>> {
        if !self.buffered.is_empty() {
            crate::rt::coop::proceed();
            return self.buffered.pop_front();
        }
        if crate::rt::worker::in_coroutine() {
            self.refill();
            return self.buffered.pop_front();
        }
        let entry = self.inner.as_mut()?.next();
        if entry.is_none() {
            self.inner = None;
        }
        entry.map(|e| e.map(|e| DirEntry::new(e, false)))
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir")
            .field("inner", &self.inner)
            .field("buffered", &self.buffered.len())
            .finish()
    }
}
