//! HTTP on tulipa: aiohttp's client and server, built on hyper.
//!
//! | aiohttp | tulipa-http |
//! | --- | --- |
//! | `aiohttp.ClientSession()` | [`Client::new`], [`Client::builder`] |
//! | `async with session.get(url) as resp` | `let resp = client.get(url).send().await?` |
//! | `await resp.read()`, `text()`, `json()` | [`Response::bytes`], [`Response::text`], [`Response::json`] |
//! | `web.Application()`, `app.router.add_get('/', h)` | an axum `Router`: `Router::new().route("/", get(h))` |
//! | `web.run_app(app)` | [`web::run_app`] |
//! | `loop.create_server(app.make_handler(), host, port)` | [`serve`]`(TcpListener::bind(addr).await?, app)` |
//! | `web.AppRunner` + `runner.cleanup()` | [`Serve::handle`], [`ServerHandle::shutdown`] |
//!
//! # Design
//!
//! hyper does HTTP/1.1 and HTTP/2; axum routes. This crate is the bridge
//! and aiohttp's shape on top:
//!
//! - [`rt`]: hyper's `Executor` (spawning through `tulipa-core`'s spawn
//!   hook) and `Timer` (on `tulipa-timer`, virtual time included).
//! - [`Io`]: any `futures-io` stream (TCP, Unix, TLS) as hyper's I/O,
//!   without `unsafe` and without zeroing the read buffer per read.
//! - [`server`]: [`serve`] any tower `Service` (an axum `Router`) on a
//!   [`Listener`](server::Listener), with keep-alive, HTTP/2 (prior
//!   knowledge and TLS ALPN), header-read timeout, header and body limits,
//!   a connection limit and graceful shutdown.
//! - [`client`]: [`Client`], aiohttp's `ClientSession`: a pool per
//!   origin, tulipa's DNS with happy eyeballs, TLS with ALPN, timeouts,
//!   redirects, streamed bodies, and errors that say what failed where.
//! - [`web`]: `run_app`, which serves until Ctrl-C or SIGTERM.
//!
//! It knows tulipa only through `tulipa-net` (sockets, TLS, DNS),
//! `tulipa-timer`, `tulipa-core`'s spawn hook and `tulipa-process`'s
//! signals, like the other crates; no tokio runtime runs.
//!
//! # Examples
//!
//! ```
//! use axum::{routing::get, Router};
//!
//! tulipa::run(async {
//!     let app = Router::new().route("/", get(|| async { "Hello world." }));
//!     let listener = tulipa_net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = tulipa_http::serve(listener, app);
//!     let handle = server.handle();
//!     tulipa::spawn(server).detach();
//!
//!     let client = tulipa_http::Client::new();
//!     let response = client.get(&format!("http://{addr}/")).send().await?;
//!     assert_eq!(response.status(), 200);
//!     assert_eq!(response.text().await?, "Hello world.");
//!
//!     let report = handle.shutdown(std::time::Duration::from_secs(5)).await;
//!     assert!(report.is_clean());
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })
//! .unwrap();
//! ```
#![forbid(unsafe_code)]

pub mod client;
mod io;
pub mod rt;
pub mod server;
pub mod web;

pub use client::{Body, Client, ClientBuilder, Error, ErrorKind, RequestBuilder, Response};
pub use io::Io;
pub use server::{serve, service_fn, RequestBody, Serve, ServerHandle, ShutdownReport};

pub use bytes::Bytes;
pub use http;
