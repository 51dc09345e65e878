//! Barrier: arrival indices, release of the whole party, reuse, reset, abort, and waiters
//! that leave (spec §9).

use std::task::Poll;

use crate::common::{Flag, poll_noop, poll_once};
use greenloop::Executor;
use greenloop::sync::{Barrier, BrokenBarrier};

#[test]
fn the_last_arrival_does_not_suspend_and_everyone_gets_its_index() {
    let b = Barrier::new(3);
    let (flag, waker) = Flag::new();
    let mut w0 = b.wait();
    let mut w1 = b.wait();
    assert!(poll_once(&mut w0, &waker).is_pending());
    assert!(poll_once(&mut w1, &waker).is_pending());
    assert_eq!(b.n_waiting(), 2);
    assert_eq!(poll_noop(&mut b.wait()), Poll::Ready(Ok(2)));
    assert!(flag.take());
    assert_eq!(poll_noop(&mut w0), Poll::Ready(Ok(0)));
    assert_eq!(poll_noop(&mut w1), Poll::Ready(Ok(1)));
    assert_eq!(b.n_waiting(), 0);
}

#[test]
fn the_barrier_is_reusable_cycle_after_cycle() {
    let ex = Executor::new();
    let b = Barrier::new(2);
    let rounds = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    for t in 0..2 {
        let (b, rounds) = (b.clone(), rounds.clone());
        ex.spawn(async move {
            for round in 0..3 {
                let i = b.wait().await.unwrap();
                rounds.borrow_mut().push((round, t, i));
            }
        });
    }
    ex.run_until_stalled();
    let rounds = rounds.borrow();
    assert_eq!(rounds.len(), 6);
    for round in 0..3 {
        let mut idx: Vec<_> = rounds
            .iter()
            .filter(|r| r.0 == round)
            .map(|r| r.2)
            .collect();
        idx.sort();
        assert_eq!(idx, [0, 1], "round {round}");
    }
}

#[test]
fn a_waiter_that_leaves_is_not_counted_and_indices_stay_distinct() {
    let b = Barrier::new(2);
    let mut gone = b.wait();
    assert!(poll_noop(&mut gone).is_pending());
    drop(gone);
    assert_eq!(b.n_waiting(), 0);
    let mut w = b.wait();
    assert!(poll_noop(&mut w).is_pending());
    assert_eq!(poll_noop(&mut b.wait()), Poll::Ready(Ok(1)));
    assert_eq!(poll_noop(&mut w), Poll::Ready(Ok(0)));
}

#[test]
fn reset_breaks_current_waits_and_leaves_the_barrier_usable() {
    let b = Barrier::new(2);
    let (flag, waker) = Flag::new();
    let mut w = b.wait();
    assert!(poll_once(&mut w, &waker).is_pending());
    b.reset();
    assert!(flag.take());
    assert_eq!(poll_noop(&mut w), Poll::Ready(Err(BrokenBarrier)));
    assert!(!b.is_broken());
    let mut w = b.wait();
    assert!(poll_noop(&mut w).is_pending());
    assert_eq!(poll_noop(&mut b.wait()), Poll::Ready(Ok(1)));
}

#[test]
fn abort_breaks_current_and_future_waits_until_reset() {
    let b = Barrier::new(3);
    let mut w = b.wait();
    assert!(poll_noop(&mut w).is_pending());
    b.abort();
    assert!(b.is_broken());
    assert_eq!(poll_noop(&mut w), Poll::Ready(Err(BrokenBarrier)));
    assert_eq!(poll_noop(&mut b.wait()), Poll::Ready(Err(BrokenBarrier)));
    b.reset();
    assert!(poll_noop(&mut b.wait()).is_pending());
}

#[test]
fn a_barrier_of_one_never_waits() {
    let b = Barrier::new(1);
    assert_eq!(poll_noop(&mut b.wait()), Poll::Ready(Ok(0)));
    assert_eq!(poll_noop(&mut b.wait()), Poll::Ready(Ok(0)));
}

#[test]
#[should_panic(expected = "at least one party")]
fn a_barrier_of_zero_parties_panics() {
    let _ = Barrier::new(0);
}
