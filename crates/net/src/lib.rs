//! Networking for tulipa: sockets, names, asyncio streams, transports and
//! protocols.
//!
//! # Map
//!
//! | asyncio | here |
//! | --- | --- |
//! | `loop.sock_connect`, `open_connection` (sockets) | [`TcpStream::connect`], [`TcpStream::connect_with`] |
//! | `loop.create_server` (sockets) | [`TcpListener::bind`], [`TcpListener::incoming`] |
//! | `loop.getaddrinfo` | [`lookup_host`] |
//! | `happy_eyeballs_delay`, `interleave` | [`ConnectOptions`] |
//!
//! # Design
//!
//! Every socket is a std socket inside [`tulipa_reactor::Async`], in
//! non-blocking mode: an operation tries the system call first and waits
//! for readiness only when it would block. The crate knows no executor:
//! timing (connect timeouts, happy eyeballs, accept back-off) uses
//! `tulipa-timer`, name lookups run off the async threads, and background
//! work (a server's connection handlers) goes through
//! [`tulipa_core::spawn`], the runtime-agnostic spawn hook.
//!
//! Addresses are anything that implements [`ToSocketAddrs`]: literal
//! addresses resolve without a lookup, host names through [`lookup_host`].
#![forbid(unsafe_code)]

mod accept;
mod addr;
mod connect;
mod dns;
pub mod protocol;
pub mod split;
pub mod stream;
pub mod tcp;
#[cfg(feature = "tls")]
pub mod tls;
mod udp;
pub mod unix;

pub use addr::{Resolve, SocketAddrs, ToSocketAddrs};
pub use connect::{ConnectError, ConnectOptions, DEFAULT_HAPPY_EYEBALLS_DELAY};
pub use dns::lookup_host;
pub use stream::{
    open_connection, open_unix_connection, start_server, start_unix_server, StreamReader,
    StreamWriter,
};
pub use tcp::{TcpListener, TcpSocket, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
