//! The primitives rely only on `Waker`s: the same programs run on smol's `LocalExecutor`.
//! Only what both executors promise is compared: results, FIFO order, counts.

use std::cell::RefCell;
use std::rc::Rc;

use greenloop::sync::{Barrier, Condition, Event, Lock, Queue, Semaphore};
use smol::LocalExecutor;

/// Runs `f` as the main future of a fresh smol `LocalExecutor`.
fn on_smol<T>(f: impl AsyncFnOnce(&LocalExecutor<'static>) -> T) -> T {
    let ex = LocalExecutor::new();
    smol::block_on(ex.run(f(&ex)))
}

#[test]
fn queue_moves_items_in_order_between_smol_tasks() {
    let got = on_smol(async |ex| {
        let q = Queue::bounded(2);
        let consumer = {
            let q = q.clone();
            ex.spawn(async move {
                let mut got = Vec::new();
                while let Ok(x) = q.get().await {
                    got.push(x);
                }
                got
            })
        };
        for i in 0..100 {
            q.put(i).await.unwrap();
        }
        q.close();
        consumer.await
    });
    assert_eq!(got, (0..100).collect::<Vec<_>>());
}

#[test]
fn event_releases_every_smol_task() {
    let n = on_smol(async |ex| {
        let e = Event::new();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let e = e.clone();
                ex.spawn(async move { e.wait().await })
            })
            .collect();
        smol::future::yield_now().await;
        e.set();
        let mut n = 0;
        for t in tasks {
            t.await;
            n += 1;
        }
        n
    });
    assert_eq!(n, 50);
}

#[test]
fn lock_and_semaphore_serialise_smol_tasks_in_fifo_order() {
    let order = on_smol(async |ex| {
        let lock = Lock::new(Vec::new());
        let sem = Semaphore::new(1);
        let guard = lock.lock().await;
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let (lock, sem) = (lock.clone(), sem.clone());
                ex.spawn(async move {
                    let _p = sem.acquire().await;
                    lock.lock().await.push(i);
                })
            })
            .collect();
        smol::future::yield_now().await;
        drop(guard);
        for t in tasks {
            t.await;
        }
        lock.lock().await.clone()
    });
    assert_eq!(order, (0..10).collect::<Vec<_>>());
}

#[test]
fn condition_and_barrier_work_between_smol_tasks() {
    let (seen, indices) = on_smol(async |ex| {
        let cond = Condition::new(0);
        let barrier = Barrier::new(3);
        let indices = Rc::new(RefCell::new(Vec::new()));
        let waiter = {
            let cond = cond.clone();
            ex.spawn(async move {
                let guard = cond.lock().await;
                *cond.wait_for(guard, |n| *n == 2).await
            })
        };
        let parties: Vec<_> = (0..2)
            .map(|_| {
                let (barrier, indices) = (barrier.clone(), indices.clone());
                ex.spawn(async move {
                    let i = barrier.wait().await.unwrap();
                    indices.borrow_mut().push(i);
                })
            })
            .collect();
        for _ in 0..2 {
            *cond.lock().await += 1;
            cond.notify_all();
            smol::future::yield_now().await;
        }
        let i = barrier.wait().await.unwrap();
        indices.borrow_mut().push(i);
        for p in parties {
            p.await;
        }
        let mut idx = indices.borrow().clone();
        idx.sort();
        (waiter.await, idx)
    });
    assert_eq!(seen, 2);
    assert_eq!(indices, [0, 1, 2]);
}
