//! No pidfds on this platform: every wait goes through the `SIGCHLD`
//! listener (the fallback Linux uses too when pidfds are refused).

use std::os::fd::OwnedFd;

/// Never a pidfd here: the caller falls back to the `SIGCHLD` listener.
pub(super) fn open_pidfd(_pid: u32) -> Option<OwnedFd> {
    None
}
