//! Model test of StreamReader: random data, random read sizes from the
//! source, random operations, checked against a plain cursor over the
//! whole stream.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_lite::io::AsyncRead;
use proptest::prelude::*;
use tulipa_net::stream::{IncompleteRead, LimitOverrun};
use tulipa_net::StreamReader;

/// Reads its data in the given chunk sizes, cycling; sometimes returns
/// `Pending` first (waking itself) to exercise re-polls.
struct Source {
    data: Vec<u8>,
    pos: usize,
    chunks: Vec<usize>,
    turn: usize,
    pending_every: usize,
}

impl AsyncRead for Source {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.turn += 1;
        if self.pending_every > 0 && self.turn.is_multiple_of(self.pending_every) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let chunk = self.chunks[self.turn % self.chunks.len()];
        let n = chunk.min(buf.len()).min(self.data.len() - self.pos);
        let pos = self.pos;
        buf[..n].copy_from_slice(&self.data[pos..pos + n]);
        self.pos += n;
        Poll::Ready(Ok(n))
    }
}

#[derive(Debug, Clone)]
enum Op {
    Read(usize),
    ReadExact(usize),
    ReadLine,
    ReadUntil(Vec<u8>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..40).prop_map(Op::Read),
        (0usize..40).prop_map(Op::ReadExact),
        Just(Op::ReadLine),
        prop::collection::vec(prop_oneof![Just(b'a'), Just(b'\n'), Just(b'b')], 1..3)
            .prop_map(Op::ReadUntil),
    ]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn reader_matches_a_cursor_model(
        data in prop::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'\n'), any::<u8>()], 0..300),
        chunks in prop::collection::vec(1usize..50, 1..5),
        pending_every in prop_oneof![Just(0usize), 2usize..4],
        limit in 1usize..60,
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let mut reader = StreamReader::with_limit(
            Source { data: data.clone(), pos: 0, chunks, turn: 0, pending_every },
            limit,
        );
        let mut cursor = 0usize;
        futures_lite::future::block_on(async {
            for op in ops {
                let rest = &data[cursor..];
                match op {
                    Op::Read(n) => {
                        let got = reader.read(n).await.unwrap();
                        prop_assert!(got.len() <= n);
                        prop_assert_eq!(&got[..], &rest[..got.len()]);
                        if n > 0 && !rest.is_empty() {
                            prop_assert!(!got.is_empty(), "read(n) returned nothing before EOF");
                        }
                        cursor += got.len();
                    }
                    Op::ReadExact(n) => match reader.read_exact(n).await {
                        Ok(got) => {
                            prop_assert!(rest.len() >= n);
                            prop_assert_eq!(&got[..], &rest[..n]);
                            cursor += n;
                        }
                        Err(e) => {
                            prop_assert!(rest.len() < n);
                            let inc = IncompleteRead::try_from_io(e).unwrap();
                            prop_assert_eq!(&inc.partial[..], rest);
                            cursor = data.len();
                        }
                    },
                    Op::ReadLine | Op::ReadUntil(_) => {
                        let (sep, line_mode) = match &op {
                            Op::ReadUntil(s) => (s.clone(), false),
                            _ => (b"\n".to_vec(), true),
                        };
                        let res = if line_mode {
                            reader.read_line().await
                        } else {
                            reader.read_until(&sep).await
                        };
                        // asyncio's rule: the limit counts the data before
                        // the separator; with no separator, an overrun once
                        // more than `limit + 1 - len(sep)` bytes are searched.
                        let overrun = match find(rest, &sep) {
                            Some(i) => i > limit,
                            None => (rest.len() + 1).saturating_sub(sep.len()) > limit,
                        };
                        match find(rest, &sep) {
                            Some(i) if !overrun => {
                                let got = res.unwrap();
                                prop_assert_eq!(&got[..], &rest[..i + sep.len()]);
                                cursor += got.len();
                            }
                            _ if overrun => {
                                let e = res.unwrap_err();
                                let lo = LimitOverrun::from_io(&e).unwrap();
                                if line_mode {
                                    // readline drops the line when its end
                                    // was buffered, else all that was read.
                                    let read = reader.get_ref().pos - cursor;
                                    if read == lo.consumed {
                                        prop_assert!(reader.buffer().is_empty());
                                        prop_assert!(!rest[..read].contains(&b'\n'));
                                        cursor += read;
                                    } else {
                                        prop_assert_eq!(rest[lo.consumed], b'\n');
                                        cursor += lo.consumed + 1;
                                    }
                                }
                            }
                            None if line_mode => {
                                let got = res.unwrap();
                                prop_assert_eq!(&got[..], rest);
                                cursor = data.len();
                            }
                            _ => {
                                let e = res.unwrap_err();
                                let inc = IncompleteRead::try_from_io(e).unwrap();
                                prop_assert_eq!(&inc.partial[..], rest);
                                cursor = data.len();
                            }
                        }
                    }
                }
                if reader.at_eof() {
                    prop_assert_eq!(cursor, data.len());
                }
                // What is buffered is always the next part of the stream.
                let buffered = reader.buffer();
                prop_assert_eq!(buffered, &data[cursor..cursor + buffered.len()]);
            }
            Ok(())
        })?;
    }
}
