//! How a task ended, the callbacks that want to know, and the cloneable
//! cancel handle (asyncio's `Task.add_done_callback`, `Task.cancel()`).
//!
//! # Done callbacks
//!
//! A task's metadata holds one atomic byte with its outcome (0 while it
//! runs) and a flag saying whether callbacks were ever added; the
//! callbacks sit behind a mutex in the metadata's cold part, allocated by
//! the first `add_done_callback`, so only tasks that have some pay. The
//! task sets its outcome with a CAS and sees whether the flag was set;
//! `add_done_callback` pushes under the mutex, then sets the flag with a
//! `fetch_or` and sees whether the outcome was set. Read-modify-writes of
//! one atomic are totally ordered, so whichever side comes second sees the
//! other and dispatches; the callbacks are taken out of the vector under
//! the mutex, so each one is dispatched exactly once.
//!
//! Dispatching hands each callback to the owner's loop
//! ([`CallSoon`], installed by a runtime so callbacks run like its
//! `call_soon` callbacks); an executor without one runs the callback at
//! once, outside any task, catching and reporting a panic.
// Unsafe here: the done-callback handle reads the task metadata it keeps alive; every block carries its SAFETY proof.
#![allow(unsafe_code)]

use std::fmt;
use std::panic::{AssertUnwindSafe, Location};
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::sync::{AtomicU8, Mutex};
use std::task::Waker;

use crate::diag::{panic_message, Diagnostic, Diagnostics};
use crate::meta::{TaskId, TaskInfo, TaskMeta};

/// Outcome byte: still running.
pub(crate) const RUNNING: u8 = 0;
const RETURNED: u8 = 1;
const CANCELLED: u8 = 2;
const PANICKED: u8 = 3;

/// How a task ended, as seen by a done callback (asyncio's `task.done()`
/// with `cancelled()` / `exception()`). The output itself belongs to the
/// task's `JoinHandle`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskOutcome {
    /// The task's future returned.
    Returned,
    /// The task was cancelled (by a handle, or by its executor's shutdown).
    Cancelled,
    /// The task panicked; the panic message, or a placeholder for a
    /// non-string payload.
    Panicked(String),
}

impl fmt::Display for TaskOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskOutcome::Returned => f.write_str("returned"),
            TaskOutcome::Cancelled => f.write_str("cancelled"),
            TaskOutcome::Panicked(m) => write!(f, "panicked: {m}"),
        }
    }
}

/// How a runtime runs a callback "soon, on the loop": given where the
/// callback was registered and the callback. Installed with
/// [`CurrentThread::set_call_soon`](crate::CurrentThread::set_call_soon) or
/// [`MultiThreadHandle::set_call_soon`](crate::MultiThreadHandle::set_call_soon).
pub type CallSoon = Arc<dyn Fn(&'static Location<'static>, Box<dyn FnOnce() + Send>) + Send + Sync>;

/// A registered done callback and where it was added.
pub(crate) type DoneCallback = (
    &'static Location<'static>,
    Box<dyn FnOnce(&TaskOutcome) + Send>,
);

/// Runs `f` now, as no task, reporting a panic to `diag` as a callback
/// panic: the fallback when the owner has no loop.
pub(crate) fn run_now(
    diag: &Diagnostics,
    location: &'static Location<'static>,
    f: Box<dyn FnOnce() + Send>,
) {
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| crate::task::outside_task(f)));
    if let Err(p) = result {
        diag.report(&Diagnostic::CallbackPanic {
            location,
            message: panic_message(&*p),
        });
    }
}

/// The done-callback handshake of one task (see the module docs). The
/// callbacks themselves sit in a list the caller passes in (the task's
/// [`Cold::callbacks`](crate::meta::Cold), allocated by the first add), so
/// a task that never gets one carries this byte only; generic over the
/// callback (in its methods) so the loom model can use plain values.
#[derive(Default)]
pub(crate) struct DoneState {
    /// The outcome in the low bits ([`OUTCOME`]), and [`HAS_CALLBACKS`].
    /// Both sides change it with read-modify-writes of this one atomic, so
    /// they are totally ordered: whichever comes second sees the other.
    state: AtomicU8,
}

/// The outcome bits of `DoneState::state`.
const OUTCOME: u8 = 0b11;
/// Set once a callback was added.
const HAS_CALLBACKS: u8 = 0b100;

