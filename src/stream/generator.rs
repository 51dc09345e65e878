//! Async generators: a body that receives a [`Yielder`] and `await`s each yield.
//!
//! # How it works
//! The generator and its [`Yielder`] share a one-item slot. The body runs only inside the
//! consumer's `poll_next`: `y.yield_(x).await` puts `x` in the slot and suspends the body, then
//! `poll_next` takes `x` out of the slot and returns it. The body resumes only when the consumer
//! asks for the next item, so the consumer sets the pace and the producer is never ahead of it by
//! more than the item being handed over. No waker is involved in a yield: the body is suspended,
//! not waiting, and the consumer polls it again when it wants more.
//!
//! The body is boxed so that [`Generator`] is `Unpin`: `g.next().await` works without pinning,
//! like Python's `async for`. Kept inline, the body would save a pointer load per item (about a
//! tenth of a hand-over on the benchmark) but every caller would have to pin the generator.
//!
//! # Closing
//! Python's `aclose()` throws `GeneratorExit` at the suspended `yield`; the `finally` blocks may
//! await, and yielding again is a `RuntimeError`. Here [`Generator::close`] resumes the body with
//! `Err(Closed)` out of its pending `yield_`; the body may await its cleanup and then return. If
//! it yields again instead, the value is dropped and the body is dropped at that yield, which ends
//! the close. A body that was not at a yield when `close` began (the consumer dropped a `next()`
//! while the body awaited something) finishes that await and gets `Err(Closed)` from its next
//! yield, which hands nothing over.
//!
//! Dropping a generator without closing it drops the body at its yield point: only synchronous
//! `Drop` cleanup runs (Python would leave it suspended until the garbage collector schedules
//! `aclose()`; Drop cannot await, so there is no such deferred close here).
use std::cell::Cell;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::Stream;
use futures::stream::FusedStream;

/// Builds an async generator: `body` receives a [`Yielder`] and runs only while the consumer is
/// polling for the next item.
///
/// The body returns `Result<(), Closed>` so that `y.yield_(x).await?` ends it when the consumer
/// [closes](Generator::close) the generator. `body` is called at once but the future it returns
/// does not run until the first `next()`. A panic in the body propagates to the consumer's
/// `next()`, and the generator ends (`None` afterwards), as an exception ends a Python generator.
///
/// The generator is `!Send` (its slot is shared through an `Rc`): it lives on one thread, like
/// the tasks of greenloop's executor.
///
/// ```compile_fail,E0277
/// fn assert_send<T: Send>(_: T) {}
/// assert_send(greenloop::stream::generator(|mut y| async move { y.yield_(1).await }));
/// ```
///
/// # Examples
/// ```
/// use greenloop::stream::{generator, StreamExt};
/// # greenloop::block_on(async {
/// // async def countdown(n):
/// //     while n > 0:
/// //         yield n
/// //         n -= 1
/// let mut countdown = generator(|mut y| async move {
///     for n in (1..=3).rev() {
///         y.yield_(n).await?;
///     }
///     Ok(())
/// });
/// let mut seen = Vec::new();
/// while let Some(n) = countdown.next().await {
///     seen.push(n);
/// }
/// assert_eq!(seen, [3, 2, 1]);
/// # });
/// ```
pub fn generator<T, B, Fut>(body: B) -> Generator<T, Fut>
where
    B: FnOnce(Yielder<T>) -> Fut,
    Fut: Future<Output = Result<(), Closed>>,
{
    let shared = Rc::new(Shared {
        item: Cell::new(None),
        close: Cell::new(CloseState::Open),
    });
    let body = Box::pin(body(Yielder {
        shared: Rc::clone(&shared),
    }));
    Generator {
        body: Body::Unstarted(body),
        shared,
    }
}

/// Stream returned by [`generator`].
///
/// # Examples
/// ```
/// use greenloop::stream::{generator, StreamExt};
/// let mut pair = generator(|mut y| async move {
///     y.yield_("left").await?;
///     y.yield_("right").await
/// });
/// # greenloop::block_on(async {
/// assert_eq!(pair.next().await, Some("left"));
/// assert_eq!(pair.next().await, Some("right"));
/// assert_eq!(pair.next().await, None);
/// # });
/// ```
#[must_use = "streams do nothing unless polled; the body runs only while the consumer asks for items"]
pub struct Generator<T, Fut> {
    body: Body<Fut>,
    shared: Rc<Shared<T>>,
}

