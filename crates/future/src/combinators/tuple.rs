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
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

pin_project! {
    /// A future, or its output once it has finished, or nothing once the
    /// output was taken. Used by [`gather!`](crate::gather!); public only for
    /// the macro.
    #[doc(hidden)]
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    pub enum MaybeDone<F: Future> {
        /// Still running.
        Future { #[pin] future: F },
        /// Finished; the output waits to be taken.
        Done { output: F::Output },
        /// The output was taken, or the future was dropped.
        Gone,
    }
}

impl<F: Future> MaybeDone<F> {
    /// Wraps a future that has not run yet.
    pub fn new(future: F) -> MaybeDone<F> {
        MaybeDone::Future { future }
    }

    /// Polls the future if it is still running; true once it has an output.
    pub fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        match self.as_mut().project() {
            MaybeDoneProj::Future { future } => match future.poll(cx) {
                Poll::Ready(output) => {
                    // Drops the finished future in place, then stores its
                    // output.
                    self.set(MaybeDone::Done { output });
                    true
                }
                Poll::Pending => false,
            },
            MaybeDoneProj::Done { .. } => true,
            MaybeDoneProj::Gone => false,
        }
    }

    /// The output, if the future finished and it was not taken yet.
    pub fn output_mut(self: Pin<&mut Self>) -> Option<&mut F::Output> {
        match self.project() {
            MaybeDoneProj::Done { output } => Some(output),
            _ => None,
        }
    }

    /// Takes the output out, leaving `Gone`.
    pub fn take_output(mut self: Pin<&mut Self>) -> Option<F::Output> {
        if !matches!(self.as_mut().project(), MaybeDoneProj::Done { .. }) {
            return None;
        }
        match self.project_replace(MaybeDone::Gone) {
            MaybeDoneReplace::Done { output } => Some(output),
            _ => None,
        }
    }

    /// Drops the future (or output) in place, leaving `Gone`.
    pub fn drop_in_place(mut self: Pin<&mut Self>) {
        self.set(MaybeDone::Gone);
    }
}

impl<F: Future> fmt::Debug for MaybeDone<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MaybeDone::Future { .. } => "MaybeDone::Future",
            MaybeDone::Done { .. } => "MaybeDone::Done",
            MaybeDone::Gone => "MaybeDone::Gone",
        })
    }
}

pin_project! {
    /// The future of [`gather!`](crate::gather!): a struct of slots
    /// (`SlotsN`), outputs in a tuple.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct GatherTuple<S> {
        #[pin]
        slots: S,
    }
}

