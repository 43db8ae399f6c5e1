//! Stream protocols over loopback TCP and Unix sockets: callback order,
//! half-close, resets, flow control, abort, close, pause_reading, servers.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulipa_net::protocol::{
    create_connection, create_server, create_unix_connection, create_unix_server, Protocol, Server,
    Transport,
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Made,
    Data(Vec<u8>),
    Eof,
    Lost(Option<std::io::ErrorKind>),
    Pause,
    Resume,
}

type Log = Arc<Mutex<Vec<Ev>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

/// Records every callback; optionally echoes, and answers EOF with `keep`.
struct Recorder {
    log: Log,
    transport: Option<Transport>,
    echo: bool,
    keep_open_on_eof: bool,
    on_eof_write: Option<&'static [u8]>,
}

impl Recorder {
    fn new(log: &Log) -> Recorder {
        Recorder {
            log: log.clone(),
            transport: None,
            echo: false,
            keep_open_on_eof: false,
            on_eof_write: None,
        }
    }
    fn echo(mut self) -> Self {
        self.echo = true;
        self
    }
}

impl Protocol for Recorder {
    fn connection_made(&mut self, t: Transport) {
        self.log.lock().unwrap().push(Ev::Made);
        self.transport = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.log.lock().unwrap().push(Ev::Data(data.to_vec()));
        if self.echo {
            self.transport.as_ref().unwrap().write(data);
        }
    }
    fn eof_received(&mut self) -> bool {
        self.log.lock().unwrap().push(Ev::Eof);
        if let Some(bytes) = self.on_eof_write {
            let t = self.transport.as_ref().unwrap();
            t.write(bytes);
            t.close();
        }
        self.keep_open_on_eof
    }
    fn connection_lost(&mut self, err: Option<std::io::Error>) {
        self.log
            .lock()
            .unwrap()
            .push(Ev::Lost(err.map(|e| e.kind())));
    }
    fn pause_writing(&mut self) {
        self.log.lock().unwrap().push(Ev::Pause);
    }
    fn resume_writing(&mut self) {
        self.log.lock().unwrap().push(Ev::Resume);
    }
}

/// Waits (bounded: 10 s) until `cond` holds.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        tulipa::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("timed out waiting until {what}");
}

/// A blocking client whose receive buffer is small, so a peer that writes
/// to it fills the kernel's buffers soon and its own transport buffers.
fn small_window_client(addr: std::net::SocketAddr) -> std::net::TcpStream {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    s.set_recv_buffer_size(4096).unwrap();
    s.connect(&addr.into()).unwrap();
    s.into()
}

fn data_of(log: &Log) -> Vec<u8> {
    log.lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Ev::Data(d) => Some(d.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn lost_count(log: &Log) -> usize {
    log.lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Ev::Lost(_)))
        .count()
}

/// `Made`, `Data`*, `Eof`?, `Lost` exactly once, nothing after; flow
/// events may sit anywhere between `Made` and `Lost`.
fn assert_order(log: &Log) {
    let events: Vec<Ev> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|e| !matches!(e, Ev::Pause | Ev::Resume))
        .cloned()
        .collect();
    assert_eq!(events.first(), Some(&Ev::Made), "{events:?}");
    assert!(matches!(events.last(), Some(Ev::Lost(_))), "{events:?}");
    let mid = &events[1..events.len() - 1];
    let eofs = mid.iter().filter(|e| **e == Ev::Eof).count();
    assert!(eofs <= 1, "{events:?}");
    if eofs == 1 {
        assert_eq!(mid.last(), Some(&Ev::Eof), "data after eof: {events:?}");
    }
    assert!(
        mid.iter().all(|e| matches!(e, Ev::Data(_) | Ev::Eof)),
        "{events:?}"
    );
}

async fn echo_server(server_log: &Log) -> Server {
    let l = server_log.clone();
    create_server(move || Recorder::new(&l).echo(), "127.0.0.1:0")
        .await
        .unwrap()
}

