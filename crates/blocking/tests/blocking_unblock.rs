//! `Unblock<T>`: round trips larger than the buffer, seeking with read-ahead,
//! error and panic reporting, get_mut / into_inner, flush on drop.

use std::io::{self, Cursor, Read, SeekFrom, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_lite::future::{self, block_on};
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tulipa_blocking::Unblock;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

struct TempPath(std::path::PathBuf);

impl TempPath {
    fn new(tag: &str) -> TempPath {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        TempPath(
            std::env::temp_dir().join(format!("tulipa-blocking-{tag}-{}-{n}", std::process::id())),
        )
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn file_round_trip_larger_than_buffer() {
    let path = TempPath::new("round");
    let data = pattern(1 << 20);
    block_on(async {
        let mut w = Unblock::with_capacity(1000, std::fs::File::create(&path.0).unwrap());
        assert_eq!(w.capacity(), 1000);
        // Many small writes, one big one.
        for chunk in data[..10_000].chunks(37) {
            w.write_all(chunk).await.unwrap();
        }
        w.write_all(&data[10_000..]).await.unwrap();
        w.flush().await.unwrap();
        // Flushed: the file holds everything now.
        assert_eq!(std::fs::metadata(&path.0).unwrap().len(), data.len() as u64);
        drop(w);

        let mut r = Unblock::with_capacity(777, std::fs::File::open(&path.0).unwrap());
        let mut got = vec![0u8; 100];
        r.read_exact(&mut got).await.unwrap();
        assert_eq!(got, data[..100]);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, data[100..]);
        // At the end, reads keep returning 0.
        assert_eq!(r.read(&mut [0u8; 8]).await.unwrap(), 0);
    });
}

#[test]
fn socket_pair_round_trip() {
    let (a, b) = UnixStream::pair().unwrap();
    let data = pattern(300_000);
    let expected = data.clone();
    block_on(async move {
        let mut w = Unblock::with_capacity(4096, a);
        let mut r = Unblock::with_capacity(1000, b);
        let writer = async move {
            w.write_all(&data).await.unwrap();
            w.close().await.unwrap();
            // Shut the socket down so the reader sees end of stream.
            w.get_mut()
                .await
                .shutdown(std::net::Shutdown::Write)
                .unwrap();
        };
        let reader = async move {
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            got
        };
        let ((), got) = future::zip(writer, reader).await;
        assert_eq!(got, expected);
    });
}

#[test]
fn seek_accounts_for_read_ahead() {
    let data: Vec<u8> = (0..100u8).collect();
    block_on(async {
        let mut f = Unblock::with_capacity(16, Cursor::new(data.clone()));
        let mut two = [0u8; 2];
        f.read_exact(&mut two).await.unwrap();
        assert_eq!(two, [0, 1]);
        // The read job has read ahead, but Current is relative to what
        // was returned.
        assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), 2);
        let mut three = [0u8; 3];
        f.read_exact(&mut three).await.unwrap();
        assert_eq!(three, [2, 3, 4]);
        assert_eq!(f.seek(SeekFrom::Current(10)).await.unwrap(), 15);
        f.read_exact(&mut two).await.unwrap();
        assert_eq!(two, [15, 16]);
        assert_eq!(f.seek(SeekFrom::Start(50)).await.unwrap(), 50);
        f.read_exact(&mut two).await.unwrap();
        assert_eq!(two, [50, 51]);
        assert_eq!(f.seek(SeekFrom::End(-1)).await.unwrap(), 99);
        f.read_exact(&mut [0u8; 1]).await.unwrap();
        assert_eq!(f.read(&mut two).await.unwrap(), 0);
        // A seek error comes back as an error.
        assert!(f.seek(SeekFrom::Current(-1000)).await.is_err());
    });
}

#[test]
fn write_after_read_and_seek_lands_where_reading_stopped() {
    block_on(async {
        let mut f = Unblock::with_capacity(8, Cursor::new(vec![b'.'; 20]));
        let mut three = [0u8; 3];
        f.read_exact(&mut three).await.unwrap();
        f.seek(SeekFrom::Current(0)).await.unwrap();
        f.write_all(b"XY").await.unwrap();
        f.flush().await.unwrap();
        let inner = f.into_inner().await.into_inner();
        assert_eq!(&inner[..6], b"...XY.");
    });
}

#[test]
fn get_mut_while_reading_keeps_read_ahead_bytes() {
    let data = pattern(5000);
    block_on(async {
        let mut f = Unblock::with_capacity(64, Cursor::new(data.clone()));
        let mut first = [0u8; 10];
        f.read_exact(&mut first).await.unwrap();
        // The object's own position is ahead by the read-ahead.
        let pos = f.get_mut().await.position();
        assert!(pos >= 10, "{pos}");
        // Reading on continues exactly where it stopped.
        let mut rest = Vec::new();
        f.read_to_end(&mut rest).await.unwrap();
        assert_eq!(first, data[..10]);
        assert_eq!(rest, data[10..]);
    });
}

