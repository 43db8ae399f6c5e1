//! TLS over streams (feature `tls`): handshakes, data both ways, close,
//! certificate checks, ALPN/SNI facts, `start_tls`, ragged EOF. The
//! certificates are generated at run time with rcgen.

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tulipa_net::tls::{
    open_tls_connection, rustls, start_tls, start_tls_server, TlsAcceptor, TlsConnector, TlsReader,
    TlsStream, TlsWriter,
};
use tulipa_net::{open_connection, TcpListener, TcpStream};

struct Pki {
    cert: CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
    key_der: Vec<u8>,
}

fn pki(names: &[&str]) -> Pki {
    let ck =
        rcgen::generate_simple_self_signed(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    Pki {
        cert: ck.cert.der().clone(),
        cert_pem: ck.cert.pem(),
        key_pem: ck.key_pair.serialize_pem(),
        key_der: ck.key_pair.serialize_der(),
    }
}

async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = tulipa::spawn(async move { TcpStream::connect(addr).await.unwrap() });
    let (server, _) = listener.accept().await.unwrap();
    (client.await.unwrap(), server)
}

#[test]
fn data_flows_both_ways_and_close_notify_ends_the_stream() {
    tulipa::run(async {
        let pki = pki(&["localhost"]);
        let acceptor = TlsAcceptor::from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes())
            .unwrap()
            .with_alpn_protocols(&[b"h2", b"tulipa/1"]);
        let connector = TlsConnector::with_root_certificates([pki.cert.clone()])
            .unwrap()
            .with_alpn_protocols(&[b"tulipa/1"]);
        let (client, server) = pair().await;
        let server = tulipa::spawn(async move {
            let mut tls = acceptor.accept(server).await.unwrap();
            let info = tls.info();
            assert_eq!(info.server_name(), Some("localhost"));
            assert_eq!(info.alpn_protocol(), Some(&b"tulipa/1"[..]));
            assert!(info.peer_certificates().is_empty(), "no client certificate");
            // Echo until the client's close_notify.
            let mut buf = vec![0; 16 * 1024];
            let mut total = 0;
            loop {
                let n = tls.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                total += n;
                tls.write_all(&buf[..n]).await.unwrap();
            }
            tls.close().await.unwrap();
            total
        });
        let mut tls = connector.connect("localhost", client).await.unwrap();
        let info = tls.info();
        assert_eq!(
            info.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        assert_eq!(info.alpn_protocol(), Some(&b"tulipa/1"[..]));
        assert_eq!(info.peer_certificates(), std::slice::from_ref(&pki.cert));
        assert!(info.cipher_suite().is_some());
        let payload: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let (mut r, mut w) = futures_lite::io::split(&mut tls);
        let send = async {
            w.write_all(&payload).await.unwrap();
            w.flush().await.unwrap();
        };
        let recv = async {
            let mut got = vec![0; payload.len()];
            r.read_exact(&mut got).await.unwrap();
            got
        };
        let ((), got) = futures_lite::future::zip(send, recv).await;
        assert!(got == payload, "the echo differs");
        tls.close().await.unwrap();
        let mut rest = Vec::new();
        assert_eq!(
            tls.read_to_end(&mut rest).await.unwrap(),
            0,
            "EOF after close_notify"
        );
        assert_eq!(server.await.unwrap(), payload.len());
    });
}

#[test]
fn untrusted_or_misnamed_certificates_fail_the_handshake() {
    tulipa::run(async {
        let pki = pki(&["localhost"]);
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.key_der.clone()));
        let acceptor = TlsAcceptor::from_single_cert(vec![pki.cert.clone()], key).unwrap();
        // Trusts another CA.
        let stranger =
            TlsConnector::with_root_certificates([self::pki(&["localhost"]).cert]).unwrap();
        let trusting = TlsConnector::with_root_certificates([pki.cert.clone()]).unwrap();
        for (connector, name) in [(stranger, "localhost"), (trusting, "example.com")] {
            let (client, server) = pair().await;
            let acceptor = acceptor.clone();
            let server = tulipa::spawn(async move { acceptor.accept(server).await.map(|_| ()) });
            let err = connector.connect(name, client).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
            assert!(err.to_string().contains("handshake"), "{err}");
            assert!(
                server.await.unwrap().is_err(),
                "the server sees the failure too"
            );
        }
        let connector = TlsConnector::with_root_certificates([pki.cert.clone()]).unwrap();
        let (client, _server) = pair().await;
        let err = connector.connect("not a name!", client).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let err = TlsAcceptor::from_pem(b"nothing here", pki.key_pem.as_bytes()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    });
}

