//! StreamReader and StreamWriter over in-memory and chunked sources: lines,
//! separators, limits, EOF, errors, water marks.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::io::{AsyncRead, AsyncWrite};
use futures_lite::AsyncReadExt;
use tulipa_net::stream::{IncompleteRead, LimitOverrun};
use tulipa_net::{StreamReader, StreamWriter};

/// Yields its data in chunks of at most `chunk` bytes per read.
struct Chunked {
    data: Vec<u8>,
    pos: usize,
    chunk: usize,
}

impl AsyncRead for Chunked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let n = self.chunk.min(buf.len()).min(self.data.len() - self.pos);
        let pos = self.pos;
        buf[..n].copy_from_slice(&self.data[pos..pos + n]);
        self.pos += n;
        Poll::Ready(Ok(n))
    }
}

fn chunked(data: &[u8], chunk: usize) -> StreamReader<Chunked> {
    StreamReader::new(Chunked {
        data: data.to_vec(),
        pos: 0,
        chunk,
    })
}

fn run<F: std::future::Future<Output = io::Result<()>>>(f: F) {
    futures_lite::future::block_on(f).unwrap();
}

#[test]
fn reader_and_writer_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<StreamReader<tulipa_net::tcp::OwnedReadHalf>>();
    check::<StreamWriter<tulipa_net::tcp::OwnedWriteHalf>>();
    check::<tulipa_net::stream::Server>();
    check::<LimitOverrun>();
    check::<IncompleteRead>();
}

#[test]
fn lines_across_chunk_boundaries() {
    run(async {
        for chunk in [1, 2, 3, 7, 100] {
            let mut r = chunked(b"one\ntwo\n\nthree", chunk);
            assert_eq!(r.read_line().await?, b"one\n");
            assert_eq!(r.read_line().await?, b"two\n");
            assert_eq!(r.read_line().await?, b"\n");
            assert!(!r.at_eof());
            assert_eq!(r.read_line().await?, b"three");
            assert!(r.at_eof());
            assert_eq!(r.read_line().await?, b"");
        }
        Ok(())
    });
}

