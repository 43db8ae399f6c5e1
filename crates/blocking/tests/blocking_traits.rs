//! Auto traits of the public types, checked at compile time.

use std::fs::File;

use tulipa_blocking::{
    Builder, JoinHandle, Pool, PoolStats, TrySpawnError, Unblock, UnblockFuture,
};

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn unpin<T: Unpin>() {}
fn send_sync_static<T: Send + Sync + 'static>() {}

/// Not `Send` and not `Sync`.
type Local = std::rc::Rc<()>;

#[test]
fn auto_traits() {
    send_sync_static::<Pool>();
    send_sync_static::<Builder>();
    send_sync_static::<PoolStats>();

    send::<JoinHandle<u8>>();
    sync::<JoinHandle<u8>>();
    unpin::<JoinHandle<Local>>();
    // A handle's Sync does not depend on its output.
    sync::<JoinHandle<std::cell::Cell<u8>>>();

    send::<UnblockFuture<u8>>();
    sync::<UnblockFuture<u8>>();
    unpin::<UnblockFuture<u8>>();

    send::<Unblock<File>>();
    sync::<Unblock<File>>();
    unpin::<Unblock<File>>();
    unpin::<Unblock<Local>>();

    send::<TrySpawnError<fn()>>();
    sync::<TrySpawnError<fn()>>();
    // The error is an Error even when the closure is not Debug.
    fn error<E: std::error::Error>() {}
    error::<TrySpawnError<Box<dyn FnOnce() + Send>>>();
}

#[test]
fn futures_are_send_across_await() {
    fn assert_send<F: std::future::Future + Send>(_: F) {}
    assert_send(tulipa_blocking::unblock(|| 1));
    assert_send(tulipa_blocking::spawn_blocking(|| 1));
    assert_send(async {
        let mut u = Unblock::new(std::io::Cursor::new(Vec::<u8>::new()));
        let _ = u.get_mut().await;
        u.into_inner().await
    });
}
