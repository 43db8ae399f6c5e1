//! The echo servers of the external-client mode, each run alone in a child
//! process of the bench binary (see `net_external`).
//!
//! For the Rust servers the parent re-executes itself as
//! `tulipa-benches --serve SERVER THREADS`; the Python ones it starts as
//! `PYTHON benches/echo_asyncio.py --loop LOOP` ([`Server::command`]).
//! Either way the child starts the server on `127.0.0.1:0`, prints one line
//! `PID PORT` on stdout, and serves until its stdin reaches end of file
//! (the parent closes it, or dies), then exits. The servers:
//!
//! | `SERVER` | what serves each connection |
//! | --- | --- |
//! | `tulipa-stream` | a task per connection: `tulipa::net::TcpStream` `read` / `write_all` over a 64 KiB buffer |
//! | `tulipa-protocol` | asyncio's echo `Protocol` on `tulipa::net::protocol::create_server` (`data_received` writes back through the transport) |
//! | `uvloop` | the same echo `asyncio.Protocol` in Python (`benches/echo_asyncio.py`) on uvloop's event loop (libuv) |
//! | `asyncio` | the same script on asyncio's own event loop (selectors, epoll) |
//! | `tokio` | a task per connection: `tokio::net::TcpStream` `read` / `write_all`, 64 KiB |
//! | `smol` | a task per connection: `smol::net::TcpStream` `read` / `write_all`, 64 KiB |
//! | `raw` | no runtime: one thread, one `polling::Poller`, nonblocking std sockets |
//!
//! `THREADS` is `multi` or `current`, the runtime flavour of
//! [`Flavour::run`] (ignored by `raw`, which is single-threaded by design).
//! The Python servers run in the `current` flavour only: a Python event
//! loop is one thread. Every accepted socket gets `TCP_NODELAY`.
//!
//! The Python interpreter is `$TULIPA_BENCH_PYTHON` (`cargo xtask bench`
//! sets it with `--external`), else the `PYTHON=` line of
//! `<target>/peers/env` (written by `cargo xtask peers`), else
//! `<target>/peers/venv/bin/python`, where `<target>` is the target dir
//! this binary was built in. It must import uvloop, which `cargo xtask
//! peers --bench` installs there ([`check_python`] says so when it does
//! not); nothing falls back to another interpreter or skips the servers.
//!
//! The `raw` server is the physical limit an event loop can reach: it
//! registers each socket once in level-triggered mode, and per message
//! does one `epoll_wait`, one `read` and one `write`; it arms writable
//! interest only when a write could not finish (then stops reading that
//! connection until the bytes are out), so no byte is ever dropped.

use std::ffi::OsString;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Command, ExitCode, Stdio};

use crate::net_protocol::Echo;
use crate::rt::{Flavour, Job, Lib, Rt, Threads};

/// Bytes in each connection's read buffer.
const BUF: usize = 64 * 1024;

/// The Python echo server, next to this crate's manifest.
const PYTHON_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/echo_asyncio.py");

/// The server kinds a child can run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Server {
    TulipaStream,
    TulipaProtocol,
    Uvloop,
    Asyncio,
    Tokio,
    Smol,
    Raw,
}

impl Server {
    /// Every kind, in table order.
    pub(crate) const ALL: [Server; 7] = [
        Server::TulipaStream,
        Server::TulipaProtocol,
        Server::Uvloop,
        Server::Asyncio,
        Server::Tokio,
        Server::Smol,
        Server::Raw,
    ];

    /// The name in the table (and on the child's command line, for the
    /// servers of this binary).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Server::TulipaStream => "tulipa-stream",
            Server::TulipaProtocol => "tulipa-protocol",
            Server::Uvloop => "uvloop",
            Server::Asyncio => "asyncio",
            Server::Tokio => "tokio",
            Server::Smol => "smol",
            Server::Raw => "raw",
        }
    }

    /// The runtime library serving, or `None` for the raw loop and the
    /// Python servers.
    pub(crate) fn lib(self) -> Option<Lib> {
        match self {
            Server::TulipaStream | Server::TulipaProtocol => Some(Lib::Tulipa),
            Server::Tokio => Some(Lib::Tokio),
            Server::Smol => Some(Lib::Smol),
            Server::Raw | Server::Uvloop | Server::Asyncio => None,
        }
    }

    /// For a Python server, its `--loop` argument.
    pub(crate) fn python_loop(self) -> Option<&'static str> {
        match self {
            Server::Uvloop => Some("uvloop"),
            Server::Asyncio => Some("asyncio"),
            _ => None,
        }
    }

    /// Whether it serves through asyncio's protocol API rather than a
    /// stream API (`net_protocol`'s subject, not `tcp_ping_pong`'s).
    pub(crate) fn protocol(self) -> bool {
        matches!(
            self,
            Server::TulipaProtocol | Server::Uvloop | Server::Asyncio
        )
    }

    /// The program and arguments that run this server in `threads`'
    /// flavour: this binary with `--serve`, or the Python script.
    ///
    /// # Errors
    ///
    /// If the bench binary or the Python interpreter cannot be found.
    pub(crate) fn command(self, threads: Threads) -> Result<(PathBuf, Vec<OsString>), String> {
        if let Some(event_loop) = self.python_loop() {
            let args = [PYTHON_SCRIPT, "--loop", event_loop];
            return Ok((python()?, args.map(OsString::from).to_vec()));
        }
        let exe =
            std::env::current_exe().map_err(|e| format!("cannot find the bench binary: {e}"))?;
        let args = ["--serve", self.name(), threads.name()];
        Ok((exe, args.map(OsString::from).to_vec()))
    }
}

