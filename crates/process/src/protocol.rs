//! asyncio's subprocess transports and protocols: a child process driven
//! by callbacks ([`subprocess_exec`], [`SubprocessProtocol`],
//! [`SubprocessTransport`], [`PipeTransport`]).
//!
//! | asyncio | here |
//! | --- | --- |
//! | `await loop.subprocess_exec(factory, prog, *args)` | [`subprocess_exec(factory, Command::new(prog).args(args))`](subprocess_exec) |
//! | `await loop.subprocess_shell(factory, cmd)` | [`subprocess_exec(factory, &mut Command::shell(cmd))`](subprocess_exec) |
//! | `asyncio.SubprocessProtocol` | [`SubprocessProtocol`] |
//! | `SubprocessTransport`: `get_pid`, `get_returncode`, `get_pipe_transport`, `send_signal`, `terminate`, `kill`, `close`, `is_closing` | [`SubprocessTransport`] |
//! | `get_pipe_transport(0).write(data)`, `.write_eof()`, `.close()`, `.abort()`, `get_write_buffer_size()` | [`PipeTransport`] |
//! | `get_pipe_transport(1).pause_reading()`, `.resume_reading()`, `.is_reading()` | [`PipeTransport`] |
//! | `pause_writing()` / `resume_writing()` on the protocol (stdin's high / low water marks) | [`SubprocessProtocol::pause_writing`], [`WRITE_HIGH_WATER`], [`WRITE_LOW_WATER`] |
//!
//! # Callback order
//!
//! As in CPython's `base_subprocess.py`: `connection_made` first (before
//! [`subprocess_exec`] returns); then, in the order things happen,
//! `pipe_data_received(fd, data)` any number of times for each read pipe,
//! `pipe_connection_lost(fd, err)` exactly once for each piped stream (its
//! data all came before), and `process_exited()` exactly once, when the
//! process has exited (and been reaped); finally `connection_lost(err)`
//! exactly once, **only after both** the process exited and every pipe was
//! lost. `process_exited` is *not* ordered against the pipes: a child
//! usually exits before its output is all read, and a grandchild that
//! inherited its stdout keeps that pipe open after it exits. Data the
//! child wrote before it exited and that is already in the pipe when the
//! driver sees the exit is delivered before `process_exited`.
//!
//! The stdin pipe counts as lost when the protocol closes it
//! ([`PipeTransport::write_eof`] / [`close`](PipeTransport::close)) once
//! its buffered data is written, when a write to it fails (`Some(err)`,
//! usually `BrokenPipe`), or when the child closes its end (or exits)
//! while nothing is buffered (`None`): as asyncio, the parent's write end
//! is watched for the error condition a pipe reports when its last reader
//! goes away.
//!
//! # Design
//!
//! One *driver* future per process, spawned on the current runtime
//! through [`tulipa_core::spawn`], owns the protocol, the three pipe ends
//! and one 64 KiB read buffer: each read is one system call into it
//! followed by `pipe_data_received(fd, &buf[..n])`. The callbacks of one
//! process never run concurrently, so a protocol needs no locking of its
//! own. The transports are cheap handles to a shared state behind one
//! mutex: the [`Child`] (which knows how to wait and to signal), the
//! bytes waiting to go to stdin, the close requests, the exit status and
//! the driver's waker.
//!
//! **Lock rule.** Every transition of the shared state happens under its
//! one mutex, and the waker is stored under it too: a transport call sets
//! its flag and reads the waker under the lock, then wakes after
//! releasing it, so no request can slip between the driver's check and
//! its sleep (there is no lock-free hand-off here to model-check). The
//! driver never calls the protocol while holding the lock, and the
//! transport never calls the protocol, so a callback may call any
//! transport method.
//!
//! A panic in a callback ends the driver (the runtime's panic policy
//! sees it): no further callback runs, the pipes are closed,
//! [`SubprocessTransport::wait_closed`] returns; the process itself stays
//! with the transport and is handled as a dropped [`Child`] would be once
//! the last transport handle is dropped.
//!
//! # Examples
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use tulipa_process::protocol::{subprocess_exec, SubprocessProtocol, SubprocessTransport};
//! use tulipa_process::Command;
//!
//! #[derive(Default)]
//! struct Collect(Arc<Mutex<Vec<u8>>>);
//!
//! impl SubprocessProtocol for Collect {
//!     fn connection_made(&mut self, transport: SubprocessTransport) {
//!         let stdin = transport.get_pipe_transport(0).unwrap();
//!         stdin.write(b"hello from the parent").unwrap();
//!         stdin.write_eof().unwrap();
//!     }
//!     fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
//!         assert_eq!(fd, 1);
//!         self.0.lock().unwrap().extend_from_slice(data);
//!     }
//! }
//!
//! tulipa::run(async {
//!     let out = Arc::new(Mutex::new(Vec::new()));
//!     let protocol = Collect(out.clone());
//!     let transport = subprocess_exec(move || protocol, &mut Command::new("cat")).await?;
//!     transport.wait_closed().await;
//!     assert!(transport.get_returncode().unwrap().success());
//!     assert_eq!(*out.lock().unwrap(), b"hello from the parent");
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use event_listener::Event;
use futures_lite::io::{AsyncRead, AsyncWrite};

