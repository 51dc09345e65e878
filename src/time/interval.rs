//! [`Interval`]: ticks at a fixed period, with a policy for ticks missed while the task was
//! busy ([`MissedTickBehavior`]).
use super::clock::duration_ns;
use super::{Caller, LazyTimer, Target};
use futures::Stream;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Ticks every `period`; the first tick completes at once.
///
/// Equivalent to `interval_at(now(), period)`. Ticks that the task misses (because it was
/// busy past the next deadline) are handled by the interval's [`MissedTickBehavior`],
/// [`Burst`](MissedTickBehavior::Burst) by default, as in tokio.
///
/// # Panics
/// Panics if `period` is zero. The returned `Interval` panics when polled on a thread that
/// is not running a greenloop executor.
///
/// # Examples
/// ```
/// use std::time::Duration;
///
/// let ex = greenloop::Executor::builder().virtual_clock().build();
/// ex.block_on(async {
///     let start = greenloop::time::now();
///     let mut every = greenloop::time::interval(Duration::from_secs(10));
///     assert_eq!(every.tick().await, start); // at once
///     assert_eq!(every.tick().await - start, Duration::from_secs(10));
///     assert_eq!(every.tick().await - start, Duration::from_secs(20));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    Interval::new(Target::After(0), period, Caller::Interval)
}

/// Ticks at `start`, then every `period` after it.
///
/// # Panics
/// Panics if `period` is zero. The returned `Interval` panics when polled on a thread that
/// is not running a greenloop executor.
///
/// # Examples
/// ```
/// use std::time::Duration;
///
/// let ex = greenloop::Executor::builder().virtual_clock().build();
/// ex.block_on(async {
///     let start = greenloop::time::now() + Duration::from_secs(1);
///     let mut every = greenloop::time::interval_at(start, Duration::from_secs(2));
///     assert_eq!(every.tick().await, start);
///     assert_eq!(every.tick().await, start + Duration::from_secs(2));
/// });
/// ```
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    Interval::new(Target::At(start), period, Caller::IntervalAt)
}

/// What an [`Interval`] does with ticks whose deadline passed while nobody awaited a tick.
///
/// Say the period is 10 ms, ticks were due at 0, 10, 20, ... and the task comes back to
/// `tick()` at 35 ms, having missed the ticks due at 10, 20 and 30.
///
/// # Examples
/// ```
/// use greenloop::time::MissedTickBehavior;
/// assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Burst);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Catch up: the missed ticks complete at once, back to back (10, 20, 30 at 35 ms), then
    /// the schedule resumes at 40. Keeps the long-run count of ticks. The default, as in tokio.
    #[default]
    Burst,
    /// Start over: one tick now (the one due at 10), then every period from now (45, 55, ...).
    Delay,
    /// Drop the missed ticks: one tick now (the one due at 10), then the next tick on the
    /// original schedule (40, 50, ...).
    Skip,
}

/// Ticks at a fixed period; created by [`interval`] and [`interval_at`].
///
/// Each tick resolves to the instant it was scheduled for (not the instant it was observed).
/// An `Interval` is also a [`Stream`] of those instants that never ends.
#[derive(Debug)]
pub struct Interval {
    timer: LazyTimer,
    period: Duration,
    missed: MissedTickBehavior,
}

/// Future returned by [`Interval::tick`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct IntervalTick<'a> {
    interval: &'a mut Interval,
}

// === impl Interval ===

impl Interval {
    fn new(start: Target, period: Duration, what: Caller) -> Interval {
        assert!(
            !period.is_zero(),
            "greenloop::time::{}: the period must be non-zero",
            what.name()
        );
        Interval {
            timer: LazyTimer::new(start, what),
            period,
            missed: MissedTickBehavior::default(),
        }
    }

    /// Waits for the next tick and returns the instant it was scheduled for.
    ///
    /// # Cancel safety
    /// Dropping the future loses no tick: the next `tick()` completes for the same deadline.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    ///
    /// let ex = greenloop::Executor::builder().virtual_clock().build();
    /// ex.block_on(async {
    ///     let mut every = greenloop::time::interval(Duration::from_millis(100));
    ///     let first = every.tick().await;
    ///     let second = every.tick().await;
    ///     assert_eq!(second - first, Duration::from_millis(100));
    /// });
    /// ```
    pub fn tick(&mut self) -> IntervalTick<'_> {
        IntervalTick { interval: self }
    }

    /// Polls for the next tick: `Ready(scheduled instant)` once it is due, else registers
    /// `cx`'s waker for it.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    ///
    /// let ex = greenloop::Executor::builder().virtual_clock().build();
    /// ex.block_on(async {
    ///     let mut every = greenloop::time::interval(Duration::from_secs(1));
    ///     let t = std::future::poll_fn(|cx| every.poll_tick(cx)).await;
    ///     assert_eq!(t, greenloop::time::now());
    /// });
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let timer = self.timer.bind();
        if timer.poll_elapsed(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = timer.deadline_ns();
        let now = timer.driver().now_ns();
        let period = duration_ns(self.period);
        let on_schedule = scheduled.saturating_add(period);
        let next = if now < on_schedule {
            on_schedule
        } else {
            // At least one tick after this one is already due: apply the policy.
            match self.missed {
                MissedTickBehavior::Burst => on_schedule,
                MissedTickBehavior::Delay => now.saturating_add(period),
                // The first deadline on the original schedule that is still ahead.
                MissedTickBehavior::Skip => now.saturating_add(period - (now - scheduled) % period),
            }
        };
        let at = timer.deadline();
        timer.reset(next);
        Poll::Ready(at)
    }

    /// Restarts the schedule: the next tick is due one period from now.
    ///
    /// # Panics
    /// Panics on a thread that is not running a greenloop executor.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    ///
    /// let ex = greenloop::Executor::builder().virtual_clock().build();
    /// ex.block_on(async {
    ///     let mut every = greenloop::time::interval(Duration::from_secs(1));
    ///     every.reset();
    ///     let t = every.tick().await;
    ///     assert_eq!(t, greenloop::time::now());
    ///     assert_eq!(every.tick().await - t, Duration::from_secs(1));
    /// });
    /// ```
    pub fn reset(&mut self) {
        let timer = self.timer.bind();
        let next = timer
            .driver()
            .now_ns()
            .saturating_add(duration_ns(self.period));
        timer.reset(next);
    }

    /// The period between ticks.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let every = greenloop::time::interval(Duration::from_secs(3));
    /// assert_eq!(every.period(), Duration::from_secs(3));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The policy for missed ticks.
    ///
    /// # Examples
    /// ```
    /// use greenloop::time::MissedTickBehavior;
    /// use std::time::Duration;
    ///
    /// let mut every = greenloop::time::interval(Duration::from_secs(1));
    /// every.set_missed_tick_behavior(MissedTickBehavior::Skip);
    /// assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Skip);
    /// ```
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets the policy for missed ticks; see [`MissedTickBehavior`].
    ///
    /// # Examples
    /// ```
    /// use greenloop::time::MissedTickBehavior;
    /// use std::time::Duration;
    ///
    /// let mut every = greenloop::time::interval(Duration::from_secs(1));
    /// every.set_missed_tick_behavior(MissedTickBehavior::Delay);
    /// assert_eq!(every.missed_tick_behavior(), MissedTickBehavior::Delay);
    /// ```
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}

impl Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}

impl Future for IntervalTick<'_> {
    type Output = Instant;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        self.interval.poll_tick(cx)
    }
}
