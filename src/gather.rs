//! Running several futures at once: [`gather`] (asyncio's `gather`), [`try_gather`] and the
//! [`gather!`](crate::gather!) macro for futures of different types.
//!
//! All three run their children concurrently inside the task that awaits them and return the
//! outputs in argument order, not completion order. Each child has its own waker, so only the
//! children that were woken are polled again: a gather of 100 000 futures does work proportional
//! to 100 000 plus the number of wakes, never to their product. One poll of a gather polls each
//! woken child at most once, in argument order: a child woken during that poll by a sibling with
//! a smaller index may still be polled in it, and any other (a child that wakes itself, as
//! `yield_now` does) is polled on the gather's next poll, a tick later.
//!
//! | asyncio | greenloop |
//! |---|---|
//! | `await gather(*aws, return_exceptions=True)` | `gather(aws).await` (a `Result` output is returned as it is) |
//! | `await gather(a, b)` with different result types | `gather!(a, b).await` |
//! | `TaskGroup` semantics for a fixed list (first error cancels the rest) | `try_gather(aws).await` |
//!
//! The children are futures, not tasks: they start when the gather is first polled, in argument
//! order, and a child that is dropped is cancelled. To gather tasks, spawn them and gather their
//! [`JoinHandle`](crate::JoinHandle)s.
mod wake_set;

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::MaybeDone;
use pin_project_lite::pin_project;

pub(crate) use wake_set::{Child, WakeSet};

use crate::executor::indexed::pin_index;

/// Runs every future of `futures` concurrently and returns their outputs in argument order.
///
/// This is asyncio's `gather(*aws, return_exceptions=True)`: a child whose output is a `Result`
/// contributes it as it is, and an `Err` neither stops nor cancels the others (see
/// [`try_gather`] for that). An empty gather returns `vec![]` at once. A panic in a child
/// propagates to the task awaiting the gather.
///
/// Each child is boxed once, when the gather is built; no allocation happens per wake.
///
/// # Examples
/// ```
/// use greenloop::gather::gather;
/// # greenloop::block_on(async {
/// let squares = gather((1..=4).map(|n| async move { n * n })).await;
/// assert_eq!(squares, [1, 4, 9, 16]);
///
/// // Results come back as they are: the `Err` does not hide the `Ok`s.
/// let results = gather([Ok(1), Err("boom"), Ok(3)].map(std::future::ready)).await;
/// assert_eq!(results, [Ok(1), Err("boom"), Ok(3)]);
///
/// // Tasks: gather their handles. Each output is the task's `Result<T, JoinError>`.
/// let handles = (0..3).map(|n| greenloop::spawn(async move { n + 1 }));
/// let outputs: Vec<i32> = gather(handles).await.into_iter().map(Result::unwrap).collect();
/// assert_eq!(outputs, [1, 2, 3]);
/// # });
/// ```
pub fn gather<I>(futures: I) -> Gather<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let slots = pinned_slots(futures);
    Gather {
        set: WakeSet::new(slots.len()),
        slots,
    }
}

/// Runs every future of `futures` concurrently; returns all their `Ok` values in argument order,
/// or the first `Err` to happen, in which case the unfinished children are dropped (cancelled)
/// before this returns.
///
/// This is a `TaskGroup` over a fixed list of futures. It differs from asyncio's
/// `gather(return_exceptions=False)`, which returns the first exception but lets the other
/// children run on; to get that, spawn the children as tasks and `try_gather` their handles.
///
/// # Errors
/// The first `Err` a child returns, in completion order.
///
/// # Panics
/// The returned future panics if polled again after it returned an `Err` (its children are
/// gone by then).
///
/// # Examples
/// ```
/// use greenloop::gather::try_gather;
/// # greenloop::block_on(async {
/// let ok: Result<Vec<i32>, &str> = try_gather([Ok(1), Ok(2)].map(std::future::ready)).await;
/// assert_eq!(ok, Ok(vec![1, 2]));
///
/// let never_finishes = async { std::future::pending::<Result<i32, &str>>().await };
/// let fails = async { Err("boom") };
/// let first: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = _>>>> =
///     vec![Box::pin(never_finishes), Box::pin(fails)];
/// assert_eq!(try_gather(first).await, Err("boom"));
/// # });
/// ```
pub fn try_gather<I, T, E>(futures: I) -> TryGather<I::Item, T>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>>,
{
    let slots = pinned_slots(futures);
    TryGather {
        set: WakeSet::new(slots.len()),
        slots,
        failed: false,
        _ok: PhantomData,
    }
}

