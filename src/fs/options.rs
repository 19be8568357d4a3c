//! The builders of `std::fs` whose last call touches the file system:
//! [`OpenOptions`] (opening a file) and [`DirBuilder`] (creating a
//! directory). Configuring them is plain data; only `open` / `create`
//! goes to the blocking pool.

use std::io;
use std::path::Path;

use super::File;
use crate::blocking::unblock;

/// Options and flags to open a [`File`] with, like
/// [`std::fs::OpenOptions`]; [`open`](OpenOptions::open) runs on the
/// blocking pool when called from a coroutine.
///
/// ```
/// use std::io::Write;
/// use weft::fs::OpenOptions;
/// # let dir = std::env::temp_dir().join(format!("weft-doc-oo-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("log.txt");
/// let mut log = OpenOptions::new().create(true).append(true).open(&path)?;
/// log.write_all(b"started\n")?;
/// assert_eq!(weft::fs::read_to_string(&path)?, "started\n");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions {
    inner: std::fs::OpenOptions,
}

impl OpenOptions {
    /// Options with every flag off, like [`std::fs::OpenOptions::new`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-oonew-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// // Neither read nor write: opening fails.
    /// let err = weft::fs::OpenOptions::new().open(dir.join("x")).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[allow(clippy::new_without_default)] // std's OpenOptions has no Default
    #[must_use]
    pub fn new() -> OpenOptions {
        OpenOptions {
            inner: std::fs::OpenOptions::new(),
        }
    }

    /// Read access, like [`std::fs::OpenOptions::read`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-ooread-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("f");
    /// # weft::fs::write(&path, "x")?;
    /// let file = weft::fs::OpenOptions::new().read(true).open(&path)?;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.inner.read(read);
        self
    }

    /// Write access, like [`std::fs::OpenOptions::write`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-oowrite-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("f");
    /// # weft::fs::write(&path, "x")?;
    /// let file = weft::fs::OpenOptions::new().write(true).open(&path)?;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.inner.write(write);
        self
    }

    /// Append mode (implies write), like [`std::fs::OpenOptions::append`].
    ///
    /// ```
    /// use std::io::Write;
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-ooappend-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("f");
    /// weft::fs::write(&path, "a")?;
    /// weft::fs::OpenOptions::new().append(true).open(&path)?.write_all(b"b")?;
    /// assert_eq!(weft::fs::read_to_string(&path)?, "ab");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.inner.append(append);
        self
    }

    /// Truncate an existing file to 0 bytes on open (needs write), like
    /// [`std::fs::OpenOptions::truncate`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-ootrunc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("f");
    /// weft::fs::write(&path, "old")?;
    /// weft::fs::OpenOptions::new().write(true).truncate(true).open(&path)?;
    /// assert_eq!(weft::fs::metadata(&path)?.len(), 0);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.inner.truncate(truncate);
        self
    }

    /// Create the file if it does not exist (needs write or append), like
    /// [`std::fs::OpenOptions::create`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-oocreate-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("f");
    /// weft::fs::OpenOptions::new().write(true).create(true).open(&path)?;
    /// assert!(weft::fs::exists(&path)?);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.inner.create(create);
        self
    }

    /// Create the file, failing if it exists (atomically), like
    /// [`std::fs::OpenOptions::create_new`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-oocnew-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// # let path = dir.join("f");
    /// let mut opts = weft::fs::OpenOptions::new();
    /// opts.write(true).create_new(true);
    /// opts.open(&path)?;
    /// assert_eq!(opts.open(&path).unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.inner.create_new(create_new);
        self
    }

    /// Opens `path` with these options, like
    /// [`std::fs::OpenOptions::open`]: on the blocking pool from a
    /// coroutine (opening a FIFO or a file on a slow mount can block for
    /// long), directly on other threads.
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-ooopen-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir)?;
    /// let missing = weft::fs::OpenOptions::new().read(true).open(dir.join("nope"));
    /// assert_eq!(missing.unwrap_err().kind(), std::io::ErrorKind::NotFound);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn open<P: AsRef<Path>>(&self, path: P) -> io::Result<File> {
        let path = path.as_ref();
        unblock(|| self.inner.open(path)).map(File::from)
    }
}

/// Unix flags and mode bits, as for `std::fs::OpenOptions`.
///
/// ```
/// use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
/// # let dir = std::env::temp_dir().join(format!("weft-doc-ooext-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("private");
/// weft::fs::OpenOptions::new().write(true).create(true).mode(0o600).open(&path)?;
/// assert_eq!(weft::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl std::os::unix::fs::OpenOptionsExt for OpenOptions {
    fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.inner.mode(mode);
        self
    }

    fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.inner.custom_flags(flags);
        self
    }
}

/// Creates directories with options, like [`std::fs::DirBuilder`];
/// [`create`](DirBuilder::create) runs on the blocking pool when called
/// from a coroutine.
///
/// ```
/// # let dir = std::env::temp_dir().join(format!("weft-doc-db-{}", std::process::id()));
/// let deep = dir.join("a/b/c");
/// weft::fs::DirBuilder::new().recursive(true).create(&deep)?;
/// assert!(weft::fs::metadata(&deep)?.is_dir());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct DirBuilder {
    inner: std::fs::DirBuilder,
}

impl DirBuilder {
    /// A builder for a single, non-recursive directory with mode 0o777
    /// (less the umask), like [`std::fs::DirBuilder::new`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-dbnew-{}", std::process::id()));
    /// weft::fs::DirBuilder::new().create(&dir)?;
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[allow(clippy::new_without_default)] // std's DirBuilder has no Default
    #[must_use]
    pub fn new() -> DirBuilder {
        DirBuilder {
            inner: std::fs::DirBuilder::new(),
        }
    }

    /// Create missing parents too, and succeed if the directory exists,
    /// like [`std::fs::DirBuilder::recursive`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-dbrec-{}", std::process::id()));
    /// let mut builder = weft::fs::DirBuilder::new();
    /// builder.recursive(true);
    /// builder.create(dir.join("x/y"))?;
    /// builder.create(dir.join("x/y"))?; // exists: fine when recursive
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn recursive(&mut self, recursive: bool) -> &mut DirBuilder {
        self.inner.recursive(recursive);
        self
    }

    /// Creates the directory at `path`, like
    /// [`std::fs::DirBuilder::create`].
    ///
    /// ```
    /// # let dir = std::env::temp_dir().join(format!("weft-doc-dbcreate-{}", std::process::id()));
    /// let err = weft::fs::DirBuilder::new().create(dir.join("no/parent")).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        let path = path.as_ref();
        unblock(|| self.inner.create(path))
    }
}

/// The mode of new directories, as for `std::fs::DirBuilder`.
///
/// ```
/// use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
/// # let dir = std::env::temp_dir().join(format!("weft-doc-dbext-{}", std::process::id()));
/// weft::fs::DirBuilder::new().mode(0o700).create(&dir)?;
/// assert_eq!(weft::fs::metadata(&dir)?.permissions().mode() & 0o777, 0o700);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
impl std::os::unix::fs::DirBuilderExt for DirBuilder {
    fn mode(&mut self, mode: u32) -> &mut DirBuilder {
        self.inner.mode(mode);
        self
    }
}
