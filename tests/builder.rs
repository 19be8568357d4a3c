//! `Builder`: names and stack sizes are honoured.

mod common;

use common::{runtime, with_timeout};

#[test]
fn name_is_visible_inside_and_outside() {
    with_timeout(10, || {
        let h = weft::Builder::new()
            .name("handler-3".into())
            .spawn(|| weft::current().unwrap().name().map(String::from))
            .unwrap();
        assert_eq!(h.coroutine().name(), Some("handler-3"));
        assert_eq!(h.join().unwrap().as_deref(), Some("handler-3"));
    });
}

/// Uses about `kib` KiB of stack, touching every page.
fn use_stack(kib: usize) -> u64 {
    fn frame(left: usize) -> u64 {
        let buf = [left as u8; 1024];
        let buf = std::hint::black_box(buf);
        if left == 0 {
            buf[0] as u64
        } else {
            buf[1] as u64 + frame(left - 1)
        }
    }
    frame(kib)
}

#[test]
fn large_stack_size_allows_deep_recursion() {
    with_timeout(10, || {
        let rt = runtime(1);
        let h = rt.block_on(|| {
            weft::Builder::new()
                .stack_size(8 << 20)
                .spawn(|| use_stack(1000))
                .unwrap()
        });
        assert!(h.join().unwrap() > 0);
    });
}

#[test]
fn runtime_stack_size_is_the_default() {
    with_timeout(10, || {
        let rt = weft::Runtime::builder()
            .workers(1)
            .stack_size(8 << 20)
            .build()
            .unwrap();
        assert!(rt.block_on(|| use_stack(1000)) > 0);
    });
}
