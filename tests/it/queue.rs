//! Queue, LifoQueue and PriorityQueue: ordering, hand-off fairness, errors, cancellation at
//! every await point, task_done/join and both kinds of close (spec §4).

use std::task::Poll;

use crate::common::{Flag, Trace, poll_noop, poll_once};
use futures::StreamExt;
use greenloop::Executor;
use greenloop::sync::{
    Closed, LifoQueue, PriorityQueue, PutError, Queue, TaskDoneError, TryGetError, TryPutError,
};

#[test]
fn get_waits_until_put_and_is_woken_by_it() {
    let q = Queue::unbounded();
    let (flag, waker) = Flag::new();
    let mut get = q.get();
    assert_eq!(poll_once(&mut get, &waker), Poll::Pending);
    assert!(!flag.take());
    q.try_put(5).unwrap();
    assert!(flag.take());
    assert_eq!(poll_once(&mut get, &waker), Poll::Ready(Ok(5)));
}

#[test]
fn put_waits_while_full_and_is_woken_by_a_get() {
    let q = Queue::bounded(1);
    q.try_put(1).unwrap();
    let (flag, waker) = Flag::new();
    let mut put = q.put(2);
    assert_eq!(poll_once(&mut put, &waker), Poll::Pending);
    assert_eq!(q.try_get(), Ok(1));
    assert!(flag.take());
    assert_eq!(poll_once(&mut put, &waker), Poll::Ready(Ok(())));
    assert_eq!(q.try_get(), Ok(2));
}

#[test]
fn put_and_get_do_not_suspend_when_they_can_complete() {
    let q = Queue::bounded(2);
    assert_eq!(poll_noop(&mut q.put('a')), Poll::Ready(Ok(())));
    assert_eq!(poll_noop(&mut q.get()), Poll::Ready(Ok('a')));
}

#[test]
fn getters_are_served_in_fifo_order() {
    let ex = Executor::new();
    let q = Queue::unbounded();
    let trace = Trace::new();
    for name in ["a", "b", "c"] {
        let (q, trace) = (q.clone(), trace.clone());
        ex.spawn(async move {
            let item = q.get().await.unwrap();
            trace.push(format!("{name} got {item}"));
        });
    }
    ex.run_until_stalled();
    for i in 1..=3 {
        q.try_put(i).unwrap();
    }
    ex.run_until_stalled();
    assert_eq!(trace.take(), ["a got 1", "b got 2", "c got 3"]);
}

#[test]
fn putters_are_served_in_fifo_order() {
    let ex = Executor::new();
    let q = Queue::bounded(1);
    q.try_put(0).unwrap();
    for i in 1..=3 {
        let q = q.clone();
        ex.spawn(async move { q.put(i).await.unwrap() });
    }
    ex.run_until_stalled();
    let got = ex.block_on(async { [q.get().await, q.get().await, q.get().await, q.get().await] });
    assert_eq!(got, [Ok(0), Ok(1), Ok(2), Ok(3)]);
}

#[test]
fn an_item_handed_to_a_woken_getter_cannot_be_taken_by_try_get() {
    let q = Queue::unbounded();
    let mut get = q.get();
    assert!(poll_noop(&mut get).is_pending());
    q.try_put(1).unwrap();
    // The item belongs to the woken getter: no barging, unlike asyncio.
    assert_eq!(q.len(), 1);
    assert_eq!(q.try_get(), Err(TryGetError::Empty));
    assert_eq!(poll_noop(&mut get), Poll::Ready(Ok(1)));
}

#[test]
fn a_slot_freed_for_a_waiting_putter_cannot_be_taken_by_try_put() {
    let q = Queue::bounded(1);
    q.try_put(1).unwrap();
    let mut put = q.put(2);
    assert!(poll_noop(&mut put).is_pending());
    assert_eq!(q.try_get(), Ok(1));
    assert!(q.is_full());
    assert_eq!(q.try_put(3), Err(TryPutError::Full(3)));
    assert_eq!(poll_noop(&mut put), Poll::Ready(Ok(())));
    assert_eq!(q.try_get(), Ok(2));
}

