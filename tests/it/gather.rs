//! Tests for `gather`, `try_gather` and `gather!`.
//!
//! Most tests poll by hand with a counting waker, so every poll and every wake is visible and the
//! results do not depend on any executor's scheduling.
use std::cell::{Cell, RefCell};
use std::future::{Future, pending, ready};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use futures::StreamExt;
use greenloop::gather::{gather, try_gather};

use crate::join_support::{
    Boxed, DropFlag, Gate, Harness, counted, secs_since, virtual_block_on, yield_times,
};

// === gather ===

#[test]
fn gather_returns_outputs_in_argument_order_not_completion_order() {
    let harness = Harness::new();
    let gates: Vec<Gate> = (0..3).map(|_| Gate::default()).collect();
    let completed = Rc::new(RefCell::new(Vec::new()));
    let mut all = gather(gates.iter().enumerate().map(|(i, gate)| {
        let gate = gate.clone();
        let completed = Rc::clone(&completed);
        async move {
            gate.wait().await;
            completed.borrow_mut().push(i);
            i * 10
        }
    }));
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    for i in [2, 0, 1] {
        gates[i].open();
        let polled = harness.poll(&mut all);
        assert_eq!(polled.is_ready(), i == 1);
        if let Poll::Ready(outputs) = polled {
            assert_eq!(outputs, [0, 10, 20]);
        }
    }
    assert_eq!(*completed.borrow(), [2, 0, 1]);
}

#[test]
fn gather_of_nothing_returns_an_empty_vec_at_once() {
    let harness = Harness::new();
    let mut none = gather(Vec::<std::future::Ready<u8>>::new());
    assert_eq!(harness.poll(&mut none), Poll::Ready(vec![]));
}

#[test]
fn gather_returns_err_outputs_as_they_are_and_lets_the_others_finish() {
    let harness = Harness::new();
    let gate = Gate::default();
    let waiting = gate.clone();
    let children: Vec<Boxed<Result<i32, &str>>> = vec![
        Box::pin(async move {
            waiting.wait().await;
            Ok(1)
        }),
        Box::pin(ready(Err("boom"))),
        Box::pin(ready(Ok(3))),
    ];
    let mut all = gather(children);
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    gate.open();
    assert_eq!(
        harness.poll(&mut all),
        Poll::Ready(vec![Ok(1), Err("boom"), Ok(3)])
    );
}

#[test]
fn gather_starts_its_children_in_argument_order_on_its_first_poll() {
    let harness = Harness::new();
    let started = Rc::new(RefCell::new(Vec::new()));
    let mut all = gather((0..4).map(|i| {
        let started = Rc::clone(&started);
        async move {
            started.borrow_mut().push(i);
            pending::<()>().await;
        }
    }));
    assert!(started.borrow().is_empty(), "a gather is lazy");
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    assert_eq!(*started.borrow(), [0, 1, 2, 3]);
}

#[test]
fn gather_polls_only_the_children_that_were_woken() {
    let harness = Harness::new();
    let polls: Vec<Rc<Cell<usize>>> = (0..3).map(|_| Rc::default()).collect();
    let gates: Vec<Gate> = (0..3).map(|_| Gate::default()).collect();
    let mut all = gather((0..3).map(|i| counted(Rc::clone(&polls[i]), gates[i].clone().wait())));
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    let counts = || polls.iter().map(|p| p.get()).collect::<Vec<_>>();
    assert_eq!(counts(), [1, 1, 1]);

    gates[1].open();
    assert_eq!(harness.wakes(), 1, "the child's wake reaches the parent");
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    assert_eq!(counts(), [1, 2, 1], "only the woken child was polled");

    // A spurious poll of the parent polls no child.
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    assert_eq!(counts(), [1, 2, 1]);

    gates[2].open();
    gates[0].open();
    assert_eq!(harness.poll(&mut all), Poll::Ready(vec![(), (), ()]));
    assert_eq!(counts(), [2, 2, 2]);
}