/// The handle a generator's body yields through.
///
/// # Examples
/// ```
/// use greenloop::stream::{generator, StreamExt, Yielder};
/// async fn count_to(n: u32, mut y: Yielder<u32>) -> Result<(), greenloop::stream::Closed> {
///     for i in 1..=n {
///         y.yield_(i).await?;
///     }
///     Ok(())
/// }
/// let counted = generator(|y| count_to(3, y));
/// # greenloop::block_on(async {
/// assert_eq!(counted.collect::<Vec<_>>().await, [1, 2, 3]);
/// # });
/// ```
pub struct Yielder<T> {
    shared: Rc<Shared<T>>,
}

/// Future returned by [`Yielder::yield_`].
///
/// # Examples
/// ```
/// use greenloop::stream::{generator, StreamExt};
/// let one = generator(|mut y| async move {
///     let pending_yield = y.yield_(1); // nothing is handed over yet
///     pending_yield.await
/// });
/// # greenloop::block_on(async {
/// assert_eq!(one.collect::<Vec<_>>().await, [1]);
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them; the value is yielded only when awaited"]
pub struct Yield<'a, T> {
    /// The yielder's slot, dereferenced once here rather than at each poll.
    shared: &'a Shared<T>,
    /// The yielder stays borrowed mutably: one yield at a time.
    _yielder: PhantomData<&'a mut Yielder<T>>,
    value: Option<T>,
}

/// Future returned by [`Generator::close`].
///
/// # Examples
/// ```
/// use greenloop::stream::{generator, StreamExt};
/// let mut g = generator(|mut y| async move { y.yield_(1).await });
/// # greenloop::block_on(async {
/// assert_eq!(g.next().await, Some(1));
/// let closing = g.close();
/// closing.await;
/// assert!(g.is_terminated());
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Close<'a, T, Fut> {
    generator: &'a mut Generator<T, Fut>,
}

/// The generator was closed: returned by [`Yielder::yield_`] when the consumer called
/// [`Generator::close`], asyncio's `GeneratorExit`.
///
/// # Examples
/// ```
/// use greenloop::stream::Closed;
/// assert_eq!(Closed.to_string(), "the generator was closed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// The body and where it is in its life. One discriminant answers the per-item question "is the
/// body running?", so the hot path of `next()` reads one word and writes none.
enum Body<Fut> {
    /// Not polled yet: `close` drops it without running it.
    Unstarted(Pin<Box<Fut>>),
    /// Polled at least once, neither finished nor panicked.
    Running(Pin<Box<Fut>>),
    /// A poll panicked: the body is dropped at the next `next()` or `close()` (not while the
    /// panic unwinds), and the generator is finished.
    Panicked(Pin<Box<Fut>>),
    /// The body returned, was closed, or was dropped after a panic.
    Finished,
}

/// Sets `Running` to `Panicked` if the poll it guards unwinds; forgotten when the poll returns,
/// so a poll that returns writes nothing.
struct PanicGuard<'a, Fut>(&'a mut Body<Fut>);

struct Shared<T> {
    /// The item being handed from the body to the consumer.
    item: Cell<Option<T>>,
    /// Whether `close` was called and how far it got; one byte that a yield checks once.
    close: Cell<CloseState>,
}

/// How far a close got. Ordered: each state implies the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloseState {
    /// `close` was not called: yields hand their values over.
    Open,
    /// `close` was called: pending yields resolve to `Err(Closed)`.
    Closing,
    /// A yield returned `Err(Closed)` to the body.
    Delivered,
    /// The body yielded again after receiving `Err(Closed)`; it is dropped at that yield.
    YieldedAfterClose,
}

// === impl Generator ===

