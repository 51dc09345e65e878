//! Helpers shared by the gather, race, stream and task_group test binaries: a counting waker and
//! a hand-polling harness, a manually opened gate, poll counters, drop flags and an event trace.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Wake, Waker};

pub(crate) type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// A waker that counts its wakes.
#[derive(Default)]
pub(crate) struct CountingWaker(pub(crate) AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls futures by hand with a [`CountingWaker`].
pub(crate) struct Harness {
    wakes: Arc<CountingWaker>,
    pub(crate) waker: Waker,
}

impl Harness {
    pub(crate) fn new() -> Self {
        let wakes = Arc::new(CountingWaker::default());
        let waker = Waker::from(Arc::clone(&wakes));
        Harness { wakes, waker }
    }

    pub(crate) fn poll<F: Future + Unpin>(&self, future: &mut F) -> Poll<F::Output> {
        Pin::new(future).poll(&mut Context::from_waker(&self.waker))
    }

    pub(crate) fn wakes(&self) -> usize {
        self.wakes.0.load(Ordering::SeqCst)
    }
}

/// A future that completes once its gate is opened; opening wakes the waiter.
#[derive(Clone, Default)]
pub(crate) struct Gate(Rc<RefCell<(bool, Option<Waker>)>>);

impl Gate {
    pub(crate) fn open(&self) {
        let waker = {
            let mut state = self.0.borrow_mut();
            state.0 = true;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(crate) async fn wait(self) {
        std::future::poll_fn(|cx| {
            let mut state = self.0.borrow_mut();
            if state.0 {
                Poll::Ready(())
            } else {
                state.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// Counts the polls of the future it wraps.
pub(crate) fn counted<F: Future>(
    polls: Rc<Cell<usize>>,
    future: F,
) -> impl Future<Output = F::Output> {
    let mut future = Box::pin(future);
    std::future::poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        future.as_mut().poll(cx)
    })
}

/// Sets its flag when dropped.
pub(crate) struct DropFlag(pub(crate) Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// A future that never finishes and sets `flag` when dropped (cancelled).
pub(crate) fn forever<T>(flag: &Rc<Cell<bool>>) -> impl Future<Output = T> + 'static {
    let guard = DropFlag(Rc::clone(flag));
    async move {
        let _guard = guard;
        std::future::pending().await
    }
}

/// Gives up `n` ticks of greenloop's executor.
pub(crate) async fn yield_times(n: usize) {
    for _ in 0..n {
        greenloop::yield_now().await;
    }
}

/// An event log asserted in full.
#[derive(Clone, Default)]
pub(crate) struct Trace(Rc<RefCell<Vec<String>>>);

impl Trace {
    pub(crate) fn log(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

/// Runs `future` on a fresh executor with a virtual clock: sleeps cost no real time.
pub(crate) fn virtual_block_on<F: Future>(future: F) -> F::Output {
    greenloop::Executor::builder()
        .virtual_clock()
        .build()
        .block_on(future)
}

/// Virtual seconds elapsed since `start`.
pub(crate) fn secs_since(start: std::time::Instant) -> u64 {
    (greenloop::time::now() - start).as_secs()
}
