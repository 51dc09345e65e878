//! Tests for async generators (`greenloop::stream::generator`): order, back-pressure, early drop,
//! explicit close, panics, and interop with `StreamExt`.

use std::cell::{Cell, RefCell};
use std::future::{Future, pending};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use crate::join_support::{CountingWaker, DropFlag, Gate, Trace};
use greenloop::block_on;
use greenloop::stream::{Closed, Stream, StreamExt, generator};

fn poll_once<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

// === tests ===

#[test]
fn a_generator_yields_its_items_in_order_then_ends() {
    block_on(async {
        let mut letters = generator(|mut y| async move {
            for c in ['a', 'b', 'c'] {
                y.yield_(c).await?;
            }
            Ok(())
        });
        assert_eq!(letters.next().await, Some('a'));
        assert_eq!(letters.next().await, Some('b'));
        assert_eq!(letters.next().await, Some('c'));
        assert_eq!(letters.next().await, None);
        assert!(letters.is_terminated());
        assert_eq!(letters.next().await, None, "an ended generator stays ended");
    });
}

#[test]
fn the_body_does_not_run_before_the_first_next() {
    let trace = Trace::default();
    let t = trace.clone();
    let mut numbers = generator(|mut y| async move {
        t.log("body starts");
        y.yield_(1).await
    });
    assert!(trace.take().is_empty());
    block_on(async {
        assert_eq!(numbers.next().await, Some(1));
    });
    assert_eq!(trace.take(), ["body starts"]);
}

#[test]
fn the_producer_is_never_ahead_of_the_consumer() {
    let trace = Trace::default();
    let t = trace.clone();
    let mut numbers = generator(|mut y| async move {
        for n in 0..3 {
            t.log(format!("produce {n}"));
            y.yield_(n).await?;
            t.log(format!("resumed after {n}"));
        }
        t.log("body returns");
        Ok(())
    });
    block_on(async {
        while let Some(n) = numbers.next().await {
            trace.log(format!("consume {n}"));
            // The consumer doing other work, across ticks, does not let the producer run.
            for _ in 0..3 {
                greenloop::yield_now().await;
            }
            trace.log(format!("done with {n}"));
        }
    });
    assert_eq!(
        trace.take(),
        [
            "produce 0",
            "consume 0",
            "done with 0",
            "resumed after 0", // the body resumes only when the next item is requested
            "produce 1",
            "consume 1",
            "done with 1",
            "resumed after 1",
            "produce 2",
            "consume 2",
            "done with 2",
            "resumed after 2",
            "body returns",
        ]
    );
}

#[test]
fn a_body_awaiting_something_else_suspends_the_consumer_until_it_is_woken() {
    let gate = Gate::default();
    let waiting = gate.clone();
    let mut numbers = generator(|mut y| async move {
        y.yield_(1).await?;
        waiting.wait().await;
        y.yield_(2).await
    });
    let wakes = Arc::new(CountingWaker::default());
    let waker = Waker::from(Arc::clone(&wakes));
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Ready(Some(1)));
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Pending);
    assert_eq!(wakes.0.load(Ordering::SeqCst), 0);
    gate.open();
    assert_eq!(
        wakes.0.load(Ordering::SeqCst),
        1,
        "the gate woke the consumer"
    );
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Ready(Some(2)));
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Ready(None));
}

#[test]
fn dropping_the_generator_drops_the_body_at_its_yield() {
    let trace = Trace::default();
    let dropped = Rc::new(Cell::new(false));
    let guard = DropFlag(Rc::clone(&dropped));
    let t = trace.clone();
    let mut numbers = generator(|mut y| async move {
        let _guard = guard;
        y.yield_(1).await?;
        t.log("after the first yield");
        y.yield_(2).await
    });
    block_on(async {
        assert_eq!(numbers.next().await, Some(1));
    });
    assert!(!dropped.get());
    drop(numbers);
    assert!(dropped.get(), "the body's locals were dropped with it");
    assert!(trace.take().is_empty(), "no code after the yield ran");
}

