//! Protocol servers and clients beyond the basics: `start_serving=False`
//! with `start_serving` / `serve_forever`, and `create_connection` from a
//! local address; on both runtimes.

mod support;

use support::{runtimes, until};

use std::io::ErrorKind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tulipa_net::protocol::{
    create_connection_bound, create_server, create_server_with, Protocol, ServerOptions, Transport,
};

/// Counts the connections it is made for; records peers.
struct Counted {
    made: Arc<AtomicUsize>,
    peers: Arc<Mutex<Vec<std::net::SocketAddr>>>,
}

impl Protocol for Counted {
    fn connection_made(&mut self, t: Transport) {
        if let Some(peer) = t.peer_addr().and_then(|p| p.as_inet()) {
            self.peers.lock().unwrap().push(peer);
        }
        self.made.fetch_add(1, Ordering::SeqCst);
    }
    fn data_received(&mut self, _: &[u8]) {}
}

type Peers = Arc<Mutex<Vec<std::net::SocketAddr>>>;

fn counted() -> (
    Arc<AtomicUsize>,
    Peers,
    impl Fn() -> Counted + Send + Sync + 'static,
) {
    let made = Arc::new(AtomicUsize::new(0));
    let peers: Peers = Arc::default();
    let (m, p) = (made.clone(), peers.clone());
    (made, peers, move || Counted {
        made: m.clone(),
        peers: p.clone(),
    })
}

/// A client that does nothing.
struct Quiet;

impl Protocol for Quiet {
    fn data_received(&mut self, _: &[u8]) {}
}

#[test]
fn a_server_made_with_start_serving_false_accepts_only_after_start_serving() {
    for rt in runtimes() {
        rt.block_on(async {
            let (made, _, factory) = counted();
            let options = ServerOptions::new().start_serving(false);
            let server = create_server_with(factory, "127.0.0.1:0", &options)
                .await
                .unwrap();
            assert!(!server.is_serving());
            let addr = server.local_addr().unwrap();
            // The kernel completes the handshake (the socket listens), but
            // the server makes no protocol for it yet.
            let client = create_connection(addr).await;
            for _ in 0..20 {
                tulipa::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            assert_eq!(made.load(Ordering::SeqCst), 0);
            assert_eq!(server.connection_count(), 0);
            server.start_serving();
            assert!(server.is_serving());
            until("the waiting connection is accepted", || {
                made.load(Ordering::SeqCst) == 1
            })
            .await;
            server.start_serving();
            client.abort();
            server.close();
            assert!(!server.is_serving());
            server.start_serving();
            assert!(!server.is_serving(), "a closed server stays closed");
            server.wait_closed().await;
        });
    }
}

async fn create_connection(addr: std::net::SocketAddr) -> Transport {
    tulipa_net::protocol::create_connection(|| Quiet, addr)
        .await
        .unwrap()
}

#[test]
fn serve_forever_starts_serving_and_returns_when_closed() {
    for rt in runtimes() {
        rt.block_on(async {
            let (made, _, factory) = counted();
            let options = ServerOptions::new().start_serving(false);
            let server = create_server_with(factory, "127.0.0.1:0", &options)
                .await
                .unwrap();
            let s = server.clone();
            let forever = tulipa::spawn(async move { s.serve_forever().await });
            let client = create_connection(server.local_addr().unwrap()).await;
            until("serve_forever accepted the connection", || {
                made.load(Ordering::SeqCst) == 1
            })
            .await;
            assert!(server.is_serving());
            assert!(!forever.is_finished());
            server.close();
            forever.await.unwrap();
            client.abort();
            server.wait_closed().await;
        });
    }
}

#[test]
fn create_connection_bound_connects_from_the_local_address() {
    for rt in runtimes() {
        rt.block_on(async {
            let (made, peers, factory) = counted();
            let server = create_server(factory, "127.0.0.1:0").await.unwrap();
            let addr = server.local_addr().unwrap();
            // 127.0.0.2 is loopback too, and not the address the kernel
            // would pick by itself.
            let local = "127.0.0.2:0".parse().unwrap();
            let t = create_connection_bound(|| Quiet, addr, local)
                .await
                .unwrap();
            let bound = t.local_addr().unwrap().as_inet().unwrap();
            assert_eq!(bound.ip(), local.ip());
            assert_ne!(bound.port(), 0);
            until("the server saw the connection", || {
                made.load(Ordering::SeqCst) == 1
            })
            .await;
            assert_eq!(peers.lock().unwrap()[0], bound);

            // A local address of the other family matches no remote one.
            let v6 = "[::1]:0".parse().unwrap();
            let err = create_connection_bound(|| Quiet, addr, v6)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().contains("[::1]:0"), "{err}");

            // A local address that is taken: bind's error, naming it.
            let taken = t.local_addr().unwrap().as_inet().unwrap();
            let err = create_connection_bound(|| Quiet, addr, taken)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AddrInUse, "{err}");
            assert!(err.to_string().contains(&taken.to_string()), "{err}");

            t.close();
            t.wait_closed().await;
            server.close();
            server.close_clients();
            server.wait_closed().await;
        });
    }
}

