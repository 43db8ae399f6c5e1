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

    /// A worker with nothing to do goes to sleep: registers as idle,
    /// re-checks `ready` (work queued, or shutdown), then sleeps in the
    /// driver if it can take it, else on its own parker. Returns
    /// `(notified, drove)`: whether a producer picked it (it is now
    /// searching), and whether it slept in the driver.
    ///
    /// The handshake with [`wake`](Idle::wake): the worker announces
    /// `in_driver` before it looks for its parker's token; a producer
    /// leaves the token before it reads `in_driver`. Across the `SeqCst`
    /// fences either the worker finds the token, or the producer sees
    /// `in_driver` and unparks the driver too, so a worker woken while it
    /// goes to sleep never sleeps through it. `loom_park_*` below check it
    /// (and fail, with a deadlock, when the re-check of `ready` is removed).
    pub(crate) fn park_worker(
        &self,
        i: usize,
        ready: impl Fn() -> bool,
        sleeper: &impl Sleeper,
    ) -> (bool, bool) {
        self.register(i);
        sleeper.registered();
        if ready() {
            if self.unregister(i) {
                return (false, false);
            }
            // A producer picked us concurrently: consume its token.
            sleeper.take_token();
            return (true, false);
        }
        let mut drove = false;
        self.set_in_driver(i, true);
        // A producer that saw `in_driver` false left only a parker token:
        // check for it before blocking in the driver.
        if !sleeper.take_token() {
            if sleeper.park_in_driver() {
                drove = true;
                self.set_in_driver(i, false);
                // A producer may also have left a token on our parker.
                sleeper.take_token();
            } else {
                self.set_in_driver(i, false);
                sleeper.park();
            }
        } else {
            self.set_in_driver(i, false);
        }
        (!self.unregister(i), drove)
    }

    /// Wakes worker `i`, which [`pick`](Idle::pick) chose: leaves a token
    /// on its parker (`unpark`, whose result, like `parking`'s "was it
    /// newly unparked", is not needed), and unparks the driver too if the
    /// worker sleeps in it.
    pub(crate) fn wake(
        &self,
        i: usize,
        unpark: impl FnOnce() -> bool,
        unpark_driver: impl FnOnce(),
    ) {
        let _ = unpark();
        if self.in_driver(i) {
            unpark_driver();
        }
    }
}

/// How one worker sleeps, for [`Idle::park_worker`]: a parker that
/// remembers one token, and the driver shared by every worker.
pub(crate) trait Sleeper {
    /// Called right after the worker registered as idle.
    fn registered(&self) {}
    /// Takes the parker's token if it is there, without blocking.
    fn take_token(&self) -> bool;
    /// Blocks until the parker's token is there, and takes it.
    fn park(&self);
    /// Sleeps in the driver until it is unparked or an event arrives;
    /// `false` at once if another worker holds the driver.
    fn park_in_driver(&self) -> bool;
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
        fn unpark(&self) -> bool {
            let was = std::mem::replace(&mut *self.token.lock().unwrap(), true);
            self.cv.notify_one();
            !was
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

    /// A driver: blocks until unparked (a remembered token), or is held by
    /// another worker and refuses at once.
    struct Driver {
        token: Parker,
        busy: bool,
    }

    struct ModelSleeper<'a> {
        parker: &'a Parker,
        driver: &'a Driver,
    }

    impl Sleeper for ModelSleeper<'_> {
        fn take_token(&self) -> bool {
            let mut t = self.parker.token.lock().unwrap();
            std::mem::replace(&mut *t, false)
        }
        fn park(&self) {
            self.parker.park();
        }
        fn park_in_driver(&self) -> bool {
            if self.driver.busy {
                return false;
            }
            self.driver.token.park();
            true
        }
    }

    /// One worker going to sleep through the real `park_worker`, and a
    /// producer pushing one task and waking it through the real `pick` and
    /// `wake`. The task is always taken: if the worker could sleep through
    /// the wake (in the driver or on its parker), loom reports a deadlock.
    fn park_model(driver_busy: bool) {
        loom::model(move || {
            let idle = Arc::new(Idle::new(1));
            let queue = Arc::new(AtomicUsize::new(0));
            let parker = Arc::new(Parker::default());
            let driver = Arc::new(Driver {
                token: Parker::default(),
                busy: driver_busy,
            });
            let worker = {
                let (idle, queue, parker, driver) =
                    (idle.clone(), queue.clone(), parker.clone(), driver.clone());
                thread::spawn(move || {
                    let sleeper = ModelSleeper {
                        parker: &parker,
                        driver: &driver,
                    };
                    loop {
                        if queue
                            .compare_exchange(1, 0, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok()
                        {
                            break;
                        }
                        let ready = || queue.load(Ordering::SeqCst) > 0;
                        let (notified, _drove) = idle.park_worker(0, ready, &sleeper);
                        if notified {
                            idle.end_search();
                        }
                    }
                })
            };
            queue.store(1, Ordering::SeqCst);
            if let Some(i) = idle.pick(false) {
                idle.wake(
                    i,
                    || parker.unpark(),
                    || {
                        driver.token.unpark();
                    },
                );
            }
            worker.join().unwrap();
            assert_eq!(queue.load(Ordering::SeqCst), 0);
        });
    }

    /// The worker sleeps in the driver (it is free).
    #[test]
    fn loom_park_in_driver_no_lost_wakeup() {
        park_model(false);
    }

    /// Another worker holds the driver: this one sleeps on its parker.
    #[test]
    fn loom_park_on_parker_no_lost_wakeup() {
        park_model(true);
    }
}
