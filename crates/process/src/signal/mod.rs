//! Signals: [`ctrl_c`], the [`Signals`] stream, and asyncio's
//! [`add_signal_handler`] / [`remove_signal_handler`].
//!
//! | asyncio / Python | tulipa |
//! | --- | --- |
//! | `loop.add_signal_handler(sig, cb)` | [`add_signal_handler`]`(sig, cb)` |
//! | `loop.remove_signal_handler(sig)` | [`remove_signal_handler`]`(sig)` |
//! | waiting for `KeyboardInterrupt` | [`ctrl_c`]`().await` |
//! | `signal.set_wakeup_fd` + a loop | [`Signals::new`]`([SIGINT, SIGTERM])` |
//! | `signal.raise_signal(sig)`, `os.kill(os.getpid(), sig)` | [`raise`]`(sig)` |
//!
//! # Design
//!
//! Built on `signal-hook-registry`, the field standard for sharing signal
//! handlers between libraries: its handler chains to whatever was
//! installed before, and other crates using it (signal-hook, tokio's
//! signal driver) coexist with this one. tulipa's action, run inside the
//! signal handler, only bumps a per-signal delivery counter and writes to
//! one process-wide eventfd, which is registered with the process-wide
//! reactor; a small dispatcher woken there notifies the listeners of the
//! signals whose counters moved. Nothing else ever runs inside the signal
//! handler: [`Signals`] items, [`ctrl_c`] and the callbacks of
//! [`add_signal_handler`] all run in ordinary tasks.
//!
//! Every listener sees every delivery made after it was created: several
//! [`Signals`] (or [`ctrl_c`] futures, or handlers) for the same signal all
//! wake. Deliveries that arrive while a listener is not looking *coalesce*:
//! a burst of three `SIGUSR1` between two polls yields one item (the
//! kernel already merges a standard signal delivered while one is
//! pending). Count events yourself if you must know how many.
//!
//! # The default action is gone once you listen
//!
//! The first listener for a signal installs a handler that stays installed
//! for the rest of the process, as in tokio: after the first
//! `ctrl_c()`, Ctrl-C no longer kills the process, even once every
//! listener is gone (the delivery is counted and dropped). A program that
//! wants "the second Ctrl-C exits" keeps listening and exits itself.
//!
//! Signals that cannot be caught (`SIGKILL`, `SIGSTOP`), that report a fault
//! in the thread that caused it (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`,
//! `SIGTRAP`, `SIGSYS`), and the real-time signals the C library keeps for
//! itself are refused with an [`InvalidInput`](std::io::ErrorKind::InvalidInput)
//! error that says why.
//!
//! # `SIGPIPE`
//!
//! The Rust runtime sets `SIGPIPE` to "ignore" before `main` (unless the
//! program opts out with `-Zon-broken-pipe`), so writing to a pipe or
//! socket whose reader is gone fails with
//! [`BrokenPipe`](std::io::ErrorKind::BrokenPipe) instead of killing the
//! process; tulipa relies on that and does not change it. (Children get
//! the default `SIGPIPE` back: `std`'s spawn restores it.)

mod handler;
mod kill;
mod registry;

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::Stream;

pub use handler::{add_signal_handler, remove_signal_handler, SignalHandler};
pub(crate) use kill::send_signal;
pub(crate) use registry::Listener;

/// A signal number.
///
/// The usual ones are constants of this module ([`SIGINT`], [`SIGTERM`],
/// ...); any other number, a real-time signal for example, comes from
/// [`Signal::from_raw`].
///
/// # Examples
///
/// ```
/// use tulipa_process::signal::{Signal, SIGTERM};
///
/// assert_eq!(SIGTERM.as_raw(), 15);
/// assert_eq!(SIGTERM.to_string(), "SIGTERM");
/// assert_eq!(Signal::from_raw(15), SIGTERM);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

impl Signal {
    /// The signal with number `raw`; nothing is checked until it is used.
    pub const fn from_raw(raw: i32) -> Signal {
        Signal(raw)
    }

    /// The signal's number.
    pub const fn as_raw(self) -> i32 {
        self.0
    }

