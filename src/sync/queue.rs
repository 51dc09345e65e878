//! [`Queue`] (FIFO), [`LifoQueue`] and [`PriorityQueue`]: asyncio's queues, with strict
//! hand-off, `task_done`/`join`, graceful and immediate close, and a [`Stream`] of items.
//!
//! # Implementation notes
//! The state is split in two `Rc`s: the non-generic [`QueueCore`] (counters and the three
//! waiter lists: getters, putters, joiners), which the diagnostics registry can hold as a
//! `Weak<dyn WaitSource>` whatever `T` is, and the generic item buffer.
//!
//! Hand-off works by reservation. A `put` that finds getters waiting pushes the item into the
//! buffer and reserves it for the first getter (`reserved_items`); a `get` that frees a slot
//! while putters wait reserves the slot for the first putter (`reserved_slots`). Reserved
//! items and slots are invisible to `try_get`/`try_put`, so nobody can barge in, and a
//! woken waiter that is dropped gives its reservation to the next waiter. Invariants:
//! getters wait only while every buffered item is reserved; putters wait only while every
//! slot is taken or reserved.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

#[cfg(doc)]
use futures::Stream;

use super::diag::{self, WaitSource};
use super::waiters::{WaiterId, WaiterList};

mod buffer;
mod error;
mod future;

pub use buffer::{Buffer, Fifo, Lifo, LifoQueue, Priority, PriorityQueue};
pub use error::{Closed, PutError, TaskDoneError, TryGetError, TryPutError};
pub use future::{Get, Join, Put, QueueStream};

/// Notification token: the waiter owns a reserved item or slot.
const HANDOFF: usize = 0;
/// Notification token: the queue was closed.
const CLOSED: usize = 1;

/// An async queue of items between tasks: asyncio's `Queue`, first in, first out.
///
/// [`put`](Queue::put) waits while a bounded queue is full, [`get`](Queue::get) waits while
/// it is empty. Waiters are served in FIFO order with strict hand-off: the woken getter owns
/// its item (and the woken putter its free slot) before it runs, so a task that did not wait
/// cannot take it (asyncio lets it and makes the woken task re-check, spec §4/§16).
///
/// Every item put counts as unfinished until [`task_done`](Queue::task_done) is called for
/// it; [`join`](Queue::join) waits until none is left. [`close`](Queue::close) and
/// [`close_immediately`](Queue::close_immediately) are asyncio's `shutdown()` and
/// `shutdown(immediate=True)`. [`stream`](Queue::stream) gives the items as a [`Stream`]
/// that ends when the queue is closed and drained.
///
/// [`LifoQueue`] and [`PriorityQueue`] are the same type with another buffer order `B`.
///
/// A `Queue` is a cheap `Clone` handle: clones share the items. It is `!Send`: it moves
/// items between tasks of one thread. Between threads use a thread-safe channel such as
/// async-channel.
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<greenloop::sync::Queue<u8>>();
/// ```
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// use greenloop::sync::Queue;
///
/// let q = Queue::bounded(1);
/// let producer = async {
///     for i in 0..3 {
///         q.put(i).await.unwrap(); // Waits while the queue is full.
///     }
///     q.close();
/// };
/// let consumer = async {
///     let mut got = Vec::new();
///     while let Ok(i) = q.get().await {
///         got.push(i);
///     }
///     got
/// };
/// let ((), got) = futures::join!(producer, consumer);
/// assert_eq!(got, [0, 1, 2]);
/// # });
/// ```
pub struct Queue<T, B = Fifo<T>> {
    core: Rc<QueueCore>,
    items: Rc<RefCell<B>>,
    _item: PhantomData<T>,
}

/// The non-generic state of a queue.
#[derive(Debug)]
struct QueueCore {
    state: RefCell<QueueState>,
}

#[derive(Debug)]
struct QueueState {
    /// Items in the buffer, reserved ones included.
    len: usize,
    /// `usize::MAX` when unbounded.
    cap: usize,
    /// Buffered items promised to woken getters.
    reserved_items: usize,
    /// Free slots promised to woken putters.
    reserved_slots: usize,
    /// Items put and not yet marked done.
    unfinished: usize,
    closed: bool,
    /// Set by `close_immediately`: the buffer was emptied and reservations void.
    discarded: bool,
    getters: WaiterList,
    putters: WaiterList,
    joiners: WaiterList,
    /// `Queue`, `LifoQueue` or `PriorityQueue`, for diagnostics.
    kind: &'static str,
    name: Option<Box<str>>,
}

