//! Two thousand short-lived children: no zombie and no descriptor is left
//! behind, whether they are waited for or dropped. One test in this file,
//! so no other test's children or descriptors muddy the counts.

mod common;

use common::{catches, eventually, open_fds, zombie_children};
use tulipa::process::Command;

#[test]
fn two_thousand_children_leave_no_zombie_and_no_descriptor() {
    let rt = tulipa::Runtime::builder()
        .multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        // Warm up what is created once per process (the process-wide
        // reactor and its thread, the orphan reaper), then count.
        tulipa::reactor::Reactor::global();
        Command::new("true").status().await.unwrap();
        drop(Command::new("true").spawn().unwrap());
        eventually("the warm-up orphan to be reaped", || {
            tulipa::process::orphan_count() == 0
        });
        let fds_before = open_fds();

        for i in 0..2000 {
            let mut cmd = Command::new("true");
            match i % 4 {
                // waited for
                0 => assert!(cmd.status().await.unwrap().success()),
                // with pipes, output collected
                1 => assert!(cmd.output().await.unwrap().status.success()),
                // dropped at once: the reaper's job
                2 => drop(cmd.spawn().unwrap()),
                // dropped with kill_on_drop
                _ => drop(cmd.kill_on_drop(true).spawn().unwrap()),
            }
        }

        eventually("every orphan to be reaped", || {
            tulipa::process::orphan_count() == 0
        });
        eventually("no zombie children", || zombie_children() == 0);
        eventually("the descriptor count to come back", || {
            open_fds() <= fds_before
        });
    });
    // The kernel has pidfds, so no SIGCHLD handler was ever installed.
    assert!(!catches(tulipa::signal::SIGCHLD.as_raw()));
}
