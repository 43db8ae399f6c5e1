//! Issue 13: `subprocess_exec` with a `SubprocessProtocol`: the callback
//! order of CPython's `base_subprocess.py` (`connection_lost` only after
//! both the exit and every pipe), the transport's calls, and its errors.

mod common;

use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::runtimes;
use tulipa::channel::{unbounded, Receiver, Sender};
use tulipa::process::protocol::{
    subprocess_exec, SubprocessProtocol, SubprocessTransport, WRITE_HIGH_WATER,
};
use tulipa::process::Command;
use tulipa::signal::{SIGKILL, SIGTERM};

#[derive(Clone, Debug, PartialEq)]
enum Ev {
    Made,
    Data(i32, Vec<u8>),
    PipeLost(i32, Option<ErrorKind>),
    Exited,
    Lost(Option<ErrorKind>),
    PauseWriting,
    ResumeWriting,
}

type OnMade = Box<dyn FnOnce(&SubprocessTransport) + Send>;

/// Logs every callback, and sends it on a channel for tests that wait.
struct Recorder {
    log: Arc<Mutex<Vec<Ev>>>,
    tx: Sender<Ev>,
    on_made: Option<OnMade>,
}

impl Recorder {
    fn record(&mut self, ev: Ev) {
        self.log.lock().unwrap().push(ev.clone());
        let _ = self.tx.try_send(ev);
    }
}

impl SubprocessProtocol for Recorder {
    fn connection_made(&mut self, transport: SubprocessTransport) {
        self.record(Ev::Made);
        if let Some(f) = self.on_made.take() {
            f(&transport);
        }
    }
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        assert!(!data.is_empty());
        self.record(Ev::Data(fd, data.to_vec()));
    }
    fn pipe_connection_lost(&mut self, fd: i32, err: Option<std::io::Error>) {
        self.record(Ev::PipeLost(fd, err.map(|e| e.kind())));
    }
    fn process_exited(&mut self) {
        self.record(Ev::Exited);
    }
    fn connection_lost(&mut self, err: Option<std::io::Error>) {
        self.record(Ev::Lost(err.map(|e| e.kind())));
    }
    fn pause_writing(&mut self) {
        self.record(Ev::PauseWriting);
    }
    fn resume_writing(&mut self) {
        self.record(Ev::ResumeWriting);
    }
}

struct Run {
    transport: SubprocessTransport,
    log: Arc<Mutex<Vec<Ev>>>,
    rx: Receiver<Ev>,
}

async fn start(
    cmd: &mut Command,
    on_made: impl FnOnce(&SubprocessTransport) + Send + 'static,
) -> Run {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = unbounded();
    let recorder = Recorder {
        log: log.clone(),
        tx,
        on_made: Some(Box::new(on_made)),
    };
    let transport = subprocess_exec(move || recorder, cmd).await.unwrap();
    Run { transport, log, rx }
}

/// Receives events until `want` matches one; a bound, not a timing check.
async fn until(rx: &Receiver<Ev>, mut want: impl FnMut(&Ev) -> bool) {
    let wait = async {
        loop {
            let ev = rx.recv().await.unwrap();
            if want(&ev) {
                return;
            }
        }
    };
    tulipa::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("the awaited callback never came");
}

