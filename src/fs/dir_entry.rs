//! [`DirEntry`]: std's directory entry, whose `metadata` and `file_type`
//! do not make a system call on a worker.
//!
//! std's `DirEntry::metadata` is an `fstatat`, and `file_type` is one too
//! on file systems that do not report the type in the directory listing
//! (`d_type` unknown), each on the calling thread. weft's entry wraps
//! std's: in a coroutine, [`ReadDir`](super::ReadDir) asks for the file
//! type while it fetches the batch on the blocking pool (free when the
//! listing has it, one `lstat` there otherwise), so `file_type` usually
//! answers from memory; `metadata` (and a `file_type` that was not
//! prefetched) hops to the pool like every other `weft::fs` call.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::PathBuf;

use super::{FileType, Metadata};
use crate::blocking::unblock;

/// An entry of a directory, yielded by [`ReadDir`](super::ReadDir): the
/// twin of [`std::fs::DirEntry`], whose calls that may touch the disk
/// park the coroutine instead of blocking the worker.
///
/// `std::os::unix::fs::DirEntryExt` (`ino`) is implemented for it too.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-de-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// weft::fs::write(dir.join("a.txt"), "hello")?;
/// weft::fs::create_dir(dir.join("sub"))?;
/// let mut seen = weft::spawn(move || -> std::io::Result<Vec<(String, bool, u64)>> {
///     let mut seen = Vec::new();
///     for entry in weft::fs::read_dir(&dir)? {
///         let entry = entry?;
///         let name = entry.file_name().into_string().unwrap();
///         let is_dir = entry.file_type()?.is_dir();
///         seen.push((name, is_dir, entry.metadata()?.len()));
///     }
///     weft::fs::remove_dir_all(&dir)?;
///     Ok(seen)
/// })
/// .join()
/// .unwrap()?;
/// seen.sort();
/// assert_eq!(seen[0], ("a.txt".to_string(), false, 5));
/// assert!(seen[1].1);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct DirEntry {
    inner: std::fs::DirEntry,
    /// The type, when it was fetched with the entry (in a coroutine).
    file_type: Option<FileType>,
}

impl DirEntry {
    /// Wraps std's entry; `prefetch` asks for its type now (call it on
    /// the blocking pool).
    pub(super) fn new(inner: std::fs::DirEntry, prefetch: bool) -> DirEntry {
        let file_type = if prefetch {
            inner.file_type().ok()
        } else {
            None
        };
        DirEntry { inner, file_type }
    }

    /// The full path of the entry: the directory given to
    /// [`read_dir`](super::read_dir) joined with the entry's name, like
    /// [`std::fs::DirEntry::path`]. No system call.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-de-path-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// weft::fs::write(dir.join("f"), "")?;
    /// let entry = weft::fs::read_dir(&dir)?.next().unwrap()?;
    /// assert_eq!(entry.path(), dir.join("f"));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> PathBuf {
        self.inner.path()
    }

    /// The entry's bare file name, like [`std::fs::DirEntry::file_name`].
    /// No system call.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-de-name-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// weft::fs::write(dir.join("report.csv"), "")?;
    /// let entry = weft::fs::read_dir(&dir)?.next().unwrap()?;
    /// assert_eq!(entry.file_name(), "report.csv");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn file_name(&self) -> OsString {
        self.inner.file_name()
    }

    /// The entry's metadata, not following a symlink, like
    /// [`std::fs::DirEntry::metadata`]; in a coroutine the `fstatat` runs
    /// on the blocking pool while the coroutine parks.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-de-md-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// weft::fs::write(dir.join("f"), "1234")?;
    /// let len = weft::spawn(move || {
    ///     let entry = weft::fs::read_dir(&dir).unwrap().next().unwrap().unwrap();
    ///     let len = entry.metadata().unwrap().len();
    ///     weft::fs::remove_dir_all(&dir).unwrap();
    ///     len
    /// });
    /// assert_eq!(len.join().unwrap(), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metadata(&self) -> io::Result<Metadata> {
        unblock(|| self.inner.metadata())
    }

    /// The entry's file type, not following a symlink, like
    /// [`std::fs::DirEntry::file_type`]. Entries read in a coroutine
    /// carry it already (fetched on the blocking pool with the entry);
    /// otherwise it is asked for, on the pool from a coroutine.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-de-ft-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// weft::fs::create_dir(dir.join("d"))?;
    /// let entry = weft::fs::read_dir(&dir)?.next().unwrap()?;
    /// assert!(entry.file_type()?.is_dir());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn file_type(&self) -> io::Result<FileType> {
        if let Some(file_type) = self.file_type {
            return Ok(file_type);
        }
        unblock(|| self.inner.file_type())
    }
}

/// The inode number from the directory listing, like std's impl for
/// `std::fs::DirEntry`. No system call.
///
/// ```
/// use std::os::unix::fs::{DirEntryExt, MetadataExt};
/// # let dir = std::env::temp_dir().join(format!("weft-doc-de-ino-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// weft::fs::write(dir.join("f"), "")?;
/// let entry = weft::fs::read_dir(&dir)?.next().unwrap()?;
/// assert_eq!(entry.ino(), weft::fs::metadata(dir.join("f"))?.ino());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl std::os::unix::fs::DirEntryExt for DirEntry {
    fn ino(&self) -> u64 {
        std::os::unix::fs::DirEntryExt::ino(&self.inner)
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // std's own: `DirEntry("/the/path")`.
        self.inner.fmt(f)
    }
}
