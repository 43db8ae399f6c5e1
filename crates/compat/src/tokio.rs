//! Futures that need a tokio runtime (reqwest, mongodb, anything that calls
//! `tokio::spawn`, `tokio::time::sleep` or opens a `tokio::net` socket),
//! run from tulipa (feature `tokio-compat`, off by default).
//!
//! The first use starts one shared tokio runtime: a multi-thread runtime
//! with **one** worker thread (`tulipa-compat-tokio`), its I/O driver and
//! its timer. It lives until the process exits. Two ways in:
//!
//! - [`run`]`(future)` spawns the future on that runtime and returns a
//!   [`Run`] handle that tulipa awaits. The future runs on tokio's thread.
//! - [`enter`]`(future)` keeps the future in the calling tulipa task and
//!   polls it inside tokio's context ([`Handle::enter`]), so tokio's
//!   sockets and timers it creates register with the shared runtime,
//!   whose thread drives them and wakes the tulipa task. It works for
//!   futures that are not `Send` or borrow from the caller.
//!
//! # Costs, plainly
//!
//! - **A second reactor and a second thread**: tokio's worker thread polls
//!   its own epoll instance beside tulipa's. Every readiness event of a
//!   tokio socket crosses threads before tulipa's task sees it (a wake and
//!   an unpark), so latency is that of a thread hand-off, not of one loop.
//!   Libraries may also start tokio's blocking threads (reqwest resolves
//!   host names on one).
//! - **tokio's timers ignore tulipa's clock**: a tulipa runtime with paused
//!   or virtual time does not move tokio's `sleep`, `timeout` or
//!   `interval`; they run on real time. A tulipa `time::timeout` around a
//!   [`Run`] does use tulipa's clock.
//! - **tulipa's debug mode and task dump cannot see tokio's tasks**: a
//!   future given to [`run`] is not a tulipa task (the tulipa task that
//!   awaits the [`Run`] is), and the tasks a library spawns with
//!   `tokio::spawn` are tokio's in both cases. Slow-callback warnings do
//!   not cover code running on tokio's thread.
//! - The runtime is never shut down: it idles (no CPU) once its work is
//!   done, and its thread ends with the process.
//!
//! Prefer the I/O adapters ([`Compat`](crate::Compat)) when a library
//! only needs tokio's I/O traits (tokio-postgres, tokio-tungstenite): they
//! need no second runtime.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! let n = tulipa::run(async {
//!     // tokio's sleep panics outside a tokio runtime; here it runs on
//!     // the shared one.
//!     tulipa_compat::tokio::run(async {
//!         ::tokio::time::sleep(Duration::from_millis(1)).await;
//!         7
//!     })
//!     .await
//! });
//! assert_eq!(n, 7);
//! ```

use std::future::Future;
use std::panic;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use ::tokio::runtime::{Builder, Handle, Runtime};
use ::tokio::task::JoinHandle;

/// The shared runtime, started by the first [`handle`] call.
static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The shared tokio runtime's handle, starting the runtime on first use.
///
/// For what [`run`] and [`enter`] do not cover: `handle().spawn(f)`
/// without awaiting, or `handle().block_on(f)` from a thread that is not
/// running tulipa tasks.
///
/// # Panics
///
/// If the runtime cannot be started (the OS refused a thread or an epoll
/// instance); the message has the OS error. A later call tries again.
pub fn handle() -> &'static Handle {
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("tulipa-compat-tokio")
                .enable_all()
                .build()
                .unwrap_or_else(|e| {
                    panic!(
                        "tulipa_compat::tokio could not start its tokio runtime: {e} \
                         (it needs one thread and one epoll instance)"
                    )
                })
        })
        .handle()
}

/// Runs `future` on the shared tokio runtime; await the returned [`Run`]
/// for its output.
///
/// The future starts at once, even before the [`Run`] is polled.
///
/// # Panics
///
/// As [`handle`], if the runtime cannot be started. A panic inside
/// `future` is caught on tokio's thread and resumed in the task that
/// awaits the [`Run`], with the original payload.
///
/// # Examples
///
/// ```
/// let body = tulipa::run(async {
///     tulipa_compat::tokio::run(async {
///         // e.g. reqwest::get(url).await?.text().await
///         String::from("hello")
///     })
///     .await
/// });
/// assert_eq!(body, "hello");
/// ```
pub fn run<F>(future: F) -> Run<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Run {
        task: handle().spawn(future),
    }
}

/// A future running on the shared tokio runtime, made by [`run`].
///
/// # Cancel safety
///
/// Dropping a `Run` cancels the tokio work: the task is aborted and its
/// future dropped on tokio's thread at its next turn (the drop does not
/// wait for that). Whatever the future had done by then stays done.
#[derive(Debug)]
#[must_use = "the work is cancelled when the Run is dropped"]
pub struct Run<T> {
    task: JoinHandle<T>,
}

impl<T> Future for Run<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.task).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(value)) => Poll::Ready(value),
            Poll::Ready(Err(e)) => match e.try_into_panic() {
                Ok(payload) => panic::resume_unwind(payload),
                // Only this handle aborts the task, and the runtime is
                // never shut down.
                Err(e) => panic!("tulipa_compat::tokio: the tokio task ended without output: {e}"),
            },
        }
    }
}

impl<T> Drop for Run<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Polls `future` here, in the calling task, inside the shared tokio
/// runtime's context: what it creates of tokio's (sockets, timers,
/// `tokio::spawn`ed tasks) belongs to that runtime, whose thread drives
/// it.
///
/// Unlike [`run`], the future need not be `Send` or `'static`, and the
/// tulipa task that awaits it is the one debug mode and the task dump
/// see.
///
/// # Panics
///
/// As [`handle`], if the runtime cannot be started (on the first poll).
/// A panic inside `future` unwinds through the caller's poll.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// tulipa::run(async {
///     let label = String::from("borrowed");
///     let text = &label;
///     let len = tulipa_compat::tokio::enter(async move {
///         ::tokio::time::sleep(Duration::from_millis(1)).await;
///         text.len()
///     })
///     .await;
///     assert_eq!(len, 8);
/// });
/// ```
pub fn enter<F: Future>(future: F) -> Enter<F> {
    Enter { future }
}

pin_project_lite::pin_project! {
    /// A future polled inside the shared tokio runtime's context, made by
    /// [`enter`].
    ///
    /// # Cancel safety
    ///
    /// Dropping it drops the future, as for any future; tokio resources
    /// the future owned are released with it.
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct Enter<F> {
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for Enter<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let _context = handle().enter();
        self.project().future.poll(cx)
    }
}