#[test]
fn close_resumes_the_body_with_closed_and_waits_for_its_cleanup() {
    let trace = Trace::default();
    let cleanup_gate = Gate::default();
    let (t, gate) = (trace.clone(), cleanup_gate.clone());
    let mut numbers = generator(|mut y| async move {
        let mut n = 0;
        loop {
            if let Err(closed) = y.yield_(n).await {
                t.log("cleanup starts");
                gate.wait().await;
                t.log("cleanup ends");
                return Err(closed);
            }
            n += 1;
        }
    });
    let wakes = Arc::new(CountingWaker::default());
    let waker = Waker::from(Arc::clone(&wakes));
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Ready(Some(0)));
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Ready(Some(1)));
    {
        let mut close = numbers.close();
        assert_eq!(poll_once(&mut close, &waker), Poll::Pending);
        assert_eq!(trace.take(), ["cleanup starts"]);
        cleanup_gate.open();
        assert_eq!(wakes.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll_once(&mut close, &waker), Poll::Ready(()));
        assert_eq!(trace.take(), ["cleanup ends"]);
    }
    assert!(numbers.is_terminated());
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Ready(None));
}

#[test]
fn a_body_that_yields_after_close_is_dropped_at_that_yield() {
    let trace = Trace::default();
    let dropped = Rc::new(Cell::new(false));
    let guard = DropFlag(Rc::clone(&dropped));
    let t = trace.clone();
    let mut stubborn = generator(|mut y| async move {
        let _guard = guard;
        let mut n = 0;
        loop {
            // Ignores Closed: Python's "async generator ignored GeneratorExit".
            let result = y.yield_(n).await;
            t.log(format!("yield {n} returned {result:?}"));
            n += 1;
        }
    });
    block_on(async {
        assert_eq!(stubborn.next().await, Some(0));
        stubborn.close().await;
        assert_eq!(stubborn.next().await, None);
    });
    assert!(dropped.get());
    assert_eq!(trace.take(), ["yield 0 returned Err(Closed)"]);
}

#[test]
fn close_on_a_generator_that_never_started_drops_the_body_unrun() {
    let ran = Rc::new(Cell::new(false));
    let flag = Rc::clone(&ran);
    let mut numbers = generator(|mut y| async move {
        flag.set(true);
        y.yield_(1).await
    });
    block_on(async {
        numbers.close().await;
        assert_eq!(numbers.next().await, None);
    });
    assert!(!ran.get());
}

#[test]
fn close_on_a_finished_generator_does_nothing() {
    block_on(async {
        let mut one = generator(|mut y| async move { y.yield_(1).await });
        assert_eq!(one.next().await, Some(1));
        assert_eq!(one.next().await, None);
        one.close().await;
        one.close().await;
        assert_eq!(one.next().await, None);
    });
}

#[test]
fn next_after_an_abandoned_close_finishes_the_cleanup_and_ends() {
    let trace = Trace::default();
    let cleanup_gate = Gate::default();
    let (t, gate) = (trace.clone(), cleanup_gate.clone());
    let mut numbers = generator(|mut y| async move {
        if y.yield_(1).await.is_err() {
            gate.wait().await;
            t.log("cleaned up");
        }
        Ok(())
    });
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Ready(Some(1)));
    assert_eq!(poll_once(&mut numbers.close(), &waker), Poll::Pending);
    // The close future was dropped while the cleanup awaited.
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Pending);
    cleanup_gate.open();
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Ready(None));
    assert_eq!(trace.take(), ["cleaned up"]);
}

#[test]
fn a_panic_in_the_body_reaches_the_consumer_and_ends_the_generator() {
    let mut faulty = generator(|mut y| async move {
        y.yield_(1).await?;
        panic!("generator failed");
    });
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    assert_eq!(poll_once(&mut faulty.next(), &waker), Poll::Ready(Some(1)));
    let payload =
        catch_unwind(AssertUnwindSafe(|| poll_once(&mut faulty.next(), &waker))).unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"generator failed"));
    assert_eq!(poll_once(&mut faulty.next(), &waker), Poll::Ready(None));
    assert!(faulty.is_terminated());
}

#[test]
fn a_generator_is_terminated_as_soon_as_its_body_panics() {
    let mut faulty = generator(|y: greenloop::stream::Yielder<u8>| async move {
        let _y = y;
        panic!("generator failed");
    });
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    assert!(!faulty.is_terminated());
    catch_unwind(AssertUnwindSafe(|| poll_once(&mut faulty.next(), &waker))).unwrap_err();
    assert!(
        faulty.is_terminated(),
        "finished before the next poll: {faulty:?}"
    );
    assert_eq!(faulty.size_hint(), (0, Some(0)));
    block_on(async {
        faulty.close().await;
        assert_eq!(faulty.next().await, None);
    });
    assert!(faulty.is_terminated());
}

#[test]
fn a_generator_is_unpin_so_next_needs_no_pinning() {
    // Checked at compile time: the body is boxed so that `g.next().await` works on a plain
    // `let mut g` (see the generator module's docs for the cost of that choice).
    fn assert_unpin<T: Unpin>(_: &T) {}
    let numbers = generator(|mut y| async move { y.yield_(1).await });
    assert_unpin(&numbers);
}

