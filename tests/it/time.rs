//! Time, end to end on greenloop's executor: sleeps, timeouts, intervals and the virtual
//! clock. Every test but two runs on a virtual clock, so it is instant and deterministic;
//! the two real-clock ones wait 10-20 ms for a wake and assert only a lower bound.

use crate::common::DropCounter;
use greenloop::Executor;
use greenloop::time::{self, Elapsed, MissedTickBehavior, sleep, sleep_until, timeout};
use std::cell::RefCell;
use std::future::pending;
use std::rc::Rc;
use std::time::{Duration, Instant};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn virtual_executor() -> Executor {
    Executor::builder().virtual_clock().build()
}

/// A log of `(virtual milliseconds since the start, event)`, asserted in full (a
/// `crate::common::Trace` with timestamps).
#[derive(Clone, Default)]
struct Timeline {
    start: Rc<RefCell<Option<Instant>>>,
    events: Rc<RefCell<Vec<(u64, &'static str)>>>,
}

impl Timeline {
    fn new() -> Timeline {
        let t = Timeline::default();
        *t.start.borrow_mut() = Some(time::now());
        t
    }

    fn log(&self, event: &'static str) {
        let start = self
            .start
            .borrow()
            .expect("Timeline::new inside the executor");
        let at = (time::now() - start).as_millis() as u64;
        self.events.borrow_mut().push((at, event));
    }

