//! `gather!` and `try_gather!`: a fixed number of futures of different
//! types, run concurrently in the calling task, outputs in a tuple.
//!
//! Each future sits in a [`MaybeDone`] slot inside one struct (no
//! allocation). With a handful of futures, polling every unfinished one on
//! each wake-up is cheaper than per-future wakers, so that is what these do;
//! for many futures of one type use [`gather`](super::gather).
//!
//! Pinning: the slots are structurally pinned fields of the combinator; a
//! slot's future is dropped in place when it finishes (the slot becomes
//! `Done(output)`), and only outputs are ever moved out.

use std::fmt;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future, or its output once it has finished, or nothing once the output
/// was taken. Used by [`gather!`](crate::gather!); public only for the
/// macro.
#[doc(hidden)]
pub enum MaybeDone<F: Future> {
    /// Still running.
    Future(F),
    /// Finished; the output waits to be taken.
    Done(F::Output),
    /// The output was taken, or the future was dropped.
    Gone,
}

impl<F: Future> MaybeDone<F> {
    /// Polls the future if it is still running; true once it has an output.
    pub fn poll_done(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        // SAFETY: the future inside `Future(f)` is never moved: it is polled
        // through a pin built from its place here, and when it finishes
        // the assignment below drops it in place before writing the output.
        // `MaybeDone` is only ever used pinned, so that place is stable.
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Future(f) => {
                // SAFETY: see above: `f` is pinned because `self` is.
                let f = unsafe { Pin::new_unchecked(f) };
                match f.poll(cx) {
                    Poll::Ready(out) => {
                        *this = MaybeDone::Done(out);
                        true
                    }
                    Poll::Pending => false,
                }
            }
            MaybeDone::Done(_) => true,
            MaybeDone::Gone => false,
        }
    }

    /// The output, if the future finished and it was not taken yet.
    pub fn output_mut(self: Pin<&mut Self>) -> Option<&mut F::Output> {
        // SAFETY: only the output is handed out; the output is not pinned
        // (pinning covers the future, which a `Done` slot no longer holds).
        match unsafe { self.get_unchecked_mut() } {
            MaybeDone::Done(out) => Some(out),
            _ => None,
        }
    }

    /// Takes the output out, leaving `Gone`.
    pub fn take_output(self: Pin<&mut Self>) -> Option<F::Output> {
        // SAFETY: a `Done` slot holds no future, so moving its contents out
        // moves nothing pinned; any other slot is left untouched.
        let this = unsafe { self.get_unchecked_mut() };
        match this {
            MaybeDone::Done(_) => match mem::replace(this, MaybeDone::Gone) {
                MaybeDone::Done(out) => Some(out),
                _ => None,
            },
            _ => None,
        }
    }

    /// Drops the future (or output) in place, leaving `Gone`.
    pub fn drop_in_place(self: Pin<&mut Self>) {
        // Dropping a pinned value in place is allowed; `set` does that.
        let mut this = self;
        this.set(MaybeDone::Gone);
    }
}

impl<F: Future> fmt::Debug for MaybeDone<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MaybeDone::Future(_) => "MaybeDone::Future",
            MaybeDone::Done(_) => "MaybeDone::Done",
            MaybeDone::Gone => "MaybeDone::Gone",
        })
    }
}

/// The future of [`gather!`](crate::gather!): a tuple of slots, outputs in
/// a tuple.
#[doc(hidden)]
#[must_use = "futures do nothing unless awaited"]
pub struct GatherTuple<S> {
    slots: S,
}

/// The future of [`try_gather!`](crate::try_gather!): a tuple of slots of
/// fallible futures; the first `Err` drops the rest.
#[doc(hidden)]
#[must_use = "futures do nothing unless awaited"]
pub struct TryGatherTuple<S> {
    slots: S,
}

impl<S> fmt::Debug for GatherTuple<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GatherTuple")
    }
}

impl<S> fmt::Debug for TryGatherTuple<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TryGatherTuple")
    }
}

/// Builds the combinators from a tuple of futures (what the macros call).
#[doc(hidden)]
pub trait IntoGatherTuple {
    /// The `gather!` future.
    type Gather;
    /// Wraps the futures for `gather!`.
    fn into_gather(self) -> Self::Gather;
}

/// Builds the `try_gather!` combinator from a tuple of fallible futures.
#[doc(hidden)]
pub trait IntoTryGatherTuple {
    /// The `try_gather!` future.
    type TryGather;
    /// Wraps the futures for `try_gather!`.
    fn into_try_gather(self) -> Self::TryGather;
}

