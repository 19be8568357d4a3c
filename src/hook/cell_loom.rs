//! `loom` model of the watch cell (`cell.rs`): a registration installed
//! while the descriptor is being closed is either taken by the close or
//! withdrawn by the installer, never left in the cell; and every value
//! has exactly one owner at the end.
//!
//! Run with `RUSTFLAGS="--cfg weft_loom" CARGO_TARGET_DIR=target/loom
//! cargo test --release --features hook --lib hook::cell`.

use std::sync::Arc;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use super::WatchCell;

#[test]
fn loom_a_close_never_leaves_a_registration_behind() {
    loom::model(|| {
        let cell = Arc::new(WatchCell::<u32>::new());
        let rejected = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(AtomicUsize::new(usize::MAX));
        let installer = {
            let (cell, rejected, seen) = (cell.clone(), rejected.clone(), seen.clone());
            thread::spawn(move || {
                let generation = cell.generation();
                seen.store(generation as usize, Ordering::SeqCst);
                // ... Registration::new happens here ...
                match cell.install(Arc::new(7), generation) {
                    Ok(value) => assert_eq!(*value, 7),
                    Err(_) => {
                        rejected.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        };
        let taken = cell.forget().is_some() as usize;
        installer.join().unwrap();
        let left = cell.get().is_some() as usize;
        // Exactly one owner of the value at the end.
        assert_eq!(taken + rejected.load(Ordering::SeqCst) + left, 1);
        // A value may stay only if its registration began after the close
        // (it read the bumped generation): a new owner's, not a stale one.
        if left == 1 {
            assert_eq!(seen.load(Ordering::SeqCst), 1);
        }
    });
}
