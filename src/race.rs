//! Outputs in completion order: [`race`] and [`race!`](crate::race!) (the first to finish wins)
//! and [`as_completed`] (a stream of every output as it arrives).
//!
//! All of them poll only the children that were woken, like [`gather`](crate::gather::gather),
//! and start their children when first polled, in argument order.
//!
//! | asyncio | greenloop |
//! |---|---|
//! | `wait(aws, return_when=FIRST_COMPLETED)`, then cancel the rest | `race(aws).await` |
//! | the same over awaitables of different types | `race!(a, b).await` (one output type) |
//! | `for aw in as_completed(aws): x = await aw` | `while let Some(x) = stream.next().await` over `as_completed(aws)` |
//! | `as_completed(aws, timeout=t)` | wrap each `next()` in the time module's `timeout` |
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use futures::stream::FusedStream;

use crate::executor::indexed::pin_index;
use crate::gather::{Child, WakeSet};

/// Runs `futures` concurrently until the first one finishes; returns its output and drops
/// (cancels) all the others before returning.
///
/// If several children were woken before the same poll and finish in it, the first of them in
/// argument order wins, and the others' outputs are dropped with them. To race a few futures of
/// different types, use [`race!`](crate::race!).
///
/// # Panics
/// If `futures` is empty: a race of nothing would never finish.
///
/// # Examples
/// ```
/// use std::future::{pending, ready, Future};
/// use std::pin::Pin;
/// use greenloop::race::race;
/// # greenloop::block_on(async {
/// let children: Vec<Pin<Box<dyn Future<Output = &str>>>> =
///     vec![Box::pin(pending()), Box::pin(ready("second")), Box::pin(ready("third"))];
/// assert_eq!(race(children).await, "second");
/// # });
/// ```
pub fn race<I>(futures: I) -> Race<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let children = pinned(futures);
    assert!(
        !children.is_empty(),
        "race of no futures would never finish"
    );
    Race {
        set: WakeSet::new(children.len()),
        children,
    }
}

/// Returns a stream of the outputs of `futures` in the order they complete.
///
/// The stream runs the futures only while it is polled (inside the consumer's `next().await`);
/// outputs that arrive in the same poll are buffered and handed out in argument order. It ends after the last
/// output. Dropping it drops (cancels) the futures that have not finished; a partly consumed
/// stream can be resumed later.
///
/// Unlike asyncio's `as_completed`, which yields awaitables, this yields the outputs themselves;
/// to know which input produced an output, make the output carry an index.
///
/// # Examples
/// ```
/// use greenloop::race::as_completed;
/// use greenloop::stream::StreamExt;
/// # greenloop::block_on(async {
/// let (tx, rx) = futures::channel::oneshot::channel();
/// let slow = Box::pin(async { rx.await.unwrap() }) as std::pin::Pin<Box<dyn std::future::Future<Output = &str>>>;
/// let fast = Box::pin(async move {
///     tx.send("slow").unwrap();
///     "fast"
/// });
/// let mut done = as_completed([slow, fast]);
/// let mut order = Vec::new();
/// while let Some(output) = done.next().await {
///     order.push(output);
/// }
/// assert_eq!(order, ["fast", "slow"]);
/// # });
/// ```
pub fn as_completed<I>(futures: I) -> AsCompleted<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let children = pinned(futures.into_iter().map(Some));
    AsCompleted {
        set: WakeSet::new(children.len()),
        children,
        arrived: VecDeque::new(),
    }
}

/// Future returned by [`race`].
///
/// # Examples
/// ```
/// use greenloop::race::{race, Race};
/// let first: Race<std::future::Ready<&str>> = race(["a", "b"].map(std::future::ready));
/// assert_eq!(greenloop::block_on(first), "a");
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Race<F> {
    /// Every child runs until one wins; then all are dropped at once.
    children: Pin<Box<[F]>>,
    set: WakeSet,
}

