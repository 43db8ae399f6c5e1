//! `web::run_app`: prints where it serves, answers, and on SIGTERM shuts
//! down gracefully (a request in flight gets its whole response) and
//! returns. It installs signal handlers, so it runs in a child process:
//! the parent re-executes this test binary, running only the ignored
//! `child_*` test, with a variable that arms it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::routing::get;
use axum::Router;

const ARM: &str = "TULIPA_HTTP_RUN_APP_CHILD";

#[test]
fn run_app_serves_until_sigterm_and_finishes_the_request_in_flight() {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(&exe)
        .args([
            "--ignored",
            "--exact",
            "child_run_app",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ARM, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: the child is killed after 60 s, or as soon as this test
    // fails (the sender is dropped without a word).
    let (done, watchdog) = std::sync::mpsc::channel::<()>();
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        if watchdog.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 {
        // The test harness may print `test child_run_app ... ` first.
        if let Some((_, rest)) = line.trim().split_once("======== Running on http://") {
            addr = Some(rest.trim_end_matches(" ========").to_owned());
            break;
        }
        line.clear();
    }
    let addr = addr.expect("run_app printed where it serves");

    let mut quick = TcpStream::connect(&addr).unwrap();
    quick
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    quick.read_to_string(&mut answer).unwrap();
    assert!(answer.ends_with("Hello world."), "{answer}");

    // A slow request in flight when SIGTERM arrives still gets its answer.
    let mut slow = TcpStream::connect(&addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    slow.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut answer = String::new();
    slow.read_to_string(&mut answer).unwrap();
    assert!(answer.ends_with("slow but whole"), "{answer}");

    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let exit = child.wait().unwrap();
    let _ = done.send(());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(exit.success(), "child failed:\n{rest}\n{stderr}");
    assert!(
        stderr.contains("received SIGTERM, shutting down"),
        "{stderr}"
    );
    assert!(
        rest.contains("run_app returned: 2 requests served"),
        "{rest}"
    );
    assert!(rest.contains("1 connection finished, 0 cut"), "{rest}");
}

#[test]
#[ignore = "run by run_app_serves_until_sigterm_and_finishes_the_request_in_flight"]
fn child_run_app() {
    if std::env::var(ARM).is_err() {
        panic!("run through the parent test, which sets {ARM}");
    }
    let app = Router::new()
        .route("/", get(|| async { "Hello world." }))
        .route(
            "/slow",
            get(|| async {
                tulipa::time::sleep(Duration::from_millis(500)).await;
                "slow but whole"
            }),
        );
    let report = tulipa::run(tulipa_http::web::run_app(app, "127.0.0.1:0")).unwrap();
    println!("run_app returned: {report}");
}
