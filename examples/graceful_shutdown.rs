//! A TCP server that shuts down gracefully on SIGINT or SIGTERM: it stops
//! accepting, lets the open connections finish for up to a grace period,
//! cancels whatever is left, and exits 0.
//!
//! The asyncio shape of it:
//!
//! ```python
//! async def main():
//!     stop = asyncio.Event()
//!     loop = asyncio.get_running_loop()
//!     for sig in (signal.SIGINT, signal.SIGTERM):
//!         loop.add_signal_handler(sig, stop.set)
//!     server = await asyncio.start_server(handle, "127.0.0.1", 0)
//!     await stop.wait()
//!     server.close()                       # stop accepting
//!     await asyncio.wait(open_connections, timeout=GRACE)
//! ```
//!
//! Run with no arguments, it demonstrates itself: a few clients connect,
//! one of them asks for slow work, and the program sends itself SIGTERM
//! while that work is in flight. Run it with `--serve` to wait for a real
//! Ctrl-C (or `kill <pid>`) instead:
//!
//! ```sh
//! cargo run -p tulipa --example graceful_shutdown
//! cargo run -p tulipa --example graceful_shutdown -- --serve
//! ```

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use futures_lite::future;
use futures_lite::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tulipa::reactor::Async;
use tulipa::signal::{Signal, Signals, SIGINT, SIGTERM};

/// How long open connections may take to finish after the signal.
const GRACE: Duration = Duration::from_secs(3);

fn main() -> io::Result<()> {
    let demo = std::env::args().nth(1).as_deref() != Some("--serve");
    tulipa::run(serve(demo))?;
    println!("server: exited cleanly");
    Ok(())
}

enum Event {
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    Signal(Signal),
}

async fn serve(demo: bool) -> io::Result<()> {
    // Listen for the signals first, so one that arrives while we start is
    // not lost (and no longer kills the process).
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
    let addr = listener.get_ref().local_addr()?;
    println!(
        "server: listening on {addr} (pid {}); SIGINT or SIGTERM shuts it down",
        std::process::id()
    );
    let demo = demo.then(|| tulipa::spawn(demo_clients(addr)));

    let mut connections = Vec::new();
    let signal = loop {
        let event = future::or(
            async { Event::Accepted(listener.read_with(|l| l.accept()).await) },
            async { Event::Signal(signals.recv().await) },
        )
        .await;
        match event {
            Event::Signal(signal) => break signal,
            Event::Accepted(Ok((stream, peer))) => {
                let stream = Async::new(stream)?;
                connections.push(tulipa::spawn(handle(stream, peer)));
            }
            Event::Accepted(Err(e)) => eprintln!("server: accept failed: {e}"),
        }
        connections.retain(|c| !c.is_finished());
    };

    // Stop accepting: new connections are refused from here on.
    drop(listener);
    connections.retain(|c| !c.is_finished());
    println!(
        "server: got {signal}; stopped accepting, waiting up to {GRACE:?} for {} open connection(s)",
        connections.len()
    );
    let drained = tulipa::time::timeout(GRACE, async {
        for c in &mut connections {
            let _ = c.await;
        }
    })
    .await;
    match drained {
        Ok(()) => println!("server: every connection finished"),
        Err(_) => {
            let left = connections.iter().filter(|c| !c.is_finished()).count();
            println!("server: grace period over, cancelling {left} connection(s)");
            for c in &connections {
                c.cancel();
            }
        }
    }
    if let Some(demo) = demo {
        // Let the demo clients print their last line.
        let _ = demo.await;
    }
    Ok(())
}

/// Echoes lines back; a line `slow` takes a second to answer.
async fn handle(stream: Async<TcpStream>, peer: SocketAddr) -> io::Result<()> {
    let mut lines = BufReader::new(&stream).lines();
    let mut writer = &stream;
    while let Some(line) = futures_lite::StreamExt::next(&mut lines).await {
        let line = line?;
        if line == "slow" {
            tulipa::time::sleep(Duration::from_secs(1)).await;
        }
        writer
            .write_all(format!("echo: {line}\n").as_bytes())
            .await?;
    }
    println!("server: {peer} closed its connection");
    Ok(())
}

/// Sends `line`, returns the answer.
async fn ask(addr: SocketAddr, line: &str) -> io::Result<String> {
    let mut stream = Async::<TcpStream>::new(TcpStream::connect(addr)?)?;
    stream.write_all(format!("{line}\n").as_bytes()).await?;
    stream.get_ref().shutdown(std::net::Shutdown::Write)?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    Ok(answer.trim_end().to_owned())
}

/// The self-demonstration: a quick client, a slow one, then SIGTERM while
/// the slow one is being served, then a client that comes too late.
async fn demo_clients(addr: SocketAddr) {
    println!("client: {:?}", ask(addr, "hello").await);
    let slow = tulipa::spawn(async move { ask(addr, "slow").await });
    tulipa::time::sleep(Duration::from_millis(200)).await;
    println!("client: sending SIGTERM to ourselves while `slow` is in flight");
    tulipa::signal::raise(SIGTERM).expect("kill(getpid(), SIGTERM)");
    tulipa::time::sleep(Duration::from_millis(100)).await;
    match TcpStream::connect(addr) {
        Ok(_) => println!("client: a late connection was accepted (unexpected)"),
        Err(e) => println!("client: a late connection is refused, as it should be ({e})"),
    }
    println!("client: slow answer after the signal: {:?}", slow.await);
}