/// Stream returned by [`as_completed`].
///
/// # Examples
/// ```
/// use greenloop::race::{as_completed, AsCompleted};
/// use greenloop::stream::StreamExt;
/// let done: AsCompleted<std::future::Ready<u8>> = as_completed([3, 4].map(std::future::ready));
/// assert_eq!(greenloop::block_on(done.collect::<Vec<_>>()), [3, 4]);
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<F: Future> {
    children: Pin<Box<[Option<F>]>>,
    arrived: VecDeque<F::Output>,
    set: WakeSet,
}

// === impl Race ===

impl<F: Future> Future for Race<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        assert!(!this.children.is_empty(), "race polled after it completed");
        let children = &mut this.children;
        let mut winner = None;
        this.set.poll_woken(cx.waker(), |index, cx| {
            match pin_index(children.as_mut(), index).poll(cx) {
                Poll::Ready(output) => {
                    winner = Some(output);
                    Child::Stop
                }
                Poll::Pending => Child::Pending,
            }
        });
        match winner {
            Some(output) => {
                // The losers are cancelled here, before the winner's output is returned.
                this.children = pinned([]);
                Poll::Ready(output)
            }
            None => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Race<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Race")
            .field("len", &self.children.len())
            .finish_non_exhaustive()
    }
}

// === impl AsCompleted ===

// The children live in a pinned boxed slice and outputs are never pinned: moving it is fine.
impl<F: Future> Unpin for AsCompleted<F> {}

impl<F: Future> AsCompleted<F> {
    /// How many outputs the stream has yet to yield.
    ///
    /// # Examples
    /// ```
    /// let stream = greenloop::race::as_completed([1, 2].map(std::future::ready));
    /// assert_eq!(stream.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.set.remaining() + self.arrived.len()
    }

    /// Whether the stream has ended: every output was yielded.
    ///
    /// # Examples
    /// ```
    /// let stream = greenloop::race::as_completed(Vec::<std::future::Ready<i32>>::new());
    /// assert!(stream.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<F: Future> Stream for AsCompleted<F> {
    type Item = F::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let this = self.get_mut();
        if let Some(output) = this.arrived.pop_front() {
            return Poll::Ready(Some(output));
        }
        if this.set.remaining() == 0 {
            return Poll::Ready(None);
        }
        let children = &mut this.children;
        let arrived = &mut this.arrived;
        this.set.poll_woken(cx.waker(), |index, cx| {
            let mut slot = pin_index(children.as_mut(), index);
            let child = (slot.as_mut().as_pin_mut())
                .expect("the wake set polls only children that have not finished");
            match child.poll(cx) {
                Poll::Ready(output) => {
                    slot.set(None);
                    arrived.push_back(output);
                    Child::Done
                }
                Poll::Pending => Child::Pending,
            }
        });
        match this.arrived.pop_front() {
            Some(output) => Poll::Ready(Some(output)),
            None => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

impl<F: Future> FusedStream for AsCompleted<F> {
    fn is_terminated(&self) -> bool {
        self.is_empty()
    }
}

impl<F: Future> fmt::Debug for AsCompleted<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("len", &self.children.len())
            .field("remaining", &self.set.remaining())
            .field("arrived", &self.arrived.len())
            .finish()
    }
}

/// The children of a race or an `as_completed`, in one pinned allocation.
fn pinned<T>(children: impl IntoIterator<Item = T>) -> Pin<Box<[T]>> {
    children.into_iter().collect::<Box<[_]>>().into()
}

/// Converts a tuple of futures with one output type into the future that races them; what
/// [`race!`](crate::race!) calls.
///
/// Implemented for tuples of 1 to 12 futures whose outputs have the same type.
///
/// # Examples
/// ```
/// use greenloop::race::IntoRace;
/// # greenloop::block_on(async {
/// let first = (std::future::pending::<u8>(), async { 2 }).into_race().await;
/// assert_eq!(first, 2);
/// # });
/// ```
pub trait IntoRace {
    /// The output shared by the tuple's futures.
    type Output;
    /// The future that races the tuple's futures.
    type Future: Future<Output = Self::Output>;

