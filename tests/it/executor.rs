//! The executor's contract: scheduling order (event traces), join handles, panics,
//! cancellation, shutdown, host-loop embedding, and wakes from other threads.

use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use crate::common::{DropCounter, Parked, Trace};
use greenloop::{Executor, Schedule, Tick};

// === scheduling order ===

#[test]
fn spawned_tasks_run_in_fifo_order_after_the_spawner_yields() {
    let trace = Trace::new();
    let t = trace.clone();
    greenloop::run(async move {
        for name in ["a", "b", "c"] {
            let t = t.clone();
            greenloop::spawn(async move { t.log(name) });
        }
        t.log("main before yield"); // spawned tasks have not run yet
        greenloop::yield_now().await;
        t.log("main after yield");
    });
    assert_eq!(
        trace.take(),
        ["main before yield", "a", "b", "c", "main after yield"]
    );
}

#[test]
fn yield_now_gives_up_exactly_one_tick_and_tasks_interleave() {
    let trace = Trace::new();
    let ex = Executor::new();
    for name in ["a", "b", "c"] {
        let t = trace.clone();
        ex.spawn(async move {
            for round in 1..=3 {
                t.log(format!("{name}{round}"));
                greenloop::yield_now().await;
            }
        });
    }
    ex.run_until_stalled();
    assert_eq!(
        trace.take(),
        ["a1", "b1", "c1", "a2", "b2", "c2", "a3", "b3", "c3"]
    );
}

#[test]
fn one_tick_polls_exactly_the_tasks_ready_when_it_began() {
    let trace = Trace::new();
    let ex = Executor::new();
    let parked = Parked::new();
    let t = trace.clone();
    let p = parked.clone();
    ex.spawn(async move {
        t.log("waiter polled");
        p.wait().await;
        t.log("waiter resumed");
    });
    let t = trace.clone();
    let p = parked.clone();
    ex.spawn(async move {
        t.log("waker runs");
        p.release(); // wakes the waiter during this tick
        let t2 = t.clone();
        greenloop::spawn(async move { t2.log("spawned during tick") });
    });

    // The waiter's wake counts; a spawn is not a wake.
    assert_eq!(
        ex.tick(),
        Tick {
            polled: 2,
            completed: 1,
            woken: 1,
            has_ready: true
        }
    );
    assert_eq!(
        trace.take(),
        ["waiter polled", "waker runs"],
        "woken and spawned tasks wait a tick"
    );
    assert_eq!(
        ex.tick(),
        Tick {
            polled: 2,
            completed: 2,
            woken: 0,
            has_ready: false
        }
    );
    assert_eq!(
        trace.take(),
        ["waiter resumed", "spawned during tick"],
        "in the order they were made ready"
    );
}

#[test]
fn a_task_is_polled_once_per_wake_and_never_without_one() {
    let ex = Executor::new();
    let parked = Parked::new();
    let handle = ex.spawn(parked.wait());
    ex.run_until_stalled();
    assert_eq!(parked.polls.get(), 1, "first poll only");
    ex.run_until_stalled();
    assert_eq!(parked.polls.get(), 1, "no wake, no poll");

    parked.wake();
    parked.wake();
    parked.wake();
    ex.run_until_stalled();
    assert_eq!(
        parked.polls.get(),
        2,
        "three wakes before the poll give one poll"
    );

    parked.release();
    ex.run_until_stalled();
    assert_eq!(parked.polls.get(), 3);
    assert!(handle.is_finished());
}

#[test]
fn the_block_on_future_takes_its_turn_in_fifo_order() {
    let trace = Trace::new();
    let t = trace.clone();
    greenloop::run(async move {
        let t1 = t.clone();
        greenloop::spawn(async move {
            t1.log("a1");
            greenloop::yield_now().await;
            t1.log("a2");
        });
        greenloop::yield_now().await; // a1 runs, then main
        t.log("main1");
        greenloop::yield_now().await; // a2 was woken before main: it runs first
        t.log("main2");
    });
    assert_eq!(trace.take(), ["a1", "main1", "a2", "main2"]);
}

