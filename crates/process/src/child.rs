//! [`Child`]: a running (or finished) child process.
//!
//! # State
//!
//! A `Child` owns `std`'s child handle until the process is reaped, the
//! exit status once it is, and, while something waits for the exit, a
//! [`Watch`] (a pidfd registered with the current reactor, or a `SIGCHLD`
//! listener; see `reap.rs`). Waiting is a loop: `waitpid(pid, WNOHANG)`;
//! if the process still runs, make sure a watch exists (and `waitpid` once
//! more after creating it), then sleep until the watch fires. Reaping
//! drops the watch, which closes the pidfd.
//!
//! ```text
//!   running ──(try_wait / wait sees the exit)──► reaped (status kept, pid forgotten)
//!      │
//!      └──(Child dropped)──► [kill_on_drop: SIGKILL] ──► handed to the orphan reaper
//! ```
//!
//! Signals are only sent while the process is unreaped, so its number
//! cannot have been reused by another process.

use std::fmt;
use std::io;
use std::process::{ExitStatus, Output};
use std::task::{Context, Poll};

use futures_lite::future;
use futures_lite::io::{AsyncReadExt, AsyncWriteExt};

use crate::reap::{self, Watch};
use crate::signal::{send_signal, Signal, SIGKILL, SIGTERM};
use crate::stdio::{ChildStderr, ChildStdin, ChildStdout};

/// The error of signalling a process that was already reaped: asyncio's
/// `ProcessLookupError`.
pub(crate) fn exited_error(signal: Signal, status: ExitStatus) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "cannot send {signal}: the process has already exited ({status}) and been \
             reaped, so there is nothing left to signal"
        ),
    )
}

/// A child process spawned by [`Command::spawn`](crate::Command::spawn).
///
/// Its pipes, when they were asked for with [`Stdio::piped`](std::process::Stdio::piped),
/// are in the public fields; [`take`](Option::take) them to use them on
/// their own.
///
/// Dropping a `Child` does not wait for the process, but never leaves a
/// zombie either: an unreaped process is handed to a process-wide reaper
/// that reaps it in the background. With
/// [`Command::kill_on_drop`](crate::Command::kill_on_drop) the process is
/// also sent `SIGKILL` first.
pub struct Child {
    /// The child's standard input, if piped.
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, if piped.
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, if piped.
    pub stderr: Option<ChildStderr>,
    /// `None` only once reaped, or inside `Drop`.
    child: Option<std::process::Child>,
    status: Option<ExitStatus>,
    watch: Option<Watch>,
    kill_on_drop: bool,
}

impl Child {
    /// Wraps a freshly spawned `std` child: takes its pipes and makes them
    /// async. If a pipe cannot be registered the process is killed (and
    /// reaped in the background) and the error returned.
    pub(crate) fn new(mut child: std::process::Child, kill_on_drop: bool) -> io::Result<Child> {
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let mut this = Child {
            stdin: None,
            stdout: None,
            stderr: None,
            child: Some(child),
            status: None,
            watch: None,
            kill_on_drop: true,
        };
        // On an error below, `this` is dropped with `kill_on_drop` set.
        this.stdin = stdin.map(ChildStdin::from_std).transpose()?;
        this.stdout = stdout.map(ChildStdout::from_std).transpose()?;
        this.stderr = stderr.map(ChildStderr::from_std).transpose()?;
        this.kill_on_drop = kill_on_drop;
        Ok(this)
    }

    /// The process id, or `None` once the process was reaped (its number
    /// may belong to another process by then).
    pub fn id(&self) -> Option<u32> {
        match (&self.child, self.status) {
            (Some(child), None) => Some(child.id()),
            _ => None,
        }
    }

