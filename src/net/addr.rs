//! Turning a `std::net::ToSocketAddrs` value into addresses without
//! blocking a worker on a host-name lookup, where that can be done.
//!
//! weft's sockets take std's own trait (`weft::net::ToSocketAddrs` *is*
//! std's), so generic code bounded by `std::net::ToSocketAddrs` compiles
//! against them unchanged and no second trait makes `.to_socket_addrs()`
//! ambiguous. The price: std's trait resolves in place, and a host name
//! means `getaddrinfo`, which blocks the calling thread, i.e. the worker
//! and every coroutine on it. So before calling it, [`addrs`] looks at
//! what it was given:
//!
//! * **Literal addresses** (`SocketAddr`, `(IpAddr, u16)`,
//!   `"127.0.0.1:80"`, `("::1", 80)`, slices of addresses): resolved in
//!   place; std's impls never look anything up for them.
//! * **Host names in std's own types**: `&str`, `String`, `&String`,
//!   `(&str, u16)`, `(String, u16)` and references to
//!   these. Those types are recognised by their lifetime-erased `TypeId`
//!   (`typeid::of`, since `A` need not be `'static`); the host and port
//!   are copied into an owned query, which is looked up on the blocking
//!   pool while the coroutine parks (`resolve.rs`). The caller's value
//!   itself never leaves its coroutine (it need not be `Send`).
//! * **Anything else** (a user's own `ToSocketAddrs` type): its
//!   `to_socket_addrs` runs in place, as with std; if it looks a name up,
//!   that blocks the worker. The docs of `weft::net` say so.
//!
//! On a plain thread everything runs in place, exactly as std does.

use std::any::TypeId;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use super::resolve::resolve;

/// A host-name query copied out of the caller's value: owned and `Send`,
/// so it can go to the blocking pool.
#[derive(Debug, PartialEq, Eq)]
enum Query {
    /// `"host:port"`.
    HostPort(String),
    /// `(host, port)`.
    Host(String, u16),
}

/// Resolves `addr` fully, looking host names up off the worker where it
/// can (see the module docs).
pub(crate) fn addrs<A: ToSocketAddrs>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    if crate::rt::worker::in_coroutine()
        && let Some(query) = host_query(addr)
    {
        return match query {
            Query::HostPort(s) => resolve(s),
            Query::Host(host, port) => resolve((host, port)),
        }
        .map(Iterator::collect);
    }
    Ok(addr.to_socket_addrs()?.collect())
}

/// Resolves `addr` and tries `f` on each address in turn, returning the
/// first success or the last error, as std's socket constructors do.
pub(crate) fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(&SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last_error = None;
    for addr in addrs(&addr)? {
        match f(&addr) {
            Ok(value) => return Ok(value),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}

/// Resolves `addr` fully (for std calls that take a list of addresses).
pub(crate) fn resolve_all<A: ToSocketAddrs>(addr: A) -> io::Result<Vec<SocketAddr>> {
    addrs(&addr)
}

/// If `addr` is one of std's string-like address types holding a host
/// name (not an IP literal), an owned copy of the query; else `None`.
fn host_query<A: ToSocketAddrs>(addr: &A) -> Option<Query> {
    let id = typeid::of::<A>();
    /// Views `addr` as a `$t` if `A` is `$t` up to lifetimes.
    macro_rules! as_type {
        ($t:ty) => {
            if id == TypeId::of::<$t>() {
                // Soundness: `typeid::of::<A>()` is the TypeId of `A` with
                // every lifetime made 'static, so equal ids mean `A` is `$t`
                // with some lifetimes in place of 'static: same layout, same
                // values. The view lives no longer than the borrow of
                // `addr`, during which those lifetimes are alive, and only
                // owned copies leave this function.
                // SAFETY: by the soundness argument just above.
                Some(unsafe { &*(addr as *const A).cast::<$t>() })
            } else {
                None
            }
        };
    }
    let host_port =
        |s: &str| (s.parse::<SocketAddr>().is_err()).then(|| Query::HostPort(s.to_owned()));
    let host = |h: &str, port: u16| {
        (h.parse::<IpAddr>().is_err()).then(|| Query::Host(h.to_owned(), port))
    };
    if let Some(s) = as_type!(&'static str) {
        return host_port(s);
    }
    if let Some(s) = as_type!(String) {
        return host_port(s);
    }
    if let Some(s) = as_type!(&'static String) {
        return host_port(s);
    }
    if let Some(s) = as_type!(&'static &'static str) {
        return host_port(s);
    }
    if let Some((h, p)) = as_type!((&'static str, u16)) {
        return host(h, *p);
    }
    if let Some((h, p)) = as_type!((String, u16)) {
        return host(h, *p);
    }
    if let Some((h, p)) = as_type!(&'static (&'static str, u16)) {
        return host(h, *p);
    }
    if let Some((h, p)) = as_type!(&'static (String, u16)) {
        return host(h, *p);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn host_names_in_std_types_are_copied_out() {
        let name = String::from("example.invalid:80");
        let host = String::from("example.invalid");
        let q = |s: &str| Some(Query::HostPort(s.to_owned()));
        let h = |s: &str, p| Some(Query::Host(s.to_owned(), p));
        assert_eq!(host_query(&"example.invalid:80"), q("example.invalid:80"));
        assert_eq!(host_query(&&*name), q("example.invalid:80"));
        assert_eq!(host_query(&name.clone()), q("example.invalid:80"));
        assert_eq!(host_query(&&name), q("example.invalid:80"));
        assert_eq!(host_query(&&"example.invalid:80"), q("example.invalid:80"));
        assert_eq!(host_query(&(&*host, 80)), h("example.invalid", 80));
        assert_eq!(host_query(&(host.clone(), 81)), h("example.invalid", 81));
        assert_eq!(host_query(&&(&*host, 82)), h("example.invalid", 82));
        assert_eq!(host_query(&&(host.clone(), 83)), h("example.invalid", 83));
    }

    #[test]
    fn literals_and_other_types_stay_in_place() {
        assert_eq!(host_query(&"127.0.0.1:80"), None);
        assert_eq!(host_query(&String::from("[::1]:80")), None);
        assert_eq!(host_query(&("10.0.0.1", 80)), None);
        assert_eq!(host_query(&(String::from("::1"), 80)), None);
        assert_eq!(host_query(&(Ipv4Addr::LOCALHOST, 80)), None);
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(host_query(&addr), None);
        assert_eq!(host_query(&&[addr][..]), None);
    }
}
