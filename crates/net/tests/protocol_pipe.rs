//! Pipes as transports (asyncio's `connect_read_pipe` /
//! `connect_write_pipe`): reading to EOF, writing and `write_eof`, a
//! vanished reader, misuse; on both runtimes.

mod support;

use support::runtimes;

use std::io::{ErrorKind, Read, Write};
use std::sync::{Arc, Mutex};

use tulipa_net::protocol::{connect_read_pipe, connect_write_pipe, Protocol, Transport};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Made,
    Data(Vec<u8>),
    Eof,
    Lost(Option<ErrorKind>),
}

type Log = Arc<Mutex<Vec<Ev>>>;

/// Records callbacks; answers `eof_received` with `true` (keep open),
/// which a pipe must not honour; optionally writes in `connection_made`.
struct Recorder {
    log: Log,
    say: Option<&'static [u8]>,
}

impl Protocol for Recorder {
    fn connection_made(&mut self, t: Transport) {
        self.log.lock().unwrap().push(Ev::Made);
        if let Some(bytes) = self.say {
            t.write(bytes);
        }
    }
    fn data_received(&mut self, data: &[u8]) {
        self.log.lock().unwrap().push(Ev::Data(data.to_vec()));
    }
    fn eof_received(&mut self) -> bool {
        self.log.lock().unwrap().push(Ev::Eof);
        true
    }
    fn connection_lost(&mut self, err: Option<std::io::Error>) {
        self.log
            .lock()
            .unwrap()
            .push(Ev::Lost(err.map(|e| e.kind())));
    }
}

fn recorder(log: &Log, say: Option<&'static [u8]>) -> Recorder {
    Recorder {
        log: log.clone(),
        say,
    }
}

fn data(log: &Log) -> Vec<u8> {
    let mut out = Vec::new();
    for e in log.lock().unwrap().iter() {
        if let Ev::Data(d) = e {
            out.extend_from_slice(d);
        }
    }
    out
}

#[test]
fn a_read_pipe_delivers_data_then_eof_then_closes_even_if_eof_received_says_keep() {
    for rt in runtimes() {
        rt.block_on(async {
            let (reader, mut writer) = std::io::pipe().unwrap();
            let log = Log::default();
            let l = log.clone();
            let t = connect_read_pipe(move || recorder(&l, None), reader).unwrap();
            assert_eq!(log.lock().unwrap().as_slice(), [Ev::Made]);
            assert!(t.is_reading());
            assert!(t.peer_addr().is_none());
            writer.write_all(b"one ").unwrap();
            writer.write_all(b"two").unwrap();
            drop(writer);
            t.wait_closed().await;
            assert_eq!(data(&log), b"one two");
            let log = log.lock().unwrap().clone();
            assert_eq!(&log[log.len() - 2..], [Ev::Eof, Ev::Lost(None)]);
        });
    }
}

#[test]
fn a_write_pipe_writes_and_write_eof_closes_it() {
    for rt in runtimes() {
        rt.block_on(async {
            let (mut reader, writer) = std::io::pipe().unwrap();
            let log = Log::default();
            let l = log.clone();
            let t = connect_write_pipe(move || recorder(&l, Some(b"hello ")), writer).unwrap();
            assert!(!t.is_reading(), "a write pipe does not read");
            assert!(t.can_write_eof());
            t.writelines(&[b"pipe".as_slice(), b"!"]);
            t.write_eof().unwrap();
            t.write(b"ignored after write_eof");
            t.wait_closed().await;
            let mut got = Vec::new();
            reader.read_to_end(&mut got).unwrap();
            assert_eq!(got, b"hello pipe!");
            assert_eq!(
                log.lock().unwrap().as_slice(),
                [Ev::Made, Ev::Lost(None)],
                "no data_received, no eof_received on a write pipe"
            );
        });
    }
}

#[test]
fn a_write_pipe_whose_reader_is_gone_ends_with_broken_pipe() {
    for rt in runtimes() {
        rt.block_on(async {
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            let log = Log::default();
            let l = log.clone();
            let t = connect_write_pipe(move || recorder(&l, None), writer).unwrap();
            t.write(b"nobody reads this");
            t.wait_closed().await;
            assert_eq!(
                log.lock().unwrap().last(),
                Some(&Ev::Lost(Some(ErrorKind::BrokenPipe)))
            );
        });
    }
}

#[test]
fn writing_to_a_read_pipe_ends_it_with_unsupported() {
    for rt in runtimes() {
        rt.block_on(async {
            let (reader, _writer) = std::io::pipe().unwrap();
            let log = Log::default();
            let l = log.clone();
            let t = connect_read_pipe(move || recorder(&l, None), reader).unwrap();
            t.write(b"wrong way");
            t.wait_closed().await;
            assert_eq!(
                log.lock().unwrap().last(),
                Some(&Ev::Lost(Some(ErrorKind::Unsupported)))
            );
        });
    }
}

#[test]
fn a_regular_file_is_refused_and_a_runtime_is_needed() {
    let path = std::env::temp_dir().join(format!("tulipa-pipe-test-{}", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    tulipa::run(async {
        let err = connect_read_pipe(|| recorder(&Log::default(), None), file).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("pipes"), "{err}");
    });
    std::fs::remove_file(&path).unwrap();
    let (reader, _writer) = std::io::pipe().unwrap();
    let err = connect_read_pipe(|| recorder(&Log::default(), None), reader).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}
