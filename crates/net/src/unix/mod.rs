//! Unix domain sockets: [`UnixListener`], [`UnixStream`] and its halves,
//! [`UnixDatagram`].
//!
//! Like the TCP types, each wraps the std socket in
//! [`tulipa_reactor::Async`] in non-blocking mode. Paths are file system
//! paths; on Linux, a path whose first byte is NUL names an abstract socket
//! (use [`std::os::unix::net::SocketAddr`] APIs through `from_std` for
//! those).

mod datagram;
mod listener;
mod stream;

pub use datagram::UnixDatagram;
pub(crate) use listener::{bind_server, SocketFile};
pub use listener::{Incoming, UnixListener};
pub use stream::UnixStream;

pub use std::os::unix::net::SocketAddr;

/// The read half of a [`UnixStream`], borrowed; from [`UnixStream::split`].
pub type ReadHalf<'a> = crate::split::ReadHalf<'a, UnixStream>;
/// The write half of a [`UnixStream`], borrowed; from [`UnixStream::split`].
pub type WriteHalf<'a> = crate::split::WriteHalf<'a, UnixStream>;
/// The read half of a [`UnixStream`], owned; from
/// [`UnixStream::into_split`].
pub type OwnedReadHalf = crate::split::OwnedReadHalf<UnixStream>;
/// The write half of a [`UnixStream`], owned; from
/// [`UnixStream::into_split`]. Dropping it shuts the write direction down.
pub type OwnedWriteHalf = crate::split::OwnedWriteHalf<UnixStream>;
/// Halves of two different [`UnixStream`]s given to `reunite`; both are
/// handed back.
pub type ReuniteError = crate::split::ReuniteError<UnixStream>;
