//! Who a task is: names, spawn locations, `task::current()` (asyncio's
//! `Task.get_name()`, `current_task()`), on both runtime flavours.

use std::panic::Location;
use std::sync::Arc;

use tulipa::task::TaskInfo;
use tulipa::Runtime;

fn flavors() -> Vec<Runtime> {
    vec![
        Runtime::builder().current_thread().build().unwrap(),
        Runtime::builder().worker_threads(2).build().unwrap(),
    ]
}

/// A library spawning through the runtime-agnostic hook (as a server does
/// per connection) names the task and records its user's call site.
#[test]
fn the_spawn_hook_records_a_given_name_and_location() {
    for rt in flavors() {
        let here: &'static Location<'static> = Location::caller();
        let seen = rt.block_on(async move {
            let (tx, rx) = tulipa::channel::oneshot::channel::<Option<TaskInfo>>();
            let options = tulipa::core::spawn::SpawnOptions::new()
                .name("conn 1")
                .location(here);
            tulipa::core::spawn::spawn_with(options, async move {
                let _ = tx.send(tulipa::task::current());
            })
            .unwrap();
            rx.await.unwrap()
        });
        let info = seen.expect("a task spawned through the hook is a task");
        assert_eq!(info.name(), Some("conn 1"));
        assert_eq!(info.location(), here);
    }
}

#[track_caller]
fn spawn_for_my_caller(name: &str) -> tulipa::JoinHandle<()> {
    tulipa::task::Builder::new()
        .name(Arc::<str>::from(name))
        .location(Location::caller())
        .spawn(async {})
        .unwrap()
}

#[test]
fn builder_location_replaces_the_spawn_call_site() {
    for rt in flavors() {
        rt.block_on(async {
            let line = line!() + 1;
            let h = spawn_for_my_caller("w");
            let info = h.info();
            assert_eq!(info.location().file(), file!());
            assert_eq!(info.location().line(), line);
            h.await.unwrap();
            // Without `location`, the Builder's own caller is recorded.
            let line = line!() + 1;
            let h = tulipa::task::Builder::new().spawn(async {}).unwrap();
            assert_eq!(h.info().location().line(), line);
            h.await.unwrap();
        });
    }
}
