//! A line-based chat server on asyncio streams: every line a client sends
//! reaches every other connected client, through a broadcast channel.
//!
//! The asyncio program it follows:
//!
//! ```python
//! async def handle(reader, writer):
//!     writer.write(b"your name? "); name = (await reader.readline()).decode().strip()
//!     queue = hub.subscribe()
//!     async def forward():                  # the hub -> this client
//!         while True:
//!             sender, text = await queue.get()
//!             if sender != name:
//!                 writer.write(text); await writer.drain()
//!     forwarding = asyncio.create_task(forward())
//!     async for line in reader:             # this client -> the hub
//!         hub.publish(name, f"{name}: {line.decode()}".encode())
//!     forwarding.cancel()
//!     writer.close(); await writer.wait_closed()
//! ```
//!
//! A slow client never stalls the others: publishing never waits (the
//! broadcast channel keeps the last [`HISTORY`] lines and overwrites the
//! oldest), and each client has its own forwarding loop, whose `drain`
//! waits for that client alone. A client that falls more than
//! [`HISTORY`] lines behind is told how many it missed and carries on from
//! the oldest line still kept (asyncio users would bound each client's
//! queue and drop on `QueueFull`).
//!
//! With no arguments it runs a demo and exits: alice talks, bob listens,
//! and carol does not read at all until alice is done, so she lags and is
//! told so, while bob got every line. With `--port N` it serves on
//! 127.0.0.1:N until stopped; talk to it with `nc 127.0.0.1 N`.
//!
//! Run it with `cargo run -p tulipa --example chat` (or `-- --port 8888`).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_lite::future;
use tulipa::channel::broadcast::{self, RecvError};
use tulipa::net::stream::from_tcp;
use tulipa::net::stream::{TcpReader, TcpWriter};
use tulipa::net::{open_connection, start_server, TcpSocket};

/// How many lines the hub keeps for clients that are behind.
const HISTORY: usize = 256;

/// A line on its way to every client but its sender.
#[derive(Clone)]
struct Line {
    from: u64,
    text: Arc<[u8]>,
}

/// What every connection shares: the broadcast sender and a client counter.
#[derive(Clone)]
struct Hub {
    tx: broadcast::Sender<Line>,
    ids: Arc<AtomicU64>,
}

impl Hub {
    fn new() -> Hub {
        // The hub keeps a receiver of its own so that publishing never
        // fails for want of one; it is never read and costs nothing, since
        // the ring only keeps the last HISTORY lines.
        let (tx, _rx) = broadcast::channel(HISTORY);
        Hub {
            tx,
            ids: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Sends `text` to every connected client except `from`; never waits.
    fn publish(&self, from: u64, text: String) {
        // Fails only when nobody is connected: nobody to tell.
        let _ = self.tx.send(Line {
            from,
            text: text.into_bytes().into(),
        });
    }
}

/// One client's connection: asks its name, then runs its two directions
/// until it leaves or cannot keep up with its own socket.
async fn handle(hub: Hub, mut reader: TcpReader, mut writer: TcpWriter) {
    let id = hub.ids.fetch_add(1, Ordering::Relaxed);
    let Ok(name) = ask_name(&mut reader, &mut writer).await else {
        return;
    };
    // Subscribe before announcing, so the client sees everything after.
    let mut lines = hub.tx.subscribe();
    hub.publish(id, format!("*** {name} joined\n"));

    let from_client = async {
        while let Ok(line) = reader.read_line().await {
            if line.is_empty() {
                break; // end of file: the client left
            }
            hub.publish(id, format!("{name}: {}", String::from_utf8_lossy(&line)));
        }
    };
    let to_client = async {
        loop {
            let text = match lines.recv().await {
                Ok(line) if line.from == id => continue,
                Ok(line) => line.text,
                Err(RecvError::Lagged(missed)) => {
                    format!("*** you missed {missed} lines: reading too slowly\n")
                        .into_bytes()
                        .into()
                }
                // Closed: the hub is gone.
                Err(_) => break,
            };
            // `drain` waits for this client only; the others go on.
            if writer.write(&text).is_err() || writer.drain().await.is_err() {
                break;
            }
        }
    };
    // Whichever direction ends first ends the connection.
    future::or(from_client, to_client).await;
    hub.publish(id, format!("*** {name} left\n"));
    writer.close();
    let _ = writer.wait_closed().await;
}

async fn ask_name(reader: &mut TcpReader, writer: &mut TcpWriter) -> io::Result<String> {
    writer.write(b"your name? ")?;
    writer.drain().await?;
    let line = reader.read_line().await?;
    let name = String::from_utf8_lossy(&line).trim().to_owned();
    Ok(if name.is_empty() {
        "anonymous".to_owned()
    } else {
        name
    })
}

/// A demo client: connects and gives its name. A client on a slow link
/// gets a small receive buffer (else the kernel grows it to megabytes), so
/// the server's writes to it block soon after it stops reading.
async fn join(port: u16, name: &str, slow_link: bool) -> io::Result<(TcpReader, TcpWriter)> {
    let (mut reader, mut writer) = if slow_link {
        let socket = TcpSocket::new_v4()?;
        socket.set_recv_buffer_size(4096)?;
        from_tcp(socket.connect(([127, 0, 0, 1], port).into()).await?)
    } else {
        open_connection(("127.0.0.1", port)).await?
    };
    writer.write(format!("{name}\n").as_bytes())?;
    writer.drain().await?;
    // The prompt has no newline: read exactly its bytes.
    reader.read_exact(b"your name? ".len()).await?;
    Ok((reader, writer))
}

/// Reads lines until one ends with `last`; returns how many chat lines it
/// read and the lag notices it got.
async fn read_until_line(reader: &mut TcpReader, last: &str) -> io::Result<(usize, Vec<String>)> {
    let mut chat_lines = 0;
    let mut notices = Vec::new();
    loop {
        let line = reader.read_line().await?;
        if line.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the chat",
            ));
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        if line.starts_with("*** you missed") {
            notices.push(line.trim_end().to_owned());
        } else if !line.starts_with("***") {
            chat_lines += 1;
        }
        if line.trim_end().ends_with(last) {
            return Ok((chat_lines, notices));
        }
    }
}

