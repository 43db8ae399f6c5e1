//! RwLock: sharing, exclusion, writer priority, upgradable reads,
//! downgrades, cancellation.

mod common;

use std::sync::Arc;

use common::{on_threads, Polled};
use futures_lite::future::block_on;
use tulipa_sync::{RwLock, RwLockUpgradableReadGuard, RwLockWriteGuard};

#[test]
fn readers_share_and_writers_exclude() {
    let lock = RwLock::new(1);
    let a = Polled::new(lock.read()).ready();
    let b = lock.try_read().unwrap();
    assert_eq!(*a + *b, 2);
    assert!(lock.try_write().is_none());
    let mut w = Polled::new(lock.write());
    w.pending();
    drop(a);
    assert_eq!(w.wakes(), 0, "one reader is still inside");
    drop(b);
    assert_eq!(w.wakes(), 1);
    let mut g = w.ready();
    *g = 5;
    assert!(lock.try_read().is_none());
    assert!(lock.try_upgradable_read().is_none());
    assert_eq!(format!("{lock:?}"), "RwLock { data: <locked> }");
    drop(g);
    assert_eq!(format!("{lock:?}"), "RwLock { data: 5 }");
}

#[test]
fn a_waiting_writer_is_not_starved_by_new_readers() {
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let mut w = Polled::new(lock.write());
    w.pending();
    assert!(
        lock.try_read().is_none(),
        "a reader may not pass a waiting writer"
    );
    let mut r2 = Polled::new(lock.read());
    r2.pending();
    drop(r1);
    assert_eq!(w.wakes(), 1);
    assert_eq!(r2.wakes(), 0);
    let g = w.ready();
    drop(g);
    assert_eq!(r2.wakes(), 1);
    let _r2 = r2.ready();
}

#[test]
fn readers_queued_behind_a_writer_all_enter_together() {
    let lock = RwLock::new(0);
    let g = lock.try_write().unwrap();
    let mut readers: Vec<_> = (0..3).map(|_| Polled::new(lock.read())).collect();
    for r in &mut readers {
        r.pending();
    }
    drop(g);
    let guards: Vec<_> = readers.iter_mut().map(|r| r.ready()).collect();
    assert_eq!(guards.len(), 3);
}

#[test]
fn a_cancelled_writer_lets_waiting_readers_in() {
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let mut w = Polled::new(lock.write());
    w.pending();
    let mut r2 = Polled::new(lock.read());
    r2.pending();
    drop(w);
    assert_eq!(r2.wakes(), 1, "the writer's collected permits passed on");
    let _r2 = r2.ready();
    drop(r1);
    assert!(lock.try_write().is_none());
}

#[test]
fn a_writer_waiting_for_the_gate_cancels_cleanly() {
    let lock = RwLock::new(0);
    let w1 = lock.try_write().unwrap();
    let mut w2 = Polled::new(lock.write());
    w2.pending();
    drop(w2);
    drop(w1);
    assert!(lock.try_write().is_some());
}

#[test]
fn upgradable_read_shares_with_readers_but_not_writers() {
    let lock = RwLock::new(vec![1]);
    let up = Polled::new(lock.upgradable_read()).ready();
    let r = lock.try_read().unwrap();
    assert_eq!(*up, *r);
    assert!(lock.try_upgradable_read().is_none());
    assert!(lock.try_write().is_none());
    let mut w = Polled::new(lock.write());
    w.pending();
    drop(r);
    let up = RwLockUpgradableReadGuard::try_upgrade(up).unwrap_or_else(|_| panic!("no readers"));
    let up = RwLockWriteGuard::downgrade_to_upgradable(up);
    drop(up);
    assert_eq!(w.wakes(), 1);
    let _w = w.ready();
}

#[test]
fn upgrade_waits_for_readers_and_keeps_writers_out() {
    let lock = RwLock::new(0);
    let up = lock.try_upgradable_read().unwrap();
    let r = lock.try_read().unwrap();
    let up = match RwLockUpgradableReadGuard::try_upgrade(up) {
        Ok(_) => panic!("a reader is inside"),
        Err(up) => up,
    };
    let mut upgrade = Polled::new(RwLockUpgradableReadGuard::upgrade(up));
    upgrade.pending();
    let mut late_reader = Polled::new(lock.read());
    late_reader.pending();
    drop(r);
    assert_eq!(upgrade.wakes(), 1);
    let mut w = upgrade.ready();
    *w = 9;
    let read = RwLockWriteGuard::downgrade(w);
    assert_eq!(*read, 9);
    assert_eq!(late_reader.wakes(), 1);
    let _late = late_reader.ready();
    assert!(
        lock.try_upgradable_read().is_some(),
        "downgrade released the gate"
    );
}