    /// The exit status if the process has exited, reaping it; `None` if it
    /// still runs. Never waits.
    ///
    /// # Errors
    ///
    /// Fails if `waitpid` fails, for example with `ECHILD` when someone
    /// else reaped the process (a `waitpid(-1)` elsewhere in the program).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let Some(child) = &mut self.child else {
            unreachable!("`child` is only taken by `Drop`")
        };
        match child.try_wait()? {
            Some(status) => {
                self.status = Some(status);
                // Closes the pidfd (or drops the `SIGCHLD` listener) now.
                self.watch = None;
                Ok(Some(status))
            }
            None => Ok(None),
        }
    }

    /// Polls for the exit: `waitpid`, else make sure a watch exists, then
    /// sleep on it.
    ///
    /// A watch made by an earlier poll may belong to a reactor that has
    /// shut down since (the runtime it was polled on is gone): its error
    /// is not the child's, so it is replaced by a watch on the current
    /// reactor. Only an error of a watch made in this poll is returned.
    pub(crate) fn poll_exit(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        let mut fresh = false;
        loop {
            match self.try_wait() {
                Ok(Some(status)) => return Poll::Ready(Ok(status)),
                Ok(None) => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
            let watch = match &mut self.watch {
                Some(watch) => watch,
                None => {
                    let pid = self.id().unwrap_or_default();
                    let watch = match Watch::new(pid) {
                        Ok(watch) => watch,
                        Err(e) => return Poll::Ready(Err(e)),
                    };
                    fresh = true;
                    let recheck = watch.needs_recheck();
                    let watch = self.watch.insert(watch);
                    if recheck {
                        // `waitpid` once more now that the watch exists.
                        continue;
                    }
                    // A pidfd: no need, poll it straight away.
                    watch
                }
            };
            match watch.poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => {
                    self.watch = None;
                    if fresh {
                        return Poll::Ready(Err(e));
                    }
                    // A stale watch: the next pass makes a fresh one.
                }
            }
        }
    }

    /// Waits for the process to exit and returns its status (asyncio's
    /// `Process.wait()`).
    ///
    /// The child's standard input, if piped and still here, is **closed
    /// first** (as `std` and tokio do): a child that reads its input to the
    /// end could otherwise wait for us while we wait for it. To keep
    /// writing while waiting, [`take`](Option::take) `stdin` before.
    ///
    /// This does not read the child's output: a child that fills its
    /// stdout pipe blocks until someone reads it. Read the pipes
    /// concurrently, or use [`wait_with_output`](Child::wait_with_output).
    ///
    /// # Errors
    ///
    /// Fails if `waitpid` fails (see [`try_wait`](Child::try_wait)), or if
    /// no exit watch can be set up (out of descriptors). A wait first
    /// polled on a runtime that has shut down since carries on here: its
    /// watch moves to the current reactor.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the status is kept once seen, so waiting again (or
    /// [`try_wait`](Child::try_wait)) returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::process::ExitStatusExt;
    /// use tulipa_process::Command;
    ///
    /// # futures_lite::future::block_on(async {
    /// let status = Command::new("sh").args(["-c", "exit 3"]).spawn()?.wait().await?;
    /// assert_eq!(status.code(), Some(3));
    /// # std::io::Result::Ok(()) })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[track_caller]
    pub fn wait<'t0>(
        &'t0 mut self,
    ) -> impl std::future::Future<Output = io::Result<ExitStatus>> + use<'t0> {
        tulipa_core::await_point::track(async move {
            drop(self.stdin.take());
            future::poll_fn(|cx| self.poll_exit(cx)).await
        })
    }

    /// Sends `SIGKILL` to the process, without waiting for it to die
    /// (asyncio's `Process.kill()`).
    ///
    /// # Errors
    ///
    /// Fails with [`NotFound`](io::ErrorKind::NotFound) (asyncio's
    /// `ProcessLookupError`) if the process has already exited and been
    /// reaped, as for [`send_signal`](Child::send_signal). Also fails if
    /// `kill(2)` fails, or `waitpid` does (see [`try_wait`](Child::try_wait)).
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.send_signal(SIGKILL)
    }

    /// Kills the process with `SIGKILL` and waits for it (asyncio's
    /// `Process.kill()` followed by `wait()`).
    ///
    /// # Errors
    ///
    /// As for [`start_kill`](Child::start_kill) (so
    /// [`NotFound`](io::ErrorKind::NotFound) once the process was reaped)
    /// and [`wait`](Child::wait).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the signal is sent on the first poll; if the future is
    /// dropped after that, the process dies anyway and is reaped by a later
    /// wait or, once the `Child` is dropped, by the background reaper.
    #[track_caller]
    pub fn kill<'t0>(
        &'t0 mut self,
    ) -> impl std::future::Future<Output = io::Result<()>> + use<'t0> {
        tulipa_core::await_point::track(async move {
            self.start_kill()?;
            self.wait().await.map(drop)
        })
    }

    /// Sends `signal` to the process (asyncio's `Process.send_signal`).
    ///
    /// The process is reaped first if it has already exited, so the signal
    /// never reaches another process that reused its number.
    ///
    /// # Errors
    ///
    /// Fails with [`NotFound`](io::ErrorKind::NotFound) (asyncio's
    /// `ProcessLookupError`) if the process has exited and been reaped,
    /// by an earlier wait or by this call: there is nothing left to signal.
    /// Also fails if `kill(2)` fails (for example
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for a bad signal
    /// number), or `waitpid` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use tulipa_process::{signal::SIGTERM, Command};
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut child = Command::new("true").spawn()?;
    /// child.wait().await?;
    /// let err = child.send_signal(SIGTERM).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    /// # std::io::Result::Ok(()) })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn send_signal(&mut self, signal: Signal) -> io::Result<()> {
        // Reap first if it already exited, so the signal never reaches a
        // process that reused the number.
        if let Some(status) = self.try_wait()? {
            return Err(exited_error(signal, status));
        }
        match self.id() {
            Some(pid) => send_signal(pid, signal),
            None => unreachable!("an unreaped child has a pid"),
        }
    }

    /// Sends `SIGTERM` to the process (asyncio's `Process.terminate`).
    ///
    /// # Errors
    ///
    /// As for [`send_signal`](Child::send_signal).
    pub fn terminate(&mut self) -> io::Result<()> {
        self.send_signal(SIGTERM)
    }

    /// Closes stdin, reads stdout and stderr to the end while waiting for
    /// the process, and returns all three (asyncio's `communicate()`,
    /// with no input).
    ///
    /// The two pipes are read concurrently, so a child that writes a lot
    /// to both never blocks on a full pipe. A pipe that was not piped
    /// gives an empty `Vec`.
    ///
    /// # Errors
    ///
    /// Fails if a read fails or the wait does; the child is then dropped
    /// (see [`Child`]).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: the output read so far is lost if the future is
    /// dropped.
    #[track_caller]
    pub fn wait_with_output(
        mut self,
    ) -> impl std::future::Future<Output = io::Result<Output>> + use<> {
        tulipa_core::await_point::track(async move {
            drop(self.stdin.take());
            let (stdout, stderr) = (self.stdout.take(), self.stderr.take());
            let read_out = read_all(stdout);
            let read_err = read_all(stderr);
            let ((stdout, stderr), status) =
                future::try_zip(future::try_zip(read_out, read_err), self.wait()).await?;
            Ok(Output {
                status,
                stdout,
                stderr,
            })
        })
    }

    /// Writes `input` to the child's stdin and closes it, while reading its
    /// stdout and stderr to the end; then waits for the process (asyncio's
    /// `await proc.communicate(input)`).
    ///
    /// The three pipes are served concurrently, so a child that writes a
    /// lot before it reads all its input cannot deadlock with us. Stdin is
    /// closed once `input` is written (`b""`: at once, as asyncio's
    /// `communicate()` with no input does), so a child that reads to
    /// end-of-file finishes. A child that exits, or closes its stdin,
    /// before reading all of `input` is not an error: the rest of the input
    /// is dropped (asyncio ignores `BrokenPipeError` and
    /// `ConnectionResetError` there too), and its output and status are
    /// returned as usual.
    ///
    /// A stream that was not piped (or was taken out of the `Child`
    /// before) gives an empty `Vec`, where asyncio gives `None`. The three
    /// pipes are taken out of the `Child`; the process stays in it, so
    /// [`try_wait`](Child::try_wait) and [`wait`](Child::wait) return the
    /// same status afterwards.
    ///
    /// # Errors
    ///
    /// Fails with [`InvalidInput`](io::ErrorKind::InvalidInput) if `input`
    /// is not empty but the child has no stdin pipe (spawn it with
    /// `.stdin(Stdio::piped())`, and do not take `stdin` out of the
    /// `Child` first); nothing is read or closed then. Fails if a write to
    /// stdin fails other than by a closed pipe, if a read fails, or if the
    /// wait does (see [`wait`](Child::wait)).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if the future is dropped, the part of `input` not
    /// yet written and the output read so far are lost, and the three
    /// pipes are closed (they were taken on the first poll). The process
    /// itself is not touched: it stays in the `Child`, to be waited for
    /// (or killed) as usual.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::process::Stdio;
    /// use tulipa_process::Command;
    ///
    /// # futures_lite::future::block_on(async {
    /// let mut child = Command::new("sort")
    ///     .stdin(Stdio::piped())
    ///     .stdout(Stdio::piped())
    ///     .spawn()?;
    /// let out = child.communicate(b"pear\napple\n").await?;
    /// assert_eq!(out.stdout, b"apple\npear\n");
    /// assert!(out.status.success());
    /// # std::io::Result::Ok(()) })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[track_caller]
    pub fn communicate<'t0, 't1>(
        &'t0 mut self,
        input: &'t1 [u8],
    ) -> impl std::future::Future<Output = io::Result<Output>> + use<'t0, 't1> {
        tulipa_core::await_point::track(async move {
            if !input.is_empty() && self.stdin.is_none() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "communicate was given {} bytes of input but the child has no stdin \
                         pipe: spawn it with `.stdin(Stdio::piped())`, and do not take \
                         `child.stdin` before",
                        input.len()
                    ),
                ));
            }
            let stdin = self.stdin.take();
            let (stdout, stderr) = (self.stdout.take(), self.stderr.take());
            let feed = async move {
                let Some(mut pipe) = stdin else {
                    return Ok(());
                };
                match pipe.write_all(input).await {
                    Ok(()) => Ok(()),
                    // The child exited or closed its stdin: what it did not
                    // read is dropped, as asyncio does.
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                        ) =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
                // `pipe` is dropped here: end-of-file for the child.
            };
            let (((), stdout), stderr) =
                future::try_zip(future::try_zip(feed, read_all(stdout)), read_all(stderr)).await?;
            let status = self.wait().await?;
            Ok(Output {
                status,
                stdout,
                stderr,
            })
        })
    }
}

/// Reads `pipe` to the end; nothing for no pipe.
async fn read_all<R: futures_lite::AsyncRead + Unpin>(pipe: Option<R>) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if let Some(mut pipe) = pipe {
        pipe.read_to_end(&mut buf).await?;
    }
    Ok(buf)
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        let Some(mut child) = self.child.take() else {
            return;
        };
        if self.kill_on_drop {
            // Not reaped yet, so the number is still this process's.
            let _ = child.kill();
        }
        if let Ok(None) = child.try_wait() {
            reap::adopt(child, self.watch.take());
        }
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("id", &self.id())
            .field("status", &self.status)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .field("kill_on_drop", &self.kill_on_drop)
            .finish()
    }
}
