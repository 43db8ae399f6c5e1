//! The I/O adapters in both directions, on both runtime flavours: tulipa
//! sockets driven through tokio's traits, and tokio-io streams driven
//! through futures-io's. No tokio runtime runs in these tests.

mod support;

use std::io::IoSlice;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tulipa::net::{TcpListener, TcpStream};
use tulipa_compat::{Compat, CompatExt as _, TokioCompatExt as _};

use support::runtimes;

/// A connected loopback pair: (client, server).
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (client, accepted) =
        futures_lite::future::zip(TcpStream::connect(addr), listener.accept()).await;
    (client.unwrap(), accepted.unwrap().0)
}

#[test]
fn tulipa_stream_through_tokio_traits_round_trip() {
    for rt in runtimes() {
        rt.block_on(async {
            let (client, mut server) = pair().await;
            let mut client = client.compat();
            client.write_all(b"ping over tokio-io").await.unwrap();
            let mut got = [0u8; 18];
            server.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"ping over tokio-io");

            server.write_all(b"pong").await.unwrap();
            let mut back = [0u8; 4];
            client.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"pong");
        });
    }
}

#[test]
fn unix_stream_through_tokio_traits_both_ways() {
    for rt in runtimes() {
        rt.block_on(async {
            let (a, b) = tulipa::net::UnixStream::pair().unwrap();
            let (mut a, mut b) = (a.compat(), b.compat());
            let slices = [IoSlice::new(b"over "), IoSlice::new(b"unix")];
            assert_eq!(a.write_vectored(&slices).await.unwrap(), 9);
            a.shutdown().await.unwrap();
            let mut got = Vec::new();
            b.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"over unix");
            b.write_all(b"back").await.unwrap();
            let mut back = [0u8; 4];
            a.read_exact(&mut back).await.unwrap();
            assert_eq!(&back, b"back");
        });
    }
}

#[test]
fn the_descriptor_is_the_stream_s() {
    use std::os::fd::AsRawFd as _;
    tulipa::run(async {
        let (client, _server) = pair().await;
        let fd = client.as_raw_fd();
        assert_eq!(client.compat().as_raw_fd(), fd);
    });
}

#[test]
fn vectored_writes_reach_the_socket_as_one_writev() {
    for rt in runtimes() {
        rt.block_on(async {
            let (client, mut server) = pair().await;
            let mut client = client.compat();
            assert!(AsyncWrite::is_write_vectored(&client));
            let parts: [&[u8]; 3] = [b"head ", b"", b"body and tail"];
            let slices = parts.map(IoSlice::new);
            // A writev of 18 bytes on a fresh loopback socket takes them
            // all; a non-vectored adapter would write only "head ".
            let n = client.write_vectored(&slices).await.unwrap();
            assert_eq!(n, 18);
            let mut got = [0u8; 18];
            server.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"head body and tail");
        });
    }
}

#[test]
fn write_vectored_hint_can_be_turned_off() {
    tulipa::run(async {
        let (client, _server) = pair().await;
        let client = client.compat().with_write_vectored(false);
        assert!(!AsyncWrite::is_write_vectored(&client));
    });
}

#[test]
fn shutdown_closes_the_write_direction_and_reading_goes_on() {
    for rt in runtimes() {
        rt.block_on(async {
            let (client, mut server) = pair().await;
            let mut client = client.compat();
            client.write_all(b"last words").await.unwrap();
            client.shutdown().await.unwrap();

            // The peer reads what was sent, then end of file.
            let mut all = Vec::new();
            server.read_to_end(&mut all).await.unwrap();
            assert_eq!(all, b"last words");

            // The shut-down side still reads.
            server.write_all(b"reply").await.unwrap();
            let mut reply = [0u8; 5];
            client.read_exact(&mut reply).await.unwrap();
            assert_eq!(&reply, b"reply");
        });
    }
}