#[test]
fn a_seeded_random_schedule_repeats_itself_and_differs_from_fifo() {
    fn trace_with(schedule: Schedule) -> Vec<String> {
        let trace = Trace::new();
        let ex = Executor::builder().schedule(schedule).build();
        for task in 0..8 {
            let t = trace.clone();
            ex.spawn(async move {
                for step in 0..3 {
                    t.log(format!("{task}.{step}"));
                    greenloop::yield_now().await;
                }
            });
        }
        ex.run_until_stalled();
        trace.take()
    }
    let fifo = trace_with(Schedule::Fifo);
    let random = trace_with(Schedule::Random(42));
    assert_eq!(
        random,
        trace_with(Schedule::Random(42)),
        "same seed, same schedule"
    );
    assert_ne!(random, fifo);
    assert_ne!(random, trace_with(Schedule::Random(43)));
    let mut sorted = random.clone();
    sorted.sort();
    let mut expected = fifo.clone();
    expected.sort();
    assert_eq!(sorted, expected, "every step still runs exactly once");
    // Ticks still hold: no task's step n+1 runs before every task's step n.
    let steps: Vec<u32> = random
        .iter()
        .map(|e| e.split('.').nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "{random:?}");
}

// === join handles and panics ===

#[test]
fn awaiting_a_handle_gives_the_output_even_after_the_task_finished() {
    let out = greenloop::run(async {
        let early = greenloop::spawn(async { 1 });
        let late = greenloop::spawn(async {
            greenloop::yield_now().await;
            2
        });
        greenloop::yield_now().await;
        assert!(early.is_finished() && !late.is_finished());
        early.await.unwrap() + late.await.unwrap()
    });
    assert_eq!(out, 3);
}

#[test]
fn a_panicking_task_is_reported_to_its_handle_and_the_others_carry_on() {
    let out = greenloop::run(async {
        let bad = greenloop::task::Builder::new().name("clumsy").spawn(async {
            greenloop::yield_now().await;
            panic!("dropped the tray");
        });
        let good = greenloop::spawn(async {
            for _ in 0..3 {
                greenloop::yield_now().await;
            }
            "still here"
        });
        let error = bad.await.unwrap_err();
        assert!(error.is_panic());
        let message = error.to_string();
        assert!(message.contains("\"clumsy\""), "{message}");
        assert!(message.contains("dropped the tray"), "{message}");
        assert!(
            message.contains("tests/it/executor.rs"),
            "spawn location: {message}"
        );
        good.await.unwrap()
    });
    assert_eq!(out, "still here");
}

#[test]
fn a_detached_panicking_task_does_not_take_the_executor_down() {
    let ex = Executor::new();
    drop(ex.spawn(async { panic!("nobody is listening") }));
    let handle = ex.spawn(async { 5 });
    ex.run_until_stalled();
    assert_eq!(ex.block_on(handle).unwrap(), 5);
}

#[test]
fn a_panic_in_the_block_on_future_propagates_and_the_executor_stays_usable() {
    let ex = Executor::new();
    let survivor = ex.spawn(async {
        greenloop::yield_now().await;
        9
    });
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        ex.block_on(async { panic!("main failed") });
    }));
    assert!(result.is_err());
    assert_eq!(ex.block_on(survivor).unwrap(), 9);
}

#[test]
fn a_panicking_destructor_of_a_detached_output_is_contained() {
    struct Grenade;
    impl Drop for Grenade {
        fn drop(&mut self) {
            panic!("boom on drop");
        }
    }
    let ex = Executor::new();
    drop(ex.spawn(async { Grenade }));
    ex.run_until_stalled();
    assert!(ex.is_empty());
}

#[test]
#[should_panic(expected = "already running a greenloop executor")]
fn a_nested_block_on_panics_instead_of_deadlocking() {
    greenloop::run(async {
        greenloop::run(async {});
    });
}

#[test]
fn a_nested_block_on_inside_a_task_is_reported_as_that_tasks_panic() {
    let error = greenloop::run(async {
        greenloop::spawn(async { greenloop::run(async {}) })
            .await
            .unwrap_err()
    });
    assert!(error.to_string().contains("nested block_on"), "{error}");
}

