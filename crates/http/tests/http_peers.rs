//! tulipa-http against programs nobody here wrote: curl, Python's
//! `http.client`, `aiohttp` (client and server) and `http.server`, nginx,
//! h2load and wrk. `cargo xtask peers` installs them (CI runs it first);
//! a missing one fails the test with the command to install it, it is
//! never skipped.

#[path = "support/peers.rs"]
mod peers;
mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Path;
use axum::routing::{get, put};
use axum::{Json, Router};
use support::TestServer;
use tulipa_http::server::Builder;
use tulipa_http::Client;

fn hello() -> Router {
    Router::new().route("/", get(|| async { "Hello world." }))
}

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "peer failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A child process killed when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn curl_over_http1_keep_alive_and_http2_prior_knowledge() {
    let server = TestServer::start(Builder::new(), hello());
    let url = server.url("/");
    // Three URLs in one curl: one connection, kept alive.
    let out = stdout(&peers::curl(&[&url, &url, &url]));
    assert_eq!(out, "Hello world.".repeat(3));
    assert_eq!(server.handle.accepted_connections(), 1);

    let out = stdout(&peers::curl(&[
        "--http2-prior-knowledge",
        "-w",
        " %{http_version}",
        &url,
    ]));
    assert_eq!(out, "Hello world. 2");
}

#[test]
fn curl_drives_an_axum_router_with_path_parameters_and_json() {
    type Store = Arc<Mutex<std::collections::HashMap<u64, serde_json::Value>>>;
    let app =
        Router::new()
            .route(
                "/stuff/{id}",
                put(
                    |axum::extract::State(store): axum::extract::State<Store>,
                     Path(id): Path<u64>,
                     Json(doc): Json<serde_json::Value>| async move {
                        match store.lock().unwrap().insert(id, doc) {
                            None => http::StatusCode::CREATED,
                            Some(_) => http::StatusCode::OK,
                        }
                    },
                )
                .get(
                    |axum::extract::State(store): axum::extract::State<Store>,
                     Path(id): Path<u64>| async move {
                        store
                            .lock()
                            .unwrap()
                            .get(&id)
                            .cloned()
                            .map(Json)
                            .ok_or(http::StatusCode::NOT_FOUND)
                    },
                ),
            )
            .with_state(Store::default());
    let server = TestServer::start(Builder::new(), app);
    let url = server.url("/stuff/42");
    let code = |args: &[&str]| stdout(&peers::curl(args));
    assert_eq!(
        code(&["-o", "/dev/null", "-w", "%{http_code}", &url]),
        "404"
    );
    let put = [
        "-X",
        "PUT",
        "-H",
        "content-type: application/json",
        "-d",
        r#"{"colour":"red","petals":6}"#,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url,
    ];
    assert_eq!(code(&put), "201");
    assert_eq!(code(&put), "200");
    let doc: serde_json::Value = serde_json::from_str(&code(&[&url])).unwrap();
    assert_eq!(doc, serde_json::json!({"colour": "red", "petals": 6}));
    // A body that is not JSON: axum says 400, over HTTP/2 too.
    let bad = [
        "--http2-prior-knowledge",
        "-X",
        "PUT",
        "-H",
        "content-type: application/json",
        "-d",
        "{nope",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url,
    ];
    assert_eq!(code(&bad), "400");
}

#[test]
fn curl_over_tls_negotiates_http2() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let dir = tempdir("curl-tls");
    let ca = dir.join("cert.pem");
    std::fs::write(&ca, ck.cert.pem()).unwrap();
    let acceptor = tulipa_net::tls::TlsAcceptor::from_pem(
        ck.cert.pem().as_bytes(),
        ck.key_pair.serialize_pem().as_bytes(),
    )
    .unwrap();
    let server = TestServer::start(Builder::new().tls(acceptor), hello());
    let url = format!("https://localhost:{}/", server.addr.port());
    let out = stdout(&peers::curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        "-w",
        " %{http_version}",
        &url,
    ]));
    assert_eq!(out, "Hello world. 2");
    let out = stdout(&peers::curl(&[
        "--http1.1",
        "--cacert",
        ca.to_str().unwrap(),
        "-w",
        " %{http_version}",
        &url,
    ]));
    assert_eq!(out, "Hello world. 1.1");
}

