//! Time: [`sleep`], [`timeout`], [`interval`] and the executor's clock, [`now`].
//!
//! - `mod.rs`: the public API: [`sleep`], [`sleep_until`], [`timeout`], [`timeout_at`],
//!   [`Elapsed`], [`interval`], [`interval_at`], [`Interval`], [`MissedTickBehavior`], [`now`].
//! - `interval.rs`: [`Interval`] and its missed-tick policy.
//! - `driver.rs`: the `Driver` each executor owns (clock + timers), the thread-local current
//!   driver, and `Timer`, the registration every future here is built on.
//! - `timers.rs`: the timer structure, a radix heap with lazy deletion over a slab (unit
//!   tests in `timers/tests.rs`).
//! - `clock.rs`: the real clock or a virtual one.
//!
//! Timers belong to the executor: there is no timer thread. When no task is ready, an
//! executor on the real clock parks until the earliest deadline; an executor built with
//! [`ExecutorBuilder::virtual_clock`](crate::ExecutorBuilder::virtual_clock) never waits:
//! time jumps to the earliest deadline, so a program that sleeps for minutes of virtual time
//! finishes in milliseconds, identically on every run.
//!
//! # Ordering
//!
//! At the start of every tick the executor wakes every timer whose deadline has passed,
//! earliest deadline first, and equal deadlines in creation order (a [`Sleep`] is created
//! when [`sleep`] is called). Those tasks then run in that order, after the tasks that were
//! already ready (asyncio's order).
//!
//! # Outside an executor
//!
//! The futures here find the executor's clock through a thread-local that the executor sets
//! while it runs. One created outside an executor (say, `block_on(sleep(d))`) binds to the
//! executor that first polls it, and measures its duration from that first poll. A future
//! belongs to that executor: only it can fire the timer. Polling one on a thread that is not
//! running a greenloop executor, or on another executor than its own, panics with a message
//! saying so (when the timer would be filed); it never hangs. `sleep(Duration::ZERO)` needs
//! no executor: it only yields.
//!
//! Timers from other runtimes keep working inside greenloop: async-io's `Timer` has its
//! own reactor thread and wakes greenloop tasks through their wakers.
//!
//! # Examples
//! ```
//! use greenloop::time::{sleep, timeout, Elapsed};
//! use std::time::Duration;
//!
//! let ex = greenloop::Executor::builder().virtual_clock().build();
//! ex.block_on(async {
//!     let start = greenloop::time::now();
//!     // The slow future is dropped when the timeout's deadline passes.
//!     let slow = sleep(Duration::from_secs(60));
//!     assert_eq!(timeout(Duration::from_secs(1), slow).await, Err(Elapsed::new()));
//!     // Exactly one virtual second went by, in no real time at all.
//!     assert_eq!(greenloop::time::now() - start, Duration::from_secs(1));
//! });
//! ```
mod clock;
pub(crate) mod driver;
mod interval;
mod timers;

pub use interval::{Interval, IntervalTick, MissedTickBehavior, interval, interval_at};

use driver::Timer;
use pin_project_lite::pin_project;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Waits until `duration` has passed on the executor's clock.
///
/// The deadline is `now() + duration`, taken when `sleep` is called (or at the first poll,
/// if called outside an executor). A sleep completes only when the executor fires its timer,
/// at the start of the first tick after the deadline; so every sleep suspends at least once,
/// like asyncio's `await sleep(d)`, and one whose deadline has already passed at its first
/// poll completes in the next tick. `sleep(Duration::ZERO)` is exactly
/// [`yield_now`](crate::yield_now): it registers no timer and needs no executor.
///
/// # Cancel safety
/// Dropping the [`Sleep`] removes its timer; nothing else is lost.
///
/// # Panics
/// The returned future panics when polled on a thread that is not running a greenloop
/// executor ("greenloop::time::sleep called outside a greenloop executor"), unless
/// `duration` is zero.
///
/// # Examples
/// ```
/// use std::time::Duration;
///
/// let ex = greenloop::Executor::builder().virtual_clock().build();
/// ex.block_on(async {
///     let start = greenloop::time::now();
///     greenloop::time::sleep(Duration::from_secs(20)).await;
///     assert_eq!(greenloop::time::now() - start, Duration::from_secs(20));
/// });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    if duration.is_zero() {
        return Sleep {
            state: SleepState::Yield { yielded: false },
        };
    }
    Sleep::new(LazyTimer::new(Target::after(duration), Caller::Sleep))
}

/// Waits until `deadline` on the executor's clock.
///
/// Like [`sleep`], the future suspends at least once: a deadline that has already passed
/// at the first poll completes in the next tick.
///
/// # Cancel safety
/// Dropping the [`Sleep`] removes its timer; nothing else is lost.
///
/// # Panics
/// The returned future panics when polled on a thread that is not running a greenloop
/// executor.
///
/// # Examples
/// ```
/// use std::time::Duration;
///
/// let ex = greenloop::Executor::builder().virtual_clock().build();
/// ex.block_on(async {
///     let deadline = greenloop::time::now() + Duration::from_millis(1500);
///     greenloop::time::sleep_until(deadline).await;
///     assert_eq!(greenloop::time::now(), deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(LazyTimer::new(Target::At(deadline), Caller::SleepUntil))
}