#[test]
fn reads_into_uninitialized_spare_capacity() {
    for rt in runtimes() {
        rt.block_on(async {
            let (client, mut server) = pair().await;
            let mut client = client.compat();
            server.write_all(&[7u8; 100]).await.unwrap();
            server.close().await.unwrap();

            // `read_buf` hands over the Vec's spare capacity as an
            // uninitialized ReadBuf.
            let mut buf: Vec<u8> = Vec::with_capacity(64);
            let mut total = 0;
            for _ in 0..200 {
                buf.clear();
                let n = client.read_buf(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                assert!(n <= 64);
                assert!(buf.iter().all(|&b| b == 7));
                total += n;
            }
            assert_eq!(total, 100);

            // A ReadBuf that is already full reads nothing and says so.
            let mut none: [u8; 0] = [];
            let mut full = ReadBuf::new(&mut none);
            let polled = std::future::poll_fn(|cx| {
                Poll::Ready(tokio::io::AsyncRead::poll_read(
                    Pin::new(&mut client),
                    cx,
                    &mut full,
                ))
            })
            .await;
            assert!(matches!(polled, Poll::Ready(Ok(()))));
            assert_eq!(full.filled().len(), 0);
        });
    }
}

#[test]
fn buffered_tulipa_reader_serves_tokio_read_line() {
    for rt in runtimes() {
        rt.block_on(async {
            let (client, mut server) = pair().await;
            let mut lines = futures_lite::io::BufReader::new(client).compat();
            server.write_all(b"first\nsecond\n").await.unwrap();
            server.close().await.unwrap();
            let mut line = String::new();
            tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut line)
                .await
                .unwrap();
            assert_eq!(line, "first\n");
            line.clear();
            tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut line)
                .await
                .unwrap();
            assert_eq!(line, "second\n");
            line.clear();
            let n = tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut line)
                .await
                .unwrap();
            assert_eq!(n, 0);
        });
    }
}

#[test]
fn tokio_stream_through_futures_io_traits() {
    for rt in runtimes() {
        rt.block_on(async {
            // tokio's in-memory pipe needs no runtime; its wakers are
            // tulipa's here.
            let (a, b) = tokio::io::duplex(8);
            let mut a = a.compat();
            let b = tokio::io::BufReader::new(b).compat();
            let writer = tulipa::spawn(async move {
                // More than the pipe holds: the writer must wait for the
                // reader, through tulipa's wakers.
                a.write_all(b"one\ntwo two two\nthree\n").await.unwrap();
                a.close().await.unwrap();
            });
            let mut lines = Vec::new();
            let mut reader = b;
            for _ in 0..10 {
                let mut line = String::new();
                if reader.read_line(&mut line).await.unwrap() == 0 {
                    break;
                }
                lines.push(line);
            }
            assert_eq!(lines, ["one\n", "two two two\n", "three\n"]);
            writer.await.unwrap();
        });
    }
}

/// A tokio writer that records the shape of each call it gets.
#[derive(Default)]
struct Recorder {
    calls: Vec<(&'static str, usize)>,
    bytes: Vec<u8>,
    shut: bool,
}

impl AsyncWrite for Recorder {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.calls.push(("write", 1));
        self.bytes.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        self.calls.push(("write_vectored", bufs.len()));
        let mut n = 0;
        for b in bufs {
            self.bytes.extend_from_slice(b);
            n += b.len();
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.shut = true;
        Poll::Ready(Ok(()))
    }
}

#[test]
fn futures_io_vectored_write_and_close_reach_the_tokio_writer() {
    tulipa::run(async {
        let mut w = Compat::new(Recorder::default());
        let slices = [IoSlice::new(b"ab"), IoSlice::new(b"cd"), IoSlice::new(b"e")];
        let n = futures_lite::AsyncWriteExt::write_vectored(&mut w, &slices)
            .await
            .unwrap();
        assert_eq!(n, 5);
        futures_lite::AsyncWriteExt::close(&mut w).await.unwrap();
        let rec = w.into_inner();
        assert_eq!(rec.calls, [("write_vectored", 3)]);
        assert_eq!(rec.bytes, b"abcde");
        assert!(rec.shut, "poll_close must reach poll_shutdown");
    });
}

#[test]
fn compat_is_send_sync_unpin_when_the_stream_is() {
    fn check<T: Send + Sync + Unpin>() {}
    check::<Compat<TcpStream>>();
    check::<Compat<tokio::io::DuplexStream>>();
}
