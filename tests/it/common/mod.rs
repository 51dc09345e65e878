//! Test helpers shared by the test binaries: a flag waker, a poll-once helper, a trace log.
#![allow(dead_code, unreachable_pub)]

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// A waker that counts its wakes, for pending → woken → ready checks.
#[derive(Debug, Default)]
pub struct Flag {
    wakes: AtomicUsize,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

impl Flag {
    /// A fresh flag and its waker.
    pub fn new() -> (Arc<Flag>, Waker) {
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(Arc::clone(&flag));
        (flag, waker)
    }

    /// Whether the waker was woken since the last call; resets the flag.
    pub fn take(&self) -> bool {
        self.wakes.swap(0, Ordering::SeqCst) > 0
    }

    /// Whether the waker was woken since the last `take`, without resetting.
    pub fn is_woken(&self) -> bool {
        self.wakes.load(Ordering::SeqCst) > 0
    }
}

/// Polls `fut` once with `waker`.
pub fn poll_once<F: Future + Unpin>(fut: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

/// Polls `fut` once with a waker that does nothing.
pub fn poll_noop<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_once(fut, Waker::noop())
}

/// An event log that tasks append to; tests assert it in full.
#[derive(Debug, Clone, Default)]
pub struct Trace(Rc<RefCell<Vec<String>>>);

impl Trace {
    pub fn new() -> Trace {
        Trace::default()
    }

    pub fn push(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    /// The events so far, and clears the log.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

impl Trace {
    /// Appends an event (the same as `push`).
    pub fn log(&self, event: impl Into<String>) {
        self.push(event);
    }
}

/// Counts drops of the tokens it hands out.
#[derive(Clone, Default)]
pub struct DropCounter(Rc<std::cell::Cell<usize>>);

/// A value whose drop is counted by its [`DropCounter`].
pub struct Droppable(Rc<std::cell::Cell<usize>>);

impl DropCounter {
    pub fn new() -> DropCounter {
        DropCounter::default()
    }

    pub fn token(&self) -> Droppable {
        Droppable(self.0.clone())
    }

    pub fn count(&self) -> usize {
        self.0.get()
    }
}

impl Drop for Droppable {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

/// A future that counts its polls and stays pending until released, keeping its last waker.
#[derive(Clone, Default)]
pub struct Parked {
    pub polls: Rc<std::cell::Cell<usize>>,
    pub waker: Rc<RefCell<Option<Waker>>>,
    pub done: Rc<std::cell::Cell<bool>>,
}

impl Parked {
    pub fn new() -> Parked {
        Parked::default()
    }

    /// The future: pending until `release`, counting every poll.
    pub fn wait(&self) -> impl Future<Output = ()> + 'static {
        let this = self.clone();
        std::future::poll_fn(move |cx| {
            this.polls.set(this.polls.get() + 1);
            if this.done.get() {
                return Poll::Ready(());
            }
            *this.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        })
    }

    /// Wakes the parked task without releasing it.
    pub fn wake(&self) {
        self.waker
            .borrow()
            .as_ref()
            .expect("never polled")
            .wake_by_ref();
    }

    /// Lets the future finish and wakes it.
    pub fn release(&self) {
        self.done.set(true);
        self.wake();
    }
}
