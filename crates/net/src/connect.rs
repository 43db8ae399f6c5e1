//! Connecting to a name with several addresses: [`ConnectOptions`] and the
//! RFC 8305 "happy eyeballs" race.
//!
//! # The algorithm
//!
//! 1. Resolve the name (literal addresses skip the resolver).
//! 2. Order the addresses: keep the resolver's first address first, then
//!    alternate address families (IPv6, IPv4, IPv6, ... or the reverse,
//!    after the first family), each family keeping the resolver's order
//!    (RFC 8305 section 4, with a "first address family count" of 1).
//! 3. Start the first attempt. Start the next one when the
//!    [`happy_eyeballs_delay`](ConnectOptions::happy_eyeballs_delay)
//!    passes without a winner, or at once when an attempt fails. Attempts
//!    run concurrently; the first to connect wins and the others are
//!    dropped (their sockets closed).
//! 4. When every attempt failed, return the last failure, wrapped in a
//!    [`ConnectError`] that names its address.
//!
//! With no delay (`happy_eyeballs_delay(None)`) the attempts run one after
//! the other, each starting when the previous fails. A single address
//! skips all of this and connects directly, with no allocation for the
//! race. A timeout, if set, covers the lookup and every attempt.
//!
//! The race is one hand-written future: a vector of in-flight attempts and
//! one [`Sleep`] that is reset each time an attempt starts. No task is
//! spawned, so it works under any executor.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tulipa_timer::{sleep, Instant, Sleep};

use crate::addr::{resolve_nonempty, ToSocketAddrs};
use crate::tcp::socket::TcpSocket;
use crate::TcpStream;

/// The default delay between two connection attempts: 250 ms, as in
/// RFC 8305 and asyncio's `happy_eyeballs_delay`.
pub const DEFAULT_HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(250);

/// How [`TcpStream::connect_with`] connects: the happy eyeballs delay, a
/// timeout, and socket options for the new connection.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_net::ConnectOptions;
///
/// let options = ConnectOptions::new()
///     .timeout(Duration::from_secs(10))
///     .happy_eyeballs_delay(Some(Duration::from_millis(300)))
///     .nodelay(true);
/// assert_eq!(options.get_timeout(), Some(Duration::from_secs(10)));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectOptions {
    happy_eyeballs_delay: Option<Duration>,
    timeout: Option<Duration>,
    nodelay: bool,
    interleave: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            happy_eyeballs_delay: Some(DEFAULT_HAPPY_EYEBALLS_DELAY),
            timeout: None,
            nodelay: false,
            interleave: true,
        }
    }
}

impl ConnectOptions {
    /// The defaults: a 250 ms happy eyeballs delay, families interleaved,
    /// no timeout, Nagle's algorithm on.
    pub fn new() -> ConnectOptions {
        ConnectOptions::default()
    }

    /// Sets how long an attempt may run before the next one starts in
    /// parallel; `None` tries the addresses one after the other, each
    /// after the previous failed (asyncio's `happy_eyeballs_delay=None`).
    pub fn happy_eyeballs_delay(mut self, delay: Option<Duration>) -> ConnectOptions {
        self.happy_eyeballs_delay = delay;
        self
    }

    /// Sets a limit on the whole connect, name lookup included.
    pub fn timeout(mut self, timeout: Duration) -> ConnectOptions {
        self.timeout = Some(timeout);
        self
    }

    /// Sets `TCP_NODELAY` on the new connection.
    pub fn nodelay(mut self, nodelay: bool) -> ConnectOptions {
        self.nodelay = nodelay;
        self
    }

    /// Whether to interleave address families (the default) or keep the
    /// resolver's order exactly (asyncio's `interleave=0`).
    pub fn interleave(mut self, interleave: bool) -> ConnectOptions {
        self.interleave = interleave;
        self
    }

    /// The happy eyeballs delay.
    pub fn get_happy_eyeballs_delay(&self) -> Option<Duration> {
        self.happy_eyeballs_delay
    }

    /// The timeout, if any.
    pub fn get_timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

/// The inner error of a failed connect: which address failed, and why.
///
/// [`TcpStream::connect`] returns an [`io::Error`] of the same kind whose
/// inner error is this; reach it with
/// [`io::Error::get_ref`] and `downcast_ref::<ConnectError>()`.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConnectError {
    /// The address of the attempt.
    pub addr: SocketAddr,
    /// How many addresses were tried in all.
    pub attempts: usize,
    /// The attempt's error.
    pub source: io::Error,
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not connect to {}: {}", self.addr, self.source)?;
        if self.attempts > 1 {
            write!(f, " (the last of {} addresses tried)", self.attempts)?;
        }
        Ok(())
    }
}

impl Error for ConnectError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

fn connect_error(addr: SocketAddr, attempts: usize, source: io::Error) -> io::Error {
    io::Error::new(
        source.kind(),
        ConnectError {
            addr,
            attempts,
            source,
        },
    )
}

/// Connects one address with the options' socket settings.
async fn connect_one(addr: SocketAddr, nodelay: bool) -> io::Result<TcpStream> {
    let socket = TcpSocket::for_addr(addr)?;
    if nodelay {
        socket.set_nodelay(true)?;
    }
    socket.connect(addr).await
}

