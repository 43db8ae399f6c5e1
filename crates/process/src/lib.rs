//! Subprocesses with async pipes, and signal handling, for tulipa
//! (asyncio's `create_subprocess_exec` and `add_signal_handler`).
//!
//! - [`Command`] mirrors [`std::process::Command`] and spawns a [`Child`]
//!   whose pipes ([`ChildStdin`], [`ChildStdout`], [`ChildStderr`]) are
//!   async and whose exit is awaited with [`Child::wait`];
//!   [`Command::output`] and [`Command::status`] run a program to the end.
//! - [`protocol`] has asyncio's callback API for processes:
//!   [`subprocess_exec`](protocol::subprocess_exec) with a
//!   [`SubprocessProtocol`](protocol::SubprocessProtocol).
//! - [`signal`] has [`ctrl_c`](signal::ctrl_c), the
//!   [`Signals`](signal::Signals) stream and asyncio's
//!   [`add_signal_handler`](signal::add_signal_handler).
//!
//! | asyncio | tulipa |
//! | --- | --- |
//! | `await asyncio.create_subprocess_exec(prog, *args, stdout=PIPE)` | `Command::new(prog).args(args).stdout(Stdio::piped()).spawn()?` |
//! | `proc.stdin.write(b); await proc.stdin.drain()` | `child.stdin.as_mut().unwrap().write_all(b).await?` |
//! | `await proc.stdout.read()` | `child.stdout.take().unwrap().read_to_end(&mut v).await?` |
//! | `await proc.wait()`, `proc.returncode` | `child.wait().await?`, `child.try_wait()?` |
//! | `await proc.communicate(input)` | `child.communicate(input).await?` |
//! | `create_subprocess_shell(cmd)` | `Command::shell(cmd)` |
//! | `stderr=asyncio.subprocess.STDOUT` | `command.stderr_to_stdout()` |
//! | `start_new_session=True` | `command.start_new_session(true)` |
//! | `proc.kill()`, `proc.terminate()`, `proc.send_signal(s)` | `child.start_kill()`, `child.terminate()`, `child.send_signal(s)` |
//! | `proc.pid` | `child.id()` |
//!
//! # Design
//!
//! **Spawning** is `std`'s: [`Command`] wraps `std::process::Command` and
//! turns the pipe ends into [`tulipa_reactor::Async`] objects.
//!
//! **Waiting** uses a pidfd (Linux 5.3 and later) registered with the
//! reactor: the task that waits is woken by the reactor when the process
//! exits, and no signal handler is installed. Where `pidfd_open` is
//! refused, a `SIGCHLD` listener wakes the waiting children, each of which
//! calls `waitpid(its own pid, WNOHANG)`; `waitpid(-1)` is never called, so
//! other libraries' children are left alone. Setting `TULIPA_NO_PIDFD=1`
//! in the environment forces the `SIGCHLD` path (for tests, and for
//! sandboxes whose policy breaks pidfds in some other way).
//!
//! **No zombies.** A [`Child`] dropped before its process was reaped hands
//! it to a process-wide *orphan reaper*. Background work here is done by
//! *reactor callbacks* rather than tasks or threads: a waker that does its
//! (short, non-blocking) work when it is woken, registered with the
//! process-wide reactor (`tulipa_reactor::Reactor::global`), whose own
//! thread wakes it. That needs no runtime, outlives every runtime (a task
//! would die with the runtime that ran it and leave zombies behind), and
//! adds no thread (the process-wide reactor's thread exists anyway). The
//! signal dispatcher works the same way.
//!
//! **Descriptors.** A child holds its pipes and, while someone waits, one
//! pidfd; the pidfd is closed as soon as the process is reaped, and the
//! reaper closes an orphan's as soon as it reaps it, so thousands of
//! short-lived children in a row use a bounded number of descriptors.
//!
//! **`SIGPIPE`.** Rust programs ignore `SIGPIPE`, so writing to the stdin
//! of a child that closed it fails with
//! [`BrokenPipe`](std::io::ErrorKind::BrokenPipe) and the program keeps
//! running (see [`signal`]).
//!
//! **Unsafe code** is limited to three modules: installing the signal
//! handler and borrowing the eventfd inside it (`signal/registry.rs`),
//! calling `kill(2)` (`signal/kill.rs`), and the `setsid` / `dup2` run in the
//! child before `exec` (`pre_exec.rs`); each block has a `SAFETY` proof. The
//! rest of the crate denies `unsafe`.
//!
//! # Examples
//!
//! A pipeline, `printf 'a\nb\n' | wc -l`:
//!
//! ```
//! use std::process::Stdio;
//! use tulipa_process::Command;
//!
//! # futures_lite::future::block_on(async {
//! let mut printf = Command::new("printf").arg("a\\nb\\n").stdout(Stdio::piped()).spawn()?;
//! let pipe = Stdio::try_from(printf.stdout.take().unwrap())?;
//! let wc = Command::new("wc").arg("-l").stdin(pipe).output().await?;
//! assert_eq!(String::from_utf8_lossy(&wc.stdout).trim(), "2");
//! assert!(printf.wait().await?.success());
//! # std::io::Result::Ok(()) })?;
//! # std::io::Result::Ok(())
//! ```
#![cfg(unix)]
#![deny(unsafe_code)]

mod child;
mod command;
mod pre_exec;
pub mod protocol;
mod reap;
mod serial;
pub mod signal;
mod stdio;
mod sync;

pub use child::Child;
pub use command::Command;
pub use std::process::{ExitStatus, Output, Stdio};
pub use stdio::{ChildStderr, ChildStdin, ChildStdout};

/// How many dropped children the background reaper still waits for.
///
/// Zero once every orphan has exited and been reaped; useful in tests and
/// for diagnostics.
pub fn orphan_count() -> usize {
    reap::orphan_count()
}