/// Runs `future` with a time limit: `Ok(output)` if it completes within `duration`,
/// `Err(Elapsed)` otherwise.
///
/// Each poll polls `future` first, then looks whether the executor has fired the timeout's
/// timer (it does so at the start of the first tick after the deadline), so a future that
/// is ready in that poll still wins. Once the timer has fired, the [`Timeout`] completes
/// with `Err(Elapsed)` and `future` is dropped when the `Timeout` is (the usual
/// `timeout(d, f).await` drops it at once). Dropping is Rust's cancellation: where asyncio
/// raises `CancelledError` inside the body, here the body simply never resumes. As in
/// asyncio, a deadline already past at the first poll fires in the next tick: `future` is
/// polled once more then, and `timeout(Duration::ZERO, f)` lets `f` run up to its first
/// suspension.
///
/// **Nested timeouts**: each `Timeout` reports only its own deadline. When both deadlines
/// pass before the same tick, the inner one reports (`Ok(Err(Elapsed))` from the outer),
/// because the outer polls its inner future before looking at its own timer. asyncio does
/// the opposite (the outermost expired `timeout()` converts the cancellation).
///
/// # Cancel safety
/// Dropping the `Timeout` drops `future` and removes the timer; it is as cancel safe as
/// `future` is.
///
/// # Errors
/// The future resolves to `Err(Elapsed)` if the deadline passes first.
///
/// # Panics
/// The returned future panics when polled on a thread that is not running a greenloop
/// executor.
///
/// # Examples
/// ```
/// use greenloop::time::{sleep, timeout};
/// use std::time::Duration;
///
/// let ex = greenloop::Executor::builder().virtual_clock().build();
/// ex.block_on(async {
///     let fast = async {
///         sleep(Duration::from_millis(10)).await;
///         7
///     };
///     assert_eq!(timeout(Duration::from_secs(1), fast).await, Ok(7));
///     let slow = sleep(Duration::from_secs(5));
///     assert!(timeout(Duration::from_secs(1), slow).await.is_err());
/// });
/// ```
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout {
        future,
        timer: LazyTimer::new(Target::after(duration), Caller::Timeout),
    }
}

/// Runs `future` until `deadline`: `Ok(output)` if it completes first, `Err(Elapsed)`
/// otherwise. Everything said about [`timeout`] applies.
///
/// # Cancel safety
/// Dropping the `Timeout` drops `future` and removes the timer; it is as cancel safe as
/// `future` is.
///
/// # Errors
/// The future resolves to `Err(Elapsed)` if the deadline passes first.
///
/// # Panics
/// The returned future panics when polled on a thread that is not running a greenloop
/// executor.
///
/// # Examples
/// ```
/// use greenloop::time::{now, sleep, timeout_at, Elapsed};
/// use std::time::Duration;
///
/// let ex = greenloop::Executor::builder().virtual_clock().build();
/// ex.block_on(async {
///     let deadline = now() + Duration::from_secs(2);
///     let r = timeout_at(deadline, sleep(Duration::from_secs(3))).await;
///     assert_eq!(r, Err(Elapsed::new()));
///     assert_eq!(now(), deadline);
/// });
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, future: F) -> Timeout<F> {
    Timeout {
        future,
        timer: LazyTimer::new(Target::At(deadline), Caller::TimeoutAt),
    }
}

/// The current time on the executor's clock: virtual time on an executor built with a
/// virtual clock, `Instant::now()` otherwise (and outside any executor).
///
/// # Examples
/// ```
/// use std::time::Duration;
///
/// let ex = greenloop::Executor::builder().virtual_clock().build();
/// ex.block_on(async {
///     let t0 = greenloop::time::now();
///     std::thread::sleep(Duration::from_millis(2)); // real time passes...
///     assert_eq!(greenloop::time::now(), t0); // ...virtual time does not
/// });
/// ```
pub fn now() -> Instant {
    match driver::current() {
        Some(d) => d.now(),
        None => Instant::now(),
    }
}

/// Future returned by [`sleep`] and [`sleep_until`].
///
/// A `Sleep` holds on to its executor's timer driver, which lives on the executor's thread,
/// so it is `!Send` (as are [`Timeout`] and [`Interval`]):
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// assert_send(greenloop::time::sleep(std::time::Duration::from_secs(1)));
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    state: SleepState,
}

pin_project! {
    /// Future returned by [`timeout`] and [`timeout_at`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Timeout<F> {
        #[pin]
        future: F,
        timer: LazyTimer,
    }
}

/// The error of a [`Timeout`] whose deadline passed before its future completed.
///
/// # Examples
/// ```
/// use greenloop::time::Elapsed;
///
/// let e = Elapsed::new();
/// assert_eq!(e.to_string(), "deadline has elapsed");
/// let io: std::io::Error = e.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Elapsed(());

#[derive(Debug)]
enum SleepState {
    /// `sleep(Duration::ZERO)`: yield once.
    Yield {
        yielded: bool,
    },
    Timer(LazyTimer),
}