use crate::child::Child;
use crate::command::Command;
use crate::signal::{Signal, SIGKILL, SIGTERM};
use crate::stdio::{ChildStderr, ChildStdin, ChildStdout};

/// The size of the driver's one read buffer.
const READ_BUF: usize = 64 * 1024;

/// Passes over the pipes per poll before the driver yields to other tasks.
const BUDGET: usize = 32;

/// Above this many bytes queued for stdin, the protocol's `pause_writing`
/// is called (asyncio's default high-water mark for pipes, 64 KiB).
pub const WRITE_HIGH_WATER: usize = 64 * 1024;

/// At or below this many bytes queued for stdin (after a
/// `pause_writing`), `resume_writing` is called (asyncio's default, a
/// quarter of the high-water mark).
pub const WRITE_LOW_WATER: usize = 16 * 1024;

/// The callbacks of a child process: asyncio's `SubprocessProtocol`.
///
/// The runtime calls them from the process's driver task, one at a time,
/// in the order given in the [module docs](self): `connection_made`, then
/// `pipe_data_received`* / `pipe_connection_lost` (once per pipe) /
/// `process_exited` (once) as things happen, then `connection_lost`
/// (once, after all of them). `fd` is 0 for stdin, 1 for stdout, 2 for
/// stderr. Every method has a default that does nothing, as in asyncio.
/// Keep them short: they run on the event loop.
pub trait SubprocessProtocol: Send + 'static {
    /// The process started; `transport` controls it. Keep a clone.
    fn connection_made(&mut self, transport: SubprocessTransport) {
        let _ = transport;
    }

    /// The child wrote `data` to its stdout (`fd` 1) or stderr (`fd` 2).
    /// `data` is only valid during the call (it is the driver's read
    /// buffer): copy what must outlive it.
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        let _ = (fd, data);
    }

    /// Pipe `fd` is closed: `None` at end-of-file, when it was closed on
    /// our side, or (stdin) when the child closed its end with nothing
    /// left to write; `Some(err)` when a read or write failed.
    fn pipe_connection_lost(&mut self, fd: i32, err: Option<io::Error>) {
        let _ = (fd, err);
    }

    /// The process exited and was reaped;
    /// [`SubprocessTransport::get_returncode`] has its status.
    fn process_exited(&mut self) {}

    /// More than [`WRITE_HIGH_WATER`] bytes wait to go to the child's
    /// stdin: stop writing until [`resume_writing`](SubprocessProtocol::resume_writing)
    /// (asyncio's `pause_writing`, forwarded from the stdin pipe).
    /// Called right after the callback whose write overfilled the buffer
    /// returns, or promptly for a write from another task.
    fn pause_writing(&mut self) {}

    /// The stdin buffer drained to [`WRITE_LOW_WATER`] bytes: writing may
    /// resume (asyncio's `resume_writing`). Not called if stdin is lost
    /// first.
    fn resume_writing(&mut self) {}

    /// Everything is over: the process exited and every pipe was lost.
    /// `err` is `None`, or the error of waiting for the process (a
    /// `waitpid` failure, for example when someone else reaped it; every
    /// pipe is closed then). Called exactly once, last.
    fn connection_lost(&mut self, err: Option<io::Error>) {
        let _ = err;
    }
}

