//! Runs a small server, puts its coroutines in typical states, and prints
//! `weft::dump()`: what a newcomer sees when asking "what is every
//! coroutine doing?".
//!
//! ```text
//! cargo run --release --example dump
//! ```
//! The same dump is printed on a signal when the program is started with
//! `WEFT_DUMP_SIGNAL=USR1` (then `kill -USR1 <pid>`).

use std::io::{Read, Write};
use std::time::Duration;

use weft::net::{TcpListener, TcpStream};
use weft::sync::mpsc;

fn main() -> std::io::Result<()> {
    weft::run(|| -> std::io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;

        // An acceptor, parked in accept once the one client is in.
        let acceptor = weft::Builder::new()
            .name("acceptor".into())
            .spawn(move || {
                for (n, stream) in listener.incoming().enumerate() {
                    let mut stream = stream.unwrap();
                    weft::Builder::new()
                        .name(format!("conn-{n}"))
                        .spawn(move || {
                            let mut buf = [0u8; 1024];
                            // Parked in read: the client never sends.
                            while let Ok(n @ 1..) = stream.read(&mut buf) {
                                let _ = stream.write_all(&buf[..n]);
                            }
                        })
                        .unwrap();
                }
            })?;
        let _client = TcpStream::connect(addr)?;

        let (tx, rx) = mpsc::channel::<String>();
        let consumer = weft::Builder::new()
            .name("queue-consumer".into())
            .spawn(move || rx.iter().count())?;
        let ticker = weft::Builder::new().name("ticker".into()).spawn(|| {
            loop {
                weft::sleep(Duration::from_secs(30))
            }
        })?;
        let ticker_id = ticker.id();
        let supervisor = weft::Builder::new()
            .name("supervisor".into())
            .spawn(move || ticker.join())?;

        weft::sleep(Duration::from_millis(100));
        println!("{}", weft::dump());
        println!("(ticker is coroutine {ticker_id})");

        drop(tx);
        consumer.join().unwrap();
        acceptor.cancel();
        supervisor.cancel();
        Ok(())
    })
}