#[test]
fn start_tls_upgrades_a_plain_conversation() {
    tulipa::run(async {
        let pki = pki(&["localhost"]);
        let acceptor =
            TlsAcceptor::from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
        let connector = TlsConnector::with_root_certificates([pki.cert.clone()]).unwrap();
        let (mut client, mut server) = pair().await;
        let server = tulipa::spawn(async move {
            let mut line = [0; 9];
            server.read_exact(&mut line).await.unwrap();
            assert_eq!(&line, b"STARTTLS\n");
            server.write_all(b"GO\n").await.unwrap();
            let mut tls = acceptor.accept(server).await.unwrap();
            let mut secret = [0; 6];
            tls.read_exact(&mut secret).await.unwrap();
            tls.write_all(b"ack").await.unwrap();
            tls.close().await.unwrap();
            secret
        });
        client.write_all(b"STARTTLS\n").await.unwrap();
        let mut go = [0; 3];
        client.read_exact(&mut go).await.unwrap();
        assert_eq!(&go, b"GO\n");
        let mut tls: TlsStream<TcpStream> =
            start_tls(client, &connector, "localhost").await.unwrap();
        tls.write_all(b"secret").await.unwrap();
        tls.flush().await.unwrap();
        let mut ack = Vec::new();
        tls.read_to_end(&mut ack).await.unwrap();
        assert_eq!(ack, b"ack");
        assert_eq!(&server.await.unwrap(), b"secret");
    });
}

#[test]
fn a_tcp_close_without_close_notify_reads_as_eof() {
    tulipa::run(async {
        let pki = pki(&["127.0.0.1"]);
        let acceptor =
            TlsAcceptor::from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
        let connector = TlsConnector::with_root_certificates([pki.cert.clone()]).unwrap();
        let (client, server) = pair().await;
        let server = tulipa::spawn(async move {
            let mut tls = acceptor.accept(server).await.unwrap();
            tls.write_all(b"last words").await.unwrap();
            tls.flush().await.unwrap();
            // Dropped without close(): TCP FIN, no close_notify.
        });
        // An IP address is a valid server name too.
        let mut tls = connector.connect("127.0.0.1", client).await.unwrap();
        server.await.unwrap();
        let mut got = Vec::new();
        tls.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last words");
    });
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TlsAcceptor>();
    send_sync::<TlsConnector>();
    send_sync::<TlsStream<TcpStream>>();
    send_sync::<tulipa_net::tls::TlsInfo>();
}

#[test]
fn the_streams_api_runs_over_tls() {
    use tulipa_net::stream::{StreamReader, StreamWriter};
    tulipa::run(async {
        let pki = pki(&["localhost"]);
        let acceptor =
            TlsAcceptor::from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
        let connector = TlsConnector::with_root_certificates([pki.cert.clone()]).unwrap();
        let (client, server) = pair().await;
        let server = tulipa::spawn(async move {
            let tls = acceptor.accept(server).await.unwrap();
            let (r, w) = futures_lite::io::split(tls);
            let (mut reader, mut writer) = (StreamReader::new(r), StreamWriter::new(w));
            let mut lines = 0;
            loop {
                let line = reader.read_line().await.unwrap();
                if line.is_empty() {
                    break;
                }
                lines += 1;
                writer.write(b"echo: ").unwrap();
                writer.write(&line).unwrap();
                writer.drain().await.unwrap();
            }
            writer.close();
            writer.wait_closed().await.unwrap();
            lines
        });
        let tls = connector.connect("localhost", client).await.unwrap();
        let (r, w) = futures_lite::io::split(tls);
        let (mut reader, mut writer) = (StreamReader::new(r), StreamWriter::new(w));
        for i in 0..3 {
            writer.write(format!("line {i}\n").as_bytes()).unwrap();
            writer.drain().await.unwrap();
            let back = reader.read_line().await.unwrap();
            assert_eq!(back, format!("echo: line {i}\n").as_bytes());
        }
        writer.close();
        writer.wait_closed().await.unwrap();
        assert_eq!(reader.read_to_end().await.unwrap(), b"");
        assert_eq!(server.await.unwrap(), 3);
    });
}