pin_project! {
    /// The future of [`try_gather!`](crate::try_gather!): a struct of slots
    /// of fallible futures; the first `Err` drops the rest.
    #[doc(hidden)]
    #[must_use = "futures do nothing unless awaited"]
    pub struct TryGatherTuple<S> {
        #[pin]
        slots: S,
    }
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
    ($S:ident; $($F:ident $T:ident $i:tt $f:ident),+) => {
        pin_project! {
            /// One pinned slot per future of a `gather!` or `try_gather!`.
            #[doc(hidden)]
            pub struct $S<$($F: Future),+> {
                $(#[pin] $f: MaybeDone<$F>,)+
            }
        }

        impl<$($F: Future),+> IntoGatherTuple for ($($F,)+) {
            type Gather = GatherTuple<$S<$($F),+>>;
            fn into_gather(self) -> Self::Gather {
                GatherTuple { slots: $S { $($f: MaybeDone::new(self.$i),)+ } }
            }
        }

        impl<$($F: Future),+> Future for GatherTuple<$S<$($F),+>> {
            type Output = ($($F::Output,)+);

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let slots = self.project().slots.project();
                let mut all = true;
                $(
                    let mut $f = slots.$f;
                    all &= $f.as_mut().poll_done(cx);
                )+
                if !all {
                    return Poll::Pending;
                }
                Poll::Ready(($(
                    $f.take_output().expect("gather! polled after it returned its output"),
                )+))
            }
        }

        impl<E, $($F, $T),+> IntoTryGatherTuple for ($($F,)+)
        where
            $($F: Future<Output = Result<$T, E>>),+
        {
            type TryGather = TryGatherTuple<$S<$($F),+>>;
            fn into_try_gather(self) -> Self::TryGather {
                TryGatherTuple { slots: $S { $($f: MaybeDone::new(self.$i),)+ } }
            }
        }

        impl<E, $($F, $T),+> Future for TryGatherTuple<$S<$($F),+>>
        where
            $($F: Future<Output = Result<$T, E>>),+
        {
            type Output = Result<($($T,)+), E>;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let slots = self.project().slots.project();
                let mut all = true;
                let mut failed = false;
                $(
                    let mut $f = slots.$f;
                    if !failed {
                        if $f.as_mut().poll_done(cx) {
                            failed = matches!($f.as_mut().output_mut(), Some(Err(_)));
                        } else {
                            all = false;
                        }
                    }
                )+
                if failed {
                    let mut error = None;
                    $(
                        if error.is_none() && matches!($f.as_mut().output_mut(), Some(Err(_))) {
                            if let Some(Err(e)) = $f.as_mut().take_output() {
                                error = Some(e);
                            }
                        }
                        $f.drop_in_place();
                    )+
                    return Poll::Ready(Err(error.expect("the failing future's error")));
                }
                if !all {
                    return Poll::Pending;
                }
                Poll::Ready(Ok(($(
                    match $f.take_output() {
                        Some(Ok(v)) => v,
                        _ => panic!("try_gather! polled after it returned its output"),
                    },
                )+)))
            }
        }
    };
}

impl_tuple!(Slots1; A TA 0 s0);
impl_tuple!(Slots2; A TA 0 s0, B TB 1 s1);
impl_tuple!(Slots3; A TA 0 s0, B TB 1 s1, C TC 2 s2);
impl_tuple!(Slots4; A TA 0 s0, B TB 1 s1, C TC 2 s2, D TD 3 s3);
impl_tuple!(Slots5; A TA 0 s0, B TB 1 s1, C TC 2 s2, D TD 3 s3, G TG 4 s4);
impl_tuple!(Slots6; A TA 0 s0, B TB 1 s1, C TC 2 s2, D TD 3 s3, G TG 4 s4, H TH 5 s5);
impl_tuple!(Slots7; A TA 0 s0, B TB 1 s1, C TC 2 s2, D TD 3 s3, G TG 4 s4, H TH 5 s5, I TI 6 s6);
impl_tuple!(Slots8; A TA 0 s0, B TB 1 s1, C TC 2 s2, D TD 3 s3, G TG 4 s4, H TH 5 s5, I TI 6 s6, J TJ 7 s7);
impl_tuple!(Slots9; A TA 0 s0, B TB 1 s1, C TC 2 s2, D TD 3 s3, G TG 4 s4, H TH 5 s5, I TI 6 s6, J TJ 7 s7, K TK 8 s8);
impl_tuple!(Slots10; A TA 0 s0, B TB 1 s1, C TC 2 s2, D TD 3 s3, G TG 4 s4, H TH 5 s5, I TI 6 s6, J TJ 7 s7, K TK 8 s8, L TL 9 s9);
impl_tuple!(Slots11; A TA 0 s0, B TB 1 s1, C TC 2 s2, D TD 3 s3, G TG 4 s4, H TH 5 s5, I TI 6 s6, J TJ 7 s7, K TK 8 s8, L TL 9 s9, M TM 10 s10);
impl_tuple!(Slots12; A TA 0 s0, B TB 1 s1, C TC 2 s2, D TD 3 s3, G TG 4 s4, H TH 5 s5, I TI 6 s6, J TJ 7 s7, K TK 8 s8, L TL 9 s9, M TM 10 s10, N TN 11 s11);

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
/// let (n, s) = tulipa_future::gather!(async { 1 }, async { "two" }).await;
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
/// let ok = tulipa_future::try_gather!(async { Ok::<_, String>(1) }, async { Ok("two") }).await;
/// assert_eq!(ok, Ok((1, "two")));
/// let err = tulipa_future::try_gather!(
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
