//! Data through `Async<T>`: the futures-io impls, `read_with`/`write_with`.

mod common;

use std::io::{IoSlice, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::thread;

use common::{within, Driven};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use tulipa_reactor::Async;

const MIB: usize = 1024 * 1024;

fn payload() -> Vec<u8> {
    (0..MIB).map(|i| (i % 251) as u8).collect()
}

#[test]
fn one_mib_round_trip_with_async_read_write() {
    within(|| {
        let (a, b) = UnixStream::pair().unwrap();
        let mut a = Async::new(a).unwrap();
        let mut b = Async::new(b).unwrap();
        let data = payload();
        let expected = data.clone();
        let writer = thread::spawn(move || {
            future::block_on(async {
                a.write_all(&data).await?;
                a.flush().await?;
                a.close().await?;
                // Dropping `a` closes the socket: the reader sees EOF.
                std::io::Result::Ok(())
            })
        });
        let mut got = Vec::new();
        future::block_on(b.read_to_end(&mut got)).unwrap();
        writer.join().unwrap().unwrap();
        assert_eq!(got.len(), MIB);
        assert!(got == expected, "payload corrupted");
    });
}

#[test]
fn one_mib_round_trip_with_read_with_write_with() {
    within(|| {
        let driven = Driven::new();
        let (a, b) = UnixStream::pair().unwrap();
        let a = Async::new_in(a, &driven.reactor).unwrap();
        let b = Async::new_in(b, &driven.reactor).unwrap();
        let data = payload();
        let expected = data.clone();
        let writer = thread::spawn(move || {
            let mut sent = 0;
            while sent < data.len() {
                let n = future::block_on(a.write_with(|mut s| s.write(&data[sent..])))?;
                assert!(n > 0);
                sent += n;
            }
            std::io::Result::Ok(a)
        });
        let mut got = vec![0; MIB];
        let mut read = 0;
        while read < MIB {
            let n = future::block_on(b.read_with(|mut s| s.read(&mut got[read..]))).unwrap();
            assert!(n > 0, "unexpected EOF at {read}");
            read += n;
        }
        drop(writer.join().unwrap().unwrap());
        assert!(got == expected, "payload corrupted");
    });
}

#[test]
fn shared_reference_impls_and_vectored_writes() {
    within(|| {
        let (a, b) = UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        let b = Async::new(b).unwrap();
        future::block_on(async {
            let bufs = [IoSlice::new(b"hello "), IoSlice::new(b"world")];
            let n = (&a).write_vectored(&bufs).await?;
            assert!(n > 0);
            let mut got = vec![0; n];
            (&b).read_exact(&mut got).await?;
            assert_eq!(&got[..], &b"hello world"[..n]);
            (&a).close().await?;
            std::io::Result::Ok(())
        })
        .unwrap();
    });
}

#[test]
fn read_with_mut_and_write_with_mut() {
    within(|| {
        let (a, b) = UnixStream::pair().unwrap();
        let mut a = Async::new(a).unwrap();
        let mut b = Async::new(b).unwrap();
        future::block_on(async {
            let n = a.write_with_mut(|s| s.write(b"abc")).await?;
            assert_eq!(n, 3);
            let mut buf = [0; 3];
            b.read_with_mut(|s| s.read_exact(&mut buf)).await?;
            assert_eq!(&buf, b"abc");
            std::io::Result::Ok(())
        })
        .unwrap();
    });
}

#[test]
fn tcp_accept_and_echo_on_loopback() {
    within(|| {
        let driven = Driven::new();
        let listener =
            Async::new_in(TcpListener::bind("127.0.0.1:0").unwrap(), &driven.reactor).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let client = thread::spawn(move || {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"ping").unwrap();
            let mut buf = [0; 4];
            s.read_exact(&mut buf).unwrap();
            buf
        });
        future::block_on(async {
            let (stream, _) = listener.read_with(|l| l.accept()).await?;
            let mut stream = Async::new_in(stream, &driven.reactor)?;
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await?;
            stream.write_all(&buf).await?;
            std::io::Result::Ok(())
        })
        .unwrap();
        assert_eq!(&client.join().unwrap(), b"ping");
    });
}

#[test]
fn into_inner_returns_a_working_object() {
    within(|| {
        let (a, mut b) = UnixStream::pair().unwrap();
        let driven = Driven::new();
        let a = Async::new_in(a, &driven.reactor).unwrap();
        assert_eq!(driven.reactor.source_count(), 1);
        let a = a.into_inner().unwrap();
        assert_eq!(driven.reactor.source_count(), 0);
        // Still non-blocking, as documented.
        let mut buf = [0; 1];
        assert_eq!(
            (&a).read(&mut buf).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );
        b.write_all(b"x").unwrap();
        a.set_nonblocking(false).unwrap();
        assert_eq!((&a).read(&mut buf).unwrap(), 1);
        // And it can be registered again.
        let a = Async::new_in(a, &driven.reactor).unwrap();
        b.write_all(b"y").unwrap();
        future::block_on(a.readable()).unwrap();
    });
}
