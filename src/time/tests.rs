//! Unit tests of the driver and of the time futures, polled by hand: a test plays the
//! executor (enter the driver, poll, `advance`, `fire_expired`) with wakers that log.
use super::driver::{Driver, enter};
use super::*;
use futures::StreamExt;
use std::future::{Future, pending};
use std::pin::pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// A log of woken waker ids, shared by the wakers of one test.
type Log = Arc<Mutex<Vec<u32>>>;

struct LogWaker {
    id: u32,
    log: Log,
}

impl Wake for LogWaker {
    fn wake(self: Arc<Self>) {
        self.log.lock().unwrap().push(self.id);
    }
}

fn waker(id: u32, log: &Log) -> Waker {
    Waker::from(Arc::new(LogWaker {
        id,
        log: log.clone(),
    }))
}

fn poll_with<F: Future + ?Sized>(f: Pin<&mut F>, id: u32, log: &Log) -> Poll<F::Output> {
    let w = waker(id, log);
    f.poll(&mut Context::from_waker(&w))
}

fn take(log: &Log) -> Vec<u32> {
    std::mem::take(&mut *log.lock().unwrap())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A virtual-clock driver, entered for the rest of the test.
fn virtual_driver() -> (Rc<Driver>, driver::EnterGuard) {
    let d = Driver::new(true);
    let g = enter(&d);
    (d, g)
}

#[test]
fn sleep_fires_once_its_deadline_passes() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    let mut s = pin!(sleep(ms(10)));
    assert!(poll_with(s.as_mut(), 1, &log).is_pending());
    assert_eq!(d.pending(), 1);
    assert_eq!(d.next_deadline().map(|t| t - d.now()), Some(ms(10)));
    d.advance(ms(9));
    assert_eq!(d.fire_expired(), 0);
    assert!(take(&log).is_empty());
    d.advance(ms(1));
    assert_eq!(d.fire_expired(), 1);
    assert_eq!(take(&log), [1]);
    assert_eq!(d.pending(), 0);
    assert!(poll_with(s.as_mut(), 1, &log).is_ready());
}

#[test]
fn equal_deadlines_fire_in_creation_order() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    // Created in order 1..=4, polled (registered) in reverse order.
    let mut sleeps: Vec<_> = (1..=4).map(|_| Box::pin(sleep(ms(5)))).collect();
    let early = Box::pin(sleep(ms(3)));
    let mut early = early;
    for (i, s) in sleeps.iter_mut().enumerate().rev() {
        assert!(poll_with(s.as_mut(), i as u32 + 1, &log).is_pending());
    }
    assert!(poll_with(early.as_mut(), 9, &log).is_pending());
    assert!(d.jump_to_next_deadline());
    assert_eq!(d.fire_expired(), 1);
    assert_eq!(take(&log), [9]);
    assert!(d.jump_to_next_deadline());
    assert_eq!(d.fire_expired(), 4);
    assert_eq!(take(&log), [1, 2, 3, 4]);
    assert!(!d.jump_to_next_deadline(), "no timer left");
}

#[test]
fn dropping_a_pending_sleep_removes_its_timer() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    for _ in 0..1_000 {
        let mut s = Box::pin(sleep(ms(10)));
        assert!(poll_with(s.as_mut(), 1, &log).is_pending());
        assert_eq!(d.pending(), 1);
    }
    assert_eq!(d.pending(), 0);
    assert_eq!(d.next_deadline(), None);
    assert!(!d.jump_to_next_deadline());
    assert!(take(&log).is_empty(), "a dropped sleep never wakes");
}

#[test]
fn sleep_zero_yields_exactly_once_without_a_timer() {
    // No driver entered: `sleep(ZERO)` is `yield_now` and needs none.
    let log = Log::default();
    let mut s = pin!(sleep(Duration::ZERO));
    assert!(!s.is_elapsed());
    assert!(poll_with(s.as_mut(), 1, &log).is_pending());
    assert_eq!(take(&log), [1], "it woke itself");
    assert!(s.is_elapsed());
    assert!(poll_with(s.as_mut(), 1, &log).is_ready());
}

