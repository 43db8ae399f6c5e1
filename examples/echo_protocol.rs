//! asyncio's transports-and-protocols echo server and client, in tulipa.
//!
//! It mirrors the asyncio documentation's "TCP Echo Server" and "TCP Echo
//! Client" protocol examples:
//!
//! ```python
//! class EchoServerProtocol(asyncio.Protocol):
//!     def connection_made(self, transport):
//!         print(f"Connection from {transport.get_extra_info('peername')}")
//!         self.transport = transport
//!
//!     def data_received(self, data):
//!         print(f"Data received: {data.decode()!r}")
//!         print(f"Send: {data.decode()!r}")
//!         self.transport.write(data)
//!         print("Close the client socket")
//!         self.transport.close()
//!
//! class EchoClientProtocol(asyncio.Protocol):
//!     def __init__(self, message, on_con_lost):
//!         self.message = message
//!         self.on_con_lost = on_con_lost
//!
//!     def connection_made(self, transport):
//!         transport.write(self.message.encode())
//!         print(f"Data sent: {self.message!r}")
//!
//!     def data_received(self, data):
//!         print(f"Data received: {data.decode()!r}")
//!
//!     def connection_lost(self, exc):
//!         print("The server closed the connection")
//!         self.on_con_lost.set_result(True)
//!
//! async def main():
//!     loop = asyncio.get_running_loop()
//!     server = await loop.create_server(EchoServerProtocol, "127.0.0.1", 0)
//!     port = server.sockets[0].getsockname()[1]
//!     on_con_lost = loop.create_future()
//!     transport, protocol = await loop.create_connection(
//!         lambda: EchoClientProtocol("Hello World!", on_con_lost), "127.0.0.1", port)
//!     try:
//!         await on_con_lost
//!     finally:
//!         transport.close()
//!
//! asyncio.run(main())
//! ```
//!
//! In tulipa the protocol lives in its connection's driver task, so
//! `create_connection` hands back only the transport; `wait_closed` plays
//! the part of `on_con_lost`.
//!
//! Run it with `cargo run -p tulipa --example echo_protocol`.

use std::io;

use tulipa::net::protocol::{create_connection, create_server, Protocol, Transport};

/// The server side: echo what arrives, then close.
struct EchoServerProtocol {
    transport: Option<Transport>,
}

impl Protocol for EchoServerProtocol {
    fn connection_made(&mut self, transport: Transport) {
        if let Some(peer) = transport.peer_addr() {
            println!("Connection from {peer}");
        }
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        let message = String::from_utf8_lossy(data);
        println!("Data received: {message:?}");
        println!("Send: {message:?}");
        let Some(transport) = &self.transport else {
            return;
        };
        transport.write(data);
        println!("Close the client socket");
        transport.close();
    }
}

/// The client side: send one message, print what comes back.
struct EchoClientProtocol {
    message: &'static str,
}

impl Protocol for EchoClientProtocol {
    fn connection_made(&mut self, transport: Transport) {
        transport.write(self.message.as_bytes());
        println!("Data sent: {:?}", self.message);
    }

    fn data_received(&mut self, data: &[u8]) {
        println!("Data received: {:?}", String::from_utf8_lossy(data));
    }

    fn connection_lost(&mut self, _err: Option<io::Error>) {
        println!("The server closed the connection");
    }
}

#[tulipa::main]
async fn main() -> io::Result<()> {
    let server = create_server(|| EchoServerProtocol { transport: None }, "127.0.0.1:0").await?;
    let addr = server
        .local_addr()
        .expect("the server listens on an IP address");
    let transport = create_connection(
        || EchoClientProtocol {
            message: "Hello World!",
        },
        addr,
    )
    .await?;
    // asyncio's `await on_con_lost`.
    transport.wait_closed().await;
    server.close();
    server.wait_closed().await;
    Ok(())
}
