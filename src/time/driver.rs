//! The [`Driver`]: one per executor, it owns the clock and the pending timers, and the
//! executor turns it. Also the thread-local *current driver* that `sleep()` finds, and
//! [`Timer`], the registration that `Sleep`, `Timeout` and `Interval` are built on.
//!
//! # The seam with the executor
//!
//! The executor owns an `Rc<Driver>` and calls only the `pub(crate)` methods below:
//! [`enter`] whenever it runs, [`Driver::fire_expired`] at the start of every tick, and when
//! no task is ready either parks for `next_deadline() - now()` (real clock) or calls
//! [`Driver::jump_to_next_deadline`] (virtual clock). Timers reach tasks only through
//! `Waker`s.
//!
//! # Re-entrancy
//!
//! The timers sit in a `RefCell`. No borrow is held while a waker is woken or dropped (both
//! may run foreign code: a waker's drop may free a task whose output holds a `Sleep`, whose
//! drop cancels its timer), so such code can use the driver freely.
use super::clock::Clock;
use super::timers::{Key, Timers};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The clock and timers of one executor.
pub(crate) struct Driver {
    clock: Clock,
    timers: RefCell<Timers>,
    /// The last sequence number handed out; see `timers.rs`.
    seq: Cell<u64>,
}

/// Restores the previous current driver when dropped; returned by [`enter`].
#[must_use = "the driver stops being current when the guard is dropped"]
pub(crate) struct EnterGuard {
    previous: Option<Rc<Driver>>,
}

/// One timer's registration with a driver: a deadline, a sequence number, and once polled
/// while pending, a key into the driver's timers. Dropping it cancels the timer.
pub(crate) struct Timer {
    driver: Rc<Driver>,
    /// Nanoseconds since the driver's epoch.
    deadline: u64,
    seq: u64,
    state: TimerState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimerState {
    /// Not in the driver's timers (never polled while pending, or reset since).
    Idle,
    /// In the driver's timers in this slot (its key: the slot and the timer's `seq`),
    /// unless it has fired since. Not the whole `Key`, whose `seq` the timer already holds:
    /// this keeps a `Timer`, and so a `Sleep`, at 32 bytes, and a task that only sleeps
    /// at one 64-byte cache line (header included).
    Registered(u32),
    /// The deadline passed and a poll observed it.
    Elapsed,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Driver>>> = const { RefCell::new(None) };
}

/// Makes `driver` the current one for this thread until the guard drops (restores the
/// previous one, so nested executors work).
pub(crate) fn enter(driver: &Rc<Driver>) -> EnterGuard {
    let previous = CURRENT.with(|c| c.replace(Some(driver.clone())));
    EnterGuard { previous }
}

/// The current driver, if this thread is running a greenloop executor.
pub(crate) fn current() -> Option<Rc<Driver>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// The current driver.
///
/// # Panics
/// Panics outside a greenloop executor, naming `what` (e.g. `"sleep"`).
#[track_caller]
pub(crate) fn expect_current(what: &str) -> Rc<Driver> {
    match current() {
        Some(d) => d,
        None => panic!(
            "greenloop::time::{what} called outside a greenloop executor \
             (run it inside `greenloop::block_on` or on an `Executor`)"
        ),
    }
}

// === impl Driver ===

impl Driver {
    /// A driver with a virtual clock (time moves only when told to) or the real one.
    pub(crate) fn new(virtual_clock: bool) -> Rc<Driver> {
        Rc::new(Driver {
            clock: if virtual_clock {
                Clock::virtual_clock()
            } else {
                Clock::real()
            },
            timers: RefCell::default(),
            seq: Cell::new(0),
        })
    }

    /// Real clock: `Instant::now()`. Virtual clock: the start instant plus all advances.
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Whether this driver runs on a virtual clock.
    pub(crate) fn is_virtual(&self) -> bool {
        self.clock.is_virtual()
    }

    /// The earliest deadline among pending timers.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let next = self.timers.borrow_mut().next_deadline();
        next.map(|ns| self.clock.to_instant(ns))
    }

    /// Wakes every timer whose deadline is `<= now()`, in (deadline, creation) order, and
    /// returns how many. The clock is read once, before the first wake.
    pub(crate) fn fire_expired(&self) -> usize {
        if self.timers.borrow().is_empty() {
            // No clock read: executors that use no timers pay one branch per tick.
            return 0;
        }
        let now = self.clock.now_ns();
        let mut fired = 0;
        loop {
            // The borrow ends before `wake` runs (see "Re-entrancy" above).
            let waker = self.timers.borrow_mut().pop_expired(now);
            match waker {
                Some(w) => w.wake(),
                None => return fired,
            }
            fired += 1;
        }
    }

    /// Virtual clock: moves time forward by `d`. The caller then calls
    /// [`Driver::fire_expired`].
    ///
    /// # Panics
    /// Panics on a real clock.
    pub(crate) fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    /// Virtual clock: sets `now = max(now, next_deadline)`. Returns `false`, leaving the
    /// clock alone, if no timer is pending.
    ///
    /// # Panics
    /// Panics on a real clock.
    pub(crate) fn jump_to_next_deadline(&self) -> bool {
        let next = self.timers.borrow_mut().next_deadline();
        match next {
            Some(ns) => {
                self.clock.advance_to(ns);
                true
            }
            None => {
                // A no-op on a virtual clock; still refuses a real clock, so that a miswired
                // executor fails loudly.
                self.clock.advance_to(0);
                false
            }
        }
    }

    /// How many timers are pending: registered and neither fired nor cancelled.
    pub(crate) fn pending(&self) -> usize {
        self.timers.borrow().len()
    }

