//! The scheduler core of the blocking pool: one queue, the thread counts,
//! and the idle/notify handshake, behind one mutex and two condition
//! variables. It knows nothing of tasks or OS threads (the job type `J` is
//! generic), so the loom model at the bottom runs the real code.
//!
//! # State and invariants (all under `Sched::state`)
//!
//! - `threads`: worker threads alive *or reserved* (a submitter that decides
//!   to start a thread counts it before calling the OS, so two submitters
//!   never both start the last allowed thread). `threads <= max_threads`.
//! - `idle`: threads waiting on `work`. `busy`: threads running a job.
//!   `threads - idle - busy` are starting or between two jobs.
//! - `notified`: wakeups sent to idle threads and not yet consumed. A
//!   submitter only wakes a thread when `idle > notified`, i.e. when some
//!   idle thread is not already on its way to the queue; otherwise it
//!   reserves a new thread if under the cap, otherwise the job just waits.
//! - No job is stranded: a job sits in the queue only while (a) a notified
//!   thread is waking, (b) a reserved thread is starting, or (c) every
//!   thread is busy and will look at the queue when its job ends. Every
//!   thread looks at the queue before it waits and after every wakeup, and a
//!   thread never exits while the queue is non-empty.
//! - If starting a thread fails and no thread is left
//!   ([`Sched::start_failed`]), nobody would run the queue: the caller takes
//!   every queued job out and fails it.
//! - `closed`: set once by shutdown. Submitters are refused; threads run
//!   what is queued, then exit instead of waiting; `done` is signalled
//!   whenever a job ends or a thread exits, for the shutdown waiter.
//!
//! # Lock order
//!
//! There is one lock. Jobs never run under it, and nothing is dropped under
//! it that could run user code (drained jobs are returned to the caller).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::sync::{Condvar, Mutex, MutexGuard};

/// The shared state; see the module docs.
pub(crate) struct State<J> {
    pub(crate) queue: VecDeque<J>,
    pub(crate) threads: usize,
    pub(crate) idle: usize,
    pub(crate) busy: usize,
    pub(crate) notified: usize,
    pub(crate) closed: bool,
    pub(crate) completed: u64,
    pub(crate) started: u64,
}

/// Why a job was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Every thread is busy at the cap and the queue holds its bound.
    Full,
    /// The pool was shut down.
    Closed,
}

pub(crate) struct Sched<J> {
    state: Mutex<State<J>>,
    /// Idle threads wait here for work.
    work: Condvar,
    /// The shutdown waiter waits here for jobs and threads to end.
    done: Condvar,
    max_threads: usize,
}

/// An admitted submission: the lock is held until [`Admitted::push`].
pub(crate) struct Admitted<'a, J> {
    sched: &'a Sched<J>,
    state: MutexGuard<'a, State<J>>,
}

impl<J> Admitted<'_, J> {
    /// Queues the job and wakes an idle thread; returns `true` if the
    /// caller must start a new thread (already counted in `threads`).
    pub(crate) fn push(mut self, job: J) -> bool {
        let st = &mut *self.state;
        st.queue.push_back(job);
        if st.idle > st.notified {
            st.notified += 1;
            drop(self.state);
            self.sched.work.notify_one();
            false
        } else if st.threads < self.sched.max_threads {
            st.threads += 1;
            st.started += 1;
            true
        } else {
            false
        }
    }
}

