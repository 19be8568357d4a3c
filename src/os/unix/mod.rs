//! Unix-specific functionality, mirroring [`std::os::unix`].

pub mod net;