impl<T, Fut> Generator<T, Fut>
where
    Fut: Future<Output = Result<(), Closed>>,
{
    /// Closes the generator, letting its body run its cleanup: `aclose()`.
    ///
    /// The body's pending [`yield_`](Yielder::yield_) returns `Err(Closed)`; the body may then
    /// await anything but another yield, and this returns when the body returns. If the body
    /// yields again, the value is dropped and the body is dropped at that yield. If the body was
    /// suspended elsewhere than at a yield (a `next()` was dropped while the body awaited), it
    /// finishes that await and its next yield returns `Err(Closed)`. On a generator that never
    /// started, the body is dropped without running; on one that finished, nothing happens.
    /// After `close`, `next()` returns `None`.
    ///
    /// # Cancel safety
    /// Dropping this future while the cleanup awaits leaves the generator closing: the next
    /// `next()` or `close()` continues the cleanup, and `next()` then returns `None`.
    ///
    /// # Examples
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use greenloop::stream::{generator, StreamExt};
    /// # greenloop::block_on(async {
    /// let cleaned_up = Rc::new(Cell::new(false));
    /// let flag = Rc::clone(&cleaned_up);
    /// let mut numbers = generator(|mut y| async move {
    ///     let mut n = 0;
    ///     loop {
    ///         if let Err(closed) = y.yield_(n).await {
    ///             greenloop::yield_now().await; // cleanup may await
    ///             flag.set(true);
    ///             return Err(closed);
    ///         }
    ///         n += 1;
    ///     }
    /// });
    /// assert_eq!(numbers.next().await, Some(0));
    /// numbers.close().await;
    /// assert!(cleaned_up.get());
    /// assert_eq!(numbers.next().await, None);
    /// # });
    /// ```
    pub fn close(&mut self) -> Close<'_, T, Fut> {
        Close { generator: self }
    }

    /// Whether the body has finished: it returned, was closed, or panicked. `next()` returns
    /// `None` from then on.
    ///
    /// # Examples
    /// ```
    /// use greenloop::stream::{generator, StreamExt};
    /// # greenloop::block_on(async {
    /// let mut one = generator(|mut y| async move { y.yield_(1).await });
    /// assert_eq!(one.next().await, Some(1));
    /// assert!(!one.is_terminated());
    /// assert_eq!(one.next().await, None);
    /// assert!(one.is_terminated());
    /// # });
    /// ```
    pub fn is_terminated(&self) -> bool {
        matches!(self.body, Body::Panicked(_) | Body::Finished)
    }

    /// Polls the body once; `Ready` when the body is finished.
    #[inline]
    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !matches!(self.body, Body::Running(_)) && self.start_or_end().is_ready() {
            return Poll::Ready(());
        }
        let guard = PanicGuard(&mut self.body);
        let Body::Running(body) = &mut *guard.0 else {
            // Not reached: `start_or_end` returns `Pending` only once the body is running.
            mem::forget(guard);
            return Poll::Ready(());
        };
        let poll = body.as_mut().poll(cx);
        mem::forget(guard);
        if poll.is_ready() {
            self.finish();
        }
        poll.map(drop)
    }

    /// For a body that is not `Running`: starts an unstarted one (`Pending`: poll it now), or
    /// drops a panicked one (`Ready`: finished). Not recursive, so that `poll_body` inlines.
    #[cold]
    #[inline(never)]
    fn start_or_end(&mut self) -> Poll<()> {
        match mem::replace(&mut self.body, Body::Finished) {
            Body::Unstarted(body) | Body::Running(body) => {
                self.body = Body::Running(body);
                Poll::Pending
            }
            // A body that panicked is finished, like a Python generator that raised. It is
            // dropped here, outside the unwinding.
            Body::Panicked(body) => {
                drop(body);
                Poll::Ready(())
            }
            Body::Finished => Poll::Ready(()),
        }
    }

    /// Drops the body: it returned, or it yielded after receiving `Err(Closed)`.
    #[cold]
    #[inline(never)]
    fn finish(&mut self) {
        self.body = Body::Finished;
    }
}

impl<T, Fut> Stream for Generator<T, Fut>
where
    Fut: Future<Output = Result<(), Closed>>,
{
    type Item = T;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        match this.poll_body(cx) {
            // The body may have yielded just before returning (a yield it did not await).
            Poll::Ready(()) => Poll::Ready(this.shared.item.take()),
            Poll::Pending => match this.shared.item.take() {
                Some(item) => Poll::Ready(Some(item)),
                None if this.shared.close.get() == CloseState::YieldedAfterClose => {
                    this.finish();
                    Poll::Ready(None)
                }
                // The body awaits something else; that something holds the consumer's waker.
                None => Poll::Pending,
            },
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.is_terminated() {
            (0, Some(0))
        } else {
            (0, None)
        }
    }
}

impl<T, Fut> FusedStream for Generator<T, Fut>
where
    Fut: Future<Output = Result<(), Closed>>,
{
    fn is_terminated(&self) -> bool {
        Generator::is_terminated(self)
    }
}

impl<T, Fut> fmt::Debug for Generator<T, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generator")
            .field("started", &!matches!(self.body, Body::Unstarted(_)))
            .field(
                "finished",
                &matches!(self.body, Body::Panicked(_) | Body::Finished),
            )
            .field("closing", &(self.shared.close.get() != CloseState::Open))
            .finish_non_exhaustive()
    }
}

// === impl PanicGuard ===

impl<Fut> Drop for PanicGuard<'_, Fut> {
    fn drop(&mut self) {
        // Only reached while a poll unwinds: the box moves, no user code runs.
        if let Body::Running(body) = mem::replace(self.0, Body::Finished) {
            *self.0 = Body::Panicked(body);
        }
    }
}

// === impl Close ===