impl<J> Sched<J> {
    pub(crate) fn new(max_threads: usize) -> Sched<J> {
        Sched {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                threads: 0,
                idle: 0,
                busy: 0,
                notified: 0,
                closed: false,
                completed: 0,
                started: 0,
            }),
            work: Condvar::new(),
            done: Condvar::new(),
            max_threads,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State<J>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Admits a job unless the pool is closed or, with a `bound`, full:
    /// no idle thread is free, no thread can be started, and at least
    /// `bound` jobs already wait with nobody on the way to take them.
    pub(crate) fn admit(&self, bound: Option<usize>) -> Result<Admitted<'_, J>, Refused> {
        let state = self.lock();
        if state.closed {
            return Err(Refused::Closed);
        }
        if let Some(bound) = bound {
            let no_free_thread = state.idle <= state.notified && state.threads >= self.max_threads;
            let waiting = state.queue.len().saturating_sub(state.notified);
            if no_free_thread && waiting >= bound {
                return Err(Refused::Full);
            }
        }
        Ok(Admitted { sched: self, state })
    }

    /// The worker loop's step: records the end of the previous job (if
    /// `finished`: `Some(true)` if its closure ran, `Some(false)` if it was
    /// a cancelled job this thread only disposed of), then returns the next
    /// job, waiting up to `idle_timeout` for one. `None` means this thread must exit (it has already been
    /// uncounted): the timeout passed with nothing to do, or the pool is
    /// closed and the queue is empty.
    pub(crate) fn next(&self, finished: Option<bool>, idle_timeout: Duration) -> Option<J> {
        let mut st = self.lock();
        if let Some(ran) = finished {
            st.busy -= 1;
            st.completed += u64::from(ran);
            if st.closed {
                self.done.notify_all();
            }
        }
        loop {
            if let Some(job) = st.queue.pop_front() {
                st.busy += 1;
                return Some(job);
            }
            if st.closed {
                break;
            }
            st.idle += 1;
            let (guard, timeout) = self
                .work
                .wait_timeout(st, idle_timeout)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            st.idle -= 1;
            if st.notified > 0 {
                st.notified -= 1;
            }
            if timeout.timed_out() && st.queue.is_empty() {
                break;
            }
        }
        st.threads -= 1;
        if st.closed {
            self.done.notify_all();
        }
        None
    }

    /// A thread reserved by [`Admitted::push`] could not be started. If no
    /// thread is left, returns every queued job: nobody would run them, so
    /// the caller must fail them.
    pub(crate) fn start_failed(&self) -> VecDeque<J> {
        let mut st = self.lock();
        st.threads -= 1;
        st.started -= 1;
        if st.closed {
            self.done.notify_all();
        }
        if st.threads == 0 {
            std::mem::take(&mut st.queue)
        } else {
            VecDeque::new()
        }
    }

    /// Closes the pool and waits until `timeout` passes or every job has
    /// ended. `me` is 1 if the caller is itself a job of this pool (it does
    /// not wait for itself). Returns the jobs that never started, for the
    /// caller to cancel, and how many jobs were still running.
    pub(crate) fn shutdown(&self, timeout: Duration, me: usize) -> (VecDeque<J>, usize) {
        let deadline = Instant::now().checked_add(timeout);
        let mut st = self.lock();
        if !st.closed {
            st.closed = true;
            self.work.notify_all();
        }
        // Queued jobs still run while some other thread exists to run them.
        while st.busy > me || (!st.queue.is_empty() && st.threads > me) {
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                break;
            }
            st = self
                .done
                .wait_timeout(st, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let unstarted = std::mem::take(&mut st.queue);
        let running = st.busy.saturating_sub(me);
        (unstarted, running)
    }
}

#[cfg(all(test, tulipa_loom))]
mod tests {
    use super::*;
    use loom::sync::mpsc::{channel, Sender};
    use loom::sync::Arc;

    /// A worker loop that reports each job it runs.
    fn worker(sched: Arc<Sched<usize>>, ran: Sender<usize>) -> loom::thread::JoinHandle<()> {
        loom::thread::spawn(move || {
            let mut finished = None;
            while let Some(j) = sched.next(finished, Duration::from_secs(1)) {
                ran.send(j).unwrap();
                finished = Some(true);
            }
        })
    }

    /// A job submitted while the one worker may be idle, busy or not yet
    /// waiting runs *before* shutdown (the main thread waits for it): the
    /// submitter's wakeup cannot be lost. loom's `wait_timeout` never times
    /// out, so the idle timeout plays no part.
    #[test]
    fn loom_submit_wakes_idle_worker() {
        loom::model(|| {
            let sched: Arc<Sched<usize>> = Arc::new(Sched::new(1));
            // One thread exists (as if started by an earlier submission).
            sched.lock().threads = 1;
            let (tx, rx) = channel();
            let w = worker(sched.clone(), tx);
            for j in [1, 2] {
                let start = sched.admit(None).unwrap().push(j);
                assert!(!start, "the cap is one thread and it exists");
            }
            assert_eq!(rx.recv().unwrap() + rx.recv().unwrap(), 3);
            let (unstarted, running) = sched.shutdown(Duration::from_secs(3600), 0);
            assert!(unstarted.is_empty());
            assert_eq!(running, 0);
            w.join().unwrap();
            let st = sched.lock();
            assert_eq!((st.threads, st.idle, st.busy, st.completed), (0, 0, 0, 2));
            assert_eq!(st.notified, 0);
        });
    }

