//! What a child does between `fork` and `exec` that `std`'s builder cannot
//! say: `setsid()` ([`Command::start_new_session`](crate::Command::start_new_session))
//! and `dup2(1, 2)` ([`Command::stderr_to_stdout`](crate::Command::stderr_to_stdout)).
//!
//! Both run in one `pre_exec` closure, installed on the `std` builder the
//! first time either option is turned on (a builder with a closure cannot
//! use `posix_spawn`, so commands that need neither never get one). The
//! closure reads two flags shared with the [`Command`](crate::Command), so
//! turning an option off again later needs no way to remove it. `std` runs
//! the closure after it has set up the child's standard streams and process
//! group, just before `exec`: `dup2(1, 2)` therefore copies whatever
//! standard output became (a pipe, a file, `/dev/null`, the parent's).

#![allow(unsafe_code)]

use std::io;
use std::os::unix::process::CommandExt;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// The options the `pre_exec` closure reads in the child.
#[derive(Debug, Default)]
pub(crate) struct ChildSetup {
    /// Call `setsid()`.
    pub(crate) new_session: AtomicBool,
    /// Call `dup2(1, 2)`.
    pub(crate) stderr_to_stdout: AtomicBool,
}

impl ChildSetup {
    /// Installs the closure on `cmd` and returns the flags it reads (all
    /// off).
    pub(crate) fn install(cmd: &mut std::process::Command) -> Arc<ChildSetup> {
        let setup = Arc::new(ChildSetup::default());
        let flags = setup.clone();
        let in_child = move || -> io::Result<()> {
            // Only atomic loads, two system calls and `errno` below: no
            // allocation, no lock, nothing that is unsafe after a `fork`
            // of a multi-threaded process.
            if flags.new_session.load(Relaxed) {
                // SAFETY: `setsid(2)` takes no argument and touches no
                // memory of ours; it is async-signal-safe, so it may run
                // between `fork` and `exec`.
                if unsafe { libc::setsid() } == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            if flags.stderr_to_stdout.load(Relaxed) {
                // SAFETY: `dup2(2)` takes two integers and touches no
                // memory of ours; it is async-signal-safe. Descriptor 2 is
                // the child's own standard error (set up by `std` before
                // this closure runs), which it replaces by design; no
                // `OwnedFd` in this process image owns it.
                if unsafe { libc::dup2(1, 2) } == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        };
        // SAFETY: `pre_exec` requires the closure to be safe to run in the
        // child after `fork`, where only async-signal-safe work is allowed:
        // it only loads atomics (plain memory reads of the copied address
        // space), calls `setsid` / `dup2` (async-signal-safe) and builds an
        // `io::Error` from `errno` (no allocation). It does not touch the
        // parent's resources.
        unsafe {
            cmd.pre_exec(in_child);
        }
        setup
    }
}
