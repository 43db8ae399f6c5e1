//! A bounded byte pipe between an async side and a pool thread, used by
//! [`Unblock`](crate::Unblock).
//!
//! One `Mutex` guards the bytes, the two "closed" flags and one waker per
//! side. A side that cannot progress (reader: pipe empty and writer open;
//! writer: pipe full and reader open) stores its waker and returns
//! `Pending`; the other side takes and wakes that waker after it moves
//! bytes or closes. Wakers are woken after the lock is released. The pool
//! thread drives its end with `futures_lite::future::block_on`, so it parks
//! while waiting.
//!
//! Dropping either end closes it. A writer whose reader is gone gets
//! `Err(Closed)` and stops; a reader whose writer is gone drains what is
//! left, then reads end-of-stream (0).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

struct State {
    buf: VecDeque<u8>,
    cap: usize,
    reader_closed: bool,
    writer_closed: bool,
    reader_waker: Option<Waker>,
    writer_waker: Option<Waker>,
}

struct Pipe {
    state: Mutex<State>,
}

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The reading end.
pub(crate) struct Reader(Arc<Pipe>);

/// The writing end.
pub(crate) struct Writer(Arc<Pipe>);

/// The other end is closed.
#[derive(Debug)]
pub(crate) struct Closed;

/// A pipe holding at most `cap` bytes (at least 1).
pub(crate) fn pipe(cap: usize) -> (Reader, Writer) {
    let pipe = Arc::new(Pipe {
        state: Mutex::new(State {
            buf: VecDeque::new(),
            cap: cap.max(1),
            reader_closed: false,
            writer_closed: false,
            reader_waker: None,
            writer_waker: None,
        }),
    });
    (Reader(pipe.clone()), Writer(pipe))
}

