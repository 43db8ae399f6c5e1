//! The client's connector: DNS through tulipa, happy eyeballs, TLS with
//! ALPN, all under the connect timeout; hyper-util's pool calls it for
//! each new connection.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use tulipa_net::tls::{TlsConnector, TlsStream};
use tulipa_net::{ConnectOptions, TcpStream};

use super::error::{ConnectFailure, ErrorKind};
use crate::io::Io;

/// Makes connections for the client's pool.
#[derive(Clone)]
pub(crate) struct Connector {
    pub(crate) tls: TlsConnector,
    pub(crate) options: ConnectOptions,
    pub(crate) connect_timeout: Option<Duration>,
}

impl tower_service::Service<Uri> for Connector {
    type Response = ClientStream;
    type Error = ConnectFailure;
    type Future = Pin<Box<dyn Future<Output = Result<ClientStream, ConnectFailure>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ConnectFailure>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let connect = this.connect(uri);
            match this.connect_timeout {
                None => connect.await,
                Some(limit) => match tulipa_timer::timeout(limit, connect).await {
                    Ok(result) => result,
                    Err(_) => Err(ConnectFailure {
                        kind: ErrorKind::Timeout,
                        error: io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("no connection within the connect timeout of {limit:?}"),
                        ),
                    }),
                },
            }
        })
    }
}

impl Connector {
    async fn connect(&self, uri: Uri) -> Result<ClientStream, ConnectFailure> {
        let fail = |kind, error| ConnectFailure { kind, error };
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => {
                return Err(fail(
                    ErrorKind::InvalidUrl,
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("unsupported scheme {other:?}: use http or https"),
                    ),
                ))
            }
        };
        let host = uri.host().unwrap_or_default();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let addrs: Vec<_> = tulipa_net::lookup_host((host, port))
            .await
            .map_err(|e| fail(ErrorKind::Dns, e))?
            .collect();
        if addrs.is_empty() {
            return Err(fail(
                ErrorKind::Dns,
                io::Error::new(io::ErrorKind::NotFound, format!("{host} has no addresses")),
            ));
        }
        let tcp = TcpStream::connect_with(addrs, &self.options)
            .await
            .map_err(|e| {
                let kind = if e.kind() == io::ErrorKind::TimedOut {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Connect
                };
                fail(kind, e)
            })?;
        if !https {
            return Ok(ClientStream::Plain(Io::new(tcp)));
        }
        let tls = self
            .tls
            .connect(host, tcp)
            .await
            .map_err(|e| fail(ErrorKind::Tls, e))?;
        let h2 = tls.session().alpn_protocol() == Some(b"h2");
        Ok(ClientStream::Tls {
            io: Box::new(Io::with_vectored(tls, false)),
            h2,
        })
    }
}

/// A client connection: plain TCP or TLS over TCP (boxed: a TLS session
/// is a kilobyte of state, a socket a few words).
pub(crate) enum ClientStream {
    Plain(Io<TcpStream>),
    Tls {
        io: Box<Io<TlsStream<TcpStream>>>,
        h2: bool,
    },
}

impl Connection for ClientStream {
    fn connected(&self) -> Connected {
        match self {
            ClientStream::Plain(_) => Connected::new(),
            ClientStream::Tls { h2: true, .. } => Connected::new().negotiated_h2(),
            ClientStream::Tls { h2: false, .. } => Connected::new(),
        }
    }
}

impl hyper::rt::Read for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(io) => Pin::new(io).poll_read(cx, buf),
            ClientStream::Tls { io, .. } => Pin::new(&mut **io).poll_read(cx, buf),
        }
    }
}

impl hyper::rt::Write for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(io) => Pin::new(io).poll_write(cx, buf),
            ClientStream::Tls { io, .. } => Pin::new(&mut **io).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Plain(io) => Pin::new(io).poll_write_vectored(cx, bufs),
            ClientStream::Tls { io, .. } => Pin::new(&mut **io).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientStream::Plain(io) => hyper::rt::Write::is_write_vectored(io),
            ClientStream::Tls { io, .. } => hyper::rt::Write::is_write_vectored(&**io),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(io) => Pin::new(io).poll_flush(cx),
            ClientStream::Tls { io, .. } => Pin::new(&mut **io).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Plain(io) => Pin::new(io).poll_shutdown(cx),
            ClientStream::Tls { io, .. } => Pin::new(&mut **io).poll_shutdown(cx),
        }
    }
}