impl<T, Fut> Future for Close<'_, T, Fut>
where
    Fut: Future<Output = Result<(), Closed>>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let generator = &mut *self.get_mut().generator;
        if let Body::Unstarted(_) = generator.body {
            // A body that never ran has nothing to clean up: drop it unpolled.
            generator.body = Body::Finished;
            return Poll::Ready(());
        }
        let shared = &generator.shared;
        if shared.close.get() == CloseState::Open {
            shared.close.set(CloseState::Closing);
        }
        match generator.poll_body(cx) {
            Poll::Ready(()) => Poll::Ready(()),
            Poll::Pending if generator.shared.close.get() == CloseState::YieldedAfterClose => {
                generator.finish();
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T, Fut> fmt::Debug for Close<'_, T, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Close")
            .field("generator", &self.generator)
            .finish()
    }
}

// === impl Yielder ===

impl<T> Yielder<T> {
    /// Hands `value` to the consumer and suspends the body until the consumer asks for the next
    /// item: Python's `yield value`.
    ///
    /// Returns `Err(Closed)` if the consumer [closed](Generator::close) the generator instead of
    /// asking for more; the body should then clean up and return (`?` does that). Yielding after
    /// that drops the value and the body.
    ///
    /// # Errors
    /// [`Closed`] when the generator is being closed.
    ///
    /// # Cancel safety
    /// The value is handed over on the first poll; dropping the future after that still delivers
    /// it, and dropping it before does not.
    ///
    /// # Examples
    /// ```
    /// use greenloop::stream::{generator, StreamExt};
    /// # greenloop::block_on(async {
    /// let letters = generator(|mut y| async move {
    ///     y.yield_('a').await?;
    ///     y.yield_('b').await
    /// });
    /// assert_eq!(letters.collect::<String>().await, "ab");
    /// # });
    /// ```
    #[inline]
    pub fn yield_(&mut self, value: T) -> Yield<'_, T> {
        Yield {
            shared: &self.shared,
            _yielder: PhantomData,
            value: Some(value),
        }
    }

    /// Whether the consumer asked the generator to close.
    ///
    /// # Examples
    /// ```
    /// use greenloop::stream::{generator, StreamExt};
    /// # greenloop::block_on(async {
    /// let mut g = generator(|mut y| async move {
    ///     assert!(!y.is_closing());
    ///     let _ = y.yield_(1).await;
    ///     assert!(y.is_closing());
    ///     Ok(())
    /// });
    /// assert_eq!(g.next().await, Some(1));
    /// g.close().await;
    /// # });
    /// ```
    pub fn is_closing(&self) -> bool {
        self.shared.close.get() != CloseState::Open
    }
}

impl<T> fmt::Debug for Yielder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Yielder")
            .field("closing", &self.is_closing())
            .finish_non_exhaustive()
    }
}

// === impl Yield ===

// The value is never pinned: it is moved into the shared slot on the first poll.
impl<T> Unpin for Yield<'_, T> {}

impl<T> Future for Yield<'_, T> {
    type Output = Result<(), Closed>;

    #[inline]
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = this.shared;
        if shared.close.get() != CloseState::Open {
            return Self::poll_closing(shared, this.value.take());
        }
        if this.value.is_none() {
            // Resumed after the hand-over: the consumer asked for the next item. Checked before
            // `take` so that this path writes nothing.
            return Poll::Ready(Ok(()));
        }
        shared.item.set(this.value.take());
        // No waker is registered: the consumer polls the body again when it wants more.
        Poll::Pending
    }
}

impl<T> Yield<'_, T> {
    /// `poll` once `close` was called: nothing is handed over any more.
    #[cold]
    #[inline(never)]
    fn poll_closing(shared: &Shared<T>, value: Option<T>) -> Poll<Result<(), Closed>> {
        let handing_over = value.is_some();
        // A yield reached while closing hands nothing over.
        drop(value);
        if handing_over && shared.close.get() != CloseState::Closing {
            // The body already got `Err(Closed)` and yields again: Python's "async generator
            // ignored GeneratorExit". The closer drops the body here.
            shared.close.set(CloseState::YieldedAfterClose);
            return Poll::Pending;
        }
        // Either the body was at this yield when `close` began, or it was suspended elsewhere
        // (a `next()` was dropped mid-await) and this is its first yield since: it learns of
        // the close here.
        if shared.close.get() == CloseState::Closing {
            shared.close.set(CloseState::Delivered);
        }
        Poll::Ready(Err(Closed))
    }
}

impl<T> fmt::Debug for Yield<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Yield")
            .field("handed_over", &self.value.is_none())
            .finish_non_exhaustive()
    }
}

// === impl Closed ===

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the generator was closed")
    }
}

impl Error for Closed {}