#[test]
fn read_until_multibyte_separator_split_across_reads() {
    run(async {
        for chunk in [1, 2, 3, 5] {
            let mut r = chunked(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody", chunk);
            let head = r.read_until(b"\r\n\r\n").await?;
            assert_eq!(head, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            assert_eq!(r.read_exact(4).await?, b"body");
            // End of file is known only once a read returns 0.
            assert_eq!(r.read(1).await?, b"");
            assert!(r.at_eof());
        }
        Ok(())
    });
}

#[test]
fn read_until_at_eof_hands_back_the_partial_data() {
    run(async {
        let mut r = chunked(b"no separator here", 4);
        let err = r.read_until(b"\n").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(err.to_string().contains("without the separator"), "{err}");
        let inc = IncompleteRead::try_from_io(err).unwrap();
        assert_eq!(inc.partial, b"no separator here");
        assert_eq!(inc.expected, None);
        assert!(r.at_eof());
        let err = r.read_until(b"").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        Ok(())
    });
}

#[test]
fn read_exact_and_incomplete_read() {
    run(async {
        let mut r = chunked(b"abcdefg", 2);
        assert_eq!(r.read_exact(3).await?, b"abc");
        assert_eq!(r.read_exact(0).await?, b"");
        let err = r.read_exact(10).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let inc = IncompleteRead::from_io(&err).unwrap();
        assert_eq!(inc.partial, b"defg");
        assert_eq!(inc.expected, Some(10));
        assert!(r.at_eof());
        Ok(())
    });
}

#[test]
fn read_n_returns_what_is_buffered_or_one_read() {
    run(async {
        let mut r = chunked(b"0123456789", 4);
        assert_eq!(r.read(100).await?, b"0123");
        assert_eq!(r.read(2).await?, b"45");
        assert_eq!(r.read(100).await?, b"67");
        assert_eq!(r.read_to_end().await?, b"89");
        assert_eq!(r.read(5).await?, b"");
        assert!(r.at_eof());
        Ok(())
    });
}

#[test]
fn read_until_overrun_keeps_the_data_readable() {
    run(async {
        let mut long = vec![b'x'; 100];
        long.extend_from_slice(b"\nshort\n");
        let mut r = StreamReader::with_limit(
            Chunked {
                data: long,
                pos: 0,
                chunk: 16,
            },
            32,
        );
        assert_eq!(r.limit(), 32);
        let err = r.read_until(b"\n").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let lo = LimitOverrun::from_io(&err).unwrap();
        assert_eq!(lo.limit, 32);
        assert!(lo.consumed > 32, "{lo:?}");
        assert!(err.to_string().contains("limit of 32 bytes"), "{err}");
        // Nothing was consumed: the long line is still there.
        assert!(r.buffer().len() > 32 && r.buffer().iter().all(|&b| b == b'x'));
        r.set_limit(1000);
        let line = r.read_line().await?;
        assert_eq!(line.len(), 101);
        assert_eq!(r.read_line().await?, b"short\n");
        Ok(())
    });
}

/// Issue 13: asyncio's limit counts the bytes before the separator.
#[test]
fn a_line_of_exactly_limit_bytes_plus_its_separator_is_accepted() {
    run(async {
        for chunk in [1, 3, 100] {
            let mut r = StreamReader::with_limit(
                Chunked {
                    data: b"01234\n56789\r\n012345\n".to_vec(),
                    pos: 0,
                    chunk,
                },
                5,
            );
            assert_eq!(r.read_line().await?, b"01234\n");
            assert_eq!(r.read_until(b"\r\n").await?, b"56789\r\n");
            let err = r.read_line().await.unwrap_err();
            assert!(LimitOverrun::from_io(&err).is_some(), "{err}");
        }
        Ok(())
    });
}

/// Issue 13: as asyncio's `readline`, an overlong line whose `\n` was
/// found is consumed whole, so the next `read_line` returns the next line.
#[test]
fn read_line_after_an_overrun_returns_the_next_line() {
    run(async {
        let mut r = StreamReader::with_limit(&b"0123456789\nnext\n"[..], 5);
        let err = r.read_line().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let lo = LimitOverrun::from_io(&err).unwrap();
        assert_eq!(
            (lo.consumed, lo.limit),
            (10, 5),
            "asyncio's consumed: where the separator is"
        );
        assert!(err.to_string().contains("dropped"), "{err}");
        assert_eq!(r.read_line().await?, b"next\n");
        assert_eq!(r.read_line().await?, b"");
        assert!(r.at_eof());
        Ok(())
    });
}

/// Issue 13: when more than `limit` bytes arrived without a `\n`, asyncio's
/// `readline` drops what is buffered; the rest of that line, read later, is
/// what the next call returns.
#[test]
fn read_line_overrun_without_the_separator_drops_what_is_buffered() {
    run(async {
        let mut r = StreamReader::with_limit(
            Chunked {
                data: b"aaaaaaaaaa\nok\n".to_vec(),
                pos: 0,
                chunk: 4,
            },
            4,
        );
        let err = r.read_line().await.unwrap_err();
        let lo = LimitOverrun::from_io(&err).unwrap();
        // Two reads of 4: 8 bytes searched, more than the limit.
        assert_eq!(lo.consumed, 8);
        assert!(r.buffer().is_empty(), "the searched part is dropped");
        assert_eq!(r.read_line().await?, b"aa\n", "the tail of the long line");
        assert_eq!(r.read_line().await?, b"ok\n");
        Ok(())
    });
}

#[test]
fn separator_found_past_the_limit_is_an_overrun_and_read_until_keeps_it() {
    run(async {
        let mut r = StreamReader::with_limit(&b"0123456789\n"[..], 5);
        let err = r.read_until(b"\n").await.unwrap_err();
        let lo = LimitOverrun::from_io(&err).unwrap();
        assert_eq!(lo.consumed, 10);
        assert!(err.to_string().contains("still buffered"), "{err}");
        assert_eq!(r.read(100).await?, b"0123456789\n");
        Ok(())
    });
}

/// Issue 13: `at_eof` is true as soon as the end has arrived and the buffer
/// is empty, so asyncio's `while not at_eof(): readline()` loop gets no
/// extra empty line.
#[test]
fn at_eof_after_the_last_line_without_another_read_call() {
    run(async {
        for chunk in [1, 4, 100] {
            let mut r = chunked(b"one\ntwo\n", chunk);
            let mut lines = Vec::new();
            while !r.at_eof() {
                lines.push(r.read_line().await?);
                assert!(lines.len() <= 3, "{lines:?}");
            }
            assert_eq!(lines, [&b"one\n"[..], b"two\n"], "chunk {chunk}");
        }
        Ok(())
    });
}

/// Pending once (waking itself), then an error: what `at_eof`'s read meets
/// is kept for the next read.
struct FailsOnce(bool);

impl AsyncRead for FailsOnce {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        _buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if std::mem::replace(&mut self.0, true) {
            Poll::Ready(Ok(0))
        } else {
            Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()))
        }
    }
}

