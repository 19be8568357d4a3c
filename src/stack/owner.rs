//! Who owns a stack: a small record at the top of every slot, so that the
//! overflow handler can name the coroutine whose guard page was hit.
//!
//! The handler knows only the faulting address. Asking "which coroutine
//! runs on this thread now" names the wrong one whenever the fault is not
//! a plain overflow of the running coroutine: a plain thread (a blocking
//! pool thread, say) or another coroutine that walks off a pointer into
//! someone else's stack. The address does identify the slot (the registry
//! maps it), and the slot is the owner's own memory, so the owner's name is
//! kept there: the highest [`RECORD`] bytes of every slot, above the stack
//! proper (`Stack::base` starts below them).
//!
//! The record is all atomics: the handler may read it from any thread
//! while the owner's worker rewrites it for the next coroutine, and then it
//! reads a garbled name at worst, never a pointer. It holds a copy of the
//! name (at most [`MAX_NAME`] bytes), not a pointer to it, for the same
//! reason. A slot that no coroutine owns reads as zeroes: cold slots lose
//! their pages (`MADV_DONTNEED`) and a released stack clears its record.
//! Slabs are never unmapped, so reading a record is always safe.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

/// Longest name (in bytes) a record keeps; longer names are cut.
pub(super) const MAX_NAME: usize = 248;

/// Bytes reserved at the top of every slot for its record: a multiple of
/// 16, so the stack below it stays 16-byte aligned.
pub(crate) const RECORD: usize = std::mem::size_of::<Record>();

const _: () = assert!(RECORD.is_multiple_of(16));

/// The owner record. `len` is 0 when no coroutine owns the slot, else
/// 1 + the number of name bytes kept (so an empty name is told apart).
#[repr(C)]
struct Record {
    len: AtomicUsize,
    name: [AtomicU8; MAX_NAME],
}

/// The record of the slot whose top (one past its highest byte) is `top`.
///
/// # Safety
///
/// `top` must be the top of a slot of one of our slabs: the `RECORD` bytes
/// below it are mapped for the life of the process and are never used as
/// anything but this record.
unsafe fn record<'a>(top: usize) -> &'a Record {
    // Soundness: by the caller's contract the bytes are mapped forever and
    // only ever accessed through this type, whose fields are atomics (any
    // bit pattern is valid, concurrent access is allowed); the address is
    // page aligned minus a multiple of 16, so aligned for `Record`.
    // SAFETY: by the soundness argument just above.
    unsafe { &*((top - RECORD) as *const Record) }
}

/// Records `name` as the owner of the slot under `top`.
///
/// # Safety
///
/// As for [`record`]; the caller owns the slot (it holds its `Stack`).
pub(super) unsafe fn set(top: usize, name: &str) {
    // SAFETY: forwarded from the caller's contract.
    let r = unsafe { record(top) };
    let bytes = cut(name.as_bytes());
    for (slot, &b) in r.name.iter().zip(bytes) {
        slot.store(b, Ordering::Relaxed);
    }
    // Release: a reader that sees the length sees these bytes (when no
    // newer writer interferes; a race only garbles a dying message).
    r.len.store(bytes.len() + 1, Ordering::Release);
}

/// Marks the slot under `top` as owned by nobody.
///
/// # Safety
///
/// As for [`set`].
pub(super) unsafe fn clear(top: usize) {
    // SAFETY: forwarded from the caller's contract.
    let len = unsafe { record(top) }.len.load(Ordering::Relaxed);
    // A stack that never had an owner is not written to: reading an
    // untouched page maps the shared zero page, writing would give it a
    // page of its own (and, under the `mprotect` fallback, an anon_vma
    // that keeps its split mapping from merging back).
    if len != 0 {
        // SAFETY: as above.
        unsafe { record(top) }.len.store(0, Ordering::Release);
    }
}

/// Copies the owner's name of the slot under `top` into `buf` and returns
/// its length, or `None` when no coroutine owns the slot.
/// Async-signal-safe: atomic loads only.
///
/// # Safety
///
/// As for [`record`].
pub(super) unsafe fn read(top: usize, buf: &mut [u8; MAX_NAME]) -> Option<usize> {
    // SAFETY: forwarded from the caller's contract.
    let r = unsafe { record(top) };
    let len = r.len.load(Ordering::Acquire).checked_sub(1)?.min(MAX_NAME);
    for (b, slot) in buf.iter_mut().zip(&r.name).take(len) {
        *b = slot.load(Ordering::Relaxed);
    }
    Some(len)
}

/// `name` cut to at most [`MAX_NAME`] bytes on a UTF-8 character boundary.
fn cut(name: &[u8]) -> &[u8] {
    if name.len() <= MAX_NAME {
        return name;
    }
    let mut end = MAX_NAME;
    while end > 0 && name[end] & 0xc0 == 0x80 {
        end -= 1;
    }
    &name[..end]
}

#[cfg(test)]
mod tests {
    use super::super::allocate;
    use super::*;

    #[test]
    fn set_read_clear() {
        let stack = allocate(16 * 1024).unwrap();
        let mut buf = [0u8; MAX_NAME];
        stack.set_owner("reader-3");
        // SAFETY: the top of a stack we hold.
        let n = unsafe { read(stack.top(), &mut buf) }.unwrap();
        assert_eq!(&buf[..n], b"reader-3");
        stack.set_owner("");
        // SAFETY: as above.
        assert_eq!(unsafe { read(stack.top(), &mut buf) }, Some(0));
        let top = stack.top();
        drop(stack);
        // Released (to this thread's cache): owned by nobody.
        // SAFETY: the slot's memory stays mapped; the record is only ever
        // accessed through atomics.
        assert_eq!(unsafe { read(top, &mut buf) }, None);
    }

    #[test]
    fn long_names_are_cut_on_a_char_boundary() {
        let name = "é".repeat(200); // 400 bytes
        let kept = cut(name.as_bytes());
        assert!(kept.len() <= MAX_NAME && kept.len() >= MAX_NAME - 1);
        assert!(std::str::from_utf8(kept).is_ok());
    }
}
