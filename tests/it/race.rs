//! Tests for `race`, `race!` and `as_completed`, polled by hand with a counting waker.

use std::cell::Cell;
use std::future::{Future, pending, ready};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::join_support::{Boxed, DropFlag, Gate, Harness, secs_since, virtual_block_on};
use futures::StreamExt;
use greenloop::gather::gather;
use greenloop::race::{as_completed, race};
use proptest::prelude::*;

// === race ===

#[test]
fn race_returns_the_first_to_finish_and_drops_the_others() {
    let harness = Harness::new();
    let gate = Gate::default();
    let dropped = Rc::new(Cell::new(false));
    let guard = DropFlag(Rc::clone(&dropped));
    let waiting = gate.clone();
    let children: Vec<Boxed<&str>> = vec![
        Box::pin(async move {
            let _guard = guard;
            pending::<()>().await;
            "never"
        }),
        Box::pin(async move {
            waiting.wait().await;
            "winner"
        }),
    ];
    let mut first = race(children);
    assert_eq!(harness.poll(&mut first), Poll::Pending);
    assert!(!dropped.get());
    gate.open();
    assert_eq!(harness.poll(&mut first), Poll::Ready("winner"));
    assert!(dropped.get(), "the loser was dropped before race returned");
}

#[test]
fn race_among_children_woken_together_picks_the_first_in_argument_order() {
    let harness = Harness::new();
    let gates: Vec<Gate> = (0..3).map(|_| Gate::default()).collect();
    let mut first = race(gates.iter().enumerate().map(|(i, gate)| {
        let gate = gate.clone();
        async move {
            gate.wait().await;
            i
        }
    }));
    assert_eq!(harness.poll(&mut first), Poll::Pending);
    gates[2].open();
    gates[0].open();
    assert_eq!(harness.poll(&mut first), Poll::Ready(0));
}

#[test]
#[should_panic(expected = "race of no futures")]
fn race_of_nothing_panics() {
    drop(race(Vec::<std::future::Ready<()>>::new()));
}

// === as_completed ===

#[test]
fn as_completed_yields_outputs_in_completion_order() {
    let harness = Harness::new();
    let gates: Vec<Gate> = (0..4).map(|_| Gate::default()).collect();
    let mut done = as_completed(gates.iter().enumerate().map(|(i, gate)| {
        let gate = gate.clone();
        async move {
            gate.wait().await;
            i
        }
    }));
    let next = |done: &mut _| harness.poll(&mut StreamExt::next(done));
    assert_eq!(next(&mut done), Poll::Pending);
    gates[3].open();
    assert_eq!(next(&mut done), Poll::Ready(Some(3)));
    gates[1].open();
    gates[0].open();
    // Both arrive in one poll and are handed out in argument order.
    assert_eq!(next(&mut done), Poll::Ready(Some(0)));
    assert_eq!(done.len(), 2);
    assert_eq!(next(&mut done), Poll::Ready(Some(1)));
    assert_eq!(next(&mut done), Poll::Pending);
    gates[2].open();
    assert_eq!(next(&mut done), Poll::Ready(Some(2)));
    assert_eq!(next(&mut done), Poll::Ready(None));
    assert!(done.is_empty());
}

#[test]
fn dropping_as_completed_cancels_the_unfinished_futures() {
    let dropped = Rc::new(Cell::new(false));
    let guard = DropFlag(Rc::clone(&dropped));
    let children: Vec<Boxed<u8>> = vec![
        Box::pin(ready(1)),
        Box::pin(async move {
            let _guard = guard;
            pending::<()>().await;
            2
        }),
    ];
    greenloop::block_on(async {
        let mut done = as_completed(children);
        assert_eq!(done.next().await, Some(1));
        assert!(!dropped.get());
        drop(done);
        assert!(dropped.get());
    });
}

// === race! ===

