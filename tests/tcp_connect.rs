//! Connecting and accepting, as std's own TCP tests check them: each
//! behaviour runs from a plain thread and inside coroutines.

mod common;
mod net_support;

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use net_support::{both, go};
use weft::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};

#[test]
fn connect_and_accept_exchange_data() {
    both(20, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = go(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.write_all(&[144]).unwrap();
            let mut reply = [0];
            stream.read_exact(&mut reply).unwrap();
            reply[0]
        });
        let (mut stream, _) = listener.accept().unwrap();
        let mut byte = [0];
        stream.read_exact(&mut byte).unwrap();
        assert_eq!(byte[0], 144);
        stream.write_all(&[byte[0] + 1]).unwrap();
        assert_eq!(client.join(), 145);
    });
}

#[test]
fn local_and_peer_addresses_match_across_the_connection() {
    both(20, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
        let client = TcpStream::connect(("127.0.0.1", addr.port())).unwrap();
        let (server, peer) = listener.accept().unwrap();
        assert_eq!(client.peer_addr().unwrap(), addr);
        assert_eq!(server.local_addr().unwrap(), addr);
        assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
        assert_eq!(peer, client.local_addr().unwrap());
    });
}

#[test]
fn connect_with_nothing_listening_is_refused() {
    both(20, || {
        let addr = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let err = TcpStream::connect(addr).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
        let err = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn connect_timeout_connects_and_refuses_a_zero_timeout() {
    both(20, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        assert_eq!(stream.peer_addr().unwrap(), addr);
        let (accepted, _) = listener.accept().unwrap();
        assert_eq!(accepted.peer_addr().unwrap(), stream.local_addr().unwrap());
        let err = TcpStream::connect_timeout(&addr, Duration::ZERO).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn connect_tries_each_address_until_one_works() {
    both(20, || {
        let dead = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap()
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let live = listener.local_addr().unwrap();
        let addrs = [dead, live];
        let stream = TcpStream::connect(&addrs[..]).unwrap();
        assert_eq!(stream.peer_addr().unwrap(), live);
        let none: &[SocketAddr] = &[];
        let err = TcpStream::connect(none).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn host_names_resolve_in_coroutines_and_threads() {
    both(20, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let addrs: Vec<_> = ("localhost", port).to_socket_addrs().unwrap().collect();
        assert!(addrs.iter().any(|a| a.ip().is_loopback()));
        let v4: Vec<_> = format!("localhost:{port}")
            .to_socket_addrs()
            .unwrap()
            .filter(SocketAddr::is_ipv4)
            .collect();
        let stream = TcpStream::connect(&v4[..]).unwrap();
        assert_eq!(stream.peer_addr().unwrap().port(), port);
        // Malformed strings fail as std's parser says.
        let err = "no port here".to_socket_addrs().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let bad_port = "localhost:99999".to_socket_addrs().unwrap_err();
        assert_eq!(bad_port.kind(), ErrorKind::InvalidInput);
    });
}

#[test]
fn binding_a_used_address_fails_with_addr_in_use() {
    both(20, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let err = TcpListener::bind(addr).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
    });
}

#[test]
fn ipv6_loopback_works_when_available() {
    both(20, || {
        let Ok(listener) = TcpListener::bind("[::1]:0") else {
            return; // no IPv6 on this host
        };
        let addr = listener.local_addr().unwrap();
        let client = go(move || TcpStream::connect(addr).unwrap().local_addr().unwrap());
        let (_, peer) = listener.accept().unwrap();
        assert_eq!(client.join(), peer);
        assert!(peer.is_ipv6());
    });
}

#[test]
fn incoming_yields_each_connection() {
    both(20, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let clients = go(move || {
            (0..3)
                .map(|i| {
                    let mut s = TcpStream::connect(addr).unwrap();
                    s.write_all(&[i]).unwrap();
                    s
                })
                .collect::<Vec<_>>()
        });
        let mut seen: Vec<u8> = listener
            .incoming()
            .take(3)
            .map(|s| {
                let mut byte = [0];
                s.unwrap().read_exact(&mut byte).unwrap();
                byte[0]
            })
            .collect();
        seen.sort();
        assert_eq!(seen, [0, 1, 2]);
        drop(clients.join());
    });
}

#[test]
fn nonblocking_accept_returns_would_block() {
    both(20, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        // The connection is there at once on loopback; retry briefly.
        let accepted = (0..1000).find_map(|_| match listener.accept() {
            Ok(pair) => Some(pair),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                weft::sleep(Duration::from_millis(1));
                None
            }
            Err(e) => panic!("accept failed: {e}"),
        });
        assert!(accepted.is_some());
        listener.set_nonblocking(false).unwrap();
    });
}

#[test]
fn listener_options_round_trip() {
    both(20, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_ttl(77).unwrap();
        assert_eq!(listener.ttl().unwrap(), 77);
        assert!(listener.take_error().unwrap().is_none());
        let clone = listener.try_clone().unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).unwrap();
        // Either handle accepts from the same queue.
        assert!(clone.accept().is_ok());
    });
}

/// Generic code written against std's trait, as a std program has it.
fn connect_generic<A: std::net::ToSocketAddrs>(addr: A) -> std::io::Result<TcpStream> {
    TcpStream::connect(addr)
}

fn bind_generic<A: std::net::ToSocketAddrs>(addr: A) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
}

fn udp_generic<A: std::net::ToSocketAddrs, B: std::net::ToSocketAddrs>(
    bind: A,
    to: B,
) -> std::io::Result<usize> {
    let socket = weft::net::UdpSocket::bind(bind)?;
    socket.send_to(b"hi", to)
}

#[test]
fn generic_std_to_socket_addrs_code_uses_weft_sockets() {
    // Both traits in scope: they are one trait, so no ambiguity.
    #[allow(unused_imports)]
    use std::net::ToSocketAddrs as _;
    both(20, || {
        let listener = bind_generic(("localhost", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let listener_ip = listener.local_addr().unwrap().ip();
        // Host names in each of std's string types, and a literal.
        let name = format!("localhost:{port}");
        for stream in [
            connect_generic(name.as_str()),
            connect_generic(name.clone()),
            connect_generic(&name),
            connect_generic(("localhost", port)),
            connect_generic((String::from("localhost"), port)),
            connect_generic((listener_ip, port)),
        ] {
            assert_eq!(stream.unwrap().peer_addr().unwrap().port(), port);
            listener.accept().unwrap();
        }
        let first = (listener_ip, port).to_socket_addrs().unwrap().next();
        assert_eq!(first.unwrap().port(), port);
        let receiver = weft::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = ("127.0.0.1", receiver.local_addr().unwrap().port());
        assert_eq!(udp_generic("127.0.0.1:0", to).unwrap(), 2);
        let mut buf = [0; 8];
        assert_eq!(receiver.recv_from(&mut buf).unwrap().0, 2);
    });
}