// === impl Queue ===

/// Pre-allocate at most this many slots, however large the bound.
const PREALLOC: usize = 1024;

impl<T> Queue<T> {
    /// A FIFO queue holding at most `capacity` items.
    ///
    /// # Panics
    /// If `capacity` is zero (use [`unbounded`](Self::unbounded) for asyncio's `maxsize=0`).
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::Queue::<u8>::bounded(8);
    /// assert_eq!(q.capacity(), Some(8));
    /// ```
    pub fn bounded(capacity: usize) -> Self {
        Self::with_kind("Queue", Some(capacity))
    }

    /// A FIFO queue without a bound: `put` never waits.
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::Queue::<u8>::unbounded();
    /// assert_eq!(q.capacity(), None);
    /// ```
    pub fn unbounded() -> Self {
        Self::with_kind("Queue", None)
    }
}

impl<T, B: Buffer<T>> Queue<T, B> {
    fn with_kind(kind: &'static str, capacity: Option<usize>) -> Self {
        assert!(
            capacity != Some(0),
            "a bounded queue needs a capacity of at least one"
        );
        let cap = capacity.unwrap_or(usize::MAX);
        let state = QueueState {
            len: 0,
            cap,
            reserved_items: 0,
            reserved_slots: 0,
            unfinished: 0,
            closed: false,
            discarded: false,
            getters: WaiterList::new(),
            putters: WaiterList::new(),
            joiners: WaiterList::new(),
            kind,
            name: None,
        };
        let core = super::registered(QueueCore {
            state: RefCell::new(state),
        });
        let items = Rc::new(RefCell::new(B::with_capacity(cap.min(PREALLOC))));
        Self {
            core,
            items,
            _item: PhantomData,
        }
    }

    /// Names the queue in diagnostics (what a blocked task waits on).
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::Queue::<u8>::bounded(1).with_name("mailbox");
    /// assert_eq!(q.name().as_deref(), Some("mailbox"));
    /// ```
    pub fn with_name(self, name: impl Into<Box<str>>) -> Self {
        self.core.state.borrow_mut().name = Some(name.into());
        self
    }

    /// The name given by [`with_name`](Self::with_name).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::Queue::<u8>::unbounded().name(), None);
    /// ```
    pub fn name(&self) -> Option<String> {
        self.core.state.borrow().name.as_deref().map(str::to_owned)
    }

