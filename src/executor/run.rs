//! `Executor::run`: the executor as a future, for embedding in another `block_on`.
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use super::Executor;
use super::run_queue::MainWake;
use super::scheduler::Entered;

/// Future returned by [`Executor::run`]: drives the executor from another `block_on`.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Run<'a, F> {
    executor: &'a Executor,
    future: Pin<Box<F>>,
    main: Option<(Arc<MainWake>, Waker)>,
    /// Wakes the outer executor at greenloop's next real-clock deadline.
    #[cfg(feature = "async-io")]
    alarm: Option<async_io::Timer>,
}

impl<'a, F> Run<'a, F> {
    pub(super) fn new(executor: &'a Executor, future: F) -> Run<'a, F> {
        Run {
            executor,
            future: Box::pin(future),
            main: None,
            #[cfg(feature = "async-io")]
            alarm: None,
        }
    }
}

/// How many ticks one poll of [`Run`] may run before it yields to whoever drives it, so that
/// their reactor (async-io's, say) gets a turn [async-executor `run`: 200 tasks].
const RUN_TICK_BUDGET: usize = 64;

// === impl Run ===

impl<F: Future> Future for Run<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let core = &*this.executor.core;
        let _enter = Entered::new(core);
        // Register first: a remote wake from now on wakes the outer executor.
        core.shared.set_host_waker(cx.waker());
        let (main, main_waker) = this.main.get_or_insert_with(|| {
            let main = MainWake::new(Arc::clone(&core.shared));
            let waker = Waker::from(Arc::clone(&main));
            (main, waker)
        });
        core.adopt_main(main);
        let mut main_cx = Context::from_waker(main_waker);
        let mut output = None;
        for _ in 0..RUN_TICK_BUDGET {
            let tick = core.tick(&mut || {
                if output.is_none() {
                    if let Poll::Ready(value) = this.future.as_mut().poll(&mut main_cx) {
                        output = Some(value);
                    }
                }
            });
            if let Some(value) = output.take() {
                core.clear_main(main);
                this.main = None;
                return Poll::Ready(value);
            }
            if !tick.has_ready {
                if core.time.is_virtual() && core.time.jump_to_next_deadline() {
                    continue; // virtual time: the next timer is due now
                }
                this.arm_alarm(cx);
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<F> Run<'_, F> {
    /// With nothing ready, the outer executor must still be woken at greenloop's next timer
    /// deadline: an async-io timer does it (async-io's reactor wakes the outer waker).
    #[cfg(feature = "async-io")]
    fn arm_alarm(&mut self, cx: &mut Context<'_>) {
        let time = &self.executor.core.time;
        match time.next_deadline() {
            Some(deadline) if !time.is_virtual() => {
                let alarm = self
                    .alarm
                    .get_or_insert_with(|| async_io::Timer::at(deadline));
                alarm.set_at(deadline);
                // Registers the outer waker with async-io; it fires at the deadline. If the
                // deadline has already passed, the timer is ready without registering
                // anything: ask to be polled again at once, and the next tick fires it.
                if Pin::new(alarm).poll(cx).is_ready() {
                    cx.waker().wake_by_ref();
                }
            }
            _ => self.alarm = None,
        }
    }

    /// Without the `async-io` feature, a `Run` future whose tasks wait only on timers relies
    /// on its outer executor to poll it again by the deadline.
    #[cfg(not(feature = "async-io"))]
    fn arm_alarm(&mut self, _cx: &mut Context<'_>) {}
}

impl<F> Drop for Run<'_, F> {
    fn drop(&mut self) {
        if let Some((main, _)) = &self.main {
            self.executor.core.clear_main(main);
        }
    }
}

impl<F> fmt::Debug for Run<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("executor", self.executor)
            .finish_non_exhaustive()
    }
}