/// Future returned by [`gather`].
///
/// # Examples
/// ```
/// use greenloop::gather::{gather, Gather};
/// let both: Gather<std::future::Ready<u8>> = gather([1, 2].map(std::future::ready));
/// assert_eq!(greenloop::block_on(both), [1, 2]);
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Gather<F: Future> {
    slots: Pin<Box<[MaybeDone<F>]>>,
    set: WakeSet,
}

/// Future returned by [`try_gather`].
///
/// # Examples
/// ```
/// use greenloop::gather::{try_gather, TryGather};
/// let both: TryGather<_, i32> = try_gather([Ok(1), Err('x')].map(std::future::ready));
/// assert_eq!(greenloop::block_on(both), Err('x'));
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TryGather<F: Future, T> {
    slots: Pin<Box<[MaybeDone<F>]>>,
    set: WakeSet,
    /// It returned an error: the children are gone, and a later poll is a bug.
    failed: bool,
    /// The `Ok` type, named in the type for readability (`TryGather<_, i32>`).
    _ok: PhantomData<fn() -> T>,
}

/// Converts a tuple of futures into the future that gathers them; what [`gather!`](crate::gather!)
/// calls.
///
/// Implemented for tuples of 1 to 12 futures. The output is the tuple of the outputs, in order.
///
/// # Examples
/// ```
/// use greenloop::gather::IntoGather;
/// # greenloop::block_on(async {
/// let (n, s) = (async { 1 }, async { "one" }).into_gather().await;
/// assert_eq!((n, s), (1, "one"));
/// # });
/// ```
pub trait IntoGather {
    /// The tuple of outputs.
    type Output;
    /// The future that runs the tuple's futures concurrently.
    type Future: Future<Output = Self::Output>;

    /// Builds the gather; nothing runs until it is polled.
    fn into_gather(self) -> Self::Future;
}

/// Runs futures of different types concurrently and returns the tuple of their outputs, in
/// argument order.
///
/// `gather!(a, b, c)` is `(a, b, c).into_gather()` (see [`IntoGather`](crate::gather::IntoGather)):
/// each child has its own waker, as in [`gather`](crate::gather::gather). Up to 12 futures;
/// `gather!()` is a future of `()`.
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let (n, s, unit) = greenloop::gather!(async { 2 + 2 }, async { "four" }, async {}).await;
/// assert_eq!((n, s, unit), (4, "four", ()));
/// # });
/// ```
#[macro_export]
macro_rules! gather {
    () => {
        ::std::future::ready(())
    };
    ($($future:expr),+ $(,)?) => {
        $crate::gather::IntoGather::into_gather(($($future,)+))
    };
}

// === impl Gather ===

// The children live in a pinned boxed slice and outputs are never pinned: moving a gather is fine.
impl<F: Future> Unpin for Gather<F> {}

impl<F: Future> Future for Gather<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let slots = &mut this.slots;
        this.set.poll_woken(cx.waker(), |index, cx| {
            match pin_index(slots.as_mut(), index).poll(cx) {
                Poll::Ready(()) => Child::Done,
                Poll::Pending => Child::Pending,
            }
        });
        if this.set.remaining() > 0 {
            return Poll::Pending;
        }
        Poll::Ready(take_outputs(&mut this.slots))
    }
}

impl<F: Future> fmt::Debug for Gather<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("len", &self.slots.len())
            .field("remaining", &self.set.remaining())
            .finish()
    }
}

// === impl TryGather ===

// The children live in a pinned boxed slice and outputs are never pinned: moving it is fine.
impl<F: Future, T> Unpin for TryGather<F, T> {}

impl<F, T, E> Future for TryGather<F, T>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            !this.failed,
            "try_gather polled after it completed with an error"
        );
        let slots = &mut this.slots;
        let mut failure = None;
        this.set.poll_woken(cx.waker(), |index, cx| {
            let mut slot = pin_index(slots.as_mut(), index);
            if slot.as_mut().poll(cx).is_pending() {
                return Child::Pending;
            }
            if let Some(Err(_)) = slot.as_mut().output_mut() {
                failure = slot.take_output().and_then(Result::err);
                return Child::Stop;
            }
            Child::Done
        });
        if let Some(error) = failure {
            // Cancel the siblings now, in argument order, rather than when the gather is dropped.
            this.slots = pinned_slots([]);
            this.failed = true;
            return Poll::Ready(Err(error));
        }
        if this.set.remaining() > 0 {
            return Poll::Pending;
        }
        let outputs = take_outputs(&mut this.slots);
        Poll::Ready(Ok(outputs
            .into_iter()
            .map(|r| r.ok().expect("no child failed"))
            .collect()))
    }
}