    /// Puts `item` into the queue, waiting while it is full.
    ///
    /// Completes without suspending if there is room and no putter waits. Waiting putters
    /// are served in FIFO order.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes does not put the item (it is dropped with
    /// the future) and loses no slot: a slot already handed to it goes to the next putter.
    ///
    /// # Errors
    /// [`PutError`] with the item if the queue is closed, or is closed while waiting.
    ///
    /// # Examples
    /// ```
    /// # greenloop::block_on(async {
    /// let q = greenloop::sync::Queue::bounded(2);
    /// q.put(1).await.unwrap();
    /// q.put(2).await.unwrap();
    /// assert!(q.is_full());
    /// # });
    /// ```
    pub fn put(&self, item: T) -> Put<'_, T, B> {
        Put {
            queue: self,
            item: Some(item),
            id: None,
        }
    }

    /// Removes and returns the next item, waiting while the queue is empty.
    ///
    /// Completes without suspending if an item is available. Waiting getters are served in
    /// FIFO order. After [`close`](Self::close), the remaining items are still returned.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes loses no item: an item already handed to it
    /// goes to the next getter, or stays in the queue.
    ///
    /// # Errors
    /// [`Closed`] if the queue is closed and empty (or was closed immediately).
    ///
    /// # Examples
    /// ```
    /// # greenloop::block_on(async {
    /// let q = greenloop::sync::Queue::bounded(1);
    /// q.put(7).await.unwrap();
    /// assert_eq!(q.get().await, Ok(7));
    /// # });
    /// ```
    pub fn get(&self) -> Get<'_, T, B> {
        Get {
            queue: self,
            id: None,
        }
    }

    /// Puts `item` if there is room and no putter waits; never waits.
    ///
    /// # Errors
    /// [`TryPutError::Full`] or [`TryPutError::Closed`], with the item.
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::Queue::bounded(1);
    /// assert!(q.try_put('a').is_ok());
    /// assert_eq!(q.try_put('b'), Err(greenloop::sync::TryPutError::Full('b')));
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), TryPutError<T>> {
        let waker = {
            let mut st = self.core.state.borrow_mut();
            if st.closed {
                return Err(TryPutError::Closed(item));
            }
            if st.len + st.reserved_slots >= st.cap {
                return Err(TryPutError::Full(item));
            }
            debug_assert!(
                st.putters.is_empty(),
                "room in the queue while putters wait"
            );
            self.push_item(&mut st, item)
        };
        wake(waker);
        Ok(())
    }

    /// Removes and returns the next item if one is available; never waits.
    ///
    /// Items already handed to woken getters are not available.
    ///
    /// # Errors
    /// [`TryGetError::Empty`], or [`TryGetError::Closed`] once closed and drained.
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::Queue::unbounded();
    /// q.try_put(1).unwrap();
    /// assert_eq!(q.try_get(), Ok(1));
    /// assert_eq!(q.try_get(), Err(greenloop::sync::TryGetError::Empty));
    /// ```
    pub fn try_get(&self) -> Result<T, TryGetError> {
        let (item, waker) = {
            let mut st = self.core.state.borrow_mut();
            if st.len == st.reserved_items {
                return Err(if st.closed {
                    TryGetError::Closed
                } else {
                    TryGetError::Empty
                });
            }
            self.pop_item(&mut st)
        };
        wake(waker);
        Ok(item)
    }

    /// Number of items in the queue (including items handed to woken getters that have not
    /// run yet). asyncio's `qsize()`.
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::Queue::unbounded();
    /// q.try_put(()).unwrap();
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.core.state.borrow().len
    }

    /// Whether the queue holds no item.
    ///
    /// # Examples
    /// ```
    /// assert!(greenloop::sync::Queue::<u8>::unbounded().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a bounded queue has no free slot (slots handed to woken putters count as
    /// taken), so that `try_put` fails with `Full`. Never true when unbounded.
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::Queue::bounded(1);
    /// assert!(!q.is_full());
    /// q.try_put(0).unwrap();
    /// assert!(q.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        let st = self.core.state.borrow();
        st.cap != usize::MAX && st.len + st.reserved_slots >= st.cap
    }

    /// The bound, or `None` when unbounded. asyncio's `maxsize`.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::Queue::<u8>::bounded(3).capacity(), Some(3));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        let cap = self.core.state.borrow().cap;
        (cap != usize::MAX).then_some(cap)
    }

    /// Marks one item as processed. When every item ever put is done, [`join`](Self::join)
    /// completes.
    ///
    /// Not tied to `get`: any task may call it, even before any `get`.
    ///
    /// # Errors
    /// [`TaskDoneError`] if there are no unfinished items.
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::Queue::unbounded();
    /// q.try_put(1).unwrap();
    /// assert_eq!(q.task_done(), Ok(()));
    /// assert!(q.task_done().is_err());
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let n = {
            let mut st = self.core.state.borrow_mut();
            if st.unfinished == 0 {
                return Err(TaskDoneError);
            }
            st.unfinished -= 1;
            if st.unfinished > 0 {
                return Ok(());
            }
            st.joiners.len()
        };
        self.core.notify(n, |st| &mut st.joiners, HANDOFF);
        Ok(())
    }

    /// Waits until every item ever put has been marked with [`task_done`](Self::task_done).
    ///
    /// Completes without suspending if no item is unfinished.
    ///
    /// # Cancel safety
    /// Dropping the future just removes the waiter.
    ///
    /// # Examples
    /// ```
    /// # greenloop::block_on(async {
    /// let q = greenloop::sync::Queue::unbounded();
    /// q.try_put("job").unwrap();
    /// let worker = async {
    ///     let job = q.get().await.unwrap();
    ///     q.task_done().unwrap();
    ///     job
    /// };
    /// let (job, ()) = futures::join!(worker, q.join());
    /// assert_eq!(job, "job");
    /// # });
    /// ```
    pub fn join(&self) -> Join<'_> {
        Join {
            core: &self.core,
            id: None,
        }
    }

    /// Closes the queue gracefully (asyncio's `shutdown()`): `put`s fail from now on, and
    /// waiting putters fail with their item; the items already queued can still be taken,
    /// then `get`s fail with [`Closed`]. Idempotent.
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::Queue::unbounded();
    /// q.try_put(1).unwrap();
    /// q.close();
    /// assert!(q.try_put(2).is_err());
    /// assert_eq!(q.try_get(), Ok(1));
    /// assert_eq!(q.try_get(), Err(greenloop::sync::TryGetError::Closed));
    /// ```
    pub fn close(&self) {
        self.core.state.borrow_mut().closed = true;
        self.core.wake_all_waiters();
    }

    /// Closes the queue and discards its items (asyncio's `shutdown(immediate=True)`).
    ///
    /// Every `get` fails from now on, including getters that were woken but have not run.
    /// The discarded items count as done for [`join`](Self::join) (items already taken
    /// still need [`task_done`](Self::task_done)).
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::Queue::unbounded();
    /// q.try_put(1).unwrap();
    /// q.close_immediately();
    /// assert!(q.is_empty());
    /// assert_eq!(q.try_get(), Err(greenloop::sync::TryGetError::Closed));
    /// assert!(q.task_done().is_err()); // The discarded item counted as done.
    /// ```
    pub fn close_immediately(&self) {
        let (discarded, joiners) = {
            let mut st = self.core.state.borrow_mut();
            st.closed = true;
            st.discarded = true;
            let discarded = std::mem::replace(&mut *self.items.borrow_mut(), B::with_capacity(0));
            let n = discarded.len();
            st.len = 0;
            st.reserved_items = 0;
            st.unfinished = st.unfinished.saturating_sub(n);
            (
                discarded,
                if st.unfinished == 0 {
                    st.joiners.len()
                } else {
                    0
                },
            )
        };
        // Items run their destructors outside the borrow: they may use the queue.
        drop(discarded);
        self.core.notify(joiners, |st| &mut st.joiners, HANDOFF);
        self.core.wake_all_waiters();
    }

    /// Whether [`close`](Self::close) or [`close_immediately`](Self::close_immediately) was
    /// called.
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::Queue::<u8>::unbounded();
    /// q.close();
    /// assert!(q.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.core.state.borrow().closed
    }

    /// The items as a [`Stream`] (lesson six's `async for item in queue`), ending when the
    /// queue is closed and drained: `while let Some(x) = stream.next().await { ... }`.
    ///
    /// The stream owns a clone of the handle. Each `poll_next` is a [`get`](Self::get), with
    /// the same FIFO order and cancel safety.
    ///
    /// # Examples
    /// ```
    /// # greenloop::block_on(async {
    /// use futures::StreamExt;
    ///
    /// let q = greenloop::sync::Queue::unbounded();
    /// for word in ["a", "b"] {
    ///     q.try_put(word).unwrap();
    /// }
    /// q.close();
    /// assert_eq!(q.stream().collect::<Vec<_>>().await, ["a", "b"]);
    /// # });
    /// ```
    pub fn stream(&self) -> QueueStream<T, B> {
        QueueStream {
            queue: self.clone(),
            id: None,
        }
    }

    /// Pushes an item into room that the caller checked; returns a getter to wake.
    fn push_item(&self, st: &mut QueueState, item: T) -> Option<Waker> {
        self.items.borrow_mut().push(item);
        st.len += 1;
        st.unfinished += 1;
        let waker = st.getters.notify_first(HANDOFF);
        if waker.is_some() {
            st.reserved_items += 1;
        }
        waker
    }

    /// Pops an item that the caller checked is there; returns a putter to wake.
    fn pop_item(&self, st: &mut QueueState) -> (T, Option<Waker>) {
        let item = self
            .items
            .borrow_mut()
            .pop()
            .expect("the queue's length counts its items");
        st.len -= 1;
        (item, st.hand_slot_to_putter())
    }

    /// `Get`'s and `QueueStream`'s poll.
    fn poll_get(&self, id: &mut Option<WaiterId>, cx: &mut Context<'_>) -> Poll<Result<T, Closed>> {
        let (item, waker) = {
            let mut st = self.core.state.borrow_mut();
            match *id {
                Some(waiter) => match st.getters.poll(waiter, cx.waker()) {
                    None => return Poll::Pending,
                    Some(token) => {
                        st.getters.remove(waiter);
                        *id = None;
                        if token != HANDOFF || st.discarded {
                            return Poll::Ready(Err(Closed));
                        }
                        st.reserved_items -= 1;
                        self.pop_item(&mut st)
                    }
                },
                None if st.len > st.reserved_items => self.pop_item(&mut st),
                None if st.closed => return Poll::Ready(Err(Closed)),
                None => {
                    *id = Some(st.getters.push(cx.waker()));
                    return Poll::Pending;
                }
            }
        };
        wake(waker);
        Poll::Ready(Ok(item))
    }
}

