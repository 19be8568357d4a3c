//! The I/O driver: each worker's `mio::Poll`, and the readiness of each
//! registered socket.
//!
//! - [`reactor`]: the poller a worker blocks in when idle and checks
//!   between coroutines when busy; it turns epoll/kqueue events into
//!   readiness bits and wakes the coroutines waiting for them.
//! - [`registration`]: what a socket holds once registered, and the
//!   park-until-ready call that `weft::net` builds every blocking-looking
//!   operation on.
//!
//! `arch/io.md` tells the whole story.

pub(crate) mod reactor;
pub(crate) mod registration;

#[cfg(all(test, weft_loom))]
mod loom_release;
