//! asyncio's `timeout` semantics inside runtimes, on both flavours and
//! virtual time: nested timeouts (the outermost expired one reports), no
//! deadline, and a `TimeoutHandle` rescheduled from the timed code and from
//! another task.

use std::future::pending;
use std::time::Duration;

use tulipa::time::{self, sleep, timeout, timeout_with, Instant};

mod common;
use common::paused;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn nested_timeouts_with_the_same_deadline_the_outer_one_reports() {
    for rt in paused() {
        rt.block_on(async {
            let task = tulipa::spawn(async {
                let start = Instant::now();
                let mut inner_cm = None;
                let r = timeout(secs(5), async {
                    let inner = timeout(secs(5), pending::<()>());
                    inner_cm = Some(inner.handle());
                    inner.await
                })
                .await;
                (r, inner_cm.unwrap().expired(), start.elapsed())
            });
            let (r, inner_expired, took) = task.await.unwrap();
            assert!(r.is_err(), "the outer one reports, not Ok(Err(_)): {r:?}");
            assert!(inner_expired);
            assert_eq!(took, secs(5));
        });
    }
}

#[test]
fn no_deadline_waits_as_long_as_it_takes() {
    for rt in paused() {
        rt.block_on(async {
            let start = Instant::now();
            let r = timeout(None, async {
                sleep(secs(86_400)).await;
                "a day later"
            })
            .await;
            assert_eq!(r, Ok("a day later"));
            assert_eq!(start.elapsed(), secs(86_400));
        });
    }
}

#[test]
fn the_timed_code_moves_its_own_deadline() {
    for rt in paused() {
        rt.block_on(async {
            let start = Instant::now();
            let r = timeout_with(secs(10), |cm| async move {
                sleep(secs(8)).await;
                cm.reschedule(Instant::now() + secs(10)).unwrap();
                sleep(secs(8)).await; // past the first deadline
                16
            })
            .await;
            assert_eq!(r, Ok(16));
            assert_eq!(start.elapsed(), secs(16));
        });
    }
}

#[test]
fn another_task_shortens_the_deadline() {
    for rt in paused() {
        rt.block_on(async {
            let start = Instant::now();
            let t = timeout(secs(3600), pending::<()>());
            let cm = t.handle();
            let waiter = tulipa::spawn(t);
            time::sleep(secs(2)).await;
            assert_eq!(cm.when(), Some(start + secs(3600)));
            cm.reschedule(Instant::now() + secs(1)).unwrap();
            assert!(waiter.await.unwrap().is_err());
            assert!(cm.expired());
            assert_eq!(start.elapsed(), secs(3), "the new deadline, not an hour");
        });
    }
}
