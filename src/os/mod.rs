//! OS-specific functionality, mirroring [`std::os`]: for now the Unix
//! domain sockets of [`unix::net`].

pub mod unix;
