//! Feature `tracing`: per-task spans and waker events in the shape
//! tokio-console's `console-subscriber` reads from any runtime, and the
//! diagnostics as `tracing` events.
//!
//! # What is emitted
//!
//! - At spawn, a span named `runtime.spawn` (target `runtime::task`) with
//!   the fields `kind = "task"`, `task.name`, `task.id` (tulipa's
//!   [`TaskId`](crate::TaskId)), `loc.file`, `loc.line` and `loc.col` (the
//!   spawn location). The span is entered for the length of every poll and
//!   closed when the task's future is dropped (completion, cancellation,
//!   shutdown): console-subscriber counts entries as polls and the close as
//!   the task's end.
//! - Waker events (target `runtime::waker`, level `TRACE`) with
//!   `op = "waker.wake"`, `"waker.wake_by_ref"`, `"waker.clone"` or
//!   `"waker.drop"` and `task.id` set to the *span's* id, which is how
//!   console-subscriber ties a waker event to its task. The targets match
//!   the `runtime=trace` filter of `console_subscriber::init`.
//! - Every [`Diagnostic`] as an event (target `tulipa::diagnostics`): slow
//!   and stuck polls and slow callbacks at `WARN`, unhandled panics and
//!   callback panics at `ERROR`, task dumps at `INFO`, with the task's
//!   fields. The reporter (`on_diagnostic`, or the stderr line) still gets
//!   every report.
//!
//! # How wakers are traced
//!
//! The future inside a task is polled with a waker of this module's own
//! vtable, which wraps the task's waker and emits an event for each
//! operation. It is made once per task (on its first poll while a
//! subscriber listens) and kept in the task's metadata; since it holds a
//! reference to the task, the metadata lets it go when the future is
//! dropped, so the task can be freed.
//!
//! With the feature off this module does not exist and nothing is emitted;
//! with it on and no subscriber interested, each poll costs a check of
//! tracing's callsite interest.
// Unsafe here: the traced waker is a raw waker vtable over an `Arc`; every block carries its SAFETY proof.
#![allow(unsafe_code)]

use std::panic::Location;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{RawWaker, RawWakerVTable, Waker};

use tracing::Span;

use crate::diag::Diagnostic;
use crate::meta::TaskId;

/// A task's traced waker (its span lives in the task's future wrapper, so
/// it closes when the future is dropped).
pub(crate) struct TaskTrace {
    /// The span's id as console-subscriber reads it (0: no subscriber).
    span_id: u64,
    /// The traced waker, once made; cleared when the future is dropped.
    waker: Mutex<Option<Waker>>,
}

impl TaskTrace {
    /// The span of a task being spawned, and its record.
    pub(crate) fn new(
        id: TaskId,
        name: Option<&str>,
        location: &'static Location<'static>,
    ) -> (Span, TaskTrace) {
        let default_name;
        let name = match name {
            Some(n) => n,
            None => {
                default_name = format!("Task-{id}");
                &default_name
            }
        };
        let span = tracing::trace_span!(
            target: "runtime::task",
            parent: None,
            "runtime.spawn",
            kind = "task",
            task.name = name,
            task.id = id.as_u64(),
            loc.file = location.file(),
            loc.line = location.line(),
            loc.col = location.column(),
        );
        let span_id = span.id().map_or(0, |i| i.into_u64());
        let trace = TaskTrace {
            span_id,
            waker: Mutex::new(None),
        };
        (span, trace)
    }

    /// The waker to poll the future with: the traced one when a subscriber
    /// records this task's span, else `None` (poll with the task's own).
    pub(crate) fn waker(&self, task_waker: &Waker) -> Option<Waker> {
        if self.span_id == 0 {
            return None;
        }
        let mut slot = self.waker.lock().unwrap_or_else(PoisonError::into_inner);
        Some(
            slot.get_or_insert_with(|| traced_waker(task_waker.clone(), self.span_id))
                .clone(),
        )
    }

    /// The future was dropped: let the traced waker (and its reference to
    /// the task) go.
    pub(crate) fn future_dropped(&self) {
        let waker = self
            .waker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(waker);
    }
}

/// What a traced waker points to.
struct Traced {
    inner: Waker,
    span_id: u64,
}

