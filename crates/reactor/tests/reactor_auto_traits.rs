//! Compile-time checks of the auto traits of every public type.

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;

use tulipa_reactor::{Async, EnterGuard, Reactor};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>(_: &T) {}
fn unpin<T: Unpin>() {}

#[test]
fn public_types_are_send_and_sync() {
    send_sync::<Reactor>();
    send_sync::<Async<UnixStream>>();
    send_sync::<Async<TcpStream>>();
    send_sync::<Async<TcpListener>>();
    send_sync::<Async<UdpSocket>>();
    send_sync::<Async<std::os::fd::OwnedFd>>();
    unpin::<Async<UnixStream>>();
    unpin::<EnterGuard<'static>>();
    send_sync::<tulipa_core::Unparker>();
}

#[test]
fn futures_are_send() {
    let (a, _b) = UnixStream::pair().unwrap();
    let mut a = Async::new_in(a, &Reactor::new().unwrap()).unwrap();
    send(&a.readable());
    send(&a.writable());
    send(&a.read_with(|_| Ok(())));
    send(&a.write_with(|_| Ok(())));
    send(&a.read_with_mut(|_| Ok(())));
    send(&a.write_with_mut(|_| Ok(())));
}