/// What the transports and the driver share.
struct Shared {
    pid: u32,
    /// Which of stdin, stdout, stderr are pipes.
    piped: [bool; 3],
    state: Mutex<State>,
    /// Notified once `connection_lost` returned (or the driver ended).
    closed: Event,
}

/// The mutable part of [`Shared`]; see the module docs for the lock rule.
struct State {
    /// The process, without its pipes (the driver holds them).
    child: Child,
    /// Set by the driver when it sees the exit, just before
    /// `process_exited`.
    returncode: Option<ExitStatus>,
    /// Pipes not lost yet, as the protocol sees them. Only the driver
    /// clears these.
    open: [bool; 3],
    /// Bytes for stdin, not written yet.
    stdin_buf: Vec<u8>,
    /// Close stdin once `stdin_buf` is written.
    stdin_eof: bool,
    /// Close these pipes at once (stdin's buffer is dropped).
    close_now: [bool; 3],
    /// Read pipes whose reading is paused (`pause_reading`).
    paused_reading: [bool; 3],
    /// [`SubprocessTransport::close`] was called.
    closing: bool,
    /// `connection_lost` has returned, or the driver is gone.
    finished: bool,
    /// The driver's waker, updated by every poll.
    waker: Option<Waker>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock, but a poisoned state is
        // still consistent: every update is a few plain field writes.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Releases the lock, then wakes the driver so it acts on the change.
fn wake_driver(state: MutexGuard<'_, State>) {
    let waker = state.waker.clone();
    drop(state);
    if let Some(waker) = waker {
        waker.wake();
    }
}

fn pipe_name(fd: i32) -> &'static str {
    match fd {
        0 => "stdin",
        1 => "stdout",
        _ => "stderr",
    }
}

/// Runs `command` with a protocol driven by its pipes and its exit:
/// asyncio's `loop.subprocess_exec(protocol_factory, program, *args)`
/// (and, with [`Command::shell`], `loop.subprocess_shell`).
///
/// Standard streams not set on `command` are piped (asyncio's default
/// `stdin=PIPE, stdout=PIPE, stderr=PIPE`), for this call only; set one
/// to [`Stdio::null`] or [`Stdio::inherit`] to leave it out (it then has
/// no [`PipeTransport`] and no `pipe_connection_lost`).
/// [`Command::stderr_to_stdout`] sends stderr into the stdout pipe.
///
/// `factory` makes the protocol; its `connection_made` runs before this
/// returns, then the process is driven in the background on the current
/// runtime. asyncio returns `(transport, protocol)`; here the protocol
/// belongs to the driver, so only the [`SubprocessTransport`] comes back:
/// share state with the protocol through what the factory captures.
///
/// # Errors
///
/// Fails with [`NotFound`](io::ErrorKind::NotFound) when no runtime is
/// current on this thread (call it from a task or `Runtime::block_on`),
/// and as [`Command::spawn`] does when the program cannot be started;
/// `factory` is not called then. Also fails if the runtime refuses the
/// driver (it is shutting down): the process is then killed.
///
/// # Cancel safety
///
/// Cancel safe: the future completes on its first poll.
pub async fn subprocess_exec<P, F>(
    factory: F,
    command: &mut Command,
) -> io::Result<SubprocessTransport>
where
    P: SubprocessProtocol,
    F: FnOnce() -> P,
{
    let spawner = tulipa_core::spawn::current().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "no tulipa runtime is current on this thread to drive the subprocess: call \
             subprocess_exec from inside a runtime (a task, or Runtime::block_on)",
        )
    })?;
    let mut child = command.spawn_with_defaults([Stdio::piped; 3])?;
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let piped = [stdin.is_some(), stdout.is_some(), stderr.is_some()];
    // Always `Some`: a child that was just spawned is not reaped.
    let pid = child.id().unwrap_or_default();
    let shared = Arc::new(Shared {
        pid,
        piped,
        state: Mutex::new(State {
            child,
            returncode: None,
            open: piped,
            stdin_buf: Vec::new(),
            stdin_eof: false,
            close_now: [false; 3],
            paused_reading: [false; 3],
            closing: false,
            finished: false,
            waker: None,
        }),
        closed: Event::new(),
    });
    let transport = SubprocessTransport {
        shared: shared.clone(),
    };
    let mut driver = Driver {
        protocol: factory(),
        shared,
        stdin,
        stdout,
        stderr,
        buf: vec![0; READ_BUF].into_boxed_slice(),
        exited: false,
        exit_error: None,
        writing_paused: false,
        read_paused: [false; 3],
        finished: false,
    };
    driver.protocol.connection_made(transport.clone());
    if let Err(e) = spawner.spawn_detached(Box::pin(driver)) {
        // Nobody would ever drive or see this process: end it.
        let _ = transport.shared.lock().child.start_kill();
        return Err(e);
    }
    Ok(transport)
}