#[test]
#[should_panic(expected = "outside a greenloop executor")]
fn spawn_outside_an_executor_panics_with_a_message() {
    greenloop::spawn(async {});
}

// === cancellation and detaching ===

#[test]
fn cancel_drops_the_future_at_its_await_point() {
    let drops = DropCounter::new();
    let trace = Trace::new();
    let (d, t) = (drops.clone(), trace.clone());
    greenloop::run(async move {
        let token = d.token();
        let t2 = t.clone();
        let handle = greenloop::spawn(async move {
            let _token = token;
            t2.log("started");
            std::future::pending::<()>().await;
            t2.log("unreachable");
        });
        greenloop::yield_now().await;
        assert_eq!(d.count(), 0);
        handle.cancel();
        assert_eq!(d.count(), 1, "dropped immediately, destructors ran");
        handle.cancel(); // idempotent
        assert!(handle.await.unwrap_err().is_cancelled());
    });
    assert_eq!(trace.take(), ["started"]);
}

#[test]
fn a_task_cancelled_before_its_first_poll_never_runs() {
    let ran = Rc::new(Cell::new(false));
    let r = ran.clone();
    let ex = Executor::new();
    let handle = ex.spawn(async move { r.set(true) });
    handle.cancel();
    let tick = ex.run_until_stalled();
    assert!(!ran.get());
    assert_eq!(tick.polled, 0);
    assert!(ex.is_empty(), "released when its queue entry was popped");
    assert!(ex.block_on(handle).unwrap_err().is_cancelled());
}

#[test]
fn a_task_can_cancel_itself_and_finishes_its_current_poll() {
    let trace = Trace::new();
    let t = trace.clone();
    greenloop::run(async move {
        let slot: Rc<Cell<Option<greenloop::JoinHandle<()>>>> = Rc::new(Cell::new(None));
        let s = slot.clone();
        let t2 = t.clone();
        let handle = greenloop::spawn(async move {
            let me = s.take().unwrap();
            me.cancel();
            t2.log("still running this poll");
            s.set(Some(me));
            greenloop::yield_now().await;
            t2.log("never");
        });
        slot.set(Some(handle));
        greenloop::yield_now().await;
        greenloop::yield_now().await;
        let handle = slot.take().unwrap();
        assert!(handle.await.unwrap_err().is_cancelled());
    });
    assert_eq!(trace.take(), ["still running this poll"]);
}

#[test]
fn cancelling_a_finished_task_keeps_its_output() {
    greenloop::run(async {
        let handle = greenloop::spawn(async { 3 });
        greenloop::yield_now().await;
        handle.cancel();
        assert_eq!(handle.await.unwrap(), 3);
    });
}

#[test]
fn dropping_a_handle_detaches_the_task() {
    let trace = Trace::new();
    let t = trace.clone();
    greenloop::run(async move {
        let t2 = t.clone();
        drop(greenloop::spawn(async move {
            greenloop::yield_now().await;
            t2.log("detached task finished");
        }));
        greenloop::yield_now().await;
        greenloop::yield_now().await;
    });
    assert_eq!(trace.take(), ["detached task finished"]);
}

// === shutdown ===

#[test]
fn run_cancels_every_task_still_alive_and_runs_their_destructors() {
    let drops = DropCounter::new();
    let d = drops.clone();
    let out = greenloop::run(async move {
        for _ in 0..5 {
            let token = d.token();
            greenloop::spawn(async move {
                let _token = token;
                std::future::pending::<()>().await;
            });
        }
        greenloop::yield_now().await;
        assert_eq!(d.count(), 0);
        "main done"
    });
    assert_eq!(out, "main done");
    assert_eq!(drops.count(), 5);
}

