//! TCP: [`TcpListener`], [`TcpStream`] and its halves, [`TcpSocket`].
//!
//! Every type wraps a std socket in [`tulipa_reactor::Async`], in
//! non-blocking mode; options go through `socket2`. See each type's docs
//! for its design, and the crate docs for how connecting to a name works.

mod listener;
pub(crate) mod socket;
pub(crate) mod stream;

pub use listener::{Incoming, TcpListener};
pub use socket::TcpSocket;
pub use stream::TcpStream;

/// The read half of a [`TcpStream`], borrowed; from [`TcpStream::split`].
pub type ReadHalf<'a> = crate::split::ReadHalf<'a, TcpStream>;
/// The write half of a [`TcpStream`], borrowed; from [`TcpStream::split`].
pub type WriteHalf<'a> = crate::split::WriteHalf<'a, TcpStream>;
/// The read half of a [`TcpStream`], owned; from [`TcpStream::into_split`].
pub type OwnedReadHalf = crate::split::OwnedReadHalf<TcpStream>;
/// The write half of a [`TcpStream`], owned; from
/// [`TcpStream::into_split`]. Dropping it shuts the write direction down.
pub type OwnedWriteHalf = crate::split::OwnedWriteHalf<TcpStream>;
/// Halves of two different [`TcpStream`]s given to `reunite`; both are
/// handed back.
pub type ReuniteError = crate::split::ReuniteError<TcpStream>;
