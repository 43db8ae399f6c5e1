//! Unix servers, stream (`start_unix_server`) and protocol
//! (`create_unix_server`), follow the same socket-file rules as asyncio:
//! a stale socket file is replaced, anything else refused, and the file is
//! removed on close only while it is still the server's (issue 13).

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use tulipa_net::protocol::{create_unix_server, Protocol, Transport};
use tulipa_net::stream::{UnixReader, UnixWriter};
use tulipa_net::{open_unix_connection, start_unix_server};

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

/// A fresh directory for one test's sockets.
fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tulipa-unix-server-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn echo(mut r: UnixReader, mut w: UnixWriter) {
    while let Ok(line) = r.read_line().await {
        if line.is_empty() || w.write(&line).is_err() || w.drain().await.is_err() {
            break;
        }
    }
    let _ = w.wait_closed().await;
}

struct EchoProtocol(Option<Transport>);

impl Protocol for EchoProtocol {
    fn connection_made(&mut self, transport: Transport) {
        self.0 = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        if let Some(t) = &self.0 {
            t.write(data);
        }
    }
}

/// Either kind of server, behind one interface for the tests.
enum AnyServer {
    Stream(tulipa_net::stream::Server),
    Protocol(tulipa_net::protocol::Server),
}

impl AnyServer {
    fn start(kind: usize, path: &Path) -> io::Result<AnyServer> {
        if kind == 0 {
            start_unix_server(path, echo).map(AnyServer::Stream)
        } else {
            create_unix_server(|| EchoProtocol(None), path).map(AnyServer::Protocol)
        }
    }

    async fn close(self) {
        match self {
            AnyServer::Stream(s) => {
                s.close();
                s.wait_closed().await;
            }
            AnyServer::Protocol(s) => {
                s.close();
                s.wait_closed().await;
            }
        }
    }
}

async fn round_trip(path: &Path) -> io::Result<()> {
    let (mut r, mut w) = open_unix_connection(path).await?;
    w.write(b"ping\n")?;
    w.drain().await?;
    assert_eq!(r.read_line().await?, b"ping\n");
    w.close();
    w.wait_closed().await
}

#[test]
fn both_servers_replace_a_stale_socket_file_and_remove_theirs_on_close() {
    let dir = temp_dir("stale");
    for rt in runtimes() {
        for kind in 0..2 {
            let path = dir.join(format!("sock{kind}"));
            // A server that died without cleaning up left its file behind.
            drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
            assert!(path.exists());
            rt.block_on(async {
                let server = AnyServer::start(kind, &path)?;
                round_trip(&path).await?;
                server.close().await;
                assert!(!path.exists(), "server {kind} left its socket file");
                io::Result::Ok(())
            })
            .unwrap();
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn both_servers_refuse_a_path_that_is_not_a_socket() {
    let dir = temp_dir("notsock");
    for rt in runtimes() {
        for kind in 0..2 {
            let path = dir.join(format!("file{kind}"));
            std::fs::write(&path, b"precious").unwrap();
            rt.block_on(async {
                let err = AnyServer::start(kind, &path)
                    .err()
                    .expect("a regular file is refused");
                assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
                let msg = err.to_string();
                assert!(msg.contains(&path.display().to_string()), "{msg}");
                assert!(msg.contains("not a socket"), "{msg}");
            });
            assert_eq!(std::fs::read(&path).unwrap(), b"precious");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn closing_leaves_a_socket_file_that_is_no_longer_the_servers() {
    let dir = temp_dir("replaced");
    for rt in runtimes() {
        for kind in 0..2 {
            let path = dir.join(format!("sock{kind}"));
            rt.block_on(async {
                let server = AnyServer::start(kind, &path)?;
                let ours = std::fs::metadata(&path)?.ino();
                // Someone else takes the path over while we serve.
                std::fs::remove_file(&path)?;
                let other = std::os::unix::net::UnixListener::bind(&path)?;
                assert_ne!(std::fs::metadata(&path)?.ino(), ours);
                server.close().await;
                assert!(
                    path.exists(),
                    "server {kind} removed a file that was not its own"
                );
                drop(other);
                std::fs::remove_file(&path)?;
                io::Result::Ok(())
            })
            .unwrap();
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