    /// Now, in nanoseconds since the clock's epoch.
    pub(crate) fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }

    /// Converts an instant to nanoseconds since the clock's epoch.
    pub(crate) fn instant_to_ns(&self, t: Instant) -> u64 {
        self.clock.to_ns(t)
    }

    fn next_seq(&self) -> u64 {
        let seq = self.seq.get() + 1;
        self.seq.set(seq);
        seq
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Driver");
        d.field("now", &self.now())
            .field("virtual", &self.is_virtual());
        // A `Debug` inside the driver's own borrow (say, from a waker) must not panic.
        match self.timers.try_borrow() {
            Ok(t) => d.field("pending", &t.len()),
            Err(_) => d.field("pending", &"<borrowed>"),
        };
        d.finish_non_exhaustive()
    }
}

// === impl EnterGuard ===

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // Drop the outgoing driver's `Rc` after the thread-local is restored.
        let _outgoing = CURRENT.with(|c| c.replace(previous));
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

// === impl Timer ===

impl Timer {
    /// A timer for `deadline` (nanoseconds since `driver`'s epoch). Its sequence number,
    /// taken now, orders it after every timer created before it with the same deadline.
    pub(crate) fn new(driver: Rc<Driver>, deadline: u64) -> Timer {
        let seq = driver.next_seq();
        Timer {
            driver,
            deadline,
            seq,
            state: TimerState::Idle,
        }
    }

    /// A timer for `now + ns` on `driver`'s clock.
    pub(crate) fn after_ns(driver: Rc<Driver>, ns: u64) -> Timer {
        let deadline = driver.now_ns().saturating_add(ns);
        Timer::new(driver, deadline)
    }

    /// The driver this timer belongs to.
    pub(crate) fn driver(&self) -> &Rc<Driver> {
        &self.driver
    }

    /// The deadline as an `Instant`.
    pub(crate) fn deadline(&self) -> Instant {
        self.driver.clock.to_instant(self.deadline)
    }

    /// The deadline in nanoseconds since the driver's epoch.
    pub(crate) fn deadline_ns(&self) -> u64 {
        self.deadline
    }

    /// `Ready` once the driver has fired this timer; otherwise registers (or refreshes) `cx`'s
    /// waker. Never reads the clock: a timer completes only through
    /// [`Driver::fire_expired`], which the executor calls at the start of every tick, so a
    /// deadline that has already passed at the first poll completes in the next tick
    /// (asyncio's rule for a timer scheduled in the past).
    #[inline]
    pub(crate) fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.state {
            TimerState::Elapsed => Poll::Ready(()),
            TimerState::Idle => {
                self.register(cx);
                Poll::Pending
            }
            TimerState::Registered(slot) => {
                let updated = self
                    .driver
                    .timers
                    .borrow_mut()
                    .update_waker(Key::new(slot, self.seq), cx.waker());
                match updated {
                    None => {
                        self.state = TimerState::Elapsed;
                        Poll::Ready(())
                    }
                    // Dropped after the borrow ends (see "Re-entrancy" above).
                    Some(replaced) => {
                        drop(replaced);
                        Poll::Pending
                    }
                }
            }
        }
    }

    /// Like [`Timer::poll_fired`], but also `Ready` at once if the clock already reads past
    /// the deadline (used by `Interval`, whose due ticks complete without waiting).
    pub(crate) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.state != TimerState::Elapsed && self.driver.now_ns() >= self.deadline {
            self.cancel();
            self.state = TimerState::Elapsed;
        }
        self.poll_fired(cx)
    }

    /// Files the timer with its driver.
    ///
    /// # Panics
    /// If this thread is not running the timer's executor right now: nobody would fire the
    /// timer, and the future would hang instead (a `Sleep` created on one executor and
    /// polled by another, or by a foreign `block_on`).
    #[inline(always)]
    fn register(&mut self, cx: &mut Context<'_>) {
        let ours = CURRENT.with(|c| {
            c.borrow()
                .as_ref()
                .is_some_and(|d| Rc::ptr_eq(d, &self.driver))
        });
        assert!(
            ours,
            "greenloop::time: a timer was polled outside the executor it belongs to \
             (it was created or first polled on another executor, which alone can fire it)"
        );
        let key =
            self.driver
                .timers
                .borrow_mut()
                .insert(self.deadline, self.seq, cx.waker().clone());
        self.state = TimerState::Registered(key.slot());
    }

    /// Whether the deadline has passed (by the driver's clock), without registering.
    pub(crate) fn is_elapsed(&self) -> bool {
        self.state == TimerState::Elapsed || self.driver.now_ns() >= self.deadline
    }

    /// Moves the deadline to `deadline` (nanoseconds), cancelling any registration. The timer
    /// takes a fresh sequence number, as if created now.
    pub(crate) fn reset(&mut self, deadline: u64) {
        self.cancel();
        self.deadline = deadline;
        self.seq = self.driver.next_seq();
        self.state = TimerState::Idle;
    }

    /// Removes the registration, if any.
    #[inline]
    fn cancel(&mut self) {
        if let TimerState::Registered(slot) = self.state {
            self.state = TimerState::Idle;
            let waker = self
                .driver
                .timers
                .borrow_mut()
                .cancel(Key::new(slot, self.seq));
            // Dropped after the borrow ends (see "Re-entrancy" above).
            drop(waker);
        }
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("deadline", &self.deadline())
            .field("seq", &self.seq)
            .field("state", &self.state)
            .finish()
    }
}

impl Drop for Timer {
    #[inline]
    fn drop(&mut self) {
        self.cancel();
    }
}
