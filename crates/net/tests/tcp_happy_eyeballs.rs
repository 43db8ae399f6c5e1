//! Connecting to several addresses (RFC 8305 happy eyeballs), names, and
//! timeouts.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use tulipa_net::{lookup_host, ConnectError, ConnectOptions, TcpListener, TcpStream};

/// A port on which nothing listens (bound, then closed).
async fn refused_addr() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0").await?.local_addr()
}

/// A listener that never answers new SYNs: its accept queue (backlog 0)
/// is full of connections nobody accepts, so Linux drops further SYNs and
/// a connect to it hangs in SYN_SENT. Keep the returned sockets alive.
fn black_hole() -> io::Result<(SocketAddr, Vec<Socket>)> {
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    listener.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())?;
    listener.listen(0)?;
    let addr = listener.local_addr()?.as_socket().unwrap();
    let mut keep = vec![listener];
    for _ in 0..3 {
        let s = Socket::new(Domain::IPV4, Type::STREAM.nonblocking(), None)?;
        let _ = s.connect(&addr.into());
        keep.push(s);
    }
    // Give the handshakes a moment to fill the queue.
    std::thread::sleep(Duration::from_millis(50));
    Ok((addr, keep))
}

#[test]
fn first_address_refused_second_wins() {
    tulipa::run(async {
        let good = TcpListener::bind("127.0.0.1:0").await?;
        let addrs = [refused_addr().await?, good.local_addr()?];
        for delay in [None, Some(Duration::from_millis(250)), Some(Duration::ZERO)] {
            let options = ConnectOptions::new().happy_eyeballs_delay(delay);
            let s = TcpStream::connect_with(&addrs[..], &options).await?;
            assert_eq!(s.peer_addr()?, good.local_addr()?, "delay {delay:?}");
            good.accept().await?;
        }
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn all_refused_returns_the_last_attempts_error() {
    tulipa::run(async {
        let a = refused_addr().await?;
        let b = refused_addr().await?;
        let err = TcpStream::connect([a, b]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        let inner = err
            .get_ref()
            .unwrap()
            .downcast_ref::<ConnectError>()
            .unwrap();
        assert_eq!(inner.addr, b, "the last attempt's address");
        assert_eq!(inner.attempts, 2);
        assert!(err.to_string().contains(&b.to_string()), "{err}");
        assert!(err.to_string().contains("2 addresses"), "{err}");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_hanging_first_address_does_not_block_the_second() {
    let (hole, _keep) = black_hole().unwrap();
    tulipa::run(async {
        let good = TcpListener::bind("127.0.0.1:0").await?;
        // The first attempt never completes; the second starts after the
        // delay and wins, and the hanging one is dropped.
        let options = ConnectOptions::new()
            .happy_eyeballs_delay(Some(Duration::from_millis(20)))
            .timeout(Duration::from_secs(20));
        let s = TcpStream::connect_with([hole, good.local_addr()?], &options).await?;
        assert_eq!(s.peer_addr()?, good.local_addr()?);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn sequential_mode_waits_for_the_hanging_address_until_the_timeout() {
    let (hole, _keep) = black_hole().unwrap();
    tulipa::run(async {
        let good = TcpListener::bind("127.0.0.1:0").await?;
        let options = ConnectOptions::new()
            .happy_eyeballs_delay(None)
            .timeout(Duration::from_millis(100));
        let err = TcpStream::connect_with([hole, good.local_addr()?], &options)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("timed out"), "{err}");
        let err = TcpStream::connect_timeout(hole, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn localhost_name_connects_whichever_family_listens() {
    tulipa::run(async {
        let addrs: Vec<SocketAddr> = lookup_host("localhost:1").await?.collect();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 1));
        // Listen on IPv4 only; if localhost also names ::1, that attempt is
        // refused (or unreachable) and the IPv4 one wins.
        let good = TcpListener::bind("127.0.0.1:0").await?;
        let port = good.local_addr()?.port();
        if addrs.iter().any(|a| a.is_ipv4()) {
            let s = TcpStream::connect(("localhost", port)).await?;
            assert_eq!(s.peer_addr()?, good.local_addr()?);
            let s = TcpStream::connect(format!("localhost:{port}")).await?;
            assert_eq!(s.peer_addr()?, good.local_addr()?);
        }
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn literal_addresses_skip_the_resolver() {
    tulipa::run(async {
        let v: Vec<_> = lookup_host("[::1]:80").await?.collect();
        assert_eq!(v, ["[::1]:80".parse::<SocketAddr>().unwrap()]);
        let v: Vec<_> = lookup_host(("10.1.2.3", 9)).await?.collect();
        assert_eq!(v, ["10.1.2.3:9".parse::<SocketAddr>().unwrap()]);
        let v: Vec<_> = lookup_host(("[::2]", 9)).await?.collect();
        assert_eq!(v, ["[::2]:9".parse::<SocketAddr>().unwrap()]);
        let err = lookup_host(":80").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("empty"), "{err}");
        let err = lookup_host("localhost:http").await.unwrap_err();
        assert!(err.to_string().contains("invalid port"), "{err}");
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn lookup_works_without_a_runtime() {
    let addrs: Vec<_> = futures_lite::future::block_on(lookup_host("localhost:7"))
        .unwrap()
        .collect();
    assert!(addrs.iter().all(|a| a.port() == 7));
    assert!(!addrs.is_empty());
}
