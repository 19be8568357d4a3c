//! A load generator for the network comparison: one thread, written on
//! `mio` directly, so every server under test faces the same cheap client.
//!
//! It opens a fixed number of connections to one address and keeps one
//! request in flight on each: it sends a request, waits for the whole
//! response, checks every byte of it, records the latency in an
//! `hdrhistogram`, and sends the next. After a warm-up it measures for a
//! set time and prints requests/s, MiB/s, p50/p99/p999 latency, its own
//! CPU use (and the server's, given `--watch-pid`), and finally one JSON
//! line that `compare` (`compare/src/main.rs`) parses.
//!
//! - `--mode echo` (default): each request is `--size` bytes (default
//!   1024) of a per-connection pseudo-random stream; the response must be
//!   the same bytes.
//! - `--mode http`: `GET / HTTP/1.1` keep-alive; the response must be a
//!   `200` whose body is exactly `Hello, World!`.
//!
//! To stay cheap it makes one `write` per request and, since it knows when
//! a response is complete and nothing more can arrive before its next
//! request, it stops reading there instead of reading again until
//! `WouldBlock` (epoll reports the next arrival as a new edge anyway).
//!
//! `--serve ADDR` turns it into the simplest possible server instead (mio
//! event loops on `WEFT_WORKERS` threads, else one per core, same modes):
//! running the load generator against it shows
//! how much load the generator can produce on this machine, which must be
//! more than any server under test reaches, or the generator is the
//! bottleneck.
//!
//! ```text
//! cargo run --release -p compare --bin loadgen -- 127.0.0.1:7000 --conns 100 --secs 5
//! cargo run --release -p compare --bin loadgen -- 127.0.0.1:8080 --mode http --conns 256
//! cargo run --release -p compare --bin loadgen -- --serve 127.0.0.1:7001
//! ```
//! Every connection is closed with a reset (`SO_LINGER` 0) at the end, so
//! repeated runs do not fill the port range with `TIME_WAIT` sockets.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

const HTTP_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
const HTTP_BODY: &[u8] = b"Hello, World!";
const HTTP_RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
/// Throughput is also counted per window of this length; the spread of
/// the windows is the run's noise figure.
const WINDOW: Duration = Duration::from_millis(250);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Echo,
    Http,
}

