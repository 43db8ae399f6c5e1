//! asyncio's streams echo server and client, side by side.
//!
//! It mirrors the asyncio documentation's "TCP echo server/client using
//! streams":
//!
//! ```python
//! import asyncio
//!
//! async def handle_echo(reader, writer):
//!     data = await reader.readline()
//!     addr = writer.get_extra_info("peername")
//!     print(f"received {data!r} from {addr}")
//!     writer.write(data)
//!     await writer.drain()
//!     writer.close()
//!     await writer.wait_closed()
//!
//! async def tcp_echo_client(message, port):
//!     reader, writer = await asyncio.open_connection("127.0.0.1", port)
//!     writer.write(message.encode())
//!     await writer.drain()
//!     data = await reader.readline()
//!     print(f"client got {data.decode()!r}")
//!     writer.close()
//!     await writer.wait_closed()
//!
//! async def main():
//!     server = await asyncio.start_server(handle_echo, "127.0.0.1", 0)
//!     port = server.sockets[0].getsockname()[1]
//!     async with server:
//!         await asyncio.gather(*(tcp_echo_client(f"hello {i}\n", port) for i in range(3)))
//!
//! asyncio.run(main())
//! ```
//!
//! Run it with `cargo run -p tulipa --example echo_streams`.

use std::io;

use tulipa::net::stream::{TcpReader, TcpWriter};
use tulipa::net::{open_connection, start_server};

/// One connection: read a line, echo it, close (asyncio's `handle_echo`).
async fn handle_echo(mut reader: TcpReader, mut writer: TcpWriter) {
    let result: io::Result<()> = async {
        let data = reader.read_line().await?;
        let addr = writer.peer_addr()?;
        println!(
            "server: received {:?} from {addr}",
            String::from_utf8_lossy(&data)
        );
        writer.write(&data)?;
        writer.drain().await?;
        writer.close();
        writer.wait_closed().await
    }
    .await;
    if let Err(e) = result {
        eprintln!("server: connection failed: {e}");
    }
}

/// A client: send one line, print the echo (asyncio's `tcp_echo_client`).
async fn echo_client(message: String, port: u16) -> io::Result<String> {
    let (mut reader, mut writer) = open_connection(("127.0.0.1", port)).await?;
    writer.write(message.as_bytes())?;
    writer.drain().await?;
    let data = reader.read_line().await?;
    writer.close();
    writer.wait_closed().await?;
    Ok(String::from_utf8_lossy(&data).into_owned())
}

#[tulipa::main]
async fn main() -> io::Result<()> {
    let server = start_server("127.0.0.1:0", handle_echo).await?;
    let addr = server.local_addr().expect("a TCP server has an IP address");
    let port = addr.port();
    println!("serving on {addr}");

    let clients: Vec<_> = (0..3)
        .map(|i| tulipa::spawn(echo_client(format!("hello {i}\n"), port)))
        .collect();
    for client in clients {
        let reply = client.await.expect("the client task panicked")?;
        println!("client: got {reply:?}");
    }

    // `async with server:` closes the server on exit; so do we.
    server.close();
    server.wait_closed().await;
    Ok(())
}