#[test]
fn an_error_met_by_at_eof_goes_to_the_next_read() {
    run(async {
        let mut r = StreamReader::new(FailsOnce(false));
        assert!(!r.at_eof());
        let err = r.read_line().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(r.read_line().await?, b"");
        assert!(r.at_eof());
        Ok(())
    });
}

/// Issue 13: the water marks are validated as asyncio's
/// `set_write_buffer_limits` (`ValueError` when high < low).
#[test]
fn write_buffer_limits_follow_asyncio_and_refuse_low_above_high() {
    let mut w = StreamWriter::new(Vec::<u8>::new());
    assert_eq!(w.write_buffer_limits(), (16 * 1024, 64 * 1024));
    w.set_write_buffer_limits(Some(1000), None).unwrap();
    assert_eq!(w.write_buffer_limits(), (250, 1000));
    w.set_write_buffer_limits(None, Some(100)).unwrap();
    assert_eq!(w.write_buffer_limits(), (100, 400));
    let err = w.set_write_buffer_limits(Some(10), Some(20)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("high=10 and low=20"), "{err}");
    assert_eq!(
        w.write_buffer_limits(),
        (100, 400),
        "unchanged after an error"
    );
    w.set_write_buffer_limits(Some(0), Some(0)).unwrap();
    assert_eq!(w.write_buffer_limits(), (0, 0));
    w.set_write_buffer_limits(None, None).unwrap();
    assert_eq!(w.write_buffer_limits(), (16 * 1024, 64 * 1024));
}

#[test]
fn default_limit_is_64_kib() {
    run(async {
        let mut data = vec![b'a'; 64 * 1024 + 10];
        data.push(b'\n');
        let mut r = chunked(&data, 8192);
        assert_eq!(r.limit(), 64 * 1024);
        let err = r.read_line().await.unwrap_err();
        assert!(LimitOverrun::from_io(&err).is_some());
        let mut ok = vec![b'a'; 1000];
        ok.push(b'\n');
        let mut r = chunked(&ok, 100);
        assert_eq!(r.read_line().await?, ok);
        Ok(())
    });
}

#[test]
fn async_read_and_buf_read_share_the_buffer() {
    run(async {
        let mut r = chunked(b"line\nrest of it", 3);
        assert_eq!(r.read_line().await?, b"line\n");
        let mut rest = String::new();
        r.read_to_string(&mut rest).await?;
        assert_eq!(rest, "rest of it");
        let mut r = chunked(b"a\nb\n", 1);
        let mut s = String::new();
        futures_lite::io::AsyncBufReadExt::read_line(&mut r, &mut s).await?;
        assert_eq!(s, "a\n");
        assert_eq!(r.read_line().await?, b"b\n");
        Ok(())
    });
}

#[test]
#[should_panic(expected = "at least 1 byte")]
fn zero_limit_panics() {
    let _ = StreamReader::with_limit(&b""[..], 0);
}

