//! File system access that never stalls a worker: `std::fs`'s functions
//! and types, with the same names, signatures and errors, whose calls run
//! on weft's blocking pool when made from a coroutine.
//!
//! Linux has no readiness model for regular files (they are always
//! "ready", and a read may still wait for the disk), so weft does what Go
//! and tokio do: the calling coroutine parks while a thread of the
//! blocking pool (see [`spawn_blocking`](crate::spawn_blocking)) makes the
//! system call, borrowing the caller's buffers and paths directly. On a
//! plain thread the call is made right there, so `use weft::fs` is a
//! drop-in for `use std::fs` everywhere.
//!
//! Every call from a coroutine is a parking point (a cancelled coroutine
//! unwinds from it before the operation starts, never after it has had
//! an effect). The hop costs some microseconds, so prefer few large reads
//! and writes over many small ones, as with any system call.
//!
//! ```
//! use std::io::Write;
//! # let dir = std::env::temp_dir().join(format!("weft-doc-fs-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let path = dir.join("notes.txt");
//! weft::run(|| -> std::io::Result<()> {
//!     let mut file = weft::fs::File::create(&path)?;
//!     writeln!(file, "parked, not blocked")?;
//!     assert_eq!(weft::fs::read_to_string(&path)?, "parked, not blocked\n");
//!     weft::fs::remove_file(&path)
//! })?;
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod dir_entry;
mod file;
mod lock;
mod options;
mod read_dir;

use std::io;
use std::path::{Path, PathBuf};

pub use dir_entry::DirEntry;
pub use file::File;
pub use lock::TryLockError;
pub use options::{DirBuilder, OpenOptions};
pub use read_dir::ReadDir;
pub use std::fs::{FileTimes, FileType, Metadata, Permissions};

use crate::blocking::unblock;

/// Reads a whole file into a vector, like [`std::fs::read`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-read-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("f");
/// weft::fs::write(&path, [1, 2, 3])?;
/// assert_eq!(weft::fs::read(&path)?, [1, 2, 3]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read<P: AsRef<Path>>(path: P) -> io::Result<Vec<u8>> {
    let path = path.as_ref();
    unblock(|| std::fs::read(path))
}

/// Reads a whole UTF-8 file into a string, like [`std::fs::read_to_string`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-rts-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("f");
/// weft::fs::write(&path, "text")?;
/// assert_eq!(weft::fs::read_to_string(&path)?, "text");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_to_string<P: AsRef<Path>>(path: P) -> io::Result<String> {
    let path = path.as_ref();
    unblock(|| std::fs::read_to_string(path))
}

/// Writes `contents` as the whole file, creating or truncating it, like
/// [`std::fs::write`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-write-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("f");
/// weft::fs::write(&path, "first")?;
/// weft::fs::write(&path, b"second")?;
/// assert_eq!(weft::fs::read_to_string(&path)?, "second");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    let (path, contents) = (path.as_ref(), contents.as_ref());
    unblock(|| std::fs::write(path, contents))
}

/// Copies a file's contents and permissions, returning the bytes copied,
/// like [`std::fs::copy`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-copy-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// weft::fs::write(dir.join("a"), "abc")?;
/// assert_eq!(weft::fs::copy(dir.join("a"), dir.join("b"))?, 3);
/// assert_eq!(weft::fs::read(dir.join("b"))?, b"abc");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn copy<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    let (from, to) = (from.as_ref(), to.as_ref());
    unblock(|| std::fs::copy(from, to))
}

/// Renames a file or directory, replacing `to` if it is a file, like
/// [`std::fs::rename`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-rename-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// weft::fs::write(dir.join("old"), "x")?;
/// weft::fs::rename(dir.join("old"), dir.join("new"))?;
/// assert!(!weft::fs::exists(dir.join("old"))?);
/// assert!(weft::fs::exists(dir.join("new"))?);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn rename<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<()> {
    let (from, to) = (from.as_ref(), to.as_ref());
    unblock(|| std::fs::rename(from, to))
}

/// Removes a file, like [`std::fs::remove_file`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-rmf-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// weft::fs::write(dir.join("f"), "")?;
/// weft::fs::remove_file(dir.join("f"))?;
/// let again = weft::fs::remove_file(dir.join("f")).unwrap_err();
/// assert_eq!(again.kind(), std::io::ErrorKind::NotFound);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn remove_file<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    unblock(|| std::fs::remove_file(path))
}

/// Removes an empty directory, like [`std::fs::remove_dir`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-rmd-{}", std::process::id()));
/// weft::fs::create_dir(&dir)?;
/// weft::fs::remove_dir(&dir)?;
/// assert!(!weft::fs::exists(&dir)?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn remove_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    unblock(|| std::fs::remove_dir(path))
}

/// Removes a directory and everything in it, like
/// [`std::fs::remove_dir_all`]. The whole walk is one hop to the pool.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-rmda-{}", std::process::id()));
/// weft::fs::create_dir_all(dir.join("a/b"))?;
/// weft::fs::write(dir.join("a/b/f"), "x")?;
/// weft::fs::remove_dir_all(&dir)?;
/// assert!(!weft::fs::exists(&dir)?);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn remove_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    unblock(|| std::fs::remove_dir_all(path))
}