#[test]
fn dropping_an_executor_drops_queued_idle_and_never_polled_futures() {
    let drops = DropCounter::new();
    let ex = Executor::new();
    let parked = Parked::new();
    let token = drops.token();
    let p = parked.clone();
    let idle = ex.spawn(async move {
        let _token = token;
        p.wait().await;
    });
    ex.run_until_stalled();
    let token = drops.token();
    ex.spawn(async move {
        let _token = token; // never polled
    });
    drop(ex);
    assert_eq!(drops.count(), 2);
    assert!(idle.is_finished());
    assert!(
        futures::executor::block_on(idle)
            .unwrap_err()
            .is_cancelled()
    );
    parked.wake(); // a waker that outlived its executor is harmless
}

#[test]
fn destructors_that_spawn_or_cancel_during_shutdown_are_handled() {
    struct SpawnOnDrop(Option<greenloop::JoinHandle<()>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            if let Some(handle) = self.0.take() {
                handle.cancel();
            }
            drop(greenloop::spawn(async {}));
        }
    }
    let ex = Executor::new();
    let other = ex.spawn(std::future::pending::<()>());
    let guard = SpawnOnDrop(Some(other));
    ex.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    ex.run_until_stalled();
    drop(ex);
}

// === embedding: tick, run_until_stalled, run as a future, hooks ===

#[test]
fn tick_reports_what_it_did_and_never_blocks() {
    let ex = Executor::new();
    assert_eq!(ex.tick(), Tick::default());
    let parked = Parked::new();
    ex.spawn(parked.wait());
    ex.spawn(async {});
    assert!(ex.has_ready());
    assert_eq!(
        ex.tick(),
        Tick {
            polled: 2,
            completed: 1,
            woken: 0,
            has_ready: false
        }
    );
    assert_eq!(ex.len(), 1);
    parked.release();
    assert!(ex.has_ready());
    assert_eq!(
        ex.tick(),
        Tick {
            polled: 1,
            completed: 1,
            woken: 1,
            has_ready: false
        }
    );
    assert!(ex.is_empty());
}

#[test]
fn run_as_a_future_is_driven_by_another_block_on_and_woken_across_threads() {
    let ex = Executor::new();
    let (tx, rx) = async_channel::unbounded::<u32>();
    let producer = std::thread::spawn(move || {
        for i in 0..100 {
            tx.send_blocking(i).unwrap();
        }
    });
    let sum = futures::executor::block_on(ex.run(async move {
        let consumer = greenloop::spawn(async move {
            let mut sum = 0;
            while let Ok(i) = rx.recv().await {
                sum += i;
            }
            sum
        });
        consumer.await.unwrap()
    }));
    producer.join().unwrap();
    assert_eq!(sum, (0..100).sum());
}

#[test]
fn a_spawn_from_the_host_wakes_the_run_future() {
    let ex = Rc::new(Executor::new());
    let ex2 = ex.clone();
    let done = Rc::new(Cell::new(false));
    let d = done.clone();
    futures::executor::block_on(async move {
        let run = ex.run(async move {
            while !d.get() {
                // Park the main future until the spawned task wakes it.
                let mut parked = false;
                std::future::poll_fn(|cx| {
                    if std::mem::replace(&mut parked, true) {
                        return Poll::Ready(());
                    }
                    *WAKER.lock().unwrap() = Some(cx.waker().clone());
                    Poll::Pending
                })
                .await;
            }
        });
        let host = async move {
            greenloop::yield_now().await; // let `run` go idle first (wakes the outer executor)
            let d = done.clone();
            ex2.spawn(async move {
                d.set(true);
                if let Some(waker) = WAKER.lock().unwrap().take() {
                    waker.wake();
                }
            });
        };
        futures::join!(run, host);
    });
    static WAKER: std::sync::Mutex<Option<Waker>> = std::sync::Mutex::new(None);
}

// === wakes from other threads ===

