//! Small futures: [`yield_now`].
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Gives up exactly one tick: every task that was ready when this was awaited runs first.
///
/// # Examples
/// ```
/// greenloop::block_on(async {
///     greenloop::yield_now().await;
/// });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        // The executor queues a task woken during its own poll behind every task that
        // was already ready, so this wake gives up exactly one tick.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
