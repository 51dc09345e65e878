//! Tests for `TaskGroup` on greenloop's executor: output order, failure propagation and
//! cancellation of siblings, panics, drop, nesting.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::join_support::{DropFlag, forever, secs_since, virtual_block_on, yield_times};
use greenloop::task_group::{TaskError, TaskGroup};
use greenloop::{block_on, yield_now};

// === TaskGroup ===

#[test]
fn join_returns_outputs_in_spawn_order_not_completion_order() {
    block_on(async {
        let finished = Rc::new(RefCell::new(Vec::new()));
        let group = TaskGroup::<usize, ()>::new();
        for i in 0..4 {
            let finished = Rc::clone(&finished);
            group.spawn(async move {
                yield_times(4 - i).await;
                finished.borrow_mut().push(i);
                Ok(i)
            });
        }
        assert_eq!(group.join().await, Ok(vec![0, 1, 2, 3]));
        assert_eq!(*finished.borrow(), [3, 2, 1, 0]);
    });
}

#[test]
fn an_empty_group_joins_at_once() {
    block_on(async {
        let group = TaskGroup::<(), ()>::new();
        assert!(group.is_empty());
        assert_eq!(group.join().await, Ok(vec![]));
    });
}

#[test]
fn the_first_error_cancels_the_siblings_before_join_is_awaited() {
    block_on(async {
        let cancelled = Rc::new(Cell::new(false));
        let group = TaskGroup::<(), &str>::new();
        group.spawn(forever(&cancelled));
        group.spawn(async {
            yield_now().await;
            Err("boom")
        });
        yield_times(3).await;
        assert!(group.is_failed());
        assert!(
            cancelled.get(),
            "the sibling was cancelled when the failure happened"
        );
        let failures = group.join().await.unwrap_err();
        assert!(matches!(failures[..], [TaskError::Failed("boom")]));
    });
}

#[test]
fn a_panic_is_a_failure_that_carries_its_payload() {
    block_on(async {
        let cancelled = Rc::new(Cell::new(false));
        let group = TaskGroup::<u8, ()>::new();
        group.spawn(forever(&cancelled));
        group.spawn(async { panic!("task exploded") });
        let failures = group.join().await.unwrap_err();
        assert_eq!(failures.len(), 1);
        let TaskError::Panicked(payload) = &failures[0] else {
            panic!("expected a panic, got {:?}", failures[0]);
        };
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"task exploded"));
        assert!(cancelled.get());
    });
}

#[test]
fn a_task_spawned_after_a_failure_never_runs() {
    block_on(async {
        let ran = Rc::new(Cell::new(false));
        let group = TaskGroup::<(), &str>::new();
        group.spawn(async { Err("early") });
        yield_now().await;
        assert!(group.is_failed());
        let flag = Rc::clone(&ran);
        group.spawn(async move {
            flag.set(true);
            Ok(())
        });
        let failures = group.join().await.unwrap_err();
        assert_eq!(failures.len(), 1);
        assert!(!ran.get());
    });
}

#[test]
fn the_first_failure_cancels_a_sibling_that_would_have_failed_later() {
    block_on(async {
        let group = TaskGroup::<(), usize>::new();
        group.spawn(async {
            yield_times(2).await;
            Err(2)
        });
        group.spawn(async {
            yield_times(1).await;
            Err(1)
        });
        // The first task is cancelled at its await by the second task's failure, so only that
        // failure is reported.
        let failures = group.join().await.unwrap_err();
        assert!(matches!(failures[..], [TaskError::Failed(1)]));
    });
}

#[test]
fn dropping_the_group_cancels_its_tasks() {
    block_on(async {
        let flags: Vec<Rc<Cell<bool>>> = (0..3).map(|_| Rc::default()).collect();
        let group = TaskGroup::<(), ()>::new();
        for flag in &flags {
            group.spawn(forever(flag));
        }
        yield_now().await;
        assert!(flags.iter().all(|f| !f.get()));
        drop(group);
        yield_now().await;
        assert!(flags.iter().all(|f| f.get()));
    });
}

