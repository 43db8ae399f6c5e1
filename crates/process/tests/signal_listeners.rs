//! Signals: several listeners all see a delivery, sets of signals, refused
//! signals, `ctrl_c`, `add_signal_handler` / `remove_signal_handler`.
//!
//! Tests in this file run in parallel in one process, so each uses its own
//! signals.

mod common;

use std::future::Future;
use std::io::ErrorKind;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future;
use tulipa::signal::{
    add_signal_handler, ctrl_c, raise, remove_signal_handler, CtrlC, Signal, SignalHandler,
    Signals, SIGALRM, SIGHUP, SIGINT, SIGIO, SIGKILL, SIGPROF, SIGPWR, SIGQUIT, SIGSEGV, SIGSTOP,
    SIGTERM, SIGURG, SIGUSR1, SIGUSR2, SIGVTALRM, SIGWINCH, SIGXCPU,
};

/// `fut`, or a panic naming `what` if it never completes.
async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tulipa::time::timeout(Duration::from_secs(20), fut).await {
        Ok(v) => v,
        Err(_) => panic!("never happened: {what}"),
    }
}

#[test]
fn every_listener_sees_the_delivery() {
    tulipa::run(async {
        let mut a = Signals::new([SIGUSR1]).unwrap();
        let mut b = Signals::new([SIGUSR1, SIGTERM]).unwrap();
        let mut c = Signals::new([SIGUSR1]).unwrap();
        // One of them waits in another task, already parked.
        let parked = tulipa::spawn(async move { c.recv().await });
        tulipa::task::yield_now().await;
        raise(SIGUSR1).unwrap();
        assert_eq!(within("a", a.recv()).await, SIGUSR1);
        assert_eq!(within("b", b.recv()).await, SIGUSR1);
        assert_eq!(within("c", parked).await.unwrap(), SIGUSR1);
    });
}

#[test]
fn listeners_on_two_runtimes_both_wake() {
    let mut first = Signals::new([SIGPROF]).unwrap();
    let mut second = Signals::new([SIGPROF]).unwrap();
    let other = std::thread::spawn(move || {
        tulipa::Runtime::builder()
            .current_thread()
            .build()
            .unwrap()
            .block_on(async move { within("second", second.recv()).await })
    });
    raise(SIGPROF).unwrap();
    let got = tulipa::run(async move { within("first", first.recv()).await });
    assert_eq!(got, SIGPROF);
    assert_eq!(other.join().unwrap(), SIGPROF);
}

#[test]
fn a_set_yields_each_signal_that_came() {
    tulipa::run(async {
        let mut signals = Signals::new([SIGWINCH, SIGVTALRM]).unwrap();
        signals.add(SIGWINCH).unwrap(); // duplicate: ignored
        assert_eq!(signals.signals().collect::<Vec<_>>(), [SIGWINCH, SIGVTALRM]);
        raise(SIGVTALRM).unwrap();
        assert_eq!(within("SIGVTALRM", signals.recv()).await, SIGVTALRM);
        raise(SIGWINCH).unwrap();
        assert_eq!(within("SIGWINCH", signals.recv()).await, SIGWINCH);
        // Both at once: both come out, one each.
        raise(SIGWINCH).unwrap();
        raise(SIGVTALRM).unwrap();
        let mut got = vec![
            within("1st", signals.recv()).await,
            within("2nd", signals.recv()).await,
        ];
        got.sort();
        assert_eq!(got, [SIGVTALRM, SIGWINCH]);
        // As a stream.
        use futures_lite::StreamExt;
        raise(SIGWINCH).unwrap();
        assert_eq!(within("stream", signals.next()).await, Some(SIGWINCH));
    });
}

#[test]
fn a_listener_sees_only_later_deliveries() {
    tulipa::run(async {
        let mut early = Signals::new([SIGXCPU]).unwrap();
        raise(SIGXCPU).unwrap();
        assert_eq!(within("early", early.recv()).await, SIGXCPU);
        // The delivery is counted now; a new listener does not see it.
        let mut late = Signals::new([SIGXCPU]).unwrap();
        assert_eq!(future::poll_once(late.recv()).await, None);
        raise(SIGXCPU).unwrap();
        assert_eq!(within("late", late.recv()).await, SIGXCPU);
    });
}