#[test]
fn a_child_woken_many_times_is_polled_once_and_wakes_the_parent_once() {
    let harness = Harness::new();
    let polls = Rc::new(Cell::new(0));
    let stolen = Rc::new(RefCell::new(None::<Waker>));
    let steal = Rc::clone(&stolen);
    let mut all = gather([counted(
        Rc::clone(&polls),
        std::future::poll_fn(move |cx| {
            *steal.borrow_mut() = Some(cx.waker().clone());
            Poll::<()>::Pending
        }),
    )]);
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    let waker = stolen.borrow().clone().unwrap();
    waker.wake_by_ref();
    waker.wake_by_ref();
    waker.wake();
    assert_eq!(harness.wakes(), 1);
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    assert_eq!(polls.get(), 2);
}

#[test]
fn a_child_that_wakes_itself_is_polled_again_on_the_next_poll_of_the_gather() {
    let harness = Harness::new();
    let mut all = gather([async {
        greenloop::yield_now().await;
        "yielded"
    }]);
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    assert_eq!(
        harness.wakes(),
        1,
        "the self-wake is forwarded to the parent"
    );
    assert_eq!(harness.poll(&mut all), Poll::Ready(vec!["yielded"]));
}

#[test]
fn a_sibling_woken_mid_poll_is_polled_in_it_only_if_its_bitmap_word_was_already_flagged() {
    // Children 0, 1 and 100 (100 is in the second bitmap word). When the gather's drain polls
    // child 0, child 0 opens the gates of 1 (same word, already swapped) and 100 (second word,
    // empty until now): neither is polled in this batch; both are on the next poll.
    let harness = Harness::new();
    let polls: Vec<Rc<Cell<usize>>> = (0..101).map(|_| Rc::default()).collect();
    let gates: Vec<Gate> = (0..101).map(|_| Gate::default()).collect();
    let (open_1, open_100) = (gates[1].clone(), gates[100].clone());
    let first = gates[0].clone();
    let mut children: Vec<Boxed<()>> = vec![Box::pin(counted(Rc::clone(&polls[0]), async move {
        first.wait().await;
        open_1.open();
        open_100.open();
    }))];
    for i in 1..101 {
        children.push(Box::pin(counted(
            Rc::clone(&polls[i]),
            gates[i].clone().wait(),
        )));
    }
    let mut all = gather(children);
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    gates[0].open();
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    assert_eq!(
        (polls[0].get(), polls[1].get(), polls[100].get()),
        (2, 1, 1)
    );
    assert_eq!(harness.wakes(), 2, "the siblings' wakes reached the parent");
    for gate in &gates[2..100] {
        gate.open();
    }
    assert!(harness.poll(&mut all).is_ready());
    assert_eq!((polls[1].get(), polls[100].get()), (2, 2));
}

