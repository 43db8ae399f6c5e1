//! UDP: send/recv, connect, peek, broadcast and multicast options, std
//! conversions.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use tulipa_net::UdpSocket;

#[test]
fn udp_socket_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<UdpSocket>();
}

#[test]
fn send_to_recv_from_and_peek() {
    tulipa::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = UdpSocket::bind(("127.0.0.1", 0)).await?;
        let b_addr = b.local_addr()?;
        for i in 0..10u8 {
            assert_eq!(a.send_to(&[i; 3], b_addr).await?, 3);
        }
        let mut buf = [0; 16];
        let (n, from) = b.peek_from(&mut buf).await?;
        assert_eq!((n, from), (3, a.local_addr()?));
        for i in 0..10u8 {
            let (n, from) = b.recv_from(&mut buf).await?;
            assert_eq!(
                &buf[..n],
                &[i; 3],
                "datagrams arrive whole and in order on loopback"
            );
            assert_eq!(from, a.local_addr()?);
        }
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn connected_send_recv_and_refused() {
    tulipa::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let b = UdpSocket::bind("127.0.0.1:0").await?;
        a.connect(b.local_addr()?).await?;
        b.connect(a.local_addr()?).await?;
        assert_eq!(a.peer_addr()?, b.local_addr()?);
        a.send(b"ping").await?;
        let mut buf = [0; 8];
        let n = b.peek(&mut buf).await?;
        assert_eq!(&buf[..n], b"ping");
        let n = b.recv(&mut buf).await?;
        assert_eq!(&buf[..n], b"ping");
        // Connected to a closed port: the ICMP error surfaces on a later call.
        let closed = UdpSocket::bind("127.0.0.1:0").await?.local_addr()?;
        let c = UdpSocket::bind("127.0.0.1:0").await?;
        c.connect(closed).await?;
        c.send(b"x").await?;
        let err = c.recv(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn unconnected_send_fails_clearly() {
    tulipa::run(async {
        let a = UdpSocket::bind("127.0.0.1:0").await?;
        let err = a.send(b"x").await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(rustix_errno_destaddrreq()));
        assert_eq!(
            a.peer_addr().unwrap_err().kind(),
            io::ErrorKind::NotConnected
        );
        io::Result::Ok(())
    })
    .unwrap();
}

fn rustix_errno_destaddrreq() -> i32 {
    // EDESTADDRREQ on Linux.
    89
}

#[test]
fn options_and_multicast() {
    tulipa::run(async {
        let s = UdpSocket::bind("0.0.0.0:0").await?;
        s.set_broadcast(true)?;
        assert!(s.broadcast()?);
        s.set_ttl(7)?;
        assert_eq!(s.ttl()?, 7);
        s.set_multicast_loop_v4(true)?;
        assert!(s.multicast_loop_v4()?);
        s.set_multicast_ttl_v4(1)?;
        let group = Ipv4Addr::new(239, 255, 0, 77);
        // Joining needs a multicast-capable interface; loopback may have none.
        match s.join_multicast_v4(group, Ipv4Addr::LOCALHOST) {
            Ok(()) => s.leave_multicast_v4(group, Ipv4Addr::LOCALHOST)?,
            Err(e) => assert_ne!(e.kind(), io::ErrorKind::InvalidInput, "{e}"),
        }
        // A unicast address is not a group.
        assert!(s
            .join_multicast_v4(Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::UNSPECIFIED)
            .is_err());
        if let Ok(s6) = UdpSocket::bind("[::1]:0").await {
            let g6: Ipv6Addr = "ff02::1:77".parse().unwrap();
            if s6.join_multicast_v6(&g6, 0).is_ok() {
                s6.leave_multicast_v6(&g6, 0)?;
            }
        }
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn std_round_trip() {
    tulipa::run(async {
        let std = std::net::UdpSocket::bind("127.0.0.1:0")?;
        let addr = std.local_addr()?;
        let s = UdpSocket::try_from(std)?;
        let std: std::net::UdpSocket = s.try_into()?;
        assert_eq!(std.local_addr()?, addr);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn many_concurrent_receivers_share_one_socket() {
    tulipa::run(async {
        let rx = std::sync::Arc::new(UdpSocket::bind("127.0.0.1:0").await?);
        let addr = rx.local_addr()?;
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let rx = rx.clone();
            tasks.push(tulipa::spawn(async move {
                let mut buf = [0; 4];
                let mut got = 0;
                while got < 25 {
                    rx.recv_from(&mut buf).await?;
                    got += 1;
                }
                io::Result::Ok(got)
            }));
        }
        let tx = UdpSocket::bind("127.0.0.1:0").await?;
        for i in 0..100u32 {
            tx.send_to(&i.to_le_bytes(), addr).await?;
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap()?;
        }
        assert_eq!(total, 100);
        io::Result::Ok(())
    })
    .unwrap();
}
