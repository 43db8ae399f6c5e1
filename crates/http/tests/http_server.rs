//! The server: keep-alive, limits, bad input, panics, connection limit,
//! graceful shutdown, and hyper's header-read timeout in virtual time.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Path;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use support::{Raw, TestServer};
use tulipa_http::server::Builder;

fn hello() -> Router {
    Router::new().route("/", get(|| async { "Hello world." }))
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let server = TestServer::start(Builder::new(), hello());
    let mut raw = server.raw();
    for _ in 0..50 {
        let response = raw.get("/").expect("a response");
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), "Hello world.");
    }
    assert_eq!(server.handle.accepted_connections(), 1);
    assert_eq!(server.handle.requests(), 50);
}

#[test]
fn keep_alive_off_closes_after_each_response() {
    let server = TestServer::start(Builder::new().keep_alive(false), hello());
    let mut raw = server.raw();
    assert_eq!(raw.get("/").expect("a response").status, 200);
    assert!(
        raw.closed(),
        "the server must close a connection without keep-alive"
    );
}

#[test]
fn malformed_request_line_gets_400_and_the_server_goes_on() {
    let server = TestServer::start(Builder::new(), hello());
    let mut raw = server.raw();
    raw.send(b"NOT AN HTTP REQUEST\r\n\r\n");
    let response = raw.response().expect("hyper answers a parse error");
    assert_eq!(response.status, 400);
    assert!(raw.closed());

    let mut raw = server.raw();
    raw.send(b"GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n");
    assert_eq!(raw.response().expect("a response").status, 400);

    // Unharmed: a good request on a new connection is served.
    assert_eq!(server.raw().get("/").expect("a response").status, 200);
}