struct Options {
    addr: SocketAddr,
    mode: Mode,
    conns: usize,
    secs: f64,
    warmup: f64,
    size: usize,
    watch_pid: Option<u32>,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen ADDR [--mode echo|http] [--conns N] [--secs S] [--warmup S] \
         [--size BYTES] [--watch-pid PID]\n       loadgen --serve ADDR [--mode echo|http]"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args.get(i + 1).cloned().unwrap_or_else(|| usage()))
    };
    let mode = match value("--mode").as_deref() {
        None | Some("echo") => Mode::Echo,
        Some("http") => Mode::Http,
        Some(_) => usage(),
    };
    if let Some(addr) = value("--serve") {
        let addr = addr.parse().unwrap_or_else(|_| usage());
        let threads = std::env::var("WEFT_WORKERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        if let Err(e) = serve(addr, mode, threads) {
            eprintln!("loadgen: serving failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    let number = |name: &str, default: f64| {
        value(name).map_or(default, |v| v.parse().unwrap_or_else(|_| usage()))
    };
    let addr = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| usage());
    let options = Options {
        addr,
        mode,
        conns: number("--conns", 100.0) as usize,
        secs: number("--secs", 5.0),
        warmup: number("--warmup", 1.0),
        size: number("--size", 1024.0) as usize,
        watch_pid: value("--watch-pid").map(|v| v.parse().unwrap_or_else(|_| usage())),
    };
    if options.conns == 0 || options.size == 0 || options.secs <= 0.0 {
        usage();
    }
    match run(&options) {
        Ok(report) => {
            report.print(&options);
            if report.errors > 0 {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(1);
        }
    }
}

/// One client connection and the request it has in flight.
struct Conn {
    stream: TcpStream,
    token: Token,
    /// The request being sent (echo: also the expected response).
    request: Vec<u8>,
    written: usize,
    /// Echo: response bytes checked so far. Http: unused.
    received: usize,
    /// Http: response bytes not parsed yet.
    inbuf: Vec<u8>,
    sent_at: Instant,
    rng: u64,
    wants_write: bool,
}

/// What a run measured.
struct Report {
    requests: u64,
    bytes: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
    windows: Vec<u64>,
    errors: u64,
    connect: Duration,
    client_cpu: f64,
    server_cpu: Option<f64>,
    /// The server's resident memory at the end of the measured time, while
    /// every connection is still open, in KiB.
    server_rss_kib: Option<u64>,
    /// CPU busy on the whole machine, in cores.
    machine_cpu: Option<f64>,
}

fn run(o: &Options) -> io::Result<Report> {
    let mut poll = Poll::new()?;
    let connect_start = Instant::now();
    let streams = connect_all(&mut poll, o)?;
    let mut conns: Vec<Option<Conn>> = streams
        .into_iter()
        .enumerate()
        .map(|(i, stream)| {
            Some(Conn {
                stream,
                token: Token(i),
                request: Vec::with_capacity(o.size.max(HTTP_REQUEST.len())),
                written: 0,
                received: 0,
                inbuf: Vec::with_capacity(4096),
                sent_at: Instant::now(),
                rng: 0x9E37_79B9_7F4A_7C15 ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03) | 1,
                wants_write: false,
            })
        })
        .collect();
    let connect = connect_start.elapsed();

    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
    let mut scratch = vec![0u8; 64 * 1024];
    let mut events = Events::with_capacity(1024);
    let mut errors = 0u64;
    let mut alive = o.conns;

    let start = Instant::now();
    let measure_start = start + Duration::from_secs_f64(o.warmup);
    let end = measure_start + Duration::from_secs_f64(o.secs);
    let mut measuring = false;
    let mut requests = 0u64;
    let mut bytes = 0u64;
    let mut windows = vec![0u64; (o.secs / WINDOW.as_secs_f64()).ceil() as usize + 1];
    let mut cpu_at_start = (0.0, None);
    let mut machine_at_start = machine_ticks();

    for (i, slot) in conns.iter_mut().enumerate() {
        let conn = slot.as_mut().expect("all connections are open");
        if let Err(e) = conn.send_next(o, &poll) {
            report_error(&mut errors, i, &e);
            *slot = None;
            alive -= 1;
        }
    }

    let mut now = Instant::now();
    while now < end && alive > 0 {
        if !measuring && now >= measure_start {
            measuring = true;
            cpu_at_start = (own_cpu_secs(), o.watch_pid.and_then(process_cpu_secs));
            machine_at_start = machine_ticks();
        }
        let timeout = (end - now).min(Duration::from_millis(50));
        match poll.poll(&mut events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            let i = event.token().0;
            let Some(conn) = conns[i].as_mut() else {
                continue;
            };
            let outcome = (|| -> io::Result<()> {
                if event.is_writable() && conn.wants_write {
                    conn.flush(&poll)?;
                }
                if event.is_readable() || event.is_read_closed() || event.is_error() {
                    while let Some(len) = conn.read_response(o.mode, &mut scratch)? {
                        let done = Instant::now();
                        if done >= measure_start && done < end {
                            let nanos = (done - conn.sent_at).as_nanos() as u64;
                            latency.saturating_record(nanos.max(1));
                            requests += 1;
                            bytes += len as u64;
                            let w =
                                ((done - measure_start).as_nanos() / WINDOW.as_nanos()) as usize;
                            let last = windows.len() - 1;
                            windows[w.min(last)] += 1;
                        }
                        conn.send_next(o, &poll)?;
                        if conn.wants_write {
                            break;
                        }
                    }
                }
                Ok(())
            })();
            if let Err(e) = outcome {
                report_error(&mut errors, i, &e);
                conns[i] = None;
                alive -= 1;
            }
        }
        now = Instant::now();
    }
    if !measuring {
        cpu_at_start = (own_cpu_secs(), o.watch_pid.and_then(process_cpu_secs));
        machine_at_start = machine_ticks();
    }
    let elapsed = now.min(end).saturating_duration_since(measure_start);
    let wall = elapsed.as_secs_f64().max(1e-9);
    let client_cpu = (own_cpu_secs() - cpu_at_start.0) / wall;
    let machine_cpu = match (machine_at_start, machine_ticks()) {
        (Some((total0, idle0)), Some((total1, idle1))) if total1 > total0 => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            Some((1.0 - (idle1 - idle0) / (total1 - total0)) * cores)
        }
        _ => None,
    };
    let server_cpu = match (cpu_at_start.1, o.watch_pid.and_then(process_cpu_secs)) {
        (Some(a), Some(b)) => Some((b - a) / wall),
        _ => None,
    };
    let server_rss_kib = o.watch_pid.and_then(process_rss_kib);
    for conn in conns.into_iter().flatten() {
        reset_on_close(&conn.stream);
    }
    // Only whole windows inside the measured time count for the spread.
    let whole = (elapsed.as_nanos() / WINDOW.as_nanos()) as usize;
    windows.truncate(whole);
    Ok(Report {
        requests,
        bytes,
        elapsed,
        latency,
        windows,
        errors,
        connect,
        client_cpu,
        server_cpu,
        server_rss_kib,
        machine_cpu,
    })
}

