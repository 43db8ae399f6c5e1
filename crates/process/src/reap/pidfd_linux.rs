//! pidfds (Linux 5.3 and later): a descriptor that turns readable when the
//! process exits, registered with the reactor like a socket.

use std::os::fd::OwnedFd;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::OnceLock;

use rustix::io::Errno;
use rustix::process::{pidfd_open, Pid, PidfdFlags};

/// Set when the kernel (or a seccomp policy) refuses `pidfd_open`.
static PIDFD_BROKEN: AtomicBool = AtomicBool::new(false);

/// Whether pidfds may be tried: not refused before, not turned off.
fn pidfd_enabled() -> bool {
    static DISABLED: OnceLock<bool> = OnceLock::new();
    let disabled =
        *DISABLED.get_or_init(|| std::env::var_os("TULIPA_NO_PIDFD").is_some_and(|v| v != "0"));
    !disabled && !PIDFD_BROKEN.load(SeqCst)
}

/// Opens a pidfd for `pid`, which must be an unreaped child of ours (so
/// the number cannot have been reused).
pub(super) fn open_pidfd(pid: u32) -> Option<OwnedFd> {
    if !pidfd_enabled() {
        return None;
    }
    let pid = Pid::from_raw(i32::try_from(pid).ok()?)?;
    match pidfd_open(pid, PidfdFlags::empty()) {
        Ok(fd) => Some(fd),
        Err(e) => {
            if e == Errno::NOSYS || e == Errno::PERM {
                PIDFD_BROKEN.store(true, SeqCst);
            }
            None
        }
    }
}
