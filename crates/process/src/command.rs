//! [`Command`]: a process builder that mirrors [`std::process::Command`].
//!
//! It wraps `std`'s builder, which does the actual spawning (`posix_spawn`
//! or `fork` + `exec`, close-on-exec pipes, reporting an `exec` failure
//! back to the parent), and adds what an async runtime needs: async pipes,
//! async waiting, and `kill_on_drop`. It also remembers which standard
//! streams were set explicitly, because [`output`](Command::output) uses
//! different defaults (stdin null, stdout and stderr piped) from
//! [`spawn`](Command::spawn) and [`status`](Command::status) (inherit all).

use std::error::Error;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::child::Child;
use crate::pre_exec::ChildSetup;

/// A spawn failure, naming the program (and directory) that failed.
struct SpawnError {
    program: OsString,
    dir: Option<PathBuf>,
    source: io::Error,
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to spawn `{}`", self.program.to_string_lossy())?;
        if let Some(dir) = &self.dir {
            write!(f, " in directory `{}`", dir.display())?;
        }
        write!(f, ": {}", self.source)
    }
}

impl fmt::Debug for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Error for SpawnError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// A builder for a child process (asyncio's `create_subprocess_exec`).
///
/// The methods mirror [`std::process::Command`]; the differences are that
/// [`spawn`](Command::spawn) returns a [`Child`] with async pipes and an
/// async [`wait`](Child::wait), [`status`](Command::status) and
/// [`output`](Command::output) are async, and
/// [`kill_on_drop`](Command::kill_on_drop) exists.
///
/// The program is looked up in `PATH` as `std` does; arguments are passed
/// as they are, never through a shell.
///
/// `pre_exec` (a closure run in the child between `fork` and `exec`) is
/// not offered here because it is `unsafe`: reach it through
/// [`as_std_mut`](Command::as_std_mut) and `std`'s
/// [`CommandExt::pre_exec`] if you need it, under its safety contract.
///
/// # Examples
///
/// ```
/// use tulipa_process::Command;
///
/// # futures_lite::future::block_on(async {
/// let output = Command::new("echo").arg("hello").output().await?;
/// assert!(output.status.success());
/// assert_eq!(output.stdout, b"hello\n");
/// # std::io::Result::Ok(()) })?;
/// # std::io::Result::Ok(())
/// ```
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// Which of stdin, stdout, stderr were set explicitly.
    stdio_set: [bool; 3],
    /// Whether `process_group` was called (it cannot combine with a new
    /// session).
    pgroup_set: bool,
    /// The flags of the `pre_exec` closure, once it is installed.
    setup: Option<Arc<ChildSetup>>,
}

impl Command {
    /// A command that runs `program` with no arguments, inheriting the
    /// environment, the working directory and the standard streams
    /// (asyncio's `create_subprocess_exec(program, ...)`).
    #[doc(alias = "create_subprocess_exec")]
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// A command that runs `cmd` with the shell, `/bin/sh -c cmd`
    /// (asyncio's `create_subprocess_shell(cmd, ...)`, which also uses
    /// `/bin/sh`).
    ///
    /// The shell parses `cmd`: pipes, redirections, globs, `$VAR` and
    /// `;` all work, and so does any of them that hides in text you paste
    /// into it. **Never build `cmd` from untrusted text.** Pass such text
    /// as arguments instead: with [`arg`](Command::arg) /
    /// [`args`](Command::args), the first one becomes `$0` (the script's
    /// name, used in the shell's error messages) and the next ones `$1`,
    /// `$2`, ...; write `"$1"` (in double quotes) in `cmd` to use one as a
    /// single word, exactly as given. ([`Command::new`] runs a program with
    /// no shell at all, which is asyncio's advice too.)
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_process::Command;
    ///
    /// # futures_lite::future::block_on(async {
    /// let untrusted = "it's; rm -rf $HOME";
    /// let out = Command::shell(r#"printf '%s|' "$1" | tr a-z A-Z"#)
    ///     .args(["sh", untrusted])
    ///     .output()
    ///     .await?;
    /// assert_eq!(out.stdout, b"IT'S; RM -RF $HOME|");
    /// # std::io::Result::Ok(()) })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[doc(alias = "create_subprocess_shell")]
    pub fn shell(cmd: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("/bin/sh");
        command.arg("-c").arg(cmd);
        command
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Clears the child's environment: it gets only the variables set
    /// after this call.
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    ///
    /// A relative program path is resolved against the parent's directory
    /// or this one depending on the platform, as for `std`; prefer an
    /// absolute path when combining the two.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Sets the child's standard input: [`Stdio::piped`] (then
    /// [`Child::stdin`] is an async writer), [`Stdio::inherit`],
    /// [`Stdio::null`], or another child's pipe end (`Stdio::try_from`).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdio_set[0] = true;
        self
    }

