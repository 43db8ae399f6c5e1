//! `BufferedProtocol` (asyncio's `get_buffer` / `buffer_updated`): the
//! driver reads straight into the protocol's own buffer, on both runtimes.

mod support;

use support::runtimes;

use std::io::ErrorKind;
use std::sync::{Arc, Mutex};

use tulipa_net::protocol::{
    create_connection, create_server, Buffered, BufferedProtocol, Protocol, Transport,
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Made,
    GetBuffer(usize),
    Updated(usize),
    Eof,
    Lost(Option<ErrorKind>),
}

type Log = Arc<Mutex<Vec<Ev>>>;

/// Sends `data`, then closes its end.
struct Sender(&'static [u8]);

impl Protocol for Sender {
    fn connection_made(&mut self, t: Transport) {
        t.write(self.0);
        t.close();
    }
    fn data_received(&mut self, _: &[u8]) {}
}

/// Reads into a fixed array of `window` bytes at a time, appending each
/// window to `got`; records every callback.
struct Windowed {
    window: [u8; 4],
    size: usize,
    got: Arc<Mutex<Vec<u8>>>,
    log: Log,
}

impl BufferedProtocol for Windowed {
    fn connection_made(&mut self, _: Transport) {
        self.log.lock().unwrap().push(Ev::Made);
    }
    fn get_buffer(&mut self, size_hint: usize) -> &mut [u8] {
        self.log.lock().unwrap().push(Ev::GetBuffer(size_hint));
        &mut self.window[..self.size]
    }
    fn buffer_updated(&mut self, nbytes: usize) {
        self.log.lock().unwrap().push(Ev::Updated(nbytes));
        self.got
            .lock()
            .unwrap()
            .extend_from_slice(&self.window[..nbytes]);
    }
    fn eof_received(&mut self) -> bool {
        self.log.lock().unwrap().push(Ev::Eof);
        false
    }
    fn connection_lost(&mut self, err: Option<std::io::Error>) {
        self.log
            .lock()
            .unwrap()
            .push(Ev::Lost(err.map(|e| e.kind())));
    }
}

async fn run_client(size: usize, data: &'static [u8]) -> (Vec<u8>, Vec<Ev>) {
    let server = create_server(move || Sender(data), "127.0.0.1:0")
        .await
        .unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let log: Log = Arc::default();
    let (g, l) = (got.clone(), log.clone());
    let factory = move || {
        Buffered(Windowed {
            window: [0; 4],
            size,
            got: g,
            log: l,
        })
    };
    let t = create_connection(factory, server.local_addr().unwrap())
        .await
        .unwrap();
    t.wait_closed().await;
    server.close();
    server.wait_closed().await;
    let got = got.lock().unwrap().clone();
    let log = log.lock().unwrap().clone();
    (got, log)
}

#[test]
fn bytes_land_in_the_protocols_buffer_a_window_at_a_time() {
    for rt in runtimes() {
        rt.block_on(async {
            let (got, log) = run_client(4, b"hello, buffered world").await;
            assert_eq!(got, b"hello, buffered world");
            assert_eq!(log.first(), Some(&Ev::Made));
            assert_eq!(log.last(), Some(&Ev::Lost(None)));
            let updates: Vec<usize> = log
                .iter()
                .filter_map(|e| match e {
                    Ev::Updated(n) => Some(*n),
                    _ => None,
                })
                .collect();
            // Never more than the 4 bytes the protocol lent, never zero.
            assert!(updates.iter().all(|&n| (1..=4).contains(&n)), "{log:?}");
            assert_eq!(updates.iter().sum::<usize>(), 21);
            // Every buffer_updated follows a get_buffer (asyncio passes -1,
            // "any size"; tulipa passes 0).
            for (i, e) in log.iter().enumerate() {
                if let Ev::Updated(_) = e {
                    assert_eq!(log[i - 1], Ev::GetBuffer(0), "{log:?}");
                }
            }
            let eof = log.iter().position(|e| *e == Ev::Eof).unwrap();
            assert!(log[eof + 1..].iter().all(|e| matches!(e, Ev::Lost(_))));
        });
    }
}

#[test]
fn an_empty_buffer_ends_the_connection_with_invalid_input() {
    for rt in runtimes() {
        rt.block_on(async {
            let (got, log) = run_client(0, b"data").await;
            assert!(got.is_empty());
            assert_eq!(
                log.last(),
                Some(&Ev::Lost(Some(ErrorKind::InvalidInput))),
                "{log:?}"
            );
            assert!(!log.iter().any(|e| matches!(e, Ev::Updated(_))), "{log:?}");
        });
    }
}