macro_rules! impl_tuple {
    ($($F:ident $T:ident $i:tt),+) => {
        impl<$($F: Future),+> IntoGatherTuple for ($($F,)+) {
            type Gather = GatherTuple<($(MaybeDone<$F>,)+)>;
            fn into_gather(self) -> Self::Gather {
                GatherTuple { slots: ($(MaybeDone::Future(self.$i),)+) }
            }
        }

        impl<$($F: Future),+> Future for GatherTuple<($(MaybeDone<$F>,)+)> {
            type Output = ($($F::Output,)+);

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                // SAFETY: the slots are structurally pinned: they are never
                // moved out of `self` (only through `MaybeDone`'s pinned
                // methods, which move outputs, never futures).
                let slots = unsafe { &mut self.get_unchecked_mut().slots };
                let mut all = true;
                $(
                    // SAFETY: as above, `slots.$i` stays where it is.
                    all &= unsafe { Pin::new_unchecked(&mut slots.$i) }.poll_done(cx);
                )+
                if !all {
                    return Poll::Pending;
                }
                Poll::Ready(($(
                    // SAFETY: as above.
                    unsafe { Pin::new_unchecked(&mut slots.$i) }
                        .take_output()
                        .expect("gather! polled after it returned its output"),
                )+))
            }
        }

        impl<E, $($F, $T),+> IntoTryGatherTuple for ($($F,)+)
        where
            $($F: Future<Output = Result<$T, E>>),+
        {
            type TryGather = TryGatherTuple<($(MaybeDone<$F>,)+)>;
            fn into_try_gather(self) -> Self::TryGather {
                TryGatherTuple { slots: ($(MaybeDone::Future(self.$i),)+) }
            }
        }

        impl<E, $($F, $T),+> Future for TryGatherTuple<($(MaybeDone<$F>,)+)>
        where
            $($F: Future<Output = Result<$T, E>>),+
        {
            type Output = Result<($($T,)+), E>;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                // SAFETY: as in `GatherTuple::poll`: the slots never move.
                let slots = unsafe { &mut self.get_unchecked_mut().slots };
                let mut all = true;
                let mut failed = false;
                $(
                    if !failed {
                        // SAFETY: as above.
                        let mut slot = unsafe { Pin::new_unchecked(&mut slots.$i) };
                        if slot.as_mut().poll_done(cx) {
                            failed = matches!(slot.as_mut().output_mut(), Some(Err(_)));
                        } else {
                            all = false;
                        }
                    }
                )+
                if failed {
                    let mut error = None;
                    $(
                        // SAFETY: as above.
                        let mut slot = unsafe { Pin::new_unchecked(&mut slots.$i) };
                        if error.is_none() && matches!(slot.as_mut().output_mut(), Some(Err(_))) {
                            if let Some(Err(e)) = slot.as_mut().take_output() {
                                error = Some(e);
                            }
                        }
                        slot.drop_in_place();
                    )+
                    return Poll::Ready(Err(error.expect("the failing future's error")));
                }
                if !all {
                    return Poll::Pending;
                }
                Poll::Ready(Ok(($(
                    // SAFETY: as above.
                    match unsafe { Pin::new_unchecked(&mut slots.$i) }.take_output() {
                        Some(Ok(v)) => v,
                        _ => panic!("try_gather! polled after it returned its output"),
                    },
                )+)))
            }
        }
    };
}

impl_tuple!(A TA 0);
impl_tuple!(A TA 0, B TB 1);
impl_tuple!(A TA 0, B TB 1, C TC 2);
impl_tuple!(A TA 0, B TB 1, C TC 2, D TD 3);
impl_tuple!(A TA 0, B TB 1, C TC 2, D TD 3, G TG 4);
impl_tuple!(A TA 0, B TB 1, C TC 2, D TD 3, G TG 4, H TH 5);
impl_tuple!(A TA 0, B TB 1, C TC 2, D TD 3, G TG 4, H TH 5, I TI 6);
impl_tuple!(A TA 0, B TB 1, C TC 2, D TD 3, G TG 4, H TH 5, I TI 6, J TJ 7);
impl_tuple!(A TA 0, B TB 1, C TC 2, D TD 3, G TG 4, H TH 5, I TI 6, J TJ 7, K TK 8);
impl_tuple!(A TA 0, B TB 1, C TC 2, D TD 3, G TG 4, H TH 5, I TI 6, J TJ 7, K TK 8, L TL 9);
impl_tuple!(A TA 0, B TB 1, C TC 2, D TD 3, G TG 4, H TH 5, I TI 6, J TJ 7, K TK 8, L TL 9, M TM 10);
impl_tuple!(A TA 0, B TB 1, C TC 2, D TD 3, G TG 4, H TH 5, I TI 6, J TJ 7, K TK 8, L TL 9, M TM 10, N TN 11);

/// Runs up to 12 futures of any types concurrently in the calling task and
/// returns their outputs as a tuple, in argument order (asyncio's
/// `gather(a, b, c)`).
///
/// Every unfinished future is polled on each wake-up, which is the cheapest
/// choice for a few futures; for many futures of one type use
/// [`combinators::gather`](crate::combinators::gather).
///
/// # Cancel safety
///
/// Dropping the future drops every future it still holds.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let (n, s) = tulipa_executor::gather!(async { 1 }, async { "two" }).await;
/// assert_eq!((n, s), (1, "two"));
/// # });
/// ```
#[macro_export]
macro_rules! gather {
    ($($future:expr),+ $(,)?) => {
        $crate::combinators::IntoGatherTuple::into_gather((
            $(::core::future::IntoFuture::into_future($future),)+
        ))
    };
}

/// Like [`gather!`], for futures that return `Result<_, E>` with one error
/// type: the first `Err` drops every other future and is returned;
/// otherwise the values come back as a tuple in argument order.
///
/// # Cancel safety
///
/// Dropping the future drops every future it still holds.
///
/// # Examples
///
/// ```
/// # futures_lite::future::block_on(async {
/// let ok = tulipa_executor::try_gather!(async { Ok::<_, String>(1) }, async { Ok("two") }).await;
/// assert_eq!(ok, Ok((1, "two")));
/// let err = tulipa_executor::try_gather!(
///     async { Ok::<u8, _>(1) },
///     async { Err::<u8, _>("boom".to_string()) },
/// )
/// .await;
/// assert_eq!(err, Err("boom".to_string()));
/// # });
/// ```
#[macro_export]
macro_rules! try_gather {
    ($($future:expr),+ $(,)?) => {
        $crate::combinators::IntoTryGatherTuple::into_try_gather((
            $(::core::future::IntoFuture::into_future($future),)+
        ))
    };
}
