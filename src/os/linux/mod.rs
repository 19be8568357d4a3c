//! Linux-specific functionality, mirroring [`std::os::linux`]: the TCP
//! extension trait of [`net`].

pub mod net;