    /// Sets the child's standard output; as [`stdin`](Command::stdin).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdio_set[1] = true;
        self
    }

    /// Sets the child's standard error; as [`stdin`](Command::stdin).
    ///
    /// This undoes [`stderr_to_stdout`](Command::stderr_to_stdout).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stdio_set[2] = true;
        if let Some(setup) = &self.setup {
            setup.stderr_to_stdout.store(false, Relaxed);
        }
        self
    }

    /// Sends the child's standard error wherever its standard output goes
    /// (asyncio's `stderr=asyncio.subprocess.STDOUT`), so both streams
    /// arrive interleaved, in the order the child wrote them, on one pipe.
    ///
    /// The child's descriptor 2 becomes a copy of descriptor 1 just before
    /// the program starts, whatever [`stdout`](Command::stdout) is (a pipe,
    /// a file, null, inherited). [`Child::stderr`] is then `None`, and
    /// [`output`](Command::output) returns everything in `stdout`.
    /// A later [`stderr`](Command::stderr) call undoes this.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_process::Command;
    ///
    /// # futures_lite::future::block_on(async {
    /// let out = Command::shell("echo out; echo err >&2; echo out2")
    ///     .stderr_to_stdout()
    ///     .output()
    ///     .await?;
    /// assert_eq!(out.stdout, b"out\nerr\nout2\n");
    /// assert!(out.stderr.is_empty());
    /// # std::io::Result::Ok(()) })?;
    /// # std::io::Result::Ok(())
    /// ```
    #[doc(alias = "STDOUT")]
    pub fn stderr_to_stdout(&mut self) -> &mut Command {
        // No pipe of its own: descriptor 2 is replaced in the child anyway.
        self.std.stderr(Stdio::inherit());
        self.stdio_set[2] = true;
        self.setup().stderr_to_stdout.store(true, Relaxed);
        self
    }

    /// Whether the child starts a new session (`setsid()` before the
    /// program runs; asyncio's `start_new_session=True`); default `false`.
    ///
    /// The child then leads a new session and a new process group, both
    /// named by its pid, with no controlling terminal: Ctrl-C at the
    /// terminal, and the hang-up when the terminal closes, no longer reach
    /// it. To signal it together with its own children, signal the group
    /// (`kill -TERM -<pid>`).
    ///
    /// # Errors
    ///
    /// [`spawn`](Command::spawn) fails with
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) if
    /// [`process_group`](Command::process_group) was also set: a new
    /// session already is a new process group, and a session leader's
    /// group cannot be changed.
    pub fn start_new_session(&mut self, new_session: bool) -> &mut Command {
        if new_session || self.setup.is_some() {
            self.setup().new_session.store(new_session, Relaxed);
        }
        self
    }

    /// The `pre_exec` flags, installing the closure on first use.
    fn setup(&mut self) -> &ChildSetup {
        self.setup
            .get_or_insert_with(|| ChildSetup::install(&mut self.std))
    }

    /// Whether a dropped [`Child`] of this command kills its process with
    /// `SIGKILL` (default `false`: the process keeps running, and is reaped
    /// in the background when it exits).
    ///
    /// This also applies to the children of [`status`](Command::status)
    /// and [`output`](Command::output) when their future is dropped.
    pub fn kill_on_drop(&mut self, kill_on_drop: bool) -> &mut Command {
        self.kill_on_drop = kill_on_drop;
        self
    }

    /// Puts the child into process group `pgroup` (`0`: a new group whose
    /// id is the child's pid), so a signal to the group reaches it and its
    /// own children, and Ctrl-C at the terminal does not.
    pub fn process_group(&mut self, pgroup: i32) -> &mut Command {
        self.std.process_group(pgroup);
        self.pgroup_set = true;
        self
    }

    /// Runs the child as user `uid` (the parent needs the privilege).
    pub fn uid(&mut self, uid: u32) -> &mut Command {
        self.std.uid(uid);
        self
    }

    /// Runs the child with group `gid` (the parent needs the privilege).
    pub fn gid(&mut self, gid: u32) -> &mut Command {
        self.std.gid(gid);
        self
    }

    /// Sets the child's `argv[0]` (what it sees as its own name).
    pub fn arg0(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg0(arg);
        self
    }

    /// The program to run.
    pub fn get_program(&self) -> &OsStr {
        self.std.get_program()
    }

    /// The arguments (without the program).
    pub fn get_args(&self) -> std::process::CommandArgs<'_> {
        self.std.get_args()
    }

    /// The environment changes: `(key, Some(value))` set, `(key, None)`
    /// removed.
    pub fn get_envs(&self) -> std::process::CommandEnvs<'_> {
        self.std.get_envs()
    }

    /// The working directory, if set.
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.std.get_current_dir()
    }

    /// Whether [`start_new_session`](Command::start_new_session) is set.
    pub fn get_start_new_session(&self) -> bool {
        self.setup
            .as_ref()
            .is_some_and(|s| s.new_session.load(Relaxed))
    }

    /// Whether [`stderr_to_stdout`](Command::stderr_to_stdout) is set.
    pub fn get_stderr_to_stdout(&self) -> bool {
        self.setup
            .as_ref()
            .is_some_and(|s| s.stderr_to_stdout.load(Relaxed))
    }

    /// Whether [`kill_on_drop`](Command::kill_on_drop) is set.
    pub fn get_kill_on_drop(&self) -> bool {
        self.kill_on_drop
    }

    /// The wrapped `std` builder.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The wrapped `std` builder, for what this type does not offer (for
    /// example the `unsafe` `pre_exec`).
    ///
    /// Standard streams set through it are not seen as "set" by
    /// [`output`](Command::output), which then applies its own defaults
    /// and afterwards resets them to inherited (`std` has no getter to
    /// save them by): set streams with [`stdin`](Command::stdin),
    /// [`stdout`](Command::stdout) and [`stderr`](Command::stderr).
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    fn spawn_error(&self, source: io::Error) -> io::Error {
        io::Error::new(
            source.kind(),
            SpawnError {
                program: self.std.get_program().to_owned(),
                dir: self.std.get_current_dir().map(Path::to_owned),
                source,
            },
        )
    }

    /// Starts the program.
    ///
    /// Piped standard streams become the [`Child`]'s async pipes,
    /// registered with the current reactor (the runtime's inside a
    /// runtime, else the process-wide one). Nothing else needs a runtime:
    /// a bare `block_on` can drive the child.
    ///
    /// # Errors
    ///
    /// Fails if the program cannot be started, with the OS error's kind
    /// (for example [`NotFound`](io::ErrorKind::NotFound)) and a message
    /// that names the program: ``failed to spawn `nonexistent-prog`: No
    /// such file or directory (os error 2)``. The original [`io::Error`]
    /// is the message's [`source`](Error::source). Also fails if a pipe
    /// cannot be registered with the reactor (the process is then killed).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::ErrorKind;
    /// use tulipa_process::Command;
    ///
    /// let err = Command::new("nonexistent-prog").spawn().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    /// assert!(err.to_string().starts_with("failed to spawn `nonexistent-prog`: "));
    /// ```
    pub fn spawn(&mut self) -> io::Result<Child> {
        if self.pgroup_set && self.get_start_new_session() {
            return Err(self.spawn_error(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_new_session(true) and process_group(..) cannot be combined: a new \
                 session is already a new process group, led by the child; drop one of the two",
            )));
        }
        let child = self.std.spawn().map_err(|e| self.spawn_error(e))?;
        Child::new(child, self.kill_on_drop)
    }

    /// Runs the program to completion and returns its exit status
    /// (standard streams inherited unless set).
    ///
    /// # Errors
    ///
    /// As for [`spawn`](Command::spawn) and [`Child::wait`].
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped, the child is dropped: killed with
    /// [`kill_on_drop`](Command::kill_on_drop), else left running and
    /// reaped in the background.
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        child.wait().await
    }

    /// Runs the program to completion and collects its output.
    ///
    /// Unless set explicitly, stdin is [`Stdio::null`] and stdout and
    /// stderr are [`Stdio::piped`] (as in `std`); the two pipes are read
    /// concurrently, so large outputs on both cannot deadlock. The
    /// defaults apply to this call only.
    ///
    /// # Errors
    ///
    /// As for [`spawn`](Command::spawn) and [`Child::wait_with_output`].
    ///
    /// # Cancel safety
    ///
    /// As for [`status`](Command::status); the output read so far is lost.
    pub async fn output(&mut self) -> io::Result<Output> {
        self.spawn_with_defaults([Stdio::null, Stdio::piped, Stdio::piped])?
            .wait_with_output()
            .await
    }

    /// Spawns with `defaults` for the standard streams that were not set,
    /// for this call only.
    pub(crate) fn spawn_with_defaults(
        &mut self,
        defaults: [fn() -> Stdio; 3],
    ) -> io::Result<Child> {
        let unset = self.stdio_set.map(|set| !set);
        self.apply(unset, defaults);
        let spawned = self.spawn();
        // Back to `spawn`'s own default, which is what "unset" means.
        self.apply(unset, [Stdio::inherit; 3]);
        spawned
    }

    fn apply(&mut self, which: [bool; 3], cfg: [fn() -> Stdio; 3]) {
        if which[0] {
            self.std.stdin(cfg[0]());
        }
        if which[1] {
            self.std.stdout(cfg[1]());
        }
        if which[2] {
            self.std.stderr(cfg[2]());
        }
    }
}

impl From<std::process::Command> for Command {
    /// Wraps a `std` builder; its standard streams count as unset for
    /// [`output`](Command::output), which replaces them with its defaults
    /// and leaves them inherited afterwards.
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdio_set: [false; 3],
            pgroup_set: false,
            setup: None,
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.std, f)?;
        if self.kill_on_drop {
            f.write_str(" (kill_on_drop)")?;
        }
        if self.get_start_new_session() {
            f.write_str(" (start_new_session)")?;
        }
        if self.get_stderr_to_stdout() {
            f.write_str(" (stderr_to_stdout)")?;
        }
        Ok(())
    }
}
