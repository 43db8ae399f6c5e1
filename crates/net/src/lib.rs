//! Networking for tulipa: sockets, names, asyncio streams, transports and
//! protocols.
//!
//! # Map
//!
//! | asyncio | here |
//! | --- | --- |
//! | `open_connection`, `start_server`, `StreamReader`, `StreamWriter` | [`open_connection`], [`start_server`], [`StreamReader`], [`StreamWriter`], [`stream::Server`] |
//! | `open_unix_connection`, `start_unix_server` | [`open_unix_connection`], [`start_unix_server`] |
//! | `loop.sock_connect`, `sock_accept`, `sock_recv`, ... | [`TcpStream`], [`TcpListener`], [`UdpSocket`], [`UnixStream`], [`UnixListener`], [`UnixDatagram`] |
//! | `loop.getaddrinfo` | [`lookup_host`] |
//! | `happy_eyeballs_delay`, `interleave` | [`ConnectOptions`], [`TcpStream::connect_with`] |
//! | `socket.setsockopt` before `bind`/`listen` (backlog, `reuse_port`) | [`TcpSocket`] |
//! | `loop.create_server`, `create_connection`, `create_datagram_endpoint` | [`protocol`] |
//!
//! # Design
//!
//! Every socket is a std socket inside [`tulipa_reactor::Async`], in
//! non-blocking mode: an operation tries the system call first and waits
//! for readiness only when it would block. The crate knows no executor:
//! timing (connect timeouts, happy eyeballs, accept back-off) uses
//! `tulipa-timer`, name lookups run on the blocking pool
//! (`tulipa-blocking`), and background work (a server's accept loop and
//! connection handlers) goes through [`tulipa_core::spawn`], the
//! runtime-agnostic spawn hook.
//!
//! Addresses are anything that implements [`ToSocketAddrs`]: literal
//! addresses resolve without a lookup, host names through [`lookup_host`];
//! connecting to several addresses races them (RFC 8305, see
//! [`ConnectOptions`]).
//!
//! Accept loops ([`TcpListener::incoming`], [`UnixListener::incoming`],
//! the stream and protocol servers) skip errors about one connection and
//! back off, 10 ms doubling to 160 ms, while the process is out of
//! descriptors (`EMFILE`), so a server survives descriptor exhaustion and
//! resumes by itself.
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
