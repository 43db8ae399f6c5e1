//! Subprocesses with async pipes, and signal handling.
#![forbid(unsafe_code)]

pub mod signal {
    //! Signal handling: `ctrl_c`, `Signals`, `add_signal_handler`.
}
