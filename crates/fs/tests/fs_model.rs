//! A proptest model of `File`: random sequences of writes, reads, seeks,
//! `set_len` and flushes, checked against a `Vec<u8>` and a position.
//! Sizes straddle the internal buffer (64 KiB growing to 1 MiB).

mod common;

use std::io::{ErrorKind, SeekFrom};

use common::TempDir;
use futures_lite::future::block_on;
use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use proptest::prelude::*;
use tulipa_fs::{File, OpenOptions};

#[derive(Debug, Clone)]
enum Op {
    Write(usize, u8),
    Read(usize),
    /// `fill_buf`, then `consume` up to this many of its bytes.
    FillConsume(usize),
    Seek(SeekFrom),
    SetLen(u64),
    Flush,
}

fn op() -> impl Strategy<Value = Op> {
    let size = prop_oneof![0usize..100, 60_000usize..70_000, 0usize..300_000];
    prop_oneof![
        3 => (size.clone(), any::<u8>()).prop_map(|(n, b)| Op::Write(n, b)),
        3 => size.clone().prop_map(Op::Read),
        1 => size.prop_map(Op::FillConsume),
        2 => prop_oneof![
            (0u64..400_000).prop_map(SeekFrom::Start),
            (-200_000i64..200_000).prop_map(SeekFrom::Current),
            (-200_000i64..1000).prop_map(SeekFrom::End),
        ]
        .prop_map(Op::Seek),
        1 => (0u64..400_000).prop_map(Op::SetLen),
        1 => Just(Op::Flush),
    ]
}

struct Model {
    data: Vec<u8>,
    pos: u64,
}

async fn read_up_to(f: &mut File, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    let mut got = 0;
    while got < n {
        let k = f.read(&mut out[got..]).await.unwrap();
        if k == 0 {
            break;
        }
        got += k;
    }
    out.truncate(got);
    out
}

fn check(ops: Vec<Op>) {
    let dir = TempDir::new("model");
    let path = dir.join("f");
    block_on(async {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .unwrap();
        let mut m = Model {
            data: Vec::new(),
            pos: 0,
        };
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Write(n, b) => {
                    let bytes: Vec<u8> = (0..n).map(|k| b.wrapping_add(k as u8)).collect();
                    f.write_all(&bytes).await.unwrap();
                    let at = m.pos as usize;
                    // A write of nothing extends nothing, even past the end.
                    if n > 0 {
                        if m.data.len() < at + n {
                            m.data.resize(at + n, 0);
                        }
                        m.data[at..at + n].copy_from_slice(&bytes);
                    }
                    m.pos += n as u64;
                }
                Op::Read(n) => {
                    let got = read_up_to(&mut f, n).await;
                    let start = (m.pos as usize).min(m.data.len());
                    let end = (start + n).min(m.data.len());
                    assert!(got == m.data[start..end], "op {i}: read {n} at {}", m.pos);
                    m.pos += got.len() as u64;
                }
                Op::FillConsume(k) => {
                    let start = (m.pos as usize).min(m.data.len());
                    let avail = f.fill_buf().await.unwrap();
                    assert_eq!(
                        avail.is_empty(),
                        start == m.data.len(),
                        "op {i}: fill_buf at end?"
                    );
                    let take = k.min(avail.len());
                    assert!(
                        avail[..take] == m.data[start..start + take],
                        "op {i}: fill_buf"
                    );
                    f.consume(take);
                    m.pos += take as u64;
                }
                Op::Seek(to) => {
                    let target = match to {
                        SeekFrom::Start(k) => Some(k as i64),
                        SeekFrom::Current(d) => Some(m.pos as i64 + d),
                        SeekFrom::End(d) => Some(m.data.len() as i64 + d),
                    }
                    .filter(|t| *t >= 0);
                    match (f.seek(to).await, target) {
                        (Ok(p), Some(t)) => {
                            assert_eq!(p as i64, t, "op {i}: {to:?}");
                            m.pos = p;
                        }
                        (Err(e), None) => assert_eq!(e.kind(), ErrorKind::InvalidInput),
                        (r, t) => panic!("op {i}: seek {to:?} gave {r:?}, model {t:?}"),
                    }
                }
                Op::SetLen(n) => {
                    f.set_len(n).await.unwrap();
                    m.data.resize(n as usize, 0);
                }
                Op::Flush => {
                    f.flush().await.unwrap();
                    assert!(
                        std::fs::read(&path).unwrap() == m.data,
                        "op {i}: after flush"
                    );
                }
            }
        }
        assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), m.pos);
        f.flush().await.unwrap();
        assert!(std::fs::read(&path).unwrap() == m.data, "at the end");
        // And through a fresh reader.
        let mut all = Vec::new();
        File::open(&path)
            .await
            .unwrap()
            .read_to_end(&mut all)
            .await
            .unwrap();
        assert!(all == m.data);
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn file_matches_a_vec_model(ops in proptest::collection::vec(op(), 1..30)) {
        check(ops);
    }
}

/// Regression-style fixed sequence: write past a buffer, seek back into the
/// written range, read across the boundary of what is on disk.
#[test]
fn fixed_sequence_across_buffer_boundaries() {
    check(vec![
        Op::Write(70_000, 1),
        Op::Seek(SeekFrom::Current(-10)),
        Op::Read(20),
        Op::Write(5, 9),
        Op::Seek(SeekFrom::Start(65_530)),
        Op::Read(100),
        Op::SetLen(65_535),
        Op::Read(10),
        Op::Seek(SeekFrom::End(-1)),
        Op::Read(10),
        Op::Flush,
    ]);
}
