//! Condition: wait releases and re-takes the lock, notify(n)/notify_all in FIFO order,
//! wait_for, and no notification lost when a waiter is dropped (spec §8).

use std::task::Poll;

use crate::common::{Flag, Trace, poll_noop, poll_once};
use greenloop::sync::{Condition, Lock};
use greenloop::{Executor, yield_now};

#[test]
fn wait_releases_the_lock_and_relocks_before_returning() {
    let cond = Condition::new(0);
    let guard = cond.as_lock().try_lock().unwrap();
    let (flag, waker) = Flag::new();
    let mut wait = cond.wait(guard);
    assert!(poll_once(&mut wait, &waker).is_pending());
    // Released while waiting.
    let mut g = cond.as_lock().try_lock().expect("wait released the lock");
    *g = 7;
    cond.notify(1);
    assert!(flag.take());
    // Notified, but the notifier still holds the lock.
    assert!(poll_once(&mut wait, &waker).is_pending());
    drop(g);
    assert!(flag.take());
    let Poll::Ready(g) = poll_once(&mut wait, &waker) else {
        panic!("not relocked")
    };
    assert_eq!(*g, 7);
    assert!(cond.as_lock().is_locked());
}

#[test]
fn notify_wakes_up_to_n_waiters_in_fifo_order() {
    let ex = Executor::new();
    let cond = Condition::new(());
    let trace = Trace::new();
    for name in ["a", "b", "c"] {
        let (cond, trace) = (cond.clone(), trace.clone());
        ex.spawn(async move {
            let guard = cond.lock().await;
            let _guard = cond.wait(guard).await;
            trace.push(name);
        });
    }
    ex.run_until_stalled();
    assert_eq!(cond.n_waiting(), 3);
    cond.notify(2);
    ex.run_until_stalled();
    assert_eq!(trace.take(), ["a", "b"]);
    cond.notify_all();
    ex.run_until_stalled();
    assert_eq!(trace.take(), ["c"]);
}

#[test]
fn notify_without_waiters_is_not_remembered() {
    let cond = Condition::new(());
    cond.notify(5);
    let guard = cond.as_lock().try_lock().unwrap();
    assert!(poll_noop(&mut cond.wait(guard)).is_pending());
}

#[test]
fn wait_for_checks_the_predicate_first_and_after_each_notify() {
    let ex = Executor::new();
    let cond = Condition::new(0);
    let seen = {
        let cond = cond.clone();
        ex.spawn(async move {
            let guard = cond.lock().await;
            *cond.wait_for(guard, |n| *n == 3).await
        })
    };
    ex.block_on(async {
        for _ in 0..3 {
            *cond.lock().await += 1;
            cond.notify_all();
            yield_now().await;
        }
    });
    ex.run_until_stalled();
    assert_eq!(ex.block_on(seen).unwrap(), 3);
}

#[test]
fn a_notified_waiter_that_is_dropped_passes_the_notification_on() {
    let cond = Condition::new(());
    let lock = cond.as_lock();
    let (flag_b, waker_b) = Flag::new();
    let mut a = cond.wait(lock.try_lock().unwrap());
    assert!(poll_noop(&mut a).is_pending());
    let mut b = cond.wait(lock.try_lock().unwrap());
    assert!(poll_once(&mut b, &waker_b).is_pending());
    cond.notify(1);
    assert!(!flag_b.is_woken());
    drop(a);
    assert!(flag_b.take());
    assert!(poll_once(&mut b, &waker_b).is_ready());
}

#[test]
fn a_waiter_dropped_while_relocking_passes_the_notification_on() {
    let cond = Condition::new(());
    let lock = cond.as_lock();
    let mut a = cond.wait(lock.try_lock().unwrap());
    assert!(poll_noop(&mut a).is_pending());
    let (flag_b, waker_b) = Flag::new();
    let mut b = cond.wait(lock.try_lock().unwrap());
    assert!(poll_once(&mut b, &waker_b).is_pending());
    let held = lock.try_lock().unwrap();
    cond.notify(1);
    assert!(poll_noop(&mut a).is_pending()); // Now queued for the lock.
    drop(a);
    assert!(flag_b.take());
    drop(held);
    assert!(poll_once(&mut b, &waker_b).is_ready());
}

#[test]
fn a_dropped_wait_leaves_the_lock_unlocked() {
    let cond = Condition::new(());
    let mut wait = cond.wait(cond.as_lock().try_lock().unwrap());
    assert!(poll_noop(&mut wait).is_pending());
    drop(wait);
    assert!(!cond.as_lock().is_locked());
    assert_eq!(cond.n_waiting(), 0);
}

#[test]
#[should_panic(expected = "guard of another lock")]
fn wait_with_a_guard_of_another_lock_panics() {
    let cond = Condition::new(());
    let other = Lock::new(());
    let _ = poll_noop(&mut cond.wait(other.try_lock().unwrap()));
}

#[test]
fn a_condition_can_share_an_existing_lock() {
    let lock = Lock::new(1);
    let cond = Condition::with_lock(lock.clone());
    let mut wait = cond.wait(lock.try_lock().unwrap());
    assert!(poll_noop(&mut wait).is_pending());
    assert!(!lock.is_locked());
    cond.notify_all();
    assert!(poll_noop(&mut wait).is_ready());
}
