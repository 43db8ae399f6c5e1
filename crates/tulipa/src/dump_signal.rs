//! `Builder::dump_on_signal`: a task dump on every `SIGQUIT`.
//!
//! The executor knows no signals and the process crate knows no executor:
//! the facade wires them. Each runtime that asks for it gets a small
//! detached task listening on a [`Signals`] stream for `SIGQUIT` (every
//! listener sees every delivery, so several runtimes each print their own
//! dump); on each delivery it reports [`Handle::dump`] as a
//! [`Diagnostic::TaskDump`]. The task's id is kept here so that dumps leave
//! it out; the task ends when the runtime drops it at shutdown (it holds a
//! `Handle`, and shutdown cancels every task, which releases it).

use std::io;
use std::sync::{Mutex, PoisonError};

use tulipa_executor::{Diagnostic, TaskId};
use tulipa_process::signal::{Signals, SIGQUIT};

use crate::Handle;

/// The ids of the listening tasks (one per runtime that asked, removed
/// when the task ends).
static HELPERS: Mutex<Vec<TaskId>> = Mutex::new(Vec::new());

/// Whether `id` is one of the listening tasks.
pub(crate) fn is_helper(id: TaskId) -> bool {
    HELPERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(&id)
}

/// Removes the task's id when its future is dropped (shutdown).
struct Forget(Option<TaskId>);

impl Drop for Forget {
    fn drop(&mut self) {
        if let Some(id) = self.0 {
            HELPERS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|h| *h != id);
        }
    }
}

/// Starts the listening task on `handle`'s runtime.
pub(crate) fn install(handle: &Handle) -> io::Result<()> {
    let _enter = handle.enter();
    let mut signals = Signals::new([SIGQUIT])?;
    let target = handle.clone();
    let task = crate::task::Builder::new()
        .name("tulipa-dump-on-signal")
        .spawn_on(
            async move {
                let _forget = Forget(crate::task::current_id());
                loop {
                    signals.recv().await;
                    target.report(&Diagnostic::TaskDump {
                        dump: target.dump(),
                        trigger: "SIGQUIT",
                    });
                }
            },
            handle,
        );
    HELPERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(task.id());
    task.detach();
    Ok(())
}
