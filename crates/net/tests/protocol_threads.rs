//! Transports used from plain threads while the connection's driver is
//! parked: writes, `write_eof` and `close` must reach it (no lost wakeup),
//! and bytes keep each writer's order.

use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tulipa_net::protocol::{create_server, Protocol, Transport};

/// Hands its transport out and otherwise does nothing.
struct Idle(Arc<Mutex<Option<Transport>>>);

impl Protocol for Idle {
    fn connection_made(&mut self, t: Transport) {
        *self.0.lock().unwrap() = Some(t);
    }
    fn data_received(&mut self, _: &[u8]) {}
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

#[test]
fn writes_and_close_from_threads_reach_a_parked_driver_in_order() {
    tulipa::run(async {
        let slot = Arc::new(Mutex::new(None));
        let s = slot.clone();
        let server = create_server(move || Idle(s.clone()), "127.0.0.1:0")
            .await
            .unwrap();
        let mut peer = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        until("connection_made", || slot.lock().unwrap().is_some()).await;
        // Let the driver park (nothing to read, nothing to write).
        tulipa::time::sleep(Duration::from_millis(5)).await;
        let t = slot.lock().unwrap().clone().unwrap();
        const THREADS: u8 = 4;
        const PER_THREAD: u32 = 2_000;
        let writers: Vec<_> = (0..THREADS)
            .map(|id| {
                let t = t.clone();
                std::thread::spawn(move || {
                    for seq in 0..PER_THREAD {
                        let mut rec = [id; 5];
                        rec[1..].copy_from_slice(&seq.to_be_bytes());
                        t.write(&rec);
                    }
                })
            })
            .collect();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            peer.read_to_end(&mut all).map(|_| all)
        });
        for w in writers {
            w.join().unwrap();
        }
        let closer = t.clone();
        std::thread::spawn(move || closer.close()).join().unwrap();
        tulipa::time::timeout(Duration::from_secs(10), t.wait_closed())
            .await
            .expect("a close from another thread never reached the driver");
        let all = reader.join().unwrap().expect("the peer read failed");
        assert_eq!(all.len(), THREADS as usize * PER_THREAD as usize * 5);
        let mut next = [0u32; THREADS as usize];
        for rec in all.chunks(5) {
            let id = rec[0] as usize;
            let seq = u32::from_be_bytes(rec[1..].try_into().unwrap());
            assert_eq!(seq, next[id], "thread {id}'s bytes out of order");
            next[id] += 1;
        }
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn write_eof_from_a_thread_reaches_a_parked_driver() {
    tulipa::run(async {
        let slot = Arc::new(Mutex::new(None));
        let s = slot.clone();
        let server = create_server(move || Idle(s.clone()), "127.0.0.1:0")
            .await
            .unwrap();
        let mut peer = std::net::TcpStream::connect(server.local_addr().unwrap()).unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        until("connection_made", || slot.lock().unwrap().is_some()).await;
        tulipa::time::sleep(Duration::from_millis(5)).await;
        let t = slot.lock().unwrap().clone().unwrap();
        std::thread::spawn(move || {
            t.write(b"last words");
            t.write_eof().unwrap();
        })
        .join()
        .unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got)
            .expect("no EOF: write_eof from a thread never reached the driver");
        assert_eq!(got, b"last words");
        drop(peer);
        until("the connection ended", || server.connection_count() == 0).await;
        server.close();
        server.wait_closed().await;
    });
}