#[test]
fn wakes_from_other_threads_are_queued_once_and_polled_once() {
    let ex = Executor::new();
    let polls = Rc::new(Cell::new(0));
    let p = polls.clone();
    let (tx, rx) = std::sync::mpsc::channel::<Waker>();
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let handle = ex.spawn(std::future::poll_fn(move |cx| {
        p.set(p.get() + 1);
        if s.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        tx.send(cx.waker().clone()).unwrap();
        Poll::Pending
    }));
    ex.tick();
    let waker = rx.recv().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let w = waker.clone();
            std::thread::spawn(move || {
                for _ in 0..250 {
                    w.wake_by_ref();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(
        ex.tick().polled,
        1,
        "a thousand remote wakes before a tick: one poll"
    );
    stop.store(true, Ordering::SeqCst);
    drop(waker);
    let waker = rx.recv().unwrap();
    std::thread::spawn(move || waker.wake()).join().unwrap();
    ex.tick();
    assert!(handle.is_finished());
    assert_eq!(polls.get(), 3);
}

#[test]
fn block_on_parks_until_another_thread_wakes_it() {
    let woken_at = greenloop::run(async {
        let (tx, rx) = async_channel::bounded::<Instant>(1);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send_blocking(Instant::now()).unwrap();
        });
        rx.recv().await.unwrap()
    });
    assert!(woken_at.elapsed() < Duration::from_secs(5));
}

/// CPU time of the calling thread, in nanoseconds: the first field of
/// `/proc/thread-self/schedstat` (the same accounting as `getrusage(RUSAGE_THREAD)`, at
/// nanosecond rather than tick resolution, and with no `unsafe` outside `src/executor/`).
fn thread_cpu_time() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").expect("Linux schedstat");
    let nanos: u64 = text.split_whitespace().next().unwrap().parse().unwrap();
    Duration::from_nanos(nanos)
}

/// Parks `block_on` until another thread sends after `delay`; returns (wall, CPU) of the wait.
async fn wait_for_other_thread(delay: Duration) -> (Duration, Duration) {
    let (tx, rx) = async_channel::bounded::<()>(1);
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let sender = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        std::thread::sleep(delay);
        tx.send_blocking(()).unwrap();
    });
    // Measure only the wait: from the last poll before parking to the wake.
    let (started, cpu_before) = (Instant::now(), thread_cpu_time());
    go_tx.send(()).unwrap();
    rx.recv().await.unwrap();
    let measured = (started.elapsed(), thread_cpu_time() - cpu_before);
    sender.join().unwrap();
    measured
}

#[test]
fn an_idle_block_on_is_parked_not_spinning() {
    let (waited, cpu) = greenloop::run(async {
        // A first round runs every code path once (under valgrind, translating it costs CPU).
        wait_for_other_thread(Duration::from_millis(10)).await;
        wait_for_other_thread(Duration::from_millis(200)).await
    });
    assert!(waited >= Duration::from_millis(200));
    assert!(
        cpu < Duration::from_millis(10),
        "used {cpu:?} of CPU while waiting {waited:?}"
    );
}

#[test]
fn a_waker_that_outlives_its_task_or_executor_is_harmless() {
    let ex = Executor::new();
    let (tx, rx) = std::sync::mpsc::channel::<Waker>();
    let handle = ex.spawn(std::future::poll_fn(move |cx| {
        tx.send(cx.waker().clone()).unwrap();
        Poll::Ready(())
    }));
    ex.run_until_stalled();
    assert!(handle.is_finished());
    let waker = rx.recv().unwrap();
    waker.wake_by_ref(); // task finished: nothing happens
    ex.run_until_stalled();
    let remote = waker.clone();
    std::thread::spawn(move || remote.wake()).join().unwrap();
    ex.run_until_stalled();
    drop(handle);
    drop(ex);
    let remote = waker.clone();
    std::thread::spawn(move || remote.wake()).join().unwrap();
    waker.wake(); // executor gone: still harmless, and the task is freed by the last waker
}

#[test]
fn async_io_timer_wakes_a_greenloop_task_from_the_reactor_thread() {
    let elapsed = greenloop::run(async {
        let started = Instant::now();
        greenloop::spawn(async { async_io::Timer::after(Duration::from_millis(5)).await })
            .await
            .unwrap();
        started.elapsed()
    });
    assert!(elapsed >= Duration::from_millis(5));
}