#[test]
fn python_http_client_keeps_alive_and_gets_400_for_garbage() {
    let server = TestServer::start(Builder::new(), hello());
    let script = r#"
import http.client, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
conn = http.client.HTTPConnection(host, port, timeout=10)
bodies = []
for _ in range(10):
    conn.request("GET", "/")
    r = conn.getresponse()
    bodies.append((r.status, r.read().decode()))
assert bodies == [(200, "Hello world.")] * 10, bodies
s = socket.create_connection((host, port), timeout=10)
s.sendall(b"GARBAGE\r\n\r\n")
reply = s.recv(1024)
print(reply.split(b"\r\n")[0].decode())
"#;
    let port = server.addr.port().to_string();
    let out = stdout(&peers::run_python(script, &["127.0.0.1", &port]));
    assert_eq!(out.trim(), "HTTP/1.1 400 Bad Request");
    assert_eq!(server.handle.accepted_connections(), 2);
}

#[test]
fn aiohttp_client_bounded_by_a_semaphore() {
    let server = TestServer::start(Builder::new(), hello());
    // The tutorial's client: gather over a semaphore, one session.
    let script = r#"
import asyncio, sys, aiohttp
async def get(session, sem, url):
    async with sem:
        async with session.get(url) as resp:
            return resp.status, await resp.text()
async def main(url):
    sem = asyncio.Semaphore(8)
    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(*(get(session, sem, url) for _ in range(200)))
    assert results == [(200, "Hello world.")] * 200, results[:3]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=False)) as s:
        async with s.get(url) as r:
            print(r.version, r.headers["Content-Type"])
asyncio.run(main(sys.argv[1]))
"#;
    let out = stdout(&peers::run_python(script, &[&server.url("/")]));
    assert_eq!(
        out.trim(),
        "HttpVersion(major=1, minor=1) text/plain; charset=utf-8"
    );
    assert_eq!(server.handle.requests(), 201);
    assert!(server.handle.accepted_connections() <= 9);
}

/// Starts a Python server script that prints its port on its first line.
fn python_server(script: &str) -> (Reaped, SocketAddr) {
    let mut child = Command::new(peers::peer("PYTHON"))
        .args(["-u", "-c", script])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("the python server printed {line:?}, not its port"));
    (Reaped(child), SocketAddr::from(([127, 0, 0, 1], port)))
}