#[test]
fn a_dropped_upgrade_releases_the_upgradable_read() {
    let lock = RwLock::new(0);
    let up = lock.try_upgradable_read().unwrap();
    let r = lock.try_read().unwrap();
    let mut upgrade = Polled::new(RwLockUpgradableReadGuard::upgrade(up));
    upgrade.pending();
    drop(upgrade);
    drop(r);
    assert!(lock.try_write().is_some(), "nothing is held any more");
}

#[test]
fn upgradable_downgrade_lets_a_writer_queue() {
    let lock = RwLock::new(0);
    let up = lock.try_upgradable_read().unwrap();
    let read = RwLockUpgradableReadGuard::downgrade(up);
    let mut w = Polled::new(lock.write());
    w.pending();
    drop(read);
    let _w = w.ready();
}

#[test]
fn into_inner_get_mut_default() {
    let mut lock = RwLock::new(String::from("a"));
    lock.get_mut().push('b');
    assert_eq!(lock.into_inner(), "ab");
    assert_eq!(RwLock::<u8>::default().into_inner(), 0);
}

#[test]
fn threads_mix_readers_writers_and_upgrades() {
    let lock = Arc::new(RwLock::new((0u64, 0u64)));
    let l = lock.clone();
    on_threads(4, move |t| {
        block_on(async {
            for k in 0..300 {
                match (t + k) % 3 {
                    0 => {
                        let r = l.read().await;
                        assert_eq!(r.0, r.1, "a reader saw a half-done write");
                    }
                    1 => {
                        let mut w = l.write().await;
                        w.0 += 1;
                        w.1 += 1;
                    }
                    _ => {
                        let up = l.upgradable_read().await;
                        assert_eq!(up.0, up.1);
                        let mut w = RwLockUpgradableReadGuard::upgrade(up).await;
                        w.0 += 1;
                        w.1 += 1;
                    }
                }
            }
        })
    });
    let g = lock.try_read().unwrap();
    assert_eq!(g.0, 800, "every write landed");
    assert_eq!(g.0, g.1);
}

#[test]
fn arc_guards_share_exclude_and_convert() {
    use tulipa_sync::{RwLockUpgradableReadGuardArc, RwLockWriteGuardArc};

    let lock = Arc::new(RwLock::new(1));
    let r = Polled::new(lock.read_arc()).ready();
    assert!(Arc::ptr_eq(
        tulipa_sync::RwLockReadGuardArc::source(&r),
        &lock
    ));
    let up = lock.try_upgradable_read_arc().unwrap();
    assert!(lock.try_write_arc().is_none());
    assert_eq!(*r + *up, 2);
    let up = match RwLockUpgradableReadGuardArc::try_upgrade(up) {
        Ok(_) => panic!("a reader is inside"),
        Err(up) => up,
    };
    let mut upgrade = Polled::new(RwLockUpgradableReadGuardArc::upgrade(up));
    upgrade.pending();
    let mut late = Polled::new(lock.read_arc());
    late.pending();
    drop(r);
    let mut w = upgrade.ready();
    *w = 5;
    let up = RwLockWriteGuardArc::downgrade_to_upgradable(w);
    assert_eq!(late.wakes(), 1);
    let late = late.ready();
    let read = RwLockUpgradableReadGuardArc::downgrade(up);
    assert_eq!((*read, *late), (5, 5));
    let mut w = Polled::new(lock.write_arc());
    w.pending();
    drop((read, late));
    let w = w.ready();
    assert_eq!(format!("{w:?}"), "5");
    let r = RwLockWriteGuardArc::downgrade(w);
    assert!(lock.try_upgradable_read_arc().is_some());
    drop(r);
    assert!(lock.try_write_arc().is_some(), "everything was released");
    let moved = {
        let g = lock.try_read_arc().unwrap();
        std::thread::spawn(move || *g).join().unwrap()
    };
    assert_eq!(moved, 5);
}

#[test]
fn dropped_arc_futures_release_what_they_took() {
    let lock = Arc::new(RwLock::new(0));
    let r = lock.try_read_arc().unwrap();
    let mut w = Polled::new(lock.write_arc());
    w.pending(); // holds the gate and the free reader permits
    let mut up = Polled::new(lock.upgradable_read_arc());
    up.pending(); // queued on the gate
    let mut reader = Polled::new(lock.read_arc());
    reader.pending(); // behind the writer
    drop(w);
    assert_eq!(reader.wakes(), 1);
    let _reader = reader.ready();
    let up = up.ready();
    let mut upgrade = Polled::new(tulipa_sync::RwLockUpgradableReadGuardArc::upgrade(up));
    upgrade.pending();
    drop(upgrade);
    drop((r, _reader));
    assert!(lock.try_write_arc().is_some(), "everything was released");
}