#[test]
fn a_sleep_whose_deadline_passed_still_suspends_until_the_next_fire() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    d.advance(ms(5));
    d.fire_expired();
    let mut s = pin!(sleep_until(d.now() - ms(1)));
    assert!(s.is_elapsed());
    assert!(poll_with(s.as_mut(), 1, &log).is_pending());
    assert_eq!(d.pending(), 1);
    assert_eq!(d.next_deadline(), Some(d.now() - ms(1)));
    assert_eq!(d.fire_expired(), 1, "fires at the start of the next tick");
    assert_eq!(take(&log), [1]);
    assert!(poll_with(s.as_mut(), 1, &log).is_ready());
}

#[test]
fn a_repoll_with_a_new_waker_wakes_only_the_new_one() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    let mut s = pin!(sleep(ms(1)));
    assert!(poll_with(s.as_mut(), 1, &log).is_pending());
    assert!(poll_with(s.as_mut(), 2, &log).is_pending());
    assert_eq!(d.pending(), 1);
    d.advance(ms(1));
    d.fire_expired();
    assert_eq!(take(&log), [2]);
}

#[test]
fn a_sleep_completes_only_when_the_driver_fires_it() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    let mut s = pin!(sleep(ms(1)));
    assert!(poll_with(s.as_mut(), 1, &log).is_pending());
    d.advance(ms(2)); // no fire_expired yet: the task was polled for another reason
    assert!(poll_with(s.as_mut(), 1, &log).is_pending());
    assert_eq!(d.fire_expired(), 1);
    assert!(poll_with(s.as_mut(), 1, &log).is_ready());
    assert_eq!(d.pending(), 0);
}

#[test]
fn timeout_that_does_not_fire_returns_the_output_and_removes_its_timer() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    let mut inner = Box::pin(sleep(ms(5)));
    let mut t = Box::pin(timeout(ms(10), async move { inner.as_mut().await }));
    assert!(poll_with(t.as_mut(), 1, &log).is_pending());
    assert_eq!(d.pending(), 2);
    d.advance(ms(5));
    assert_eq!(d.fire_expired(), 1);
    assert_eq!(poll_with(t.as_mut(), 1, &log), Poll::Ready(Ok(())));
    drop(t);
    assert_eq!(d.pending(), 0);
}

#[test]
fn timeout_that_fires_reports_elapsed_at_its_deadline() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    let mut t = pin!(timeout(ms(10), pending::<()>()));
    assert!(poll_with(t.as_mut(), 1, &log).is_pending());
    assert!(d.jump_to_next_deadline());
    assert_eq!(d.fire_expired(), 1);
    assert_eq!(take(&log), [1]);
    assert_eq!(
        poll_with(t.as_mut(), 1, &log),
        Poll::Ready(Err(Elapsed::new()))
    );
}

#[test]
fn a_deadline_already_past_fires_in_the_next_tick_and_a_ready_future_wins() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    let mut t = pin!(timeout(Duration::ZERO, async { 3 }));
    assert_eq!(poll_with(t.as_mut(), 1, &log), Poll::Ready(Ok(3)));
    let mut t = pin!(timeout(Duration::ZERO, pending::<()>()));
    assert!(poll_with(t.as_mut(), 1, &log).is_pending());
    assert_eq!(d.fire_expired(), 1);
    assert_eq!(
        poll_with(t.as_mut(), 1, &log),
        Poll::Ready(Err(Elapsed::new()))
    );
}

#[test]
fn nested_timeouts_passing_in_the_same_tick_report_the_inner_one() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    let mut t = pin!(timeout(ms(10), timeout(ms(10), pending::<()>())));
    assert!(poll_with(t.as_mut(), 1, &log).is_pending());
    assert_eq!(d.pending(), 2);
    d.advance(ms(10));
    assert_eq!(d.fire_expired(), 2);
    assert_eq!(
        poll_with(t.as_mut(), 1, &log),
        Poll::Ready(Ok(Err(Elapsed::new())))
    );
}

