//! asyncio streams over sockets: start_server/open_connection, closing,
//! half-close, resets, back-pressure, Unix servers.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future;
use tulipa_net::stream::{ServerAddr, TcpReader, TcpWriter};
use tulipa_net::{
    open_connection, open_unix_connection, start_server, start_unix_server, TcpStream,
};

async fn echo(mut reader: TcpReader, mut writer: TcpWriter) {
    loop {
        match reader.read_line().await {
            Ok(line) if !line.is_empty() => {
                if writer.write(&line).is_err() || writer.drain().await.is_err() {
                    break;
                }
            }
            _ => break,
        }
    }
    let _ = writer.wait_closed().await;
}

#[test]
fn echo_server_serves_many_clients_and_closes() {
    tulipa::run(async {
        let server = start_server("127.0.0.1:0", echo).await?;
        let addr = server.local_addr().unwrap();
        assert!(matches!(server.addrs(), [ServerAddr::Inet(a)] if *a == addr));
        assert!(server.is_serving());
        let mut clients = Vec::new();
        for i in 0..10 {
            clients.push(tulipa::spawn(async move {
                let (mut r, mut w) = open_connection(addr).await?;
                assert_eq!(w.peer_addr()?, addr);
                assert!(
                    w.get_ref().as_stream().nodelay()?,
                    "asyncio sets TCP_NODELAY"
                );
                for j in 0..20 {
                    let msg = format!("client {i} line {j}\n");
                    w.write(msg.as_bytes())?;
                    w.drain().await?;
                    assert_eq!(r.read_line().await?, msg.as_bytes());
                }
                w.close();
                w.wait_closed().await?;
                assert_eq!(r.read_line().await?, b"", "server closed after our EOF");
                io::Result::Ok(())
            }));
        }
        for c in clients {
            c.await.unwrap()?;
        }
        server.close();
        assert!(!server.is_serving());
        server.wait_closed().await;
        assert_eq!(server.connections(), 0);
        // The listener is gone.
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn start_server_without_a_runtime_is_a_clear_error() {
    let err = future::block_on(start_server("127.0.0.1:0", echo)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("tulipa runtime"), "{err}");
}

#[test]
fn serve_forever_returns_when_another_task_closes_the_server() {
    tulipa::run(async {
        let server = start_server("127.0.0.1:0", echo).await?;
        let other = server.clone();
        let closer = tulipa::spawn(async move {
            let (mut r, mut w) = open_connection(other.local_addr().unwrap()).await?;
            w.write(b"ping\n")?;
            w.drain().await?;
            assert_eq!(r.read_line().await?, b"ping\n");
            other.close();
            io::Result::Ok(())
        });
        server.serve_forever().await;
        assert!(!server.is_serving());
        closer.await.unwrap()?;
        server.wait_closed().await;
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn wait_closed_waits_for_running_handlers() {
    tulipa::run(async {
        let server = start_server("127.0.0.1:0", echo).await?;
        let (mut r, mut w) = open_connection(server.local_addr().unwrap()).await?;
        w.write(b"x\n")?;
        w.drain().await?;
        assert_eq!(r.read_line().await?, b"x\n");
        assert_eq!(server.connections(), 1);
        server.close();
        let mut waiting = Box::pin(server.wait_closed());
        assert!(
            future::poll_once(&mut waiting).await.is_none(),
            "a handler still runs"
        );
        // Closing the server leaves connections alone.
        w.write(b"still\n")?;
        w.drain().await?;
        assert_eq!(r.read_line().await?, b"still\n");
        w.write_eof().await?;
        waiting.await;
        assert_eq!(server.connections(), 0);
        io::Result::Ok(())
    })
    .unwrap();
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

/// Echoes what it receives, as a protocol.
struct EchoProtocol(Option<tulipa_net::protocol::Transport>);

impl tulipa_net::protocol::Protocol for EchoProtocol {
    fn connection_made(&mut self, transport: tulipa_net::protocol::Transport) {
        self.0 = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        if let Some(t) = &self.0 {
            t.write(data);
        }
    }
}

/// Issue 13: a stream server and a protocol server behave the same when
/// their last handle is dropped: as in asyncio, they keep serving.
#[test]
fn dropping_every_handle_leaves_either_server_serving() {
    for rt in runtimes() {
        rt.block_on(async {
            let stream_server = start_server("127.0.0.1:0", echo).await?;
            let protocol_server =
                tulipa_net::protocol::create_server(|| EchoProtocol(None), "127.0.0.1:0").await?;
            // The same type from both.
            let addrs: [Option<std::net::SocketAddr>; 2] =
                [stream_server.local_addr(), protocol_server.local_addr()];
            let clone = stream_server.clone();
            drop(stream_server);
            drop(clone);
            drop(protocol_server);
            for addr in addrs {
                let (mut r, mut w) = open_connection(addr.unwrap()).await?;
                w.write(b"still serving\n")?;
                w.drain().await?;
                assert_eq!(r.read_line().await?, b"still serving\n");
            }
            io::Result::Ok(())
        })
        .unwrap();
    }
}

/// Issue 13: `close()` + `wait_closed()` closes the whole connection: the
/// paired reader sees end of file although the peer keeps its side open
/// (before, the socket stayed half-open and this read never returned).
#[test]
fn writer_close_closes_the_whole_connection_and_the_reader_sees_eof() {
    for rt in runtimes() {
        rt.block_on(async {
            let (saw_eof_tx, saw_eof) = tulipa::channel::oneshot::channel::<Vec<u8>>();
            let saw_eof_tx = std::sync::Mutex::new(Some(saw_eof_tx));
            let (release_tx, release) = tulipa::channel::oneshot::channel::<()>();
            let release = std::sync::Mutex::new(Some(release));
            let server = start_server("127.0.0.1:0", move |mut r: TcpReader, mut w: TcpWriter| {
                let saw_eof_tx = saw_eof_tx.lock().unwrap().take();
                let release = release.lock().unwrap().take();
                async move {
                    // Data the client will never read, then keep our
                    // side open until the test is done.
                    let _ = w.write(b"unread\n");
                    let _ = w.drain().await;
                    let rest = r.read_to_end().await.unwrap_or_default();
                    if let Some(tx) = saw_eof_tx {
                        let _ = tx.send(rest);
                    }
                    if let Some(release) = release {
                        let _ = release.await;
                    }
                }
            })
            .await?;
            let (mut r, mut w) = open_connection(server.local_addr().unwrap()).await?;
            w.write(b"bye")?;
            w.close();
            w.wait_closed().await?;
            assert_eq!(
                saw_eof.await.unwrap(),
                b"bye",
                "the peer read our end of file"
            );
            let line = tulipa::time::timeout(Duration::from_secs(20), r.read_line())
                .await
                .expect("the reader of a closed writer must see end of file")?;
            assert_eq!(line, b"", "our own reader reads end of file");
            assert!(r.at_eof());
            assert!(w.write(b"more").is_err());
            release_tx.send(()).unwrap();
            server.close();
            server.wait_closed().await;
            io::Result::Ok(())
        })
        .unwrap();
    }
}

/// Issue 13: over a real socket, the end of file already sent by the peer
/// counts for `at_eof` without another read call, on both runtimes.
#[test]
fn at_eof_over_a_socket_after_the_peer_closed() {
    for rt in runtimes() {
        rt.block_on(async {
            let (a, b) = tulipa_net::UnixStream::pair()?;
            let (mut ra, _wa) = tulipa_net::stream::from_unix(a);
            let (_rb, mut wb) = tulipa_net::stream::from_unix(b);
            wb.write(b"one\ntwo\n")?;
            wb.close();
            wb.wait_closed().await?;
            // A Unix socket delivers data and the shutdown at once.
            let mut lines = Vec::new();
            while !ra.at_eof() {
                lines.push(ra.read_line().await?);
                assert!(lines.len() <= 3, "{lines:?}");
            }
            assert_eq!(lines, [&b"one\n"[..], b"two\n"]);
            io::Result::Ok(())
        })
        .unwrap();
    }
}

/// Issue 13: binding an address in use names the address.
#[test]
fn binding_an_address_in_use_names_it() {
    for rt in runtimes() {
        rt.block_on(async {
            let server = start_server("127.0.0.1:0", echo).await?;
            let addr = server.local_addr().unwrap();
            // A listener without SO_REUSEADDR holds the port against ours.
            let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let taken = std_listener.local_addr()?;
            for err in [
                start_server(taken, echo).await.unwrap_err(),
                tulipa_net::TcpListener::bind(taken).await.unwrap_err(),
            ] {
                assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
                let msg = err.to_string();
                assert!(msg.contains(&taken.to_string()), "{msg}");
                assert!(msg.contains("port 0"), "{msg}");
            }
            let err = tulipa_net::protocol::create_server(|| EchoProtocol(None), taken)
                .await
                .unwrap_err();
            assert!(err.to_string().contains(&taken.to_string()), "{err}");
            drop(std_listener);
            server.close();
            server.wait_closed().await;
            let _ = addr;
            io::Result::Ok(())
        })
        .unwrap();
    }
}

#[test]
fn half_close_reader_sees_eof_and_writer_still_writes() {
    tulipa::run(async {
        let server = start_server(
            "127.0.0.1:0",
            |mut r: TcpReader, mut w: TcpWriter| async move {
                // Read the whole request (until the client's EOF), then answer.
                assert!(
                    w.get_ref().as_stream().nodelay().unwrap(),
                    "accepted with TCP_NODELAY"
                );
                let req = r.read_to_end().await.unwrap();
                assert!(r.at_eof());
                w.write(format!("got {} bytes\n", req.len()).as_bytes())
                    .unwrap();
                w.wait_closed().await.unwrap();
            },
        )
        .await?;
        let (mut r, mut w) = open_connection(server.local_addr().unwrap()).await?;
        assert!(w.can_write_eof());
        w.write(&[7; 100_000])?;
        w.write_eof().await?;
        assert!(w.write(b"late").is_err(), "no writes after write_eof");
        assert_eq!(r.read_line().await?, b"got 100000 bytes\n");
        assert_eq!(r.read_line().await?, b"");
        assert!(r.at_eof());
        server.close();
        server.wait_closed().await;
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn a_reset_peer_fails_only_its_own_connection() {
    tulipa::run(async {
        let errors = Arc::new(AtomicUsize::new(0));
        let served = Arc::new(AtomicUsize::new(0));
        let (e2, s2) = (errors.clone(), served.clone());
        let server = start_server("127.0.0.1:0", move |_r: TcpReader, mut w: TcpWriter| {
            let (errors, served) = (e2.clone(), s2.clone());
            async move {
                // Stream data until the peer goes away. (Not stopping at
                // its end of file: the resetting client sends a FIN just
                // before its RST.)
                let mut failed = false;
                let chunk = vec![b'd'; 16 * 1024];
                for _ in 0..2000 {
                    if w.write(&chunk).is_err() || w.drain().await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed {
                    errors.fetch_add(1, Ordering::SeqCst);
                } else {
                    served.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
        .await?;
        let addr = server.local_addr().unwrap();
        // A client that reads a little, then resets the connection.
        let (mut r, w) = open_connection(addr).await?;
        r.read_exact(1000).await?;
        w.get_ref().as_stream().set_linger(Some(Duration::ZERO))?;
        drop(r);
        drop(w); // the last reference: the socket closes with an RST
                 // A well-behaved client that reads everything.
        let (mut r2, _w2) = open_connection(addr).await?;
        let all = r2.read_to_end().await?;
        assert_eq!(all.len(), 2000 * 16 * 1024);
        server.close();
        server.wait_closed().await;
        assert_eq!(
            errors.load(Ordering::SeqCst),
            1,
            "the reset connection saw an error"
        );
        assert_eq!(
            served.load(Ordering::SeqCst),
            1,
            "the other one was served fully"
        );
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn drain_bounds_the_buffer_when_the_peer_never_reads() {
    tulipa::run(async {
        let max_buffered = Arc::new(AtomicUsize::new(0));
        let blocked = Arc::new(AtomicUsize::new(0));
        let (m2, b2) = (max_buffered.clone(), blocked.clone());
        let server = start_server("127.0.0.1:0", move |_r: TcpReader, mut w: TcpWriter| {
            let (max_buffered, blocked) = (m2.clone(), b2.clone());
            async move {
                let chunk = vec![b'x'; 16 * 1024];
                // At most 4 GiB in 16 KiB chunks; a never-reading peer
                // must stop us long before.
                for _ in 0..(256 * 1024) {
                    w.write(&chunk).unwrap();
                    max_buffered.fetch_max(w.buffer_size(), Ordering::SeqCst);
                    let drain = tulipa_timer::timeout(Duration::from_millis(300), w.drain());
                    match drain.await {
                        Ok(res) => res.unwrap(),
                        Err(_) => {
                            // drain is waiting: back-pressure works.
                            blocked.fetch_add(1, Ordering::SeqCst);
                            max_buffered.fetch_max(w.buffer_size(), Ordering::SeqCst);
                            return;
                        }
                    }
                    max_buffered.fetch_max(w.buffer_size(), Ordering::SeqCst);
                }
            }
        })
        .await?;
        // Connect and never read; wait (bounded) for the handler to block.
        let (_r, _w) = open_connection(server.local_addr().unwrap()).await?;
        for _ in 0..2000 {
            if blocked.load(Ordering::SeqCst) == 1 {
                break;
            }
            tulipa_timer::sleep(Duration::from_millis(10)).await;
        }
        server.close();
        server.wait_closed().await;
        assert_eq!(blocked.load(Ordering::SeqCst), 1, "drain blocked");
        let max = max_buffered.load(Ordering::SeqCst);
        assert!(
            max <= 64 * 1024 + 16 * 1024,
            "user-space buffer stayed under the high-water mark plus one write: {max}"
        );
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn unix_stream_server_echoes() {
    let dir = std::env::temp_dir().join(format!("tulipa-net-streams-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("echo.sock");
    tulipa::run(async {
        let server = start_unix_server(&path, |mut r, mut w| async move {
            while let Ok(line) = r.read_line().await {
                if line.is_empty() {
                    break;
                }
                w.write(&line).unwrap();
                w.drain().await.unwrap();
            }
        })?;
        assert!(server.local_addr().is_none());
        assert!(matches!(&server.addrs()[0], ServerAddr::Unix(a) if a.as_pathname() == Some(path.as_path())));
        let (mut r, mut w) = open_unix_connection(&path).await?;
        w.write(b"over unix\n")?;
        w.drain().await?;
        assert_eq!(r.read_line().await?, b"over unix\n");
        w.wait_closed().await?;
        server.close();
        server.wait_closed().await;
        io::Result::Ok(())
    })
    .unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn serve_forever_returns_while_connections_are_still_open() {
    tulipa::run(async {
        let server = start_server("127.0.0.1:0", echo).await?;
        let (mut r, mut w) = open_connection(server.local_addr().unwrap()).await?;
        w.write(b"a\n")?;
        w.drain().await?;
        assert_eq!(r.read_line().await?, b"a\n");
        let other = server.clone();
        let closer = tulipa::spawn(async move { other.close() });
        // The connection stays open: serve_forever still returns once the
        // accept loop is gone, and wait_closed still waits for the handler.
        server.serve_forever().await;
        closer.await.unwrap();
        assert_eq!(server.connections(), 1);
        let mut waiting = Box::pin(server.wait_closed());
        assert!(future::poll_once(&mut waiting).await.is_none());
        w.wait_closed().await?;
        waiting.await;
        io::Result::Ok(())
    })
    .unwrap();
}

/// A runtime that takes work and drops it unpolled, as one shutting down
/// between accepting a task and running it does.
struct DropsWork;

impl tulipa_core::spawn::Spawn for DropsWork {
    fn spawn_detached(&self, future: tulipa_core::spawn::BoxFuture) -> io::Result<()> {
        drop(future);
        Ok(())
    }
}

#[test]
fn wait_closed_returns_when_the_accept_loop_was_dropped_unpolled() {
    tulipa::run(async {
        let listener = tulipa_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = {
            let _g = tulipa_core::spawn::enter(Arc::new(DropsWork));
            tulipa_net::stream::start_server_on(listener, echo).unwrap()
        };
        server.close();
        tulipa::time::timeout(Duration::from_secs(10), server.wait_closed())
            .await
            .expect("wait_closed waited for an accept loop that never ran");
        tulipa::time::timeout(Duration::from_secs(10), server.serve_forever())
            .await
            .expect("serve_forever waited for an accept loop that never ran");

        // The protocol server is sound in the same case.
        struct Nop;
        impl tulipa_net::protocol::Protocol for Nop {
            fn data_received(&mut self, _: &[u8]) {}
        }
        let listener = tulipa_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = {
            let _g = tulipa_core::spawn::enter(Arc::new(DropsWork));
            tulipa_net::protocol::create_server_with_listener(|| Nop, listener).unwrap()
        };
        server.close();
        tulipa::time::timeout(Duration::from_secs(10), server.wait_closed())
            .await
            .expect("protocol server: wait_closed hung");
    });
}

#[test]
fn a_panicking_handler_call_fails_only_its_connection_and_the_server_keeps_accepting() {
    tulipa::run(async {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let server = start_server("127.0.0.1:0", move |r, w| {
            if c.fetch_add(1, Ordering::SeqCst) == 0 {
                panic!("the handler failed on purpose (test)");
            }
            echo(r, w)
        })
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        {
            let (mut r, _w) = open_connection(addr).await.unwrap();
            // Its connection is closed.
            let got = tulipa::time::timeout(Duration::from_secs(10), r.read_to_end())
                .await
                .expect("the failed connection stayed open");
            assert!(got.unwrap_or_default().is_empty());
        }
        assert!(server.is_serving());
        let (mut r, mut w) = tulipa::time::timeout(Duration::from_secs(10), open_connection(addr))
            .await
            .expect("connect hung")
            .expect("the server stopped accepting after a handler panicked");
        w.write(b"still serving\n").unwrap();
        w.drain().await.unwrap();
        let line = tulipa::time::timeout(Duration::from_secs(10), r.read_line())
            .await
            .expect("no echo: the server stopped accepting after a handler panicked")
            .unwrap();
        assert_eq!(line, b"still serving\n");
        drop((r, w));
        server.close();
        server.wait_closed().await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    });
}

/// Issue 13: the connection tasks a server spawns are named after the
/// server and the peer, and record the user's `start_server` call as their
/// spawn location (not this crate's `spawn` line).
#[test]
fn connection_tasks_carry_the_server_and_peer_and_the_callers_location() {
    for rt in runtimes() {
        rt.block_on(async {
            let (tx, rx) = tulipa::channel::oneshot::channel::<Option<tulipa::task::TaskInfo>>();
            let tx = std::sync::Mutex::new(Some(tx));
            let line = line!() + 1;
            let server = start_server("127.0.0.1:0", move |_r: TcpReader, _w: TcpWriter| {
                if let Some(tx) = tx.lock().unwrap().take() {
                    let _ = tx.send(tulipa::task::current());
                }
                async {}
            });
            let server = server.await?;
            let addr = server.local_addr().unwrap();
            let (_r, w) = open_connection(addr).await?;
            // The handler is called in the accept loop: it sees that task.
            let info = rx.await.unwrap().expect("the accept loop is a task");
            assert_eq!(
                info.name(),
                Some(&*format!("start_server {addr}: accept loop"))
            );
            assert_eq!(info.location().file(), file!());
            assert_eq!(info.location().line(), line);
            drop(w);
            server.close();
            server.wait_closed().await;

            let (tx, rx) = tulipa::channel::oneshot::channel::<Option<tulipa::task::TaskInfo>>();
            let tx = std::sync::Mutex::new(Some(tx));
            let line = line!() + 1;
            let server = start_server("127.0.0.1:0", move |_r: TcpReader, _w: TcpWriter| {
                let tx = tx.lock().unwrap().take();
                async move {
                    if let Some(tx) = tx {
                        let _ = tx.send(tulipa::task::current());
                    }
                }
            })
            .await?;
            let addr = server.local_addr().unwrap();
            let (_r, w) = open_connection(addr).await?;
            let me = w.local_addr()?;
            let info = rx.await.unwrap().expect("a connection is a task");
            assert_eq!(
                info.name(),
                Some(&*format!("start_server {addr}: connection from {me}"))
            );
            assert_eq!(info.location().file(), file!());
            assert_eq!(info.location().line(), line);
            server.close();
            server.wait_closed().await;
            io::Result::Ok(())
        })
        .unwrap();
    }
}
