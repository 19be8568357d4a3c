//! The descriptor-level trait impls every weft socket shares with its std
//! twin (`AsRawFd`, `AsFd`, `FromRawFd`, `IntoRawFd`, `From<OwnedFd>`,
//! `From<T> for OwnedFd`, `Debug`), written once as a macro.
//!
//! A descriptor handed *in* is adopted with `from_std` (its blocking mode
//! and timeouts are kept as the user's settings); a descriptor handed
//! *out* goes through `into_std` first, so it leaves deregistered and in
//! the mode std would have it in.

/// Implements the descriptor traits for `$weft`, whose field `inner` is an
/// `Evented<$std>` and which has `from_std($std) -> Self`.
macro_rules! fd_traits {
    ($weft:ty, $std:ty) => {
        impl std::os::fd::AsRawFd for $weft {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.inner.socket().as_raw_fd()
            }
        }

        impl std::os::fd::AsFd for $weft {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.inner.socket().as_fd()
            }
        }

        impl std::os::fd::FromRawFd for $weft {
            /// Adopts the descriptor as std's `from_raw_fd` does; its
            /// blocking mode and timeouts are kept.
            unsafe fn from_raw_fd(fd: std::os::fd::RawFd) -> Self {
                // SAFETY: the caller guarantees `fd` is an open socket of
                // this kind that it owns, which is std's contract.
                <$weft>::from_std(unsafe { <$std>::from_raw_fd(fd) })
            }
        }

        impl std::os::fd::IntoRawFd for $weft {
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                // Best effort, as the trait cannot fail: the fd leaves in
                // the mode std would have it in whenever the kernel allows.
                self.inner.into_std().0.into_raw_fd()
            }
        }

        impl From<std::os::fd::OwnedFd> for $weft {
            fn from(fd: std::os::fd::OwnedFd) -> Self {
                <$weft>::from_std(<$std>::from(fd))
            }
        }

        impl From<$weft> for std::os::fd::OwnedFd {
            fn from(socket: $weft) -> Self {
                std::os::fd::OwnedFd::from(socket.inner.into_std().0)
            }
        }

        impl std::fmt::Debug for $weft {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.inner.fmt(f)
            }
        }
    };
}

pub(crate) use fd_traits;