#[test]
fn nested_timeouts_each_report_their_own_deadline() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    // Outer deadline first: the outer reports.
    let mut t = pin!(timeout(ms(5), timeout(ms(10), pending::<()>())));
    assert!(poll_with(t.as_mut(), 1, &log).is_pending());
    d.jump_to_next_deadline();
    d.fire_expired();
    assert_eq!(
        poll_with(t.as_mut(), 1, &log),
        Poll::Ready(Err(Elapsed::new()))
    );
    // Inner deadline first: the inner reports through the outer's Ok.
    let mut t = pin!(timeout(ms(10), timeout(ms(5), pending::<()>())));
    assert!(poll_with(t.as_mut(), 1, &log).is_pending());
    d.jump_to_next_deadline();
    d.fire_expired();
    assert_eq!(
        poll_with(t.as_mut(), 1, &log),
        Poll::Ready(Ok(Err(Elapsed::new())))
    );
}

#[test]
fn interval_ticks_at_once_then_every_period() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    let start = d.now();
    let mut iv = interval(ms(10));
    let mut seen = Vec::new();
    for _ in 0..4 {
        let mut tick = pin!(iv.next());
        loop {
            if let Poll::Ready(t) = poll_with(tick.as_mut(), 1, &log) {
                seen.push(t.unwrap() - start);
                break;
            }
            assert!(d.jump_to_next_deadline());
            d.fire_expired();
        }
    }
    assert_eq!(seen, [ms(0), ms(10), ms(20), ms(30)]);
}

/// Ticks an interval whose period is 10 ms after a 35 ms stall; returns the ticks (ms after
/// the start) that complete without waiting, then the next one.
fn ticks_after_a_stall(behavior: MissedTickBehavior) -> Vec<u64> {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    let start = d.now();
    let at = |t: Instant| (t - start).as_millis() as u64;
    let mut iv = interval(ms(10));
    iv.set_missed_tick_behavior(behavior);
    let mut out = Vec::new();
    let Poll::Ready(t) = poll_with(pin!(iv.tick()), 1, &log) else {
        panic!("the first tick is immediate")
    };
    out.push(at(t));
    d.advance(ms(35));
    while let Poll::Ready(t) = poll_with(pin!(iv.tick()), 1, &log) {
        out.push(at(t));
    }
    d.jump_to_next_deadline();
    out.push(at(d.now()));
    out
}

#[test]
fn missed_ticks_follow_the_chosen_behavior() {
    use MissedTickBehavior::*;
    assert_eq!(ticks_after_a_stall(Burst), [0, 10, 20, 30, 40]);
    assert_eq!(ticks_after_a_stall(Delay), [0, 10, 45]);
    assert_eq!(ticks_after_a_stall(Skip), [0, 10, 40]);
}

#[test]
fn a_sleep_created_outside_binds_to_the_executor_that_polls_it() {
    let log = Log::default();
    let mut s = pin!(sleep(ms(10)));
    assert!(!s.is_elapsed());
    let (d, _g) = virtual_driver();
    d.advance(ms(100)); // before the first poll: does not count
    assert!(poll_with(s.as_mut(), 1, &log).is_pending());
    assert_eq!(d.next_deadline().map(|t| t - d.now()), Some(ms(10)));
}

#[test]
#[should_panic(expected = "greenloop::time::sleep called outside a greenloop executor")]
fn polling_a_sleep_outside_an_executor_panics() {
    let log = Log::default();
    let _ = poll_with(pin!(sleep(ms(1))), 1, &log);
}

#[test]
fn now_reads_the_current_drivers_clock() {
    let real = Instant::now();
    assert!(now() >= real, "outside an executor: the real clock");
    let (d, g) = virtual_driver();
    let t0 = now();
    assert_eq!(t0, d.now());
    d.advance(Duration::from_secs(3600));
    assert_eq!(now() - t0, Duration::from_secs(3600));
    drop(g);
    assert!(
        now() < t0 + Duration::from_secs(3600),
        "the guard restored the real clock"
    );
}

