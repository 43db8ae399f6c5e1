//! Sending a signal to a process: `kill(2)`, the one call behind
//! [`Child::send_signal`](crate::Child::send_signal) and
//! [`raise`](super::raise).

#![allow(unsafe_code)]

use std::io;

use super::Signal;

/// Sends `signal` to process `pid`.
pub(crate) fn send_signal(pid: u32, signal: Signal) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "process id out of range"))?;
    // SAFETY: `kill(2)` takes two integers and touches no memory of ours;
    // it has no precondition for memory safety. (Which process it reaches
    // is the caller's concern: `Child` only calls it for an unreaped child,
    // whose number cannot have been reused.)
    let rc = unsafe { libc::kill(pid, signal.as_raw()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
