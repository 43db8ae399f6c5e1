//! `File`: round trips through the buffer, files larger than the buffer,
//! read-after-write and write-after-read, seeks, append, set_len, sync,
//! std conversions, and writes that outlive a dropped file.

mod common;

use std::io::SeekFrom;

use common::{pattern, TempDir};
use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tulipa_fs::{File, OpenOptions};

fn rw(path: &std::path::Path) -> OpenOptions {
    let _ = path;
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true);
    o
}

#[test]
fn small_round_trip() {
    let dir = TempDir::new("small");
    let path = dir.join("f");
    block_on(async {
        let mut f = File::create(&path).await.unwrap();
        f.write_all(b"hello ").await.unwrap();
        f.write_all(b"world").await.unwrap();
        f.flush().await.unwrap();
        // Flushed bytes are visible to other readers.
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");

        let mut s = String::new();
        File::open(&path)
            .await
            .unwrap()
            .read_to_string(&mut s)
            .await
            .unwrap();
        assert_eq!(s, "hello world");
    });
}

#[test]
fn unflushed_writes_are_not_yet_visible_then_flush_shows_them() {
    let dir = TempDir::new("buffered");
    let path = dir.join("f");
    block_on(async {
        let mut f = File::create(&path).await.unwrap();
        f.write_all(b"abc").await.unwrap();
        // Three bytes sit in the buffer: no blocking write yet.
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        f.flush().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
    });
}

#[test]
fn large_file_round_trip_in_small_and_odd_chunks() {
    let dir = TempDir::new("large");
    let path = dir.join("big");
    let data = pattern(5 * 1024 * 1024 + 12_345, 7);
    block_on(async {
        let mut f = File::create(&path).await.unwrap();
        // Odd-sized writes cross every buffer boundary.
        for chunk in data.chunks(1000 + 7) {
            f.write_all(chunk).await.unwrap();
        }
        f.flush().await.unwrap();
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap(), data);

        let mut f = File::open(&path).await.unwrap();
        let mut back = Vec::new();
        let mut chunk = vec![0u8; 4093];
        loop {
            let n = f.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            back.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(back.len(), data.len());
        assert!(back == data);

        // One big read_to_end too.
        let mut f = File::open(&path).await.unwrap();
        let mut all = Vec::new();
        f.read_to_end(&mut all).await.unwrap();
        assert!(all == data);
    });
}

#[test]
fn eof_is_sticky_and_repeatable() {
    let dir = TempDir::new("eof");
    let path = dir.join("f");
    std::fs::write(&path, b"xy").unwrap();
    block_on(async {
        let mut f = File::open(&path).await.unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(f.read(&mut buf).await.unwrap(), 2);
        assert_eq!(f.read(&mut buf).await.unwrap(), 0);
        assert_eq!(f.read(&mut buf).await.unwrap(), 0);
        // Data added by someone else becomes readable.
        std::fs::write(&path, b"xyz").unwrap();
        assert_eq!(f.read(&mut buf).await.unwrap(), 1);
        assert_eq!(buf[0], b'z');
        assert_eq!(f.read(&mut []).await.unwrap(), 0);
    });
}

#[test]
fn read_after_write_sees_the_buffered_bytes() {
    let dir = TempDir::new("raw");
    let path = dir.join("f");
    block_on(async {
        let mut f = rw(&path).open(&path).await.unwrap();
        f.write_all(b"0123456789").await.unwrap();
        // The position is at the end: nothing to read yet.
        let mut buf = [0u8; 4];
        assert_eq!(f.read(&mut buf).await.unwrap(), 0);
        assert_eq!(std::fs::read(&path).unwrap(), b"0123456789");
        f.seek(SeekFrom::Start(2)).await.unwrap();
        f.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"2345");
    });
}

#[test]
fn write_after_read_lands_at_the_logical_position() {
    let dir = TempDir::new("war");
    let path = dir.join("f");
    let data = pattern(300_000, 3);
    std::fs::write(&path, &data).unwrap();
    block_on(async {
        let mut f = rw(&path).open(&path).await.unwrap();
        let mut head = [0u8; 10];
        // The read fills the buffer far beyond these 10 bytes.
        f.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, &data[..10]);
        f.write_all(b"XYZ").await.unwrap();
        assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), 13);
        let mut next = [0u8; 5];
        f.read_exact(&mut next).await.unwrap();
        assert_eq!(&next, &data[13..18]);
        f.flush().await.unwrap();
    });
    let mut expect = data.clone();
    expect[10..13].copy_from_slice(b"XYZ");
    assert!(std::fs::read(&path).unwrap() == expect);
}

