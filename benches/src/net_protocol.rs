//! `net_protocol`: a TCP echo server, per runtime, under many concurrent
//! round trips over loopback.
//!
//! - tulipa: the server is an asyncio-style [`Protocol`] on
//!   `tulipa::net::protocol::create_server` (one read buffer per
//!   connection, `data_received` writes the bytes straight back through the
//!   transport's direct-write path);
//! - tokio and smol: the classic task per connection running a
//!   `read` / `write_all` loop over a 64 KiB buffer (tokio's `TcpListener`,
//!   smol's `async-net`).
//!
//! The clients run on the same runtime: `CONNS` connections (set up before
//! the clock starts, `TCP_NODELAY` on every socket), one task each, doing
//! `TRIPS` sequential round trips of a `MSG`-byte message (write it, read
//! it back whole). Every echoed byte is checked. The figure is the time
//! from spawning the clients until the last finished.
//!
//! `--external` (or `TULIPA_BENCH_NET_CLIENT=external`) replaces this
//! benchmark by its external-client form, where each server runs alone in
//! a child process and blocking client threads drive it: see
//! `net_external`. `--syscalls` counts its system calls per round trip:
//! see `syscalls`.

use std::any::TypeId;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use crate::benches::{grouped, Sample, Size};
use crate::rt::{Rt, SmolLocal, SmolMulti, Tokio, Tulipa};

/// Client connections.
pub(crate) const CONNS: usize = 50;
/// Bytes per message.
const MSG: usize = 128;
/// Bytes in each tokio/smol server connection's read buffer (tulipa's
/// protocol driver uses the same size).
const BUF: usize = 64 * 1024;

/// (connections, round trips per connection); `--syscalls` children
/// override the round trips.
fn sizes(size: Size) -> (usize, usize) {
    let conns = CONNS;
    if let Some(trips) = crate::syscalls::trips_override() {
        return (conns, trips);
    }
    if size.quick {
        (conns, 200)
    } else {
        (conns, 2_000)
    }
}

/// One line for the report.
pub(crate) fn describe(size: Size) -> String {
    let (conns, trips) = sizes(size);
    format!(
        "net_protocol: echo server (tulipa: a Protocol on create_server; tokio/smol: a \
         read/write_all task per connection) and {conns} client connections on the same \
         runtime, each doing {} sequential round trips of {MSG} bytes ({} in all)",
        grouped(trips),
        grouped(conns * trips)
    )
}

/// Runs the benchmark on the runtime `R`.
///
/// Boxed: the futures of the three servers are `Send` for every lifetime,
/// but proving it inside the harness's big `async` block trips a known
/// compiler limitation (rust-lang/rust#100013); a boxed future sidesteps it.
pub(crate) fn run<R: Rt>(rt: R, size: Size) -> Pin<Box<dyn Future<Output = Sample> + Send>> {
    let (conns, trips) = sizes(size);
    let t = TypeId::of::<R>();
    if t == TypeId::of::<Tulipa>() {
        Box::pin(tulipa_echo(rt, conns, trips))
    } else if t == TypeId::of::<Tokio>() {
        Box::pin(tokio_echo(rt, conns, trips))
    } else if t == TypeId::of::<SmolMulti>() || t == TypeId::of::<SmolLocal>() {
        Box::pin(smol_echo(rt, conns, trips))
    } else {
        unreachable!("a runtime without networking in the benchmarks")
    }
}

/// The message of connection `c`, round `i`.
fn message(c: usize, i: usize) -> [u8; MSG] {
    let mut m = [0u8; MSG];
    for (k, b) in m.iter_mut().enumerate() {
        *b = (c + i + k) as u8;
    }
    m
}

/// A client over any futures-io stream: `trips` checked round trips.
async fn client<S>(mut s: S, c: usize, trips: usize)
where
    S: futures_lite::AsyncRead + futures_lite::AsyncWrite + Unpin,
{
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let mut back = [0u8; MSG];
    for i in 0..trips {
        let m = message(c, i);
        s.write_all(&m).await.expect("client write failed");
        s.read_exact(&mut back).await.expect("client read failed");
        assert_eq!(back, m, "the echo differs");
    }
}