#[test]
fn echo_round_trip_in_callback_order() {
    tulipa::run(async {
        let server_log = log();
        let server = echo_server(&server_log).await;
        let addr = server.local_addr().unwrap();
        let client_log = log();
        let cl = client_log.clone();
        let t = create_connection(move || Recorder::new(&cl), addr)
            .await
            .unwrap();
        // connection_made ran before create_connection returned.
        assert_eq!(client_log.lock().unwrap().first(), Some(&Ev::Made));
        assert_eq!(t.peer_addr().unwrap().as_inet(), Some(addr));
        assert!(t.can_write_eof());
        t.write(b"hello ");
        t.writelines(&[b"wor".as_slice(), b"ld"]);
        until("the echo came back", || {
            data_of(&client_log) == b"hello world"
        })
        .await;
        t.close();
        assert!(t.is_closing());
        t.wait_closed().await;
        until("the server saw the end", || lost_count(&server_log) == 1).await;
        assert_order(&client_log);
        assert_order(&server_log);
        assert_eq!(data_of(&server_log), b"hello world");
        assert_eq!(
            server_log.lock().unwrap().last(),
            Some(&Ev::Lost(None)),
            "a client close is an EOF, then connection_lost(None)"
        );
        assert!(server_log.lock().unwrap().contains(&Ev::Eof));
        server.close();
        server.wait_closed().await;
        assert!(!server.is_serving());
    });
}