async fn demo() -> io::Result<()> {
    let hub = Hub::new();
    let server = start_server("127.0.0.1:0", {
        let hub = hub.clone();
        move |r, w| handle(hub.clone(), r, w)
    })
    .await?;
    let port = server.local_addr().expect("a TCP server").port();
    println!("chat server on 127.0.0.1:{port}");

    let (mut bob, bob_w) = join(port, "bob", false).await?;
    let (mut carol, carol_w) = join(port, "carol", true).await?;
    let (_alice, mut alice_w) = join(port, "alice", false).await?;
    // Wait until bob has heard alice join: her lines come after.
    read_until_line(&mut bob, "alice joined").await?;

    // alice says a lot (4 MB), in bursts of 100 lines, and bob reads each
    // burst; carol reads nothing meanwhile, so the socket buffers and her
    // writer's buffer fill up and her forwarding loop waits in drain, while
    // bob's goes on. (Nothing waits for carol: alice and bob would go on
    // the same if she never read again.)
    let (bursts, burst) = (40, 100);
    let filler = "-".repeat(1000);
    let (mut bob_got, mut bob_notices) = (0, Vec::new());
    for b in 0..bursts {
        for i in b * burst..(b + 1) * burst {
            alice_w.write(format!("line {i} {filler}\n").as_bytes())?;
            alice_w.drain().await?;
        }
        let last = format!("line {} {filler}", (b + 1) * burst - 1);
        let (got, notices) = read_until_line(&mut bob, &last).await?;
        bob_got += got;
        bob_notices.extend(notices);
    }
    alice_w.write(b"that is all\n")?;
    alice_w.drain().await?;
    let (got, notices) = read_until_line(&mut bob, "alice: that is all").await?;
    bob_got += got;
    bob_notices.extend(notices);
    let count = bursts * burst + 1;
    println!("bob read {bob_got} of alice's {count} lines");
    for notice in &bob_notices {
        println!("bob was told: {notice}");
    }
    // Only now does carol read.
    let (carol_got, carol_notices) = read_until_line(&mut carol, "alice: that is all").await?;
    println!("carol read {carol_got} of them");
    for notice in &carol_notices {
        println!("carol was told: {notice}");
    }
    if carol_notices.is_empty() {
        println!("carol kept up after all (the socket buffers held everything)");
    }

    for mut w in [alice_w, bob_w, carol_w] {
        w.close();
        w.wait_closed().await?;
    }
    server.close();
    server.wait_closed().await;
    println!("every client left; the server is closed");
    Ok(())
}

async fn serve(port: u16) -> io::Result<()> {
    let hub = Hub::new();
    let server = start_server(("127.0.0.1", port), move |r, w| handle(hub.clone(), r, w)).await?;
    println!(
        "chat server on {}; connect with `nc 127.0.0.1 {port}`",
        server.local_addr().expect("a TCP server")
    );
    server.serve_forever().await;
    Ok(())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => tulipa::run(demo()),
        [flag, port] if flag == "--port" => {
            let port = port.parse().map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("--port wants a port number, got {port:?}: {e}"),
                )
            })?;
            tulipa::run(serve(port))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "usage: chat [--port N] (no arguments: run the demo and exit)",
        )),
    }
}