/// How to get a Python that runs the Python servers.
const PYTHON_FIX: &str = "run `cargo xtask peers --bench` (a venv with uvloop in \
    <target>/peers/venv), or set TULIPA_BENCH_PYTHON to a python that imports uvloop";

/// The Python interpreter of the Python servers (see the module doc).
///
/// # Errors
///
/// If none is set and the peers venv has none.
fn python() -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os("TULIPA_BENCH_PYTHON") {
        return Ok(python.into());
    }
    // The binary is <target>/release/tulipa-benches.
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the bench binary: {e}"))?;
    let peers = exe
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("peers"))
        .ok_or_else(|| format!("{} has no target directory", exe.display()))?;
    let from_env = std::fs::read_to_string(peers.join("env"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("PYTHON="))
                .map(PathBuf::from)
        });
    let python = from_env.unwrap_or_else(|| peers.join("venv").join("bin").join("python"));
    if python.is_file() {
        Ok(python)
    } else {
        Err(format!(
            "the uvloop and asyncio echo servers need Python, and TULIPA_BENCH_PYTHON is not \
             set and {} is missing; {PYTHON_FIX}",
            python.display()
        ))
    }
}

/// Checks that the Python servers can run: the script is there and the
/// interpreter imports asyncio and uvloop.
///
/// # Errors
///
/// A message naming what is missing and how to install it.
pub(crate) fn check_python() -> Result<(), String> {
    if !Path::new(PYTHON_SCRIPT).is_file() {
        return Err(format!(
            "the Python echo server {PYTHON_SCRIPT} is missing (this binary was built from \
             that source tree)"
        ));
    }
    let python = python()?;
    let out = Command::new(&python)
        .args(["-c", "import asyncio, uvloop"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {} ({e}); {PYTHON_FIX}", python.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "the uvloop echo server needs uvloop, which {} cannot import ({}); {PYTHON_FIX}",
            python.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("no message")
        ))
    }
}

/// The child's entry point: `ARGS` = `SERVER THREADS`.
pub(crate) fn child_main(args: &[String]) -> ExitCode {
    let parsed = match args {
        [server, threads] => Server::ALL
            .into_iter()
            .filter(|s| s.python_loop().is_none())
            .find(|s| s.name() == server)
            .zip(Threads::ALL.into_iter().find(|t| t.name() == threads)),
        _ => None,
    };
    let Some((server, threads)) = parsed else {
        eprintln!(
            "tulipa-benches --serve: expected `SERVER THREADS` (SERVER: tulipa-stream, \
             tulipa-protocol, tokio, smol or raw; THREADS: multi or current), got {args:?} \
             (uvloop and asyncio run as `python benches/echo_asyncio.py --loop LOOP`)"
        );
        return ExitCode::FAILURE;
    };
    // The parent closing our stdin (or dying) ends the server.
    std::thread::spawn(|| {
        let _ = io::copy(&mut io::stdin(), &mut io::sink());
        std::process::exit(0);
    });
    match server.lib() {
        None => {
            if let Err(e) = raw_server() {
                eprintln!("tulipa-benches --serve raw: {e}");
                return ExitCode::FAILURE;
            }
        }
        Some(lib) => Flavour { lib, threads }.run(Serve(server)),
    }
    ExitCode::SUCCESS
}

/// Tells the parent where we listen.
fn announce(addr: SocketAddr) {
    let mut out = io::stdout().lock();
    writeln!(out, "{} {}", std::process::id(), addr.port()).expect("cannot write to stdout");
    out.flush().expect("cannot flush stdout");
}

/// The [`Job`] that serves forever on the runtime of its flavour.
#[derive(Clone, Copy)]
struct Serve(Server);

impl Job for Serve {
    type Output = ();

    fn future<R: Rt>(self, rt: R) -> impl Future<Output = ()> + Send + 'static {
        // Boxed for the reason given in `net_protocol::run`.
        let f: Pin<Box<dyn Future<Output = ()> + Send>> = match self.0 {
            Server::TulipaStream => Box::pin(tulipa_stream(rt)),
            Server::TulipaProtocol => Box::pin(tulipa_protocol()),
            Server::Tokio => Box::pin(tokio_stream(rt)),
            Server::Smol => Box::pin(smol_stream(rt)),
            Server::Raw => unreachable!("the raw server runs without a runtime"),
            Server::Uvloop | Server::Asyncio => unreachable!("the Python servers run in Python"),
        };
        f
    }
}