#[test]
fn dropping_a_woken_getter_passes_the_item_to_the_next_getter() {
    let q = Queue::unbounded();
    let (flag_a, waker_a) = Flag::new();
    let (flag_b, waker_b) = Flag::new();
    let mut a = q.get();
    let mut b = q.get();
    assert!(poll_once(&mut a, &waker_a).is_pending());
    assert!(poll_once(&mut b, &waker_b).is_pending());
    q.try_put(7).unwrap();
    assert!(flag_a.take());
    assert!(!flag_b.is_woken());
    drop(a);
    assert!(flag_b.take());
    assert_eq!(poll_once(&mut b, &waker_b), Poll::Ready(Ok(7)));
}

#[test]
fn dropping_the_only_woken_getter_leaves_the_item_in_the_queue() {
    let q = Queue::unbounded();
    let mut get = q.get();
    assert!(poll_noop(&mut get).is_pending());
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    drop(get);
    assert_eq!(q.try_get(), Ok(1));
    assert_eq!(q.try_get(), Ok(2));
}

#[test]
fn dropping_a_waiting_getter_removes_it_before_it_is_served() {
    let q = Queue::unbounded();
    let (flag_a, waker_a) = Flag::new();
    let mut a = q.get();
    let mut b = q.get();
    assert!(poll_once(&mut a, &waker_a).is_pending());
    assert!(poll_noop(&mut b).is_pending());
    drop(a);
    q.try_put(3).unwrap();
    assert!(!flag_a.is_woken());
    assert_eq!(poll_noop(&mut b), Poll::Ready(Ok(3)));
}

#[test]
fn dropping_a_woken_putter_passes_the_slot_on_and_does_not_put_its_item() {
    let q = Queue::bounded(1);
    q.try_put(0).unwrap();
    let (flag_b, waker_b) = Flag::new();
    let mut a = q.put(1);
    let mut b = q.put(2);
    assert!(poll_noop(&mut a).is_pending());
    assert!(poll_once(&mut b, &waker_b).is_pending());
    assert_eq!(q.try_get(), Ok(0));
    assert!(!flag_b.is_woken());
    drop(a);
    assert!(flag_b.take());
    assert_eq!(poll_noop(&mut b), Poll::Ready(Ok(())));
    assert_eq!(q.try_get(), Ok(2));
    assert_eq!(q.try_get(), Err(TryGetError::Empty));
}

#[test]
fn dropping_a_woken_putter_alone_frees_its_slot() {
    let q = Queue::bounded(1);
    q.try_put(0).unwrap();
    let mut put = q.put(1);
    assert!(poll_noop(&mut put).is_pending());
    assert_eq!(q.try_get(), Ok(0));
    drop(put);
    assert!(!q.is_full());
    assert_eq!(q.try_put(9), Ok(()));
}

#[test]
fn a_cancelled_task_waiting_on_get_loses_no_item() {
    let ex = Executor::new();
    let q = Queue::unbounded();
    let first = {
        let q = q.clone();
        ex.spawn(async move { q.get().await })
    };
    let second = {
        let q = q.clone();
        ex.spawn(async move { q.get().await })
    };
    ex.run_until_stalled();
    q.try_put("x").unwrap();
    // The first getter was handed "x" but is cancelled before it runs.
    first.cancel();
    ex.run_until_stalled();
    assert_eq!(ex.block_on(second).unwrap(), Ok("x"));
}

#[test]
fn try_put_and_put_hand_the_item_back_on_error() {
    let q = Queue::bounded(1);
    q.try_put(String::from("a")).unwrap();
    let err = q.try_put(String::from("b")).unwrap_err();
    assert!(err.is_full());
    assert_eq!(err.into_inner(), "b");
    q.close();
    assert_eq!(
        q.try_put(String::from("c")),
        Err(TryPutError::Closed(String::from("c")))
    );
    assert_eq!(
        poll_noop(&mut q.put(String::from("d"))),
        Poll::Ready(Err(PutError(String::from("d"))))
    );
}

#[test]
fn len_is_full_and_capacity_follow_the_items() {
    let q = Queue::bounded(2);
    assert_eq!(
        (q.len(), q.is_empty(), q.is_full(), q.capacity()),
        (0, true, false, Some(2))
    );
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    assert_eq!((q.len(), q.is_empty(), q.is_full()), (2, false, true));
    let u = Queue::<u8>::unbounded();
    assert_eq!((u.capacity(), u.is_full()), (None, false));
}