/// Controls a child process run by [`subprocess_exec`]: asyncio's
/// `SubprocessTransport`.
///
/// A cheap, cloneable, thread-safe handle. Dropping every handle does not
/// stop the process: it runs to its end, driven in the background, and
/// the protocol sees all of it.
#[derive(Clone)]
pub struct SubprocessTransport {
    shared: Arc<Shared>,
}

impl SubprocessTransport {
    /// The process id (asyncio's `get_pid`). It stays available after the
    /// process exited, when the number may belong to another process.
    pub fn get_pid(&self) -> u32 {
        self.shared.pid
    }

    /// The exit status, once `process_exited` was (about to be) called;
    /// `None` before (asyncio's `get_returncode`, which gives an `int`).
    pub fn get_returncode(&self) -> Option<ExitStatus> {
        self.shared.lock().returncode
    }

    /// The transport of pipe `fd` (0 stdin, 1 stdout, 2 stderr), or
    /// `None` if that stream is not a pipe (asyncio's
    /// `get_pipe_transport`). A pipe that was closed since still has its
    /// transport, which then reports [`is_closing`](PipeTransport::is_closing).
    pub fn get_pipe_transport(&self, fd: i32) -> Option<PipeTransport> {
        let piped = usize::try_from(fd)
            .ok()
            .and_then(|i| self.shared.piped.get(i))
            .copied()
            .unwrap_or(false);
        piped.then(|| PipeTransport {
            shared: self.shared.clone(),
            fd,
        })
    }

    /// Sends `signal` to the process (asyncio's `send_signal`).
    ///
    /// # Errors
    ///
    /// As [`Child::send_signal`]: [`NotFound`](io::ErrorKind::NotFound)
    /// (asyncio's `ProcessLookupError`) once the process has exited and
    /// been reaped, or an error of `kill(2)`.
    pub fn send_signal(&self, signal: Signal) -> io::Result<()> {
        let mut state = self.shared.lock();
        let result = state.child.send_signal(signal);
        // The call may have reaped the process (and dropped the driver's
        // exit watch): let the driver see it.
        wake_driver(state);
        result
    }

    /// Sends `SIGTERM` (asyncio's `terminate`).
    ///
    /// # Errors
    ///
    /// As for [`send_signal`](SubprocessTransport::send_signal).
    pub fn terminate(&self) -> io::Result<()> {
        self.send_signal(SIGTERM)
    }

    /// Sends `SIGKILL` (asyncio's `kill`), without waiting.
    ///
    /// # Errors
    ///
    /// As for [`send_signal`](SubprocessTransport::send_signal).
    pub fn kill(&self) -> io::Result<()> {
        self.send_signal(SIGKILL)
    }