/// Opens `o.conns` connections, registered for reading with their index
/// as token. On loopback a connect completes in the kernel before the
/// server has accepted it, so connecting as fast as possible fills the
/// server's listen backlog (128 for std's and weft's listeners) whenever
/// its acceptor is a little late, and every SYN dropped then costs a 1 s
/// retransmission. So connects are paced, 10,000 a second after a burst
/// of 32, and non-blocking, so the retransmissions that still happen
/// overlap instead of adding up.
fn connect_all(poll: &mut Poll, o: &Options) -> io::Result<Vec<TcpStream>> {
    const BURST: u128 = 32;
    const INTERVAL_US: u128 = 100;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(60);
    let mut streams: Vec<TcpStream> = Vec::with_capacity(o.conns);
    let mut connected = vec![false; o.conns];
    let mut done = 0;
    let mut events = Events::with_capacity(1024);
    while done < o.conns {
        let allowed = BURST + start.elapsed().as_micros() / INTERVAL_US;
        while (streams.len() as u128) < allowed && streams.len() < o.conns {
            let i = streams.len();
            let mut stream = TcpStream::connect(o.addr)
                .map_err(|e| io::Error::new(e.kind(), format!("connection {i}: {e}")))?;
            poll.registry()
                .register(&mut stream, Token(i), Interest::WRITABLE)?;
            streams.push(stream);
        }
        if Instant::now() > deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("only {done} of {} connections opened in 60 s", o.conns),
            ));
        }
        let wait = if streams.len() < o.conns {
            Duration::from_micros(INTERVAL_US as u64)
        } else {
            Duration::from_millis(100)
        };
        match poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            let i = event.token().0;
            if connected[i] {
                continue;
            }
            let stream = &mut streams[i];
            if let Some(e) = stream.take_error()? {
                return Err(io::Error::new(e.kind(), format!("connection {i}: {e}")));
            }
            match stream.peer_addr() {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotConnected => continue,
                Err(e) => return Err(io::Error::new(e.kind(), format!("connection {i}: {e}"))),
            }
            stream.set_nodelay(true)?;
            poll.registry()
                .reregister(stream, Token(i), Interest::READABLE)?;
            connected[i] = true;
            done += 1;
        }
    }
    Ok(streams)
}

fn report_error(errors: &mut u64, conn: usize, e: &io::Error) {
    *errors += 1;
    if *errors <= 5 {
        eprintln!("loadgen: connection {conn}: {e}");
    }
}

impl Conn {
    /// Starts the next request: fills it in (echo: fresh pseudo-random
    /// bytes) and writes as much as the socket takes.
    fn send_next(&mut self, o: &Options, poll: &Poll) -> io::Result<()> {
        self.request.clear();
        match o.mode {
            Mode::Echo => {
                while self.request.len() < o.size {
                    // xorshift64: cheap, and no two connections send the same bytes.
                    self.rng ^= self.rng << 13;
                    self.rng ^= self.rng >> 7;
                    self.rng ^= self.rng << 17;
                    let take = (o.size - self.request.len()).min(8);
                    self.request
                        .extend_from_slice(&self.rng.to_le_bytes()[..take]);
                }
            }
            Mode::Http => self.request.extend_from_slice(HTTP_REQUEST),
        }
        self.written = 0;
        self.received = 0;
        self.sent_at = Instant::now();
        self.flush(poll)
    }