fn store(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

impl Reader {
    /// Moves up to `out.len()` bytes out of the pipe; `Ready(0)` at the end
    /// of the stream (writer closed and pipe drained) or if `out` is empty.
    pub(crate) fn poll_read(&mut self, cx: &mut Context<'_>, out: &mut [u8]) -> Poll<usize> {
        let mut st = self.0.lock();
        if st.buf.is_empty() {
            if st.writer_closed || out.is_empty() {
                return Poll::Ready(0);
            }
            store(&mut st.reader_waker, cx);
            return Poll::Pending;
        }
        let n = out.len().min(st.buf.len());
        let (a, b) = st.buf.as_slices();
        let from_a = n.min(a.len());
        out[..from_a].copy_from_slice(&a[..from_a]);
        out[from_a..n].copy_from_slice(&b[..n - from_a]);
        st.buf.drain(..n);
        let waker = st.writer_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Poll::Ready(n)
    }

    /// Closes the reading end and takes the bytes still in the pipe; the
    /// writer gets `Closed` from then on.
    pub(crate) fn close_and_take(self) -> Vec<u8> {
        let mut st = self.0.lock();
        st.reader_closed = true;
        let left = Vec::from(std::mem::take(&mut st.buf));
        let waker = st.writer_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        left
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.reader_closed = true;
        let waker = st.writer_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Writer {
    /// Moves up to `data.len()` bytes into the pipe, as many as fit.
    pub(crate) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<Result<usize, Closed>> {
        let mut st = self.0.lock();
        if st.reader_closed {
            return Poll::Ready(Err(Closed));
        }
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let room = st.cap - st.buf.len();
        if room == 0 {
            store(&mut st.writer_waker, cx);
            return Poll::Pending;
        }
        let n = room.min(data.len());
        st.buf.extend(&data[..n]);
        let waker = st.reader_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Poll::Ready(Ok(n))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.writer_closed = true;
        let waker = st.reader_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::{block_on, poll_fn};

    #[test]
    fn bytes_flow_and_end_of_stream() {
        let (mut r, mut w) = pipe(4);
        let n = block_on(poll_fn(|cx| w.poll_write(cx, b"abcdef"))).unwrap();
        assert_eq!(n, 4, "only cap bytes fit");
        let mut out = [0; 3];
        assert_eq!(block_on(poll_fn(|cx| r.poll_read(cx, &mut out))), 3);
        assert_eq!(&out, b"abc");
        let n = block_on(poll_fn(|cx| w.poll_write(cx, b"ef"))).unwrap();
        assert_eq!(n, 2);
        drop(w);
        let mut out = [0; 8];
        assert_eq!(block_on(poll_fn(|cx| r.poll_read(cx, &mut out))), 3);
        assert_eq!(&out[..3], b"def");
        assert_eq!(block_on(poll_fn(|cx| r.poll_read(cx, &mut out))), 0);
    }

    #[test]
    fn writer_sees_closed_reader_and_reader_takes_rest() {
        let (r, mut w) = pipe(8);
        block_on(poll_fn(|cx| w.poll_write(cx, b"xyz"))).unwrap();
        assert_eq!(r.close_and_take(), b"xyz");
        assert!(block_on(poll_fn(|cx| w.poll_write(cx, b"q"))).is_err());
    }

    #[test]
    fn blocked_writer_is_woken_across_threads() {
        let (mut r, mut w) = pipe(2);
        let t = std::thread::spawn(move || {
            let mut sent = 0;
            let data = [7u8; 100];
            while sent < data.len() {
                sent += block_on(poll_fn(|cx| w.poll_write(cx, &data[sent..]))).unwrap();
            }
        });
        let mut got = 0;
        let mut out = [0; 3];
        loop {
            let n = block_on(poll_fn(|cx| r.poll_read(cx, &mut out)));
            if n == 0 {
                break;
            }
            assert!(out[..n].iter().all(|&b| b == 7));
            got += n;
        }
        t.join().unwrap();
        assert_eq!(got, 100);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Write(Vec<u8>),
        Read(usize),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..12).prop_map(Op::Write),
            (0usize..12).prop_map(Op::Read),
        ]
    }

    proptest::proptest! {
        /// Single-threaded, polled once each: the pipe behaves like a
        /// bounded FIFO of bytes (writes take what fits, reads take what is
        /// there, Pending exactly when nothing can move), and closing the
        /// writer delivers the rest, then end of stream.
        #[test]
        fn pipe_matches_a_bounded_fifo(cap in 1usize..10, ops in proptest::collection::vec(op(), 0..60)) {
            let (mut r, mut w) = pipe(cap);
            let mut model: VecDeque<u8> = VecDeque::new();
            let waker = futures_lite::future::block_on(poll_fn(|cx| Poll::Ready(cx.waker().clone())));
            let mut cx = Context::from_waker(&waker);
            for op in ops {
                match op {
                    Op::Write(data) => {
                        let room = cap - model.len();
                        match w.poll_write(&mut cx, &data) {
                            Poll::Ready(Ok(n)) => {
                                proptest::prop_assert_eq!(n, room.min(data.len()));
                                proptest::prop_assert!(n > 0 || data.is_empty());
                                model.extend(&data[..n]);
                            }
                            Poll::Ready(Err(Closed)) => proptest::prop_assert!(false, "reader is open"),
                            Poll::Pending => proptest::prop_assert!(room == 0 && !data.is_empty()),
                        }
                    }
                    Op::Read(len) => {
                        let mut out = vec![0u8; len];
                        match r.poll_read(&mut cx, &mut out) {
                            Poll::Ready(n) => {
                                proptest::prop_assert_eq!(n, len.min(model.len()));
                                let expected: Vec<u8> = model.drain(..n).collect();
                                proptest::prop_assert_eq!(&out[..n], &expected[..]);
                            }
                            Poll::Pending => proptest::prop_assert!(model.is_empty() && len > 0),
                        }
                    }
                }
            }
            drop(w);
            let mut rest = Vec::new();
            loop {
                let mut out = [0u8; 5];
                match r.poll_read(&mut cx, &mut out) {
                    Poll::Ready(0) => break,
                    Poll::Ready(n) => rest.extend_from_slice(&out[..n]),
                    Poll::Pending => proptest::prop_assert!(false, "a closed pipe never blocks"),
                }
            }
            proptest::prop_assert_eq!(rest, Vec::from(model));
        }
    }
}