    fn take(&self) -> Vec<(u64, &'static str)> {
        std::mem::take(&mut self.events.borrow_mut())
    }
}

#[test]
fn equal_deadlines_wake_in_creation_order() {
    let ex = virtual_executor();
    let trace = ex.block_on(async {
        let trace = Timeline::new();
        let mut handles = Vec::new();
        for (name, d) in [("a", 20), ("b", 10), ("c", 20), ("d", 10), ("e", 0)] {
            let t = trace.clone();
            handles.push(greenloop::spawn(async move {
                sleep(ms(d)).await;
                t.log(name);
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        trace.take()
    });
    assert_eq!(
        trace,
        [
            (0, "e"),  // sleep(0) yields one tick only
            (10, "b"), // 10 ms, created before d
            (10, "d"),
            (20, "a"), // 20 ms, created before c
            (20, "c"),
        ]
    );
}

#[test]
fn timeout_that_fires_reports_elapsed_and_drops_the_future() {
    let ex = virtual_executor();
    ex.block_on(async {
        let start = time::now();
        let drops = DropCounter::new();
        let token = drops.token();
        let slow = async move {
            let _token = token;
            sleep(Duration::from_secs(60)).await;
            "finished"
        };
        assert_eq!(timeout(ms(250), slow).await, Err(Elapsed::new()));
        assert_eq!(drops.count(), 1, "the inner future was dropped");
        assert_eq!(time::now() - start, ms(250), "at its deadline, not later");
    });
    assert_eq!(ex.pending_timers(), 0, "the inner sleep's timer is gone");
}

#[test]
fn timeout_that_does_not_fire_returns_the_output_and_leaves_no_timer() {
    let ex = virtual_executor();
    ex.block_on(async {
        let start = time::now();
        let fast = async {
            sleep(ms(30)).await;
            7
        };
        assert_eq!(timeout(Duration::from_secs(5), fast).await, Ok(7));
        assert_eq!(time::now() - start, ms(30));
        assert_eq!(timeout(ms(1), async { 8 }).await, Ok(8), "ready at once");
    });
    assert_eq!(ex.pending_timers(), 0);
}

#[test]
fn nested_timeouts_report_the_deadline_that_passed() {
    let ex = virtual_executor();
    ex.block_on(async {
        let forever = || pending::<()>();
        // Outer deadline first: the outer reports.
        let r = timeout(ms(10), timeout(ms(20), forever())).await;
        assert_eq!(r, Err(Elapsed::new()));
        // Inner deadline first: the inner reports, through the outer's Ok.
        let r = timeout(ms(20), timeout(ms(10), forever())).await;
        assert_eq!(r, Ok(Err(Elapsed::new())));
        // Both in the same tick: the inner reports (the outer polls it first).
        let r = timeout(ms(10), timeout(ms(10), forever())).await;
        assert_eq!(r, Ok(Err(Elapsed::new())));
    });
    assert_eq!(ex.pending_timers(), 0);
}

#[test]
fn dropped_sleeps_and_cancelled_tasks_leave_no_pending_timers() {
    let ex = virtual_executor();
    let sleeper = ex.spawn(sleep(Duration::from_secs(3600)));
    let waiters: Vec<_> = (0..50)
        .map(|_| ex.spawn(timeout(Duration::from_secs(10), pending::<()>())))
        .collect();
    ex.run_until_stalled();
    assert_eq!(ex.pending_timers(), 51);
    sleeper.cancel();
    for w in &waiters {
        w.cancel();
    }
    ex.run_until_stalled();
    assert_eq!(
        ex.pending_timers(),
        0,
        "cancelling a task removes its timer"
    );
    // A program that keeps creating and dropping timeouts.
    ex.block_on(async {
        let _long = Box::pin(sleep(Duration::from_secs(1)));
        for i in 0..2_000 {
            let r = timeout(ms(100), async move { i }).await;
            assert_eq!(r, Ok(i));
            let mut s = Box::pin(sleep(ms(5)));
            // Register the timer, then drop the sleep before it fires.
            futures::future::poll_immediate(&mut s).await;
        }
    });
    assert_eq!(ex.pending_timers(), 0);
    assert_eq!(ex.next_deadline(), None);
}

#[test]
fn interval_ticks_on_schedule_and_bursts_after_a_stall() {
    let ex = virtual_executor();
    let trace = ex.block_on(async {
        let trace = Timeline::new();
        let start = time::now();
        let mut every = time::interval(ms(100));
        for _ in 0..3 {
            let t = every.tick().await;
            assert_eq!(t, time::now(), "on time");
            trace.log("tick");
        }
        // Busy for 250 ms: the ticks due at 300 and 400 are missed; Burst catches up.
        sleep(ms(250)).await;
        for _ in 0..3 {
            let t = every.tick().await;
            assert_eq!((t - start).as_millis() % 100, 0, "scheduled instants");
            trace.log("tick");
        }
        trace.take()
    });
    assert_eq!(
        trace,
        [
            (0, "tick"),
            (100, "tick"),
            (200, "tick"),
            (450, "tick"),
            (450, "tick"),
            (500, "tick")
        ]
    );
}

#[test]
fn interval_with_skip_drops_missed_ticks() {
    let ex = virtual_executor();
    let trace = ex.block_on(async {
        let trace = Timeline::new();
        let mut every = time::interval(ms(100));
        every.set_missed_tick_behavior(MissedTickBehavior::Skip);
        every.tick().await;
        sleep(ms(250)).await;
        every.tick().await; // the one due at 100
        trace.log("late");
        every.tick().await; // next on the original schedule
        trace.log("on schedule");
        trace.take()
    });
    assert_eq!(trace, [(250, "late"), (300, "on schedule")]);
}

#[test]
fn a_twenty_second_scenario_finishes_in_well_under_a_second() {
    const PERIODS: [u64; 10] = [100, 200, 250, 400, 500, 1000, 2000, 2500, 4000, 5000];
    let real_start = Instant::now();
    let ex = virtual_executor();
    let (virtual_elapsed, ticks) = ex.block_on(async {
        let start = time::now();
        let ticks = Rc::new(RefCell::new(0));
        let mut handles = Vec::new();
        for period in PERIODS {
            let ticks = ticks.clone();
            handles.push(greenloop::spawn(async move {
                let mut every = time::interval(ms(period));
                loop {
                    let t = every.tick().await;
                    *ticks.borrow_mut() += 1;
                    if t - start >= Duration::from_secs(20) {
                        break;
                    }
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        (time::now() - start, *ticks.borrow())
    });
    assert_eq!(virtual_elapsed, Duration::from_secs(20));
    // A task with period p ticks at 0, p, ..., 20 000 ms.
    assert_eq!(ticks, PERIODS.iter().map(|p| 20_000 / p + 1).sum::<u64>());
    let real = real_start.elapsed();
    assert!(real < Duration::from_secs(1), "took {real:?} of real time");
}

#[test]
fn the_virtual_clock_gives_the_same_trace_on_every_run() {
    fn scenario() -> Vec<(u64, &'static str)> {
        virtual_executor().block_on(async {
            let trace = Timeline::new();
            let (a, b) = (trace.clone(), trace.clone());
            let pinger = greenloop::spawn(async move {
                for _ in 0..5 {
                    sleep(ms(30)).await;
                    a.log("ping");
                }
            });
            let ponger = greenloop::spawn(async move {
                for _ in 0..5 {
                    sleep(ms(45)).await;
                    b.log("pong");
                }
            });
            pinger.await.unwrap();
            ponger.await.unwrap();
            trace.take()
        })
    }
    let first = scenario();
    assert_eq!(first[..3], [(30, "ping"), (45, "pong"), (60, "ping")]);
    assert_eq!(first.len(), 10);
    for _ in 0..3 {
        assert_eq!(scenario(), first);
    }
}

#[test]
fn a_host_loop_drives_time_with_next_deadline_tick_and_advance() {
    let ex = virtual_executor();
    let done = ex.spawn(async {
        sleep(ms(40)).await;
        sleep_until(time::now() + ms(10)).await;
        "done"
    });
    ex.tick(); // polls the task: it registers its first timer
    let t0 = ex.next_deadline().expect("a timer is pending");
    assert_eq!(ex.pending_timers(), 1);
    ex.advance(ms(39));
    ex.run_until_stalled();
    assert!(!done.is_finished());
    assert_eq!(ex.next_deadline(), Some(t0), "the deadline has not moved");
    ex.advance(ms(1));
    ex.run_until_stalled();
    assert_eq!(ex.next_deadline(), Some(t0 + ms(10)), "the second sleep");
    ex.advance(ms(10));
    ex.run_until_stalled();
    assert!(done.is_finished());
    assert_eq!(ex.next_deadline(), None);
    assert_eq!(ex.block_on(done).unwrap(), "done");
}

#[test]
fn sleep_zero_yields_exactly_one_tick() {
    let ex = virtual_executor();
    let trace = ex.block_on(async {
        let trace = Timeline::new();
        let t = trace.clone();
        let other = greenloop::spawn(async move { t.log("other") });
        sleep(Duration::ZERO).await; // lets `other` run first
        trace.log("after sleep(0)");
        other.await.unwrap();
        trace.take()
    });
    assert_eq!(trace, [(0, "other"), (0, "after sleep(0)")]);
}

#[test]
fn a_real_clock_executor_parks_until_the_deadline() {
    let ex = Executor::new();
    let slept = ex.block_on(async {
        let start = Instant::now();
        sleep(ms(10)).await;
        start.elapsed()
    });
    assert!(slept >= ms(10), "woke after {slept:?}");
    assert_eq!(ex.pending_timers(), 0);
}

#[test]
fn async_io_timer_works_inside_greenloop() {
    // async-io's reactor thread fires its timer and wakes the greenloop task from there.
    let ex = Executor::new();
    let slept = ex.block_on(async {
        let start = Instant::now();
        async_io::Timer::after(ms(15)).await;
        start.elapsed()
    });
    assert!(slept >= ms(15), "woke after {slept:?}");
}

#[test]
#[should_panic(expected = "greenloop::time::sleep called outside a greenloop executor")]
fn sleep_outside_an_executor_panics() {
    futures::executor::block_on(sleep(ms(1)));
}

#[test]
fn timeouts_give_the_same_results_on_greenloop_and_on_smol() {
    // The same program on both (smol: async-io `Timer` raced with `or`), compared only on
    // what both promise whatever the scheduling delays (valgrind): a long sleep under a
    // short limit times out, a short sleep under a long limit completes.
    let hour = Duration::from_secs(3600);
    let on_greenloop = virtual_executor().block_on(async {
        let short = timeout(hour, sleep(ms(10))).await.is_ok();
        let long = timeout(ms(20), sleep(hour)).await.is_ok();
        (short, long)
    });
    let on_smol = smol::block_on(async {
        use futures::FutureExt;
        let limit = |d| async_io::Timer::after(d).map(|_| false);
        let work = |d| async_io::Timer::after(d).map(|_| true);
        let short = futures::future::select(Box::pin(work(ms(10))), Box::pin(limit(hour)));
        let short = short.await.factor_first().0;
        let long = futures::future::select(Box::pin(work(hour)), Box::pin(limit(ms(20))));
        let long = long.await.factor_first().0;
        (short, long)
    });
    assert_eq!(on_greenloop, (true, false));
    assert_eq!(on_smol, on_greenloop);
}
