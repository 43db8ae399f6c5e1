//! The HTTP server's accept loop survives running out of file descriptors
//! (`EMFILE`): it backs off, and serves again once descriptors free up.
//!
//! The scenario lowers `RLIMIT_NOFILE` and fills the descriptor table, so
//! it runs in a child process: the parent re-executes this test binary,
//! running only the ignored `child_*` test, with a variable that arms it.

use std::io;
use std::process::Command;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tulipa_net::{TcpListener, TcpStream};

const ARM: &str = "TULIPA_HTTP_EMFILE_CHILD";

#[test]
fn the_server_survives_emfile() {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(&exe)
        .args([
            "--ignored",
            "--exact",
            "child_emfile_scenario",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ARM, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child must have run:\n{stdout}"
    );
    assert!(stdout.contains("http emfile scenario done"), "{stdout}");
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

/// Sends a GET on `client` and reads until the body arrives.
async fn fetch(client: &mut TcpStream) -> io::Result<String> {
    client
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await?;
    let mut all = String::new();
    client.read_to_string(&mut all).await?;
    Ok(all)
}

#[test]
#[ignore = "run by the_server_survives_emfile in a child process"]
fn child_emfile_scenario() {
    if std::env::var(ARM).is_err() {
        panic!("run through the_server_survives_emfile, which sets {ARM}");
    }
    tulipa::run(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new().route("/", get(|| async { "Hello world." }));
        let server = tulipa_http::serve(listener, app);
        let handle = server.handle();
        let _serving = tulipa::spawn(server);

        let mut held = exhaust_descriptors();
        // One descriptor for the client's socket: the server's accept
        // then has none and fails with EMFILE.
        held.pop();
        let mut client = TcpStream::connect(addr).await?;
        let early = tulipa_timer::timeout(Duration::from_millis(300), fetch(&mut client)).await;
        assert!(
            early.is_err(),
            "answered without a descriptor to accept into"
        );
        drop(held);
        // The request already sent is answered once the loop resumes.
        let mut rest = String::new();
        tulipa_timer::timeout(Duration::from_secs(20), client.read_to_string(&mut rest))
            .await
            .expect("the server resumed accepting after descriptors freed up")?;
        assert!(rest.ends_with("Hello world."), "{rest}");
        // And it serves new connections.
        let mut again = TcpStream::connect(addr).await?;
        assert!(fetch(&mut again).await?.ends_with("Hello world."));
        assert_eq!(handle.accepted_connections(), 2);
        println!("http emfile scenario done");
        io::Result::Ok(())
    })
    .unwrap();
}