    /// The signal's name (`"SIGINT"`), if it is one of the named signals.
    pub fn name(self) -> Option<&'static str> {
        NAMES
            .iter()
            .chain(LINUX_NAMES)
            .find(|(s, _)| *s == self)
            .map(|&(_, name)| name)
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "signal {}", self.0),
        }
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signal({self})")
    }
}

impl From<Signal> for i32 {
    fn from(signal: Signal) -> i32 {
        signal.0
    }
}

macro_rules! signals {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        $( $(#[$doc])* pub const $name: Signal = Signal(libc::$name); )*
        const NAMES: &[(Signal, &str)] = &[$(($name, stringify!($name))),*];
    };
}

signals! {
    /// Hang-up: the controlling terminal closed; by convention, "reload".
    SIGHUP,
    /// Interrupt: Ctrl-C at the terminal.
    SIGINT,
    /// Quit: Ctrl-\ at the terminal.
    SIGQUIT,
    /// Illegal instruction (a fault: cannot be listened for).
    SIGILL,
    /// Trace trap (a fault: cannot be listened for).
    SIGTRAP,
    /// Abort, from `abort()`.
    SIGABRT,
    /// Bus error (a fault: cannot be listened for).
    SIGBUS,
    /// Arithmetic error (a fault: cannot be listened for).
    SIGFPE,
    /// Kill: cannot be caught, blocked or listened for.
    SIGKILL,
    /// User-defined signal 1.
    SIGUSR1,
    /// Segmentation fault (a fault: cannot be listened for).
    SIGSEGV,
    /// User-defined signal 2.
    SIGUSR2,
    /// Write to a pipe with no reader (ignored by Rust programs).
    SIGPIPE,
    /// Alarm clock, from `alarm()`.
    SIGALRM,
    /// Termination request: what `kill PID` sends.
    SIGTERM,
    /// A child process stopped or exited.
    SIGCHLD,
    /// Continue a stopped process.
    SIGCONT,
    /// Stop: cannot be caught, blocked or listened for.
    SIGSTOP,
    /// Stop from the terminal: Ctrl-Z.
    SIGTSTP,
    /// A background process read from its terminal.
    SIGTTIN,
    /// A background process wrote to its terminal.
    SIGTTOU,
    /// Urgent data on a socket.
    SIGURG,
    /// CPU time limit exceeded.
    SIGXCPU,
    /// File size limit exceeded.
    SIGXFSZ,
    /// Virtual alarm clock.
    SIGVTALRM,
    /// Profiling timer expired.
    SIGPROF,
    /// The terminal window changed size.
    SIGWINCH,
    /// I/O is possible on a descriptor.
    SIGIO,
    /// Bad system call (a fault: cannot be listened for).
    SIGSYS,
}

/// Power failure (Linux only: other systems have no such signal).
#[cfg(target_os = "linux")]
pub const SIGPWR: Signal = Signal(libc::SIGPWR);

/// The names of the signals only Linux has.
#[cfg(target_os = "linux")]
const LINUX_NAMES: &[(Signal, &str)] = &[(SIGPWR, "SIGPWR")];
#[cfg(not(target_os = "linux"))]
const LINUX_NAMES: &[(Signal, &str)] = &[];

/// Sends `signal` to this process (Python's `os.kill(os.getpid(), sig)`).
///
/// The signal is process-directed: any thread that does not block it
/// handles it.
///
/// # Errors
///
/// Fails with [`InvalidInput`](io::ErrorKind::InvalidInput) if `signal` is
/// not a signal number.
///
/// # Examples
///
/// ```
/// use tulipa_process::signal::{raise, Signals, SIGUSR2};
///
/// let mut signals = Signals::new([SIGUSR2])?;
/// raise(SIGUSR2)?;
/// assert_eq!(futures_lite::future::block_on(signals.recv()), SIGUSR2);
/// # std::io::Result::Ok(())
/// ```
pub fn raise(signal: Signal) -> io::Result<()> {
    send_signal(std::process::id(), signal)
}

/// A stream of the deliveries of a set of signals.
///
/// Every `Signals` sees every delivery of its signals made after it was
/// created, however many other listeners there are; deliveries that
/// arrive while it is not being polled coalesce into one item (see the
/// [module docs](self)). The stream never ends.
///
/// # Examples
///
/// ```no_run
/// use tulipa_process::signal::{Signals, SIGINT, SIGTERM};
///
/// # tulipa::block_on(async {
/// let mut signals = Signals::new([SIGINT, SIGTERM])?;
/// let signal = signals.recv().await;
/// println!("got {signal}, shutting down");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct Signals {
    listener: Listener,
}