#[test]
fn child_wakers_can_be_woken_from_another_thread() {
    let harness = Harness::new();
    let stolen = Rc::new(RefCell::new(None::<Waker>));
    let steal = Rc::clone(&stolen);
    let mut woken = false;
    let mut all = gather([std::future::poll_fn(move |cx| {
        if std::mem::replace(&mut woken, true) {
            Poll::Ready(7)
        } else {
            *steal.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    })]);
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    let waker = stolen.borrow_mut().take().unwrap();
    std::thread::spawn(move || waker.wake()).join().unwrap();
    assert_eq!(harness.wakes(), 1);
    assert_eq!(harness.poll(&mut all), Poll::Ready(vec![7]));
}

#[test]
fn wakes_from_several_threads_at_once_are_never_lost() {
    // Four threads wake disjoint quarters of 256 children while the gather is parked in
    // `block_on`; a lost wake would leave it parked forever. Repeated to vary the interleavings.
    use std::sync::Mutex;
    use std::sync::atomic::AtomicBool;
    const CHILDREN: usize = 256;
    for _ in 0..20 {
        let slots: Arc<Vec<(AtomicBool, Mutex<Option<Waker>>)>> = Arc::new(
            (0..CHILDREN)
                .map(|_| (AtomicBool::new(false), Mutex::new(None)))
                .collect(),
        );
        let registered = Arc::new(std::sync::Barrier::new(5));
        let children = (0..CHILDREN).map(|i| {
            let slots = Arc::clone(&slots);
            std::future::poll_fn(move |cx| {
                let (ready, waker) = &slots[i];
                *waker.lock().unwrap() = Some(cx.waker().clone());
                if ready.load(Ordering::SeqCst) {
                    Poll::Ready(i)
                } else {
                    Poll::Pending
                }
            })
        });
        let wakers: Vec<_> = (0..4)
            .map(|t| {
                let slots = Arc::clone(&slots);
                let registered = Arc::clone(&registered);
                std::thread::spawn(move || {
                    registered.wait();
                    for i in (t..CHILDREN).step_by(4) {
                        let (ready, waker) = &slots[i];
                        ready.store(true, Ordering::SeqCst);
                        let waker = waker.lock().unwrap().clone();
                        waker.expect("registered on the first poll").wake();
                    }
                })
            })
            .collect();
        let mut all = gather(children);
        let mut started = false;
        let outputs = futures::executor::block_on(std::future::poll_fn(|cx| {
            let poll = Pin::new(&mut all).poll(cx);
            if !std::mem::replace(&mut started, true) {
                registered.wait();
            }
            poll
        }));
        assert_eq!(outputs, (0..CHILDREN).collect::<Vec<_>>());
        for thread in wakers {
            thread.join().unwrap();
        }
    }
}

#[test]
fn a_gather_of_100k_children_polls_each_child_at_most_twice() {
    // Child i waits for child i + 1 and is woken by it: one wake per poll of the parent, the worst
    // case for a shared waker (which would poll every unfinished child at each of the 100k wakes).
    const N: usize = 100_000;
    let harness = Harness::new();
    let child_polls = Rc::new(Cell::new(0));
    let gates: Vec<Gate> = (0..N).map(|_| Gate::default()).collect();
    gates[N - 1].open();
    let mut all = gather((0..N).map(|i| {
        let gate = gates[i].clone();
        let next = i.checked_sub(1).map(|j| gates[j].clone());
        counted(Rc::clone(&child_polls), async move {
            gate.wait().await;
            if let Some(next) = next {
                next.open();
            }
            i
        })
    }));
    let mut parent_polls = 0;
    let outputs = loop {
        parent_polls += 1;
        if let Poll::Ready(outputs) = harness.poll(&mut all) {
            break outputs;
        }
    };
    assert_eq!(outputs.len(), N);
    assert!(outputs.iter().enumerate().all(|(i, &o)| i == o));
    // The last child finishes on its first poll; every other one is polled once pending, once woken.
    assert_eq!(child_polls.get(), 2 * N - 1);
    assert_eq!(parent_polls, N);
    assert_eq!(harness.wakes(), N - 1);
}

#[test]
fn a_panic_in_a_child_propagates_to_the_caller() {
    let harness = Harness::new();
    let children: Vec<Boxed<()>> = vec![Box::pin(pending()), Box::pin(async { panic!("child") })];
    let mut all = gather(children);
    let caught = catch_unwind(AssertUnwindSafe(|| harness.poll(&mut all))).unwrap_err();
    assert_eq!(caught.downcast_ref::<&str>(), Some(&"child"));
}

#[test]
fn gather_runs_on_another_executor_over_spawned_tasks() {
    // Cross-check on smol: gather the handles of spawned tasks; outputs come in argument order.
    let executor = smol::LocalExecutor::new();
    let outputs = smol::block_on(executor.run(async {
        let tasks = (0..10u64).map(|i| {
            executor.spawn(async move {
                for _ in 0..(10 - i) {
                    smol::future::yield_now().await;
                }
                i
            })
        });
        gather(tasks.collect::<Vec<_>>()).await
    }));
    assert_eq!(outputs, (0..10).collect::<Vec<_>>());
}

// === gather! ===

#[test]
fn gather_macro_returns_a_tuple_of_different_types_in_argument_order() {
    let harness = Harness::new();
    let (first, second) = (Gate::default(), Gate::default());
    let log = Rc::new(RefCell::new(Vec::new()));
    let (log1, log2) = (Rc::clone(&log), Rc::clone(&log));
    let (wait1, wait2) = (first.clone(), second.clone());
    let both = greenloop::gather!(
        async move {
            wait1.wait().await;
            log1.borrow_mut().push("number");
            1
        },
        async move {
            wait2.wait().await;
            log2.borrow_mut().push("text");
            "two"
        },
        ready('3'),
    );
    let mut both = pin!(both);
    assert_eq!(
        both.as_mut().poll(&mut Context::from_waker(&harness.waker)),
        Poll::Pending
    );
    second.open();
    assert_eq!(
        both.as_mut().poll(&mut Context::from_waker(&harness.waker)),
        Poll::Pending
    );
    first.open();
    assert_eq!(
        both.as_mut().poll(&mut Context::from_waker(&harness.waker)),
        Poll::Ready((1, "two", '3'))
    );
    assert_eq!(*log.borrow(), ["text", "number"]);
}

#[test]
fn gather_macro_polls_only_the_woken_child() {
    let harness = Harness::new();
    let (polls_a, polls_b) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(0)));
    let (gate_a, gate_b) = (Gate::default(), Gate::default());
    let both = greenloop::gather!(
        counted(Rc::clone(&polls_a), gate_a.clone().wait()),
        counted(Rc::clone(&polls_b), gate_b.clone().wait()),
    );
    let mut both = pin!(both);
    let mut cx = Context::from_waker(&harness.waker);
    assert!(both.as_mut().poll(&mut cx).is_pending());
    gate_b.open();
    assert!(both.as_mut().poll(&mut cx).is_pending());
    assert_eq!((polls_a.get(), polls_b.get()), (1, 2));
    gate_a.open();
    assert!(both.as_mut().poll(&mut cx).is_ready());
    assert_eq!((polls_a.get(), polls_b.get()), (2, 2));
}