fn runtimes() -> Vec<tulipa::Runtime> {
    vec![
        tulipa::Runtime::builder().current_thread().build().unwrap(),
        tulipa::Runtime::builder()
            .multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ]
}

fn tls_pair(names: &[&str]) -> (Pki, TlsAcceptor, TlsConnector) {
    let pki = pki(names);
    let acceptor = TlsAcceptor::from_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
    let connector = TlsConnector::with_root_certificates([pki.cert.clone()]).unwrap();
    (pki, acceptor, connector)
}

async fn tls_echo(mut reader: TlsReader, mut writer: TlsWriter) {
    assert_eq!(writer.get_ref().info().server_name(), Some("localhost"));
    // A connection task named after its server and peer, located here.
    let task = tulipa::task::current().unwrap();
    assert!(
        task.name()
            .unwrap()
            .contains(": connection from 127.0.0.1:"),
        "{task:?}"
    );
    assert_eq!(task.location().file(), file!());
    while let Ok(line) = reader.read_line().await {
        if line.is_empty() || writer.write(&line).is_err() || writer.drain().await.is_err() {
            break;
        }
    }
    let _ = writer.wait_closed().await;
}

/// Issue 13: asyncio's `open_connection(ssl=)` and `start_server(ssl=)`;
/// one task writes a megabyte while another reads the echo, over the two
/// halves of one TLS session.
#[test]
fn open_tls_connection_to_start_tls_server_with_reader_and_writer_in_two_tasks() {
    for rt in runtimes() {
        rt.block_on(async {
            let (pki, acceptor, connector) = tls_pair(&["localhost"]);
            let server = start_tls_server("127.0.0.1:0", acceptor, tls_echo)
                .await
                .unwrap();
            let addr = server.local_addr().unwrap();
            let (mut reader, mut writer) = open_tls_connection(addr, &connector, "localhost")
                .await
                .unwrap();
            assert_eq!(
                writer.get_ref().info().peer_certificates(),
                std::slice::from_ref(&pki.cert)
            );
            assert_eq!(writer.get_ref().peer_addr().unwrap(), addr);
            let lines: Vec<Vec<u8>> = (0..10_000)
                .map(|i| format!("line {i} {}\n", "x".repeat(i % 200)).into_bytes())
                .collect();
            let expected: Vec<u8> = lines.concat();
            let sender = tulipa::spawn(async move {
                for line in &lines {
                    writer.write(line).unwrap();
                    writer.drain().await.unwrap();
                }
                writer
            });
            let mut got = Vec::new();
            while got.len() < expected.len() {
                let line = reader.read_line().await.unwrap();
                assert!(!line.is_empty(), "early end after {} bytes", got.len());
                got.extend_from_slice(&line);
            }
            assert_eq!(got, expected);
            let mut writer = sender.await.unwrap();
            writer.close();
            writer.wait_closed().await.unwrap();
            // Closing the writer closed the connection: our reader ends.
            assert_eq!(reader.read_line().await.unwrap(), b"");
            assert!(reader.at_eof());
            server.close();
            server.wait_closed().await;
        });
    }
}

