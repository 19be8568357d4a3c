//! [`File`]: `std::fs::File` whose every call runs on the blocking pool
//! when made from a coroutine, and directly on plain threads.
//!
//! A weft `File` is a `std::fs::File` inside; each method hands the call
//! to [`unblock`], which parks the coroutine while a pool thread makes the
//! system call with the caller's own buffer (no copy). Methods that make
//! several system calls in std's default implementation (`read_to_end`,
//! `write_all`, `read_exact`) are overridden to make the whole loop one
//! hop.
//!
//! Closing (dropping) a file stays on the calling thread: `close` is
//! almost always instant, and doing it later on another thread would let
//! the descriptor outlive the value.

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::process::Stdio;

use super::{FileTimes, Metadata, OpenOptions, Permissions, TryLockError};
use crate::blocking::unblock;

/// An open file, like [`std::fs::File`]; its calls park the calling
/// coroutine (not the worker) while a blocking-pool thread does the I/O.
///
/// Outside a coroutine the calls run directly on the calling thread, so a
/// `File` works everywhere. `Read`, `Write` and `Seek` are implemented for
/// `File` and `&File`, as in std. (std also implements them for
/// `Arc<std::fs::File>`; the orphan rule forbids that for another crate's
/// file type, so share a weft `File` as `Arc<File>` and do I/O through
/// `&*arc`.)
///
/// ```
/// use std::io::{Read, Write};
/// use weft::fs::File;
/// # let dir = std::env::temp_dir().join(format!("weft-doc-file-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("greeting.txt");
/// let text = weft::run(|| -> std::io::Result<String> {
///     File::create(&path)?.write_all(b"hello")?;
///     let mut text = String::new();
///     File::open(&path)?.read_to_string(&mut text)?;
///     Ok(text)
/// })?;
/// assert_eq!(text, "hello");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct File {
    inner: std::fs::File,
}

