//! Send and Sync of every public type, checked at compile time.

use std::cell::Cell;
use std::rc::Rc;

use tulipa_sync::futures::*;
use tulipa_sync::*;

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<Mutex<u8>>();
    send_sync::<MutexGuard<'static, u8>>();
    send_sync::<MutexGuardArc<u8>>();
    send_sync::<Lock<'static, u8>>();
    send_sync::<LockArc<u8>>();
    send_sync::<RwLock<u8>>();
    send_sync::<RwLockReadGuard<'static, u8>>();
    send_sync::<RwLockWriteGuard<'static, u8>>();
    send_sync::<RwLockUpgradableReadGuard<'static, u8>>();
    send_sync::<Read<'static, u8>>();
    send_sync::<Write<'static, u8>>();
    send_sync::<UpgradableRead<'static, u8>>();
    send_sync::<Upgrade<'static, u8>>();
    send_sync::<RwLockReadGuardArc<u8>>();
    send_sync::<RwLockWriteGuardArc<u8>>();
    send_sync::<RwLockUpgradableReadGuardArc<u8>>();
    send_sync::<ReadArc<u8>>();
    send_sync::<WriteArc<u8>>();
    send_sync::<UpgradableReadArc<u8>>();
    send_sync::<UpgradeArc<u8>>();
    send_sync::<Semaphore>();
    send_sync::<SemaphorePermit<'static>>();
    send_sync::<SemaphorePermitArc>();
    send_sync::<Acquire<'static>>();
    send_sync::<AcquireArc>();
    send_sync::<AcquireError>();
    send_sync::<TryAcquireError>();
    send_sync::<ReleaseError>();
    send_sync::<Event>();
    send_sync::<Condvar>();
    send_sync::<Condition<u8>>();
    send_sync::<ConditionGuard<'static, u8>>();
    send_sync::<Barrier>();
    send_sync::<BarrierWait<'static>>();
    send_sync::<BarrierWaitResult>();
    send_sync::<BrokenBarrierError>();
    send_sync::<OnceCell<u8>>();
    send_sync::<SetError<u8>>();
    send_sync::<Promise<u8>>();
    send_sync::<Wait<'static, u8>>();
    send_sync::<Value<u8>>();
    send_sync::<PromiseError>();
    send_sync::<InvalidStateError<u8>>();
}

#[test]
fn futures_of_async_methods_are_send() {
    fn is_send<T: Send>(_: &T) {}
    let e = Event::new();
    is_send(&e.wait());
    let m = Mutex::new(0);
    let cv = Condvar::new();
    let g = m.try_lock().unwrap();
    is_send(&cv.wait(g));
    let m2 = std::sync::Arc::new(Mutex::new(0));
    is_send(&cv.wait_arc(m2.try_lock_arc().unwrap()));
    let p = Promise::<u8>::new();
    is_send(&p.wait());
    let c = Condition::new(0u8);
    is_send(&c.acquire());
    is_send(&c.try_acquire().unwrap().wait());
    let b = Barrier::new(1);
    is_send(&b.wait());
    let cell = OnceCell::<u8>::new();
    is_send(&cell.get_or_init(|| async { 1 }));
}

#[test]
fn send_but_not_sync_data_still_makes_a_sync_mutex() {
    // A Mutex only needs T: Send to be shared: it never hands out &T to
    // two threads at once.
    send_sync::<Mutex<Cell<u8>>>();
    send::<MutexGuard<'static, Cell<u8>>>();
    send::<Semaphore>();
    sync::<Semaphore>();
    // Rc is neither: the mutex is neither (checked by the compiler if the
    // next line is uncommented): send_sync::<Mutex<Rc<u8>>>();
    let _ = Rc::new(0);
}
