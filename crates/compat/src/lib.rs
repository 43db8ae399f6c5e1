//! Running libraries written for tokio on tulipa.
//!
//! Most tokio libraries that talk over a socket need only tokio's I/O
//! traits (`tokio::io::AsyncRead`, `AsyncWrite`, `AsyncBufRead`), not its
//! runtime: `tokio-postgres` with its default features off,
//! `tokio-tungstenite`, `h2`, `tokio-rustls`. tulipa's streams implement
//! the futures-io traits, so [`Compat`] translates: `.compat()`
//! ([`CompatExt`]) on a tulipa `TcpStream` or `UnixStream` gives a stream
//! with tokio's traits, and `.compat()` ([`TokioCompatExt`]) on a tokio-io
//! stream gives one with futures-io's. No tokio runtime runs; this crate
//! depends on `tokio` with its default features off, for the traits alone.
//!
//! Libraries that need tokio's runtime itself (reqwest, mongodb: they open
//! `tokio::net` sockets, sleep on tokio's timer, `tokio::spawn`) can run
//! from tulipa through the `tokio` module (feature
//! `tokio-compat`, off by default), at the price of a second reactor and
//! thread, which its docs spell out.
//!
//! The facade re-exports this crate as `tulipa::compat` (feature `compat`).
//!
//! # Examples
//!
//! A tokio-io library over a tulipa socket: the `tokio-postgres`
//! handshake, whose connection future is a tulipa task.
//!
//! ```no_run
//! use tulipa_compat::CompatExt;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let stream = tulipa::net::TcpStream::connect("127.0.0.1:5432").await?;
//! let config: tokio_postgres::Config = "user=postgres dbname=postgres".parse()?;
//! let (client, connection) = config
//!     .connect_raw(stream.compat(), tokio_postgres::NoTls)
//!     .await?;
//! tulipa::spawn(connection).detach();
//! let row = client.query_one("SELECT 1 + 1", &[]).await?;
//! assert_eq!(row.get::<_, i32>(0), 2);
//! # Ok(()) }
//! ```
//!
//! Why not `tokio-util`'s `compat`: it forwards neither
//! `poll_write_vectored` nor `is_write_vectored`, so hyper and
//! tokio-util's codecs over it copy every header and body into one buffer
//! and a tulipa socket never gets a `writev`; this crate forwards them
//! (see [`io`]). The build cost is the same (`tokio` without features, no
//! extra crate).
#![forbid(unsafe_code)]

pub mod io;
#[cfg(feature = "tokio-compat")]
pub mod tokio;

pub use io::{Compat, CompatExt, TokioCompatExt};