impl File {
    /// Opens a file read-only, like [`std::fs::File::open`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-open-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("a.txt");
    /// weft::fs::write(&path, "data")?;
    /// let file = weft::fs::File::open(&path)?;
    /// assert_eq!(file.metadata()?.len(), 4);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new().read(true).open(path)
    }

    /// Opens a file write-only, creating it or truncating it, like
    /// [`std::fs::File::create`].
    ///
    /// ```
    /// use std::io::Write;
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-create-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("a.txt");
    /// let mut file = weft::fs::File::create(&path)?;
    /// file.write_all(b"abc")?;
    /// assert_eq!(weft::fs::read(&path)?, b"abc");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }

    /// Creates a new file read-write, failing with
    /// [`io::ErrorKind::AlreadyExists`] if it exists, like
    /// [`std::fs::File::create_new`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-new-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("a.txt");
    /// weft::fs::File::create_new(&path)?;
    /// let again = weft::fs::File::create_new(&path).unwrap_err();
    /// assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create_new<P: AsRef<Path>>(path: P) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
    }

    /// A blank [`OpenOptions`], like [`std::fs::File::options`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-options-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("log.txt");
    /// use std::io::Write;
    /// let mut log = weft::fs::File::options().append(true).create(true).open(&path)?;
    /// log.write_all(b"one\n")?;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Flushes data and metadata to the device, like
    /// [`std::fs::File::sync_all`].
    ///
    /// ```
    /// use std::io::Write;
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-sync-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let mut file = weft::fs::File::create(dir.join("durable.txt"))?;
    /// file.write_all(b"committed")?;
    /// file.sync_all()?;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sync_all(&self) -> io::Result<()> {
        unblock(|| self.inner.sync_all())
    }

    /// Flushes data (not necessarily metadata) to the device, like
    /// [`std::fs::File::sync_data`].
    ///
    /// ```
    /// use std::io::Write;
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-syncd-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let mut file = weft::fs::File::create(dir.join("data.bin"))?;
    /// file.write_all(&[1, 2, 3])?;
    /// file.sync_data()?;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn sync_data(&self) -> io::Result<()> {
        unblock(|| self.inner.sync_data())
    }

    /// Truncates or extends the file to `size` bytes, like
    /// [`std::fs::File::set_len`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-len-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let file = weft::fs::File::create(dir.join("sparse"))?;
    /// file.set_len(4096)?;
    /// assert_eq!(file.metadata()?.len(), 4096);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_len(&self, size: u64) -> io::Result<()> {
        unblock(|| self.inner.set_len(size))
    }

    /// The file's metadata, like [`std::fs::File::metadata`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-meta-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let file = weft::fs::File::create(dir.join("empty"))?;
    /// let meta = file.metadata()?;
    /// assert!(meta.is_file());
    /// assert_eq!(meta.len(), 0);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metadata(&self) -> io::Result<Metadata> {
        unblock(|| self.inner.metadata())
    }

    /// A second handle to the same open file (shared cursor), like
    /// [`std::fs::File::try_clone`].
    ///
    /// ```
    /// use std::io::{Read, Seek, SeekFrom, Write};
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-clone-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let mut a = weft::fs::File::create_new(dir.join("f"))?;
    /// let mut b = a.try_clone()?;
    /// a.write_all(b"xy")?;
    /// b.seek(SeekFrom::Start(0))?;
    /// let mut s = String::new();
    /// a.read_to_string(&mut s)?;
    /// assert_eq!(s, "xy");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_clone(&self) -> io::Result<File> {
        unblock(|| self.inner.try_clone()).map(File::from)
    }

    /// Changes the file's permissions, like
    /// [`std::fs::File::set_permissions`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-perm-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let file = weft::fs::File::create(dir.join("ro"))?;
    /// let mut perms = file.metadata()?.permissions();
    /// perms.set_readonly(true);
    /// file.set_permissions(perms)?;
    /// assert!(file.metadata()?.permissions().readonly());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        unblock(|| self.inner.set_permissions(perm))
    }

    /// Changes the file's access and modification times, like
    /// [`std::fs::File::set_times`].
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use weft::fs::FileTimes;
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-times-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let file = weft::fs::File::create(dir.join("old"))?;
    /// let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    /// file.set_times(FileTimes::new().set_accessed(then).set_modified(then))?;
    /// assert_eq!(file.metadata()?.modified()?, then);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_times(&self, times: FileTimes) -> io::Result<()> {
        unblock(|| self.inner.set_times(times))
    }

    /// Changes the file's modification time, like
    /// [`std::fs::File::set_modified`].
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-mtime-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let file = weft::fs::File::create(dir.join("old"))?;
    /// let then = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    /// file.set_modified(then)?;
    /// assert_eq!(file.metadata()?.modified()?, then);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_modified(&self, time: std::time::SystemTime) -> io::Result<()> {
        unblock(|| self.inner.set_modified(time))
    }

    /// Takes an exclusive advisory lock on the file (`flock`), waiting
    /// until no other open file description holds a lock on it, like
    /// [`std::fs::File::lock`]. The wait parks the calling coroutine and
    /// can be cancelled: a cancelled `lock` leaves the file unlocked.
    /// Locking again through the same `File` (or a `try_clone` of it)
    /// does not wait: the lock belongs to the open file description.
    ///
    /// ```
    /// use weft::fs::{File, TryLockError};
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-lock-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("db.lock");
    /// let holder = File::create(&path)?;
    /// holder.lock()?;
    /// let other = File::open(&path)?;
    /// assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
    /// // A coroutine waiting for the lock parks; its worker runs others.
    /// let waiter = weft::spawn(move || other.lock());
    /// weft::sleep(std::time::Duration::from_millis(20));
    /// holder.unlock()?;
    /// waiter.join().unwrap()?;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn lock(&self) -> io::Result<()> {
        super::lock::lock(&self.inner, false)
    }

    /// Takes a shared advisory lock on the file, waiting while another
    /// open file description holds an exclusive one, like
    /// [`std::fs::File::lock_shared`]; parks as [`lock`](Self::lock) does.
    ///
    /// ```
    /// use weft::fs::File;
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-lock-sh-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("shared.lock");
    /// let a = File::create(&path)?;
    /// let b = File::open(&path)?;
    /// a.lock_shared()?;
    /// b.lock_shared()?; // readers share
    /// assert!(File::open(&path)?.try_lock().is_err());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn lock_shared(&self) -> io::Result<()> {
        super::lock::lock(&self.inner, true)
    }

    /// Takes an exclusive advisory lock if it is free, without waiting,
    /// like [`std::fs::File::try_lock`]: `Err(TryLockError::WouldBlock)`
    /// if another open file description holds a lock.
    ///
    /// ```
    /// use weft::fs::{File, TryLockError};
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-trylock-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("once.lock");
    /// let a = File::create(&path)?;
    /// a.try_lock().expect("free");
    /// let b = File::open(&path)?;
    /// assert!(matches!(b.try_lock(), Err(TryLockError::WouldBlock)));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_lock(&self) -> Result<(), TryLockError> {
        unblock(|| super::lock::try_lock(&self.inner, false))
    }

    /// Takes a shared advisory lock if no exclusive one is held, without
    /// waiting, like [`std::fs::File::try_lock_shared`].
    ///
    /// ```
    /// use weft::fs::{File, TryLockError};
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-trylock-sh-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("readers.lock");
    /// let a = File::create(&path)?;
    /// let b = File::open(&path)?;
    /// a.try_lock_shared().expect("free");
    /// b.try_lock_shared().expect("shared with a");
    /// assert!(matches!(File::open(&path)?.try_lock(), Err(TryLockError::WouldBlock)));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_lock_shared(&self) -> Result<(), TryLockError> {
        unblock(|| super::lock::try_lock(&self.inner, true))
    }

    /// Releases the lock this file's open file description holds, like
    /// [`std::fs::File::unlock`] (closing the last descriptor of the
    /// description releases it too).
    ///
    /// ```
    /// use weft::fs::File;
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-unlock-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("u.lock");
    /// let a = File::create(&path)?;
    /// a.lock()?;
    /// a.unlock()?;
    /// File::open(&path)?.try_lock().expect("released");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn unlock(&self) -> io::Result<()> {
        unblock(|| self.inner.unlock())
    }

    /// Wraps a `std::fs::File` (same as `File::from`).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-fromstd-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let std_file = std::fs::File::create(dir.join("f"))?;
    /// let file = weft::fs::File::from_std(std_file);
    /// assert!(file.metadata()?.is_file());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn from_std(file: std::fs::File) -> File {
        File { inner: file }
    }

    /// The `std::fs::File` inside (same as `std::fs::File::from`).
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-intostd-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let file = weft::fs::File::create(dir.join("f"))?;
    /// let std_file: std::fs::File = file.into_std();
    /// assert!(std_file.metadata()?.is_file());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_std(self) -> std::fs::File {
        self.inner
    }
}

