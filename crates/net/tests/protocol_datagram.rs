//! Datagram endpoints over loopback UDP: echo, connected sends, address
//! checks, `error_received`, close and abort.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulipa_net::protocol::{create_datagram_endpoint, DatagramProtocol, DatagramTransport};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Made,
    Datagram(Vec<u8>, SocketAddr),
    Error(std::io::ErrorKind),
    Lost(bool),
}

type Log = Arc<Mutex<Vec<Ev>>>;

struct Recorder {
    log: Log,
    transport: Option<DatagramTransport>,
    echo: bool,
}

impl DatagramProtocol for Recorder {
    fn connection_made(&mut self, t: DatagramTransport) {
        self.log.lock().unwrap().push(Ev::Made);
        self.transport = Some(t);
    }
    fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
        self.log
            .lock()
            .unwrap()
            .push(Ev::Datagram(data.to_vec(), addr));
        if self.echo {
            self.transport
                .as_ref()
                .unwrap()
                .send_to(data, addr)
                .unwrap();
        }
    }
    fn error_received(&mut self, err: std::io::Error) {
        self.log.lock().unwrap().push(Ev::Error(err.kind()));
    }
    fn connection_lost(&mut self, err: Option<std::io::Error>) {
        self.log.lock().unwrap().push(Ev::Lost(err.is_some()));
    }
}

fn recorder(log: &Log, echo: bool) -> Recorder {
    Recorder {
        log: log.clone(),
        transport: None,
        echo,
    }
}

async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        tulipa::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("timed out waiting until {what}");
}

fn datagrams(log: &Log) -> Vec<Vec<u8>> {
    log.lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Ev::Datagram(d, _) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn echo_between_an_unconnected_and_a_connected_endpoint() {
    tulipa::run(async {
        let server_log = Log::default();
        let sl = server_log.clone();
        let server = create_datagram_endpoint(
            move || recorder(&sl, true),
            Some("127.0.0.1:0".parse().unwrap()),
            None,
        )
        .unwrap();
        let server_addr = server.local_addr().unwrap();
        assert_eq!(server.peer_addr(), None);
        let client_log = Log::default();
        let cl = client_log.clone();
        let client =
            create_datagram_endpoint(move || recorder(&cl, false), None, Some(server_addr))
                .unwrap();
        assert_eq!(client.peer_addr(), Some(server_addr));
        for i in 0..10u8 {
            client.send(&[i; 3]).unwrap();
        }
        client.send(b"").unwrap();
        until("all echoes arrived", || datagrams(&client_log).len() == 11).await;
        let got = datagrams(&client_log);
        for i in 0..10u8 {
            assert!(got.contains(&vec![i; 3]));
        }
        assert!(got.contains(&Vec::new()), "empty datagrams are datagrams");
        // The server saw the client's address.
        let client_addr = client.local_addr().unwrap();
        assert!(server_log
            .lock()
            .unwrap()
            .iter()
            .all(|e| !matches!(e, Ev::Datagram(_, a) if *a != client_addr)));

        // A connected endpoint refuses other destinations.
        let other: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let err = client.send_to(b"x", other).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        client.send_to(b"same", server_addr).unwrap();
        // An unconnected one cannot send() without a destination.
        let err = server.send(b"x").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotConnected);

        client.close();
        server.close();
        client.wait_closed().await;
        server.wait_closed().await;
        for log in [&client_log, &server_log] {
            let log = log.lock().unwrap();
            assert_eq!(log.first(), Some(&Ev::Made));
            assert_eq!(log.last(), Some(&Ev::Lost(false)));
            assert_eq!(log.iter().filter(|e| matches!(e, Ev::Lost(_))).count(), 1);
        }
        assert!(client.is_closing());
        client.send(b"after close").unwrap();
        assert_eq!(client.get_write_buffer_size(), 0);
    });
}

#[test]
fn a_refused_port_reaches_error_received_and_the_endpoint_stays_open() {
    tulipa::run(async {
        // A port with no listener: bind, note it, close.
        let dead = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let dead_addr = dead.local_addr().unwrap();
        drop(dead);
        let log = Log::default();
        let l = log.clone();
        let t =
            create_datagram_endpoint(move || recorder(&l, false), None, Some(dead_addr)).unwrap();
        // Linux reports the ICMP port-unreachable on a later call of the
        // connected socket; keep sending until it surfaces.
        for _ in 0..1000 {
            t.send(b"anyone?").unwrap();
            tulipa::time::sleep(Duration::from_millis(2)).await;
            if log
                .lock()
                .unwrap()
                .iter()
                .any(|e| matches!(e, Ev::Error(_)))
            {
                break;
            }
        }
        assert!(log
            .lock()
            .unwrap()
            .contains(&Ev::Error(std::io::ErrorKind::ConnectionRefused)));
        assert!(
            !t.is_closing(),
            "an error_received does not close the endpoint"
        );
        t.abort();
        t.wait_closed().await;
        assert_eq!(log.lock().unwrap().last(), Some(&Ev::Lost(false)));
    });
}