    /// Builds the race; nothing runs until it is polled.
    fn into_race(self) -> Self::Future;
}

/// Races futures of different types with the same output: the first to finish wins and the
/// others are dropped (cancelled) before its output is returned.
///
/// `race!(a, b, c)` is `(a, b, c).into_race()` (see [`IntoRace`](crate::race::IntoRace)); each
/// child has its own waker, as in [`race`](crate::race::race). Up to 12 futures. If several
/// children finish in the same poll, the first in argument order wins.
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let slow = async {
///     greenloop::yield_now().await;
///     "slow"
/// };
/// let winner = greenloop::race!(slow, async { "fast" }).await;
/// assert_eq!(winner, "fast");
/// # });
/// ```
#[macro_export]
macro_rules! race {
    ($($future:expr),+ $(,)?) => {
        $crate::race::IntoRace::into_race(($($future,)+))
    };
}

macro_rules! impl_race_tuple {
    ($name:ident, $len:literal; $($F:ident $field:ident $index:tt),+) => {
        pin_project_lite::pin_project! {
            #[doc = concat!("Future returned by [`race!`](crate::race!) for ", $len, " futures.")]
            ///
            /// # Examples
            /// ```
            /// let first = greenloop::race!(async { 1 }, std::future::pending());
            /// assert_eq!(greenloop::block_on(first), 1);
            /// ```
            #[must_use = "futures do nothing unless you `.await` or poll them"]
            pub struct $name<T, $($F: Future<Output = T>),+> {
                $(#[pin] $field: Option<$F>,)+
                set: WakeSet,
            }
        }

        impl<T, $($F: Future<Output = T>),+> IntoRace for ($($F,)+) {
            type Output = T;
            type Future = $name<T, $($F),+>;

            fn into_race(self) -> Self::Future {
                $name {
                    $($field: Some(self.$index),)+
                    set: WakeSet::new($len),
                }
            }
        }

        impl<T, $($F: Future<Output = T>),+> Future for $name<T, $($F),+> {
            type Output = T;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
                let mut this = self.project();
                let mut winner = None;
                this.set.poll_woken(cx.waker(), |index, cx| {
                    let polled = match index {
                        $($index => match this.$field.as_mut().as_pin_mut() {
                            Some(future) => future.poll(cx),
                            None => return Child::Done,
                        },)+
                        _ => unreachable!("a race of {} futures has no child {}", $len, index),
                    };
                    match polled {
                        Poll::Ready(output) => {
                            winner = Some(output);
                            Child::Stop
                        }
                        Poll::Pending => Child::Pending,
                    }
                });
                match winner {
                    Some(output) => {
                        // The losers are cancelled here, before the winner's output is returned.
                        $(this.$field.set(None);)+
                        Poll::Ready(output)
                    }
                    None => Poll::Pending,
                }
            }
        }

        impl<T, $($F: Future<Output = T>),+> fmt::Debug for $name<T, $($F),+> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("remaining", &self.set.remaining())
                    .finish_non_exhaustive()
            }
        }
    };
}

impl_race_tuple!(Race1, 1; A a 0);
impl_race_tuple!(Race2, 2; A a 0, B b 1);
impl_race_tuple!(Race3, 3; A a 0, B b 1, C c 2);
impl_race_tuple!(Race4, 4; A a 0, B b 1, C c 2, D d 3);
impl_race_tuple!(Race5, 5; A a 0, B b 1, C c 2, D d 3, E e 4);
impl_race_tuple!(Race6, 6; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5);
impl_race_tuple!(Race7, 7; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6);
impl_race_tuple!(Race8, 8; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7);
impl_race_tuple!(Race9, 9; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8);
impl_race_tuple!(Race10, 10; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9);
impl_race_tuple!(Race11, 11; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9, K k 10);
impl_race_tuple!(Race12, 12; A a 0, B b 1, C c 2, D d 3, E e 4, F f 5, G g 6, H h 7, I i 8, J j 9, K k 10, L l 11);
