//! OS-specific functionality, mirroring [`std::os`]: the Unix domain
//! sockets of [`unix::net`], and Linux's TCP extension trait.

#[cfg(any(target_os = "linux", target_os = "android"))]
pub mod linux;
pub mod unix;