#[test]
#[should_panic(expected = "capacity of at least one")]
fn a_bounded_queue_of_zero_capacity_panics() {
    let _ = Queue::<u8>::bounded(0);
}

#[test]
fn task_done_past_zero_is_an_error() {
    let q = Queue::unbounded();
    assert_eq!(q.task_done(), Err(TaskDoneError));
    q.try_put(1).unwrap();
    // Not tied to get: allowed before any get.
    assert_eq!(q.task_done(), Ok(()));
    assert_eq!(q.task_done(), Err(TaskDoneError));
}

#[test]
fn join_waits_until_every_item_is_done() {
    let q = Queue::unbounded();
    assert_eq!(poll_noop(&mut q.join()), Poll::Ready(()));
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    let (flag, waker) = Flag::new();
    let mut join = q.join();
    assert!(poll_once(&mut join, &waker).is_pending());
    q.try_get().unwrap();
    q.task_done().unwrap();
    assert!(!flag.is_woken());
    q.try_get().unwrap();
    q.task_done().unwrap();
    assert!(flag.take());
    assert_eq!(poll_once(&mut join, &waker), Poll::Ready(()));
}

#[test]
fn every_joiner_is_released_and_a_dropped_joiner_is_removed() {
    let q = Queue::unbounded();
    q.try_put(()).unwrap();
    let (flag, waker) = Flag::new();
    let mut a = q.join();
    let mut b = q.join();
    let mut c = q.join();
    for j in [&mut a, &mut b, &mut c] {
        assert!(poll_once(j, &waker).is_pending());
    }
    drop(b);
    q.task_done().unwrap();
    assert!(flag.take());
    assert!(poll_noop(&mut a).is_ready());
    assert!(poll_noop(&mut c).is_ready());
}

#[test]
fn close_fails_waiting_putters_with_their_item_and_keeps_items_gettable() {
    let q = Queue::bounded(1);
    q.try_put(1).unwrap();
    let (flag, waker) = Flag::new();
    let mut put = q.put(2);
    assert!(poll_once(&mut put, &waker).is_pending());
    q.close();
    assert!(flag.take());
    assert_eq!(poll_noop(&mut put), Poll::Ready(Err(PutError(2))));
    assert!(q.is_closed());
    assert_eq!(poll_noop(&mut q.get()), Poll::Ready(Ok(1)));
    assert_eq!(poll_noop(&mut q.get()), Poll::Ready(Err(Closed)));
    assert_eq!(q.try_get(), Err(TryGetError::Closed));
}

#[test]
fn close_fails_waiting_getters_and_is_idempotent() {
    let q = Queue::<u8>::unbounded();
    let (flag, waker) = Flag::new();
    let mut get = q.get();
    assert!(poll_once(&mut get, &waker).is_pending());
    q.close();
    q.close();
    assert!(flag.take());
    assert_eq!(poll_noop(&mut get), Poll::Ready(Err(Closed)));
}

#[test]
fn a_getter_woken_before_a_graceful_close_still_gets_its_item() {
    let q = Queue::unbounded();
    let mut get = q.get();
    assert!(poll_noop(&mut get).is_pending());
    q.try_put(4).unwrap();
    q.close();
    assert_eq!(poll_noop(&mut get), Poll::Ready(Ok(4)));
}

#[test]
fn a_putter_woken_before_a_close_fails_with_its_item() {
    let q = Queue::bounded(1);
    q.try_put(0).unwrap();
    let mut put = q.put(1);
    assert!(poll_noop(&mut put).is_pending());
    q.try_get().unwrap();
    q.close();
    assert_eq!(poll_noop(&mut put), Poll::Ready(Err(PutError(1))));
    assert!(q.is_empty());
}

#[test]
fn close_immediately_discards_items_and_releases_joiners() {
    let q = Queue::unbounded();
    for i in 0..3 {
        q.try_put(i).unwrap();
    }
    let mut join = q.join();
    assert!(poll_noop(&mut join).is_pending());
    q.close_immediately();
    assert!(q.is_empty());
    assert_eq!(poll_noop(&mut join), Poll::Ready(()));
    assert_eq!(q.try_get(), Err(TryGetError::Closed));
}