impl DoneState {
    /// The outcome byte (`RUNNING` while running).
    pub(crate) fn outcome(&self) -> u8 {
        self.state.load(Ordering::Acquire) & OUTCOME
    }

    /// Records the outcome (the first call wins) and returns the callbacks
    /// the caller must now dispatch, if any were added: `None`, the common
    /// case, leaves the caller no vector to drop (a call per task end, 12
    /// instructions, that the compiler did not remove). `list` is asked
    /// for the callbacks' list only then; it exists, since a callback is
    /// pushed to it before [`HAS_CALLBACKS`] is set.
    #[inline]
    fn finish<'a, C: 'a>(
        &self,
        byte: u8,
        list: impl FnOnce() -> Option<&'a Mutex<Vec<C>>>,
    ) -> Option<Vec<C>> {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if cur & OUTCOME != RUNNING {
                return None;
            }
            match self.state.compare_exchange_weak(
                cur,
                cur | byte,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        if cur & HAS_CALLBACKS != 0 {
            list().map(take)
        } else {
            None
        }
    }

    /// Adds a callback to `list`; returns the callbacks the caller must
    /// dispatch because the task already ended.
    fn add<C>(&self, list: &Mutex<Vec<C>>, callback: C) -> Vec<C> {
        list.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(callback);
        let before = self.state.fetch_or(HAS_CALLBACKS, Ordering::AcqRel);
        if before & OUTCOME != RUNNING {
            take(list)
        } else {
            Vec::new()
        }
    }
}

/// Takes every callback out of `list`, under its lock: each one is taken
/// (and dispatched) once.
fn take<C>(list: &Mutex<Vec<C>>) -> Vec<C> {
    std::mem::take(&mut *list.lock().unwrap_or_else(|e| e.into_inner()))
}

fn outcome_of(meta: &TaskMeta) -> TaskOutcome {
    match meta.done.outcome() {
        RETURNED => TaskOutcome::Returned,
        CANCELLED => TaskOutcome::Cancelled,
        _ => TaskOutcome::Panicked(
            crate::diag::Observe::message(meta)
                .unwrap_or("<no message>")
                .to_owned(),
        ),
    }
}

/// The task side: records how it ended (once; later calls do nothing) and
/// dispatches the callbacks added so far.
///
/// Runs for every task, twice (at the end of its last poll, and again,
/// as a no-op, when its future is dropped): the common case, no callbacks,
/// stays inline and never reaches `dispatch`.
#[inline]
pub(crate) fn finish(meta: &TaskMeta, outcome: &Result<(), ()>, cancelled: bool) {
    let byte = match (cancelled, outcome) {
        (true, _) => CANCELLED,
        (false, Ok(())) => RETURNED,
        (false, Err(())) => PANICKED,
    };
    if let Some(callbacks) = meta.done.finish(byte, || meta.cold().map(|c| &c.callbacks)) {
        dispatch(meta, callbacks);
    }
}

/// Whether the task has ended (its outcome is recorded).
pub(crate) fn is_done(meta: &TaskMeta) -> bool {
    meta.done.outcome() != RUNNING
}

/// Adds a done callback; dispatches it at once if the task already ended.
pub(crate) fn add(meta: &TaskMeta, callback: DoneCallback) {
    dispatch(
        meta,
        meta.done.add(&meta.cold_or_init().callbacks, callback),
    );
}

#[cold]
fn dispatch(meta: &TaskMeta, callbacks: Vec<DoneCallback>) {
    if callbacks.is_empty() {
        return;
    }
    let outcome = outcome_of(meta);
    for (location, cb) in callbacks {
        let outcome = outcome.clone();
        meta.owner
            .call_soon(location, Box::new(move || cb(&outcome)));
    }
}

/// Requests cancellation; `false` if the task had already ended.
pub(crate) fn cancel(meta: &TaskMeta, wake: impl FnOnce()) -> bool {
    if is_done(meta) {
        return false;
    }
    if !meta.cancelled.swap(true, Ordering::AcqRel) {
        wake();
    }
    true
}

/// A cloneable, thread-safe handle that cancels a task (asyncio's
/// `task.cancel()` from anywhere), from [`JoinHandle::cancel_handle`].
///
/// It does not give access to the task's output, and dropping it does
/// nothing. It keeps the task's allocation (not its future) alive.
///
/// [`JoinHandle::cancel_handle`]: crate::JoinHandle::cancel_handle
#[derive(Clone)]
pub struct CancelHandle {
    target: Target,
}

#[derive(Clone)]
enum Target {
    /// The task, kept while the handle lives.
    Live(TaskRef),
    /// The task had already ended when the handle was made: only its
    /// identity is kept (boxed: the rare case pays for it).
    Ended(Box<TaskInfo>),
}

#[derive(Clone)]
struct TaskRef {
    /// Keeps the task allocation, and so the metadata, alive.
    waker: Waker,
    meta: NonNull<TaskMeta>,
}

// SAFETY: `TaskRef` only hands out `&TaskMeta`, which is `Sync` (checked
// below), and a `Waker`, which is `Send + Sync`. The pointee stays valid for
// as long as the `TaskRef` lives: see `CancelHandle::new`.
unsafe impl Send for TaskRef {}
// SAFETY: as above.
unsafe impl Sync for TaskRef {}

const _: () = {
    const fn sync<T: Sync + Send>() {}
    sync::<TaskMeta>();
};

impl TaskRef {
    fn meta(&self) -> &TaskMeta {
        // SAFETY: async-task keeps a task's metadata in the task allocation
        // and drops it only when the allocation is freed, which happens
        // once no `Task`, `Runnable` or `Waker` of it is left. `self.waker`
        // is one of its wakers (`CancelHandle::new`'s contract: the waker
        // is made by the registry from this very task's waker parts), so the
        // metadata outlives `self`, and the returned reference is tied to
        // `&self`.
        unsafe { self.meta.as_ref() }
    }
}

impl CancelHandle {
    /// `waker` must be a waker of the task whose metadata is `meta`.
    /// `None`: the task has ended (it is no longer registered).
    pub(crate) fn new(meta: &TaskMeta, waker: Option<Waker>) -> CancelHandle {
        let target = match waker {
            Some(waker) => Target::Live(TaskRef {
                waker,
                meta: NonNull::from(meta),
            }),
            None => Target::Ended(Box::new(meta.info())),
        };
        CancelHandle { target }
    }

