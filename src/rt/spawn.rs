//! Spawning: [`Builder`], [`spawn`], and the path from a closure to a
//! queued [`NewTask`].

use std::any::Any;
use std::cell::UnsafeCell;
use std::io;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::rt::coroutine::{Cancelled, Header, HeaderFields, HeaderWith, Tail};
use crate::rt::join::{self, JoinHandle, Packet};
use crate::rt::local::LocalMap;
use crate::rt::runtime;
use crate::rt::scheduler::{NewTask, Shared, Start};
use crate::rt::unwinding;
use crate::rt::worker;
use crate::stack;

/// Spawns a coroutine and returns its [`JoinHandle`], like
/// [`std::thread::spawn`].
///
/// Inside a coroutine it spawns onto the current runtime; anywhere else
/// onto the default runtime (started on first use, one worker per core).
///
/// # Panics
/// If the coroutine's stack cannot be mapped; the message names the limit
/// and how to raise it. Use [`Builder::spawn`] to get the error instead.
///
/// ```
/// let h = weft::spawn(|| "hello from a coroutine");
/// assert_eq!(h.join().unwrap(), "hello from a coroutine");
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new()
        .spawn(f)
        .unwrap_or_else(|e| panic!("failed to spawn coroutine: {e}"))
}

/// Coroutine factory, to configure a coroutine before spawning it, like
/// [`std::thread::Builder`].
///
/// ```
/// let h = weft::Builder::new()
///     .name("parser".into())
///     .stack_size(256 * 1024)
///     .spawn(|| weft::current().unwrap().name().unwrap().to_string())
///     .unwrap();
/// assert_eq!(h.join().unwrap(), "parser");
/// ```
#[derive(Debug, Default)]
#[must_use = "a Builder does nothing until spawn is called"]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with no name and the runtime's default stack size.
    ///
    /// ```
    /// let h = weft::Builder::new().spawn(|| 1).unwrap();
    /// assert_eq!(h.join().unwrap(), 1);
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the coroutine. The name shows in stack overflow messages and
    /// through [`Coroutine::name`](crate::Coroutine::name).
    ///
    /// ```
    /// let h = weft::Builder::new().name("acceptor".into()).spawn(|| ()).unwrap();
    /// assert_eq!(h.coroutine().name(), Some("acceptor"));
    /// # h.join().unwrap();
    /// ```
    pub fn name(mut self, name: String) -> Builder {
        self.name = Some(name);
        self
    }

    /// Sets the usable stack size in bytes (rounded up to the pool's next
    /// size class, of which the top 256 bytes name the coroutine for an
    /// overflow report). The default is the runtime's, 128 KiB unless the
    /// runtime builder says otherwise. Overflowing it aborts the process
    /// with `coroutine '<name>' has overflowed its stack`.
    ///
    /// ```
    /// let h = weft::Builder::new()
    ///     .stack_size(1 << 20)
    ///     .spawn(|| {
    ///         let big = [1u8; 512 * 1024];
    ///         std::hint::black_box(&big).iter().map(|&b| b as usize).sum::<usize>()
    ///     })
    ///     .unwrap();
    /// assert_eq!(h.join().unwrap(), 512 * 1024);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Builder {
        self.stack_size = Some(bytes);
        self
    }

    /// Spawns the coroutine, on the current runtime inside a coroutine and
    /// on the default runtime elsewhere. Fails if its stack cannot be
    /// mapped (the error names the exhausted limit and how to raise it).
    ///
    /// ```
    /// let h = weft::Builder::new().spawn(|| 2 + 2)?;
    /// assert_eq!(h.join().unwrap(), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let at = Location::caller();
        worker::with_current_shared(|shared| match shared {
            Some(shared) => self.spawn_on(shared, f, at),
            None => self.spawn_on(runtime::default_shared(), f, at),
        })
    }

    pub(crate) fn spawn_on<F, T>(
        self,
        shared: &Arc<Shared>,
        f: F,
        at: &'static Location<'static>,
    ) -> io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (task, handle) = self.prepare(shared, f, at)?;
        submit(shared, task);
        Ok(handle)
    }

    /// Builds the task and its handle without the `'static` bounds.
    ///
    /// # Safety
    /// The caller must not let anything `f` borrows, nor `T`, go out of
    /// scope before the task has completed (its packet holds a result or
    /// the task was cancelled): the worker runs `f` on another thread, at a
    /// time the borrow checker cannot see.
    pub(crate) unsafe fn prepare_unchecked<'a, F, T>(
        self,
        shared: &Arc<Shared>,
        f: F,
        at: &'static Location<'static>,
    ) -> io::Result<(NewTask, JoinHandle<T>)>
    where
        F: FnOnce() -> T + Send + 'a,
        T: Send + 'a,
    {
        let stack_size = self.stack_size.unwrap_or(shared.stack_size);
        check_stacks(stack_size)?;
        let cell = HeaderWith::new(
            self.name,
            at,
            Job {
                packet: Packet::empty(),
                body: UnsafeCell::new(Some(f)),
            },
        );
        let packet = NonNull::from(&cell.tail.packet);
        let header: Arc<HeaderWith<dyn Tail + 'a>> = cell;
        // Soundness: only the lifetime bound of the tail's trait object
        // changes (same layout, same vtable). What the tail borrows is used
        // only while the task runs, which the caller promises to outlive;
        // the `Arc` itself may outlive that (a timer or wait-list entry can
        // hold a clone), but by then the tail holds neither `F` (taken when
        // the task started, was cancelled or failed) nor a `T` (the caller
        // waits for the result and takes it), so its last drop touches
        // nothing borrowed.
        // SAFETY: by the soundness argument just above.
        let header: Arc<Header> =
            unsafe { std::mem::transmute::<Arc<HeaderWith<dyn Tail + 'a>>, Arc<Header>>(header) };
        let task = NewTask {
            header: header.clone(),
            stack_size,
        };
        // SAFETY: `packet` is the packet in `header`'s own tail.
        Ok((task, unsafe { JoinHandle::new(header, packet) }))
    }

    fn prepare<F, T>(
        self,
        shared: &Arc<Shared>,
        f: F,
        at: &'static Location<'static>,
    ) -> io::Result<(NewTask, JoinHandle<T>)>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // SAFETY: `F` and `T` are 'static: there are no borrows to outlive.
        unsafe { self.prepare_unchecked(shared, f, at) }
    }
}

