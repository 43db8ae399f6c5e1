//! `Transport::set_protocol` (asyncio's): the callbacks after the switch
//! go to the new protocol, on both runtimes.

mod support;

use support::{runtimes, until};

use std::sync::{Arc, Mutex};

use tulipa_net::protocol::{
    create_connection, create_server, Buffered, BufferedProtocol, Protocol, Transport,
};

type Log = Arc<Mutex<Vec<String>>>;

/// Logs as "first: ..."; on "switch" hands the connection to `Second`
/// (or a buffered one) and answers "ok".
struct First {
    log: Log,
    transport: Option<Transport>,
    buffered: bool,
}

impl Protocol for First {
    fn connection_made(&mut self, t: Transport) {
        self.transport = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        let text = String::from_utf8_lossy(data).into_owned();
        self.log.lock().unwrap().push(format!("first: {text}"));
        if text.contains("switch") {
            let t = self.transport.as_ref().unwrap();
            if self.buffered {
                t.set_protocol(Buffered(SecondBuffered {
                    log: self.log.clone(),
                    buf: [0; 64],
                }));
            } else {
                t.set_protocol(Second(self.log.clone()));
            }
            t.write(b"ok");
            eprintln!(
                "after write: buffered {} closing {}",
                t.get_write_buffer_size(),
                t.is_closing()
            );
        }
    }
    fn connection_lost(&mut self, _: Option<std::io::Error>) {
        self.log.lock().unwrap().push("first: lost".into());
    }
}

impl Drop for First {
    fn drop(&mut self) {
        self.log.lock().unwrap().push("first: dropped".into());
    }
}

struct Second(Log);

impl Protocol for Second {
    fn connection_made(&mut self, _: Transport) {
        self.0.lock().unwrap().push("second: made".into());
    }
    fn data_received(&mut self, data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        self.0.lock().unwrap().push(format!("second: {text}"));
    }
    fn eof_received(&mut self) -> bool {
        self.0.lock().unwrap().push("second: eof".into());
        false
    }
    fn connection_lost(&mut self, err: Option<std::io::Error>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("second: lost {:?}", err.map(|e| e.kind())));
    }
}

struct SecondBuffered {
    log: Log,
    buf: [u8; 64],
}

impl BufferedProtocol for SecondBuffered {
    fn get_buffer(&mut self, _: usize) -> &mut [u8] {
        &mut self.buf
    }
    fn buffer_updated(&mut self, n: usize) {
        let text = String::from_utf8_lossy(&self.buf[..n]).into_owned();
        self.log.lock().unwrap().push(format!("second: {text}"));
    }
    fn eof_received(&mut self) -> bool {
        self.log.lock().unwrap().push("second: eof".into());
        false
    }
    fn connection_lost(&mut self, err: Option<std::io::Error>) {
        self.log
            .lock()
            .unwrap()
            .push(format!("second: lost {:?}", err.map(|e| e.kind())));
    }
}

/// Collects what the server sends.
struct Client(Arc<Mutex<Vec<u8>>>);

impl Protocol for Client {
    fn connection_lost(&mut self, e: Option<std::io::Error>) {
        eprintln!("client lost {e:?}");
    }
    fn data_received(&mut self, data: &[u8]) {
        eprintln!("client got {data:?}");
        self.0.lock().unwrap().extend_from_slice(data);
    }
}

fn switch(buffered: bool) {
    for rt in runtimes() {
        rt.block_on(async {
            let log = Log::default();
            let l = log.clone();
            let server = create_server(
                move || First {
                    log: l.clone(),
                    transport: None,
                    buffered,
                },
                "127.0.0.1:0",
            )
            .await
            .unwrap();
            let got = Arc::new(Mutex::new(Vec::new()));
            let g = got.clone();
            let t = create_connection(move || Client(g), server.local_addr().unwrap())
                .await
                .unwrap();
            t.write(b"switch");
            for _ in 0..100_000 {
                if *got.lock().unwrap() == b"ok" {
                    break;
                }
                tulipa::task::yield_now().await;
            }
            eprintln!(
                "log {:?} got {:?}",
                log.lock().unwrap(),
                got.lock().unwrap()
            );
            t.write(b"after");
            until("the new protocol got data", || {
                log.lock().unwrap().iter().any(|e| e == "second: after")
            })
            .await;
            t.close();
            t.wait_closed().await;
            until("the server connection ended", || {
                log.lock()
                    .unwrap()
                    .iter()
                    .any(|e| e.starts_with("second: lost"))
            })
            .await;
            server.close();
            server.wait_closed().await;
            assert_eq!(
                *log.lock().unwrap(),
                [
                    "first: switch",
                    "first: dropped",
                    "second: after",
                    "second: eof",
                    "second: lost None"
                ],
                "the new protocol gets every later callback, no connection_made; the old one \
                 is dropped and hears nothing more"
            );
        });
    }
}

#[test]
fn set_protocol_sends_the_later_callbacks_to_the_new_protocol() {
    switch(false);
}

#[test]
fn set_protocol_can_switch_to_a_buffered_protocol() {
    switch(true);
}
