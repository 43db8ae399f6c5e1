//! Shared helpers of the HTTP tests: a server on a background runtime, and
//! a raw HTTP/1.1 client on blocking std sockets (so a test can send bytes
//! no well-behaved client would).
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use tulipa_http::server::Builder;
use tulipa_http::ServerHandle;

/// A server running on a 2-worker runtime of its own.
pub struct TestServer {
    pub rt: tulipa::Runtime,
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    pub serve: tulipa::JoinHandle<std::io::Result<tulipa_http::ShutdownReport>>,
}

impl TestServer {
    /// Serves `app` with `builder` on 127.0.0.1, port chosen by the OS.
    pub fn start(builder: Builder, app: axum::Router) -> TestServer {
        let rt = tulipa::Runtime::builder()
            .worker_threads(2)
            .build()
            .expect("runtime");
        let (addr, handle, serve) = rt.block_on(async move {
            let listener = tulipa_net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let serve = builder.serve(listener, app);
            let handle = serve.handle();
            (addr, handle, tulipa::spawn(serve))
        });
        TestServer {
            rt,
            addr,
            handle,
            serve,
        }
    }

    /// `http://ADDR` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Connects a raw client.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.addr)
    }
}

/// A blocking HTTP/1.1 connection that reads whole responses.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

/// A response read by [`Raw`].
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Raw {
    pub fn connect(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one response (Content-Length bodies only), or `None` if the
    /// server closed the connection first.
    pub fn response(&mut self) -> Option<RawResponse> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            if !self.fill() {
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status code");
        let mut response = RawResponse {
            status,
            head,
            body: Vec::new(),
        };
        let len: usize = response
            .header("content-length")
            .map(|v| v.parse().expect("content-length"))
            .unwrap_or(0);
        self.buf.drain(..head_end + 4);
        while self.buf.len() < len {
            assert!(self.fill(), "connection closed inside a body");
        }
        response.body = self.buf.drain(..len).collect();
        Some(response)
    }

    /// Sends a GET and reads its response.
    pub fn get(&mut self, path: &str) -> Option<RawResponse> {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
        self.response()
    }

    /// Whether the server closed the connection (EOF or reset) with nothing
    /// more to read.
    pub fn closed(&mut self) -> bool {
        self.buf.is_empty() && !self.fill()
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => false,
            Err(e) => panic!("read: {e}"),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