#[test]
fn async_io_sockets_work_inside_greenloop_driven_by_async_io_block_on() {
    use futures::{AsyncReadExt, AsyncWriteExt};
    let ex = Executor::new();
    let echoed = async_io::block_on(ex.run(async {
        let listener = async_io::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).unwrap();
        let addr = listener.get_ref().local_addr().unwrap();
        let server = greenloop::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 5];
            stream.read_exact(&mut buf).await.unwrap();
            stream.write_all(&buf).await.unwrap();
        });
        let mut client = async_io::Async::<std::net::TcpStream>::connect(addr)
            .await
            .unwrap();
        client.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        client.read_exact(&mut buf).await.unwrap();
        server.await.unwrap();
        buf
    }));
    assert_eq!(&echoed, b"hello");
}

#[test]
fn many_tasks_woken_from_another_thread_all_finish() {
    let ex = Executor::new();
    let (tx, rx) = std::sync::mpsc::channel::<Waker>();
    let finished = Rc::new(AtomicUsize::new(0));
    for _ in 0..200 {
        let tx = tx.clone();
        let finished = finished.clone();
        let mut first = true;
        ex.spawn(std::future::poll_fn(move |cx| {
            if first {
                first = false;
                tx.send(cx.waker().clone()).unwrap();
                return Poll::Pending;
            }
            finished.fetch_add(1, Ordering::SeqCst);
            Poll::Ready(())
        }));
    }
    ex.run_until_stalled();
    let wakers: Vec<Waker> = rx.try_iter().collect();
    assert_eq!(wakers.len(), 200);
    std::thread::spawn(move || wakers.into_iter().for_each(Waker::wake))
        .join()
        .unwrap();
    ex.run_until_stalled();
    assert_eq!(finished.load(Ordering::SeqCst), 200);
    assert!(ex.is_empty());
}

// === timers, as the executor drives them ===

#[test]
fn a_virtual_clock_runs_twenty_seconds_of_sleeps_instantly_and_in_order() {
    let started = Instant::now();
    let trace = Trace::new();
    let t = trace.clone();
    let ex = Executor::builder().virtual_clock().build();
    let origin = ex.now();
    let elapsed = ex.block_on(async move {
        for (name, secs) in [("c", 20), ("a", 2), ("b", 10)] {
            let t = t.clone();
            greenloop::spawn(async move {
                greenloop::time::sleep(Duration::from_secs(secs)).await;
                t.log(format!("{name} at {secs}s"));
            });
        }
        greenloop::time::sleep(Duration::from_secs(21)).await;
        greenloop::time::now() - origin
    });
    assert_eq!(elapsed, Duration::from_secs(21));
    assert_eq!(trace.take(), ["a at 2s", "b at 10s", "c at 20s"]);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(ex.pending_timers(), 0);
}

#[test]
fn block_on_parks_until_the_next_real_deadline() {
    let (slept, cpu) = greenloop::run(async {
        greenloop::time::sleep(Duration::from_millis(1)).await; // warm-up (valgrind translation)
        let (started, cpu) = (Instant::now(), thread_cpu_time());
        greenloop::time::sleep(Duration::from_millis(50)).await;
        (started.elapsed(), thread_cpu_time() - cpu)
    });
    assert!(slept >= Duration::from_millis(50));
    assert!(
        cpu < Duration::from_millis(10),
        "spun for {cpu:?} while sleeping {slept:?}"
    );
}

#[test]
fn a_run_future_with_only_a_timer_pending_is_woken_by_async_io() {
    let ex = Executor::new();
    let slept = async_io::block_on(ex.run(async {
        let started = Instant::now();
        greenloop::spawn(greenloop::time::sleep(Duration::from_millis(20)))
            .await
            .unwrap();
        started.elapsed()
    }));
    assert!(slept >= Duration::from_millis(20));
}

#[test]
fn a_run_future_on_a_virtual_clock_jumps_time_when_idle() {
    let ex = Executor::builder().virtual_clock().build();
    let origin = ex.now();
    let at = futures::executor::block_on(ex.run(async {
        greenloop::time::sleep(Duration::from_secs(3600)).await;
        greenloop::time::now()
    }));
    assert_eq!(at - origin, Duration::from_secs(3600));
}