impl<T, B> Clone for Queue<T, B> {
    fn clone(&self) -> Self {
        Self {
            core: Rc::clone(&self.core),
            items: Rc::clone(&self.items),
            _item: PhantomData,
        }
    }
}

impl<T, B> fmt::Debug for Queue<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.core.state.borrow();
        f.debug_struct(st.kind)
            .field("name", &st.name)
            .field("len", &st.len)
            .field("capacity", &(st.cap != usize::MAX).then_some(st.cap))
            .field("unfinished", &st.unfinished)
            .field("closed", &st.closed)
            .field("getters", &st.getters.len())
            .field("putters", &st.putters.len())
            .finish()
    }
}

// === impl QueueCore ===

impl QueueCore {
    /// Notifies the first `n` waiters of one list with `token`, waking outside the borrow.
    fn notify(&self, n: usize, list: fn(&mut QueueState) -> &mut WaiterList, token: usize) {
        for _ in 0..n {
            let waker = list(&mut self.state.borrow_mut()).notify_first(token);
            match waker {
                Some(waker) => waker.wake(),
                None => break,
            }
        }
    }

    /// After a close: every waiting getter and putter fails with `Closed`.
    fn wake_all_waiters(&self) {
        let (getters, putters) = {
            let st = self.state.borrow();
            (st.getters.len(), st.putters.len())
        };
        self.notify(getters, |st| &mut st.getters, CLOSED);
        self.notify(putters, |st| &mut st.putters, CLOSED);
    }
}

