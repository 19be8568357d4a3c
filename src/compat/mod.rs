//! Bridges to other async runtimes, each behind its own cargo feature.
//!
//! - [`tokio`] (feature `tokio`): a process-wide tokio runtime and a
//!   `block_on` that polls a future on the calling coroutine inside that
//!   runtime's context, so tokio-based crates (`reqwest`, `sqlx`,
//!   `tonic`...) work from sequential code.

pub mod tokio;