impl<F: Future, T> fmt::Debug for TryGather<F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGather")
            .field("len", &self.slots.len())
            .field("remaining", &self.set.remaining())
            .finish()
    }
}

// === impl IntoGather for tuples ===

macro_rules! impl_gather_tuple {
    ($name:ident, $len:literal; $($F:ident $field:ident $index:tt),+) => {
        pin_project! {
            #[doc = concat!("Future returned by [`gather!`](crate::gather!) for ", $len, " futures.")]
            ///
            /// # Examples
            /// ```
            /// let all = greenloop::gather!(async { 1 }, async { 'b' });
            /// assert_eq!(greenloop::block_on(all), (1, 'b'));
            /// ```
            #[must_use = "futures do nothing unless you `.await` or poll them"]
            pub struct $name<$($F: Future),+> {
                $(#[pin] $field: MaybeDone<$F>,)+
                set: WakeSet,
            }
        }

        impl<$($F: Future),+> IntoGather for ($($F,)+) {
            type Output = ($($F::Output,)+);
            type Future = $name<$($F),+>;

            fn into_gather(self) -> Self::Future {
                $name {
                    $($field: MaybeDone::Future(self.$index),)+
                    set: WakeSet::new($len),
                }
            }
        }

        impl<$($F: Future),+> Future for $name<$($F),+> {
            type Output = ($($F::Output,)+);

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                let mut this = self.project();
                this.set.poll_woken(cx.waker(), |index, cx| {
                    let ready = match index {
                        $($index => this.$field.as_mut().poll(cx).is_ready(),)+
                        _ => unreachable!("a gather of {} futures has no child {}", $len, index),
                    };
                    if ready { Child::Done } else { Child::Pending }
                });
                if this.set.remaining() > 0 {
                    return Poll::Pending;
                }
                Poll::Ready(($(
                    this.$field
                        .as_mut()
                        .take_output()
                        .expect("gather! polled after it completed"),
                )+))
            }
        }

        impl<$($F: Future),+> fmt::Debug for $name<$($F),+> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("remaining", &self.set.remaining())
                    .finish_non_exhaustive()
            }
        }
    };
}

impl_gather_tuple!(Gather1, 1; A a 0);
impl_gather_tuple!(Gather2, 2; A a 0, B b 1);
impl_gather_tuple!(Gather3, 3; A a 0, B b 1, C c 2);
impl_gather_tuple!(Gather4, 4; A a 0, B b 1, C c 2, D d 3);
impl_gather_tuple!(Gather5, 5; A a 0, B b 1, C c 2, D d 3, E e 4);
impl_gather_tuple!(Gather6, 6; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5);
impl_gather_tuple!(Gather7, 7; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6);
impl_gather_tuple!(Gather8, 8; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7);
impl_gather_tuple!(Gather9, 9; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8);
impl_gather_tuple!(Gather10, 10; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9);
impl_gather_tuple!(Gather11, 11; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9, K k 10);
impl_gather_tuple!(Gather12, 12; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9, K k 10, L l 11);

// === helpers ===

/// The children of a gather, each waiting to be polled, in one pinned allocation.
fn pinned_slots<F: Future>(futures: impl IntoIterator<Item = F>) -> Pin<Box<[MaybeDone<F>]>> {
    futures
        .into_iter()
        .map(MaybeDone::Future)
        .collect::<Box<[_]>>()
        .into()
}

/// Moves the outputs out of finished children, in argument order, and frees the slots.
///
/// # Panics
/// If an output was already taken, which means the future was polled after it completed.
fn take_outputs<F: Future>(slots: &mut Pin<Box<[MaybeDone<F>]>>) -> Vec<F::Output> {
    let outputs = (0..slots.len())
        .map(|index| {
            pin_index(slots.as_mut(), index)
                .take_output()
                .expect("gather polled after it completed")
        })
        .collect();
    *slots = pinned_slots([]);
    outputs
}