/// Creates a directory (its parent must exist), like
/// [`std::fs::create_dir`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-mkdir-{}", std::process::id()));
/// weft::fs::create_dir(&dir)?;
/// let again = weft::fs::create_dir(&dir).unwrap_err();
/// assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn create_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    unblock(|| std::fs::create_dir(path))
}

/// Creates a directory and any missing parents, like
/// [`std::fs::create_dir_all`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-mkdirs-{}", std::process::id()));
/// weft::fs::create_dir_all(dir.join("x/y/z"))?;
/// assert!(weft::fs::metadata(dir.join("x/y/z"))?.is_dir());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn create_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = path.as_ref();
    unblock(|| std::fs::create_dir_all(path))
}

/// Metadata of a path, following symlinks, like [`std::fs::metadata`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-metadata-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// weft::fs::write(dir.join("f"), "12345")?;
/// let meta = weft::fs::metadata(dir.join("f"))?;
/// assert!(meta.is_file());
/// assert_eq!(meta.len(), 5);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    unblock(|| std::fs::metadata(path))
}

/// Metadata of a path, not following a final symlink, like
/// [`std::fs::symlink_metadata`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-lmeta-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// weft::fs::write(dir.join("target"), "x")?;
/// std::os::unix::fs::symlink(dir.join("target"), dir.join("link"))?;
/// assert!(weft::fs::symlink_metadata(dir.join("link"))?.file_type().is_symlink());
/// assert!(weft::fs::metadata(dir.join("link"))?.is_file());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn symlink_metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = path.as_ref();
    unblock(|| std::fs::symlink_metadata(path))
}

/// An iterator over a directory's entries, like [`std::fs::read_dir`];
/// from a coroutine it fetches them in batches on the pool (see
/// [`ReadDir`]).
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-readdir-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// weft::fs::write(dir.join("only"), "")?;
/// let names: Vec<_> = weft::fs::read_dir(&dir)?
///     .map(|e| e.unwrap().file_name())
///     .collect();
/// assert_eq!(names, ["only"]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_dir<P: AsRef<Path>>(path: P) -> io::Result<ReadDir> {
    let path = path.as_ref();
    unblock(|| std::fs::read_dir(path)).map(ReadDir::new)
}

/// The absolute path with every symlink and `..` resolved, like
/// [`std::fs::canonicalize`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-canon-{}", std::process::id()));
/// # std::fs::create_dir_all(dir.join("sub"))?;
/// let canonical = weft::fs::canonicalize(dir.join("sub/.."))?;
/// assert_eq!(canonical, std::fs::canonicalize(&dir)?);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn canonicalize<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    let path = path.as_ref();
    unblock(|| std::fs::canonicalize(path))
}

/// Makes `link` a new hard link to the file `original`, like
/// [`std::fs::hard_link`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-hl-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// weft::fs::write(dir.join("a"), "shared")?;
/// weft::fs::hard_link(dir.join("a"), dir.join("b"))?;
/// assert_eq!(weft::fs::read_to_string(dir.join("b"))?, "shared");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn hard_link<P: AsRef<Path>, Q: AsRef<Path>>(original: P, link: Q) -> io::Result<()> {
    let (original, link) = (original.as_ref(), link.as_ref());
    unblock(|| std::fs::hard_link(original, link))
}

/// Where a symbolic link points, like [`std::fs::read_link`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-rl-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// std::os::unix::fs::symlink("elsewhere", dir.join("link"))?;
/// assert_eq!(weft::fs::read_link(dir.join("link"))?, std::path::Path::new("elsewhere"));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_link<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    let path = path.as_ref();
    unblock(|| std::fs::read_link(path))
}

/// Changes a path's permissions, like [`std::fs::set_permissions`].
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// # let dir = std::env::temp_dir().join(format!("weft-doc-setperm-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("script");
/// weft::fs::write(&path, "#!/bin/sh\n")?;
/// weft::fs::set_permissions(&path, weft::fs::Permissions::from_mode(0o755))?;
/// assert_eq!(weft::fs::metadata(&path)?.permissions().mode() & 0o777, 0o755);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_permissions<P: AsRef<Path>>(path: P, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref();
    unblock(|| std::fs::set_permissions(path, perm))
}

/// Whether a path exists (following symlinks): `Ok(false)` for a missing
/// path or a broken link, `Err` when it cannot be told (for example no
/// permission), like [`std::fs::exists`].
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-exists-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// assert!(!weft::fs::exists(dir.join("f"))?);
/// weft::fs::write(dir.join("f"), "")?;
/// assert!(weft::fs::exists(dir.join("f"))?);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn exists<P: AsRef<Path>>(path: P) -> io::Result<bool> {
    let path = path.as_ref();
    unblock(|| std::fs::exists(path))
}