// === regressions from the review of the unsafe core (issue 2) ===

/// Where a task finds its own handle.
type HandleSlot = Rc<RefCell<Option<greenloop::JoinHandle<()>>>>;

/// Cancels the task it lives in when dropped: a re-entrant cancel.
struct CancelSelfOnDrop {
    me: HandleSlot,
    drops: Rc<Cell<u32>>,
}

impl Drop for CancelSelfOnDrop {
    fn drop(&mut self) {
        self.drops.set(self.drops.get() + 1);
        if let Some(handle) = self.me.borrow().as_ref() {
            handle.cancel();
        }
    }
}

fn self_cancelling_task(ex: &Executor) -> (HandleSlot, Rc<Cell<u32>>) {
    let me = Rc::new(RefCell::new(None));
    let drops = Rc::new(Cell::new(0));
    let guard = CancelSelfOnDrop {
        me: me.clone(),
        drops: drops.clone(),
    };
    let handle = ex.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    ex.tick();
    *me.borrow_mut() = Some(handle);
    (me, drops)
}

#[test]
fn issue_2_a_cancel_reentered_from_the_futures_own_drop_drops_it_once() {
    let ex = Executor::new();
    let (me, drops) = self_cancelling_task(&ex);
    me.borrow().as_ref().unwrap().cancel();
    assert_eq!(drops.get(), 1);
    let handle = me.borrow_mut().take().unwrap();
    assert!(
        futures::executor::block_on(handle)
            .unwrap_err()
            .is_cancelled()
    );
    assert!(ex.is_empty());
}

#[test]
fn issue_2_a_cancel_reentered_during_executor_drop_drops_it_once() {
    let ex = Executor::new();
    let (me, drops) = self_cancelling_task(&ex);
    drop(ex);
    assert_eq!(drops.get(), 1);
    me.borrow_mut().take();
}

#[test]
fn issue_2_a_task_group_shared_by_its_members_is_dropped_once_at_shutdown() {
    use greenloop::task_group::TaskGroup;
    let drops = DropCounter::new();
    let d = drops.clone();
    greenloop::run(async move {
        let group = Rc::new(TaskGroup::<(), ()>::new());
        for _ in 0..2 {
            let (g, token) = (Rc::clone(&group), d.token());
            group.spawn(async move {
                let _keep = (g, token);
                std::future::pending::<()>().await;
                Ok(())
            });
        }
        drop(group);
        greenloop::yield_now().await; // members start; run() then cancels them
    });
    assert_eq!(drops.count(), 2);
}

#[test]
fn issue_2_a_panicking_join_waker_does_not_break_executor_drop() {
    use std::future::Future;
    struct PanickyWake;
    impl std::task::Wake for PanickyWake {
        fn wake(self: Arc<Self>) {
            panic!("foreign waker panicked");
        }
    }
    let drops = DropCounter::new();
    let ex = Executor::new();
    let mut joined = ex.spawn(std::future::pending::<()>());
    let token = drops.token();
    let other = ex.spawn(async move {
        let _token = token;
        std::future::pending::<()>().await;
    });
    ex.tick();
    let waker = Waker::from(Arc::new(PanickyWake));
    let pending = Pin::new(&mut joined).poll(&mut std::task::Context::from_waker(&waker));
    assert!(pending.is_pending());
    drop(ex); // the join waker panics inside: contained
    assert_eq!(drops.count(), 1, "every future was dropped");
    assert!(other.is_finished());
    other.cancel(); // the executor is gone: a no-op, not a use-after-free
}

#[test]
fn issue_2_dropping_the_old_hook_outside_the_lock_lets_it_wake_a_task() {
    let ex = Executor::new();
    let slot: Arc<std::sync::Mutex<Option<Waker>>> = Arc::default();
    let s = slot.clone();
    let handle = ex.spawn(std::future::poll_fn(move |cx| {
        if s.lock().unwrap().is_some() {
            return Poll::<()>::Pending;
        }
        *s.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }));
    ex.tick();
    struct WakeOnDrop(Arc<std::sync::Mutex<Option<Waker>>>);
    impl Drop for WakeOnDrop {
        fn drop(&mut self) {
            if let Some(waker) = self.0.lock().unwrap().take() {
                waker.wake(); // e.g. the last async_channel::Sender closing its channel
            }
        }
    }
    let guard = WakeOnDrop(slot);
    ex.on_wake(move || {
        let _ = &guard;
    });
    ex.on_wake(|| {}); // drops the old hook, which wakes the task: no self-deadlock
    assert!(ex.has_ready());
    drop(handle);
}

