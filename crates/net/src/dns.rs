//! Host name lookup: [`lookup_host`].
//!
//! The system resolver (`getaddrinfo`, through [`std::net::ToSocketAddrs`])
//! blocks, so a name is looked up on the blocking pool
//! (`tulipa_blocking::spawn_blocking`), never on an async thread. Literal IP
//! addresses never reach the resolver (see [`Resolve`](crate::Resolve)).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;

use crate::addr::{SocketAddrs, ToSocketAddrs};

/// Looks up the socket addresses of `host`, e.g. `"example.com:443"` or
/// `("localhost", 8080)`, in the order the system resolver gives them.
///
/// A literal address (`"127.0.0.1:80"`, `"[::1]:80"`) is returned at once;
/// a name is resolved with `getaddrinfo` off the async threads, because the
/// resolver blocks.
///
/// # Errors
///
/// Fails with [`InvalidInput`](io::ErrorKind::InvalidInput) when a string
/// has no port or an invalid one, and with the resolver's error when the
/// name does not resolve.
///
/// # Cancel safety
///
/// Cancel safe: a lookup already started finishes in the background and
/// its result is dropped.
///
/// # Examples
///
/// ```
/// tulipa::run(async {
///     for addr in tulipa_net::lookup_host("127.0.0.1:80").await? {
///         assert_eq!(addr.port(), 80);
///     }
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn lookup_host<A: ToSocketAddrs>(host: A) -> io::Result<SocketAddrs> {
    host.to_socket_addrs().await
}

type LookupFuture =
    Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + Sync + 'static>>;

/// Resolves `(host, port)` with the blocking system resolver on the
/// blocking pool (`tulipa-blocking`'s current pool).
pub(crate) fn lookup(host: String, port: u16) -> LookupFuture {
    let job = tulipa_blocking::spawn_blocking(move || {
        std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
            .map(|it| it.collect::<Vec<_>>())
            .map_err(|e| io::Error::new(e.kind(), format!("could not resolve `{host}`: {e}")))
    });
    Box::pin(async move {
        match job.await {
            Ok(res) => res,
            Err(e) => Err(io::Error::other(format!(
                "the host name lookup did not run on the blocking pool: {e}"
            ))),
        }
    })
}
