//! Child processes: every measurement runs in one, so each peer starts
//! from a clean process (its own runtime, resident memory, file
//! descriptors) and a hang or crash costs one row, not the run.
//!
//! [`run`] runs a command to completion under a timeout; [`Server`] starts
//! a server, learns its address from its first line of output, and kills
//! it when dropped, so only one server is up at a time.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// What a finished child printed.
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The last line of stdout that looks like a JSON object.
    pub fn json_line(&self) -> Option<&str> {
        self.stdout
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('{') && l.ends_with('}'))
    }
}

/// This binary's path, for re-running it as a child. Linux names a binary
/// that was rebuilt while running `PATH (deleted)`; the new one is at PATH.
pub fn own_exe() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("compare"));
    match exe.to_str().and_then(|p| p.strip_suffix(" (deleted)")) {
        Some(path) => PathBuf::from(path),
        None => exe,
    }
}

/// The directory holding this package's binaries (this one's own).
fn bin_dir() -> PathBuf {
    own_exe()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target/release"))
}

/// The path of binary `name` if it was built: one of this package's
/// (`compare/src/bin/`) or one of weft's examples (`examples/`).
pub fn example(name: &str) -> Option<PathBuf> {
    let dir = bin_dir();
    [dir.join(name), dir.join("examples").join(name)]
        .into_iter()
        .find(|p| p.is_file())
}

/// Runs `cmd` to completion; kills it after `timeout`. `Err` holds why it
/// failed, with the end of its stderr.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("RUST_BACKTRACE", "0")
        .spawn()
        .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let stdout = drain(child.stdout.take().expect("piped"));
    let stderr = drain(child.stderr.take().expect("piped"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let out = Output {
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    };
    match status {
        Some(s) if s.success() => Ok(out),
        Some(s) => Err(format!("{s}: {}", tail(&out.stderr))),
        None => Err(format!(
            "killed after {} s: {}",
            timeout.as_secs(),
            tail(&out.stderr)
        )),
    }
}

fn drain(mut from: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// The message of the first panic in `text`, else its last non-empty
/// line, shortened, for a failure note.
pub fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let panic_message = lines
        .iter()
        .position(|l| l.contains("panicked at"))
        .and_then(|i| lines.get(i + 1))
        .filter(|l| !l.is_empty());
    let line = panic_message
        .or_else(|| {
            lines.iter().rev().find(|l| {
                !l.is_empty()
                    && !l.starts_with("note:")
                    && !l.starts_with("stack backtrace")
                    && !l.starts_with("at ")
                    && !l.chars().next().is_some_and(|c| c.is_ascii_digit())
            })
        })
        .copied()
        .unwrap_or("no output");
    let mut line = line.replace('|', "/");
    if line.len() > 160 {
        let mut cut = 157;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push_str("...");
    }
    line
}

/// A server under test, in its own process; killed on drop.
pub struct Server {
    child: Child,
    /// The address it listens on.
    pub addr: String,
}

impl Server {
    /// Starts `cmd`, which must print its `127.0.0.1:PORT` address in its
    /// first lines of output within 10 s.
    pub fn start(cmd: &mut Command) -> Result<Server, String> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("RUST_BACKTRACE", "0")
            .spawn()
            .map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
        let stdout = child.stdout.take().expect("piped");
        let stderr = drain(child.stderr.take().expect("piped"));
        let (found, address) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(addr) = find_address(&line) {
                    let _ = found.send(addr);
                }
            }
        });
        match address.recv_timeout(Duration::from_secs(10)) {
            Ok(addr) => Ok(Server { child, addr }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "printed no address: {}",
                    tail(&stderr.join().unwrap_or_default())
                ))
            }
        }
    }

    /// Its process id, for the load generator to read its CPU time.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `127.0.0.1:PORT` in a line such as `echo server on 127.0.0.1:40000`.
fn find_address(line: &str) -> Option<String> {
    let at = line.find("127.0.0.1:")?;
    let rest = &line[at + "127.0.0.1:".len()..];
    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!port.is_empty()).then(|| format!("127.0.0.1:{port}"))
}

/// The number after `"key":` in a flat JSON object line; `None` for a
/// missing key or `null`.
pub fn json_number(line: &str, key: &str) -> Option<f64> {
    let pattern = format!("\"{key}\":");
    let at = line.find(&pattern)? + pattern.len();
    let value: String = line[at..]
        .chars()
        .take_while(|c| !matches!(c, ',' | '}'))
        .collect();
    value.trim().parse().ok()
}

/// A failure note, with the likely cause added when the message is one
/// of the known ways to run out of memory mappings.
pub fn explain(failure: &str) -> String {
    let mappings = ["Cannot allocate memory", "memory allocation of", "mmap"];
    if mappings.iter().any(|m| failure.contains(m)) {
        let limit = std::fs::read_to_string("/proc/sys/vm/max_map_count")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "?".into());
        format!(
            "{failure} (out of memory mappings: every live stack and its guard page is a \
             mapping, and vm.max_map_count is {limit})"
        )
    } else {
        failure.to_string()
    }
}
