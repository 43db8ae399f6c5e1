//! The driver is unparked when a timer earlier than its park deadline is
//! registered from another thread, and only then.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use tulipa_core::{Driver, ThreadParker, Unpark, Unparker};
use tulipa_timer::{Sleep, TimerDriver};

/// A thread parker that counts parks entered and unparks requested.
struct Counting {
    parker: ThreadParker,
    parks: Arc<AtomicUsize>,
    unparks: Arc<AtomicUsize>,
}

struct CountingUnpark(Unparker, Arc<AtomicUsize>);

impl Unpark for CountingUnpark {
    fn unpark(&self) {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.unpark();
    }
}

impl Driver for Counting {
    fn park(&self, timeout: Option<Duration>) -> bool {
        self.parks.fetch_add(1, Ordering::SeqCst);
        self.parker.park(timeout)
    }

    fn unparker(&self) -> Unparker {
        Unparker::new(CountingUnpark(self.parker.unparker(), self.unparks.clone()))
    }
}

struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn register(sleep: &mut Sleep, waker: &Waker) {
    assert!(std::pin::Pin::new(sleep)
        .poll(&mut Context::from_waker(waker))
        .is_pending());
}

use std::future::Future;

#[test]
fn an_earlier_deadline_from_another_thread_unparks_the_driver() {
    let parks = Arc::new(AtomicUsize::new(0));
    let unparks = Arc::new(AtomicUsize::new(0));
    let driver = Arc::new(TimerDriver::new(Counting {
        parker: ThreadParker::new(),
        parks: parks.clone(),
        unparks: unparks.clone(),
    }));
    let handle = driver.handle();
    let _guard = handle.enter();

    let noop = Waker::from(Arc::new(Flag(AtomicBool::new(false))));
    let mut hour = tulipa_timer::sleep(Duration::from_secs(3600));
    register(&mut hour, &noop);

    let fired = Arc::new(Flag(AtomicBool::new(false)));
    let (done_tx, done_rx) = mpsc::channel();
    let parker_thread = {
        let driver = driver.clone();
        let fired = fired.clone();
        std::thread::spawn(move || {
            while !fired.0.load(Ordering::SeqCst) {
                assert!(driver.park(None));
            }
            done_tx.send(()).unwrap();
        })
    };

    // Wait until the driver thread is inside the inner park, sleeping
    // towards the one-hour deadline.
    for _ in 0..10_000 {
        if parks.load(Ordering::SeqCst) > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(parks.load(Ordering::SeqCst) > 0, "the driver never parked");
    // Another thread trying to park is refused at once.
    assert!(!driver.park(Some(Duration::ZERO)));

    // A later deadline does not disturb the parked driver.
    let mut two_hours = tulipa_timer::sleep(Duration::from_secs(7200));
    register(&mut two_hours, &noop);
    assert_eq!(unparks.load(Ordering::SeqCst), 0);

    // An earlier one does, and then fires.
    let mut soon = tulipa_timer::sleep(Duration::from_millis(5));
    register(&mut soon, &Waker::from(fired.clone()));
    assert_eq!(unparks.load(Ordering::SeqCst), 1);
    done_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the driver must wake for the earlier deadline");
    parker_thread.join().unwrap();
    assert_eq!(handle.pending(), 2);
    drop((hour, two_hours));
    assert_eq!(handle.pending(), 0);
}