/// A client that fails the handshake never reaches the handler, and the
/// server goes on.
#[test]
fn a_failed_handshake_does_not_reach_the_handler() {
    for rt in runtimes() {
        rt.block_on(async {
            let (_pki, acceptor, connector) = tls_pair(&["localhost"]);
            let (_other, _, untrusting) = tls_pair(&["localhost"]);
            let server = start_tls_server("127.0.0.1:0", acceptor, tls_echo)
                .await
                .unwrap();
            let addr = server.local_addr().unwrap();
            let err = open_tls_connection(addr, &untrusting, "localhost")
                .await
                .unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");
            let (mut reader, mut writer) = open_tls_connection(addr, &connector, "localhost")
                .await
                .unwrap();
            writer.write(b"still here\n").unwrap();
            writer.drain().await.unwrap();
            assert_eq!(reader.read_line().await.unwrap(), b"still here\n");
            server.close();
            writer.close();
            writer.wait_closed().await.unwrap();
            server.wait_closed().await;
        });
    }
}

/// Issue 13: `StreamWriter::start_tls` upgrades an open stream pair (a
/// STARTTLS conversation), on both sides, keeping the reader's limit.
#[test]
fn start_tls_upgrades_an_open_stream_pair() {
    for rt in runtimes() {
        rt.block_on(async {
            let (_pki, acceptor, connector) = tls_pair(&["localhost"]);
            let server = tulipa_net::start_server("127.0.0.1:0", move |mut r, mut w| {
                let acceptor = acceptor.clone();
                async move {
                    assert_eq!(r.read_line().await.unwrap(), b"STARTTLS\n");
                    w.write(b"GO\n").unwrap();
                    let (r, w) = w.start_tls_server(r, &acceptor).await.unwrap();
                    tls_echo(r, w).await;
                }
            })
            .await
            .unwrap();
            let (mut reader, mut writer) =
                open_connection(server.local_addr().unwrap()).await.unwrap();
            reader.set_limit(100);
            writer.write(b"STARTTLS\n").unwrap();
            writer.drain().await.unwrap();
            assert_eq!(reader.read_line().await.unwrap(), b"GO\n");
            let (mut reader, mut writer) = writer
                .start_tls(reader, &connector, "localhost")
                .await
                .unwrap();
            assert_eq!(reader.limit(), 100);
            assert!(writer.get_ref().info().protocol_version().is_some());
            writer.write(b"secret\n").unwrap();
            writer.drain().await.unwrap();
            assert_eq!(reader.read_line().await.unwrap(), b"secret\n");
            writer.close();
            writer.wait_closed().await.unwrap();
            assert_eq!(reader.read_line().await.unwrap(), b"");
            server.close();
            server.wait_closed().await;
        });
    }
}

/// Bytes that arrived in plain text before the handshake are refused, not
/// taken as if they came through TLS (a STARTTLS injection).
#[test]
fn start_tls_refuses_plain_bytes_still_unread() {
    for rt in runtimes() {
        rt.block_on(async {
            let (_pki, acceptor, _connector) = tls_pair(&["localhost"]);
            let (a, b) = tulipa_net::UnixStream::pair().unwrap();
            let (mut reader, writer) = tulipa_net::stream::from_unix(a);
            let (_rb, mut wb) = tulipa_net::stream::from_unix(b);
            wb.write(b"STARTTLS\nINJECTED").unwrap();
            wb.drain().await.unwrap();
            assert_eq!(reader.read_line().await.unwrap(), b"STARTTLS\n");
            let err = writer
                .start_tls_server(reader, &acceptor)
                .await
                .unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
            assert!(
                err.to_string().contains("8 bytes arrived in plain text"),
                "{err}"
            );
        });
    }
}

#[test]
fn tls_stream_halves_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TlsReader>();
    send_sync::<TlsWriter>();
    fn send<T: Send>(_: &T) {}
    let (_pki, acceptor, connector) = tls_pair(&["localhost"]);
    send(&start_tls_server("127.0.0.1:0", acceptor, tls_echo));
    send(&open_tls_connection("127.0.0.1:1", &connector, "localhost"));
}
