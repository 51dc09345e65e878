//! Helpers shared by the test binaries: an event trace, drop and poll counters, a flag waker.
#![allow(dead_code, unreachable_pub)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

/// An event log, asserted in full.
#[derive(Clone, Default)]
pub struct Trace(Rc<RefCell<Vec<String>>>);

impl Trace {
    pub fn new() -> Trace {
        Trace::default()
    }

    pub fn log(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    pub fn events(&self) -> Vec<String> {
        self.0.borrow().clone()
    }
}

/// Counts drops of the values it hands out.
#[derive(Clone, Default)]
pub struct DropCounter(Rc<Cell<usize>>);

pub struct Droppable(Rc<Cell<usize>>);

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

/// A future that counts its polls and stays pending, keeping the last waker for the test.
#[derive(Clone, Default)]
pub struct Parked {
    pub polls: Rc<Cell<usize>>,
    pub waker: Rc<RefCell<Option<Waker>>>,
    pub done: Rc<Cell<bool>>,
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

    pub fn wake(&self) {
        self.waker
            .borrow()
            .as_ref()
            .expect("never polled")
            .wake_by_ref();
    }

    pub fn release(&self) {
        self.done.set(true);
        self.wake();
    }
}

/// A waker that counts its wakes, for polling futures by hand.
#[derive(Default)]
pub struct FlagWaker(AtomicUsize);

impl Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl FlagWaker {
    pub fn new() -> (Arc<FlagWaker>, Waker) {
        let flag = Arc::new(FlagWaker::default());
        let waker = Waker::from(flag.clone());
        (flag, waker)
    }

    pub fn wakes(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Polls a future once with `waker`.
pub fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}