fn op(span_id: u64, op: &'static str) {
    tracing::trace!(target: "runtime::waker", op = op, task.id = span_id);
}

fn traced_waker(inner: Waker, span_id: u64) -> Waker {
    let data = Arc::into_raw(Arc::new(Traced { inner, span_id })).cast::<()>();
    // SAFETY: `data` comes from `Arc::into_raw` of a `Traced`, which is
    // what every function of `VTABLE` expects; the waker owns that one
    // strong count, given back by `drop_waker` or `wake`.
    unsafe { Waker::from_raw(RawWaker::new(data, &VTABLE)) }
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone_waker, wake, wake_by_ref, drop_waker);

/// # Safety
///
/// `data` must come from `Arc::<Traced>::into_raw` and still own a count.
unsafe fn clone_waker(data: *const ()) -> RawWaker {
    let traced = data.cast::<Traced>();
    // SAFETY: per this function's contract the `Arc` is alive; the new
    // count is owned by the returned waker.
    unsafe { Arc::increment_strong_count(traced) };
    // SAFETY: alive, as above.
    op(unsafe { (*traced).span_id }, "waker.clone");
    RawWaker::new(data, &VTABLE)
}

/// # Safety
///
/// As [`clone_waker`]; consumes the count.
unsafe fn wake(data: *const ()) {
    // SAFETY: per the contract, this takes over the waker's count.
    let traced = unsafe { Arc::from_raw(data.cast::<Traced>()) };
    op(traced.span_id, "waker.wake");
    traced.inner.wake_by_ref();
}

/// # Safety
///
/// As [`clone_waker`]; borrows the count.
unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: per the contract the `Arc` is alive for this call.
    let traced = unsafe { &*data.cast::<Traced>() };
    op(traced.span_id, "waker.wake_by_ref");
    traced.inner.wake_by_ref();
}

/// # Safety
///
/// As [`clone_waker`]; consumes the count.
unsafe fn drop_waker(data: *const ()) {
    // SAFETY: per the contract, this takes over the waker's count.
    let traced = unsafe { Arc::from_raw(data.cast::<Traced>()) };
    op(traced.span_id, "waker.drop");
}

/// Emits `d` as a `tracing` event (besides the reporter).
pub(crate) fn diagnostic(d: &Diagnostic) {
    match d {
        Diagnostic::SlowPoll {
            task,
            duration,
            threshold,
        } => tracing::event!(
            target: "tulipa::diagnostics",
            tracing::Level::WARN,
            task.id = task.id().as_u64(),
            task.name = task.name(),
            loc.file = task.location().file(),
            loc.line = task.location().line(),
            ?duration,
            ?threshold,
            "{d}"
        ),
        Diagnostic::StuckPoll {
            task,
            thread,
            running_for,
            threshold,
        } => tracing::event!(
            target: "tulipa::diagnostics",
            tracing::Level::WARN,
            task.id = task.id().as_u64(),
            task.name = task.name(),
            loc.file = task.location().file(),
            loc.line = task.location().line(),
            thread = thread.as_str(),
            ?running_for,
            ?threshold,
            "{d}"
        ),
        Diagnostic::SlowCallback {
            location,
            duration,
            threshold,
        } => tracing::event!(
            target: "tulipa::diagnostics",
            tracing::Level::WARN,
            loc.file = location.file(),
            loc.line = location.line(),
            ?duration,
            ?threshold,
            "{d}"
        ),
        Diagnostic::CallbackPanic { location, message } => tracing::event!(
            target: "tulipa::diagnostics",
            tracing::Level::ERROR,
            loc.file = location.file(),
            loc.line = location.line(),
            panic = message.as_str(),
            "{d}"
        ),
        Diagnostic::UnhandledPanic { task, message } => tracing::event!(
            target: "tulipa::diagnostics",
            tracing::Level::ERROR,
            task.id = task.id().as_u64(),
            task.name = task.name(),
            loc.file = task.location().file(),
            loc.line = task.location().line(),
            panic = message.as_str(),
            "{d}"
        ),
        Diagnostic::TaskDump { dump, trigger } => tracing::event!(
            target: "tulipa::diagnostics",
            tracing::Level::INFO,
            tasks = dump.len(),
            trigger = *trigger,
            "{d}"
        ),
    }
}
