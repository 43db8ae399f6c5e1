//! Host name lookup: [`lookup_host`].
//!
//! The system resolver (`getaddrinfo`, through [`std::net::ToSocketAddrs`])
//! blocks, so a name is looked up off the async threads. Literal IP
//! addresses never reach the resolver (see [`Resolve`](crate::Resolve)).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

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

type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'static>>;

/// Resolves `(host, port)` with the blocking system resolver, off the
/// calling thread.
pub(crate) fn lookup(host: String, port: u16) -> LookupFuture {
    let shared = Arc::new(Mutex::new(Slot {
        result: None,
        waker: None,
    }));
    let theirs = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("tulipa-dns".into())
        .spawn(move || {
            let res = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                .map(|it| it.collect::<Vec<_>>());
            let waker = {
                let mut slot = theirs.lock().unwrap_or_else(|e| e.into_inner());
                slot.result = Some(res);
                slot.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        });
    if let Err(e) = spawned {
        return Box::pin(std::future::ready(Err(e)));
    }
    Box::pin(std::future::poll_fn(move |cx: &mut Context<'_>| {
        let mut slot = shared.lock().unwrap_or_else(|e| e.into_inner());
        match slot.result.take() {
            Some(res) => Poll::Ready(res),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }))
}

struct Slot {
    result: Option<io::Result<Vec<SocketAddr>>>,
    waker: Option<Waker>,
}
