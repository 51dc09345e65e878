//! The futures and the stream of a [`Queue`]: [`Put`], [`Get`], [`Join`], [`QueueStream`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;

use super::{Buffer, Fifo, HANDOFF, PutError, Queue, QueueCore, wake};
use crate::sync::Closed;
use crate::sync::waiters::WaiterId;

/// Future returned by [`Queue::put`].
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let q = greenloop::sync::Queue::bounded(1);
/// let put: greenloop::sync::Put<'_, i32> = q.put(1);
/// put.await.unwrap();
/// assert_eq!(q.len(), 1);
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Put<'a, T, B = Fifo<T>> {
    pub(super) queue: &'a Queue<T, B>,
    pub(super) item: Option<T>,
    pub(super) id: Option<WaiterId>,
}

/// Future returned by [`Queue::get`].
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let q = greenloop::sync::Queue::unbounded();
/// q.try_put('x').unwrap();
/// let get: greenloop::sync::Get<'_, char> = q.get();
/// assert_eq!(get.await, Ok('x'));
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Get<'a, T, B = Fifo<T>> {
    pub(super) queue: &'a Queue<T, B>,
    pub(super) id: Option<WaiterId>,
}

/// Future returned by [`Queue::join`].
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let q = greenloop::sync::Queue::<u8>::unbounded();
/// let join: greenloop::sync::Join<'_> = q.join();
/// join.await; // Nothing was ever put: completes at once.
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Join<'a> {
    pub(super) core: &'a QueueCore,
    pub(super) id: Option<WaiterId>,
}

/// The items of a [`Queue`] as a [`Stream`], from [`Queue::stream`]: lesson six's
/// `async for item in queue`. Ends when the queue is closed and drained.
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// use futures::StreamExt;
///
/// let q = greenloop::sync::Queue::unbounded();
/// q.try_put(1).unwrap();
/// q.try_put(2).unwrap();
/// q.close();
/// let mut items = q.stream();
/// let mut sum = 0;
/// while let Some(i) = items.next().await {
///     sum += i;
/// }
/// assert_eq!(sum, 3);
/// # });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct QueueStream<T, B = Fifo<T>> {
    pub(super) queue: Queue<T, B>,
    pub(super) id: Option<WaiterId>,
}

// === impl Put ===

// The item is never pinned (it is moved out by value), so `Put` may move.
impl<T, B> Unpin for Put<'_, T, B> {}

impl<T, B: Buffer<T>> Future for Put<'_, T, B> {
    type Output = Result<(), PutError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let queue = this.queue;
        let waker = {
            let mut st = queue.core.state.borrow_mut();
            match this.id {
                Some(waiter) => match st.putters.poll(waiter, cx.waker()) {
                    None => return Poll::Pending,
                    Some(token) => {
                        st.putters.remove(waiter);
                        this.id = None;
                        if token == HANDOFF {
                            st.reserved_slots -= 1;
                        }
                        if st.closed {
                            return Poll::Ready(Err(PutError(this.take_item())));
                        }
                        queue.push_item(&mut st, this.take_item())
                    }
                },
                None if st.closed => return Poll::Ready(Err(PutError(this.take_item()))),
                None if st.len + st.reserved_slots >= st.cap => {
                    this.id = Some(st.putters.push(cx.waker()));
                    return Poll::Pending;
                }
                None => queue.push_item(&mut st, this.take_item()),
            }
        };
        wake(waker);
        Poll::Ready(Ok(()))
    }
}

impl<T, B> Put<'_, T, B> {
    fn take_item(&mut self) -> T {
        self.item.take().expect("Put polled after completion")
    }
}

impl<T, B> Drop for Put<'_, T, B> {
    fn drop(&mut self) {
        let Some(waiter) = self.id.take() else { return };
        let waker = {
            let mut st = self.queue.core.state.borrow_mut();
            if st.putters.remove(waiter) != Some(HANDOFF) {
                return;
            }
            // The slot reserved for this putter goes to the next one.
            st.reserved_slots -= 1;
            st.hand_slot_to_putter()
        };
        wake(waker);
    }
}

impl<T, B> fmt::Debug for Put<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("waiting", &self.id.is_some())
            .finish_non_exhaustive()
    }
}

// === impl Get ===

impl<T, B: Buffer<T>> Future for Get<'_, T, B> {
    type Output = Result<T, Closed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, Closed>> {
        let this = self.get_mut();
        this.queue.poll_get(&mut this.id, cx)
    }
}

impl<T, B> Drop for Get<'_, T, B> {
    fn drop(&mut self) {
        if self.id.is_some() {
            drop_get(self.queue, &mut self.id);
        }
    }
}

impl<T, B> fmt::Debug for Get<'_, T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get")
            .field("waiting", &self.id.is_some())
            .finish()
    }
}

// === impl Join ===

impl Future for Join<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut st = this.core.state.borrow_mut();
        match this.id {
            Some(waiter) => match st.joiners.poll(waiter, cx.waker()) {
                Some(_) => {
                    st.joiners.remove(waiter);
                    this.id = None;
                    Poll::Ready(())
                }
                None => Poll::Pending,
            },
            None if st.unfinished == 0 => Poll::Ready(()),
            None => {
                this.id = Some(st.joiners.push(cx.waker()));
                Poll::Pending
            }
        }
    }
}

impl Drop for Join<'_> {
    fn drop(&mut self) {
        if let Some(waiter) = self.id.take() {
            self.core.state.borrow_mut().joiners.remove(waiter);
        }
    }
}

impl fmt::Debug for Join<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("waiting", &self.id.is_some())
            .finish()
    }
}

// === impl QueueStream ===

impl<T, B: Buffer<T>> Stream for QueueStream<T, B> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.queue.poll_get(&mut this.id, cx).map(Result::ok)
    }
}

// The stream holds no item, only handles, so it may move.
impl<T, B> Unpin for QueueStream<T, B> {}

impl<T, B> Drop for QueueStream<T, B> {
    fn drop(&mut self) {
        if self.id.is_some() {
            drop_get(&self.queue, &mut self.id);
        }
    }
}

impl<T, B> fmt::Debug for QueueStream<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueStream")
            .field("queue", &self.queue)
            .finish()
    }
}

/// Passes a handed-over item on; needs no `Buffer` bound, so `Drop` impls can call it.
fn drop_get<T, B>(queue: &Queue<T, B>, id: &mut Option<WaiterId>) {
    let Some(waiter) = id.take() else { return };
    let waker = {
        let mut st = queue.core.state.borrow_mut();
        if st.getters.remove(waiter) != Some(HANDOFF) || st.discarded {
            return;
        }
        let waker = st.getters.notify_first(HANDOFF);
        if waker.is_none() {
            // Nobody else waits: the item becomes available to `try_get`.
            st.reserved_items -= 1;
        }
        waker
    };
    wake(waker);
}