#[test]
fn nested_enter_restores_the_outer_driver() {
    let outer = Driver::new(true);
    let inner = Driver::new(true);
    let _g = enter(&outer);
    {
        let _g = enter(&inner);
        let mut s = pin!(sleep(ms(1)));
        let log = Log::default();
        assert!(poll_with(s.as_mut(), 1, &log).is_pending());
        assert_eq!((outer.pending(), inner.pending()), (0, 1));
    }
    let log = Log::default();
    let mut s = pin!(sleep(ms(1)));
    assert!(poll_with(s.as_mut(), 1, &log).is_pending());
    assert_eq!((outer.pending(), inner.pending()), (1, 0));
}

#[test]
fn real_clock_timers_fire_after_their_deadline() {
    let d = Driver::new(false);
    let _g = enter(&d);
    let log = Log::default();
    let mut s = pin!(sleep(ms(2)));
    assert!(poll_with(s.as_mut(), 1, &log).is_pending());
    let deadline = d.next_deadline().unwrap();
    while d.fire_expired() == 0 {
        std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
    }
    assert!(Instant::now() >= deadline);
    assert!(poll_with(s.as_mut(), 1, &log).is_ready());
}

#[test]
#[should_panic(expected = "advance needs a virtual clock")]
fn advancing_a_real_clock_driver_panics() {
    Driver::new(false).advance(ms(1));
}

#[test]
#[should_panic(expected = "jump_to_next_deadline needs a virtual clock")]
fn jumping_on_a_real_clock_driver_panics_even_with_no_timer() {
    Driver::new(false).jump_to_next_deadline();
}

thread_local! {
    /// A sleep that `DropSleepWaker` drops when woken.
    static HELD: std::cell::RefCell<Option<Pin<Box<Sleep>>>> = const { std::cell::RefCell::new(None) };
}

/// A waker whose wake drops a pending `Sleep` of the same driver (through a thread-local, as
/// `Sleep` is `!Send`): the driver must not be borrowed while a waker runs.
struct DropSleepWaker;

impl Wake for DropSleepWaker {
    fn wake(self: Arc<Self>) {
        drop(HELD.with(|h| h.borrow_mut().take()));
    }
}

#[test]
fn a_waker_that_drops_a_sleep_when_woken_does_not_panic() {
    let (d, _g) = virtual_driver();
    let log = Log::default();
    let mut other = Box::pin(sleep(ms(50)));
    assert!(poll_with(other.as_mut(), 2, &log).is_pending());
    HELD.with(|h| *h.borrow_mut() = Some(other));
    let w = Waker::from(Arc::new(DropSleepWaker));
    let mut s = pin!(sleep(ms(1)));
    assert!(s.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
    assert_eq!(d.pending(), 2);
    d.advance(ms(1));
    assert_eq!(d.fire_expired(), 1);
    assert_eq!(d.pending(), 0, "the waker dropped the other sleep");
    assert!(take(&log).is_empty());
}

#[test]
#[should_panic(expected = "polled outside the executor it belongs to")]
fn a_sleep_polled_on_another_executor_panics_instead_of_hanging() {
    let first = Driver::new(true);
    let second = Driver::new(true);
    let s = {
        let _g = enter(&first);
        sleep(ms(1))
    };
    let _g = enter(&second);
    let log = Log::default();
    let _ = poll_with(pin!(s), 1, &log);
}

#[test]
#[should_panic(expected = "polled outside the executor it belongs to")]
fn a_sleep_bound_inside_and_polled_outside_panics_instead_of_hanging() {
    let d = Driver::new(true);
    let s = {
        let _g = enter(&d);
        sleep(ms(1))
    };
    let log = Log::default();
    let _ = poll_with(pin!(s), 1, &log);
}

/// A `Sleep`, bound or not, is 32 bytes: with the executor's 32-byte task header, a task that
/// only sleeps fills exactly one 64-byte cell of the arena, one cache line (the cells of that
/// size class are line-aligned), which the timer benchmarks depend on.
#[test]
#[cfg(target_pointer_width = "64")]
fn a_sleep_is_32_bytes() {
    assert_eq!(std::mem::size_of::<Sleep>(), 32);
    assert_eq!(std::mem::size_of::<LazyTimer>(), 32);
    // `sleep(Duration::ZERO)` is as small.
    assert_eq!(std::mem::size_of_val(&sleep(Duration::ZERO)), 32);
}
