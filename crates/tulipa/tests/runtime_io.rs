//! I/O through the runtime's reactor, on both flavours: readiness wakes
//! tasks, data round-trips, and a busy worker does not stall I/O.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tulipa::reactor::Async;
use tulipa::Runtime;

mod common;
use common::flavors;

#[test]
fn unix_pair_round_trip_between_tasks() {
    for rt in flavors() {
        rt.block_on(async {
            let (a, b) = UnixStream::pair().unwrap();
            let mut a = Async::new(a).unwrap();
            let mut b = Async::new(b).unwrap();
            let payload: Vec<u8> = (0..256 * 1024).map(|i| (i % 251) as u8).collect();
            let expected = payload.clone();
            let writer = tulipa::spawn(async move {
                a.write_all(&payload).await.unwrap();
                a.close().await.unwrap();
                drop(a);
            });
            let reader = tulipa::spawn(async move {
                let mut got = Vec::new();
                b.read_to_end(&mut got).await.unwrap();
                got
            });
            writer.await.unwrap();
            assert_eq!(reader.await.unwrap(), expected);
        });
    }
}

#[test]
fn tcp_echo_on_loopback() {
    for rt in flavors() {
        rt.block_on(async {
            let listener = Async::new(TcpListener::bind("127.0.0.1:0").unwrap()).unwrap();
            let addr = listener.get_ref().local_addr().unwrap();
            let server = tulipa::spawn(async move {
                let (stream, _) = listener.read_with(|l| l.accept()).await.unwrap();
                let mut stream = Async::new(stream).unwrap();
                let mut buf = [0u8; 5];
                stream.read_exact(&mut buf).await.unwrap();
                stream.write_all(&buf).await.unwrap();
            });
            // A blocking client on a plain thread: the server task must be
            // woken by the reactor, not by the client.
            let client = std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.write_all(b"hello").unwrap();
                let mut buf = [0u8; 5];
                s.read_exact(&mut buf).unwrap();
                buf
            });
            server.await.unwrap();
            assert_eq!(&client.join().unwrap(), b"hello");
        });
    }
}

#[test]
fn io_progresses_while_a_worker_is_stuck() {
    let rt = Runtime::builder().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let (tx, rx) = std::sync::mpsc::channel();
        let stuck = tulipa::spawn(async move {
            tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(800));
            std::time::Instant::now()
        });
        rx.recv().unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        let b = Async::new(b).unwrap();
        let reader = tulipa::spawn(async move {
            b.readable().await.unwrap();
            std::time::Instant::now()
        });
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            (&a).write_all(b"x").unwrap();
        });
        let read_at = reader.await.unwrap();
        let stuck_until = stuck.await.unwrap();
        assert!(read_at < stuck_until, "I/O waited for the stuck worker");
    });
}
