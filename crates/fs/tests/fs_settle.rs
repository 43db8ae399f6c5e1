//! `settle`: it waits for background writes of dropped files, and reports
//! the errors no file was left to report. In its own test binary, so no
//! other test's background errors reach these `settle` calls.

mod common;

use std::io::Read;
use std::process::Command;
use std::task::Poll;

use common::{pattern, TempDir};
use futures_lite::future::{block_on, poll_once};
use futures_lite::AsyncWriteExt;
use tulipa_fs::{File, OpenOptions};

/// `settle` is process-wide: these tests take turns so one's errors do not
/// reach the other's `settle`.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn settle_reports_the_error_of_a_dropped_files_background_write() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = TempDir::new("drop-fail");
    let path = dir.join("f");
    std::fs::write(&path, b"abc").unwrap();
    block_on(async {
        let mut f = File::open(&path).await.unwrap(); // read-only
        f.write_all(b"lost").await.unwrap();
        drop(f);
        let err = tulipa_fs::settle().await.unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&format!("`{}`", path.display())), "{msg}");
        assert!(msg.contains("after the File was dropped"), "{msg}");
        // Reported once.
        tulipa_fs::settle().await.unwrap();
    });
    assert_eq!(std::fs::read(&path).unwrap(), b"abc");
}

#[test]
fn settle_waits_for_a_blocked_background_write() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = TempDir::new("fifo");
    let fifo = dir.join("fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    // Opening one end of a FIFO blocks until the other end opens.
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::File::open(fifo).unwrap())
    };
    // A pipe holds 64 KiB. The first 60,000 bytes go in at the flush; the
    // next 60,000 stay in the file's buffer (below its 64 KiB size) until
    // the drop, and their background write blocks until the reader drains
    // the pipe.
    let data = pattern(120_000, 4);
    block_on(async {
        let mut f = OpenOptions::new().write(true).open(&fifo).await.unwrap();
        f.write_all(&data[..60_000]).await.unwrap();
        f.flush().await.unwrap();
        f.write_all(&data[60_000..]).await.unwrap();
        drop(f);
    });
    let mut settle = Box::pin(tulipa_fs::settle());
    assert!(block_on(poll_once(&mut settle)).is_none());
    let mut reader = reader.join().unwrap();
    let mut got = Vec::new();
    reader.read_to_end(&mut got).unwrap();
    assert!(got == data);
    assert!(matches!(
        block_on(poll_once(&mut settle)).map(Poll::Ready),
        Some(Poll::Ready(Ok(())))
    ));
}