#[test]
fn race_macro_returns_the_first_to_finish_and_drops_the_others() {
    let harness = Harness::new();
    let gate = Gate::default();
    let dropped = Rc::new(Cell::new(false));
    let guard = DropFlag(Rc::clone(&dropped));
    let waiting = gate.clone();
    let first = greenloop::race!(
        async move {
            let _guard = guard;
            pending::<()>().await;
            "never"
        },
        async move {
            waiting.wait().await;
            "winner"
        },
        pending(),
    );
    let mut first = pin!(first);
    let mut cx = Context::from_waker(&harness.waker);
    assert_eq!(first.as_mut().poll(&mut cx), Poll::Pending);
    gate.open();
    assert!(!dropped.get());
    assert_eq!(first.as_mut().poll(&mut cx), Poll::Ready("winner"));
    assert!(dropped.get(), "the loser was dropped before race! returned");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever order the children finish in, `gather` answers in argument order and
    /// `as_completed` in completion order.
    #[test]
    fn gather_and_as_completed_agree_with_any_completion_order(
        order in Just((0..12usize).collect::<Vec<_>>()).prop_shuffle()
    ) {
        let harness = Harness::new();
        let gates: Vec<Gate> = (0..order.len()).map(|_| Gate::default()).collect();
        let children = |gates: &[Gate]| {
            gates.iter().enumerate().map(|(i, gate)| {
                let gate = gate.clone();
                async move {
                    gate.wait().await;
                    i
                }
            }).collect::<Vec<_>>()
        };
        let mut all = gather(children(&gates));
        let other_gates: Vec<Gate> = (0..order.len()).map(|_| Gate::default()).collect();
        let mut done = as_completed(children(&other_gates));
        let mut completed = Vec::new();
        prop_assert!(harness.poll(&mut all).is_pending());
        prop_assert!(harness.poll(&mut StreamExt::next(&mut done)).is_pending());
        for &i in &order {
            gates[i].open();
            other_gates[i].open();
            if let Poll::Ready(Some(x)) = harness.poll(&mut StreamExt::next(&mut done)) {
                completed.push(x);
            }
            if i != *order.last().unwrap() {
                prop_assert!(harness.poll(&mut all).is_pending());
            }
        }
        prop_assert_eq!(harness.poll(&mut all), Poll::Ready((0..order.len()).collect::<Vec<_>>()));
        prop_assert_eq!(completed, order);
    }
}

// === timeouts ===

#[test]
fn as_completed_with_a_timeout_per_item_can_be_resumed_after_a_timeout() {
    use greenloop::time::{Elapsed, now, sleep, timeout};
    use std::time::Duration;
    virtual_block_on(async {
        let start = now();
        let mut done = as_completed([3, 1, 8].map(|secs| async move {
            sleep(Duration::from_secs(secs)).await;
            secs
        }));
        assert_eq!(
            timeout(Duration::from_secs(2), done.next()).await,
            Ok(Some(1))
        );
        assert_eq!(
            timeout(Duration::from_secs(2), done.next()).await,
            Ok(Some(3))
        );
        assert_eq!(
            timeout(Duration::from_secs(2), done.next()).await,
            Err(Elapsed::new())
        );
        assert_eq!(secs_since(start), 5);
        // asyncio's `as_completed(timeout=)` gives up for good; this stream can be resumed.
        assert_eq!(
            timeout(Duration::from_secs(60), done.next()).await,
            Ok(Some(8))
        );
        assert_eq!(secs_since(start), 8);
        assert_eq!(
            timeout(Duration::from_secs(60), done.next()).await,
            Ok(None)
        );
    });
}

#[test]
fn race_against_a_sleep_is_a_timeout() {
    use greenloop::time::sleep;
    use std::time::Duration;
    virtual_block_on(async {
        let work = async {
            sleep(Duration::from_secs(10)).await;
            Some("done")
        };
        let deadline = async {
            sleep(Duration::from_secs(3)).await;
            None
        };
        assert_eq!(greenloop::race!(work, deadline).await, None);
    });
}
