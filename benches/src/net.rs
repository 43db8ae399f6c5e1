//! `tcp_ping_pong` and `tcp_throughput`: raw TCP sockets over loopback,
//! tulipa's `tulipa::net` against `tokio::net` and smol's `async-net`.
//!
//! Both run the server and the clients on the runtime under test, with the
//! same code shape on every runtime: a task per accepted connection, and a
//! task per client connection.
//!
//! - `tcp_ping_pong`: one connection, `TRIPS` sequential round trips of a
//!   `PING`-byte message (client `write_all` then `read_exact`; the server
//!   echoes with `read` / `write_all`), `TCP_NODELAY` on both ends. It
//!   measures the latency path: one readiness wait per read, one wakeup per
//!   message, on each side.
//! - `tcp_throughput`: `CONNS` connections at once, each client writing
//!   `PER_CONN` bytes in `CHUNK`-byte writes then half-closing; each server
//!   task reads everything into a `CHUNK` buffer and answers with the byte
//!   count, which the client checks. It measures bulk transfer and the
//!   cost of many busy sockets.
//!
//! The listener is bound and the connections made before the clock starts.
//!
//! `--syscalls` counts `tcp_ping_pong`'s system calls per round trip (see
//! `syscalls`); `--external` replaces it by its external-client form, the
//! server alone in a child process (see `net_external`).

use std::any::TypeId;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use crate::benches::{grouped, Sample, Size};
use crate::rt::{Rt, SmolLocal, SmolMulti, Tokio, Tulipa};

/// Bytes per ping.
pub(crate) const PING: usize = 64;
/// Bytes per write (and per server read buffer) in `tcp_throughput`.
const CHUNK: usize = 64 * 1024;
/// Concurrent connections in `tcp_throughput`.
const CONNS: usize = 8;

/// Round trips of `tcp_ping_pong`; `--syscalls` children override them.
fn trips(size: Size) -> usize {
    if let Some(trips) = crate::syscalls::trips_override() {
        trips
    } else if size.quick {
        2_000
    } else {
        20_000
    }
}

/// Bytes each `tcp_throughput` connection sends.
fn per_conn(size: Size) -> usize {
    if size.quick {
        4 << 20
    } else {
        32 << 20
    }
}

/// Which of the two benchmarks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Shape {
    PingPong,
    Throughput,
}

/// One line for the report.
pub(crate) fn describe(shape: Shape, size: Size) -> String {
    match shape {
        Shape::PingPong => format!(
            "tcp_ping_pong: one loopback TCP connection (TCP_NODELAY), {} sequential round trips \
             of {PING} bytes: client write_all + read_exact, server task read + write_all",
            grouped(trips(size))
        ),
        Shape::Throughput => format!(
            "tcp_throughput: {CONNS} loopback TCP connections at once, each client writes {} MiB \
             in {} KiB writes and half-closes; a server task per connection reads it all into a \
             {} KiB buffer and answers with the count ({} MiB in all)",
            per_conn(size) >> 20,
            CHUNK >> 10,
            CHUNK >> 10,
            (CONNS * per_conn(size)) >> 20
        ),
    }
}

/// Runs `shape` on the runtime `R` (boxed, for the reason given in
/// `net_protocol::run`).
pub(crate) fn run<R: Rt>(
    rt: R,
    shape: Shape,
    size: Size,
) -> Pin<Box<dyn Future<Output = Sample> + Send>> {
    let t = TypeId::of::<R>();
    let (trips, bytes) = (trips(size), per_conn(size));
    if t == TypeId::of::<Tulipa>() {
        match shape {
            Shape::PingPong => Box::pin(tulipa_side::ping_pong(rt, trips)),
            Shape::Throughput => Box::pin(tulipa_side::throughput(rt, bytes)),
        }
    } else if t == TypeId::of::<Tokio>() {
        match shape {
            Shape::PingPong => Box::pin(tokio_side::ping_pong(rt, trips)),
            Shape::Throughput => Box::pin(tokio_side::throughput(rt, bytes)),
        }
    } else if t == TypeId::of::<SmolMulti>() || t == TypeId::of::<SmolLocal>() {
        match shape {
            Shape::PingPong => Box::pin(smol_side::ping_pong(rt, trips)),
            Shape::Throughput => Box::pin(smol_side::throughput(rt, bytes)),
        }
    } else {
        unreachable!("a runtime without networking in the benchmarks")
    }
}

