//! Socket addresses that may need a name lookup: the [`ToSocketAddrs`]
//! trait and its future, [`Resolve`].
//!
//! Design: a literal address (`"127.0.0.1:80"`, `"[::1]:80"`,
//! `(Ipv4Addr, u16)`, a [`SocketAddr`]) resolves synchronously, inside the
//! first poll, with no allocation beyond the address list and no thread
//! hop. Anything else is a host name: it is looked up with the system
//! resolver (`getaddrinfo`) on the blocking pool (`tulipa-blocking`), since
//! the resolver blocks. [`Resolve`] is one enum future over the two cases,
//! so callers (bind, connect, `lookup_host`) never care which it was.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;
use std::task::{Context, Poll};

type Lookup = Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + Sync + 'static>>;

/// Something that names one or more socket addresses, possibly through a
/// host name that must be looked up: the async counterpart of
/// [`std::net::ToSocketAddrs`].
///
/// Implemented for [`SocketAddr`], [`SocketAddrV4`], [`SocketAddrV6`],
/// `(IpAddr, u16)`, `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`, `(&str, u16)`,
/// `(String, u16)`, `"host:port"` strings (`&str`, [`String`]), slices and
/// vectors of [`SocketAddr`], and references to any of those.
///
/// A literal address resolves at once; a host name is looked up with the
/// system resolver on the blocking pool (see [`lookup_host`](crate::lookup_host)).
///
/// # Examples
///
/// ```
/// use tulipa_net::ToSocketAddrs;
///
/// tulipa::run(async {
///     let addrs: Vec<_> = "127.0.0.1:8080".to_socket_addrs().await?.collect();
///     assert_eq!(addrs, ["127.0.0.1:8080".parse().unwrap()]);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub trait ToSocketAddrs {
    /// Starts resolving `self` into socket addresses.
    fn to_socket_addrs(&self) -> Resolve;
}

/// The future of [`ToSocketAddrs::to_socket_addrs`]: resolves to the
/// addresses, in the order the resolver gave them.
///
/// # Cancel safety
///
/// Cancel safe: dropping it abandons the lookup (a lookup already running
/// on the blocking pool finishes there and its result is discarded).
#[must_use = "futures do nothing unless polled"]
pub struct Resolve {
    state: State,
}

enum State {
    /// One literal address: no allocation.
    One(Option<SocketAddr>),
    Ready(Option<io::Result<Vec<SocketAddr>>>),
    Lookup(Lookup),
}

impl Resolve {
    /// A resolution that is already done.
    pub fn ready(result: io::Result<Vec<SocketAddr>>) -> Resolve {
        Resolve {
            state: State::Ready(Some(result)),
        }
    }

    /// A resolution to one address, already done.
    pub fn one(addr: SocketAddr) -> Resolve {
        Resolve {
            state: State::One(Some(addr)),
        }
    }

    /// Resolves `host` (a name or a literal IP address, without brackets)
    /// and `port`; a literal address skips the resolver.
    pub fn host(host: &str, port: u16) -> Resolve {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Resolve::one(SocketAddr::new(ip, port));
        }
        // `[::1]` in the host part of a (host, port) pair.
        if let Some(ip) = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .and_then(|h| h.parse::<Ipv6Addr>().ok())
        {
            return Resolve::one(SocketAddr::new(IpAddr::V6(ip), port));
        }
        if host.is_empty() {
            return Resolve::ready(Err(invalid_input(
                "the host name is empty: pass \"host:port\", e.g. \"localhost:8080\"",
            )));
        }
        Resolve {
            state: State::Lookup(crate::dns::lookup(host.to_owned(), port)),
        }
    }

    /// Resolves a `"host:port"` string; a literal `"ip:port"` or
    /// `"[ipv6]:port"` skips the resolver.
    pub fn host_port(s: &str) -> Resolve {
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Resolve::one(addr);
        }
        let Some((host, port)) = s.rsplit_once(':') else {
            return Resolve::ready(Err(invalid_input(format!(
                "`{s}` has no port: write \"host:port\", e.g. \"localhost:8080\""
            ))));
        };
        let Ok(port) = port.parse::<u16>() else {
            return Resolve::ready(Err(invalid_input(format!(
                "`{s}` has an invalid port `{port}`: it must be a number from 0 to 65535"
            ))));
        };
        Resolve::host(host, port)
    }
}

fn invalid_input(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.into())
}

impl Future for Resolve {
    type Output = io::Result<SocketAddrs>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let res = match &mut this.state {
            State::One(addr) => match addr.take() {
                Some(addr) => {
                    return Poll::Ready(Ok(SocketAddrs {
                        inner: Addrs::One(Some(addr)),
                    }))
                }
                None => panic!("`Resolve` polled after it completed"),
            },
            State::Ready(res) => match res.take() {
                Some(res) => res,
                None => panic!("`Resolve` polled after it completed"),
            },
            State::Lookup(fut) => match fut.as_mut().poll(cx) {
                Poll::Ready(res) => {
                    this.state = State::Ready(None);
                    res
                }
                Poll::Pending => return Poll::Pending,
            },
        };
        Poll::Ready(res.map(|v| SocketAddrs {
            inner: Addrs::Many(v.into_iter()),
        }))
    }
}