#[test]
fn tulipa_client_against_aiohttp_web() {
    let (_server, addr) = python_server(
        r#"
import asyncio, socket
from aiohttp import web
async def hello(request):
    return web.Response(text="Hello, " + request.match_info.get("name", "world"))
async def latin(request):
    return web.Response(body="café".encode("latin-1"), content_type="text/plain", charset="latin-1")
async def data(request):
    return web.json_response({"items": list(range(5))})
async def echo(request):
    return web.Response(body=await request.read())
async def redirect(request):
    raise web.HTTPFound("/hello/redirected")
async def stream(request):
    resp = web.StreamResponse()
    await resp.prepare(request)
    for i in range(50):
        await resp.write(b"%03d" % i)
    await resp.write_eof()
    return resp
async def main():
    app = web.Application()
    app.add_routes([web.get("/hello/{name}", hello), web.get("/latin", latin),
                    web.get("/json", data), web.post("/echo", echo),
                    web.get("/redirect", redirect), web.get("/stream", stream)])
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket(); sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    print(sock.getsockname()[1])
    await asyncio.Event().wait()
asyncio.run(main())
"#,
    );
    let base = format!("http://{addr}");
    let rt = tulipa::Runtime::new().unwrap();
    rt.block_on(async move {
        let client = Client::new();
        let text = client
            .get(&format!("{base}/hello/tulipa"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(text, "Hello, tulipa");
        let latin = client.get(&format!("{base}/latin")).send().await.unwrap();
        assert_eq!(latin.text().await.unwrap(), "café");
        let json: serde_json::Value = client
            .get(&format!("{base}/json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(json, serde_json::json!({"items": [0, 1, 2, 3, 4]}));
        let echoed = client
            .post(&format!("{base}/echo"))
            .body(vec![7u8; 100_000])
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(echoed.len(), 100_000);
        let redirected = client
            .get(&format!("{base}/redirect"))
            .send()
            .await
            .unwrap();
        assert_eq!(redirected.url().path(), "/hello/redirected");
        assert_eq!(redirected.text().await.unwrap(), "Hello, redirected");
        let streamed = client
            .get(&format!("{base}/stream"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let expected: String = (0..50).map(|i| format!("{i:03}")).collect();
        assert_eq!(streamed, expected.as_bytes());
    });
}

#[test]
fn tulipa_client_against_python_http_server_closing_each_connection() {
    let dir = tempdir("http-server");
    std::fs::write(dir.join("page.html"), "<a href=\"x\">x</a>".repeat(1000)).unwrap();
    let script = format!(
        r#"
import http.server, functools
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory={dir:?})
class Quiet(handler.func):
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory={dir:?}))
print(srv.server_address[1], flush=True)
srv.serve_forever()
"#,
        dir = dir.to_str().unwrap()
    );
    let (_server, addr) = python_server(&script);
    let rt = tulipa::Runtime::new().unwrap();
    rt.block_on(async move {
        let client = Client::new();
        // HTTP/1.0 answers close the connection: each GET needs a new one,
        // and the pool must not hand out a closed connection.
        for _ in 0..20 {
            let response = client
                .get(&format!("http://{addr}/page.html"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.bytes().await.unwrap().len(), 17 * 1000);
        }
        let missing = client
            .get(&format!("http://{addr}/nope"))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
    });
}

/// A port that was free a moment ago, for servers that cannot take port 0.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tulipa-http-peers-{}-{name}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn wait_for_port(addr: SocketAddr, what: &str) {
    for _ in 0..500 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{what} did not start listening on {addr}");
}

#[test]
fn nginx_serves_files_and_proxies_to_tulipa() {
    // tulipa's server behind nginx (nginx as its HTTP/1.1 client), and
    // nginx's static files for tulipa's client.
    let upstream = TestServer::start(
        Builder::new(),
        hello().route("/upstream", get(|| async { "from tulipa" })),
    );
    let dir = tempdir("nginx");
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::create_dir_all(dir.join("html")).unwrap();
    std::fs::write(dir.join("html/file.bin"), &body).unwrap();
    let port = free_port();
    let conf = format!(
        r#"
daemon off;
master_process off;
worker_processes 1;
user root;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream tulipa {{ server {upstream}; keepalive 8; }}
    server {{
        listen 127.0.0.1:{port};
        keepalive_requests 1000;
        location /static/ {{ alias {dir}/html/; }}
        location / {{
            proxy_pass http://tulipa;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"#,
        dir = dir.display(),
        upstream = upstream.addr,
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(peers::peer("NGINX"))
        .args(["-p", dir.to_str().unwrap(), "-c", "nginx.conf"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nginx");
    let _nginx = Reaped(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_port(addr, "nginx");
    let rt = tulipa::Runtime::new().unwrap();
    rt.block_on(async move {
        let client = Client::new();
        for _ in 0..20 {
            let got = client
                .get(&format!("http://{addr}/static/file.bin"))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            assert_eq!(got, body);
        }
        for _ in 0..20 {
            let text = client
                .get(&format!("http://{addr}/upstream"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(text, "from tulipa");
        }
    });
    assert_eq!(upstream.handle.requests(), 20);
    assert!(
        upstream.handle.accepted_connections() <= 2,
        "nginx kept its upstream connection alive"
    );
}

#[test]
fn h2load_and_wrk_bounded_load_without_errors() {
    let server = TestServer::start(Builder::new(), hello());
    let url = server.url("/");
    // h2load: HTTP/2 prior knowledge, 4000 requests, 16 connections, 8
    // streams each.
    let out = Command::new(peers::peer("H2LOAD"))
        .args(["-n", "4000", "-c", "16", "-m", "8", &url])
        .output()
        .expect("run h2load");
    let text = stdout(&out);
    assert!(
        text.contains("4000 succeeded, 0 failed, 0 errored"),
        "h2load: {text}"
    );
    assert!(text.contains("status codes: 4000 2xx"), "h2load: {text}");

    // wrk: HTTP/1.1 keep-alive, one second, 32 connections.
    let out = Command::new(peers::peer("WRK"))
        .args(["-t1", "-c32", "-d1s", &url])
        .output()
        .expect("run wrk");
    let text = stdout(&out);
    assert!(!text.contains("Non-2xx"), "wrk: {text}");
    assert!(!text.contains("Socket errors"), "wrk: {text}");
    let requests: u64 = text
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.parse().ok())
        })
        .flatten()
        .unwrap_or_else(|| panic!("no request count in wrk's output: {text}"));
    assert!(requests > 0);
    // wrk counts the responses it read; up to one request per connection
    // may have been in flight when it stopped.
    let served = server.handle.requests();
    assert!(
        (4000 + requests..=4000 + requests + 32).contains(&served),
        "server counted {served}, peers {} ",
        4000 + requests
    );
}