#[test]
fn uncatchable_fault_and_unknown_signals_are_refused() {
    for (signal, words) in [
        (SIGKILL, "cannot listen for SIGKILL: the kernel never lets"),
        (SIGSTOP, "cannot listen for SIGSTOP"),
        (SIGSEGV, "cannot listen for SIGSEGV: it reports a fault"),
        (Signal::from_raw(33), "reserved by the C library"),
        (Signal::from_raw(0), "signal 0 is not a signal number"),
        (Signal::from_raw(99), "signal 99 is not a signal number"),
    ] {
        let err = Signals::new([signal]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains(words), "{err}");
    }
    let err = tulipa::run(async { add_signal_handler(SIGKILL, || {}).unwrap_err() });
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn ctrl_c_resolves_on_sigint() {
    tulipa::run(async {
        // Installed by the call itself, before the first poll.
        let interrupted = ctrl_c();
        raise(SIGINT).unwrap();
        within("ctrl_c", interrupted).await.unwrap();
    });
}

#[test]
fn a_handler_runs_on_the_runtime_until_removed() {
    tulipa::run(async {
        let calls = Arc::new(AtomicUsize::new(0));
        let on_runtime = Arc::new(AtomicUsize::new(0));
        let (c, r) = (calls.clone(), on_runtime.clone());
        let handler = add_signal_handler(SIGUSR2, move || {
            c.fetch_add(1, Ordering::SeqCst);
            if tulipa::Handle::try_current().is_some() {
                r.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
        assert!(handler.is_active());
        assert_eq!(handler.signal(), SIGUSR2);

        raise(SIGUSR2).unwrap();
        within("the callback", async {
            while calls.load(Ordering::SeqCst) == 0 {
                tulipa::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        assert_eq!(
            on_runtime.load(Ordering::SeqCst),
            calls.load(Ordering::SeqCst)
        );

        assert!(remove_signal_handler(SIGUSR2));
        assert!(!handler.is_active());
        assert!(!remove_signal_handler(SIGUSR2));
        assert!(!handler.remove());

        // A delivery after removal: a witness sees it, the callback not.
        let before = calls.load(Ordering::SeqCst);
        let mut witness = Signals::new([SIGUSR2]).unwrap();
        raise(SIGUSR2).unwrap();
        within("the witness", witness.recv()).await;
        for _ in 0..10 {
            tulipa::task::yield_now().await;
        }
        assert_eq!(calls.load(Ordering::SeqCst), before);
    });
}

#[test]
fn a_new_handler_replaces_the_old_one() {
    tulipa::run(async {
        let first_calls = Arc::new(AtomicUsize::new(0));
        let second_calls = Arc::new(AtomicUsize::new(0));
        let f = first_calls.clone();
        let first = add_signal_handler(SIGHUP, move || {
            f.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        let s = second_calls.clone();
        let second = add_signal_handler(SIGHUP, move || {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        assert!(!first.is_active());
        assert!(second.is_active());
        // Removing the replaced handle does not remove the new one.
        assert!(!first.remove());
        assert!(second.is_active());

        raise(SIGHUP).unwrap();
        within("the new callback", async {
            while second_calls.load(Ordering::SeqCst) == 0 {
                tulipa::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        assert_eq!(first_calls.load(Ordering::SeqCst), 0);
        assert!(second.remove());
    });
}

#[test]
fn a_handler_needs_a_runtime() {
    let err = add_signal_handler(SIGQUIT, || {}).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("needs a tulipa runtime"), "{err}");
    assert!(!remove_signal_handler(SIGQUIT));
    // A refused call changes nothing: no handler was installed, so the
    // signal keeps its default action.
    assert!(
        !common::catches(SIGQUIT.as_raw()),
        "a failed add_signal_handler took the default action away"
    );
}

#[test]
fn a_replacement_that_cannot_start_keeps_the_old_handler() {
    /// A runtime that is shutting down: it refuses every task.
    struct Refusing;
    impl tulipa_core::spawn::Spawn for Refusing {
        fn spawn_detached(&self, _: tulipa_core::spawn::BoxFuture) -> std::io::Result<()> {
            Err(std::io::Error::other("shutting down"))
        }
    }
    tulipa::run(async {
        let (tx, rx) = std::sync::mpsc::channel();
        let old = add_signal_handler(SIGPWR, move || {
            let _ = tx.send(());
        })
        .unwrap();
        let refused = {
            let _refusing = tulipa_core::spawn::enter(Arc::new(Refusing));
            add_signal_handler(SIGPWR, || panic!("never started"))
        };
        assert_eq!(refused.unwrap_err().to_string(), "shutting down");
        // The failed call replaced nothing: the old handler still runs.
        assert!(old.is_active(), "a failed add stopped the old handler");
        raise(SIGPWR).unwrap();
        let got = tulipa::unblock(move || rx.recv_timeout(Duration::from_secs(20))).await;
        assert!(got.is_ok(), "the old handler no longer runs");
        assert!(old.remove());
    });
}

#[test]
fn a_handler_ends_with_its_runtime() {
    let rt = tulipa::Runtime::new().unwrap();
    let handler = rt.block_on(async { add_signal_handler(SIGIO, || {}).unwrap() });
    assert!(handler.is_active());
    drop(rt);
    // The task is dropped with its runtime (possibly on a worker thread
    // that is still stopping), and takes its entry with it.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while handler.is_active() {
        assert!(
            std::time::Instant::now() < deadline,
            "the handler outlived its runtime"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(!remove_signal_handler(SIGIO));
}

#[test]
fn signals_work_under_a_bare_block_on() {
    let mut signals = Signals::new([SIGALRM]).unwrap();
    raise(SIGALRM).unwrap();
    assert_eq!(future::block_on(signals.recv()), SIGALRM);
}

#[test]
fn a_hundred_round_trips_lose_no_wakeup() {
    tulipa::run(async {
        let mut signals = Signals::new([SIGURG]).unwrap();
        let mut other = Signals::new([SIGURG]).unwrap();
        for round in 0..100 {
            // Waiting first (parked in the runtime), then the delivery.
            let waiting = tulipa::spawn(async move {
                let got = other.recv().await;
                (other, got)
            });
            tulipa::task::yield_now().await;
            raise(SIGURG).unwrap();
            assert_eq!(
                within(&format!("round {round}"), signals.recv()).await,
                SIGURG
            );
            let (back, got) = within(&format!("round {round}, task"), waiting)
                .await
                .unwrap();
            assert_eq!(got, SIGURG);
            other = back;
        }
    });
}

#[test]
fn names_and_thread_safety() {
    assert_eq!(SIGINT.to_string(), "SIGINT");
    assert_eq!(format!("{:?}", SIGTERM), "Signal(SIGTERM)");
    assert_eq!(Signal::from_raw(40).to_string(), "signal 40");
    assert_eq!(i32::from(SIGKILL), 9);
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Signal>();
    send_sync::<Signals>();
    send_sync::<CtrlC>();
    send_sync::<SignalHandler>();
}

#[test]
fn a_stale_waker_is_dropped_outside_the_waiter_lock() {
    use std::future::Future;
    use std::task::{Context, Wake, Waker};

    /// A waker whose drop drops another listener of the same signal (its
    /// drop needs that signal's waiter lock).
    struct Holder(std::sync::Mutex<Option<Signals>>);
    impl Wake for Holder {
        fn wake(self: Arc<Self>) {}
    }
    impl Drop for Holder {
        fn drop(&mut self) {
            let other = self.0.lock().unwrap().take();
            drop(other);
        }
    }

    let signal = Signal::from_raw(41);
    let other = Signals::new([signal]).unwrap();
    let holder = Waker::from(Arc::new(Holder(std::sync::Mutex::new(Some(other)))));
    let mut signals = Signals::new([signal]).unwrap();
    assert!(signals
        .poll_recv(&mut Context::from_waker(&holder))
        .is_pending());
    // Now the waiter map holds the last reference to the holder.
    drop(holder);
    let (tx, rx) = std::sync::mpsc::channel();
    // On a thread, so a deadlock fails the test instead of hanging it.
    std::thread::spawn(move || {
        // Another waker replaces the stored one, which is dropped.
        let mut recv = Box::pin(signals.recv());
        let polled = recv.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        assert!(polled.is_pending());
        drop(recv);
        tx.send(signals).unwrap();
    });
    let got = rx.recv_timeout(Duration::from_secs(20));
    assert!(
        got.is_ok(),
        "deadlock: a waker was dropped while the waiter lock was held"
    );
}