#[test]
fn empty_gather_macro_is_unit_and_twelve_futures_fit() {
    greenloop::block_on(async {
        let () = greenloop::gather!().await;
        let twelve = greenloop::gather!(
            ready(1),
            ready(2),
            ready(3),
            ready(4),
            ready(5),
            ready(6),
            ready(7),
            ready(8),
            ready(9),
            ready(10),
            ready(11),
            async { 12 },
        )
        .await;
        assert_eq!(twelve, (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    });
}

// === try_gather ===

#[test]
fn try_gather_returns_every_ok_in_argument_order() {
    let harness = Harness::new();
    let gate = Gate::default();
    let waiting = gate.clone();
    let children: Vec<Boxed<Result<u8, ()>>> = vec![
        Box::pin(async move {
            waiting.wait().await;
            Ok(1)
        }),
        Box::pin(ready(Ok(2))),
    ];
    let mut all = try_gather(children);
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    gate.open();
    assert_eq!(harness.poll(&mut all), Poll::Ready(Ok(vec![1, 2])));
}

#[test]
fn try_gather_returns_the_first_err_and_drops_the_unfinished_children_first() {
    let harness = Harness::new();
    let (gate_late, gate_fail) = (Gate::default(), Gate::default());
    let dropped = Rc::new(Cell::new(false));
    let guard = DropFlag(Rc::clone(&dropped));
    let (late, fail) = (gate_late.clone(), gate_fail.clone());
    let children: Vec<Boxed<Result<u8, &str>>> = vec![
        Box::pin(async move {
            let _guard = guard;
            pending::<()>().await;
            Ok(0)
        }),
        Box::pin(async move {
            late.wait().await;
            Err("late")
        }),
        Box::pin(async move {
            fail.wait().await;
            Err("first")
        }),
    ];
    let mut all = try_gather(children);
    assert_eq!(harness.poll(&mut all), Poll::Pending);
    gate_fail.open();
    gate_late.open();
    // Both were woken before this poll: they are polled in argument order, so "late" fails first.
    assert_eq!(harness.poll(&mut all), Poll::Ready(Err("late")));
    assert!(
        dropped.get(),
        "the pending sibling was cancelled before try_gather returned"
    );
}

// === gathers of spawned greenloop tasks ===

#[test]
fn gather_of_spawned_tasks_returns_their_results_in_spawn_order() {
    greenloop::block_on(async {
        let handles: Vec<_> = (0..5)
            .map(|i| {
                greenloop::spawn(async move {
                    yield_times(5 - i).await;
                    i
                })
            })
            .collect();
        let outputs: Vec<usize> = gather(handles)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(outputs, [0, 1, 2, 3, 4]);
    });
}

#[test]
fn try_gather_over_handles_reports_a_panicking_task() {
    greenloop::block_on(async {
        let handles = vec![
            greenloop::spawn(async { 1 }),
            greenloop::spawn(async { panic!("spawned task panicked") }),
        ];
        let error = try_gather(handles).await.unwrap_err();
        assert!(error.is_panic());
    });
}

#[test]
fn greenloop_block_on_runs_gather_macro_and_a_generator() {
    use greenloop::stream::generator;
    let (a, b) = greenloop::block_on(greenloop::gather!(
        async {
            greenloop::yield_now().await;
            "a"
        },
        async {
            generator(|mut y| async move {
                for n in 0..3 {
                    greenloop::yield_now().await;
                    y.yield_(n).await?;
                }
                Ok(())
            })
            .collect::<Vec<_>>()
            .await
        },
    ));
    assert_eq!((a, b), ("a", vec![0, 1, 2]));
}

// === auto traits ===

#[test]
fn gathers_of_send_futures_are_send() {
    // Checked at compile time: a gather can move between threads with its children, so it can
    // run on a multi-threaded executor too. (Generators and task groups are `!Send`; see their
    // `compile_fail` doctests.)
    fn assert_send<T: Send>(_: &T) {}
    let ready = || std::future::ready(1u8);
    assert_send(&gather([ready()]));
    assert_send(&greenloop::gather::try_gather([std::future::ready(Ok::<
        u8,
        (),
    >(
        1
    ))]));
    assert_send(&greenloop::gather!(ready(), ready()));
    assert_send(&greenloop::race::race([ready()]));
    assert_send(&greenloop::race::as_completed([ready()]));
    assert_send(&greenloop::race!(ready(), ready()));
}

// === timeouts ===

#[test]
fn a_timeout_over_a_gather_drops_every_unfinished_child_at_the_deadline() {
    use greenloop::time::{Elapsed, now, sleep, timeout};
    use std::time::Duration;
    virtual_block_on(async {
        let start = now();
        let finished = Rc::new(RefCell::new(Vec::new()));
        let flags: Vec<Rc<Cell<bool>>> = (0..3).map(|_| Rc::default()).collect();
        let children = [1, 2, 10].into_iter().zip(&flags).map(|(secs, flag)| {
            let guard = DropFlag(Rc::clone(flag));
            let finished = Rc::clone(&finished);
            async move {
                let _guard = guard;
                sleep(Duration::from_secs(secs)).await;
                finished.borrow_mut().push(secs);
            }
        });
        let result = timeout(Duration::from_secs(5), gather(children)).await;
        assert_eq!(result, Err(Elapsed::new()));
        assert_eq!(secs_since(start), 5, "the timeout fired at its deadline");
        assert_eq!(*finished.borrow(), [1, 2]);
        assert!(flags.iter().all(|f| f.get()), "every child was dropped");
    });
}

#[test]
fn a_gather_that_finishes_in_time_returns_its_outputs_when_the_slowest_child_does() {
    use greenloop::time::{now, sleep, timeout};
    use std::time::Duration;
    virtual_block_on(async {
        let start = now();
        let children = [3, 1, 2].map(|secs| async move {
            sleep(Duration::from_secs(secs)).await;
            secs
        });
        let result = timeout(Duration::from_secs(5), gather(children)).await;
        assert_eq!(result, Ok(vec![3, 1, 2]));
        assert_eq!(secs_since(start), 3);
    });
}

#[test]
#[should_panic(expected = "try_gather polled after it completed with an error")]
fn try_gather_polled_again_after_its_error_panics_with_a_clear_message() {
    let mut both = try_gather([Ok::<i32, char>(1), Err('x')].map(ready));
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(Pin::new(&mut both).poll(&mut cx), Poll::Ready(Err('x')));
    let _ = Pin::new(&mut both).poll(&mut cx);
}
