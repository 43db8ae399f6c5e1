//! A protocol server survives running out of descriptors: its accept loop
//! backs off on `EMFILE` and serves the waiting connection once
//! descriptors are available again.
//!
//! The only test in this file: it lowers the process's descriptor limit,
//! which would disturb any test running beside it.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustix::process::{getrlimit, setrlimit, Resource};
use tulipa_net::protocol::{create_server, Protocol, Transport};

struct Echo(Option<Transport>);

impl Protocol for Echo {
    fn connection_made(&mut self, t: Transport) {
        self.0 = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.0.as_ref().unwrap().write(data);
    }
}

async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..10_000 {
        if cond() {
            return;
        }
        tulipa::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("timed out waiting until {what}");
}

/// The lowest descriptor number not in use: where the next open lands.
fn lowest_free_fd() -> u64 {
    let f = std::fs::File::open("/dev/null").unwrap();
    use std::os::fd::AsRawFd;
    f.as_raw_fd() as u64
}

#[test]
fn the_accept_loop_backs_off_on_emfile_and_recovers() {
    tulipa::run(async {
        let made = Arc::new(Mutex::new(0));
        let m = made.clone();
        let server = create_server(
            move || {
                *m.lock().unwrap() += 1;
                Echo(None)
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let addr = server.local_addr().unwrap();
        // The client's socket exists before the limit drops; connecting
        // needs no new descriptor (the kernel completes it from the
        // listener's backlog), but accepting it does.
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let saved = getrlimit(Resource::Nofile);
        let mut low = saved;
        low.current = Some(lowest_free_fd());
        setrlimit(Resource::Nofile, low).unwrap();
        let connected = socket.connect(&addr.into());
        until("accept failed with EMFILE", || server.accept_errors() >= 2).await;
        // Usually 0. A descriptor below the limit can still be freed by
        // another thread of this process (the test harness's; about one
        // run in 60 here), and the loop then accepts at once: it must
        // still have accepted this one connection at most once.
        assert!(*made.lock().unwrap() <= 1, "one connection, accepted once");
        assert!(server.is_serving(), "the server keeps running");
        setrlimit(Resource::Nofile, saved).unwrap();
        connected.unwrap();
        until("the waiting connection was accepted", || {
            *made.lock().unwrap() == 1
        })
        .await;
        let mut client: std::net::TcpStream = socket.into();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        client.write_all(b"back").unwrap();
        let mut buf = [0; 4];
        client.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"back");
        drop(client);
        server.close();
        server.wait_closed().await;
    });
}
