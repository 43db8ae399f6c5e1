//! asyncio's UDP echo server and client, in datagram-protocol style.
//!
//! The asyncio documentation's "UDP Echo Server" and "UDP Echo Client"
//! examples, both in one program: the server is an endpoint bound to a
//! local address whose `DatagramProtocol` sends every datagram back to
//! where it came from; the client is an endpoint connected to the server
//! (asyncio's `remote_addr=`) that sends one message in `connection_made`,
//! prints the echo, and closes itself. In asyncio the client's `main`
//! awaits an `on_con_lost` future that `connection_lost` resolves; here
//! [`DatagramTransport::wait_closed`] is that future. The server binds an
//! ephemeral port instead of 9999, so the program runs anywhere, and it
//! closes once the client is done instead of sleeping for an hour, so the
//! program ends by itself.
//!
//! Run it with `cargo run -p tulipa --example udp_echo`.

use std::io;
use std::net::SocketAddr;

use tulipa::net::protocol::{create_datagram_endpoint, DatagramProtocol, DatagramTransport};

/// The server side: send every datagram back to its sender.
struct EchoServerProtocol {
    transport: Option<DatagramTransport>,
}

impl DatagramProtocol for EchoServerProtocol {
    fn connection_made(&mut self, transport: DatagramTransport) {
        self.transport = Some(transport);
    }

    fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
        let message = String::from_utf8_lossy(data);
        println!("Received {message:?} from {addr}");
        println!("Send {message:?} to {addr}");
        if let Some(transport) = &self.transport {
            // Only fails for a connected endpoint sent elsewhere; this one
            // is not connected.
            let _ = transport.send_to(data, addr);
        }
    }
}

/// The client side: send one message, print the echo, close.
struct EchoClientProtocol {
    message: &'static str,
    transport: Option<DatagramTransport>,
}

impl DatagramProtocol for EchoClientProtocol {
    fn connection_made(&mut self, transport: DatagramTransport) {
        println!("Send: {}", self.message);
        // Connected to the server: `send` is asyncio's `sendto(data)`
        // without an address.
        if let Err(e) = transport.send(self.message.as_bytes()) {
            println!("Error: {e}");
        }
        self.transport = Some(transport);
    }

    fn datagram_received(&mut self, data: &[u8], _addr: SocketAddr) {
        println!("Received: {}", String::from_utf8_lossy(data));
        println!("Close the socket");
        if let Some(transport) = &self.transport {
            transport.close();
        }
    }

    fn error_received(&mut self, err: io::Error) {
        println!("Error received: {err}");
    }

    fn connection_lost(&mut self, _err: Option<io::Error>) {
        println!("Connection closed");
    }
}

#[tulipa::main]
async fn main() -> io::Result<()> {
    println!("Starting UDP server");
    let local: SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
    let server =
        create_datagram_endpoint(|| EchoServerProtocol { transport: None }, Some(local), None)?;
    let client = create_datagram_endpoint(
        || EchoClientProtocol {
            message: "Hello World!",
            transport: None,
        },
        None,
        server.local_addr(),
    )?;
    // asyncio's `await on_con_lost`.
    client.wait_closed().await;
    server.close();
    server.wait_closed().await;
    Ok(())
}
