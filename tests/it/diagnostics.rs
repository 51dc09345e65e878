//! The deadlock report and the task dump: a true deadlock is reported (who waits on what),
//! and a task that something outside greenloop could still wake is never reported.

use std::time::Duration;

use greenloop::sync::{Event, Queue};
use greenloop::task::Builder;

#[test]
fn awaiting_producer_before_consumer_is_reported_not_hung() {
    // Lesson six's warning: the producer fills the one-slot queue and waits for a consumer
    // that will only start once the producer has finished.
    let report = greenloop::try_run(async {
        let queue = Queue::bounded(1).with_name("mailbox");
        let q = queue.clone();
        let producer = Builder::new().name("producer").spawn(async move {
            for round in 1..=3 {
                q.put(format!("Round {round}")).await.unwrap();
            }
        });
        producer.await.unwrap(); // sequential: the consumer below never gets to run
        while let Ok(line) = queue.get().await {
            println!("{line}");
        }
    })
    .unwrap_err();
    let text = report.to_string();
    assert!(text.starts_with("greenloop: deadlock"), "{text}");
    assert!(
        text.contains("the block_on future: waiting on JoinHandle of task 1 \"producer\""),
        "{text}"
    );
    assert!(
        text.contains("task 1 \"producer\" (spawned at tests/it/diagnostics.rs:"),
        "{text}"
    );
    assert!(
        text.contains("Queue::put on \"mailbox\" (full, 1/1)"),
        "{text}"
    );
    assert_eq!(report.tasks().len(), 1);
    assert_eq!(report.tasks()[0].name(), Some("producer"));
}

#[test]
#[should_panic(expected = "greenloop: deadlock")]
fn run_panics_with_the_report() {
    greenloop::run(async {
        Event::new().wait().await;
    });
}

#[test]
fn a_task_that_holds_no_waker_is_named_as_such() {
    let report = greenloop::try_run(async {
        greenloop::spawn(std::future::pending::<()>())
            .await
            .unwrap();
    })
    .unwrap_err();
    assert!(
        report
            .to_string()
            .contains("holds no waker: nothing can wake it"),
        "{report}"
    );
}

#[test]
fn a_deadlock_after_virtual_time_ran_out_is_reported_not_hung() {
    let ex = greenloop::Executor::builder().virtual_clock().build();
    let report = ex
        .try_block_on(async {
            greenloop::time::sleep(Duration::from_secs(20)).await; // timers first: no report
            Event::new().with_name("never").wait().await;
        })
        .unwrap_err();
    assert!(
        report.to_string().contains("Event::wait on \"never\""),
        "{report}"
    );
}

#[test]
fn a_task_waiting_on_async_io_is_not_deadlocked() {
    let waited = greenloop::run(async {
        let started = std::time::Instant::now();
        greenloop::spawn(async { async_io::Timer::after(Duration::from_millis(10)).await })
            .await
            .unwrap();
        started.elapsed()
    });
    assert!(waited >= Duration::from_millis(10));
}

#[test]
fn a_task_waiting_on_a_channel_fed_by_another_thread_is_not_deadlocked() {
    let got = greenloop::run(async {
        let (tx, rx) = async_channel::bounded::<u32>(1);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            tx.send_blocking(7).unwrap();
        });
        greenloop::spawn(async move { rx.recv().await.unwrap() })
            .await
            .unwrap()
    });
    assert_eq!(got, 7);
}

#[test]
fn the_task_dump_lists_every_live_task_with_what_it_waits_on() {
    let ex = greenloop::Executor::new();
    let queue = Queue::<u32>::bounded(2).with_name("jobs");
    let event = Event::new().with_name("start");
    let (q, e) = (queue.clone(), event.clone());
    Builder::new()
        .name("worker")
        .spawn_on(&ex, async move { q.get().await });
    let waiter = Builder::new()
        .name("waiter")
        .spawn_on(&ex, async move { e.wait().await });
    ex.spawn(async move { waiter.await.unwrap() });
    ex.spawn(std::future::pending::<()>());
    ex.run_until_stalled();
    ex.spawn(async {});
    let dump = ex.dump();
    let lines: Vec<String> = dump.tasks().iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 5, "{dump}");
    assert!(
        lines[0].starts_with("task 1 \"worker\" (spawned at tests/it/diagnostics.rs:"),
        "{dump}"
    );
    assert!(
        lines[0].ends_with("waiting on Queue::get on \"jobs\" (empty, 0/2)"),
        "{dump}"
    );
    assert!(
        lines[1].ends_with("waiting on Event::wait on \"start\""),
        "{dump}"
    );
    assert!(
        lines[2].ends_with("waiting on JoinHandle of task 2 \"waiter\""),
        "{dump}"
    );
    assert!(
        lines[3].ends_with("waiting, on something outside greenloop"),
        "{dump}"
    );
    assert!(lines[4].ends_with("ready"), "{dump}");
    assert!(dump.to_string().starts_with("5 live task(s)\n"));
}

#[test]
fn the_scheduler_trace_of_a_tiny_producer_consumer_reads_like_the_lesson() {
    let ex = greenloop::Executor::builder()
        .virtual_clock()
        .trace()
        .build();
    ex.block_on(async {
        let queue = Queue::bounded(1);
        let q = queue.clone();
        Builder::new().name("producer").spawn(async move {
            greenloop::time::sleep(Duration::from_secs(2)).await;
            q.put("Round 1").await.unwrap();
        });
        assert_eq!(queue.get().await.unwrap(), "Round 1");
    });
    let lines: Vec<String> = ex.take_trace().iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "[  0.000s] poll main", // main spawns, then waits on get()
            "[  0.000s] spawn task 1 \"producer\"",
            "[  0.000s] poll task 1", // the producer starts its sleep
            "[  2.000s] virtual clock jumps 2s", // nothing ready: time jumps
            "[  2.000s] wake task 1",
            "[  2.000s] 1 timer(s) fired",
            "[  2.000s] poll task 1", // put hands the item to the waiting getter
            "[  2.000s] wake main",
            "[  2.000s] complete task 1",
            "[  2.000s] poll main",
        ]
    );
}

#[test]
fn tracing_is_off_by_default() {
    let ex = greenloop::Executor::new();
    ex.block_on(async { greenloop::spawn(async {}).await.unwrap() });
    assert!(ex.take_trace().is_empty());
}