/// Records the task it runs in.
struct WhoAmI(Arc<Mutex<Option<tulipa::task::TaskInfo>>>);

impl Protocol for WhoAmI {
    fn connection_made(&mut self, _: Transport) {
        *self.0.lock().unwrap() = tulipa::task::current();
    }
    fn data_received(&mut self, _: &[u8]) {}
}

/// Issue 13: "The connection tasks that servers spawn carry a name (the
/// server and the peer address) and the user's call site as spawn
/// location", for the async and the plain constructors.
#[test]
fn connection_tasks_are_named_after_server_and_peer_and_located_at_the_user_call() {
    for rt in runtimes() {
        rt.block_on(async {
            let seen = Arc::new(Mutex::new(None));
            let s = seen.clone();
            let line = line!() + 1;
            let server = create_server(move || WhoAmI(s.clone()), "127.0.0.1:0")
                .await
                .unwrap();
            let addr = server.local_addr().unwrap();
            let client = create_connection(addr).await;
            until("connection_made ran", || seen.lock().unwrap().is_some()).await;
            let info = seen.lock().unwrap().take().unwrap();
            let peer = client.local_addr().unwrap().to_string();
            assert_eq!(
                info.name(),
                Some(format!("connection {peer} to server {addr}").as_str())
            );
            assert_eq!(info.location().file(), file!());
            assert_eq!(info.location().line(), line);
            client.abort();
            server.close();
            server.wait_closed().await;

            let listener = tulipa_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let s = seen.clone();
            let line = line!() + 1;
            let server = tulipa_net::protocol::create_server_with_listener(
                move || WhoAmI(s.clone()),
                listener,
            )
            .unwrap();
            let client = create_connection(server.local_addr().unwrap()).await;
            until("connection_made ran", || seen.lock().unwrap().is_some()).await;
            let info = seen.lock().unwrap().take().unwrap();
            assert!(info.name().unwrap().starts_with("connection 127.0.0.1:"));
            assert_eq!(info.location().line(), line);
            client.abort();
            server.close();
            server.wait_closed().await;
        });
    }
}

/// Writes 16 MiB at once (more than the kernel's send buffer takes) to a
/// peer that never reads: its transport's buffer cannot drain. Keeps the
/// transport in `seen`.
struct Flood(Arc<Mutex<Vec<Transport>>>);

impl Protocol for Flood {
    fn connection_made(&mut self, t: Transport) {
        t.write(&vec![7; 16 << 20]);
        self.0.lock().unwrap().push(t);
    }
    fn data_received(&mut self, _: &[u8]) {}
}

/// asyncio 3.13's `Server.abort_clients`: connections whose buffers cannot
/// drain (so `close_clients` waits for the peer) end at once.
#[test]
fn abort_clients_ends_connections_whose_buffers_cannot_drain() {
    for rt in runtimes() {
        rt.block_on(async {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let s = seen.clone();
            let server = create_server(move || Flood(s.clone()), "127.0.0.1:0")
                .await
                .unwrap();
            let addr = server.local_addr().unwrap();
            // A blocking client with a small receive window that never reads.
            let socket =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            socket.connect(&addr.into()).unwrap();
            until("the connection is live", || seen.lock().unwrap().len() == 1).await;
            let transport = seen.lock().unwrap()[0].clone();
            assert!(transport.get_write_buffer_size() > 0);
            server.close();
            server.close_clients();
            for _ in 0..20 {
                tulipa::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            assert_eq!(
                server.connection_count(),
                1,
                "close_clients waits for a buffer nobody reads"
            );
            assert!(transport.is_closing());
            server.abort_clients();
            until("abort_clients ended it", || server.connection_count() == 0).await;
            assert_eq!(transport.get_write_buffer_size(), 0);
            server.wait_closed().await;
            drop(socket);
        });
    }
}