    /// Closes every pipe at once (stdin's unwritten data is dropped) and
    /// kills the process with `SIGKILL` if it has not exited (asyncio's
    /// `close`). The protocol then sees `pipe_connection_lost(fd, None)`
    /// for each pipe still open, `process_exited`, and `connection_lost`.
    /// Calling it again does nothing.
    pub fn close(&self) {
        let mut state = self.shared.lock();
        if state.closing {
            return;
        }
        state.closing = true;
        state.close_now = state.open;
        state.stdin_buf = Vec::new();
        if state.returncode.is_none() {
            // `NotFound`: it exited meanwhile, which is what we want.
            let _ = state.child.start_kill();
        }
        wake_driver(state);
    }

    /// Whether [`close`](SubprocessTransport::close) was called or
    /// `connection_lost` has run (asyncio's `is_closing`).
    pub fn is_closing(&self) -> bool {
        let state = self.shared.lock();
        state.closing || state.finished
    }

    /// Waits until `connection_lost` has returned: the process exited and
    /// every pipe was lost (or the driver ended by a panic).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only waits.
    pub async fn wait_closed(&self) {
        loop {
            if self.shared.lock().finished {
                return;
            }
            let listener = self.shared.closed.listen();
            if self.shared.lock().finished {
                return;
            }
            listener.await;
        }
    }
}

impl fmt::Debug for SubprocessTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("SubprocessTransport")
            .field("pid", &self.shared.pid)
            .field("returncode", &state.returncode)
            .field("open_pipes", &state.open)
            .field("closing", &state.closing)
            .field("finished", &state.finished)
            .finish()
    }
}

/// One pipe of a [`SubprocessTransport`], from
/// [`get_pipe_transport`](SubprocessTransport::get_pipe_transport):
/// asyncio's write-pipe transport for stdin (fd 0), read-pipe transport
/// for stdout and stderr (fd 1, 2).
///
/// Writes to stdin are queued and written by the driver as the child
/// reads; a write never blocks and never fails for lack of room. Above
/// [`WRITE_HIGH_WATER`] queued bytes the protocol's
/// [`pause_writing`](SubprocessProtocol::pause_writing) is called, and
/// [`resume_writing`](SubprocessProtocol::resume_writing) once the queue
/// drained to [`WRITE_LOW_WATER`], as in asyncio; honouring them is up to
/// the protocol.
#[derive(Clone)]
pub struct PipeTransport {
    shared: Arc<Shared>,
    fd: i32,
}

impl PipeTransport {
    /// Which pipe this is: 0 stdin, 1 stdout, 2 stderr.
    pub fn fd(&self) -> i32 {
        self.fd
    }

    fn index(&self) -> usize {
        usize::try_from(self.fd).expect("a pipe transport's fd is 0, 1 or 2")
    }

