//! `weft::fs` is a drop-in for `std::fs`: the same calls give the same
//! results from coroutines and from plain threads, and a call that blocks
//! (a FIFO waiting for its other end) parks the coroutine, not its worker.

mod common;

use std::ffi::CString;
use std::io::{IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{runtime, with_timeout};
use weft::fs::{self, File, OpenOptions};

/// The free functions, each checked against what it should have done.
fn free_functions(dir: &Path) {
    let a = dir.join("a.txt");
    fs::write(&a, "hello").unwrap();
    assert_eq!(fs::read(&a).unwrap(), b"hello");
    assert_eq!(fs::read_to_string(&a).unwrap(), "hello");
    assert!(fs::exists(&a).unwrap());
    assert!(!fs::exists(dir.join("missing")).unwrap());
    assert_eq!(
        fs::read(dir.join("missing")).unwrap_err().kind(),
        std::io::ErrorKind::NotFound
    );

    assert_eq!(fs::copy(&a, dir.join("b.txt")).unwrap(), 5);
    fs::rename(dir.join("b.txt"), dir.join("c.txt")).unwrap();
    assert!(!fs::exists(dir.join("b.txt")).unwrap());
    assert_eq!(fs::read_to_string(dir.join("c.txt")).unwrap(), "hello");

    let meta = fs::metadata(&a).unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.len(), 5);

    fs::hard_link(&a, dir.join("hard")).unwrap();
    assert_eq!(fs::metadata(&a).unwrap().nlink(), 2);
    std::os::unix::fs::symlink("a.txt", dir.join("soft")).unwrap();
    assert_eq!(fs::read_link(dir.join("soft")).unwrap(), Path::new("a.txt"));
    assert!(
        fs::symlink_metadata(dir.join("soft"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::canonicalize(dir.join("soft")).unwrap(),
        fs::canonicalize(&a).unwrap()
    );

    fs::set_permissions(&a, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(
        fs::metadata(&a).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let deep = dir.join("x/y/z");
    fs::create_dir_all(&deep).unwrap();
    fs::create_dir(dir.join("x/w")).unwrap();
    assert_eq!(
        fs::create_dir(dir.join("x/w")).unwrap_err().kind(),
        std::io::ErrorKind::AlreadyExists
    );
    fs::DirBuilder::new()
        .recursive(true)
        .create(dir.join("x/v/u"))
        .unwrap();
    let mut names: Vec<_> = fs::read_dir(dir.join("x"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["v", "w", "y"]);
    fs::remove_dir(dir.join("x/w")).unwrap();
    fs::remove_file(dir.join("c.txt")).unwrap();
    fs::remove_dir_all(dir.join("x")).unwrap();
    assert!(!fs::exists(dir.join("x")).unwrap());
}

/// `File` and `OpenOptions`.
fn file_methods(dir: &Path) {
    let path = dir.join("file.bin");
    let mut f = File::create_new(&path).unwrap();
    assert_eq!(
        File::create_new(&path).unwrap_err().kind(),
        std::io::ErrorKind::AlreadyExists
    );
    f.write_all(b"0123456789").unwrap();
    assert_eq!(f.stream_position().unwrap(), 10);
    f.seek(SeekFrom::Start(2)).unwrap();
    let mut two = [0u8; 2];
    f.read_exact(&mut two).unwrap();
    assert_eq!(&two, b"23");

    // Vectored I/O, through `&File`.
    let mut r = &f;
    r.seek(SeekFrom::Start(0)).unwrap();
    let (mut x, mut y) = ([0u8; 3], [0u8; 4]);
    let n = r
        .read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
        .unwrap();
    assert_eq!(n, 7);
    assert_eq!((&x, &y), (b"012", b"3456"));
    let mut w = &f;
    w.seek(SeekFrom::End(0)).unwrap();
    let n = w
        .write_vectored(&[IoSlice::new(b"ab"), IoSlice::new(b"cd")])
        .unwrap();
    assert_eq!(n, 4);
    w.flush().unwrap();

    // Positioned I/O leaves the cursor alone.
    let mut at = [0u8; 4];
    f.read_exact_at(&mut at, 10).unwrap();
    assert_eq!(&at, b"abcd");
    f.write_all_at(b"XY", 0).unwrap();
    assert_eq!(f.stream_position().unwrap(), 14);

    f.sync_all().unwrap();
    f.sync_data().unwrap();
    f.set_len(4).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 4);
    assert_eq!(fs::read(&path).unwrap(), b"XY23");

    // A clone shares the cursor.
    let mut clone = f.try_clone().unwrap();
    clone.seek(SeekFrom::Start(1)).unwrap();
    let mut rest = String::new();
    f.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "Y23");

    f.set_permissions(fs::Permissions::from_mode(0o640))
        .unwrap();
    assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o640);
    assert!(format!("{f:?}").contains("File"));

    // Options: append, truncate, mode, and read-only refusing writes.
    let log = dir.join("log");
    let mut opts = OpenOptions::new();
    opts.append(true).create(true).mode(0o600);
    opts.open(&log).unwrap().write_all(b"one\n").unwrap();
    File::options()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"two\n")
        .unwrap();
    assert_eq!(fs::read_to_string(&log).unwrap(), "one\ntwo\n");
    let mut ro = File::open(&log).unwrap();
    assert!(ro.write(b"x").is_err());
    let mut all = Vec::new();
    assert_eq!(ro.read_to_end(&mut all).unwrap(), 8);
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    assert_eq!(fs::metadata(&log).unwrap().len(), 0);

    // Conversions keep the same open file.
    let std_file: std::fs::File = File::open(&path).unwrap().into();
    let back = File::from(std_file);
    let fd = back.as_raw_fd();
    let raw = back.into_raw_fd();
    assert_eq!(raw, fd);
    // SAFETY: `raw` came from `into_raw_fd` just above; nothing else owns it.
    let mut again = unsafe { File::from_raw_fd(raw) };
    let owned: OwnedFd = File::from_std(again.try_clone().unwrap().into_std()).into();
    let mut via_owned = File::from(owned);
    let mut s = String::new();
    again.read_to_string(&mut s).unwrap();
    assert_eq!(s, "XY23");
    assert_eq!(via_owned.read(&mut [0u8; 1]).unwrap(), 0); // shared cursor, at EOF
}

fn everything(dir: &Path) {
    free_functions(dir);
    file_methods(dir);
}

#[test]
fn round_trips_from_a_coroutine() {
    with_timeout(20, || {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(2);
        rt.block_on(|| {
            assert!(weft::in_coroutine());
            everything(dir.path());
        });
    });
}

#[test]
fn round_trips_from_a_plain_thread() {
    with_timeout(20, || {
        let dir = tempfile::tempdir().unwrap();
        everything(dir.path());
    });
}

#[test]
fn read_dir_in_a_coroutine_returns_every_entry_across_batches() {
    with_timeout(20, || {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..300 {
            std::fs::write(dir.path().join(format!("f{i:03}")), "").unwrap();
        }
        let rt = runtime(1);
        let mut names = rt.block_on(|| {
            fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect::<Vec<_>>()
        });
        names.sort();
        let expected: Vec<_> = (0..300).map(|i| format!("f{i:03}")).collect();
        assert_eq!(names, expected);
    });
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path for the whole call.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo: {}", std::io::Error::last_os_error());
}

#[test]
fn a_blocking_open_and_read_park_the_coroutine_not_the_worker() {
    with_timeout(10, || {
        // Opening a FIFO blocks until the other end opens, and reading it
        // blocks until data comes. With one worker, had either call
        // blocked the worker, the writer coroutine could never run.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let rt = runtime(1);
        let received = rt.block_on(|| {
            let reader_path = fifo.clone();
            let reader = weft::spawn(move || {
                let mut f = File::open(&reader_path).unwrap();
                let mut got = String::new();
                f.read_to_string(&mut got).unwrap();
                got
            });
            let writer = weft::spawn(move || {
                let mut f = OpenOptions::new().write(true).open(&fifo).unwrap();
                weft::sleep(Duration::from_millis(20));
                f.write_all(b"through the pipe").unwrap();
            });
            writer.join().unwrap();
            reader.join().unwrap()
        });
        assert_eq!(received, "through the pipe");
    });
}

#[test]
fn a_cancelled_coroutine_unwinds_before_the_operation() {
    with_timeout(10, || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("never");
        let rt = runtime(1);
        let go = Arc::new(AtomicBool::new(false));
        let running = Arc::new(AtomicBool::new(false));
        let (g, r, p) = (go.clone(), running.clone(), path.clone());
        let h = rt.spawn(move || {
            r.store(true, Ordering::SeqCst);
            // Do not park until told, so the cancel finds us running.
            while !g.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            fs::write(&p, "should not be written").unwrap();
        });
        while !running.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        h.cancel();
        go.store(true, Ordering::SeqCst);
        assert!(h.join().unwrap_err().is::<weft::Cancelled>());
        assert!(!path.exists());
    });
}