    fn meta(&self) -> Option<&TaskMeta> {
        match &self.target {
            Target::Live(t) => Some(t.meta()),
            Target::Ended(_) => None,
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        match &self.target {
            Target::Live(t) => t.meta().id,
            Target::Ended(info) => info.id(),
        }
    }

    /// Cancels the task, like [`JoinHandle::cancel`](crate::JoinHandle::cancel).
    ///
    /// Returns `false` if the task had already ended (asyncio: `cancel()`
    /// of a done task), `true` otherwise, also when a cancellation was
    /// already requested.
    pub fn cancel(&self) -> bool {
        match &self.target {
            Target::Live(t) => cancel(t.meta(), || t.waker.wake_by_ref()),
            Target::Ended(_) => false,
        }
    }

    /// Whether the task has ended (returned, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.meta().is_none_or(is_done)
    }

    /// The task's identity (id, name, spawn location), read from the task
    /// the handle keeps (asyncio: `task.get_name()` on a task object kept
    /// around to cancel it).
    pub fn info(&self) -> TaskInfo {
        match &self.target {
            Target::Live(t) => t.meta().info(),
            Target::Ended(info) => TaskInfo::clone(info),
        }
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle")
            .field("id", &self.id())
            .field("finished", &self.is_finished())
            .finish()
    }
}

#[cfg(all(test, tulipa_loom))]
mod loom_done {
    use super::*;
    use loom::thread;

    /// A callback added while the task ends is dispatched exactly once,
    /// by one side or the other, whatever the interleaving.
    #[test]
    fn loom_done_callback_dispatched_exactly_once() {
        loom::model(|| {
            let both = loom::sync::Arc::new((DoneState::default(), Mutex::new(Vec::<u32>::new())));
            let b = both.clone();
            let task = thread::spawn(move || b.0.finish(RETURNED, || Some(&b.1)));
            let (state, list) = &*both;
            let added = state.add(list, 7);
            let finished = task.join().unwrap();
            let mut all = added;
            all.extend(finished.into_iter().flatten());
            assert_eq!(all, [7]);
            assert!(
                state.add(list, 8) == [8],
                "added after the end: dispatched at once"
            );
        });
    }
}