/// The bodies for a futures-io runtime (tulipa and smol), written once.
macro_rules! futures_io_side {
    ($name:ident, $listener:ty, $stream:ty) => {
        mod $name {
            use super::*;
            use futures_lite::{AsyncReadExt, AsyncWriteExt};

            async fn bind() -> ($listener, std::net::SocketAddr) {
                let l = <$listener>::bind("127.0.0.1:0").await.expect("bind");
                let addr = l.local_addr().expect("local_addr");
                (l, addr)
            }

            pub(super) async fn ping_pong<R: Rt>(rt: R, trips: usize) -> Sample {
                let (listener, addr) = bind().await;
                let mut client = <$stream>::connect(addr).await.expect("connect");
                client.set_nodelay(true).expect("nodelay");
                let (mut conn, _) = listener.accept().await.expect("accept");
                conn.set_nodelay(true).expect("nodelay");
                let server = rt.spawn(async move {
                    let mut buf = [0u8; 4096];
                    loop {
                        match conn.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => conn.write_all(&buf[..n]).await.expect("server write"),
                        }
                    }
                });
                let start = Instant::now();
                let mut back = [0u8; PING];
                for i in 0..trips {
                    let msg = [i as u8; PING];
                    client.write_all(&msg).await.expect("client write");
                    client.read_exact(&mut back).await.expect("client read");
                    assert_eq!(back, msg);
                }
                let elapsed = start.elapsed();
                drop(client);
                server.await;
                Sample::one(elapsed)
            }

            pub(super) async fn throughput<R: Rt>(rt: R, bytes: usize) -> Sample {
                let (listener, addr) = bind().await;
                let mut clients = Vec::with_capacity(CONNS);
                let mut servers = Vec::with_capacity(CONNS);
                for _ in 0..CONNS {
                    clients.push(<$stream>::connect(addr).await.expect("connect"));
                    servers.push(listener.accept().await.expect("accept").0);
                }
                let start = Instant::now();
                let servers: Vec<_> = servers
                    .into_iter()
                    .map(|mut s| {
                        rt.spawn(async move {
                            let mut buf = vec![0u8; CHUNK];
                            let mut total = 0u64;
                            loop {
                                match s.read(&mut buf).await.expect("server read") {
                                    0 => break,
                                    n => total += n as u64,
                                }
                            }
                            s.write_all(&total.to_le_bytes())
                                .await
                                .expect("server write");
                        })
                    })
                    .collect();
                let clients: Vec<_> = clients
                    .into_iter()
                    .map(|mut c| {
                        rt.spawn(async move {
                            let chunk = vec![7u8; CHUNK];
                            let mut left = bytes;
                            while left > 0 {
                                let n = left.min(CHUNK);
                                c.write_all(&chunk[..n]).await.expect("client write");
                                left -= n;
                            }
                            c.shutdown(std::net::Shutdown::Write).expect("shutdown");
                            let mut count = [0u8; 8];
                            c.read_exact(&mut count).await.expect("client read");
                            assert_eq!(u64::from_le_bytes(count), bytes as u64);
                        })
                    })
                    .collect();
                for h in clients {
                    h.await;
                }
                for h in servers {
                    h.await;
                }
                Sample::one(start.elapsed())
            }
        }
    };
}

futures_io_side!(
    tulipa_side,
    tulipa::net::TcpListener,
    tulipa::net::TcpStream
);
futures_io_side!(smol_side, smol::net::TcpListener, smol::net::TcpStream);

mod tokio_side {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    async fn bind() -> (TcpListener, std::net::SocketAddr) {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("local_addr");
        (l, addr)
    }

    pub(super) async fn ping_pong<R: Rt>(rt: R, trips: usize) -> Sample {
        let (listener, addr) = bind().await;
        let mut client = TcpStream::connect(addr).await.expect("connect");
        client.set_nodelay(true).expect("nodelay");
        let (mut conn, _) = listener.accept().await.expect("accept");
        conn.set_nodelay(true).expect("nodelay");
        let server = rt.spawn(async move {
            let mut buf = [0u8; 4096];
            loop {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => conn.write_all(&buf[..n]).await.expect("server write"),
                }
            }
        });
        let start = Instant::now();
        let mut back = [0u8; PING];
        for i in 0..trips {
            let msg = [i as u8; PING];
            client.write_all(&msg).await.expect("client write");
            client.read_exact(&mut back).await.expect("client read");
            assert_eq!(back, msg);
        }
        let elapsed = start.elapsed();
        drop(client);
        server.await;
        Sample::one(elapsed)
    }

    pub(super) async fn throughput<R: Rt>(rt: R, bytes: usize) -> Sample {
        let (listener, addr) = bind().await;
        let mut clients = Vec::with_capacity(CONNS);
        let mut servers = Vec::with_capacity(CONNS);
        for _ in 0..CONNS {
            clients.push(TcpStream::connect(addr).await.expect("connect"));
            servers.push(listener.accept().await.expect("accept").0);
        }
        let start = Instant::now();
        let servers: Vec<_> = servers
            .into_iter()
            .map(|mut s| {
                rt.spawn(async move {
                    let mut buf = vec![0u8; CHUNK];
                    let mut total = 0u64;
                    loop {
                        match s.read(&mut buf).await.expect("server read") {
                            0 => break,
                            n => total += n as u64,
                        }
                    }
                    s.write_all(&total.to_le_bytes())
                        .await
                        .expect("server write");
                })
            })
            .collect();
        let clients: Vec<_> = clients
            .into_iter()
            .map(|mut c| {
                rt.spawn(async move {
                    let chunk = vec![7u8; CHUNK];
                    let mut left = bytes;
                    while left > 0 {
                        let n = left.min(CHUNK);
                        c.write_all(&chunk[..n]).await.expect("client write");
                        left -= n;
                    }
                    c.shutdown().await.expect("shutdown");
                    let mut count = [0u8; 8];
                    c.read_exact(&mut count).await.expect("client read");
                    assert_eq!(u64::from_le_bytes(count), bytes as u64);
                })
            })
            .collect();
        for h in clients {
            h.await;
        }
        for h in servers {
            h.await;
        }
        Sample::one(start.elapsed())
    }
}