/// Checks the order rules on a finished log and returns the data per fd.
fn check_order(log: &[Ev], piped: &[i32]) -> [Vec<u8>; 3] {
    assert_eq!(log.first(), Some(&Ev::Made), "{log:?}");
    assert!(
        matches!(log.last(), Some(Ev::Lost(_))),
        "connection_lost is last: {log:?}"
    );
    let count = |f: &dyn Fn(&Ev) -> bool| log.iter().filter(|e| f(e)).count();
    assert_eq!(count(&|e| *e == Ev::Made), 1, "{log:?}");
    assert_eq!(count(&|e| *e == Ev::Exited), 1, "{log:?}");
    assert_eq!(count(&|e| matches!(e, Ev::Lost(_))), 1, "{log:?}");
    let mut data: [Vec<u8>; 3] = Default::default();
    for fd in 0..3 {
        let lost = count(&|e| matches!(e, Ev::PipeLost(f, _) if *f == fd));
        assert_eq!(lost, usize::from(piped.contains(&fd)), "pipe {fd}: {log:?}");
    }
    let mut closed = [false; 3];
    for ev in log {
        match ev {
            Ev::Data(fd, bytes) => {
                assert!(*fd == 1 || *fd == 2, "{log:?}");
                assert!(
                    !closed[*fd as usize],
                    "data after pipe_connection_lost: {log:?}"
                );
                data[*fd as usize].extend_from_slice(bytes);
            }
            Ev::PipeLost(fd, _) => closed[*fd as usize] = true,
            _ => {}
        }
    }
    data
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn callbacks_come_in_asyncio_order_and_stdin_is_written() {
    for rt in runtimes() {
        rt.block_on(async {
            let run = start(
                &mut Command::shell("cat; echo err >&2; exit 3"),
                |t: &SubprocessTransport| {
                    let stdin = t.get_pipe_transport(0).unwrap();
                    stdin.write(b"hello ").unwrap();
                    stdin.write(b"world").unwrap();
                    stdin.write_eof().unwrap();
                    assert!(stdin.is_closing());
                },
            )
            .await;
            assert!(run.transport.get_pid() > 0);
            run.transport.wait_closed().await;
            let log = run.log.lock().unwrap().clone();
            let data = check_order(&log, &[0, 1, 2]);
            assert_eq!(data[1], b"hello world");
            assert_eq!(data[2], b"err\n");
            assert!(log.contains(&Ev::PipeLost(0, None)), "{log:?}");
            assert_eq!(log.last(), Some(&Ev::Lost(None)));
            assert_eq!(run.transport.get_returncode().unwrap().code(), Some(3));
            assert!(run.transport.is_closing());
            // Reaped: asyncio's ProcessLookupError.
            assert_eq!(
                run.transport.kill().unwrap_err().kind(),
                ErrorKind::NotFound
            );
        });
    }
}

#[test]
fn a_large_payload_round_trips_through_cat() {
    for rt in runtimes() {
        rt.block_on(async {
            let data = payload(3 << 20);
            let input = data.clone();
            let run = start(&mut Command::new("cat"), move |t: &SubprocessTransport| {
                let stdin = t.get_pipe_transport(0).unwrap();
                stdin.write(&input).unwrap();
                assert!(stdin.get_write_buffer_size() > 0);
                stdin.close();
            })
            .await;
            run.transport.wait_closed().await;
            let log = run.log.lock().unwrap().clone();
            let out = check_order(&log, &[0, 1, 2]);
            assert_eq!(out[1].len(), data.len());
            assert!(out[1] == data, "cat returned different bytes");
            let stdin = run.transport.get_pipe_transport(0).unwrap();
            assert_eq!(stdin.get_write_buffer_size(), 0);
        });
    }
}

/// `connection_lost` waits for the pipes even after `process_exited`: a
/// grandchild still holds stdout and stderr.
#[test]
fn connection_lost_waits_for_pipes_a_grandchild_holds() {
    for rt in runtimes() {
        rt.block_on(async {
            let run = start(
                Command::shell("sleep 1000 & echo $!").stdin(Stdio::null()),
                |_: &SubprocessTransport| {},
            )
            .await;
            let mut pid = String::new();
            let mut exited = false;
            until(&run.rx, |ev| {
                match ev {
                    Ev::Data(1, d) => pid.push_str(std::str::from_utf8(d).unwrap()),
                    Ev::Exited => exited = true,
                    _ => {}
                }
                exited && pid.ends_with('\n')
            })
            .await;
            // The shell is gone, its grandchild holds the pipes: no end yet.
            assert!(run.transport.get_returncode().unwrap().success());
            let log = run.log.lock().unwrap().clone();
            assert!(
                !log.iter()
                    .any(|e| matches!(e, Ev::Lost(_) | Ev::PipeLost(..))),
                "{log:?}"
            );
            assert!(!run.transport.is_closing());

            let status = Command::new("kill").arg(pid.trim()).status().await.unwrap();
            assert!(status.success());
            run.transport.wait_closed().await;
            let log = run.log.lock().unwrap().clone();
            check_order(&log, &[1, 2]);
            let exited_at = log.iter().position(|e| *e == Ev::Exited).unwrap();
            for fd in [1, 2] {
                let lost_at = log
                    .iter()
                    .position(|e| *e == Ev::PipeLost(fd, None))
                    .unwrap();
                assert!(exited_at < lost_at, "{log:?}");
            }
        });
    }
}

#[test]
fn a_child_closing_its_stdin_is_pipe_connection_lost_then_terminate() {
    for rt in runtimes() {
        rt.block_on(async {
            let run = start(
                &mut Command::shell("exec 0<&-; exec sleep 1000"),
                |_: &SubprocessTransport| {},
            )
            .await;
            until(&run.rx, |ev| *ev == Ev::PipeLost(0, None)).await;
            assert!(run.transport.get_returncode().is_none());
            let stdin = run.transport.get_pipe_transport(0).unwrap();
            assert!(stdin.is_closing());
            assert_eq!(stdin.write(b"x").unwrap_err().kind(), ErrorKind::BrokenPipe);

            run.transport.terminate().unwrap();
            run.transport.wait_closed().await;
            let log = run.log.lock().unwrap().clone();
            check_order(&log, &[0, 1, 2]);
            let status = run.transport.get_returncode().unwrap();
            assert_eq!(status.signal(), Some(SIGTERM.as_raw()));
        });
    }
}

#[test]
fn close_closes_every_pipe_and_kills_the_process() {
    for rt in runtimes() {
        rt.block_on(async {
            let run = start(
                Command::new("sleep").arg("1000"),
                |_: &SubprocessTransport| {},
            )
            .await;
            assert!(!run.transport.is_closing());
            run.transport.close();
            assert!(run.transport.is_closing());
            run.transport.close();
            run.transport.wait_closed().await;
            let log = run.log.lock().unwrap().clone();
            check_order(&log, &[0, 1, 2]);
            for fd in 0..3 {
                assert!(log.contains(&Ev::PipeLost(fd, None)), "{log:?}");
                assert!(run.transport.get_pipe_transport(fd).unwrap().is_closing());
            }
            let status = run.transport.get_returncode().unwrap();
            assert_eq!(status.signal(), Some(SIGKILL.as_raw()));
        });
    }
}

#[test]
fn pipe_transports_refuse_what_asyncio_refuses() {
    for rt in runtimes() {
        rt.block_on(async {
            let run = start(
                Command::new("cat").stderr(Stdio::null()),
                |_: &SubprocessTransport| {},
            )
            .await;
            let t = &run.transport;
            assert!(t.get_pipe_transport(2).is_none());
            assert!(t.get_pipe_transport(3).is_none());
            assert!(t.get_pipe_transport(-1).is_none());
            let stdout = t.get_pipe_transport(1).unwrap();
            assert_eq!(stdout.fd(), 1);
            let err = stdout.write(b"no").unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().contains("get_pipe_transport(0)"), "{err}");
            assert_eq!(
                stdout.write_eof().unwrap_err().kind(),
                ErrorKind::InvalidInput
            );

            let stdin = t.get_pipe_transport(0).unwrap();
            stdin.write(b"data").unwrap();
            stdin.write_eof().unwrap();
            assert_eq!(
                stdin.write(b"late").unwrap_err().kind(),
                ErrorKind::BrokenPipe
            );
            t.wait_closed().await;
            let log = run.log.lock().unwrap().clone();
            let data = check_order(&log, &[0, 1]);
            assert_eq!(data[1], b"data");
        });
    }
}