impl Signals {
    /// Starts listening for `signals`.
    ///
    /// The handlers are installed before this returns, so a signal sent
    /// right after is seen. An empty set is allowed ([`add`](Signals::add)
    /// more later); duplicates are ignored.
    ///
    /// # Errors
    ///
    /// Fails with [`InvalidInput`](io::ErrorKind::InvalidInput) for a
    /// signal that cannot be listened for (`SIGKILL`, `SIGSTOP`, the fault
    /// signals, a number out of range), and with the OS error if the
    /// process-wide eventfd or reactor cannot be created.
    pub fn new(signals: impl IntoIterator<Item = Signal>) -> io::Result<Signals> {
        let mut listener = Listener::empty();
        for signal in signals {
            listener.add(signal)?;
        }
        Ok(Signals { listener })
    }

    /// Listens for `signal` too, from now on.
    ///
    /// # Errors
    ///
    /// As for [`Signals::new`].
    pub fn add(&mut self, signal: Signal) -> io::Result<()> {
        self.listener.add(signal)
    }

    /// The signals listened for, in the order they were added.
    pub fn signals(&self) -> impl Iterator<Item = Signal> + '_ {
        self.listener.signals()
    }

    /// Waits for the next delivery of one of the signals.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a delivery is consumed only when this returns it.
    #[track_caller]
    pub fn recv<'t0>(&'t0 mut self) -> impl std::future::Future<Output = Signal> + use<'t0> {
        tulipa_core::await_point::track(async move {
            futures_lite::future::poll_fn(|cx| self.poll_recv(cx)).await
        })
    }

    /// Polls for the next delivery of one of the signals.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Signal> {
        self.listener.poll_recv(cx)
    }
}

impl Stream for Signals {
    type Item = Signal;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Signal>> {
        self.get_mut().poll_recv(cx).map(Some)
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.signals()).finish()
    }
}

/// Waits for Ctrl-C (`SIGINT`).
///
/// The handler is installed when this is *called*, not when the future is
/// first polled, so a Ctrl-C right after the call is seen. From then on
/// Ctrl-C no longer kills the process (see the [module docs](self)).
///
/// # Errors
///
/// The future fails if the handler could not be installed (the process is
/// out of descriptors).
///
/// # Cancel safety
///
/// Cancel safe; a new `ctrl_c()` sees only later deliveries.
///
/// # Examples
///
/// ```no_run
/// # tulipa::block_on(async {
/// tulipa_process::signal::ctrl_c().await?;
/// println!("interrupted");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub fn ctrl_c() -> CtrlC {
    let mut listener = Listener::empty();
    let listener = listener.add(SIGINT).map(|()| listener);
    CtrlC {
        listener: Some(listener),
    }
}

/// The future of [`ctrl_c`].
#[must_use = "futures do nothing unless awaited"]
pub struct CtrlC {
    /// `None` once the error was returned.
    listener: Option<io::Result<Listener>>,
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &mut this.listener {
            Some(Ok(listener)) => listener.poll_recv(cx).map(|_| Ok(())),
            Some(Err(_)) => match this.listener.take() {
                Some(Err(e)) => Poll::Ready(Err(e)),
                _ => unreachable!("matched `Some(Err(_))` just above"),
            },
            None => Poll::Ready(Err(io::Error::other(
                "`ctrl_c` future polled after it failed: call `ctrl_c()` again",
            ))),
        }
    }
}

impl fmt::Debug for CtrlC {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CtrlC").finish_non_exhaustive()
    }
}