/// Spawns one client task per stream with `client`, awaits them all;
/// the elapsed time.
macro_rules! time_clients {
    ($rt:expr, $streams:expr, $trips:expr, $client:expr) => {{
        let start = Instant::now();
        let handles: Vec<_> = $streams
            .into_iter()
            .enumerate()
            .map(|(c, s)| $rt.spawn($client(s, c, $trips)))
            .collect();
        for h in handles {
            h.await;
        }
        Sample::one(start.elapsed())
    }};
}

/// asyncio's echo server protocol (also served by `echo_server`).
pub(crate) struct Echo(pub(crate) Option<tulipa::net::protocol::Transport>);

impl tulipa::net::protocol::Protocol for Echo {
    fn connection_made(&mut self, transport: tulipa::net::protocol::Transport) {
        self.0 = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        if let Some(t) = &self.0 {
            t.write(data);
        }
    }
}

async fn tulipa_echo<R: Rt>(rt: R, conns: usize, trips: usize) -> Sample {
    let server = tulipa::net::protocol::create_server(|| Echo(None), "127.0.0.1:0")
        .await
        .expect("cannot start the tulipa echo server");
    let addr = server.local_addr().expect("an IP listener");
    let mut streams = Vec::with_capacity(conns);
    for _ in 0..conns {
        let s = tulipa::net::TcpStream::connect(addr)
            .await
            .expect("cannot connect to the tulipa echo server");
        s.set_nodelay(true).expect("TCP_NODELAY");
        streams.push(s);
    }
    let sample = time_clients!(rt, streams, trips, client);
    server.close();
    server.close_clients();
    server.wait_closed().await;
    sample
}

/// A tokio client: `trips` checked round trips.
async fn tokio_client(mut s: tokio::net::TcpStream, c: usize, trips: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut back = [0u8; MSG];
    for i in 0..trips {
        let m = message(c, i);
        s.write_all(&m).await.expect("client write failed");
        s.read_exact(&mut back).await.expect("client read failed");
        assert_eq!(back, m, "the echo differs");
    }
}

async fn tokio_echo<R: Rt>(rt: R, conns: usize, trips: usize) -> Sample {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("cannot bind the tokio echo server");
    let addr = listener.local_addr().expect("a bound listener");
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            s.set_nodelay(true).expect("TCP_NODELAY");
            tokio::spawn(async move {
                let mut buf = vec![0u8; BUF];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    let mut streams = Vec::with_capacity(conns);
    for _ in 0..conns {
        let s = tokio::net::TcpStream::connect(addr)
            .await
            .expect("cannot connect to the tokio echo server");
        s.set_nodelay(true).expect("TCP_NODELAY");
        streams.push(s);
    }
    let sample = time_clients!(rt, streams, trips, tokio_client);
    server.abort();
    sample
}

async fn smol_echo<R: Rt>(rt: R, conns: usize, trips: usize) -> Sample {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let listener = smol::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("cannot bind the smol echo server");
    let addr = listener.local_addr().expect("a bound listener");
    let server = rt.spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            s.set_nodelay(true).expect("TCP_NODELAY");
            rt.spawn_detached(async move {
                let mut buf = vec![0u8; BUF];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if s.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    let mut streams = Vec::with_capacity(conns);
    for _ in 0..conns {
        let s = smol::net::TcpStream::connect(addr)
            .await
            .expect("cannot connect to the smol echo server");
        s.set_nodelay(true).expect("TCP_NODELAY");
        streams.push(s);
    }
    let sample = time_clients!(rt, streams, trips, client);
    // Dropping the accept loop's handle cancels it (smol tasks); the
    // connection tasks end when their clients' streams close.
    drop(server);
    sample
}
