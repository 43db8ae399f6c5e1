//! Model test: `Unblock<Cursor<Vec<u8>>>` against a plain `Cursor`, for
//! random reads, writes, seeks and flushes at small buffer capacities.
//! Read-ahead is invisible as documented: a write that follows reads is
//! preceded by `seek(SeekFrom::Current(0))`, which puts the object back
//! where reading stopped.

use std::io::{Cursor, Read, Seek, SeekFrom, Write};

use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use proptest::prelude::*;
use tulipa_blocking::{Pool, Unblock};

#[derive(Debug, Clone)]
enum Op {
    Read(usize),
    Write(Vec<u8>),
    Seek(SeekFrom),
    Flush,
    GetMut,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0usize..20).prop_map(Op::Read),
        // Non-empty: an empty write is a no-op for Unblock, but `Cursor`
        // pads the vector up to its position even then.
        2 => proptest::collection::vec(any::<u8>(), 1..20).prop_map(Op::Write),
        1 => (0u64..50).prop_map(|n| Op::Seek(SeekFrom::Start(n))),
        1 => (-20i64..20).prop_map(|n| Op::Seek(SeekFrom::Current(n))),
        1 => (-20i64..5).prop_map(|n| Op::Seek(SeekFrom::End(n))),
        1 => Just(Op::Flush),
        1 => Just(Op::GetMut),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn unblock_cursor_matches_cursor(
        cap in 1usize..9,
        init in proptest::collection::vec(any::<u8>(), 0..40),
        ops in proptest::collection::vec(op(), 0..25),
    ) {
        let pool = Pool::new(2);
        let _enter = pool.enter();
        let mut model = Cursor::new(init.clone());
        let mut real = Unblock::with_capacity(cap, Cursor::new(init));
        block_on(async {
            let mut last_was_read = false;
            for op in ops {
                match op {
                    Op::Read(n) => {
                        let mut a = vec![0u8; n];
                        let mut b = vec![0u8; n];
                        // read_exact-or-end on both, so short reads do not
                        // make the two differ.
                        let got_m = read_full(&mut model, &mut a);
                        let got_r = read_full_async(&mut real, &mut b).await;
                        prop_assert_eq!(got_m, got_r);
                        prop_assert_eq!(&a[..got_m], &b[..got_r]);
                        last_was_read = true;
                    }
                    Op::Write(data) => {
                        if last_was_read {
                            real.seek(SeekFrom::Current(0)).await.unwrap();
                        }
                        model.write_all(&data).unwrap();
                        real.write_all(&data).await.unwrap();
                        last_was_read = false;
                    }
                    Op::Seek(pos) => {
                        let m = model.seek(pos).map_err(|e| e.kind());
                        let r = real.seek(pos).await.map_err(|e| e.kind());
                        // A failed seek moves nothing: read-ahead stays.
                        last_was_read &= r.is_err();
                        prop_assert_eq!(m, r);
                    }
                    Op::Flush => {
                        real.flush().await.unwrap();
                    }
                    Op::GetMut => {
                        // Stops any job; the bytes read ahead are kept.
                        let _ = real.get_mut().await;
                    }
                }
            }
            if last_was_read {
                real.seek(SeekFrom::Current(0)).await.unwrap();
            }
            real.flush().await.unwrap();
            let real = real.into_inner().await;
            prop_assert_eq!(real.get_ref(), model.get_ref());
            prop_assert_eq!(real.position(), model.position());
            Ok(())
        })?;
        drop(_enter);
        prop_assert_eq!(pool.shutdown_timeout(std::time::Duration::from_secs(10)), 0);
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]).unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}

async fn read_full_async(r: &mut (impl futures_lite::AsyncRead + Unpin), buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]).await.unwrap() {
            0 => break,
            k => n += k,
        }
    }
    n
}