#[test]
fn many_coroutines_doing_file_io_at_once() {
    with_timeout(20, || {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let rt = runtime(2);
        rt.block_on(|| {
            let hs: Vec<_> = (0..200)
                .map(|i| {
                    let dir = dir.clone();
                    weft::spawn(move || {
                        let path = dir.path().join(format!("n{i}"));
                        fs::write(&path, i.to_string()).unwrap();
                        fs::read_to_string(&path).unwrap().parse::<u32>().unwrap()
                    })
                })
                .collect();
            let sum: u32 = hs.into_iter().map(|h| h.join().unwrap()).sum();
            assert_eq!(sum, 199 * 200 / 2);
        });
    });
}

/// weft's `DirEntry` answers as std's does, from either side.
fn dir_entries_match_std(dir: &Path) {
    use std::os::unix::fs::DirEntryExt;
    fs::write(dir.join("file"), "12345").unwrap();
    fs::create_dir(dir.join("sub")).unwrap();
    std::os::unix::fs::symlink("file", dir.join("link")).unwrap();
    let mut ours: Vec<fs::DirEntry> = fs::read_dir(dir).unwrap().map(Result::unwrap).collect();
    ours.sort_by_key(|e| e.file_name());
    let mut std_entries: Vec<std::fs::DirEntry> = std::fs::read_dir(dir)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    std_entries.sort_by_key(|e| e.file_name());
    assert_eq!(ours.len(), 3);
    for (a, b) in ours.iter().zip(&std_entries) {
        assert_eq!(a.file_name(), b.file_name());
        assert_eq!(a.path(), b.path());
        assert_eq!(a.ino(), b.ino());
        assert_eq!(a.file_type().unwrap(), b.file_type().unwrap());
        let (ma, mb) = (a.metadata().unwrap(), b.metadata().unwrap());
        assert_eq!(
            (ma.len(), ma.ino(), ma.file_type()),
            (mb.len(), mb.ino(), mb.file_type())
        );
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
    // Not following the link, as std.
    assert!(ours[1].file_type().unwrap().is_symlink());
    assert!(ours[1].metadata().unwrap().file_type().is_symlink());
    assert!(ours[2].file_type().unwrap().is_dir());
    // An entry removed after listing: metadata fails as std's does.
    fs::remove_file(dir.join("file")).unwrap();
    assert_eq!(
        ours[0].metadata().unwrap_err().kind(),
        std_entries[0].metadata().unwrap_err().kind()
    );
}

#[test]
fn dir_entries_answer_as_std_in_coroutines_and_threads() {
    with_timeout(20, || {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::create_dir(&plain).unwrap();
        dir_entries_match_std(&plain);
        let inside = dir.path().join("inside");
        std::fs::create_dir(&inside).unwrap();
        runtime(1).block_on(|| dir_entries_match_std(&inside));
    });
}

/// Lock semantics, as std's: exclusive against everyone else, shared
/// among readers, per open file description.
fn lock_semantics(dir: &Path) {
    use weft::fs::TryLockError;
    let path = dir.join("lock");
    let a = File::create(&path).unwrap();
    let b = File::open(&path).unwrap();
    a.lock().unwrap();
    a.lock().unwrap(); // again through the same description: no wait
    assert!(matches!(b.try_lock(), Err(TryLockError::WouldBlock)));
    assert!(matches!(b.try_lock_shared(), Err(TryLockError::WouldBlock)));
    // A clone shares the description, hence the lock.
    a.try_clone().unwrap().try_lock().unwrap();
    a.unlock().unwrap();
    b.try_lock_shared().unwrap();
    a.lock_shared().unwrap();
    assert!(matches!(a.try_lock(), Err(TryLockError::WouldBlock)));
    b.unlock().unwrap();
    a.try_lock().unwrap(); // upgrade once alone
    a.unlock().unwrap();
    b.try_lock().unwrap();
    drop(b); // closing the description releases it
    a.try_lock().unwrap();
    // std's error type and message for WouldBlock.
    let c = File::open(&path).unwrap();
    let err = c.try_lock().unwrap_err();
    let as_io: std::io::Error = err.into();
    assert_eq!(as_io.kind(), std::io::ErrorKind::WouldBlock);
}

#[test]
fn file_locks_behave_as_std_in_coroutines_and_threads() {
    with_timeout(20, || {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::create_dir(&plain).unwrap();
        lock_semantics(&plain);
        let inside = dir.path().join("inside");
        std::fs::create_dir(&inside).unwrap();
        runtime(2).block_on(|| lock_semantics(&inside));
    });
}

#[test]
fn a_lock_wait_parks_the_coroutine_not_the_worker() {
    with_timeout(20, || {
        // One worker: had the waiter's `lock` blocked it, the holder
        // coroutine could never run to unlock.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let rt = runtime(1);
        let order = rt.block_on(move || {
            let holder = File::create(&path).unwrap();
            holder.lock().unwrap();
            let log = Arc::new(std::sync::Mutex::new(Vec::new()));
            let (waiter_log, waiter_path) = (log.clone(), path.clone());
            let waiter = weft::spawn(move || {
                let f = File::open(&waiter_path).unwrap();
                f.lock().unwrap();
                waiter_log.lock().unwrap().push("waiter locked");
                f.try_lock_shared().unwrap();
            });
            weft::sleep(Duration::from_millis(50));
            log.lock().unwrap().push("holder unlocks");
            holder.unlock().unwrap();
            waiter.join().unwrap();
            let shared = File::open(&path).unwrap();
            shared.lock_shared().unwrap();
            Arc::try_unwrap(log).unwrap().into_inner().unwrap()
        });
        assert_eq!(order, ["holder unlocks", "waiter locked"]);
    });
}

#[test]
fn a_cancelled_lock_wait_leaves_the_file_unlocked() {
    with_timeout(20, || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let rt = runtime(1);
        rt.block_on(move || {
            let holder = File::create(&path).unwrap();
            holder.lock().unwrap();
            // The waiter's file outlives its cancelled `lock` call.
            let waiting = Arc::new(File::open(&path).unwrap());
            let theirs = waiting.clone();
            let waiter = weft::spawn(move || theirs.lock());
            weft::sleep(Duration::from_millis(50));
            waiter.cancel();
            assert!(waiter.join().unwrap_err().is::<weft::Cancelled>());
            holder.unlock().unwrap();
            // The pool thread's flock now succeeds on `waiting`'s
            // description, and must be undone: a third party gets the
            // lock. (Poll: the pool thread runs on its own time.)
            let third = File::open(&path).unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            loop {
                weft::sleep(Duration::from_millis(10));
                // Once the pool thread is done, `waiting` holds nothing.
                if third.try_lock().is_ok() {
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "left locked");
            }
            third.unlock().unwrap();
            waiting.try_lock().unwrap();
        });
    });
}