#[test]
fn closing_stdout_early_reports_it_lost() {
    for rt in runtimes() {
        rt.block_on(async {
            let run = start(
                &mut Command::shell("read x; echo after"),
                |t: &SubprocessTransport| t.get_pipe_transport(1).unwrap().close(),
            )
            .await;
            until(&run.rx, |ev| *ev == Ev::PipeLost(1, None)).await;
            let stdin = run.transport.get_pipe_transport(0).unwrap();
            stdin.write(b"go\n").unwrap();
            stdin.write_eof().unwrap();
            run.transport.wait_closed().await;
            let log = run.log.lock().unwrap().clone();
            check_order(&log, &[0, 1, 2]);
            // `echo after` met the pipe we closed: SIGPIPE.
            let status = run.transport.get_returncode().unwrap();
            assert!(!status.success(), "{status:?}");
        });
    }
}

#[test]
fn no_runtime_or_no_program_is_an_error_and_no_protocol() {
    let made = Arc::new(Mutex::new(0));
    let m = made.clone();
    let err = futures_lite::future::block_on(subprocess_exec(
        move || {
            *m.lock().unwrap() += 1;
            Noop
        },
        &mut Command::new("true"),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("no tulipa runtime"), "{err}");

    tulipa::run(async {
        let m = made.clone();
        let err = subprocess_exec(
            move || {
                *m.lock().unwrap() += 1;
                Noop
            },
            &mut Command::new("nonexistent-prog-13"),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("nonexistent-prog-13"), "{err}");
    });
    assert_eq!(*made.lock().unwrap(), 0);
}

struct Noop;
impl SubprocessProtocol for Noop {}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
    check::<SubprocessTransport>();
    check::<tulipa::process::protocol::PipeTransport>();
}