    fn stdin_only(&self, what: &str) -> io::Result<()> {
        if self.fd == 0 {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "cannot {what} pipe {} (the child's {}): the parent only reads it; \
                 write to get_pipe_transport(0), the child's stdin",
                self.fd,
                pipe_name(self.fd)
            ),
        ))
    }

    /// Queues `data` for the child's stdin; the driver writes it as the
    /// child reads. Never blocks.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) on stdout's or
    /// stderr's transport; [`BrokenPipe`](io::ErrorKind::BrokenPipe) once
    /// stdin is closed or closing (by [`write_eof`](PipeTransport::write_eof),
    /// a close, a failed write, or the child): `data` was not queued.
    /// (asyncio drops such data with a logged warning.)
    pub fn write(&self, data: &[u8]) -> io::Result<()> {
        self.stdin_only("write to")?;
        let mut state = self.shared.lock();
        if !state.open[0] || state.stdin_eof || state.close_now[0] {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the child's stdin is closed (by write_eof or close, or by the child): \
                 nothing more can be written to it",
            ));
        }
        if data.is_empty() {
            return Ok(());
        }
        let before = state.stdin_buf.len();
        state.stdin_buf.extend_from_slice(data);
        // Empty before: the driver is not waiting to write. Crossing the
        // high-water mark: it has a `pause_writing` to deliver.
        if before == 0 || (before <= WRITE_HIGH_WATER && state.stdin_buf.len() > WRITE_HIGH_WATER) {
            wake_driver(state);
        }
        Ok(())
    }

    /// Closes stdin once the queued data is written, so the child reads
    /// end-of-file (asyncio's `write_eof`); then the protocol sees
    /// `pipe_connection_lost(0, None)`. Calling it again does nothing.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) on stdout's or
    /// stderr's transport.
    pub fn write_eof(&self) -> io::Result<()> {
        self.stdin_only("write_eof on")?;
        let mut state = self.shared.lock();
        if state.stdin_eof {
            return Ok(());
        }
        state.stdin_eof = true;
        wake_driver(state);
        Ok(())
    }

    /// Closes the pipe (asyncio's `close`): stdin as
    /// [`write_eof`](PipeTransport::write_eof) (the queued data is
    /// written first), stdout or stderr at once (the child then gets
    /// `EPIPE` / `SIGPIPE` if it writes more). The protocol sees
    /// `pipe_connection_lost(fd, None)`, unless the pipe was already lost.
    pub fn close(&self) {
        if self.fd == 0 {
            let _ = self.write_eof();
        } else {
            self.abort();
        }
    }

    /// Closes the pipe at once, dropping stdin's queued data (asyncio's
    /// `abort`).
    pub fn abort(&self) {
        let i = self.index();
        let mut state = self.shared.lock();
        if !state.open[i] || state.close_now[i] {
            return;
        }
        state.close_now[i] = true;
        if i == 0 {
            state.stdin_buf = Vec::new();
        }
        wake_driver(state);
    }

    /// Whether the pipe is closed or closing (asyncio's `is_closing`).
    pub fn is_closing(&self) -> bool {
        let i = self.index();
        let state = self.shared.lock();
        !state.open[i] || state.close_now[i] || (i == 0 && state.stdin_eof)
    }

    fn read_only(&self, what: &str) -> io::Result<()> {
        if self.fd != 0 {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "cannot {what} pipe 0 (the child's stdin): the parent only writes it; \
                 pause or resume get_pipe_transport(1) or (2), the child's stdout or stderr"
            ),
        ))
    }

    /// Stops reading this pipe (stdout or stderr) until
    /// [`resume_reading`](PipeTransport::resume_reading): no
    /// `pipe_data_received` for it meanwhile, and the child blocks once the
    /// pipe is full (asyncio's `pause_reading`). Its end-of-file is not
    /// seen either, so `connection_lost` waits too. Does nothing if already
    /// paused or closed.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) on stdin's transport.
    pub fn pause_reading(&self) -> io::Result<()> {
        self.read_only("pause reading")?;
        self.shared.lock().paused_reading[self.index()] = true;
        Ok(())
    }

    /// Reads this pipe again after
    /// [`pause_reading`](PipeTransport::pause_reading) (asyncio's
    /// `resume_reading`). Does nothing if not paused.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) on stdin's transport.
    pub fn resume_reading(&self) -> io::Result<()> {
        self.read_only("resume reading")?;
        let i = self.index();
        let mut state = self.shared.lock();
        if state.paused_reading[i] {
            state.paused_reading[i] = false;
            wake_driver(state);
        }
        Ok(())
    }

    /// Whether this pipe is read: stdout or stderr, open, and not paused
    /// (asyncio's `is_reading`). Always `false` for stdin.
    pub fn is_reading(&self) -> bool {
        let i = self.index();
        let state = self.shared.lock();
        i != 0 && state.open[i] && !state.close_now[i] && !state.paused_reading[i]
    }

    /// How many bytes wait to be written to stdin (0 for stdout and
    /// stderr; asyncio's `get_write_buffer_size`).
    pub fn get_write_buffer_size(&self) -> usize {
        if self.fd != 0 {
            return 0;
        }
        self.shared.lock().stdin_buf.len()
    }
}

impl fmt::Debug for PipeTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PipeTransport")
            .field("pid", &self.shared.pid)
            .field("fd", &self.fd)
            .field("closing", &self.is_closing())
            .finish()
    }
}