#[test]
fn into_inner_writes_buffered_bytes() {
    let out = block_on(async {
        let mut sink = Unblock::with_capacity(3, Vec::new());
        sink.write_all(b"hello world").await.unwrap();
        sink.into_inner().await
    });
    assert_eq!(out, b"hello world");
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn dropping_without_flush_still_writes() {
    let sink = Shared::default();
    block_on(async {
        let mut w = Unblock::with_capacity(4, sink.clone());
        w.write_all(b"abcdefghij").await.unwrap();
    });
    let start = Instant::now();
    while sink.0.lock().unwrap().len() < 10 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "buffered bytes were lost"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(&*sink.0.lock().unwrap(), b"abcdefghij");
}

/// Accepts `limit` bytes, then fails; optionally fails on flush.
struct Failing {
    limit: usize,
    written: usize,
    fail_flush: bool,
}

impl Write for Failing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written >= self.limit {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "disk full"));
        }
        let n = buf.len().min(self.limit - self.written);
        self.written += n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.fail_flush {
            Err(io::Error::other("flush failed"))
        } else {
            Ok(())
        }
    }
}

#[test]
fn write_error_reaches_writer() {
    block_on(async {
        let mut w = Unblock::with_capacity(
            8,
            Failing {
                limit: 20,
                written: 0,
                fail_flush: false,
            },
        );
        let mut err = None;
        for _ in 0..100 {
            match w.write_all(b"0123456789").await {
                Ok(()) => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        let err = match err {
            Some(e) => e,
            // All accepted into the buffer: flush must report it.
            None => w.flush().await.unwrap_err(),
        };
        assert_eq!(err.kind(), io::ErrorKind::StorageFull, "{err}");
        assert_eq!(w.get_mut().await.written, 20);
    });
}

#[test]
fn flush_error_reaches_flush() {
    block_on(async {
        let mut w = Unblock::new(Failing {
            limit: 100,
            written: 0,
            fail_flush: true,
        });
        w.write_all(b"abc").await.unwrap();
        let e = w.flush().await.unwrap_err();
        assert_eq!(e.to_string(), "flush failed");
    });
}

#[test]
fn error_found_by_get_mut_is_returned_by_next_call() {
    block_on(async {
        let mut w = Unblock::new(Failing {
            limit: 100,
            written: 0,
            fail_flush: true,
        });
        w.write_all(b"abc").await.unwrap();
        assert_eq!(w.get_mut().await.written, 3);
        let e = w.write_all(b"d").await.unwrap_err();
        assert_eq!(e.to_string(), "flush failed");
        // Reported once.
        w.write_all(b"d").await.unwrap();
        assert!(w.flush().await.is_err(), "flush fails every time here");
    });
}

/// Yields `good` bytes, then an error.
struct BadRead {
    good: usize,
}

impl Read for BadRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.good == 0 {
            return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
        }
        let n = buf.len().min(self.good);
        buf[..n].fill(1);
        self.good -= n;
        Ok(n)
    }
}

#[test]
fn read_error_after_data() {
    block_on(async {
        let mut r = Unblock::with_capacity(4, BadRead { good: 10 });
        let mut got = Vec::new();
        let e = r.read_to_end(&mut got).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(got, vec![1; 10]);
    });
}

struct PanicRead;

impl Read for PanicRead {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        panic!("read exploded")
    }
}

#[test]
fn panic_in_blocking_call_is_an_error_and_loses_the_object() {
    block_on(async {
        let mut r = Unblock::new(PanicRead);
        let e = r.read(&mut [0u8; 4]).await.unwrap_err();
        assert!(e.to_string().contains("read exploded"), "{e}");
        let e = r.read(&mut [0u8; 4]).await.unwrap_err();
        assert!(e.to_string().contains("lost"), "{e}");
        assert!(format!("{r:?}").contains("lost"));
    });
}

#[test]
fn empty_buffers_do_nothing() {
    block_on(async {
        let mut f = Unblock::new(Cursor::new(vec![1u8, 2, 3]));
        assert_eq!(f.read(&mut []).await.unwrap(), 0);
        assert_eq!(f.write(&[]).await.unwrap(), 0);
        assert!(format!("{f:?}").contains("idle"));
        let mut all = Vec::new();
        f.read_to_end(&mut all).await.unwrap();
        assert_eq!(all, [1, 2, 3]);
    });
}

#[test]
fn cancelled_read_future_loses_no_bytes() {
    let data = pattern(10_000);
    block_on(async {
        let mut f = Unblock::with_capacity(100, Cursor::new(data.clone()));
        let mut got = Vec::new();
        let mut buf = [0u8; 33];
        loop {
            // Poll each read once before possibly dropping it.
            let once = future::poll_once(f.read(&mut buf)).await;
            match once {
                Some(Ok(0)) => break,
                Some(Ok(n)) => got.extend_from_slice(&buf[..n]),
                Some(Err(e)) => panic!("{e}"),
                None => future::yield_now().await,
            }
        }
        assert_eq!(got, data);
    });
}