/// The read side, shared by `File`, `&File` and `Arc<File>`.
fn read(file: &std::fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut file = file;
    unblock(|| file.read(buf))
}

fn read_vectored(file: &std::fs::File, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    let mut file = file;
    unblock(|| file.read_vectored(bufs))
}

fn read_to_end(file: &std::fs::File, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut file = file;
    unblock(|| file.read_to_end(buf))
}

fn read_to_string(file: &std::fs::File, buf: &mut String) -> io::Result<usize> {
    let mut file = file;
    unblock(|| file.read_to_string(buf))
}

fn read_exact(file: &std::fs::File, buf: &mut [u8]) -> io::Result<()> {
    let mut file = file;
    unblock(|| file.read_exact(buf))
}

fn write(file: &std::fs::File, buf: &[u8]) -> io::Result<usize> {
    let mut file = file;
    unblock(|| file.write(buf))
}

fn write_vectored(file: &std::fs::File, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let mut file = file;
    unblock(|| file.write_vectored(bufs))
}

fn write_all(file: &std::fs::File, buf: &[u8]) -> io::Result<()> {
    let mut file = file;
    unblock(|| file.write_all(buf))
}

fn seek(file: &std::fs::File, pos: SeekFrom) -> io::Result<u64> {
    let mut file = file;
    unblock(|| file.seek(pos))
}

/// Implements `Read`, `Write` and `Seek` for one way of holding a `File`,
/// all through the shared `&std::fs::File` functions above.
macro_rules! file_io {
    ($ty:ty) => {
        impl Read for $ty {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                read(&self.inner, buf)
            }
            fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
                read_vectored(&self.inner, bufs)
            }
            fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
                read_to_end(&self.inner, buf)
            }
            fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
                read_to_string(&self.inner, buf)
            }
            fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
                read_exact(&self.inner, buf)
            }
        }

        impl Write for $ty {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                write(&self.inner, buf)
            }
            fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                write_vectored(&self.inner, bufs)
            }
            fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
                write_all(&self.inner, buf)
            }
            /// A file has no user-space buffer: nothing to flush, no hop
            /// (std's `File::flush` makes no system call either).
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }

        impl Seek for $ty {
            fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
                seek(&self.inner, pos)
            }
        }
    };
}

file_io!(File);
file_io!(&File);

/// Positioned I/O (`pread`/`pwrite`), which leaves the cursor alone, like
/// std's `FileExt` for `std::fs::File`.
impl std::os::unix::fs::FileExt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        unblock(|| self.inner.read_at(buf, offset))
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        unblock(|| self.inner.write_at(buf, offset))
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        unblock(|| self.inner.read_exact_at(buf, offset))
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        unblock(|| self.inner.write_all_at(buf, offset))
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl From<std::fs::File> for File {
    fn from(file: std::fs::File) -> File {
        File { inner: file }
    }
}

impl From<File> for std::fs::File {
    fn from(file: File) -> std::fs::File {
        file.inner
    }
}

impl From<OwnedFd> for File {
    fn from(fd: OwnedFd) -> File {
        File::from(std::fs::File::from(fd))
    }
}

impl From<File> for OwnedFd {
    fn from(file: File) -> OwnedFd {
        file.inner.into()
    }
}

impl From<File> for Stdio {
    fn from(file: File) -> Stdio {
        file.inner.into()
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl IntoRawFd for File {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}

impl FromRawFd for File {
    /// # Safety
    /// As for [`std::fs::File::from_raw_fd`]: `fd` must be an open file
    /// descriptor that the new `File` owns (nothing else closes it).
    unsafe fn from_raw_fd(fd: RawFd) -> File {
        // SAFETY: the caller hands us ownership of an open descriptor,
        // which is std's contract too.
        File::from(unsafe { std::fs::File::from_raw_fd(fd) })
    }
}
