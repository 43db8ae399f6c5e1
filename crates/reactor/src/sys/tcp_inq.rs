//! `TCP_INQ` (Linux 4.18+): with every `recvmsg` the kernel also reports
//! how many bytes it still holds in the socket's receive queue.
//!
//! A read that fills the caller's buffer exactly (`read_exact` of a whole
//! message, the usual request-response client) cannot tell from its count
//! whether the socket is empty, so without this the next read is one that
//! can only say `WouldBlock`. With it, "nothing left" is known from the
//! read itself and the reactor waits for the next event straight away.
//!
//! It is safe across a half-close: once the peer's FIN has arrived and no
//! data is left, the kernel reports one byte left (`tcp_inq_hint`), so the
//! reader reads again and sees the end of file instead of waiting for an
//! edge that will not come.
// Unsafe here: `setsockopt` and `recvmsg` through libc (each block has its SAFETY proof).
#![allow(unsafe_code)]

use std::io::{self, IoSliceMut};
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Room for one control message carrying a `c_int` (`CMSG_SPACE(4)` is 24
/// bytes on 64-bit targets, 16 on 32-bit ones), aligned for `cmsghdr`.
type ControlBuf = [u64; 4];

/// Asks the kernel to report the bytes left with each `recvmsg` on `fd`.
/// Returns whether it agreed (it refuses on kernels before 4.18 and on
/// sockets that are not TCP).
pub(crate) fn enable(fd: BorrowedFd<'_>) -> bool {
    let on: libc::c_int = 1;
    // SAFETY: `fd` is open for the duration of the call (it is borrowed);
    // the option value points to a live `c_int` and its size is passed, so
    // the kernel reads exactly that `c_int`.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INQ,
            (&raw const on).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

/// One `recvmsg` into `bufs`. Returns the bytes read and whether the
/// kernel reported the receive queue empty after them (`false` when it
/// reported nothing: the option is off, or the control data was cut).
///
/// # Errors
///
/// The error of `recvmsg`, `WouldBlock` included.
pub(crate) fn recv(fd: BorrowedFd<'_>, bufs: &mut [IoSliceMut<'_>]) -> io::Result<(usize, bool)> {
    let mut control: ControlBuf = [0; 4];
    // SAFETY: `msghdr` is a plain C struct for which all-zero bytes are a
    // valid value (null pointers, zero lengths, and on musl zero padding).
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    // `IoSliceMut` is documented to be ABI compatible with `iovec` on Unix.
    msg.msg_iov = bufs.as_mut_ptr().cast();
    // The field is `size_t` on glibc and `c_int` on musl; a slice of
    // buffers never has more entries than either can count (the kernel
    // rejects more than `IOV_MAX` = 1024 anyway).
    msg.msg_iovlen = bufs.len() as _;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of::<ControlBuf>() as _;
    // The system call itself, not glibc's `recvmsg`: that wrapper is a
    // pthread cancellation point and switches asynchronous cancellation on
    // and off around the call (20 to 45 instructions per read on the echo
    // servers, callgrind), for `pthread_cancel`, which Rust code never uses.
    //
    // SAFETY: `msg` points to `bufs.len()` live, writable buffers and to
    // `control`, all of which outlive the call and are not otherwise
    // borrowed during it; `fd` is open for the call. `libc::msghdr` has
    // the kernel's layout (the C library passes it through unchanged), and
    // `syscall` returns -1 with `errno` set on failure, as `recvmsg` does.
    let n = unsafe {
        libc::syscall(
            libc::SYS_recvmsg,
            libc::c_long::from(fd.as_raw_fd()),
            &raw mut msg,
            0 as libc::c_long,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut drained = false;
    // SAFETY: the kernel filled `msg_control` and set `msg_controllen` to
    // the bytes it wrote, within `control`; the CMSG_* helpers walk only
    // that range and return null past its end. A header found there is
    // complete and its data holds `cmsg_len - CMSG_LEN(0)` bytes, so a
    // `TCP_CM_INQ` message's `c_int` is in bounds; it may be unaligned,
    // hence the unaligned read.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_TCP
                && (*cmsg).cmsg_type == libc::TCP_CM_INQ
                && (*cmsg).cmsg_len as usize
                    >= libc::CMSG_LEN(mem::size_of::<libc::c_int>() as u32) as usize
            {
                let left: libc::c_int =
                    libc::CMSG_DATA(cmsg).cast::<libc::c_int>().read_unaligned();
                drained = left == 0;
            }
            cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
        }
    }
    // `n` is non-negative here and at most the buffers' total length.
    Ok((n as usize, drained))
}
