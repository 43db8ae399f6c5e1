//! The idle set of the multi-thread executor: which workers sleep, which
//! search, and whom to wake.
//!
//! # Protocol
//!
//! - A producer pushes a task, then calls [`Idle::pick`]: if some worker
//!   sleeps and none is searching, one sleeper is removed from the set,
//!   counted as searching, and returned for the caller to unpark.
//! - A worker with nothing to do calls [`Idle::register`], re-checks every
//!   queue, and only then sleeps. When it wakes it calls
//!   [`Idle::unregister`]: `false` means a producer picked it (it is now
//!   searching).
//! - A searching worker ends its search with [`Idle::end_search`], which
//!   says whether it was the last searcher; the last one re-checks the
//!   queues (and wakes another worker if it found more than it can take),
//!   because producers skipped waking anyone while it searched.
//!
//! The counters are written and read across `SeqCst` fences: a producer's
//! push-then-check and a worker's register-then-recheck cannot both miss
//! each other. The loom model below runs this protocol with the real type.

use std::sync::atomic::Ordering;

use crate::sync::{fence, AtomicBool, AtomicUsize, Mutex};

pub(crate) struct Idle {
    sleepers: Mutex<Vec<usize>>,
    num_idle: AtomicUsize,
    searching: AtomicUsize,
    in_driver: Box<[AtomicBool]>,
}

impl Idle {
    pub(crate) fn new(workers: usize) -> Idle {
        Idle {
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            num_idle: AtomicUsize::new(0),
            searching: AtomicUsize::new(0),
            in_driver: (0..workers).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// After pushing work: chooses a sleeper to wake, preferring one that
    /// is not holding the driver. Unless `force`, wakes nobody while a
    /// worker is already searching.
    pub(crate) fn pick(&self, force: bool) -> Option<usize> {
        fence(Ordering::SeqCst);
        if self.num_idle.load(Ordering::SeqCst) == 0 {
            return None;
        }
        if !force && self.searching.load(Ordering::SeqCst) != 0 {
            return None;
        }
        let mut sleepers = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        let pos = sleepers
            .iter()
            .rposition(|&i| !self.in_driver[i].load(Ordering::SeqCst))
            .or_else(|| sleepers.len().checked_sub(1))?;
        let i = sleepers.swap_remove(pos);
        self.num_idle.fetch_sub(1, Ordering::SeqCst);
        self.searching.fetch_add(1, Ordering::SeqCst);
        Some(i)
    }

    /// Before sleeping: adds worker `i` to the set. The caller must re-check
    /// its queues afterwards.
    pub(crate) fn register(&self, i: usize) {
        let mut sleepers = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        sleepers.push(i);
        self.num_idle.fetch_add(1, Ordering::SeqCst);
        drop(sleepers);
        fence(Ordering::SeqCst);
    }

    /// After waking: removes worker `i`; `false` if a producer already
    /// picked it (it is counted as searching).
    pub(crate) fn unregister(&self, i: usize) -> bool {
        let mut sleepers = self.sleepers.lock().unwrap_or_else(|e| e.into_inner());
        match sleepers.iter().position(|&j| j == i) {
            Some(p) => {
                sleepers.swap_remove(p);
                self.num_idle.fetch_sub(1, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Ends a search; `true` if this was the last searching worker, which
    /// must then re-check the queues.
    pub(crate) fn end_search(&self) -> bool {
        let last = self.searching.fetch_sub(1, Ordering::SeqCst) == 1;
        fence(Ordering::SeqCst);
        last
    }

    pub(crate) fn set_in_driver(&self, i: usize, on: bool) {
        self.in_driver[i].store(on, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    pub(crate) fn in_driver(&self, i: usize) -> bool {
        fence(Ordering::SeqCst);
        self.in_driver[i].load(Ordering::SeqCst)
    }

    pub(crate) fn num_idle(&self) -> usize {
        self.num_idle.load(Ordering::SeqCst)
    }
}

#[cfg(all(test, tulipa_loom))]
mod loom_idle {
    use super::*;
    use loom::sync::{Arc, Condvar};
    use loom::thread;

    /// A parker with a remembered token, like `parking::Parker`.
    #[derive(Default)]
    struct Parker {
        token: Mutex<bool>,
        cv: Condvar,
    }

    impl Parker {
        fn park(&self) {
            let mut t = self.token.lock().unwrap();
            while !*t {
                t = self.cv.wait(t).unwrap();
            }
            *t = false;
        }
        fn unpark(&self) {
            *self.token.lock().unwrap() = true;
            self.cv.notify_one();
        }
    }

    /// Two workers and a producer run the wake protocol as the executor
    /// does (register, re-check, park; pick and unpark; end the search and
    /// re-check). The one task pushed is always taken: loom reports a
    /// deadlock if every worker could sleep through it.
    #[test]
    fn loom_idle_no_lost_task() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(2));
            let queue = Arc::new(AtomicUsize::new(0));
            let done = Arc::new(AtomicBool::new(false));
            let parkers: Arc<[Parker; 2]> = Arc::new(Default::default());

            let mut workers = Vec::new();
            for i in 0..2 {
                let (idle, queue, done, parkers) =
                    (idle.clone(), queue.clone(), done.clone(), parkers.clone());
                workers.push(thread::spawn(move || {
                    let has_work = || queue.load(Ordering::SeqCst) > 0;
                    let mut searching = false;
                    loop {
                        if done.load(Ordering::SeqCst) {
                            break;
                        }
                        if queue
                            .compare_exchange(1, 0, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok()
                        {
                            if searching {
                                idle.end_search();
                            }
                            done.store(true, Ordering::SeqCst);
                            parkers[1 - i].unpark();
                            break;
                        }
                        if searching {
                            searching = false;
                            if idle.end_search() && has_work() {
                                continue;
                            }
                        }
                        idle.register(i);
                        if has_work() || done.load(Ordering::SeqCst) {
                            searching = !idle.unregister(i);
                            continue;
                        }
                        parkers[i].park();
                        searching = !idle.unregister(i);
                    }
                }));
            }
            queue.store(1, Ordering::SeqCst);
            if let Some(i) = idle.pick(false) {
                parkers[i].unpark();
            }
            for w in workers {
                w.join().unwrap();
            }
            assert_eq!(queue.load(Ordering::SeqCst), 0);
        });
    }
}
