//! The clock a driver reads: the real monotonic clock, or a virtual one that only moves when
//! told to.
//!
//! Both count time as `u64` nanoseconds since an *epoch*, the `Instant` at which the clock was
//! created; that is the unit of deadlines in `timers.rs`. 2^64 ns is about 584 years, so a
//! deadline past that saturates to `u64::MAX` ("never"), and an `Instant` before the epoch
//! saturates to 0 ("already passed").
use std::cell::Cell;
use std::time::{Duration, Instant};

/// A real or virtual clock.
#[derive(Debug)]
pub(crate) struct Clock {
    /// The `Instant` that nanosecond 0 stands for.
    epoch: Instant,
    /// `None` for the real clock; for a virtual clock, nanoseconds since `epoch`.
    virtual_now: Option<Cell<u64>>,
}

// === impl Clock ===

impl Clock {
    /// The real clock: `now()` is `Instant::now()`.
    pub(crate) fn real() -> Clock {
        Clock {
            epoch: Instant::now(),
            virtual_now: None,
        }
    }

    /// A virtual clock that starts at the current real instant and moves only through
    /// [`Clock::advance`] and [`Clock::advance_to`].
    pub(crate) fn virtual_clock() -> Clock {
        Clock {
            epoch: Instant::now(),
            virtual_now: Some(Cell::new(0)),
        }
    }

    /// Whether this is a virtual clock.
    pub(crate) fn is_virtual(&self) -> bool {
        self.virtual_now.is_some()
    }

    /// The current time in nanoseconds since the epoch.
    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        match &self.virtual_now {
            Some(now) => now.get(),
            None => self.to_ns(Instant::now()),
        }
    }

    /// The current time.
    pub(crate) fn now(&self) -> Instant {
        self.to_instant(self.now_ns())
    }

    /// Converts an instant to nanoseconds since the epoch, saturating at both ends.
    #[inline]
    pub(crate) fn to_ns(&self, t: Instant) -> u64 {
        duration_ns(t.saturating_duration_since(self.epoch))
    }

    /// Converts nanoseconds since the epoch back to an instant. A value too far in the future
    /// for `Instant` is clamped to the latest representable one the platform accepts here.
    pub(crate) fn to_instant(&self, ns: u64) -> Instant {
        let d = Duration::from_nanos(ns);
        self.epoch
            .checked_add(d)
            .unwrap_or_else(|| self.epoch + Duration::from_secs(86_400 * 365 * 30))
    }

    /// Virtual clock: moves time forward by `d` (saturating).
    ///
    /// # Panics
    /// Panics on the real clock.
    pub(crate) fn advance(&self, d: Duration) {
        let now = self.virtual_cell("advance");
        now.set(now.get().saturating_add(duration_ns(d)));
    }

    /// Virtual clock: moves time forward to `ns`, or leaves it where it is if `ns` has passed.
    ///
    /// # Panics
    /// Panics on the real clock.
    pub(crate) fn advance_to(&self, ns: u64) {
        let now = self.virtual_cell("jump_to_next_deadline");
        now.set(now.get().max(ns));
    }

    fn virtual_cell(&self, what: &str) -> &Cell<u64> {
        match &self.virtual_now {
            Some(now) => now,
            None => panic!(
                "greenloop::time: {what} needs a virtual clock \
                 (build the executor with `Executor::builder().virtual_clock()`)"
            ),
        }
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX`.
#[inline]
pub(crate) fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_moves_only_when_advanced() {
        let c = Clock::virtual_clock();
        assert!(c.is_virtual());
        let t0 = c.now();
        std::thread::yield_now();
        assert_eq!(c.now(), t0, "reading the clock does not move it");
        c.advance(Duration::from_millis(5));
        assert_eq!(c.now() - t0, Duration::from_millis(5));
        c.advance_to(1_000); // in the past: no effect
        assert_eq!(c.now_ns(), 5_000_000);
        c.advance_to(7_000_000);
        assert_eq!(c.now() - t0, Duration::from_millis(7));
    }

    #[test]
    fn conversions_saturate_at_both_ends() {
        let c = Clock::virtual_clock();
        let before = c.epoch.checked_sub(Duration::from_secs(1));
        if let Some(before) = before {
            assert_eq!(c.to_ns(before), 0);
        }
        assert_eq!(duration_ns(Duration::MAX), u64::MAX);
        c.advance(Duration::MAX);
        assert_eq!(c.now_ns(), u64::MAX);
        assert!(
            c.now() > c.epoch,
            "a saturated deadline is still in the future"
        );
        assert_eq!(c.to_ns(c.to_instant(1_234)), 1_234);
    }

    #[test]
    fn real_clock_follows_instant_now() {
        let c = Clock::real();
        assert!(!c.is_virtual());
        let before = Instant::now();
        let now = c.now();
        assert!(now >= before && now <= Instant::now());
    }

    #[test]
    #[should_panic(expected = "needs a virtual clock")]
    fn advancing_the_real_clock_panics() {
        Clock::real().advance(Duration::from_millis(1));
    }
}