    /// Writes the rest of the request; asks for writable events only while
    /// something is left over.
    fn flush(&mut self, poll: &Poll) -> io::Result<()> {
        while self.written < self.request.len() {
            match self.stream.write(&self.request[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !self.wants_write {
                        self.wants_write = true;
                        self.reregister(poll, Interest::READABLE | Interest::WRITABLE)?;
                    }
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.wants_write {
            self.wants_write = false;
            self.reregister(poll, Interest::READABLE)?;
        }
        Ok(())
    }

    fn reregister(&mut self, poll: &Poll, interest: Interest) -> io::Result<()> {
        poll.registry()
            .reregister(&mut self.stream, self.token, interest)
    }

    /// Reads until the in-flight response is complete (returns its length
    /// in bytes) or the socket has nothing more (`None`). Every byte is
    /// checked; anything unexpected is an error.
    fn read_response(&mut self, mode: Mode, scratch: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            let n = match self.stream.read(scratch) {
                Ok(0) => return Err(io::Error::other("the server closed the connection")),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let got = &scratch[..n];
            match mode {
                Mode::Echo => {
                    let expected = self
                        .request
                        .get(self.received..self.received + n)
                        .ok_or_else(|| {
                            io::Error::other("the server sent more than was sent to it")
                        })?;
                    if got != expected {
                        let at = got
                            .iter()
                            .zip(expected)
                            .position(|(a, b)| a != b)
                            .unwrap_or(0);
                        return Err(io::Error::other(format!(
                            "echo differs at byte {} of the request",
                            self.received + at
                        )));
                    }
                    self.received += n;
                    if self.received == self.request.len() {
                        return Ok(Some(self.received));
                    }
                }
                Mode::Http => {
                    self.inbuf.extend_from_slice(got);
                    if let Some(len) = parse_hello(&self.inbuf)? {
                        if len != self.inbuf.len() {
                            return Err(io::Error::other(
                                "bytes after the response, but only one request was sent",
                            ));
                        }
                        self.inbuf.clear();
                        return Ok(Some(len));
                    }
                }
            }
        }
    }
}

/// Parses one `Hello, World!` response at the start of `buf`: its length
/// once complete, `None` while partial, an error if it is anything else.
fn parse_hello(buf: &[u8]) -> io::Result<Option<usize>> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(buf) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(io::Error::other(format!("bad HTTP response: {e}"))),
    };
    if response.code != Some(200) {
        return Err(io::Error::other(format!("HTTP status {:?}", response.code)));
    }
    let length: usize = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
        .ok_or_else(|| io::Error::other("response without a Content-Length"))?;
    if buf.len() < head + length {
        return Ok(None);
    }
    if &buf[head..head + length] != HTTP_BODY {
        return Err(io::Error::other("the body is not `Hello, World!`"));
    }
    Ok(Some(head + length))
}

/// CPU time (user + system, all threads) used so far by process `pid`, in
/// seconds, from `/proc/PID/stat`; `None` if it is gone.
fn process_cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it do not.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks are USER_HZ, which Linux fixes at 100 for user space.
    Some((utime + stime) / 100.0)
}

/// Resident memory of process `pid` in KiB (`VmRSS` in its status).
fn process_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// All CPUs' (total, idle + iowait) clock ticks so far, from `/proc/stat`.
fn machine_ticks() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    Some((
        ticks.iter().sum(),
        ticks.get(3)? + ticks.get(4).unwrap_or(&0.0),
    ))
}

fn own_cpu_secs() -> f64 {
    process_cpu_secs(std::process::id()).unwrap_or(0.0)
}