#[test]
fn it_needs_an_address_and_a_runtime() {
    tulipa::run(async {
        let err =
            create_datagram_endpoint(|| recorder(&Log::default(), false), None, None).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    });
    let err = create_datagram_endpoint(
        || recorder(&Log::default(), false),
        Some("127.0.0.1:0".parse().unwrap()),
        None,
    )
    .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
}

/// Records `connection_lost`; panics in `datagram_received` on "boom" and,
/// if asked, in `connection_lost` itself.
struct Fragile {
    lost: Arc<Mutex<Vec<bool>>>,
    panic_in_lost: bool,
}

impl DatagramProtocol for Fragile {
    fn datagram_received(&mut self, data: &[u8], _: SocketAddr) {
        if data.starts_with(b"boom") {
            panic!("the protocol failed on purpose (test)");
        }
    }
    fn connection_lost(&mut self, err: Option<std::io::Error>) {
        self.lost.lock().unwrap().push(err.is_some());
        if self.panic_in_lost {
            panic!("connection_lost failed on purpose (test)");
        }
    }
}

#[test]
fn a_panicking_callback_closes_the_endpoint_without_more_callbacks() {
    tulipa::run(async {
        let lost = Arc::new(Mutex::new(Vec::new()));
        let l = lost.clone();
        let t = create_datagram_endpoint(
            move || Fragile {
                lost: l,
                panic_in_lost: false,
            },
            Some("127.0.0.1:0".parse().unwrap()),
            None,
        )
        .unwrap();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.send_to(b"boom", t.local_addr().unwrap()).unwrap();
        tulipa::time::timeout(Duration::from_secs(10), t.wait_closed())
            .await
            .expect("wait_closed hung after a panicking callback");
        assert!(t.is_closing());
        assert!(lost.lock().unwrap().is_empty());
    });
}

#[test]
fn a_panicking_connection_lost_still_wakes_wait_closed() {
    tulipa::run(async {
        let lost = Arc::new(Mutex::new(Vec::new()));
        let l = lost.clone();
        let t = create_datagram_endpoint(
            move || Fragile {
                lost: l,
                panic_in_lost: true,
            },
            Some("127.0.0.1:0".parse().unwrap()),
            None,
        )
        .unwrap();
        t.close();
        tulipa::time::timeout(Duration::from_secs(10), t.wait_closed())
            .await
            .expect("wait_closed hung after a panicking connection_lost");
        assert_eq!(*lost.lock().unwrap(), [false]);
    });
}

/// Issue "set_write_buffer_limits validates as asyncio": the datagram
/// transport derives and checks its marks like a stream transport (asyncio's
/// `_set_write_buffer_limits`), on both runtimes; a refused call changes
/// nothing.
#[test]
fn datagram_write_buffer_limits_follow_asyncio() {
    let runtimes = [
        tulipa::Runtime::builder().current_thread().build().unwrap(),
        tulipa::Runtime::builder().multi_thread().build().unwrap(),
    ];
    for rt in runtimes {
        rt.block_on(async {
            let t = create_datagram_endpoint(
                || recorder(&Log::default(), false),
                Some("127.0.0.1:0".parse().unwrap()),
                None,
            )
            .unwrap();
            assert_eq!(t.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
            t.set_write_buffer_limits(Some(1000), None).unwrap();
            assert_eq!(t.get_write_buffer_limits(), (250, 1000));
            t.set_write_buffer_limits(None, Some(100)).unwrap();
            assert_eq!(t.get_write_buffer_limits(), (100, 400));
            let err = t.set_write_buffer_limits(Some(1), Some(2)).unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
            assert!(err.to_string().contains("high=1"), "{err}");
            assert_eq!(t.get_write_buffer_limits(), (100, 400));
            t.set_write_buffer_limits(Some(0), None).unwrap();
            assert_eq!(t.get_write_buffer_limits(), (0, 0));
            t.set_write_buffer_limits(None, None).unwrap();
            assert_eq!(t.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
            t.abort();
            t.wait_closed().await;
        });
    }
}