/// The tail of a spawned coroutine's allocation: its join packet and,
/// until it starts, its closure.
struct Job<F, T> {
    packet: Packet<T>,
    body: UnsafeCell<Option<F>>,
}

// SAFETY: `body` is touched only in `Tail::start`, whose contract is one
// call by the one owner of the task: never from two threads. `packet` is
// Sync when `T` is Send.
unsafe impl<F: Send, T: Send> Sync for Job<F, T> {}

impl<F, T> Tail for Job<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    unsafe fn start(&self, start: Start<'_>) {
        // SAFETY: the caller is the task's one owner and calls this once,
        // so nobody else touches `body`.
        let f = unsafe { (*self.body.get()).take() }.expect("a coroutine is started once");
        let (header, locals, result) = match start {
            Start::Run {
                header,
                locals,
                cancelled,
            } => {
                let result = if cancelled {
                    // As if cancelled at a parking point before its first
                    // line: the closure is dropped while unwinding with
                    // `Cancelled`, so its destructors may park (a
                    // cancelled coroutine that unwinds is not cancelled
                    // again) and a panic in them aborts, as in any
                    // destructor that panics during an unwind.
                    unwinding::catch_unwind(move || -> T {
                        let _unrun = f;
                        unwinding::resume_unwind(Box::new(Cancelled))
                    })
                } else {
                    unwinding::catch_unwind(f)
                };
                (header, locals, result)
            }
            Start::Cancelled => {
                drop(f);
                self.packet.complete(Err(Box::new(Cancelled)));
                return;
            }
            Start::Failed(message) => {
                drop(f);
                self.packet.complete(Err(Box::new(message)));
                return;
            }
        };
        // On the coroutine's own stack from here on: every value of the
        // user's is dropped here, never on the worker's loop.
        // Its locals go before `join` can return, whatever ended it.
        let result = match clear_locals(locals) {
            Err(payload) if result.is_ok() => Err(payload),
            Err(payload) => {
                join::drop_payload(payload);
                result
            }
            Ok(()) => result,
        };
        // Out of the dumps before any joiner can see the result.
        if let Some(result) = self.packet.publish(result, || header.set_ended()) {
            end_detached(result, header, locals);
        }
    }

    fn body_needs_drop(&self) -> bool {
        std::mem::needs_drop::<F>()
    }
}

