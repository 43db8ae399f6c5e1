//! TCP listener and stream: echo, halves, peek, half-close, errors,
//! std conversions, options.

use std::io;
use std::net::{Shutdown, SocketAddr};

use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
use tulipa_net::tcp::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
use tulipa_net::{ConnectError, TcpListener, TcpSocket, TcpStream};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    assert_send_sync::<TcpListener>();
    assert_send_sync::<TcpStream>();
    assert_send_sync::<TcpSocket>();
    assert_send_sync::<OwnedReadHalf>();
    assert_send_sync::<OwnedWriteHalf>();
    assert_send_sync::<ReadHalf<'static>>();
    assert_send_sync::<WriteHalf<'static>>();
    assert_send_sync::<ReuniteError>();
    assert_send_sync::<tulipa_net::tcp::Incoming<'static>>();
    assert_send_sync::<tulipa_net::ConnectOptions>();
    assert_send_sync::<ConnectError>();
    assert_send_sync::<tulipa_net::Resolve>();
    assert_send_sync::<tulipa_net::SocketAddrs>();
    assert_send_sync::<tulipa_net::unix::Incoming<'static>>();
}

async fn pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let client = TcpStream::connect(listener.local_addr()?).await?;
    let (server, peer) = listener.accept().await?;
    assert_eq!(peer, client.local_addr()?);
    assert_eq!(server.peer_addr()?, client.local_addr()?);
    Ok((client, server))
}