#[test]
fn headers_over_the_limit_get_431() {
    let server = TestServer::start(Builder::new().max_header_size(8 * 1024), hello());
    let mut raw = server.raw();
    let big = "x".repeat(16 * 1024);
    raw.send(format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n").as_bytes());
    assert_eq!(raw.response().expect("a response").status, 431);
    assert_eq!(server.raw().get("/").expect("a response").status, 200);
}

#[test]
fn declared_body_over_the_limit_gets_413_before_it_is_read() {
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    let app = Router::new().route(
        "/upload",
        post(move |body: axum::body::Bytes| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { format!("{}", body.len()) }
        }),
    );
    let server = TestServer::start(Builder::new().max_body_size(Some(1000)), app);
    let mut raw = server.raw();
    // Declare 10 MB and send none of it: the answer must come anyway.
    raw.send(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n");
    let response = raw.response().expect("413 before the body");
    assert_eq!(response.status, 413);
    assert!(response
        .text()
        .contains("over this server's limit of 1000 bytes"));
    assert_eq!(reached.load(Ordering::SeqCst), 0, "the handler never ran");

    // Under the limit: served.
    let mut raw = server.raw();
    raw.send(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    let response = raw.response().expect("a response");
    assert_eq!((response.status, response.text()), (200, "5".to_owned()));
}

#[test]
fn chunked_body_over_the_limit_gets_413_from_axum() {
    let app = Router::new().route(
        "/upload",
        post(|body: axum::body::Bytes| async move { format!("{}", body.len()) }),
    );
    let server = TestServer::start(Builder::new().max_body_size(Some(100)), app);
    let mut raw = server.raw();
    let chunk = "a".repeat(80);
    raw.send(
        format!(
            "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n{chunk}\r\n50\r\n{chunk}\r\n0\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(raw.response().expect("a response").status, 413);
}

#[test]
fn slow_headers_are_cut_off_by_the_header_read_timeout() {
    let server = TestServer::start(
        Builder::new().header_read_timeout(Some(Duration::from_millis(300))),
        hello(),
    );
    let mut raw = server.raw();
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut = false;
    for byte in request.iter() {
        // One byte every 50 ms: the whole head would take 3 s.
        if std::io::Write::write_all(&mut raw.stream, &[*byte]).is_err() {
            cut = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Either a write failed (reset) or the server closed; never a 200.
    match raw.response() {
        None => cut = true,
        Some(r) => assert_ne!(r.status, 200, "a request that slow must not be served"),
    }
    assert!(cut);
}

#[test]
fn header_read_timeout_fires_in_virtual_time() {
    // A paused runtime: hyper's timer is tulipa's, so its 30 s header-read
    // timeout fires when virtual time gets there, with no real waiting.
    let rt = tulipa::Runtime::builder()
        .current_thread()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = tulipa_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Builder::new()
            .header_read_timeout(Some(Duration::from_secs(30)))
            .serve(listener, hello());
        let handle = server.handle();
        drop(tulipa::spawn(server));
        // A client that sends half a request head and then waits, on a
        // plain thread so the runtime sees only the server.
        let client = std::thread::spawn(move || {
            let mut raw = Raw::connect(addr);
            raw.send(b"GET / HTTP/1.1\r\nHo");
            let started = std::time::Instant::now();
            let closed = raw.closed();
            (closed, started.elapsed())
        });
        let virtual_start = tulipa::time::Instant::now();
        let (closed, real) = tulipa::unblock(move || client.join().unwrap()).await;
        assert!(closed, "the server closed the connection");
        let waited = virtual_start.elapsed();
        assert!(
            waited >= Duration::from_secs(30),
            "virtual time reached the timeout ({waited:?})"
        );
        assert!(
            real < Duration::from_secs(20),
            "no real 30 s wait ({real:?})"
        );
        handle.shutdown(Duration::from_secs(1)).await;
    });
}

#[test]
fn a_panicking_handler_gets_500_and_closes_only_its_connection() {
    let app = hello().route(
        "/panic",
        get(|| async {
            if true {
                panic!("handler bug");
            }
            "unreachable"
        }),
    );
    let server = TestServer::start(Builder::new(), app);
    let mut other = server.raw();
    assert_eq!(other.get("/").expect("a response").status, 200);

    let mut raw = server.raw();
    let response = raw.get("/panic").expect("a 500");
    assert_eq!(response.status, 500);
    assert_eq!(response.header("connection").as_deref(), Some("close"));
    assert!(raw.closed());

    // The other connection and new ones are unharmed.
    assert_eq!(other.get("/").expect("a response").status, 200);
    assert_eq!(server.raw().get("/").expect("a response").status, 200);
}

#[test]
fn connection_limit_holds_new_connections_until_one_closes() {
    let server = TestServer::start(Builder::new().max_connections(Some(1)), hello());
    let mut first = server.raw();
    assert_eq!(first.get("/").expect("a response").status, 200);
    // The second connection completes its TCP handshake in the backlog
    // but is not accepted while the first is open.
    let mut second = server.raw();
    second.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    second
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let waited = std::io::Read::read(&mut second.stream, &mut byte);
    assert!(
        matches!(&waited, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut),
        "the second connection must wait, got {waited:?}"
    );
    assert_eq!(server.handle.active_connections(), 1);
    drop(first);
    second
        .stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    assert_eq!(second.response().expect("served after").status, 200);
    assert_eq!(server.handle.accepted_connections(), 2);
}

#[test]
fn graceful_shutdown_finishes_every_request_accepted_before_it() {
    let started = Arc::new(AtomicUsize::new(0));
    let counter = started.clone();
    let app = Router::new().route(
        "/slow",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async {
                tulipa::time::sleep(Duration::from_millis(300)).await;
                "done"
            }
        }),
    );
    let server = TestServer::start(Builder::new(), app);
    const N: usize = 20;
    let clients: Vec<_> = (0..N)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut raw = Raw::connect(addr);
                raw.get("/slow")
            })
        })
        .collect();
    while started.load(Ordering::SeqCst) < N {
        std::thread::sleep(Duration::from_millis(5));
    }
    // An idle keep-alive connection is closed at once, not waited for.
    let mut idle = server.raw();
    let handle = server.handle.clone();
    let report = server
        .rt
        .block_on(async move { handle.shutdown(Duration::from_secs(10)).await });
    let mut complete = 0;
    for client in clients {
        let response = client.join().unwrap().expect("a whole response");
        assert_eq!((response.status, response.text()), (200, "done".to_owned()));
        complete += 1;
    }
    assert_eq!(complete, N);
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.connections_cut, 0);
    assert_eq!(report.requests_served, N as u64);
    assert!(idle.closed(), "the idle connection was closed");
    // New connections are refused once the listener is gone.
    assert!(std::net::TcpStream::connect(server.addr).is_err());
    let serve = server.serve;
    let served = server.rt.block_on(serve).unwrap().unwrap();
    assert_eq!(served, report);
}

#[test]
fn shutdown_cuts_what_is_left_at_the_deadline_and_says_so() {
    let app = Router::new().route(
        "/forever",
        get(|| async {
            tulipa::time::sleep(Duration::from_secs(3600)).await;
            "never"
        }),
    );
    let server = TestServer::start(Builder::new(), app.merge(hello()));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || Raw::connect(addr).get("/forever"))
        })
        .collect();
    while server.handle.in_flight_requests() < 3 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let handle = server.handle.clone();
    let report = server
        .rt
        .block_on(async move { handle.shutdown(Duration::from_millis(200)).await });
    assert_eq!(report.connections_cut, 3, "{report}");
    assert_eq!(report.requests_cut, 3, "{report}");
    assert_eq!(report.connections_finished, 0);
    assert!(!report.is_clean());
    for client in clients {
        assert!(client.join().unwrap().is_none(), "cut: no response");
    }
    assert_eq!(server.handle.active_connections(), 0);
}