/// The end of a coroutine whose handle is gone: nobody will take its
/// result, so it is dropped here, on the coroutine's own stack, and so are
/// the locals its destructor may have made.
#[cold]
#[inline(never)]
fn end_detached<T>(result: std::thread::Result<T>, header: &HeaderFields, locals: &LocalMap) {
    join::drop_detached(result);
    if let Err(payload) = clear_locals(locals) {
        join::drop_payload(payload);
    }
    header.set_ended();
}

/// Drops a coroutine's locals, catching a panic of their destructors.
#[inline]
fn clear_locals(locals: &LocalMap) -> Result<(), Box<dyn Any + Send>> {
    if locals.is_empty() {
        return Ok(());
    }
    unwinding::catch_unwind(|| locals.clear())
}

/// Set while the last attempt to take a stack failed: spawns then try one
/// themselves, so that they fail with the error instead of queueing
/// coroutines that cannot start.
static STACKS_EXHAUSTED: AtomicBool = AtomicBool::new(false);

/// A worker took a stack: the pool works again.
#[inline]
pub(crate) fn stacks_available() {
    if STACKS_EXHAUSTED.load(Ordering::Relaxed) {
        STACKS_EXHAUSTED.store(false, Ordering::Relaxed);
    }
}

/// A worker could not take a stack for a coroutine it was starting: that
/// coroutine's `join` returns the message, later spawns fail with the
/// error until stacks are available again, and the cause is printed once
/// per episode, since the coroutine's owner may never join it.
pub(crate) fn stacks_exhausted(e: &io::Error) -> String {
    let message = format!("failed to spawn coroutine: {e}");
    if !STACKS_EXHAUSTED.swap(true, Ordering::Relaxed) {
        eprintln!("weft: {message}");
    }
    message
}

/// Spawn-side check: validates the size, and while the pool is exhausted
/// tries a real allocation so the caller gets the error.
fn check_stacks(size: usize) -> io::Result<()> {
    if size > MAX_STACK_SIZE {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("coroutine stack size {size} exceeds the maximum of {MAX_STACK_SIZE} bytes"),
        ));
    }
    if STACKS_EXHAUSTED.load(Ordering::Relaxed) {
        drop(stack::allocate(size)?);
        STACKS_EXHAUSTED.store(false, Ordering::Relaxed);
    }
    Ok(())
}

/// The largest stack a coroutine may ask for (1 GiB): larger requests are
/// mistakes, and would exhaust address space quickly.
const MAX_STACK_SIZE: usize = 1 << 30;

/// Queues a new coroutine: on the current worker's own queue when spawned
/// by one of its coroutines (cheap, and stealable), else on the injector.
pub(crate) fn submit(shared: &Arc<Shared>, task: NewTask) {
    if let Err(task) = worker::push_local(shared, task) {
        shared.injector.push(task);
        if shared.is_shutdown() {
            // The workers may have drained the injector for the last time
            // already; complete what is left ourselves.
            shared.cancel_injected();
        }
    }
    shared.notify_new_work();
}

/// Spawns a coroutine: `go! { body }` is `weft::spawn(move || { body })`.
///
/// ```
/// let name = String::from("weft");
/// let h = weft::go! { format!("hello, {name}") };
/// assert_eq!(h.join().unwrap(), "hello, weft");
/// ```
#[macro_export]
macro_rules! go {
    ($($body:tt)*) => {
        $crate::spawn(move || { $($body)* })
    };
}