#[test]
fn echo_many_connections() {
    tulipa::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tulipa::spawn(async move {
            let mut incoming = listener.incoming();
            let mut handlers = Vec::new();
            for _ in 0..8 {
                let conn = incoming.next().await.unwrap()?;
                handlers.push(tulipa::spawn(async move {
                    let (mut rd, mut wr) = conn.split();
                    futures_lite::io::copy(&mut rd, &mut wr).await
                }));
            }
            let mut total = 0;
            for h in handlers {
                total += h.await.unwrap()?;
            }
            io::Result::Ok(total)
        });
        let mut clients = Vec::new();
        for i in 0..8u8 {
            clients.push(tulipa::spawn(async move {
                let mut s = TcpStream::connect(addr).await?;
                let msg = vec![i; 10_000];
                s.write_all(&msg).await?;
                s.shutdown(Shutdown::Write)?;
                let mut back = Vec::new();
                s.read_to_end(&mut back).await?;
                assert_eq!(back, msg);
                io::Result::Ok(())
            }));
        }
        for c in clients {
            c.await.unwrap()?;
        }
        assert_eq!(server.await.unwrap()?, 80_000);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn owned_halves_work_from_two_tasks_and_reunite() {
    tulipa::run(async {
        let (client, mut server) = pair().await?;
        let (mut rd, mut wr) = client.into_split();
        let writer = tulipa::spawn(async move {
            for i in 0..100u32 {
                wr.write_all(&i.to_le_bytes()).await?;
            }
            io::Result::Ok(wr)
        });
        let mut buf = [0; 400];
        server.read_exact(&mut buf).await?;
        for (i, chunk) in buf.chunks(4).enumerate() {
            assert_eq!(u32::from_le_bytes(chunk.try_into().unwrap()), i as u32);
        }
        server.write_all(b"back").await?;
        let mut four = [0; 4];
        rd.read_exact(&mut four).await?;
        assert_eq!(&four, b"back");
        let wr = writer.await.unwrap()?;
        assert_eq!(rd.peer_addr()?, wr.peer_addr()?);
        let client = rd.reunite(wr).expect("same stream");
        // Reunited: the write direction is still open.
        (&client).write_all(b"x").await?;
        server.read_exact(&mut four[..1]).await?;
        assert_eq!(four[0], b'x');
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn reunite_rejects_halves_of_different_streams() {
    tulipa::run(async {
        let (a, _sa) = pair().await?;
        let (b, _sb) = pair().await?;
        let (ra, wa) = a.into_split();
        let (rb, wb) = b.into_split();
        let err = ra.reunite(wb).unwrap_err();
        assert!(err.to_string().contains("different streams"));
        let tulipa_net::split::ReuniteError(ra, wb) = err;
        assert!(ra.reunite(wa).is_ok());
        assert!(wb.reunite(rb).is_ok());
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn dropping_owned_write_half_sends_eof_but_reading_continues() {
    tulipa::run(async {
        let (client, mut server) = pair().await?;
        let (mut rd, wr) = client.into_split();
        drop(wr);
        let mut got = Vec::new();
        server.read_to_end(&mut got).await?;
        assert!(got.is_empty());
        server.write_all(b"still here").await?;
        let mut buf = [0; 10];
        rd.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"still here");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn half_close_with_poll_close() {
    tulipa::run(async {
        let (mut client, mut server) = pair().await?;
        client.write_all(b"request").await?;
        client.close().await?;
        let mut req = Vec::new();
        server.read_to_end(&mut req).await?;
        assert_eq!(req, b"request");
        server.write_all(b"response").await?;
        drop(server);
        let mut resp = Vec::new();
        client.read_to_end(&mut resp).await?;
        assert_eq!(resp, b"response");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn peek_does_not_consume() {
    tulipa::run(async {
        let (mut client, server) = pair().await?;
        client.write_all(b"hello").await?;
        let mut buf = [0; 5];
        let mut n = 0;
        for _ in 0..100 {
            n = server.peek(&mut buf).await?;
            if n == 5 {
                break;
            }
        }
        assert_eq!(&buf[..n], b"hello");
        let mut read = [0; 5];
        (&server).read_exact(&mut read).await?;
        assert_eq!(&read, b"hello");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn vectored_write_sends_all_slices() {
    tulipa::run(async {
        let (mut client, mut server) = pair().await?;
        let bufs = [io::IoSlice::new(b"ab"), io::IoSlice::new(b"cd")];
        let n = client.write_vectored(&bufs).await?;
        assert_eq!(n, 4);
        let mut got = [0; 4];
        server.read_exact(&mut got).await?;
        assert_eq!(&got, b"abcd");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn refused_connect_names_the_address() {
    tulipa::run(async {
        // Bind then drop: the port is (almost surely) closed now.
        let addr = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        let inner = err
            .get_ref()
            .unwrap()
            .downcast_ref::<ConnectError>()
            .unwrap();
        assert_eq!(inner.addr, addr);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn bad_addresses_are_clear_errors() {
    tulipa::run(async {
        let err = TcpListener::bind("127.0.0.1").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("no port"), "{err}");
        let err = TcpStream::connect("127.0.0.1:99999").await.unwrap_err();
        assert!(err.to_string().contains("invalid port"), "{err}");
        let empty: &[SocketAddr] = &[];
        let err = TcpStream::connect(empty).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn bind_in_use_fails() {
    tulipa::run(async {
        let a = TcpListener::bind("127.0.0.1:0").await?;
        let err = TcpListener::bind(a.local_addr()?).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn std_round_trip() {
    tulipa::run(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let listener = TcpListener::try_from(std_listener)?;
        let addr = listener.local_addr()?;
        let std_client = std::net::TcpStream::connect(addr)?;
        let client = TcpStream::from_std(std_client)?;
        let (server, _) = listener.accept().await?;
        let mut std_server = server.into_std()?;
        // Back in blocking mode: a blocking std read works.
        (&client).write_all(b"z").await?;
        let mut b = [0; 1];
        io::Read::read_exact(&mut std_server, &mut b)?;
        assert_eq!(&b, b"z");
        let std_listener: std::net::TcpListener = listener.try_into()?;
        assert_eq!(std_listener.local_addr()?, addr);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn options_round_trip() {
    tulipa::run(async {
        let (client, _server) = pair().await?;
        client.set_nodelay(true)?;
        assert!(client.nodelay()?);
        client.set_nodelay(false)?;
        assert!(!client.nodelay()?);
        client.set_keepalive(Some(std::time::Duration::from_secs(60)))?;
        assert!(client.keepalive()?);
        client.set_keepalive(None)?;
        assert!(!client.keepalive()?);
        client.set_ttl(42)?;
        assert_eq!(client.ttl()?, 42);
        client.set_linger(Some(std::time::Duration::ZERO))?;
        assert_eq!(client.linger()?, Some(std::time::Duration::ZERO));
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn tcp_socket_reuseport_lets_two_listeners_share_a_port() {
    tulipa::run(async {
        let a = TcpSocket::new_v4()?;
        a.set_reuseport(true)?;
        a.set_reuseaddr(true)?;
        assert!(a.reuseport()? && a.reuseaddr()?);
        a.bind("127.0.0.1:0".parse().unwrap())?;
        let addr = a.local_addr()?;
        let la = a.listen(16)?;
        let b = TcpSocket::new_v4()?;
        b.set_reuseport(true)?;
        b.bind(addr)?;
        let lb = b.listen(16)?;
        assert_eq!(la.local_addr()?, lb.local_addr()?);
        // Without SO_REUSEPORT the same bind fails.
        let c = TcpSocket::new_v4()?;
        assert_eq!(c.bind(addr).unwrap_err().kind(), io::ErrorKind::AddrInUse);
        let s = TcpSocket::new_v4()?;
        s.set_nodelay(true)?;
        let stream = s.connect(addr).await?;
        assert!(stream.nodelay()?);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn reset_by_peer_errors_only_that_connection() {
    tulipa::run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let a = TcpStream::connect(addr).await?;
        let (mut sa, _) = listener.accept().await?;
        let mut b = TcpStream::connect(addr).await?;
        let (mut sb, _) = listener.accept().await?;
        a.set_linger(Some(std::time::Duration::ZERO))?;
        (&a).write_all(b"partial").await?;
        drop(a); // RST
        let mut buf = vec![0; 64];
        let mut got = Vec::new();
        let err = loop {
            match sa.read(&mut buf).await {
                Ok(0) => break None,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => break Some(e),
            }
        };
        // Linux reports the reset (the data before it may be discarded).
        let err = err.expect("a reset is an error, not a clean EOF");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        // The other connection is unaffected.
        b.write_all(b"fine").await?;
        let mut four = [0; 4];
        sb.read_exact(&mut four).await?;
        assert_eq!(&four, b"fine");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn works_under_a_bare_block_on_without_a_runtime() {
    // The global reactor and timer serve a plain block_on.
    futures_lite::future::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let mut client =
            TcpStream::connect_timeout(listener.local_addr()?, std::time::Duration::from_secs(10))
                .await?;
        let (mut server, _) = listener.accept().await?;
        client.write_all(b"bare").await?;
        let mut buf = [0; 4];
        server.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"bare");
        io::Result::Ok(())
    })
    .unwrap();
}