#[test]
fn issue_2_a_block_on_future_that_woke_itself_leaves_no_stale_entry() {
    let ex = Executor::new();
    ex.block_on(std::future::poll_fn(|cx| {
        cx.waker().wake_by_ref();
        Poll::Ready(())
    }));
    assert!(!ex.has_ready());
    assert_eq!(ex.tick(), Tick::default(), "no phantom poll");
    let polls = Cell::new(0);
    ex.block_on(std::future::poll_fn(|cx| {
        polls.set(polls.get() + 1);
        if polls.get() == 1 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(())
    }));
    assert_eq!(polls.get(), 2, "one wake, one poll");
}

thread_local! {
    /// The executor of the two tests below, reachable from a future's destructor.
    static HOSTED: RefCell<Option<Executor>> = const { RefCell::new(None) };
}

/// Runs a closure when dropped.
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

#[test]
fn a_host_cancel_whose_destructor_drops_the_executor_shuts_it_down_afterwards() {
    HOSTED.with(|h| *h.borrow_mut() = Some(Executor::new()));
    let dropped = Rc::new(Cell::new(0));
    let (d1, d2) = (dropped.clone(), dropped.clone());
    let (victim, bystander) = HOSTED.with(|h| {
        let h = h.borrow();
        let ex = h.as_ref().unwrap();
        let victim = ex.spawn(async move {
            let _g = OnDrop(move || {
                d1.set(d1.get() + 1);
                // Drops the executor in the middle of the cancel below.
                drop(HOSTED.with(|h| h.borrow_mut().take()));
            });
            std::future::pending::<()>().await;
        });
        let bystander = ex.spawn(async move {
            let _g = OnDrop(move || d2.set(d2.get() + 10));
            std::future::pending::<()>().await;
        });
        ex.run_until_stalled();
        (victim, bystander)
    });
    victim.cancel(); // from host code: nothing borrows the executor
    assert_eq!(
        dropped.get(),
        11,
        "the victim once, then the shutdown the cancel ran"
    );
    assert!(victim.is_finished() && bystander.is_finished());
    assert!(HOSTED.with(|h| h.borrow().is_none()));
}

#[test]
fn a_host_cancel_whose_destructor_ticks_the_executor_is_not_polled_meanwhile() {
    HOSTED.with(|h| *h.borrow_mut() = Some(Executor::new()));
    let polls = Rc::new(Cell::new(0));
    let ticked = Rc::new(Cell::new(false));
    let (p, t) = (polls.clone(), ticked.clone());
    let handle = HOSTED.with(|h| {
        let h = h.borrow();
        let guard = OnDrop(move || {
            HOSTED.with(|h| h.borrow().as_ref().unwrap().run_until_stalled());
            t.set(true); // the tick returned (a panic in it would be swallowed by the cancel)
        });
        h.as_ref().unwrap().spawn(std::future::poll_fn(move |_| {
            let _g = &guard;
            p.set(p.get() + 1);
            Poll::<()>::Pending
        }))
    });
    handle.cancel(); // still queued: the tick in the destructor pops it mid-cancel
    assert!(ticked.get());
    assert_eq!(
        polls.get(),
        0,
        "never polled while its future was being dropped"
    );
    assert!(handle.is_finished());
    HOSTED.with(|h| {
        let h = h.borrow();
        let ex = h.as_ref().unwrap();
        ex.run_until_stalled();
        assert!(ex.is_empty(), "released");
        assert!(ex.block_on(handle).unwrap_err().is_cancelled());
    });
    HOSTED.with(|h| drop(h.borrow_mut().take()));
}
