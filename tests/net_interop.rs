//! Ordinary blocking-I/O libraries run unchanged over weft sockets: std's
//! `BufReader`/`BufWriter` line protocols, `serde_json` streaming values,
//! and a `tungstenite` (sync) WebSocket client and server. Each runs from
//! plain threads and inside coroutines.

mod common;
mod net_support;

use std::io::{BufRead, BufReader, BufWriter, Write};

use net_support::{both, go};
use serde::{Deserialize, Serialize};
use weft::net::{TcpListener, TcpStream};
use weft::os::unix::net::UnixStream;

#[test]
fn bufreader_and_bufwriter_line_protocol() {
    both(20, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Server: answers each line with its length, until "quit".
        let server = go(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(&stream);
            let mut writer = BufWriter::new(&stream);
            let mut line = String::new();
            let mut served = 0;
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let text = line.trim_end();
                if text == "quit" {
                    return served;
                }
                writeln!(writer, "{} {}", text.len(), text.to_uppercase()).unwrap();
                writer.flush().unwrap();
                served += 1;
            }
        });
        let stream = TcpStream::connect(addr).unwrap();
        let mut writer = BufWriter::new(stream.try_clone().unwrap());
        let mut lines = BufReader::new(stream).lines();
        for word in ["weft", "coroutines", "", "sockets"] {
            writeln!(writer, "{word}").unwrap();
            writer.flush().unwrap();
            let reply = lines.next().unwrap().unwrap();
            assert_eq!(reply, format!("{} {}", word.len(), word.to_uppercase()));
        }
        writeln!(writer, "quit").unwrap();
        writer.flush().unwrap();
        assert_eq!(server.join(), 4);
    });
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct Order {
    id: u32,
    item: String,
    quantity: u16,
    tags: Vec<String>,
}

fn orders() -> Vec<Order> {
    (0..200)
        .map(|id| Order {
            id,
            item: format!("item-{id}"),
            quantity: (id % 7) as u16,
            tags: (0..id % 4).map(|t| format!("tag{t}")).collect(),
        })
        .collect()
}

#[test]
fn serde_json_values_stream_over_a_tcp_connection() {
    both(20, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let sender = go(move || {
            let stream = TcpStream::connect(addr).unwrap();
            let mut writer = BufWriter::new(stream);
            for order in orders() {
                serde_json::to_writer(&mut writer, &order).unwrap();
            }
            writer.flush().unwrap();
        });
        let (stream, _) = listener.accept().unwrap();
        let received: Vec<Order> = serde_json::Deserializer::from_reader(BufReader::new(stream))
            .into_iter::<Order>()
            .map(Result::unwrap)
            .collect();
        sender.join();
        assert_eq!(received, orders());
    });
}

#[test]
fn serde_json_round_trips_over_a_unix_pair() {
    both(20, || {
        let (a, b) = UnixStream::pair().unwrap();
        let echo = go(move || {
            // Echo one value back, re-serialised.
            let order: Order = serde_json::Deserializer::from_reader(&b)
                .into_iter()
                .next()
                .unwrap()
                .unwrap();
            serde_json::to_writer(&b, &order).unwrap();
        });
        let order = orders().pop().unwrap();
        serde_json::to_writer(&a, &order).unwrap();
        let back: Order = serde_json::Deserializer::from_reader(&a)
            .into_iter()
            .next()
            .unwrap()
            .unwrap();
        echo.join();
        assert_eq!(back, order);
    });
}

#[test]
fn tungstenite_websocket_client_and_server_exchange_messages() {
    use tungstenite::Message;
    both(20, || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Server: echoes text reversed and binary doubled, until Close.
        let server = go(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut ws = tungstenite::accept(stream).unwrap();
            let mut echoed = 0;
            loop {
                match ws.read().unwrap() {
                    Message::Text(text) => {
                        let reversed: String = text.as_str().chars().rev().collect();
                        ws.send(Message::Text(reversed.into())).unwrap();
                    }
                    Message::Binary(data) => {
                        let doubled: Vec<u8> = data.iter().map(|b| b.wrapping_mul(2)).collect();
                        ws.send(Message::Binary(doubled.into())).unwrap();
                    }
                    Message::Close(_) => return echoed,
                    _ => continue,
                }
                echoed += 1;
            }
        });
        let stream = TcpStream::connect(addr).unwrap();
        let (mut ws, response) = tungstenite::client(format!("ws://{addr}/echo"), stream).unwrap();
        assert_eq!(response.status(), 101);
        for i in 0..50 {
            let text = format!("message number {i}");
            ws.send(Message::Text(text.clone().into())).unwrap();
            match ws.read().unwrap() {
                Message::Text(reply) => {
                    assert_eq!(reply.as_str(), text.chars().rev().collect::<String>())
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        let blob: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        ws.send(Message::Binary(blob.clone().into())).unwrap();
        match ws.read().unwrap() {
            Message::Binary(reply) => {
                let expected: Vec<u8> = blob.iter().map(|b| b.wrapping_mul(2)).collect();
                assert!(reply[..] == expected[..]);
            }
            other => panic!("unexpected {other:?}"),
        }
        ws.close(None).unwrap();
        // Drain until the close handshake completes.
        while ws.read().is_ok() {}
        assert_eq!(server.join(), 51);
    });
}
