//! Lock, Semaphore and BoundedSemaphore: FIFO hand-off without barging, try variants,
//! errors, cancellation while waiting and after being handed the lock/permit (spec §6, §7).

use std::task::Poll;

use crate::common::{Flag, Trace, poll_noop, poll_once};
use greenloop::sync::{BoundedSemaphore, Lock, ReleaseError, Semaphore};
use greenloop::{Executor, yield_now};

#[test]
fn lock_is_pending_while_held_and_woken_by_the_guard_drop() {
    let lock = Lock::new(0);
    let guard = lock.try_lock().unwrap();
    let (flag, waker) = Flag::new();
    let mut fut = lock.lock();
    assert!(poll_once(&mut fut, &waker).is_pending());
    drop(guard);
    assert!(flag.take());
    let Poll::Ready(mut guard) = poll_once(&mut fut, &waker) else {
        panic!("not handed over")
    };
    *guard += 1;
    drop(guard);
    assert_eq!(*lock.try_lock().unwrap(), 1);
}

#[test]
fn the_releasing_task_cannot_barge_ahead_of_a_waiter() {
    let lock = Lock::new(());
    let guard = lock.try_lock().unwrap();
    let mut waiter = lock.lock();
    assert!(poll_noop(&mut waiter).is_pending());
    drop(guard);
    // The lock now belongs to the waiter, which has not run yet.
    assert!(lock.is_locked());
    assert!(lock.try_lock().is_none());
    assert!(poll_noop(&mut lock.lock()).is_pending());
    assert!(poll_noop(&mut waiter).is_ready());
}

#[test]
fn lock_waiters_are_served_in_fifo_order() {
    let ex = Executor::new();
    let lock = Lock::new(Vec::new());
    let trace = Trace::new();
    for i in 0..4 {
        let (lock, trace) = (lock.clone(), trace.clone());
        ex.spawn(async move {
            let mut guard = lock.lock().await;
            trace.push(format!("{i} in"));
            guard.push(i);
            yield_now().await; // Hold the lock across an await.
            trace.push(format!("{i} out"));
        });
    }
    ex.run_until_stalled();
    assert_eq!(*lock.try_lock().unwrap(), [0, 1, 2, 3]);
    let expected: Vec<String> = (0..4)
        .flat_map(|i| [format!("{i} in"), format!("{i} out")])
        .collect();
    assert_eq!(trace.take(), expected);
}

#[test]
fn dropping_a_waiter_that_was_handed_the_lock_passes_it_on() {
    let lock = Lock::new(());
    let guard = lock.try_lock().unwrap();
    let mut a = lock.lock();
    let (flag_b, waker_b) = Flag::new();
    let mut b = lock.lock();
    assert!(poll_noop(&mut a).is_pending());
    assert!(poll_once(&mut b, &waker_b).is_pending());
    drop(guard);
    drop(a);
    assert!(flag_b.take());
    assert!(poll_once(&mut b, &waker_b).is_ready());
}

#[test]
fn dropping_the_only_handed_waiter_unlocks() {
    let lock = Lock::new(());
    let guard = lock.try_lock().unwrap();
    let mut a = lock.lock();
    assert!(poll_noop(&mut a).is_pending());
    drop(guard);
    drop(a);
    assert!(!lock.is_locked());
}

#[test]
fn a_cancelled_task_waiting_on_a_lock_neither_loses_it_nor_double_grants_it() {
    let ex = Executor::new();
    let lock = Lock::new(0);
    let guard = lock.try_lock().unwrap();
    let tasks: Vec<_> = (1..=3)
        .map(|i| {
            let lock = lock.clone();
            ex.spawn(async move {
                let mut g = lock.lock().await;
                *g += i;
            })
        })
        .collect();
    ex.run_until_stalled();
    drop(guard); // Handed to task 1...
    tasks[0].cancel(); // ...which is cancelled before it runs.
    ex.run_until_stalled();
    assert_eq!(*lock.try_lock().unwrap(), 5);
}

#[test]
fn semaphore_hands_permits_to_waiters_in_fifo_order() {
    let sem = Semaphore::new(1);
    let permit = sem.try_acquire().unwrap();
    let (flag_a, waker_a) = Flag::new();
    let (flag_b, waker_b) = Flag::new();
    let mut a = sem.acquire();
    let mut b = sem.acquire();
    assert!(poll_once(&mut a, &waker_a).is_pending());
    assert!(poll_once(&mut b, &waker_b).is_pending());
    drop(permit);
    assert!(flag_a.take());
    assert!(!flag_b.is_woken());
    assert_eq!(sem.available_permits(), 0);
    let Poll::Ready(pa) = poll_once(&mut a, &waker_a) else {
        panic!()
    };
    drop(pa);
    assert!(flag_b.take());
    assert!(poll_once(&mut b, &waker_b).is_ready());
}

#[test]
fn two_releases_with_two_waiters_leave_no_permit_free() {
    let sem = Semaphore::new(0);
    let mut a = sem.acquire();
    let mut b = sem.acquire();
    assert!(poll_noop(&mut a).is_pending());
    assert!(poll_noop(&mut b).is_pending());
    sem.release();
    sem.release();
    assert_eq!(sem.available_permits(), 0);
    let (Poll::Ready(pa), Poll::Ready(pb)) = (poll_noop(&mut a), poll_noop(&mut b)) else {
        panic!("both were handed a permit")
    };
    pa.forget();
    pb.forget();
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn a_newcomer_waits_behind_waiters_even_if_a_permit_is_released() {
    let sem = Semaphore::new(0);
    let mut waiter = sem.acquire();
    assert!(poll_noop(&mut waiter).is_pending());
    assert!(sem.is_locked());
    sem.release();
    assert!(sem.try_acquire().is_none());
    assert!(poll_noop(&mut waiter).is_ready());
}

#[test]
fn a_dropped_waiter_that_was_handed_a_permit_returns_it() {
    let sem = Semaphore::new(0);
    let mut a = sem.acquire();
    assert!(poll_noop(&mut a).is_pending());
    sem.release();
    drop(a);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn semaphore_release_is_unbounded() {
    let sem = Semaphore::new(1);
    sem.release();
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn bounded_semaphore_refuses_to_release_above_its_bound() {
    let sem = BoundedSemaphore::new(2);
    assert_eq!(sem.release(), Err(ReleaseError));
    let p = sem.try_acquire().unwrap();
    p.forget();
    assert_eq!(sem.release(), Ok(()));
    assert_eq!(sem.release(), Err(ReleaseError));
    assert_eq!(sem.available_permits(), 2);
}

#[test]
fn a_bounded_permit_dropped_after_a_manual_release_does_not_exceed_the_bound() {
    let sem = BoundedSemaphore::new(1);
    let p = sem.try_acquire().unwrap();
    assert_eq!(sem.release(), Ok(()));
    drop(p);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn semaphore_limits_concurrency_on_greenloop() {
    let ex = Executor::new();
    let sem = Semaphore::new(3);
    let active = std::rc::Rc::new(std::cell::Cell::new(0));
    let peak = std::rc::Rc::new(std::cell::Cell::new(0));
    for _ in 0..20 {
        let (sem, active, peak) = (sem.clone(), active.clone(), peak.clone());
        ex.spawn(async move {
            let _permit = sem.acquire().await;
            active.set(active.get() + 1);
            peak.set(peak.get().max(active.get()));
            yield_now().await;
            active.set(active.get() - 1);
        });
    }
    ex.run_until_stalled();
    assert_eq!(
        (peak.get(), active.get(), sem.available_permits()),
        (3, 0, 3)
    );
}
