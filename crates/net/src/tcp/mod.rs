//! TCP: [`TcpListener`], [`TcpStream`] and its halves, [`TcpSocket`].
//!
//! Every type wraps a std socket in [`tulipa_reactor::Async`], in
//! non-blocking mode; options go through `socket2`. See each type's docs
//! for its design, and the crate docs for how connecting to a name works.

mod listener;
pub(crate) mod socket;
pub(crate) mod split;
pub(crate) mod stream;

pub use listener::{Incoming, TcpListener};
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use stream::TcpStream;
