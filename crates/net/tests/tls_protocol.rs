//! Protocols over TLS (feature `tls`): `create_tls_server` and
//! `create_tls_connection`, callback order, TLS facts on the transport,
//! failed handshakes, a large transfer under flow control.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulipa_net::protocol::{create_tls_connection, create_tls_server, Protocol, Transport};
use tulipa_net::tls::{TlsAcceptor, TlsConnector};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Made,
    Data(usize),
    Eof,
    Lost(bool),
}

type Log = Arc<Mutex<Vec<Ev>>>;

struct Recorder {
    log: Log,
    bytes: Arc<Mutex<Vec<u8>>>,
    transport: Option<Transport>,
    echo: bool,
}

impl Recorder {
    fn new(log: &Log, bytes: &Arc<Mutex<Vec<u8>>>, echo: bool) -> Recorder {
        Recorder {
            log: log.clone(),
            bytes: bytes.clone(),
            transport: None,
            echo,
        }
    }
}

impl Protocol for Recorder {
    fn connection_made(&mut self, t: Transport) {
        self.log.lock().unwrap().push(Ev::Made);
        self.transport = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.log.lock().unwrap().push(Ev::Data(data.len()));
        self.bytes.lock().unwrap().extend_from_slice(data);
        if self.echo {
            self.transport.as_ref().unwrap().write(data);
        }
    }
    fn eof_received(&mut self) -> bool {
        self.log.lock().unwrap().push(Ev::Eof);
        false
    }
    fn connection_lost(&mut self, err: Option<std::io::Error>) {
        self.log.lock().unwrap().push(Ev::Lost(err.is_some()));
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

fn tls_pair() -> (TlsAcceptor, TlsConnector) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let acceptor = TlsAcceptor::from_pem(
        ck.cert.pem().as_bytes(),
        ck.key_pair.serialize_pem().as_bytes(),
    )
    .unwrap();
    let connector = TlsConnector::with_root_certificates([ck.cert.der().clone()]).unwrap();
    (acceptor, connector)
}

fn assert_order(log: &Log) {
    let log = log.lock().unwrap();
    assert_eq!(log.first(), Some(&Ev::Made), "{log:?}");
    assert!(matches!(log.last(), Some(Ev::Lost(_))), "{log:?}");
    assert_eq!(log.iter().filter(|e| matches!(e, Ev::Lost(_))).count(), 1);
    let mid = &log[1..log.len() - 1];
    assert!(
        mid.iter().filter(|e| **e == Ev::Eof).count() <= 1,
        "{log:?}"
    );
    if let Some(i) = mid.iter().position(|e| *e == Ev::Eof) {
        assert_eq!(i, mid.len() - 1, "nothing but the end after eof: {log:?}");
    }
}

#[test]
fn a_tls_echo_server_and_client_protocol() {
    tulipa::run(async {
        let (acceptor, connector) = tls_pair();
        let server_log = Log::default();
        let server_bytes = Arc::default();
        let (sl, sb) = (server_log.clone(), Arc::clone(&server_bytes));
        let made: Arc<Mutex<Vec<Transport>>> = Arc::default();
        let m = made.clone();
        let server = create_tls_server(
            move || {
                let r = Recorder::new(&sl, &sb, true);
                struct Keep(Recorder, Arc<Mutex<Vec<Transport>>>);
                impl Protocol for Keep {
                    fn connection_made(&mut self, t: Transport) {
                        self.1.lock().unwrap().push(t.clone());
                        self.0.connection_made(t);
                    }
                    fn data_received(&mut self, d: &[u8]) {
                        self.0.data_received(d);
                    }
                    fn eof_received(&mut self) -> bool {
                        self.0.eof_received()
                    }
                    fn connection_lost(&mut self, e: Option<std::io::Error>) {
                        self.0.connection_lost(e);
                    }
                }
                Keep(r, m.clone())
            },
            "127.0.0.1:0",
            acceptor,
        )
        .await
        .unwrap();
        let client_log = Log::default();
        let client_bytes: Arc<Mutex<Vec<u8>>> = Arc::default();
        let (cl, cb) = (client_log.clone(), client_bytes.clone());
        let t = create_tls_connection(
            move || Recorder::new(&cl, &cb, false),
            server.local_addr().unwrap(),
            &connector,
            "localhost",
        )
        .await
        .unwrap();
        let info = t.tls_info().expect("a TLS transport has TLS facts");
        assert_eq!(info.peer_certificates().len(), 1);
        assert!(!t.can_write_eof());
        assert_eq!(
            t.write_eof().unwrap_err().kind(),
            std::io::ErrorKind::Unsupported
        );
        let payload: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        for chunk in payload.chunks(7_000) {
            t.write(chunk);
        }
        until("the echo came back", || {
            client_bytes.lock().unwrap().len() == payload.len()
        })
        .await;
        assert!(*client_bytes.lock().unwrap() == payload);
        let st = made.lock().unwrap()[0].clone();
        assert_eq!(st.tls_info().unwrap().server_name(), Some("localhost"));
        assert_eq!(
            st.peer_addr().unwrap().as_inet(),
            t.local_addr().unwrap().as_inet()
        );
        t.close();
        t.wait_closed().await;
        st.wait_closed().await;
        assert_order(&client_log);
        assert_order(&server_log);
        // The client's close_notify is the server's EOF.
        assert!(server_log.lock().unwrap().contains(&Ev::Eof));
        assert_eq!(server_log.lock().unwrap().last(), Some(&Ev::Lost(false)));
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn a_failed_handshake_makes_no_protocol_and_the_server_goes_on() {
    tulipa::run(async {
        let (acceptor, connector) = tls_pair();
        let made = Arc::new(Mutex::new(0));
        let m = made.clone();
        let server = create_tls_server(
            move || {
                *m.lock().unwrap() += 1;
                Recorder::new(&Log::default(), &Arc::default(), true)
            },
            "127.0.0.1:0",
            acceptor,
        )
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        // Plain text to a TLS server.
        let mut plain = std::net::TcpStream::connect(addr).unwrap();
        plain.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        plain
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut plain, &mut sink);
        assert_eq!(
            *made.lock().unwrap(),
            0,
            "no protocol for a failed handshake"
        );
        // A client that trusts another certificate.
        let (_, stranger) = tls_pair();
        let err = create_tls_connection(
            || Recorder::new(&Log::default(), &Arc::default(), false),
            addr,
            &stranger,
            "localhost",
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
        // A good client still gets served.
        let bytes: Arc<Mutex<Vec<u8>>> = Arc::default();
        let b = bytes.clone();
        let t = create_tls_connection(
            move || Recorder::new(&Log::default(), &b, false),
            addr,
            &connector,
            "localhost",
        )
        .await
        .unwrap();
        t.write(b"ok?");
        until("echo", || *bytes.lock().unwrap() == b"ok?").await;
        assert_eq!(*made.lock().unwrap(), 1);
        t.abort();
        t.wait_closed().await;
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn close_right_after_a_large_write_from_another_thread_delivers_every_byte_then_close_notify() {
    tulipa::run(async {
        let (acceptor, connector) = tls_pair();
        let server_log = Log::default();
        let server_bytes: Arc<Mutex<Vec<u8>>> = Arc::default();
        let (sl, sb) = (server_log.clone(), server_bytes.clone());
        let server = create_tls_server(
            move || Recorder::new(&sl, &sb, false),
            "127.0.0.1:0",
            acceptor,
        )
        .await
        .unwrap();
        let t = create_tls_connection(
            || Recorder::new(&Log::default(), &Arc::default(), false),
            server.local_addr().unwrap(),
            &connector,
            "localhost",
        )
        .await
        .unwrap();
        let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let (t2, p2) = (t.clone(), payload.clone());
        // Written and closed from a plain thread: every byte and the
        // close must reach the connection's driver.
        std::thread::spawn(move || {
            for chunk in p2.chunks(10_000) {
                t2.write(chunk);
            }
            t2.close();
        })
        .join()
        .unwrap();
        tulipa::time::timeout(Duration::from_secs(20), t.wait_closed())
            .await
            .expect("the client transport never closed");
        until("the server saw the end", || {
            matches!(server_log.lock().unwrap().last(), Some(Ev::Lost(_)))
        })
        .await;
        assert!(
            *server_bytes.lock().unwrap() == payload,
            "bytes lost or reordered"
        );
        let log = server_log.lock().unwrap().clone();
        // A clean close_notify: EOF, then the end without an error.
        assert_eq!(log[log.len() - 2..], [Ev::Eof, Ev::Lost(false)], "{log:?}");
        drop(log);
        server.close();
        server.wait_closed().await;
    });
}