#[test]
fn seeks_relative_to_read_ahead_and_buffered_writes() {
    let dir = TempDir::new("seek");
    let path = dir.join("f");
    let data = pattern(200_000, 9);
    std::fs::write(&path, &data).unwrap();
    block_on(async {
        let mut f = rw(&path).open(&path).await.unwrap();
        let mut b = [0u8; 100];
        f.read_exact(&mut b).await.unwrap();
        // Current is counted from the logical position, not the OS one.
        assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), 100);
        assert_eq!(f.seek(SeekFrom::Current(-50)).await.unwrap(), 50);
        f.read_exact(&mut b[..10]).await.unwrap();
        assert_eq!(&b[..10], &data[50..60]);
        assert_eq!(f.seek(SeekFrom::End(-1)).await.unwrap(), 199_999);
        let mut last = [0u8; 2];
        assert_eq!(f.read(&mut last).await.unwrap(), 1);
        assert_eq!(last[0], data[199_999]);
        // Past the end is allowed; a write there leaves a hole of zeros.
        assert_eq!(f.seek(SeekFrom::End(10)).await.unwrap(), 200_010);
        f.write_all(b"end").await.unwrap();
        // A seek writes out the buffer first.
        assert_eq!(f.seek(SeekFrom::Start(0)).await.unwrap(), 0);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 200_013);
        // Before the start: the OS error, and the file stays usable.
        let err = f.seek(SeekFrom::Current(-1)).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), 0);
        f.read_exact(&mut b[..4]).await.unwrap();
        assert_eq!(&b[..4], &data[..4]);
    });
    let on_disk = std::fs::read(&path).unwrap();
    assert_eq!(&on_disk[200_000..200_010], &[0u8; 10]);
    assert_eq!(&on_disk[200_010..], b"end");
}

#[test]
fn append_mode_writes_at_the_end() {
    let dir = TempDir::new("append");
    let path = dir.join("log");
    std::fs::write(&path, b"first\n").unwrap();
    block_on(async {
        let mut f = OpenOptions::new().append(true).open(&path).await.unwrap();
        f.write_all(b"second\n").await.unwrap();
        f.seek(SeekFrom::Start(0)).await.unwrap();
        f.write_all(b"third\n").await.unwrap();
        f.close().await.unwrap();
    });
    assert_eq!(std::fs::read(&path).unwrap(), b"first\nsecond\nthird\n");
}

#[test]
fn set_len_metadata_and_sync() {
    let dir = TempDir::new("setlen");
    let path = dir.join("f");
    block_on(async {
        let mut f = rw(&path).open(&path).await.unwrap();
        f.write_all(&pattern(10_000, 1)).await.unwrap();
        // metadata writes out the buffer first, so the size is current.
        assert_eq!(f.metadata().await.unwrap().len(), 10_000);
        f.set_len(100).await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 100);
        // set_len does not move the position (10_000): a write there
        // extends the file again, with a hole.
        f.write_all(b"!").await.unwrap();
        f.sync_all().await.unwrap();
        f.sync_data().await.unwrap();
        assert_eq!(f.metadata().await.unwrap().len(), 10_001);

        // After reading ahead, set_len must not hand out stale bytes.
        f.seek(SeekFrom::Start(0)).await.unwrap();
        let mut b = [0u8; 10];
        f.read_exact(&mut b).await.unwrap();
        f.set_len(20).await.unwrap();
        let mut rest = Vec::new();
        f.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest.len(), 10);
        assert_eq!(&rest[..], &pattern(10_000, 1)[10..20]);

        let mut perm = f.metadata().await.unwrap().permissions();
        perm.set_readonly(true);
        f.set_permissions(perm).await.unwrap();
        assert!(std::fs::metadata(&path).unwrap().permissions().readonly());
    });
}

#[test]
fn set_len_on_a_read_only_file_fails_and_the_file_stays_usable() {
    let dir = TempDir::new("setlen-ro");
    let path = dir.join("f");
    std::fs::write(&path, b"abc").unwrap();
    block_on(async {
        let mut f = File::open(&path).await.unwrap();
        let err = f.set_len(0).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let mut s = String::new();
        f.read_to_string(&mut s).await.unwrap();
        assert_eq!(s, "abc");
    });
}

#[test]
fn write_to_a_read_only_file_reports_the_error_on_flush() {
    let dir = TempDir::new("write-ro");
    let path = dir.join("f");
    std::fs::write(&path, b"abc").unwrap();
    block_on(async {
        let mut f = File::open(&path).await.unwrap();
        // Accepted into the buffer: the OS has not been asked yet.
        assert_eq!(f.write(b"zz").await.unwrap(), 2);
        let err = f.flush().await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(9), "EBADF, got {err}");
        // Reported once; the file goes on.
        f.flush().await.unwrap();
    });
    assert_eq!(std::fs::read(&path).unwrap(), b"abc");
}