/// The future that runs one process's protocol; see the module docs.
struct Driver<P> {
    protocol: P,
    shared: Arc<Shared>,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    buf: Box<[u8]>,
    exited: bool,
    /// A `waitpid` failure, for `connection_lost`.
    exit_error: Option<io::Error>,
    /// `pause_writing` was called, `resume_writing` not yet.
    writing_paused: bool,
    /// `paused_reading`, as seen at the start of this pass.
    read_paused: [bool; 3],
    finished: bool,
}

// The protocol is never pinned: it is only called through `&mut P`.
impl<P> Unpin for Driver<P> {}

impl<P: SubprocessProtocol> Driver<P> {
    /// Drops pipe `fd` and marks it lost; the caller calls the protocol.
    fn drop_pipe(&mut self, state: &mut State, fd: usize) {
        match fd {
            0 => {
                self.stdin = None;
                state.stdin_buf = Vec::new();
            }
            1 => self.stdout = None,
            _ => self.stderr = None,
        }
        state.open[fd] = false;
    }

    /// Close requests, stdin writes and stdin's closing; returns the pipes
    /// lost, for the protocol.
    fn serve_requests(&mut self, cx: &mut Context<'_>, progress: &mut bool) -> (Lost, Flow) {
        let mut lost = Lost::default();
        let mut flow = Flow::default();
        let shared = self.shared.clone();
        let mut state = shared.lock();
        if !state
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            state.waker = Some(cx.waker().clone());
        }
        self.read_paused = state.paused_reading;
        for fd in 1..3 {
            if state.close_now[fd] && state.open[fd] {
                self.drop_pipe(&mut state, fd);
                lost.push(fd, None);
            }
        }
        if !state.open[0] {
            return (lost, flow);
        }
        // What the callbacks since the last pass queued, before writing.
        if !self.writing_paused && state.stdin_buf.len() > WRITE_HIGH_WATER {
            self.writing_paused = true;
            flow.pause = true;
        }
        let mut stdin_lost = None;
        if state.close_now[0] {
            stdin_lost = Some(None);
        } else if let Some(stdin) = &mut self.stdin {
            while !state.stdin_buf.is_empty() {
                match Pin::new(&mut *stdin).poll_write(cx, &state.stdin_buf) {
                    Poll::Ready(Ok(0)) => {
                        stdin_lost = Some(Some(io::ErrorKind::WriteZero.into()));
                        break;
                    }
                    Poll::Ready(Ok(n)) => {
                        state.stdin_buf.drain(..n);
                        *progress = true;
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Poll::Ready(Err(e)) => {
                        stdin_lost = Some(Some(e));
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            // Drained by writing (not dropped): as asyncio, before a
            // `write_eof` closes the pipe.
            if stdin_lost.is_none()
                && self.writing_paused
                && state.stdin_buf.len() <= WRITE_LOW_WATER
            {
                self.writing_paused = false;
                flow.resume = true;
            }
            if stdin_lost.is_none() && state.stdin_buf.is_empty() {
                if state.stdin_eof {
                    stdin_lost = Some(None);
                } else {
                    match stdin.poll_reader_gone(cx) {
                        Poll::Ready(Ok(())) => stdin_lost = Some(None),
                        Poll::Ready(Err(e)) => stdin_lost = Some(Some(e)),
                        Poll::Pending => {}
                    }
                }
            }
        }
        if let Some(err) = stdin_lost {
            self.drop_pipe(&mut state, 0);
            lost.push(0, err);
        }
        (lost, flow)
    }

    /// Reads once from pipe `fd` (1 or 2), calling the protocol.
    fn read_pipe(&mut self, cx: &mut Context<'_>, fd: usize, progress: &mut bool) {
        if self.read_paused[fd] {
            return;
        }
        let polled = match fd {
            1 => self
                .stdout
                .as_mut()
                .map(|p| Pin::new(p).poll_read(cx, &mut self.buf)),
            _ => self
                .stderr
                .as_mut()
                .map(|p| Pin::new(p).poll_read(cx, &mut self.buf)),
        };
        let fd_i32 = i32::try_from(fd).expect("1 or 2");
        let err = match polled {
            None | Some(Poll::Pending) => return,
            Some(Poll::Ready(Ok(0))) => None,
            Some(Poll::Ready(Ok(n))) => {
                *progress = true;
                self.protocol.pipe_data_received(fd_i32, &self.buf[..n]);
                return;
            }
            Some(Poll::Ready(Err(e))) if e.kind() == io::ErrorKind::Interrupted => {
                *progress = true;
                return;
            }
            Some(Poll::Ready(Err(e))) => Some(e),
        };
        *progress = true;
        let shared = self.shared.clone();
        self.drop_pipe(&mut shared.lock(), fd);
        self.protocol.pipe_connection_lost(fd_i32, err);
    }

    /// One pass over everything; returns whether anything happened.
    fn pass(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        let (mut lost, flow) = self.serve_requests(cx, &mut progress);
        if flow.pause {
            progress = true;
            self.protocol.pause_writing();
        }
        if flow.resume {
            progress = true;
            self.protocol.resume_writing();
        }
        for (fd, err) in lost.drain() {
            progress = true;
            self.protocol.pipe_connection_lost(fd, err);
        }
        self.read_pipe(cx, 1, &mut progress);
        self.read_pipe(cx, 2, &mut progress);
        if !self.exited {
            let shared = self.shared.clone();
            let mut state = shared.lock();
            match state.child.poll_exit(cx) {
                Poll::Pending => {}
                Poll::Ready(Ok(status)) => {
                    state.returncode = Some(status);
                    drop(state);
                    self.exited = true;
                    progress = true;
                    self.protocol.process_exited();
                }
                Poll::Ready(Err(e)) => {
                    // The process cannot be waited for: nothing more will
                    // come of it. Close what is left and end.
                    let mut lost = Lost::default();
                    for fd in 0..3 {
                        if state.open[fd] {
                            self.drop_pipe(&mut state, fd);
                            lost.push(fd, None);
                        }
                    }
                    drop(state);
                    self.exited = true;
                    self.exit_error = Some(e);
                    progress = true;
                    for (fd, err) in lost.drain() {
                        self.protocol.pipe_connection_lost(fd, err);
                    }
                }
            }
        }
        if self.exited && !self.shared.lock().open.contains(&true) {
            self.protocol.connection_lost(self.exit_error.take());
            self.finish();
            return true;
        }
        progress
    }

    /// Marks the end and wakes `wait_closed`.
    fn finish(&mut self) {
        self.finished = true;
        self.stdin = None;
        self.stdout = None;
        self.stderr = None;
        let mut state = self.shared.lock();
        state.finished = true;
        state.waker = None;
        drop(state);
        self.shared.closed.notify(usize::MAX);
    }
}

impl<P: SubprocessProtocol> Future for Driver<P> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        for _ in 0..BUDGET {
            let progress = this.pass(cx);
            if this.finished {
                return Poll::Ready(());
            }
            if !progress {
                return Poll::Pending;
            }
        }
        // A busy child: let other tasks run, and come back.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<P> Drop for Driver<P> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // A callback panicked, or the runtime dropped the task: no more
        // callbacks; close the pipes and release `wait_closed`.
        self.stdin = None;
        self.stdout = None;
        self.stderr = None;
        let mut state = self.shared.lock();
        state.open = [false; 3];
        state.finished = true;
        state.waker = None;
        drop(state);
        self.shared.closed.notify(usize::MAX);
    }
}

/// The flow-control callbacks a pass owes the protocol, in this order.
#[derive(Default)]
struct Flow {
    pause: bool,
    resume: bool,
}

/// Up to three lost pipes, without allocating.
#[derive(Default)]
struct Lost([Option<Option<io::Error>>; 3]);

impl Lost {
    fn push(&mut self, fd: usize, err: Option<io::Error>) {
        self.0[fd] = Some(err);
    }

    /// The lost pipes, in fd order.
    fn drain(&mut self) -> impl Iterator<Item = (i32, Option<io::Error>)> + '_ {
        self.0
            .iter_mut()
            .zip(0..)
            .filter_map(|(slot, fd)| slot.take().map(|err| (fd, err)))
    }
}