/// Resolves `addr` and connects with `options`.
pub(crate) async fn connect<A: ToSocketAddrs + ?Sized>(
    addr: &A,
    options: &ConnectOptions,
) -> io::Result<TcpStream> {
    let work = async {
        let addrs = resolve_nonempty(addr).await?;
        connect_addrs(addrs, options).await
    };
    match options.timeout {
        None => work.await,
        Some(limit) => match tulipa_timer::timeout(limit, work).await {
            Ok(res) => res,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "connecting timed out after {limit:?}: the host did not answer in time; \
                     raise ConnectOptions::timeout or check the address"
                ),
            )),
        },
    }
}

/// Connects to the first of `addrs` that accepts, racing them as RFC 8305
/// describes (see the module docs).
pub(crate) async fn connect_addrs(
    mut addrs: Vec<SocketAddr>,
    options: &ConnectOptions,
) -> io::Result<TcpStream> {
    if let [addr] = addrs[..] {
        return connect_one(addr, options.nodelay)
            .await
            .map_err(|e| connect_error(addr, 1, e));
    }
    if options.interleave {
        addrs = interleave(addrs);
    }
    Race::new(addrs, options).await
}

/// Reorders addresses per RFC 8305 section 4: the first address's family
/// first, then alternating families, each family in the resolver's order.
pub(crate) fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return addrs;
    };
    let first_v6 = first.is_ipv6();
    let (mut a, mut b): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|x| x.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut a, mut b) = (a.drain(..), b.drain(..));
    loop {
        match (a.next(), b.next()) {
            (None, None) => break,
            (x, y) => out.extend(x.into_iter().chain(y)),
        }
    }
    out
}

type Attempt = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

/// The happy eyeballs race over an ordered list of addresses.
struct Race {
    addrs: Vec<SocketAddr>,
    /// Index of the next address to try.
    next: usize,
    /// In-flight attempts and their addresses.
    running: Vec<(SocketAddr, Attempt)>,
    /// Fires when the next attempt is due; `None` without a delay.
    timer: Option<Sleep>,
    delay: Option<Duration>,
    nodelay: bool,
    last_error: Option<(SocketAddr, io::Error)>,
}

impl Race {
    fn new(addrs: Vec<SocketAddr>, options: &ConnectOptions) -> Race {
        Race {
            addrs,
            next: 0,
            running: Vec::new(),
            timer: None,
            delay: options.happy_eyeballs_delay,
            nodelay: options.nodelay,
            last_error: None,
        }
    }

    /// Starts the next attempt and re-arms the timer.
    fn start_next(&mut self) {
        let addr = self.addrs[self.next];
        self.next += 1;
        self.running
            .push((addr, Box::pin(connect_one(addr, self.nodelay))));
        if let Some(delay) = self.delay {
            let deadline = Instant::now() + delay;
            match &mut self.timer {
                Some(t) => t.reset(deadline),
                None => self.timer = Some(sleep(delay)),
            }
        }
    }
}

impl Future for Race {
    type Output = io::Result<TcpStream>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<TcpStream>> {
        let this = self.get_mut();
        loop {
            let more = this.next < this.addrs.len();
            if this.running.is_empty() {
                if !more {
                    let (addr, e) = match this.last_error.take() {
                        Some(x) => x,
                        None => unreachable!("every address was tried and none succeeded"),
                    };
                    return Poll::Ready(Err(connect_error(addr, this.addrs.len(), e)));
                }
                this.start_next();
            }
            // Poll every attempt; a failure frees a slot at once.
            let mut failed = false;
            let mut i = 0;
            while i < this.running.len() {
                match this.running[i].1.as_mut().poll(cx) {
                    Poll::Ready(Ok(stream)) => {
                        // The winner; the others are dropped with `this`.
                        this.running.clear();
                        return Poll::Ready(Ok(stream));
                    }
                    Poll::Ready(Err(e)) => {
                        let (addr, _) = this.running.swap_remove(i);
                        this.last_error = Some((addr, e));
                        failed = true;
                    }
                    Poll::Pending => i += 1,
                }
            }
            if failed && this.next < this.addrs.len() {
                this.start_next();
                continue;
            }
            if this.running.is_empty() {
                continue;
            }
            if this.next < this.addrs.len() {
                if let Some(timer) = &mut this.timer {
                    if Pin::new(timer).poll(cx).is_ready() {
                        this.start_next();
                        continue;
                    }
                }
            }
            return Poll::Pending;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn interleaves_families_keeping_order() {
        let got = interleave(vec![
            a("[::1]:1"),
            a("[::2]:1"),
            a("[::3]:1"),
            a("1.0.0.1:1"),
            a("1.0.0.2:1"),
        ]);
        assert_eq!(
            got,
            [
                a("[::1]:1"),
                a("1.0.0.1:1"),
                a("[::2]:1"),
                a("1.0.0.2:1"),
                a("[::3]:1")
            ]
        );
        let got = interleave(vec![a("1.0.0.1:1"), a("1.0.0.2:1"), a("[::1]:1")]);
        assert_eq!(got, [a("1.0.0.1:1"), a("[::1]:1"), a("1.0.0.2:1")]);
        assert!(interleave(vec![]).is_empty());
    }
}