#[test]
fn half_close_lets_the_protocol_write_after_eof() {
    tulipa::run(async {
        let server_log = log();
        let l = server_log.clone();
        let server = create_server(
            move || {
                let mut r = Recorder::new(&l);
                r.keep_open_on_eof = true;
                r.on_eof_write = Some(b"bye");
                r
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let client_log = log();
        let cl = client_log.clone();
        let t = create_connection(
            move || {
                let mut r = Recorder::new(&cl);
                r.keep_open_on_eof = true;
                r
            },
            server.local_addr().unwrap(),
        )
        .await
        .unwrap();
        t.write(b"request");
        t.write_eof().unwrap();
        t.write(b"ignored after write_eof");
        // The server saw the EOF, wrote after it, then closed: the client
        // gets the bytes and then its own EOF; with both directions shut,
        // the client's connection ends by itself.
        t.wait_closed().await;
        until("the server ended", || lost_count(&server_log) == 1).await;
        assert_eq!(data_of(&server_log), b"request");
        assert_eq!(data_of(&client_log), b"bye");
        assert_order(&server_log);
        assert_order(&client_log);
        assert!(client_log.lock().unwrap().contains(&Ev::Eof));
        assert_eq!(client_log.lock().unwrap().last(), Some(&Ev::Lost(None)));
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn a_peer_reset_ends_only_that_connection_with_an_error() {
    tulipa::run(async {
        let server_log = log();
        let logs: Arc<Mutex<Vec<Log>>> = Arc::default();
        let ls = logs.clone();
        let _ = &server_log;
        let server = create_server(
            move || {
                let l = log();
                ls.lock().unwrap().push(l.clone());
                Recorder::new(&l).echo()
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let mut good = std::net::TcpStream::connect(addr).unwrap();
        good.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let bad = std::net::TcpStream::connect(addr).unwrap();
        until("both accepted", || server.connection_count() == 2).await;
        let bad_log = logs.lock().unwrap()[1].clone();
        (&bad).write_all(b"partial").unwrap();
        until("the server read from the doomed client", || {
            !data_of(&bad_log).is_empty()
        })
        .await;
        // SO_LINGER 0: close sends a RST instead of a FIN.
        socket2::SockRef::from(&bad)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(bad);
        until("the reset connection ended", || lost_count(&bad_log) == 1).await;
        let last = bad_log.lock().unwrap().last().cloned();
        assert!(
            matches!(last, Some(Ev::Lost(Some(_)))),
            "a reset is an error: {last:?}"
        );
        assert_order(&bad_log);
        // The other connection is untouched.
        good.write_all(b"still here").unwrap();
        let mut buf = [0; 10];
        good.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"still here");
        let good_log = logs.lock().unwrap()[0].clone();
        assert_eq!(lost_count(&good_log), 0);
        assert_eq!(server.connection_count(), 1);
        drop(good);
        server.close();
        server.wait_closed().await;
        assert_order(&good_log);
    });
}

const CHUNK: usize = 16 * 1024;
const TOTAL: usize = 8 * 1024 * 1024;

/// Writes `TOTAL` bytes (a counting pattern), honouring flow control:
/// writes while not paused, resumes on `resume_writing`.
struct Producer {
    log: Log,
    transport: Option<Transport>,
    sent: usize,
    max_buffered: Arc<Mutex<usize>>,
    close_when_done: bool,
}

impl Producer {
    fn produce(&mut self) {
        let t = self.transport.clone().unwrap();
        while !t.is_writing_paused() && self.sent < TOTAL {
            let chunk: Vec<u8> = (self.sent..self.sent + CHUNK).map(|i| i as u8).collect();
            t.write(&chunk);
            self.sent += CHUNK;
            let mut max = self.max_buffered.lock().unwrap();
            *max = (*max).max(t.get_write_buffer_size());
        }
        if self.sent >= TOTAL && self.close_when_done {
            t.close();
        }
    }
}

impl Protocol for Producer {
    fn connection_made(&mut self, t: Transport) {
        self.log.lock().unwrap().push(Ev::Made);
        self.transport = Some(t);
        self.produce();
    }
    fn data_received(&mut self, _: &[u8]) {}
    fn connection_lost(&mut self, err: Option<std::io::Error>) {
        self.log
            .lock()
            .unwrap()
            .push(Ev::Lost(err.map(|e| e.kind())));
    }
    fn pause_writing(&mut self) {
        self.log.lock().unwrap().push(Ev::Pause);
    }
    fn resume_writing(&mut self) {
        self.log.lock().unwrap().push(Ev::Resume);
        self.produce();
    }
}

fn flow_events(log: &Log) -> Vec<Ev> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Ev::Pause | Ev::Resume))
        .cloned()
        .collect()
}

#[test]
fn a_client_that_never_reads_pauses_writing_and_the_buffer_stays_bounded() {
    tulipa::run(async {
        let server_log = log();
        let max = Arc::new(Mutex::new(0));
        let transports: Arc<Mutex<Vec<Transport>>> = Arc::default();
        let (l, m) = (server_log.clone(), max.clone());
        let server = create_server(
            move || Producer {
                log: l.clone(),
                transport: None,
                sent: 0,
                max_buffered: m.clone(),
                close_when_done: true,
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let client = small_window_client(server.local_addr().unwrap());
        until("pause_writing fired", || {
            flow_events(&server_log).first() == Some(&Ev::Pause)
        })
        .await;
        let _ = &transports;
        let (low, high) = (
            tulipa_net::protocol::DEFAULT_LOW_WATER,
            tulipa_net::protocol::DEFAULT_HIGH_WATER,
        );
        assert!(low < high);
        let bound = high + CHUNK;
        assert!(
            *max.lock().unwrap() <= bound,
            "the buffer grew to {} bytes, past {bound}",
            max.lock().unwrap()
        );
        // Now read everything: writing resumes until all is sent, in order.
        let reader = std::thread::spawn(move || {
            let mut client = client;
            client
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let mut got = Vec::with_capacity(TOTAL);
            client.read_to_end(&mut got).unwrap();
            got
        });
        until("the producer finished", || lost_count(&server_log) == 1).await;
        let got = reader.join().unwrap();
        assert_eq!(got.len(), TOTAL);
        assert!(got.iter().enumerate().all(|(i, b)| *b == i as u8));
        let flow = flow_events(&server_log);
        assert!(flow.len() >= 2, "{flow:?}");
        for (i, e) in flow.iter().enumerate() {
            let want = if i % 2 == 0 { Ev::Pause } else { Ev::Resume };
            assert_eq!(*e, want, "pause and resume alternate: {flow:?}");
        }
        assert!(*max.lock().unwrap() <= bound);
        assert_eq!(server_log.lock().unwrap().last(), Some(&Ev::Lost(None)));
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn abort_drops_the_buffer_and_close_flushes_it() {
    tulipa::run(async {
        let server_log = log();
        let made: Arc<Mutex<Vec<Transport>>> = Arc::default();
        let (l, m) = (server_log.clone(), made.clone());
        let server = create_server(
            move || {
                struct Keep(Log, Arc<Mutex<Vec<Transport>>>);
                impl Protocol for Keep {
                    fn connection_made(&mut self, t: Transport) {
                        self.1.lock().unwrap().push(t);
                    }
                    fn data_received(&mut self, _: &[u8]) {}
                    fn connection_lost(&mut self, err: Option<std::io::Error>) {
                        self.0.lock().unwrap().push(Ev::Lost(err.map(|e| e.kind())));
                    }
                }
                Keep(l.clone(), m.clone())
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();

        // abort: a client that never reads; fill the buffer, abort.
        let slow = small_window_client(addr);
        until("accepted", || made.lock().unwrap().len() == 1).await;
        let t = made.lock().unwrap()[0].clone();
        // More than the kernel takes: the send buffer is at most a few MiB
        // (tcp_wmem) and the client's window is tiny.
        let big = vec![7u8; 16 * 1024 * 1024];
        t.write(&big);
        assert!(
            t.get_write_buffer_size() > 0,
            "16 MiB cannot all fit in the kernel"
        );
        t.abort();
        assert_eq!(t.get_write_buffer_size(), 0);
        assert!(t.is_closing());
        t.wait_closed().await;
        assert_eq!(server_log.lock().unwrap().as_slice(), [Ev::Lost(None)]);
        t.write(b"after abort");
        assert_eq!(
            t.get_write_buffer_size(),
            0,
            "writes after abort are ignored"
        );
        let mut got = Vec::new();
        let _ = (&slow).read_to_end(&mut got);
        assert!(
            got.len() < big.len(),
            "abort must not deliver the whole buffer"
        );

        // close: everything buffered arrives, then EOF.
        let reader = std::net::TcpStream::connect(addr).unwrap();
        until("accepted", || made.lock().unwrap().len() == 2).await;
        let t = made.lock().unwrap()[1].clone();
        t.write(&big);
        t.close();
        let reading = std::thread::spawn(move || {
            let mut reader = reader;
            reader
                .set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let mut got = Vec::new();
            reader.read_to_end(&mut got).unwrap();
            got.len()
        });
        t.wait_closed().await;
        assert_eq!(reading.join().unwrap(), big.len());
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn pause_reading_holds_data_until_resumed() {
    tulipa::run(async {
        let server_log = log();
        let made: Arc<Mutex<Option<Transport>>> = Arc::default();
        let (l, m) = (server_log.clone(), made.clone());
        let server = create_server(
            move || {
                struct Paused(Recorder, Arc<Mutex<Option<Transport>>>);
                impl Protocol for Paused {
                    fn connection_made(&mut self, t: Transport) {
                        t.pause_reading();
                        *self.1.lock().unwrap() = Some(t.clone());
                        self.0.connection_made(t);
                    }
                    fn data_received(&mut self, d: &[u8]) {
                        self.0.data_received(d);
                    }
                    fn connection_lost(&mut self, e: Option<std::io::Error>) {
                        self.0.connection_lost(e);
                    }
                }
                Paused(Recorder::new(&l), m.clone())
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let mut client = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
        until("accepted", || made.lock().unwrap().is_some()).await;
        let t = made.lock().unwrap().clone().unwrap();
        assert!(!t.is_reading());
        client.write_all(b"held").unwrap();
        for _ in 0..20 {
            tulipa::task::yield_now().await;
        }
        assert!(
            data_of(&server_log).is_empty(),
            "paused reading must not deliver data"
        );
        t.resume_reading();
        assert!(t.is_reading());
        until("data arrived after resume", || {
            data_of(&server_log) == b"held"
        })
        .await;
        drop(client);
        until("closed", || lost_count(&server_log) == 1).await;
        assert_order(&server_log);
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn server_close_clients_and_wait_closed() {
    tulipa::run(async {
        let server_log = log();
        let server = echo_server(&server_log).await;
        let addr = server.local_addr().unwrap();
        let clients: Vec<_> = (0..3)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        until("all accepted", || server.connection_count() == 3).await;
        server.close();
        assert!(!server.is_serving());
        let s = server.clone();
        // serve_forever returns once closed.
        s.serve_forever().await;
        server.close_clients();
        server.wait_closed().await;
        assert_eq!(server.connection_count(), 0);
        for mut c in clients {
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut buf = Vec::new();
            assert_eq!(c.read_to_end(&mut buf).unwrap(), 0, "closed by the server");
        }
        // The listener is gone.
        until("the listener closed", || {
            std::net::TcpStream::connect(addr).is_err()
        })
        .await;
        assert_eq!(server.accept_errors(), 0);
    });
}

#[test]
fn many_connections_echo_concurrently() {
    tulipa::run(async {
        let server_log = log();
        let server = echo_server(&server_log).await;
        let addr = server.local_addr().unwrap();
        let mut handles = Vec::new();
        for i in 0..20u8 {
            handles.push(tulipa::spawn(async move {
                let l = log();
                let cl = l.clone();
                let t = create_connection(move || Recorder::new(&cl), addr)
                    .await
                    .unwrap();
                let msg = vec![i; 1000 + i as usize];
                t.write(&msg);
                until("echo", || data_of(&l).len() == msg.len()).await;
                assert_eq!(data_of(&l), msg);
                t.close();
                t.wait_closed().await;
                assert_order(&l);
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn unix_sockets_run_protocols_too() {
    tulipa::run(async {
        let dir = std::env::temp_dir().join(format!("tulipa-proto-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("echo.sock");
        let server_log = log();
        let l = server_log.clone();
        let server = create_unix_server(move || Recorder::new(&l).echo(), &path).unwrap();
        assert!(server.local_addr().is_none());
        assert!(server.addrs()[0].as_unix().is_some());
        let client_log = log();
        let cl = client_log.clone();
        let t = create_unix_connection(move || Recorder::new(&cl), &path)
            .await
            .unwrap();
        t.write(b"over unix");
        until("echo", || data_of(&client_log) == b"over unix").await;
        t.write_eof().unwrap();
        until("server saw eof and closed", || lost_count(&server_log) == 1).await;
        t.wait_closed().await;
        assert_order(&client_log);
        assert_order(&server_log);
        server.close();
        server.wait_closed().await;
        assert!(!path.exists(), "the socket file is removed on close");
        let _ = std::fs::remove_dir(&dir);
    });
}

#[test]
fn outside_a_runtime_it_fails_clearly() {
    let err =
        futures_lite::future::block_on(create_connection(|| Recorder::new(&log()), "127.0.0.1:9"))
            .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    assert!(err.to_string().contains("runtime"), "{err}");
}

#[test]
fn write_buffer_limits_follow_asyncio() {
    tulipa::run(async {
        let server_log = log();
        let server = echo_server(&server_log).await;
        let t = create_connection(|| Recorder::new(&log()), server.local_addr().unwrap())
            .await
            .unwrap();
        assert_eq!(t.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
        t.set_write_buffer_limits(Some(1000), None).unwrap();
        assert_eq!(t.get_write_buffer_limits(), (250, 1000));
        t.set_write_buffer_limits(None, Some(100)).unwrap();
        assert_eq!(t.get_write_buffer_limits(), (100, 400));
        let err = t.set_write_buffer_limits(Some(1), Some(2)).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        t.set_write_buffer_limits(None, None).unwrap();
        assert_eq!(t.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
        t.abort();
        t.wait_closed().await;
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Transport>();
    check::<Server>();
    check::<tulipa_net::protocol::DatagramTransport>();
    check::<tulipa_net::protocol::SocketAddress>();
}

#[test]
fn a_panicking_callback_ends_only_its_connection() {
    tulipa::run(async {
        struct Bomb(Option<Transport>);
        impl Protocol for Bomb {
            fn connection_made(&mut self, t: Transport) {
                self.0 = Some(t);
            }
            fn data_received(&mut self, data: &[u8]) {
                if data.starts_with(b"boom") {
                    panic!("the protocol failed on purpose (test)");
                }
                self.0.as_ref().unwrap().write(data);
            }
        }
        let server = create_server(|| Bomb(None), "127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let mut good = std::net::TcpStream::connect(addr).unwrap();
        let mut bad = std::net::TcpStream::connect(addr).unwrap();
        bad.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        good.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        until("both accepted", || server.connection_count() == 2).await;
        bad.write_all(b"boom").unwrap();
        // The panicking connection is closed (and forgotten by the server).
        let mut rest = Vec::new();
        let _ = bad.read_to_end(&mut rest);
        assert!(rest.is_empty());
        until("the server forgot it", || server.connection_count() == 1).await;
        good.write_all(b"fine").unwrap();
        let mut buf = [0; 4];
        good.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"fine");
        drop(good);
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn connect_accepted_socket_runs_a_protocol_on_a_std_stream() {
    tulipa::run(async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let log = log();
        let l = log.clone();
        let t = tulipa_net::protocol::connect_accepted_socket(
            move || Recorder::new(&l).echo(),
            accepted,
        )
        .unwrap();
        assert_eq!(
            t.peer_addr().unwrap().as_inet(),
            Some(peer.local_addr().unwrap())
        );
        peer.write_all(b"ping").unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0; 4];
        peer.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        drop(peer);
        t.wait_closed().await;
        assert_order(&log);
    });
}

/// Counts `connection_lost` calls; panics in `data_received` on "boom"
/// and, if asked, in `connection_lost` itself.
struct Fragile {
    lost: Arc<Mutex<Vec<Option<std::io::ErrorKind>>>>,
    panic_in_lost: bool,
}

impl Protocol for Fragile {
    fn data_received(&mut self, data: &[u8]) {
        if data.starts_with(b"boom") {
            panic!("the protocol failed on purpose (test)");
        }
    }
    fn connection_lost(&mut self, err: Option<std::io::Error>) {
        self.lost.lock().unwrap().push(err.map(|e| e.kind()));
        if self.panic_in_lost {
            panic!("connection_lost failed on purpose (test)");
        }
    }
}

#[test]
fn no_callback_runs_after_a_callback_panicked() {
    tulipa::run(async {
        let lost = Arc::new(Mutex::new(Vec::new()));
        let l = lost.clone();
        let server = create_server(
            move || Fragile {
                lost: l.clone(),
                panic_in_lost: false,
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let mut bad = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
        bad.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        until("accepted", || server.connection_count() == 1).await;
        bad.write_all(b"boom").unwrap();
        let mut rest = Vec::new();
        let _ = bad.read_to_end(&mut rest);
        until("the server forgot it", || server.connection_count() == 0).await;
        // The module docs promise no callback into a protocol whose
        // callback panicked (it was not told "the runtime shut down").
        assert!(lost.lock().unwrap().is_empty());
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn a_panicking_connection_lost_still_ends_the_connection_for_waiters() {
    tulipa::run(async {
        let lost = Arc::new(Mutex::new(Vec::new()));
        let l = lost.clone();
        let server = create_server(
            move || Fragile {
                lost: l.clone(),
                panic_in_lost: true,
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let peer = std::net::TcpStream::connect(addr).unwrap();
        until("accepted", || server.connection_count() == 1).await;
        drop(peer);
        // Server side: its connection_lost panics, yet the server forgets
        // the connection and wait_closed returns.
        until("the server forgot it", || server.connection_count() == 0).await;
        server.close();
        tulipa::time::timeout(Duration::from_secs(10), server.wait_closed())
            .await
            .expect("server.wait_closed hung after a panicking connection_lost");

        // Client side: Transport::wait_closed returns too.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let l = lost.clone();
        let t = create_connection(
            move || Fragile {
                lost: l,
                panic_in_lost: true,
            },
            listener.local_addr().unwrap(),
        )
        .await
        .unwrap();
        t.close();
        tulipa::time::timeout(Duration::from_secs(10), t.wait_closed())
            .await
            .expect("transport.wait_closed hung after a panicking connection_lost");
        assert!(t.is_closing());
        assert_eq!(lost.lock().unwrap().len(), 2);
    });
}

#[test]
fn create_unix_connection_to_a_full_backlog_fails_instead_of_returning_an_unconnected_transport() {
    tulipa::run(async {
        let dir = std::env::temp_dir().join(format!("tulipa-proto-full-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("full.sock");
        let _ = std::fs::remove_file(&path);
        // A listener with a backlog of 0 that never accepts: once one
        // connection waits in its queue, a non-blocking connect says
        // EAGAIN (nothing is in progress; the socket is not connected).
        let listener =
            socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
        listener
            .bind(&socket2::SockAddr::unix(&path).unwrap())
            .unwrap();
        listener.listen(0).unwrap();
        let mut queued = Vec::new();
        let mut full = false;
        for _ in 0..64 {
            let s = socket2::Socket::new(
                socket2::Domain::UNIX,
                socket2::Type::STREAM.nonblocking(),
                None,
            )
            .unwrap();
            match s.connect(&socket2::SockAddr::unix(&path).unwrap()) {
                Ok(()) => queued.push(s),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    full = true;
                    break;
                }
                Err(e) => panic!("unexpected connect error: {e}"),
            }
        }
        assert!(full, "the backlog never filled up");
        let log = log();
        let l = log.clone();
        match create_unix_connection(move || Recorder::new(&l), &path).await {
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e}"),
            Ok(t) => {
                t.abort();
                t.wait_closed().await;
                panic!("create_unix_connection returned an unconnected transport: {log:?}");
            }
        }
        assert!(log.lock().unwrap().is_empty(), "the factory was called");
        drop(queued);
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn a_panicking_factory_fails_only_its_connection_and_the_server_keeps_accepting() {
    tulipa::run(async {
        let calls = Arc::new(Mutex::new(0));
        let c = calls.clone();
        let log = log();
        let l = log.clone();
        let server = create_server(
            move || {
                let n = {
                    let mut calls = c.lock().unwrap();
                    *calls += 1;
                    *calls
                };
                if n == 1 {
                    panic!("the factory failed on purpose (test)");
                }
                Recorder::new(&l).echo()
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        let mut first = std::net::TcpStream::connect(addr).unwrap();
        first
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut rest = Vec::new();
        // Its connection is closed without a protocol.
        let _ = first.read_to_end(&mut rest);
        assert!(rest.is_empty());
        assert!(server.is_serving());
        let mut second = std::net::TcpStream::connect(addr).unwrap();
        second
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        second.write_all(b"still serving").unwrap();
        let mut buf = [0; 13];
        second.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"still serving");
        drop(second);
        until("the echo connection ended", || lost_count(&log) == 1).await;
        server.close();
        server.wait_closed().await;
    });
}