/// Accepts at most `room` bytes, then says Pending until `room` grows.
struct Slow {
    got: Vec<u8>,
    room: usize,
    fail: bool,
}

impl AsyncWrite for Slow {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.fail {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, "peer gone")));
        }
        if self.room == 0 {
            // Refill a little each time we are polled with a real waker.
            self.room = 10;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let n = self.room.min(buf.len());
        self.got.extend_from_slice(&buf[..n]);
        self.room -= n;
        Poll::Ready(Ok(n))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[test]
fn writer_sends_at_once_buffers_the_rest_and_drains_to_low_water() {
    run(async {
        let mut w = StreamWriter::new(Slow {
            got: Vec::new(),
            room: 5,
            fail: false,
        });
        w.set_write_buffer_limits(Some(100), Some(20))?;
        assert_eq!(w.write_buffer_limits(), (20, 100));
        w.write(b"0123456789")?;
        assert_eq!(w.get_ref().got, b"01234", "what fits goes out at once");
        assert_eq!(w.buffer_size(), 5);
        // Under the high mark: drain does not wait.
        w.drain().await?;
        w.write(&[b'z'; 200])?;
        let before = w.buffer_size();
        assert!(before > 100);
        w.drain().await?;
        assert!(
            w.buffer_size() <= 20,
            "drained to low water: {}",
            w.buffer_size()
        );
        w.flush().await?;
        assert_eq!(w.buffer_size(), 0);
        let mut want = b"0123456789".to_vec();
        want.extend_from_slice(&[b'z'; 200]);
        assert_eq!(w.get_ref().got, want, "order kept, nothing lost");
        Ok(())
    });
}

#[test]
fn writer_close_and_errors() {
    run(async {
        let mut w = StreamWriter::new(Vec::new());
        assert!(!w.can_write_eof());
        let err = w.write_eof().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        w.write(b"x")?;
        w.close();
        assert!(w.is_closing());
        let err = w.write(b"y").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        w.wait_closed().await?;
        w.wait_closed().await?;
        assert_eq!(w.get_ref(), b"x");

        let mut w = StreamWriter::new(Slow {
            got: Vec::new(),
            room: 0,
            fail: true,
        });
        // The synchronous write meets the error; drain reports it.
        w.write(b"abc")?;
        let err = w.drain().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
        assert!(w.write(b"more").is_err(), "a failed writer stays failed");
        assert!(w.drain().await.is_err());
        Ok(())
    });
}

/// Says `Interrupted` on every other read, data in between.
struct Interrupting {
    data: Vec<u8>,
    pos: usize,
    interrupt_next: bool,
}

impl AsyncRead for Interrupting {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if std::mem::replace(&mut self.interrupt_next, false) {
            return Poll::Ready(Err(io::ErrorKind::Interrupted.into()));
        }
        self.interrupt_next = true;
        let n = 3.min(buf.len()).min(self.data.len() - self.pos);
        let pos = self.pos;
        buf[..n].copy_from_slice(&self.data[pos..pos + n]);
        self.pos += n;
        Poll::Ready(Ok(n))
    }
}

#[test]
fn an_interrupted_read_is_retried_not_taken_for_end_of_file() {
    run(async {
        let source = || Interrupting {
            data: b"hello\nworld\n".to_vec(),
            pos: 0,
            interrupt_next: false,
        };
        let mut r = StreamReader::new(source());
        assert_eq!(r.read_line().await?, b"hello\n");
        assert_eq!(r.read_line().await?, b"world\n");
        assert_eq!(r.read_line().await?, b"");
        assert!(r.at_eof());

        let mut r = StreamReader::new(source());
        assert_eq!(r.read_exact(12).await?, b"hello\nworld\n");

        let mut r = StreamReader::new(source());
        assert_eq!(r.read_to_end().await?, b"hello\nworld\n");

        let mut r = StreamReader::new(source());
        let mut got = Vec::new();
        loop {
            let chunk = r.read(100).await?;
            if chunk.is_empty() {
                break;
            }
            got.extend(chunk);
        }
        assert_eq!(got, b"hello\nworld\n");
        Ok(())
    });
}