#[test]
fn axum_router_with_path_parameters_and_json() {
    use std::collections::HashMap;
    use std::sync::Mutex;

    type Store = Arc<Mutex<HashMap<u64, serde_json::Value>>>;
    let store: Store = Arc::default();
    let app =
        Router::new()
            .route(
                "/stuff/{id}",
                put(
                    |axum::extract::State(store): axum::extract::State<Store>,
                     Path(id): Path<u64>,
                     Json(doc): Json<serde_json::Value>| async move {
                        let created = store.lock().unwrap().insert(id, doc).is_none();
                        if created {
                            http::StatusCode::CREATED
                        } else {
                            http::StatusCode::OK
                        }
                    },
                )
                .get(
                    |axum::extract::State(store): axum::extract::State<Store>,
                     Path(id): Path<u64>| async move {
                        match store.lock().unwrap().get(&id) {
                            Some(doc) => Ok(Json(doc.clone())),
                            None => Err(http::StatusCode::NOT_FOUND),
                        }
                    },
                ),
            )
            .with_state(store);
    let server = TestServer::start(Builder::new(), app);
    let client = tulipa_http::Client::new();
    let base = server.url("/stuff");
    server.rt.block_on(async move {
        let missing = client.get(&format!("{base}/7")).send().await.unwrap();
        assert_eq!(missing.status(), 404);
        let doc = serde_json::json!({"name": "tulipa", "n": [1, 2, 3]});
        let created = client
            .put(&format!("{base}/7"))
            .json(&doc)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let replaced = client
            .put(&format!("{base}/7"))
            .json(&doc)
            .send()
            .await
            .unwrap();
        assert_eq!(replaced.status(), 200);
        let back: serde_json::Value = client
            .get(&format!("{base}/7"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(back, doc);
        let bad = client
            .put(&format!("{base}/8"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
    });
}

#[test]
fn http2_prior_knowledge_is_served() {
    let server = TestServer::start(Builder::new(), hello());
    let addr = server.addr;
    let body = server.rt.block_on(async move {
        let tcp = tulipa_net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http2::handshake(
            tulipa_http::rt::TulipaExecutor::new(),
            tulipa_http::Io::new(tcp),
        )
        .await
        .unwrap();
        drop(tulipa::spawn(conn));
        let mut bodies = Vec::new();
        for _ in 0..3 {
            let req = http::Request::builder()
                .uri(format!("http://{addr}/"))
                .body(http_body_util::Empty::<bytes::Bytes>::new())
                .unwrap();
            let response = sender.send_request(req).await.unwrap();
            assert_eq!(response.version(), http::Version::HTTP_2);
            use http_body_util::BodyExt;
            bodies.push(response.into_body().collect().await.unwrap().to_bytes());
        }
        bodies
    });
    assert!(body.iter().all(|b| b == "Hello world."));
    assert_eq!(server.handle.accepted_connections(), 1);
}

#[test]
fn http1_only_refuses_the_http2_preface() {
    let server = TestServer::start(Builder::new().http2(false), hello());
    let mut raw = server.raw();
    raw.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert!(
        raw.closed(),
        "an HTTP/1-only server closes on the HTTP/2 preface"
    );
    assert_eq!(server.raw().get("/").expect("a response").status, 200);
}

#[test]
fn http2_only_refuses_http1() {
    let server = TestServer::start(Builder::new().http1(false), hello());
    let mut raw = server.raw();
    raw.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut everything = Vec::new();
    let _ = std::io::Read::read_to_end(&mut raw.stream, &mut everything);
    assert!(
        !everything.starts_with(b"HTTP/1"),
        "no HTTP/1 response from an HTTP/2-only server"
    );
}

#[test]
fn serves_on_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("tulipa-http-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("server.sock");
    let _ = std::fs::remove_file(&path);
    let rt = tulipa::Runtime::new().unwrap();
    let answer = rt.block_on(async {
        let listener = tulipa_net::UnixListener::bind(&path).unwrap();
        let server = tulipa_http::serve(listener, hello());
        let handle = server.handle();
        drop(tulipa::spawn(server));
        let stream = tulipa_net::UnixStream::connect(&path).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, String>(tulipa_http::Io::new(stream))
                .await
                .unwrap();
        drop(tulipa::spawn(conn));
        let req = http::Request::builder()
            .uri("/")
            .header("host", "unix")
            .body(String::new())
            .unwrap();
        let response = sender.send_request(req).await.unwrap();
        use http_body_util::BodyExt;
        let body = response.into_body().collect().await.unwrap().to_bytes();
        drop(sender);
        handle.shutdown(Duration::from_secs(1)).await;
        body
    });
    assert_eq!(answer, "Hello world.");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<tulipa_http::Client>();
    send_sync::<tulipa_http::ServerHandle>();
    send_sync::<tulipa_http::Error>();
    send_sync::<tulipa_http::server::Builder>();
    send::<tulipa_http::Serve>();
    send::<tulipa_http::Response>();
    send::<tulipa_http::Body>();
    send::<tulipa_http::RequestBuilder>();
}

#[test]
fn a_client_that_never_reads_costs_bounded_memory() {
    // An endless response body: hyper pulls the next chunk only when the
    // socket takes the previous one, so a client that never reads stalls
    // the producer instead of filling memory.
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = produced.clone();
    let app = Router::new().route(
        "/endless",
        get(move || {
            let counter = counter.clone();
            async move {
                let chunks = futures_lite::stream::repeat_with(move || {
                    counter.fetch_add(64 * 1024, Ordering::SeqCst);
                    Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; 64 * 1024]))
                });
                axum::body::Body::from_stream(chunks)
            }
        }),
    );
    let server = TestServer::start(Builder::new(), app);
    let mut raw = server.raw();
    raw.send(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n");
    // Wait until production stops (bounded: 10 s).
    let mut last = usize::MAX;
    for _ in 0..100 {
        std::thread::sleep(Duration::from_millis(100));
        let now = produced.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        last = now;
    }
    let stalled = produced.load(Ordering::SeqCst);
    assert_eq!(stalled, last, "the producer never stalled");
    assert!(
        stalled < 64 << 20,
        "{stalled} bytes produced for a client that reads nothing"
    );
    // Reading again resumes it.
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..8 {
        let _ = std::io::Read::read(&mut raw.stream, &mut buf).unwrap();
    }
    // Keep reading while waiting (bounded: 100 rounds): how much free
    // room wakes the server's writer is the kernel's choice (a third of
    // the send buffer), so reading only a fixed amount may not reach it
    // on a busy machine.
    raw.stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut resumed = false;
    for _ in 0..100 {
        if produced.load(Ordering::SeqCst) > stalled {
            resumed = true;
            break;
        }
        let _ = std::io::Read::read(&mut raw.stream, &mut buf);
    }
    assert!(resumed, "reading resumed the producer");
}

#[test]
fn serving_without_a_runtime_fails_with_a_clear_error() {
    // A bare block_on has no runtime to run connections on: the first
    // connection ends the server with an error saying so, not silence.
    let listener =
        futures_lite::future::block_on(tulipa_net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || Raw::connect(addr).get("/"));
    let error = futures_lite::future::block_on(tulipa_http::serve(listener, hello())).unwrap_err();
    assert!(error.to_string().contains("inside tulipa::run"), "{error}");
    assert!(
        client.join().unwrap().is_none(),
        "the connection was closed"
    );
}

/// Issue 13: a connection task is named after the server and the peer and
/// records the user's `serve` call as its spawn location, on both runtimes.
#[test]
fn connection_tasks_carry_the_server_and_peer_and_the_callers_location() {
    let runtimes = [
        tulipa::Runtime::builder().current_thread().build().unwrap(),
        tulipa::Runtime::builder()
            .worker_threads(2)
            .build()
            .unwrap(),
    ];
    for rt in runtimes {
        let (body, addr, line) = rt.block_on(async {
            let app = Router::new().route(
                "/",
                get(|| async {
                    let task = tulipa::task::current().expect("a connection is a task");
                    format!(
                        "{}|{}|{}",
                        task.name().unwrap_or(""),
                        task.location().file(),
                        task.location().line()
                    )
                }),
            );
            let listener = tulipa_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let line = line!() + 1;
            let server = tulipa_http::serve(listener, app);
            let handle = server.handle();
            drop(tulipa::spawn(server));
            let body = tulipa::unblock(move || {
                let mut raw = Raw::connect(addr);
                let me = raw.stream.local_addr().unwrap();
                (raw.get("/").expect("a response").text(), me)
            })
            .await;
            handle.shutdown(Duration::from_secs(1)).await;
            (body, addr, line)
        });
        let (text, me) = body;
        assert_eq!(
            text,
            format!("serve {addr}: connection from {me}|{}|{line}", file!())
        );
    }
}