async fn tulipa_stream<R: Rt>(rt: R) {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let listener = tulipa::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("cannot bind the tulipa echo server");
    announce(listener.local_addr().expect("a bound listener"));
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            continue;
        };
        s.set_nodelay(true).expect("TCP_NODELAY");
        rt.spawn_detached(async move {
            let mut buf = vec![0u8; BUF];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

async fn tulipa_protocol() {
    let server = tulipa::net::protocol::create_server(|| Echo(None), "127.0.0.1:0")
        .await
        .expect("cannot start the tulipa protocol echo server");
    announce(server.local_addr().expect("an IP listener"));
    // Serves until the process exits.
    futures_lite::future::pending::<()>().await;
    drop(server);
}

async fn tokio_stream<R: Rt>(rt: R) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("cannot bind the tokio echo server");
    announce(listener.local_addr().expect("a bound listener"));
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            continue;
        };
        s.set_nodelay(true).expect("TCP_NODELAY");
        rt.spawn_detached(async move {
            let mut buf = vec![0u8; BUF];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

async fn smol_stream<R: Rt>(rt: R) {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    let listener = smol::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("cannot bind the smol echo server");
    announce(listener.local_addr().expect("a bound listener"));
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            continue;
        };
        s.set_nodelay(true).expect("TCP_NODELAY");
        rt.spawn_detached(async move {
            let mut buf = vec![0u8; BUF];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// One connection of the raw server: its socket and the bytes read but
/// not yet written back.
struct Conn {
    stream: TcpStream,
    pending: Vec<u8>,
}

/// The poller key of the listener; connection `i` has key `i + 1`.
const LISTENER: usize = 0;

/// The raw echo server: one thread, one poller, no runtime. Returns only
/// on an error of the listener or the poller.
fn raw_server() -> io::Result<()> {
    use polling::{Event, Events, PollMode, Poller};

    // Declared before the poller, so dropped after it: a registered
    // socket never outlives its registration by accident.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let poller = Poller::new()?;
    // SAFETY: `add` needs the source deleted from the poller before it is
    // closed. `listener` is never deleted, but it is declared before
    // `poller`, so it is dropped after the poller is gone.
    unsafe { poller.add_with_mode(&listener, Event::readable(LISTENER), PollMode::Level)? };
    announce(listener.local_addr()?);
    let mut events = Events::new();
    let mut buf = vec![0u8; BUF];
    loop {
        events.clear();
        poller.wait(&mut events, None)?;
        for ev in events.iter() {
            if ev.key == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            stream.set_nonblocking(true)?;
                            stream.set_nodelay(true)?;
                            let slot =
                                conns.iter().position(Option::is_none).unwrap_or_else(|| {
                                    conns.push(None);
                                    conns.len() - 1
                                });
                            // SAFETY: the stream goes into `conns[slot]`
                            // right after; it leaves `conns` only after
                            // `poller.delete` succeeded on it (the `None`
                            // arm below), and `conns` is declared before
                            // `poller`, so on any early return it is
                            // dropped after the poller is gone.
                            unsafe {
                                poller.add_with_mode(
                                    &stream,
                                    Event::readable(slot + 1),
                                    PollMode::Level,
                                )?;
                            }
                            conns[slot] = Some(Conn {
                                stream,
                                pending: Vec::new(),
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
                continue;
            }
            let slot = ev.key - 1;
            let Some(conn) = conns[slot].as_mut() else {
                continue;
            };
            let open = if conn.pending.is_empty() {
                echo(conn, &mut buf)
            } else {
                flush(conn)
            };
            let want = match open {
                Ok(true) if conn.pending.is_empty() => Some(Event::readable(ev.key)),
                Ok(true) => Some(Event::writable(ev.key)),
                Ok(false) | Err(_) => None,
            };
            match want {
                Some(interest) if interest.writable != ev.writable => {
                    poller.modify_with_mode(&conn.stream, interest, PollMode::Level)?;
                }
                Some(_) => {}
                None => {
                    poller.delete(&conn.stream)?;
                    conns[slot] = None;
                }
            }
        }
    }
}

/// Reads what is there and writes it back; keeps what could not be
/// written in `pending`. `Ok(false)` when the peer closed.
fn echo(conn: &mut Conn, buf: &mut [u8]) -> io::Result<bool> {
    let n = match conn.stream.read(buf) {
        Ok(0) => return Ok(false),
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
        Err(e) => return Err(e),
    };
    conn.pending.extend_from_slice(&buf[..n]);
    flush(conn)
}

/// Writes as much of `pending` as the socket takes.
fn flush(conn: &mut Conn) -> io::Result<bool> {
    while !conn.pending.is_empty() {
        match conn.stream.write(&conn.pending) {
            Ok(0) => return Ok(false),
            Ok(n) => {
                conn.pending.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}
