//! [`Listener`]: what [`serve`](crate::serve) accepts connections from.

use std::fmt;
use std::io;
use std::pin::Pin;

use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::Stream;

/// A stream of accepted connections: what [`serve`](crate::serve) reads.
///
/// Implemented for tulipa's [`TcpListener`](tulipa_net::TcpListener) and
/// [`UnixListener`](tulipa_net::UnixListener). Their accept streams skip
/// errors about one connection (`ECONNABORTED`, ...) and back off while the
/// process is out of descriptors, so a server survives `EMFILE`; an error
/// the stream yields ends the server.
pub trait Listener: Send + 'static {
    /// An accepted connection.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// The address a listener is bound to.
    type Addr: fmt::Debug + fmt::Display + Send + Sync + Clone + 'static;

    /// The accepted connections, in order; an `Err` is fatal to the server.
    fn incoming(&self) -> Pin<Box<dyn Stream<Item = io::Result<Self::Io>> + Send + '_>>;

    /// The address this listener is bound to.
    ///
    /// # Errors
    ///
    /// The OS error of `getsockname(2)`.
    fn local_addr(&self) -> io::Result<Self::Addr>;

    /// Whether the connections' `poll_write_vectored` writes several
    /// buffers in one system call (see [`Io::with_vectored`](crate::Io::with_vectored)).
    fn writes_vectored(&self) -> bool {
        true
    }

    /// The peer of an accepted connection, as text for the name of its
    /// task (`serve 127.0.0.1:8080: connection from 127.0.0.1:54321`);
    /// `None`, the default, when unknown.
    fn peer(&self, io: &Self::Io) -> Option<String> {
        let _ = io;
        None
    }
}

impl Listener for tulipa_net::TcpListener {
    type Io = tulipa_net::TcpStream;
    type Addr = std::net::SocketAddr;

    fn incoming(&self) -> Pin<Box<dyn Stream<Item = io::Result<Self::Io>> + Send + '_>> {
        Box::pin(futures_lite::StreamExt::map(
            tulipa_net::TcpListener::incoming(self),
            |res| {
                res.inspect(|stream| {
                    // Responses go out whole; waiting for an ACK before the
                    // next small write only adds latency. Failure is harmless.
                    let _ = stream.set_nodelay(true);
                })
            },
        ))
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        tulipa_net::TcpListener::local_addr(self)
    }

    fn peer(&self, io: &Self::Io) -> Option<String> {
        io.peer_addr().ok().map(|a| a.to_string())
    }
}

/// The address of a Unix listener, printable.
#[derive(Clone, Debug)]
pub struct UnixAddr(pub std::path::PathBuf);

impl fmt::Display for UnixAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unix:{}", self.0.display())
    }
}

impl Listener for tulipa_net::UnixListener {
    type Io = tulipa_net::UnixStream;
    type Addr = UnixAddr;

    fn incoming(&self) -> Pin<Box<dyn Stream<Item = io::Result<Self::Io>> + Send + '_>> {
        Box::pin(tulipa_net::UnixListener::incoming(self))
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        let addr = tulipa_net::UnixListener::local_addr(self)?;
        let path = addr
            .as_pathname()
            .map(|p| p.to_path_buf())
            .unwrap_or_default();
        Ok(UnixAddr(path))
    }

    fn peer(&self, io: &Self::Io) -> Option<String> {
        let addr = io.peer_addr().ok()?;
        Some(match addr.as_pathname() {
            Some(p) => format!("unix:{}", p.display()),
            None => "an unnamed Unix socket".to_owned(),
        })
    }
}