#[test]
fn generators_compose_with_stream_ext() {
    block_on(async {
        let naturals = generator(|mut y| async move {
            let mut n = 0u64;
            loop {
                y.yield_(n).await?;
                n += 1;
            }
        });
        let even_squares: Vec<u64> = naturals
            .filter(|n| std::future::ready(n % 2 == 0))
            .map(|n| n * n)
            .take(4)
            .collect()
            .await;
        assert_eq!(even_squares, [0, 4, 16, 36]);
    });
}

#[test]
fn yield_returns_closed_only_after_close() {
    block_on(async {
        let results = Rc::new(RefCell::new(Vec::new()));
        let log = Rc::clone(&results);
        let mut g = generator(|mut y| async move {
            let first = y.yield_(1).await;
            log.borrow_mut().push(first);
            let second = y.yield_(2).await;
            log.borrow_mut().push(second);
            second
        });
        assert_eq!(g.next().await, Some(1));
        assert_eq!(g.next().await, Some(2));
        g.close().await;
        assert_eq!(*results.borrow(), [Ok(()), Err(Closed)]);
    });
}

#[test]
fn a_generator_runs_on_smol_with_a_body_that_awaits_another_task() {
    // Cross-check on smol: the body awaits a task spawned on smol between yields.
    let executor = smol::LocalExecutor::new();
    let executor = &executor;
    let items = smol::block_on(executor.run(async {
        let ticks = generator(|mut y| async move {
            for n in 0..3 {
                let doubled = executor.spawn(async move { n * 2 }).await;
                y.yield_(doubled).await?;
            }
            Ok(())
        });
        ticks.collect::<Vec<_>>().await
    }));
    assert_eq!(items, [0, 2, 4]);
}

#[test]
fn a_generator_body_may_await_forever_without_yielding() {
    let mut silent = generator(|y: greenloop::stream::Yielder<u8>| async move {
        let _y = y;
        pending::<()>().await;
        Ok(())
    });
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    assert_eq!(poll_once(&mut silent.next(), &waker), Poll::Pending);
    assert_eq!(poll_once(&mut silent.next(), &waker), Poll::Pending);
}

#[test]
fn close_during_an_abandoned_next_lets_the_body_finish_its_await_then_clean_up() {
    let trace = Trace::default();
    let gate = Gate::default();
    let (t, waiting) = (trace.clone(), gate.clone());
    let mut numbers = generator(|mut y| async move {
        y.yield_(1).await?;
        t.log("awaiting the gate");
        waiting.wait().await;
        t.log("gate opened");
        if let Err(closed) = y.yield_(2).await {
            t.log("cleanup");
            return Err(closed);
        }
        t.log("not reached");
        Ok(())
    });
    let waker = Waker::from(Arc::new(CountingWaker::default()));
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Ready(Some(1)));
    // This `next()` is dropped while the body awaits the gate.
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Pending);
    let mut close = numbers.close();
    assert_eq!(poll_once(&mut close, &waker), Poll::Pending);
    gate.open();
    assert_eq!(poll_once(&mut close, &waker), Poll::Ready(()));
    assert_eq!(
        trace.take(),
        ["awaiting the gate", "gate opened", "cleanup"],
        "the yield reached while closing returned Err(Closed) and handed nothing over"
    );
    assert_eq!(poll_once(&mut numbers.next(), &waker), Poll::Ready(None));
}

// === timeouts ===

#[test]
fn a_timed_out_next_leaves_the_generator_closable_with_its_async_cleanup() {
    use crate::join_support::{secs_since, virtual_block_on};
    use greenloop::time::{Elapsed, now, sleep, timeout};
    use std::time::Duration;
    let trace = Trace::default();
    let t = trace.clone();
    virtual_block_on(async move {
        let start = now();
        let mut slow = generator(|mut y| async move {
            loop {
                sleep(Duration::from_secs(10)).await;
                if let Err(closed) = y.yield_("tick").await {
                    sleep(Duration::from_secs(1)).await;
                    t.log("cleaned up");
                    return Err(closed);
                }
            }
        });
        assert_eq!(
            timeout(Duration::from_secs(3), slow.next()).await,
            Err(Elapsed::new())
        );
        // The body is mid-sleep; close lets it finish that sleep, then clean up at its yield.
        slow.close().await;
        assert_eq!(secs_since(start), 11);
        assert_eq!(slow.next().await, None);
    });
    assert_eq!(trace.take(), ["cleaned up"]);
}
