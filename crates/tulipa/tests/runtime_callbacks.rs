//! Event-loop callbacks: call_soon FIFO, call_later / call_at deadline
//! order, cancellation, panics, on both flavours.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulipa::Runtime;

fn flavors(paused: bool) -> Vec<Runtime> {
    vec![
        Runtime::builder()
            .current_thread()
            .start_paused(paused)
            .build()
            .unwrap(),
        Runtime::builder()
            .worker_threads(2)
            .start_paused(paused)
            .build()
            .unwrap(),
    ]
}

async fn wait_for_len(log: &Mutex<Vec<u32>>, n: usize) {
    while log.lock().unwrap().len() < n {
        tulipa::time::sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn call_soon_runs_in_fifo_order() {
    for rt in flavors(false) {
        let log = Arc::new(Mutex::new(Vec::new()));
        for i in 0..500 {
            let l = log.clone();
            rt.handle().call_soon(move || l.lock().unwrap().push(i));
        }
        rt.block_on(wait_for_len(&log, 500));
        assert_eq!(*log.lock().unwrap(), (0..500).collect::<Vec<_>>());
    }
}

#[test]
fn call_soon_from_many_threads_keeps_per_thread_order() {
    for rt in flavors(false) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let h = rt.handle().clone();
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..100u32 {
                        let l = log.clone();
                        h.call_soon(move || l.lock().unwrap().push(t * 1000 + i));
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        rt.block_on(wait_for_len(&log, 400));
        let log = log.lock().unwrap();
        for t in 0..4 {
            let mine: Vec<_> = log.iter().filter(|v| **v / 1000 == t).collect();
            assert_eq!(mine.len(), 100);
            assert!(
                mine.windows(2).all(|w| w[0] < w[1]),
                "thread {t} out of order"
            );
        }
    }
}

#[test]
fn call_later_runs_in_deadline_order_and_cancel_works() {
    for rt in flavors(true) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let h = rt.handle().clone();
        let mut cancelled = None;
        // Scheduled out of order; ms delays 50, 10, 30, 20, 40.
        for (i, ms) in [(5u32, 50u64), (1, 10), (3, 30), (2, 20), (4, 40)] {
            let l = log.clone();
            let cb = h.call_later(Duration::from_millis(ms), move || l.lock().unwrap().push(i));
            if i == 3 {
                cancelled = Some(cb);
            }
        }
        let cancelled = cancelled.unwrap();
        cancelled.cancel();
        assert!(cancelled.is_cancelled());
        let start = h.time();
        rt.block_on(wait_for_len(&log, 4));
        assert_eq!(*log.lock().unwrap(), [1, 2, 4, 5]);
        assert!(!cancelled.is_done());
        // Virtual time moved at least to the last deadline.
        assert!(h.time() - start >= Duration::from_millis(50));
    }
}

#[test]
fn call_at_in_the_past_runs_soon() {
    for rt in flavors(false) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let h = rt.handle().clone();
        let l = log.clone();
        let past = h.time() - Duration::from_millis(5);
        let cb = h.call_at(past, move || l.lock().unwrap().push(1));
        rt.block_on(wait_for_len(&log, 1));
        assert!(cb.is_done());
    }
}

#[test]
fn a_panicking_callback_does_not_stop_the_loop() {
    for rt in flavors(false) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let h = rt.handle();
        let l = log.clone();
        h.call_soon(|| panic!("callback failure (expected in this test)"));
        h.call_soon(move || l.lock().unwrap().push(1));
        rt.block_on(wait_for_len(&log, 1));
    }
}

#[test]
fn pending_timed_callbacks_are_dropped_at_shutdown() {
    struct Flag(Arc<Mutex<bool>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            *self.0.lock().unwrap() = true;
        }
    }
    for rt in flavors(false) {
        let dropped = Arc::new(Mutex::new(false));
        let f = Flag(dropped.clone());
        rt.handle()
            .call_later(Duration::from_secs(3600), move || drop(f));
        drop(rt);
        assert!(*dropped.lock().unwrap(), "the callback was leaked");
    }
}
