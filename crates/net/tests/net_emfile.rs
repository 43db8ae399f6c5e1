//! Accept loops survive running out of file descriptors (`EMFILE`): they
//! back off, and resume serving once descriptors free up.
//!
//! The scenario lowers `RLIMIT_NOFILE` and fills the descriptor table, so
//! it runs in a child process: the parent test re-executes this test
//! binary, running only the ignored `child_*` test, with an environment
//! variable that arms it.

use std::io;
use std::process::Command;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
use tulipa_net::{start_server, TcpListener, TcpStream};

const ARM: &str = "TULIPA_NET_EMFILE_CHILD";

#[test]
fn accept_loops_survive_emfile() {
    let exe = std::env::current_exe().unwrap();
    for mode in ["incoming", "start_server"] {
        let out = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "child_emfile_scenario",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ARM, mode)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "child ({mode}) failed:\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains("1 passed"),
            "the child ({mode}) must have run the scenario:\n{stdout}"
        );
        assert!(stdout.contains("emfile scenario done"), "{stdout}");
    }
}

/// Fills the descriptor table: returns the files holding it full.
fn exhaust_descriptors() -> Vec<std::fs::File> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    let soft = lim.current.unwrap_or(u64::MAX).min(512);
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(soft),
            maximum: lim.maximum,
        },
    )
    .unwrap();
    let mut held = Vec::new();
    for _ in 0..soft {
        match std::fs::File::open("/dev/null") {
            Ok(f) => held.push(f),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(24), "expected EMFILE, got {e}");
                return held;
            }
        }
    }
    panic!("the descriptor table never filled up");
}

#[test]
#[ignore = "run by accept_loops_survive_emfile in a child process"]
fn child_emfile_scenario() {
    let Ok(mode) = std::env::var(ARM) else {
        panic!("run through accept_loops_survive_emfile, which sets {ARM}");
    };
    tulipa::run(async move {
        let (addr, server) = match mode.as_str() {
            "incoming" => {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let task = tulipa::spawn(async move {
                    let mut incoming = listener.incoming();
                    for _ in 0..2 {
                        let mut s = incoming.next().await.unwrap()?;
                        let _detached = tulipa::spawn(async move {
                            let mut buf = [0; 5];
                            s.read_exact(&mut buf).await?;
                            s.write_all(&buf).await?;
                            io::Result::Ok(())
                        });
                    }
                    io::Result::Ok(())
                });
                (addr, Some(task))
            }
            _ => {
                let server = start_server("127.0.0.1:0", |mut r, mut w| async move {
                    if let Ok(b) = r.read_exact(5).await {
                        let _ = w.write(&b);
                        let _ = w.wait_closed().await;
                    }
                })
                .await?;
                let addr = server.local_addr().unwrap();
                std::mem::forget(server); // keep serving for the whole run
                (addr, None)
            }
        };

        let mut held = exhaust_descriptors();
        // Free exactly one descriptor for the client's socket: the server's
        // accept then has none and fails with EMFILE.
        held.pop();
        let mut client = TcpStream::connect(addr).await?;
        client.write_all(b"hello").await?;
        let mut buf = [0; 5];
        // No answer can come while the server cannot accept.
        let early =
            tulipa_timer::timeout(Duration::from_millis(300), client.read_exact(&mut buf)).await;
        assert!(
            early.is_err(),
            "the server answered without a descriptor to accept into"
        );
        // Free descriptors: the accept loop resumes on its own.
        drop(held);
        let answered =
            tulipa_timer::timeout(Duration::from_secs(20), client.read_exact(&mut buf)).await;
        answered.expect("the server resumed accepting after descriptors freed up")?;
        assert_eq!(&buf, b"hello");
        // And it keeps serving new connections.
        let mut again = TcpStream::connect(addr).await?;
        again.write_all(b"again").await?;
        again.read_exact(&mut buf).await?;
        assert_eq!(&buf, b"again");
        if let Some(task) = server {
            task.await.unwrap()?;
        }
        println!("emfile scenario done ({mode})");
        io::Result::Ok(())
    })
    .unwrap();
}