#[test]
fn std_conversions_keep_the_logical_position() {
    let dir = TempDir::new("std");
    let path = dir.join("f");
    let data = pattern(100_000, 5);
    std::fs::write(&path, &data).unwrap();
    block_on(async {
        use std::io::{Read, Seek};
        let mut f = File::open(&path).await.unwrap();
        let mut b = [0u8; 10];
        f.read_exact(&mut b).await.unwrap();
        let mut std_file = f.into_std().await.unwrap();
        assert_eq!(std_file.stream_position().unwrap(), 10);

        let mut f = File::from_std(std_file);
        f.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, &data[10..20]);
        let mut std_file = f.try_into_std().unwrap();
        assert_eq!(std_file.stream_position().unwrap(), 20);
        let mut x = [0u8; 1];
        std_file.read_exact(&mut x).unwrap();
        assert_eq!(x[0], data[20]);

        // Pending writes: try_into_std refuses, into_std writes them out.
        let mut w = rw(&path).open(&path).await.unwrap();
        w.write_all(b"Q").await.unwrap();
        let w = w.try_into_std().unwrap_err();
        let w = w.into_std().await.unwrap();
        drop(w);
        assert_eq!(std::fs::read(&path).unwrap()[0], b'Q');
    });
}

#[test]
fn dropped_unflushed_file_is_written_in_the_background() {
    let dir = TempDir::new("drop");
    block_on(async {
        let mut expect = Vec::new();
        for i in 0..20 {
            let path = dir.join(&format!("f{i}"));
            let data = pattern(1000 * i + 1, i as u8);
            let mut f = File::create(&path).await.unwrap();
            f.write_all(&data).await.unwrap();
            drop(f);
            expect.push((path, data));
        }
        // A big one, whose earlier buffers went out while writing.
        let big = dir.join("big");
        let data = pattern(3 * 1024 * 1024 + 17, 99);
        let mut f = File::create(&big).await.unwrap();
        f.write_all(&data).await.unwrap();
        drop(f);
        expect.push((big, data));

        tulipa_fs::settle().await.unwrap();
        for (path, data) in expect {
            assert!(std::fs::read(&path).unwrap() == data, "{}", path.display());
        }
    });
}

#[test]
fn concurrent_files_from_many_threads() {
    let dir = TempDir::new("concurrent");
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let p = dir.join(&format!("f{i}"));
            std::thread::spawn(move || {
                block_on(async {
                    let data = pattern(70_000 + i, i as u8);
                    let mut f = File::create(&p).await.unwrap();
                    f.write_all(&data).await.unwrap();
                    f.sync_data().await.unwrap();
                    drop(f);
                    assert!(tulipa_fs::read(&p).await.unwrap() == data);
                    i
                })
            })
        })
        .collect();
    let sum: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(sum, (0..16).sum());
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<File>();
    send_sync::<OpenOptions>();
    send_sync::<tulipa_fs::ReadDir>();
    send_sync::<tulipa_fs::DirEntry>();
    send_sync::<tulipa_fs::Stdin>();
    send_sync::<tulipa_fs::Stdout>();
    send_sync::<tulipa_fs::Stderr>();
    send_sync::<tulipa_fs::PathError>();
    let dir = TempDir::new("send");
    let p = dir.join("x");
    send(&File::create(&p));
    send(&tulipa_fs::read(&p));
    send(&tulipa_fs::read_dir(&p));
    send(&tulipa_fs::settle());
    fn send<T: Send>(_: &T) {}
}

#[test]
fn file_is_its_own_buffered_reader() {
    use futures_lite::{AsyncBufReadExt, StreamExt};
    let dir = TempDir::new("bufread");
    let path = dir.join("lines");
    let text: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    std::fs::write(&path, &text).unwrap();
    block_on(async {
        let f = File::open(&path).await.unwrap();
        let lines: Vec<String> = f.lines().map(Result::unwrap).collect().await;
        assert_eq!(lines.len(), 20_000);
        assert_eq!(lines[12_345], "line 12345");

        // read_line, then a plain read continues right after the line.
        let mut f = File::open(&path).await.unwrap();
        let mut first = String::new();
        f.read_line(&mut first).await.unwrap();
        assert_eq!(first, "line 0\n");
        let mut next = [0u8; 7];
        f.read_exact(&mut next).await.unwrap();
        assert_eq!(&next, b"line 1\n");
        // A write after buffered reading lands at the logical position.
        let mut f = rw(&path).open(&path).await.unwrap();
        let mut l = String::new();
        f.read_line(&mut l).await.unwrap();
        f.write_all(b"LINE").await.unwrap();
        f.flush().await.unwrap();
    });
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .starts_with("line 0\nLINE 1\n"));
}
