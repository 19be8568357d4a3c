//! The promise of weft in one file: a block of std code compiles against
//! weft with only its `use` lines changed, and means the same.
//!
//! `twice!` takes the body once and expands it in two modules that differ
//! only in their `use` lines (`std::...` or `weft::...`); the tests run
//! both, and the weft one also from inside a coroutine. std
//! items newer than the crate's MSRV (1.91), such as
//! `RwLockWriteGuard::downgrade` (1.92) and `LazyLock::get` (1.94), are
//! tested against weft alone, in their own tests.

mod common;

use common::with_timeout;

macro_rules! twice {
    ($($body:tt)*) => {
        mod with_std {
            #![allow(unused_imports)]
            use std::fs::{File, OpenOptions, TryLockError};
            use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket, Shutdown};
            use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
            use std::sync::mpsc;
            use std::sync::{Arc, Barrier, Condvar, LazyLock, Mutex, Once, OnceLock, RwLock};
            use std::thread;
            pub fn run() { $($body)* }
        }
        mod with_weft {
            #![allow(unused_imports)]
            use weft::fs::{File, OpenOptions, TryLockError};
            use weft::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket, Shutdown};
            use weft::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
            use weft::sync::mpsc;
            use weft::sync::{Arc, Barrier, Condvar, LazyLock, Mutex, Once, OnceLock, RwLock};
            use weft::thread;
            pub fn run() { $($body)* }
        }
    };
}

