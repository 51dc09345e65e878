//! Event: set wakes every waiter in order, clear, waiting on a set event, cancellation (spec §5).

use std::task::Poll;

use crate::common::{Flag, Trace, poll_noop, poll_once};
use greenloop::Executor;
use greenloop::sync::Event;

#[test]
fn wait_on_a_set_event_completes_without_suspending() {
    let e = Event::new();
    e.set();
    assert_eq!(poll_noop(&mut e.wait()), Poll::Ready(()));
}

#[test]
fn wait_is_pending_until_set_wakes_it() {
    let e = Event::new();
    let (flag, waker) = Flag::new();
    let mut wait = e.wait();
    assert!(poll_once(&mut wait, &waker).is_pending());
    assert!(!flag.take());
    e.set();
    assert!(flag.take());
    assert_eq!(poll_once(&mut wait, &waker), Poll::Ready(()));
}

#[test]
fn set_wakes_every_waiter_in_registration_order() {
    let ex = Executor::new();
    let e = Event::new();
    let trace = Trace::new();
    for name in ["a", "b", "c"] {
        let (e, trace) = (e.clone(), trace.clone());
        ex.spawn(async move {
            e.wait().await;
            trace.push(name);
        });
    }
    ex.run_until_stalled();
    assert!(trace.take().is_empty());
    e.set();
    ex.run_until_stalled();
    assert_eq!(trace.take(), ["a", "b", "c"]);
}

#[test]
fn a_waiter_woken_by_set_completes_even_if_cleared_before_it_runs() {
    let e = Event::new();
    let mut wait = e.wait();
    assert!(poll_noop(&mut wait).is_pending());
    e.set();
    e.clear();
    assert!(!e.is_set());
    assert_eq!(poll_noop(&mut wait), Poll::Ready(()));
    // A new wait after the clear waits again.
    assert!(poll_noop(&mut e.wait()).is_pending());
}

#[test]
fn setting_a_set_event_does_nothing() {
    let e = Event::new();
    e.set();
    let (flag, waker) = Flag::new();
    assert!(poll_once(&mut e.wait(), &waker).is_ready());
    e.set();
    assert!(e.is_set());
    assert!(!flag.is_woken());
}

#[test]
fn a_dropped_waiter_is_removed_and_others_are_still_woken() {
    let e = Event::new().with_name("go");
    let (flag_a, waker_a) = Flag::new();
    let (flag_b, waker_b) = Flag::new();
    let mut a = e.wait();
    let mut b = e.wait();
    assert!(poll_once(&mut a, &waker_a).is_pending());
    assert!(poll_once(&mut b, &waker_b).is_pending());
    drop(a);
    assert!(format!("{e:?}").contains("waiting: 1"));
    e.set();
    assert!(!flag_a.is_woken());
    assert!(flag_b.take());
    assert!(poll_once(&mut b, &waker_b).is_ready());
}

#[test]
fn a_cancelled_task_waiting_on_an_event_does_not_disturb_the_others() {
    let ex = Executor::new();
    let e = Event::new();
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let e = e.clone();
            ex.spawn(async move {
                e.wait().await;
                i
            })
        })
        .collect();
    ex.run_until_stalled();
    handles[1].cancel();
    e.set();
    let out: Vec<_> = ex.block_on(async {
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.ok());
        }
        out
    });
    assert_eq!(out, [Some(0), None, Some(2)]);
}

#[test]
fn ten_thousand_waiters_are_all_released_by_one_set() {
    let ex = Executor::new();
    let e = Event::new();
    let done = std::rc::Rc::new(std::cell::Cell::new(0));
    for _ in 0..10_000 {
        let (e, done) = (e.clone(), done.clone());
        ex.spawn(async move {
            e.wait().await;
            done.set(done.get() + 1);
        });
    }
    ex.run_until_stalled();
    e.set();
    ex.run_until_stalled();
    assert_eq!(done.get(), 10_000);
}