/// A [`Timer`], or what it will be once a driver is found at the first poll.
#[derive(Debug)]
pub(crate) enum LazyTimer {
    Unbound {
        target: Target,
        /// The public function that created it, for the panic message.
        what: Caller,
    },
    Bound(Timer),
}

/// The public function that created a timer, for the panic message of one first polled
/// outside an executor. A one-byte enum rather than the name itself (a 16-byte `&str`), so
/// that an unbound timer is no larger than a bound one: 32 bytes, which keeps a task that
/// only sleeps at one 64-byte cache line, header included.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Caller {
    Sleep,
    SleepUntil,
    Timeout,
    TimeoutAt,
    Interval,
    IntervalAt,
}

/// What an unbound timer waits for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// This many nanoseconds (saturated at `u64::MAX`) after binding. Not a `Duration`:
    /// with a `u64` here, `Target` fits in an `Instant`'s 16 bytes, and an unbound timer
    /// in a bound one's 32 (see `Caller`).
    After(u64),
    /// This instant.
    At(Instant),
}

// === impl Sleep ===

impl Sleep {
    fn new(timer: LazyTimer) -> Sleep {
        Sleep {
            state: SleepState::Timer(timer),
        }
    }

    /// Whether the deadline has passed on the executor's clock. Always `false` before the
    /// first poll for a sleep created outside an executor, and for `sleep(Duration::ZERO)`
    /// before it has yielded.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    ///
    /// let ex = greenloop::Executor::builder().virtual_clock().build();
    /// ex.block_on(async {
    ///     let long = greenloop::time::sleep(Duration::from_secs(2));
    ///     assert!(!long.is_elapsed());
    ///     greenloop::time::sleep(Duration::from_secs(3)).await;
    ///     assert!(long.is_elapsed());
    /// });
    /// ```
    pub fn is_elapsed(&self) -> bool {
        match &self.state {
            SleepState::Yield { yielded } => *yielded,
            SleepState::Timer(LazyTimer::Bound(t)) => t.is_elapsed(),
            SleepState::Timer(LazyTimer::Unbound { .. }) => false,
        }
    }
}

impl Future for Sleep {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.state {
            SleepState::Yield { yielded } => {
                if *yielded {
                    return Poll::Ready(());
                }
                *yielded = true;
                // As in `yield_now`: the executor queues a task woken during its own poll
                // behind every task that was already ready.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            // The first poll always registers and returns `Pending`, so every sleep
            // suspends at least once (see `sleep`).
            SleepState::Timer(timer) => timer.bind().poll_fired(cx),
        }
    }
}

// === impl Timeout ===

impl<F> Timeout<F> {
    /// Consumes the `Timeout`, returning the inner future (whose timer is removed).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    ///
    /// let t = greenloop::time::timeout(Duration::from_secs(1), async { 5 });
    /// assert_eq!(greenloop::block_on(t.into_inner()), 5);
    /// ```
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.future.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match this.timer.bind().poll_fired(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

// === impl Elapsed ===

impl Elapsed {
    /// An `Elapsed` error (for comparisons in tests).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::time::Elapsed::new(), Default::default());
    /// ```
    pub fn new() -> Elapsed {
        Elapsed(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl Error for Elapsed {}

impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}

// === impl LazyTimer ===

impl LazyTimer {
    /// Binds to the current driver now if there is one, else at the first [`LazyTimer::bind`].
    pub(crate) fn new(target: Target, what: Caller) -> LazyTimer {
        match driver::current() {
            Some(d) => LazyTimer::Bound(target.timer(d)),
            None => LazyTimer::Unbound { target, what },
        }
    }

    /// The timer, binding it to the current driver first if needed.
    ///
    /// # Panics
    /// Panics if unbound and this thread is not running a greenloop executor.
    #[inline]
    pub(crate) fn bind(&mut self) -> &mut Timer {
        if let LazyTimer::Unbound { target, what } = *self {
            *self = LazyTimer::Bound(target.timer(driver::expect_current(what.name())));
        }
        match self {
            LazyTimer::Bound(t) => t,
            LazyTimer::Unbound { .. } => unreachable!("bound just above"),
        }
    }
}

// === impl Caller ===

impl Caller {
    /// The function's name, as in `greenloop::time::{name}`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Caller::Sleep => "sleep",
            Caller::SleepUntil => "sleep_until",
            Caller::Timeout => "timeout",
            Caller::TimeoutAt => "timeout_at",
            Caller::Interval => "interval",
            Caller::IntervalAt => "interval_at",
        }
    }
}

impl Target {
    /// `duration` after binding.
    pub(crate) fn after(duration: Duration) -> Target {
        Target::After(clock::duration_ns(duration))
    }

    fn timer(self, d: std::rc::Rc<driver::Driver>) -> Timer {
        match self {
            Target::After(ns) => Timer::after_ns(d, ns),
            Target::At(deadline) => {
                let ns = d.instant_to_ns(deadline);
                Timer::new(d, ns)
            }
        }
    }
}

#[cfg(test)]
mod tests;