    /// Two workers, two jobs: both run before shutdown, whichever worker
    /// is idle, busy or not yet waiting when each arrives (a wakeup sent to
    /// a worker that then takes no job must not strand the other job).
    #[test]
    fn loom_two_workers_two_jobs() {
        loom::model(|| {
            let sched: Arc<Sched<usize>> = Arc::new(Sched::new(2));
            sched.lock().threads = 2;
            let (tx, rx) = channel();
            let workers = [worker(sched.clone(), tx.clone()), worker(sched.clone(), tx)];
            assert!(!sched.admit(None).unwrap().push(1));
            assert!(!sched.admit(None).unwrap().push(2));
            assert_eq!(rx.recv().unwrap() + rx.recv().unwrap(), 3);
            let (unstarted, running) = sched.shutdown(Duration::from_secs(3600), 0);
            assert!(unstarted.is_empty());
            assert_eq!(running, 0);
            for w in workers {
                w.join().unwrap();
            }
        });
    }

    /// Shutdown racing a submission from another thread: the job is either
    /// refused or runs before shutdown returns (it waits, since a thread
    /// exists); never stranded.
    #[test]
    fn loom_shutdown_races_submit() {
        loom::model(|| {
            let sched: Arc<Sched<usize>> = Arc::new(Sched::new(1));
            sched.lock().threads = 1;
            let (tx, rx) = channel();
            let w = worker(sched.clone(), tx);
            let s2 = sched.clone();
            let submitter = loom::thread::spawn(move || match s2.admit(None) {
                Ok(admitted) => {
                    assert!(!admitted.push(7));
                    true
                }
                Err(refused) => {
                    assert_eq!(refused, Refused::Closed);
                    false
                }
            });
            let (unstarted, running) = sched.shutdown(Duration::from_secs(3600), 0);
            let accepted = submitter.join().unwrap();
            w.join().unwrap();
            assert_eq!(running, 0);
            if accepted {
                // Accepted means queued before the close (both under the
                // lock), and shutdown waits for queued jobs while a thread
                // exists to run them.
                assert_eq!(rx.try_recv().ok(), Some(7));
                assert!(unstarted.is_empty());
            } else {
                assert!(unstarted.is_empty() && rx.try_recv().is_err());
            }
        });
    }
}

#[cfg(all(test, not(tulipa_loom)))]
mod unit_tests {
    use super::*;

    #[test]
    fn failed_start_keeps_queue_while_a_thread_exists() {
        let sched: Sched<u8> = Sched::new(4);
        assert!(
            sched.admit(None).unwrap().push(1),
            "first job reserves a thread"
        );
        assert!(
            sched.admit(None).unwrap().push(2),
            "second job reserves another"
        );
        // The second start fails: one thread remains, so the queue stays.
        assert!(sched.start_failed().is_empty());
        assert_eq!(sched.lock().queue.len(), 2);
        // The first fails too: nobody is left, so the jobs come back.
        assert_eq!(Vec::from(sched.start_failed()), [1, 2]);
        let st = sched.lock();
        assert_eq!((st.threads, st.started, st.queue.len()), (0, 0, 0));
    }

    #[test]
    fn admit_full_counts_notified_jobs_and_free_threads() {
        let sched: Sched<u8> = Sched::new(1);
        // A free thread slot: never full, even with bound 0.
        assert!(sched.admit(Some(0)).unwrap().push(1));
        // At the cap, one job queued for the starting thread: full at 1.
        assert_eq!(sched.admit(Some(1)).err(), Some(Refused::Full));
        assert!(sched.admit(Some(2)).is_ok());
        // An idle thread that has not been notified makes room.
        sched.lock().idle = 1;
        assert!(sched.admit(Some(0)).is_ok());
        // Closed beats everything.
        sched.lock().closed = true;
        assert_eq!(sched.admit(None).err(), Some(Refused::Closed));
    }
}