#[test]
fn a_full_stdin_buffer_pauses_then_resumes_writing() {
    for rt in runtimes() {
        rt.block_on(async {
            let run = start(&mut Command::shell("wc -c"), |t: &SubprocessTransport| {
                let stdin = t.get_pipe_transport(0).unwrap();
                stdin.write(&payload(WRITE_HIGH_WATER)).unwrap();
                stdin.write(&payload(1 << 20)).unwrap();
                stdin.write_eof().unwrap();
            })
            .await;
            run.transport.wait_closed().await;
            let log = run.log.lock().unwrap().clone();
            let data = check_order(&log, &[0, 1, 2]);
            let expected = (WRITE_HIGH_WATER + (1 << 20)).to_string();
            assert_eq!(String::from_utf8_lossy(&data[1]).trim(), expected);
            let at = |ev: Ev| log.iter().position(|e| *e == ev);
            let pause = at(Ev::PauseWriting).expect("pause_writing was called");
            let resume = at(Ev::ResumeWriting).expect("resume_writing was called");
            let stdin_lost = at(Ev::PipeLost(0, None)).unwrap();
            assert!(pause < resume && resume < stdin_lost, "{log:?}");
            let flow = log
                .iter()
                .filter(|e| matches!(e, Ev::PauseWriting | Ev::ResumeWriting))
                .count();
            assert_eq!(flow, 2, "{log:?}");
        });
    }
}

#[test]
fn a_small_write_never_pauses_writing() {
    for rt in runtimes() {
        rt.block_on(async {
            let run = start(&mut Command::new("cat"), |t: &SubprocessTransport| {
                let stdin = t.get_pipe_transport(0).unwrap();
                stdin.write(&payload(WRITE_HIGH_WATER)).unwrap();
                stdin.close();
            })
            .await;
            run.transport.wait_closed().await;
            let log = run.log.lock().unwrap().clone();
            assert_eq!(check_order(&log, &[0, 1, 2])[1].len(), WRITE_HIGH_WATER);
            assert!(!log.contains(&Ev::PauseWriting), "{log:?}");
        });
    }
}