impl QueueState {
    /// If a putter waits and a slot is free, reserves the slot for it; returns its waker.
    fn hand_slot_to_putter(&mut self) -> Option<Waker> {
        if self.closed || self.len + self.reserved_slots >= self.cap {
            return None;
        }
        let waker = self.putters.notify_first(HANDOFF);
        if waker.is_some() {
            self.reserved_slots += 1;
        }
        waker
    }
}

impl WaitSource for QueueCore {
    fn waiting(&self, f: &mut dyn FnMut(&Waker, &str)) {
        // A primitive mutably borrowed right now (a report taken from inside its own
        // operation) is skipped rather than panicking.
        let Ok(st) = self.state.try_borrow() else {
            return;
        };
        let name = st.name.as_deref();
        let cap = if st.cap == usize::MAX {
            "unbounded".to_owned()
        } else {
            st.cap.to_string()
        };
        let fill = format!("{}/{cap}", st.len);
        if !st.getters.is_empty() {
            let d = diag::describe(
                &format!("{}::get", st.kind),
                name,
                &format!("empty, {fill}"),
            );
            st.getters.for_each_waiting(|w| f(w, &d));
        }
        if !st.putters.is_empty() {
            let d = diag::describe(&format!("{}::put", st.kind), name, &format!("full, {fill}"));
            st.putters.for_each_waiting(|w| f(w, &d));
        }
        if !st.joiners.is_empty() {
            let state = format!("{} unfinished", st.unfinished);
            let d = diag::describe(&format!("{}::join", st.kind), name, &state);
            st.joiners.for_each_waiting(|w| f(w, &d));
        }
    }
}

pub(super) fn wake(waker: Option<Waker>) {
    if let Some(waker) = waker {
        waker.wake();
    }
}
