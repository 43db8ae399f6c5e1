//! [`BufferedProtocol`]: a stream protocol that lends the driver its own
//! buffer to read into (asyncio's `BufferedProtocol`), and
//! [`StreamProtocol`], what every `create_*` function accepts: a
//! [`Protocol`] or a [`Buffered`] protocol.
//!
//! # Design
//!
//! The driver does not care which kind it runs: it calls the sealed
//! `Callbacks` trait, whose `receive` performs one read. For a
//! [`Protocol`] it borrows the worker thread's read buffer
//! (`super::read_buf`) for the read and the `data_received` call; for a
//! [`BufferedProtocol`] it reads into the slice `get_buffer` returns and
//! calls `buffer_updated` with the byte count: the bytes land in the
//! protocol's memory with no copy and no buffer of the runtime's.

use std::io;
use std::task::Poll;

use super::read_buf;
use super::transport::Transport;
use super::Protocol;

/// A stream protocol that owns its receive buffer: asyncio's
/// `BufferedProtocol`.
///
/// Instead of being handed a slice of the runtime's buffer
/// (`data_received`), the protocol lends the driver a slice of its own
/// memory ([`get_buffer`](BufferedProtocol::get_buffer)); the driver reads
/// the socket straight into it and reports how many bytes arrived
/// ([`buffer_updated`](BufferedProtocol::buffer_updated)). Use it to parse
/// in place, or to fill a large buffer without copying. Pass it to the
/// `create_*` functions wrapped in [`Buffered`].
///
/// Callbacks come in the same order as for a [`Protocol`]:
/// `connection_made`, then any number of `get_buffer` / `buffer_updated`
/// pairs (`get_buffer` may also be called without a `buffer_updated`
/// following, when the socket had nothing after all), then at most one
/// `eof_received`, then exactly one `connection_lost`.
///
/// # Examples
///
/// A client that collects what the server sends into one fixed buffer:
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tulipa_net::protocol::{create_connection, create_server, Buffered, BufferedProtocol};
/// use tulipa_net::protocol::{Protocol, Transport};
///
/// struct Greeter;
/// impl Protocol for Greeter {
///     fn connection_made(&mut self, t: Transport) {
///         t.write(b"hello");
///         t.close();
///     }
///     fn data_received(&mut self, _: &[u8]) {}
/// }
///
/// struct Collect {
///     buf: Vec<u8>,
///     filled: usize,
///     done: Arc<Mutex<Option<Vec<u8>>>>,
/// }
/// impl BufferedProtocol for Collect {
///     fn get_buffer(&mut self, _size_hint: usize) -> &mut [u8] {
///         &mut self.buf[self.filled..]
///     }
///     fn buffer_updated(&mut self, nbytes: usize) {
///         self.filled += nbytes;
///     }
///     fn connection_lost(&mut self, _: Option<std::io::Error>) {
///         *self.done.lock().unwrap() = Some(self.buf[..self.filled].to_vec());
///     }
/// }
///
/// tulipa::run(async {
///     let server = create_server(|| Greeter, "127.0.0.1:0").await?;
///     let done = Arc::new(Mutex::new(None));
///     let d = done.clone();
///     let collect = move || Buffered(Collect { buf: vec![0; 64], filled: 0, done: d });
///     let t = create_connection(collect, server.local_addr().unwrap()).await?;
///     t.wait_closed().await;
///     assert_eq!(done.lock().unwrap().as_deref(), Some(&b"hello"[..]));
///     server.close();
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub trait BufferedProtocol: Send + 'static {
    /// The connection is up; `transport` writes to it. Keep a clone.
    fn connection_made(&mut self, transport: Transport) {
        let _ = transport;
    }

    /// Lends the buffer the next read goes into: asyncio's
    /// `get_buffer(sizehint)`.
    ///
    /// `size_hint` is the recommended minimum size; tulipa's driver always
    /// passes 0, meaning any size will do (asyncio's `-1`). The returned
    /// slice must not be empty: an empty one ends the connection with
    /// `connection_lost(Some(err))` of kind
    /// [`InvalidInput`](io::ErrorKind::InvalidInput), as asyncio does.
    fn get_buffer(&mut self, size_hint: usize) -> &mut [u8];

    /// `nbytes` bytes (at least one) were written at the start of the
    /// buffer the last [`get_buffer`](BufferedProtocol::get_buffer)
    /// returned: asyncio's `buffer_updated`.
    fn buffer_updated(&mut self, nbytes: usize);

    /// The peer closed its write half, as [`Protocol::eof_received`]:
    /// `true` keeps the connection half-open, `false` (the default) closes
    /// the transport.
    fn eof_received(&mut self) -> bool {
        false
    }

    /// The connection ended, as [`Protocol::connection_lost`].
    fn connection_lost(&mut self, err: Option<io::Error>) {
        let _ = err;
    }

    /// The write buffer went above its high-water mark, as
    /// [`Protocol::pause_writing`].
    fn pause_writing(&mut self) {}

    /// The write buffer drained to its low-water mark, as
    /// [`Protocol::resume_writing`].
    fn resume_writing(&mut self) {}
}