#[test]
fn nested_groups_cancel_inward_and_report_outward() {
    block_on(async {
        // The inner group fails; its owner turns that into an outer failure, which cancels the
        // outer sibling.
        let outer_sibling = Rc::new(Cell::new(false));
        let outer = TaskGroup::<(), String>::new();
        outer.spawn(forever(&outer_sibling));
        outer.spawn(async {
            let inner = TaskGroup::<(), &str>::new();
            inner.spawn(async { Err("inner boom") });
            inner
                .join()
                .await
                .map(drop)
                .map_err(|failures| format!("{} inner failure(s)", failures.len()))
        });
        let failures = outer.join().await.unwrap_err();
        assert!(matches!(&failures[..], [TaskError::Failed(m)] if m == "1 inner failure(s)"));
        assert!(outer_sibling.get());

        // The outer group fails; the task owning the inner group is cancelled, which drops the
        // inner group and cancels its tasks.
        let inner_task = Rc::new(Cell::new(false));
        let outer = TaskGroup::<(), &str>::new();
        let flag = Rc::clone(&inner_task);
        outer.spawn(async move {
            let inner = TaskGroup::<(), &str>::new();
            inner.spawn(forever(&flag));
            inner.join().await.map(drop).map_err(|_| "inner")
        });
        outer.spawn(async {
            yield_times(2).await;
            Err("outer boom")
        });
        let failures = outer.join().await.unwrap_err();
        assert!(matches!(failures[..], [TaskError::Failed("outer boom")]));
        yield_now().await;
        assert!(inner_task.get(), "the inner group's task was cancelled");
    });
}

#[test]
fn dropping_join_midway_cancels_the_tasks() {
    block_on(async {
        let cancelled = Rc::new(Cell::new(false));
        let group = TaskGroup::<(), ()>::new();
        group.spawn(forever(&cancelled));
        let mut join = Box::pin(group.join());
        assert!(futures::poll!(join.as_mut()).is_pending());
        drop(join);
        yield_now().await;
        assert!(cancelled.get());
    });
}

// === cancellation from outside: what a timeout does ===

#[test]
fn cancelling_the_task_awaiting_a_gather_cancels_every_child() {
    block_on(async {
        let flags: Vec<Rc<Cell<bool>>> = (0..3).map(|_| Rc::default()).collect();
        let children: Vec<_> = flags.iter().map(forever::<()>).collect();
        let parent = greenloop::spawn(greenloop::gather::gather(children));
        yield_now().await;
        assert!(flags.iter().all(|f| !f.get()));
        parent.cancel();
        assert!(flags.iter().all(|f| f.get()));
        assert!(parent.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn a_deadline_that_wins_the_race_against_join_cancels_the_group() {
    // The shape of `timeout(group.join())`: the deadline finishes first, the join future is
    // dropped, and with it the group and its tasks.
    block_on(async {
        let cancelled = Rc::new(Cell::new(false));
        let group = TaskGroup::<(), ()>::new();
        group.spawn(forever(&cancelled));
        let deadline = Box::pin(yield_times(3));
        match futures::future::select(Box::pin(group.join()), deadline).await {
            futures::future::Either::Right(((), _join)) => {}
            futures::future::Either::Left(_) => panic!("the group cannot finish first"),
        }
        assert!(
            cancelled.get(),
            "dropping the join future cancelled the task"
        );
    });
}

#[test]
fn a_timeout_over_join_cancels_the_groups_tasks_at_the_deadline() {
    use greenloop::time::{Elapsed, now, sleep, timeout};
    use std::time::Duration;
    virtual_block_on(async {
        let start = now();
        let (fast_done, slow_cancelled) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
        let group = TaskGroup::<(), ()>::new();
        let flag = Rc::clone(&fast_done);
        group.spawn(async move {
            sleep(Duration::from_secs(1)).await;
            flag.set(true);
            Ok(())
        });
        let guard = DropFlag(Rc::clone(&slow_cancelled));
        group.spawn(async move {
            let _guard = guard;
            sleep(Duration::from_secs(60)).await;
            Ok(())
        });
        let result = timeout(Duration::from_secs(2), group.join()).await;
        assert!(matches!(result, Err(Elapsed { .. })));
        assert_eq!(secs_since(start), 2);
        assert!(fast_done.get());
        assert!(
            slow_cancelled.get(),
            "the group was dropped with the join future"
        );
    });
}

#[test]
fn a_failure_inside_a_timed_out_group_is_reported_before_the_deadline() {
    use greenloop::time::{now, sleep, timeout};
    use std::time::Duration;
    virtual_block_on(async {
        let start = now();
        let group = TaskGroup::<(), &str>::new();
        group.spawn(async {
            sleep(Duration::from_secs(1)).await;
            Err("failed at 1s")
        });
        group.spawn(async {
            sleep(Duration::from_secs(60)).await;
            Ok(())
        });
        let failures = timeout(Duration::from_secs(10), group.join())
            .await
            .expect("the failure ends the group before the deadline")
            .unwrap_err();
        assert!(matches!(failures[..], [TaskError::Failed("failed at 1s")]));
        assert_eq!(
            secs_since(start),
            1,
            "the sibling was cancelled, not awaited"
        );
    });
}