twice! {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    // Threads: spawn, names, join with a panic, ids, is_finished.
    let h = thread::Builder::new()
        .name("worker".into())
        .spawn(|| thread::current().name().map(String::from))
        .unwrap();
    assert_eq!(h.thread().name(), Some("worker"));
    assert_eq!(h.join().unwrap().as_deref(), Some("worker"));
    let h = thread::spawn(|| -> u32 { panic!("expected panic") });
    assert_eq!(h.join().unwrap_err().downcast_ref::<&str>(), Some(&"expected panic"));
    let h = thread::spawn(|| thread::current().id());
    let id = h.thread().id();
    assert_eq!(h.join().unwrap(), id);
    assert_ne!(id, thread::current().id());
    let r: thread::Result<()> = thread::spawn(|| thread::sleep(Duration::from_millis(1))).join();
    r.unwrap();

    // Park and unpark, before and after; park_timeout.
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let parker = thread::spawn(move || {
        thread::current().unpark();
        thread::park(); // the token was waiting
        while !f.load(Ordering::Acquire) {
            thread::park();
        }
    });
    flag.store(true, Ordering::Release);
    parker.thread().unpark();
    parker.join().unwrap();
    let start = Instant::now();
    thread::park_timeout(Duration::from_millis(10));
    assert!(start.elapsed() >= Duration::from_millis(10));

    // Scope: borrow, mutate, join, drop unjoined.
    let mut numbers = vec![1, 2, 3];
    let total = AtomicUsize::new(0);
    let doubled = thread::scope(|s| {
        s.spawn(|| total.fetch_add(numbers.iter().sum(), Ordering::SeqCst));
        let h = s.spawn(|| numbers.iter().map(|n| n * 2).collect::<Vec<_>>());
        h.join().unwrap()
    });
    numbers.push(4);
    assert_eq!(total.load(Ordering::SeqCst), 6);
    assert_eq!(doubled, [2, 4, 6]);

    // OnceLock, LazyLock, Once.
    static CONFIG: OnceLock<String> = OnceLock::new();
    static TABLE: LazyLock<Vec<u32>> = LazyLock::new(|| (0..10).collect());
    static INIT: Once = Once::new();
    let hs: Vec<_> = (0..4)
        .map(|_| thread::spawn(|| CONFIG.get_or_init(|| "cfg".into()).len() + TABLE[9] as usize))
        .collect();
    for h in hs {
        assert_eq!(h.join().unwrap(), 12);
    }
    INIT.call_once(|| {});
    assert!(INIT.is_completed());
    let mut local = LazyLock::new(|| 1);
    *local += 1;
    assert_eq!(*local, 2);

    // mpsc, bounded and unbounded.
    let (tx, rx) = mpsc::channel();
    for i in 0..4 {
        let tx = tx.clone();
        thread::spawn(move || tx.send(i).unwrap());
    }
    drop(tx);
    assert_eq!(rx.iter().sum::<i32>(), 6);
    let (tx, rx) = mpsc::sync_channel(0);
    let h = thread::spawn(move || tx.send("rendezvous").unwrap());
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("rendezvous"));
    h.join().unwrap();

    // Mutex, RwLock, Condvar, Barrier.
    let pair = Arc::new((Mutex::new(false), Condvar::new()));
    let p = pair.clone();
    thread::spawn(move || {
        *p.0.lock().unwrap() = true;
        p.1.notify_one();
    });
    let (lock, cvar) = &*pair;
    let ready = cvar.wait_while(lock.lock().unwrap(), |ready| !*ready).unwrap();
    assert!(*ready);
    drop(ready);
    let rw = RwLock::new(1);
    *rw.write().unwrap() += 1;
    assert_eq!(*rw.read().unwrap(), 2);
    let barrier = Arc::new(Barrier::new(3));
    let hs: Vec<_> = (0..3)
        .map(|_| {
            let b = barrier.clone();
            thread::spawn(move || b.wait().is_leader())
        })
        .collect();
    assert_eq!(hs.into_iter().map(|h| h.join().unwrap() as u32).sum::<u32>(), 1);

    // TCP echo.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0; 5];
        conn.read_exact(&mut buf).unwrap();
        conn.write_all(&buf).unwrap();
    });
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    client.write_all(b"hello").unwrap();
    let mut back = [0; 5];
    client.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"hello");
    client.shutdown(Shutdown::Write).unwrap();
    server.join().unwrap();

    // UDP.
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    b.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    a.send_to(b"ping", b.local_addr().unwrap()).unwrap();
    let mut buf = [0; 8];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));

    // Unix stream and datagram sockets in a temporary directory.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stream.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let server = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut s = String::new();
        conn.read_to_string(&mut s).unwrap();
        s
    });
    let mut client = UnixStream::connect(&path).unwrap();
    client.write_all(b"over unix").unwrap();
    drop(client);
    assert_eq!(server.join().unwrap(), "over unix");
    let (x, y) = UnixDatagram::pair().unwrap();
    x.send(b"dgram").unwrap();
    let mut buf = [0; 8];
    let n = y.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"dgram");

    // Generic code bounded by ToSocketAddrs (std's trait either way).
    fn bind_any<A: ToSocketAddrs>(addr: A) -> std::io::Result<TcpListener> {
        TcpListener::bind(addr)
    }
    fn connect_any<A: ToSocketAddrs>(addr: A) -> std::io::Result<TcpStream> {
        TcpStream::connect(addr)
    }
    let listener = bind_any(("127.0.0.1", 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let resolved: Vec<SocketAddr> = ("127.0.0.1", port).to_socket_addrs().unwrap().collect();
    assert_eq!(resolved, vec![listener.local_addr().unwrap()]);
    let _client = connect_any(format!("127.0.0.1:{port}")).unwrap();
    let (_conn, _) = listener.accept().unwrap();

    // Files with advisory locks: exclusive, shared, try, unlock.
    let path = dir.path().join("locked");
    let file = File::create(&path).unwrap();
    let other = OpenOptions::new().read(true).open(&path).unwrap();
    file.lock().unwrap();
    assert!(matches!(other.try_lock_shared(), Err(TryLockError::WouldBlock)));
    file.unlock().unwrap();
    other.lock_shared().unwrap();
    assert!(matches!(file.try_lock(), Err(TryLockError::WouldBlock)));
    other.unlock().unwrap();
    file.try_lock().unwrap();
}

#[test]
fn the_block_runs_with_std() {
    with_timeout(30, with_std::run);
}

#[test]
fn the_same_block_runs_with_weft_on_a_plain_thread() {
    with_timeout(30, with_weft::run);
}

#[test]
fn the_same_block_runs_with_weft_inside_a_coroutine() {
    with_timeout(30, || {
        let rt = weft::Runtime::builder().workers(1).build().unwrap();
        rt.block_on(with_weft::run);
    });
}