/// Makes closing `stream` send a reset instead of a FIN, so this side does
/// not keep the address pair in `TIME_WAIT`: a comparison makes tens of
/// thousands of connections within minutes.
fn reset_on_close(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is open (owned by `stream`, borrowed for the call),
    // and the option value points to a live `linger` of the size passed.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

impl Report {
    fn print(&self, o: &Options) {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        let rps = self.requests as f64 / secs;
        let mib_s = self.bytes as f64 / secs / (1024.0 * 1024.0);
        let us = |q: f64| self.latency.value_at_quantile(q) as f64 / 1000.0;
        let (p50, p99, p999) = (us(0.5), us(0.99), us(0.999));
        let max = self.latency.max() as f64 / 1000.0;
        // Relative spread of the per-window rates: the run's own noise.
        let rates: Vec<f64> = self.windows.iter().map(|&n| n as f64).collect();
        let mean = rates.iter().sum::<f64>() / rates.len().max(1) as f64;
        let var = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / rates.len().max(1) as f64;
        let cv = if mean > 0.0 { var.sqrt() / mean } else { 0.0 };
        let mode = match o.mode {
            Mode::Echo => "echo",
            Mode::Http => "http",
        };
        println!(
            "{mode} against {}: {} connections (opened in {:.0} ms), {} B requests, {:.2} s measured after {:.1} s warm-up",
            o.addr,
            o.conns,
            self.connect.as_secs_f64() * 1e3,
            if o.mode == Mode::Echo {
                o.size
            } else {
                HTTP_REQUEST.len()
            },
            secs,
            o.warmup
        );
        println!(
            "  {rps:.0} requests/s, {mib_s:.1} MiB/s of verified responses, spread {:.1}% between {} ms windows",
            cv * 100.0,
            WINDOW.as_millis()
        );
        println!("  latency p50 {p50:.1} us, p99 {p99:.1} us, p999 {p999:.1} us, max {max:.1} us");
        print!(
            "  load generator CPU {:.0}% of a core",
            self.client_cpu * 100.0
        );
        match self.server_cpu {
            Some(cpu) => println!(
                ", server CPU {:.0}% of a core ({:.2} us per request)",
                cpu * 100.0,
                if rps > 0.0 { cpu / rps * 1e6 } else { 0.0 }
            ),
            None => println!(),
        }
        if self.errors > 0 {
            println!("  {} connections FAILED verification or I/O", self.errors);
        }
        let server_cpu = self
            .server_cpu
            .map_or("null".to_string(), |c| format!("{c:.4}"));
        let machine_cpu = self
            .machine_cpu
            .map_or("null".to_string(), |c| format!("{c:.4}"));
        let server_rss_kib = self
            .server_rss_kib
            .map_or("null".to_string(), |k| k.to_string());
        if let Some(machine) = self.machine_cpu {
            println!("  whole machine busy {:.0}% of a core", machine * 100.0);
        }
        if let Some(kib) = self.server_rss_kib {
            println!("  server resident memory {:.1} MiB", kib as f64 / 1024.0);
        }
        println!(
            "{{\"mode\":\"{mode}\",\"conns\":{},\"size\":{},\"secs\":{secs:.4},\"requests\":{},\
             \"rps\":{rps:.1},\"mib_s\":{mib_s:.3},\"p50_us\":{p50:.2},\"p99_us\":{p99:.2},\
             \"p999_us\":{p999:.2},\"max_us\":{max:.2},\"cv\":{cv:.4},\"windows\":{},\"errors\":{},\
             \"connect_ms\":{:.1},\"client_cpu\":{:.4},\"server_cpu\":{server_cpu},\
             \"server_rss_kib\":{server_rss_kib},\"machine_cpu\":{machine_cpu}}}",
            o.conns,
            o.size,
            self.requests,
            self.windows.len(),
            self.errors,
            self.connect.as_secs_f64() * 1e3,
            self.client_cpu
        );
    }
}

/// The reference server: nothing but the protocol on mio, with as many
/// event-loop threads as the servers under test have workers. This
/// thread accepts (blocking) and deals the connections out round-robin.
fn serve(addr: SocketAddr, mode: Mode, threads: usize) -> io::Result<()> {
    let listener = std::net::TcpListener::bind(addr)?;
    println!(
        "loadgen reference server ({mode:?}, {threads} threads) on {}",
        listener.local_addr()?
    );
    let mut loops = Vec::new();
    for _ in 0..threads.max(1) {
        let poll = Poll::new()?;
        let waker = std::sync::Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        let (handoff, arrivals) = std::sync::mpsc::channel::<std::net::TcpStream>();
        std::thread::spawn(move || {
            if let Err(e) = event_loop(poll, arrivals, mode) {
                eprintln!("loadgen server: event loop failed: {e}");
                std::process::exit(1);
            }
        });
        loops.push((handoff, waker));
    }
    for (n, stream) in listener.incoming().enumerate() {
        match stream {
            Ok(stream) => {
                stream.set_nonblocking(true)?;
                stream.set_nodelay(true)?;
                let (handoff, waker) = &loops[n % loops.len()];
                handoff
                    .send(stream)
                    .map_err(|_| io::Error::other("an event loop is gone"))?;
                waker.wake()?;
            }
            Err(e) => {
                eprintln!("loadgen server: accept failed: {e}; retrying in 100 ms");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    Ok(())
}

const WAKER: Token = Token(usize::MAX);

/// Takes bytes a reference-server connection received: echo queues them
/// to be sent back; http queues one response per complete request.
fn take(peer: &mut RefPeer, got: &[u8], mode: Mode) -> io::Result<()> {
    match mode {
        Mode::Echo => peer.out.extend_from_slice(got),
        Mode::Http => {
            peer.inbuf.extend_from_slice(got);
            let mut used = 0;
            loop {
                let mut headers = [httparse::EMPTY_HEADER; 32];
                let mut req = httparse::Request::new(&mut headers);
                match req.parse(&peer.inbuf[used..]) {
                    Ok(httparse::Status::Complete(len)) => {
                        peer.out.extend_from_slice(HTTP_RESPONSE);
                        used += len;
                    }
                    Ok(httparse::Status::Partial) => break,
                    Err(e) => return Err(io::Error::other(format!("bad request: {e}"))),
                }
            }
            peer.inbuf.drain(..used);
        }
    }
    Ok(())
}

/// One connection of the reference server.
struct RefPeer {
    stream: TcpStream,
    /// Bytes still to send back (echo data or responses).
    out: Vec<u8>,
    /// Http: request bytes not parsed yet.
    inbuf: Vec<u8>,
    /// Registered for writable events: `out` did not fit.
    wants_write: bool,
}

/// One reference-server thread: serves the connections handed to it.
fn event_loop(
    mut poll: Poll,
    arrivals: std::sync::mpsc::Receiver<std::net::TcpStream>,
    mode: Mode,
) -> io::Result<()> {
    let mut peers: Vec<Option<RefPeer>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            if event.token() == WAKER {
                for stream in arrivals.try_iter() {
                    let mut stream = TcpStream::from_std(stream);
                    let slot = free.pop().unwrap_or_else(|| {
                        peers.push(None);
                        peers.len() - 1
                    });
                    poll.registry()
                        .register(&mut stream, Token(slot), Interest::READABLE)?;
                    peers[slot] = Some(RefPeer {
                        stream,
                        out: Vec::new(),
                        inbuf: Vec::new(),
                        wants_write: false,
                    });
                }
                continue;
            }
            let slot = event.token().0;
            let Some(peer) = peers[slot].as_mut() else {
                continue;
            };
            let registry = poll.registry();
            let outcome = (|| -> io::Result<bool> {
                loop {
                    match peer.stream.read(&mut buf) {
                        Ok(0) => return Ok(false),
                        // A short read took everything there was; what
                        // arrives later raises a new edge, so no second
                        // read just to see `WouldBlock`.
                        Ok(n) if n < buf.len() => {
                            take(peer, &buf[..n], mode)?;
                            break;
                        }
                        Ok(n) => take(peer, &buf[..n], mode)?,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                let mut sent = 0;
                while sent < peer.out.len() {
                    match peer.stream.write(&peer.out[sent..]) {
                        Ok(n) => sent += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                peer.out.drain(..sent);
                let wants_write = !peer.out.is_empty();
                if wants_write != peer.wants_write {
                    peer.wants_write = wants_write;
                    let interest = if wants_write {
                        Interest::READABLE | Interest::WRITABLE
                    } else {
                        Interest::READABLE
                    };
                    registry.reregister(&mut peer.stream, Token(slot), interest)?;
                }
                Ok(true)
            })();
            if !matches!(outcome, Ok(true)) {
                if let Some(mut peer) = peers[slot].take() {
                    let _ = poll.registry().deregister(&mut peer.stream);
                }
                free.push(slot);
            }
        }
    }
}