#[test]
fn close_immediately_still_needs_task_done_for_items_already_taken() {
    let q = Queue::unbounded();
    q.try_put(1).unwrap();
    q.try_put(2).unwrap();
    q.try_get().unwrap();
    q.close_immediately();
    let mut join = q.join();
    assert!(poll_noop(&mut join).is_pending());
    q.task_done().unwrap();
    assert!(poll_noop(&mut join).is_ready());
    assert_eq!(q.task_done(), Err(TaskDoneError));
}

#[test]
fn close_immediately_voids_the_item_of_a_woken_getter() {
    let q = Queue::unbounded();
    let mut get = q.get();
    assert!(poll_noop(&mut get).is_pending());
    q.try_put(1).unwrap();
    q.close_immediately();
    assert_eq!(poll_noop(&mut get), Poll::Ready(Err(Closed)));
}

#[test]
fn lifo_queue_returns_the_newest_item_first() {
    let q = LifoQueue::bounded(3);
    for i in 1..=3 {
        q.try_put(i).unwrap();
    }
    assert_eq!(
        [q.try_get(), q.try_get(), q.try_get()],
        [Ok(3), Ok(2), Ok(1)]
    );
}

#[test]
fn priority_queue_returns_the_smallest_item_first() {
    let q = PriorityQueue::unbounded();
    for item in [(3, "c"), (1, "a"), (2, "b")] {
        q.try_put(item).unwrap();
    }
    assert_eq!(q.try_get(), Ok((1, "a")));
    assert_eq!(q.try_get(), Ok((2, "b")));
    assert_eq!(q.try_get(), Ok((3, "c")));
}

#[test]
fn priority_queue_hands_off_to_waiting_putters_and_getters() {
    let q = PriorityQueue::bounded(1);
    let mut get = q.get();
    assert!(poll_noop(&mut get).is_pending());
    q.try_put(5).unwrap();
    assert_eq!(poll_noop(&mut get), Poll::Ready(Ok(5)));
    q.try_put(9).unwrap();
    let mut put = q.put(1);
    assert!(poll_noop(&mut put).is_pending());
    assert_eq!(q.try_get(), Ok(9));
    assert_eq!(poll_noop(&mut put), Poll::Ready(Ok(())));
    assert_eq!(q.try_get(), Ok(1));
}

#[test]
fn the_stream_yields_items_until_closed_and_drained() {
    let ex = Executor::new();
    let q = Queue::bounded(2);
    let consumer = {
        let q = q.clone();
        ex.spawn(async move {
            let mut items = q.stream();
            let mut got = Vec::new();
            while let Some(x) = items.next().await {
                got.push(x);
            }
            got
        })
    };
    let got = ex.block_on(async {
        for i in 0..10 {
            q.put(i).await.unwrap();
        }
        q.close();
        consumer.await.unwrap()
    });
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

#[test]
fn dropping_a_woken_stream_passes_the_item_on() {
    let q = Queue::unbounded();
    let mut stream = q.stream();
    let mut next = stream.next();
    assert!(poll_noop(&mut next).is_pending());
    let mut get = q.get();
    assert!(poll_noop(&mut get).is_pending());
    q.try_put(1).unwrap();
    drop(next);
    drop(stream);
    assert_eq!(poll_noop(&mut get), Poll::Ready(Ok(1)));
}

#[test]
fn producers_and_consumers_on_greenloop_move_every_item_once() {
    let ex = Executor::new();
    let q = Queue::bounded(4);
    let mut consumers = Vec::new();
    for _ in 0..3 {
        let q = q.clone();
        consumers.push(ex.spawn(async move {
            let mut sum = 0u64;
            while let Ok(x) = q.get().await {
                sum += x;
                q.task_done().unwrap();
            }
            sum
        }));
    }
    let total = ex.block_on(async {
        let mut producers = Vec::new();
        for p in 0..4u64 {
            let q = q.clone();
            producers.push(greenloop::spawn(async move {
                for i in 0..250 {
                    q.put(p * 1000 + i).await.unwrap();
                }
            }));
        }
        for p in producers {
            p.await.unwrap();
        }
        q.join().await;
        q.close();
        let mut total = 0;
        for c in consumers {
            total += c.await.unwrap();
        }
        total
    });
    let expected: u64 = (0..4u64)
        .flat_map(|p| (0..250).map(move |i| p * 1000 + i))
        .sum();
    assert_eq!(total, expected);
}