#[test]
fn pause_reading_holds_back_the_data_and_the_end() {
    for rt in runtimes() {
        rt.block_on(async {
            let run = start(
                Command::shell("echo out; echo err >&2").stdin(Stdio::null()),
                |t: &SubprocessTransport| {
                    for fd in [1, 2] {
                        let pipe = t.get_pipe_transport(fd).unwrap();
                        pipe.pause_reading().unwrap();
                        assert!(!pipe.is_reading());
                    }
                },
            )
            .await;
            until(&run.rx, |ev| *ev == Ev::Exited).await;
            // The output sits in the pipes: nothing delivered, no end.
            let log = run.log.lock().unwrap().clone();
            assert_eq!(log, [Ev::Made, Ev::Exited]);
            assert!(!run.transport.is_closing());

            let stdout = run.transport.get_pipe_transport(1).unwrap();
            let stderr = run.transport.get_pipe_transport(2).unwrap();
            stdout.resume_reading().unwrap();
            until(&run.rx, |ev| *ev == Ev::PipeLost(1, None)).await;
            let log = run.log.lock().unwrap().clone();
            assert!(
                !log.iter()
                    .any(|e| matches!(e, Ev::Data(2, _) | Ev::Lost(_))),
                "{log:?}"
            );
            stderr.resume_reading().unwrap();
            run.transport.wait_closed().await;
            let log = run.log.lock().unwrap().clone();
            let data = check_order(&log, &[1, 2]);
            assert_eq!((&data[1][..], &data[2][..]), (&b"out\n"[..], &b"err\n"[..]));
            assert!(!stdout.is_reading());

            let stdin_of_other =
                start(&mut Command::new("true"), |_: &SubprocessTransport| {}).await;
            let stdin = stdin_of_other.transport.get_pipe_transport(0).unwrap();
            let err = stdin.pause_reading().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.to_string().contains("get_pipe_transport(1)"), "{err}");
            assert_eq!(
                stdin.resume_reading().unwrap_err().kind(),
                ErrorKind::InvalidInput
            );
            assert!(!stdin.is_reading());
            stdin_of_other.transport.wait_closed().await;
        });
    }
}

/// Panics in `pipe_data_received`, and counts the callbacks after it.
struct PanicsOnData(Arc<Mutex<usize>>);

impl SubprocessProtocol for PanicsOnData {
    fn pipe_data_received(&mut self, _: i32, _: &[u8]) {
        panic!("a protocol bug (expected by the test)");
    }
    fn pipe_connection_lost(&mut self, _: i32, _: Option<std::io::Error>) {
        *self.0.lock().unwrap() += 1;
    }
    fn process_exited(&mut self) {
        *self.0.lock().unwrap() += 1;
    }
    fn connection_lost(&mut self, _: Option<std::io::Error>) {
        *self.0.lock().unwrap() += 1;
    }
}

#[test]
fn a_panicking_callback_ends_the_driver_but_not_the_runtime() {
    for rt in runtimes() {
        rt.block_on(async {
            let after = Arc::new(Mutex::new(0));
            let a = after.clone();
            let transport = subprocess_exec(
                move || PanicsOnData(a),
                Command::shell("echo boom; exec sleep 1000").stdin(Stdio::null()),
            )
            .await
            .unwrap();
            // Released by the driver's end, not by `connection_lost`.
            transport.wait_closed().await;
            assert!(transport.is_closing());
            for fd in [1, 2] {
                assert!(transport.get_pipe_transport(fd).unwrap().is_closing());
            }
            // The process is still there, and still ours to end.
            transport.kill().unwrap();
            assert_eq!(*after.lock().unwrap(), 0, "no callback after the panic");
            // The runtime carries on.
            let status = Command::new("true").status().await.unwrap();
            assert!(status.success());
        });
    }
}