impl fmt::Debug for Resolve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::One(Some(_)) | State::Ready(Some(_)) => "ready",
            State::One(None) => "done",
            State::Ready(None) => "done",
            State::Lookup(_) => "looking up",
        };
        f.debug_struct("Resolve").field("state", &state).finish()
    }
}

/// The addresses a [`ToSocketAddrs`] resolved to, in the resolver's order.
#[derive(Debug, Clone)]
pub struct SocketAddrs {
    inner: Addrs,
}

#[derive(Debug, Clone)]
enum Addrs {
    One(Option<SocketAddr>),
    Many(std::vec::IntoIter<SocketAddr>),
}

impl SocketAddrs {
    /// The remaining addresses as a slice.
    pub fn as_slice(&self) -> &[SocketAddr] {
        match &self.inner {
            Addrs::One(a) => a.as_slice(),
            Addrs::Many(it) => it.as_slice(),
        }
    }
}

impl Iterator for SocketAddrs {
    type Item = SocketAddr;

    fn next(&mut self) -> Option<SocketAddr> {
        match &mut self.inner {
            Addrs::One(a) => a.take(),
            Addrs::Many(it) => it.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.as_slice().len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for SocketAddrs {}

impl DoubleEndedIterator for SocketAddrs {
    fn next_back(&mut self) -> Option<SocketAddr> {
        match &mut self.inner {
            Addrs::One(a) => a.take(),
            Addrs::Many(it) => it.next_back(),
        }
    }
}

impl ToSocketAddrs for SocketAddr {
    fn to_socket_addrs(&self) -> Resolve {
        Resolve::one(*self)
    }
}

impl ToSocketAddrs for SocketAddrV4 {
    fn to_socket_addrs(&self) -> Resolve {
        SocketAddr::V4(*self).to_socket_addrs()
    }
}

impl ToSocketAddrs for SocketAddrV6 {
    fn to_socket_addrs(&self) -> Resolve {
        SocketAddr::V6(*self).to_socket_addrs()
    }
}

impl ToSocketAddrs for (IpAddr, u16) {
    fn to_socket_addrs(&self) -> Resolve {
        SocketAddr::new(self.0, self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (Ipv4Addr, u16) {
    fn to_socket_addrs(&self) -> Resolve {
        SocketAddr::new(IpAddr::V4(self.0), self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (Ipv6Addr, u16) {
    fn to_socket_addrs(&self) -> Resolve {
        SocketAddr::new(IpAddr::V6(self.0), self.1).to_socket_addrs()
    }
}

impl ToSocketAddrs for (&str, u16) {
    fn to_socket_addrs(&self) -> Resolve {
        Resolve::host(self.0, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {
    fn to_socket_addrs(&self) -> Resolve {
        Resolve::host(&self.0, self.1)
    }
}

impl ToSocketAddrs for str {
    fn to_socket_addrs(&self) -> Resolve {
        Resolve::host_port(self)
    }
}

impl ToSocketAddrs for String {
    fn to_socket_addrs(&self) -> Resolve {
        Resolve::host_port(self)
    }
}

impl ToSocketAddrs for [SocketAddr] {
    fn to_socket_addrs(&self) -> Resolve {
        Resolve::ready(Ok(self.to_vec()))
    }
}

impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {
    fn to_socket_addrs(&self) -> Resolve {
        Resolve::ready(Ok(self.to_vec()))
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {
    fn to_socket_addrs(&self) -> Resolve {
        Resolve::ready(Ok(self.clone()))
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_socket_addrs(&self) -> Resolve {
        (**self).to_socket_addrs()
    }
}

/// Resolves `addr`, failing when it names no address at all.
/// `e`, from binding `addr`, with the address named in its message (as
/// asyncio's "error while attempting to bind on address ..."), and advice
/// for an address in use. The kind is kept.
pub(crate) fn bind_error(addr: &dyn std::fmt::Display, ip: bool, e: io::Error) -> io::Error {
    let advice = match (e.kind(), ip) {
        (io::ErrorKind::AddrInUse, true) => {
            ": another socket is bound there; stop it, or choose another address \
             (port 0 picks a free port)"
        }
        (io::ErrorKind::AddrInUse, false) => {
            ": a file exists at that path; remove it if it is a stale socket, \
             or choose another path"
        }
        (io::ErrorKind::PermissionDenied, true) => ": ports below 1024 need privileges",
        _ => "",
    };
    io::Error::new(
        e.kind(),
        format!("error while attempting to bind on address {addr}: {e}{advice}"),
    )
}

pub(crate) async fn resolve_nonempty<A: ToSocketAddrs + ?Sized>(
    addr: &A,
) -> io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs().await?.collect();
    if addrs.is_empty() {
        return Err(invalid_input(
            "the address resolved to no socket address: check the host name",
        ));
    }
    Ok(addrs)
}
