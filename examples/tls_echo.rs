//! The echo protocols over TLS: `create_tls_server` and
//! `create_tls_connection` (asyncio's `create_server(..., ssl=ctx)` and
//! `create_connection(..., ssl=ctx, server_hostname=...)`), then the same
//! over the streams API with `TlsConnector::connect` / `start_tls`.
//!
//! The certificate is made at run time with rcgen (self-signed, for
//! `localhost`); the client trusts exactly that certificate. Nothing
//! secret is stored anywhere.
//!
//! It needs the `tls` feature of tulipa-net:
//! `cargo run -p tulipa-net --features tls --example tls_echo`.

use std::io;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tulipa_net::protocol::{create_tls_connection, create_tls_server, Protocol, Transport};
use tulipa_net::tls::{TlsAcceptor, TlsConnector};

/// Echoes every byte back.
struct Echo(Option<Transport>);

impl Protocol for Echo {
    fn connection_made(&mut self, transport: Transport) {
        if let Some(info) = transport.tls_info() {
            println!(
                "server: TLS with {:?}, {:?}, client asked for {:?}",
                info.protocol_version(),
                info.cipher_suite(),
                info.server_name()
            );
        }
        self.0 = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        if let Some(t) = &self.0 {
            t.write(data);
        }
    }
}

/// Sends one line and closes after the echo.
struct Client {
    transport: Option<Transport>,
}

impl Protocol for Client {
    fn connection_made(&mut self, transport: Transport) {
        transport.write(b"hello over TLS\n");
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        print!("client got: {}", String::from_utf8_lossy(data));
        if let Some(t) = &self.transport {
            t.close();
        }
    }

    fn connection_lost(&mut self, err: Option<io::Error>) {
        println!("client: connection closed ({err:?})");
    }
}

fn main() -> io::Result<()> {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .map_err(io::Error::other)?;
    let acceptor = TlsAcceptor::from_pem(
        cert.cert.pem().as_bytes(),
        cert.key_pair.serialize_pem().as_bytes(),
    )?;
    let connector = TlsConnector::with_root_certificates([cert.cert.der().clone()])?;

    tulipa::run(async {
        // Protocols.
        let server = create_tls_server(|| Echo(None), "127.0.0.1:0", acceptor.clone()).await?;
        let addr = server.local_addr().expect("an IP listener");
        let transport =
            create_tls_connection(|| Client { transport: None }, addr, &connector, "localhost")
                .await?;
        transport.wait_closed().await;

        // Streams: a plain TcpStream upgraded on the client side.
        let stream = tulipa_net::TcpStream::connect(addr).await?;
        let mut tls = connector.connect("localhost", stream).await?;
        tls.write_all(b"hello over a TLS stream\n").await?;
        let mut line = vec![0; 24];
        tls.read_exact(&mut line).await?;
        print!("stream client got: {}", String::from_utf8_lossy(&line));
        tls.close().await?;

        server.close();
        server.close_clients();
        server.wait_closed().await;
        Ok(())
    })
}