/// Runs a [`BufferedProtocol`] where a stream protocol is expected: make
/// your factory return `Buffered(protocol)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Buffered<B>(pub B);

/// What the stream `create_*` functions run: any [`Protocol`], or a
/// [`BufferedProtocol`] wrapped in [`Buffered`]. Implemented for those
/// only (it is sealed).
pub trait StreamProtocol: sealed::Callbacks {}

impl<P: Protocol> StreamProtocol for P {}
impl<B: BufferedProtocol> StreamProtocol for Buffered<B> {}

pub(crate) mod sealed {
    use std::io;
    use std::task::Poll;

    use crate::protocol::Transport;

    /// One read into a buffer: what the driver hands [`Callbacks::receive`].
    pub(crate) type Read<'a> = dyn FnMut(&mut [u8]) -> Poll<io::Result<usize>> + 'a;

    /// The callbacks as the driver calls them, for both kinds of stream
    /// protocol.
    pub trait Callbacks: Send + 'static {
        fn made(&mut self, transport: Transport);
        /// Performs `read` into this protocol's buffer and delivers the
        /// bytes it read (not an EOF, `Ok(0)`); returns what `read` did.
        fn receive(&mut self, read: &mut Read<'_>) -> Poll<io::Result<usize>>;
        fn eof(&mut self) -> bool;
        fn lost(&mut self, err: Option<io::Error>);
        fn pause(&mut self);
        fn resume(&mut self);
    }
}

impl<P: Protocol> sealed::Callbacks for P {
    fn made(&mut self, transport: Transport) {
        self.connection_made(transport);
    }
    fn receive(&mut self, read: &mut sealed::Read<'_>) -> Poll<io::Result<usize>> {
        let mut buf = read_buf::lease();
        let res = read(&mut buf);
        if let Poll::Ready(Ok(n @ 1..)) = res {
            self.data_received(&buf[..n]);
        }
        res
    }
    fn eof(&mut self) -> bool {
        self.eof_received()
    }
    fn lost(&mut self, err: Option<io::Error>) {
        self.connection_lost(err);
    }
    fn pause(&mut self) {
        self.pause_writing();
    }
    fn resume(&mut self) {
        self.resume_writing();
    }
}

impl<B: BufferedProtocol> sealed::Callbacks for Buffered<B> {
    fn made(&mut self, transport: Transport) {
        self.0.connection_made(transport);
    }
    fn receive(&mut self, read: &mut sealed::Read<'_>) -> Poll<io::Result<usize>> {
        let buf = self.0.get_buffer(0);
        if buf.is_empty() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "BufferedProtocol::get_buffer returned an empty buffer: return a slice of at \
                 least one byte",
            )));
        }
        let res = read(buf);
        if let Poll::Ready(Ok(n @ 1..)) = res {
            self.0.buffer_updated(n);
        }
        res
    }
    fn eof(&mut self) -> bool {
        self.0.eof_received()
    }
    fn lost(&mut self, err: Option<io::Error>) {
        self.0.connection_lost(err);
    }
    fn pause(&mut self) {
        self.0.pause_writing();
    }
    fn resume(&mut self) {
        self.0.resume_writing();
    }
}
