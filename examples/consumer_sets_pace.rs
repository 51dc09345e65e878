//! Lesson six, second version: the consumer sets the pace.
//!
//! The output is the same as `producer_consumer`'s ("Round 1" … "Round 10", then
//! `[End of input]`), but the 2-second rhythm now comes from the consumer. It takes 2 s to
//! handle each message and then marks it with `task_done`; the producer, after each `put`,
//! waits on the queue's `join` until every message sent so far has been handled, so it
//! never runs ahead of the consumer. This is asyncio's `queue.join()` / `queue.task_done()`
//! pair: back-pressure without a bounded buffer doing the work.
//!
//! As before, a timer closes the mailbox after 20 s: the producer's next `put` fails and the
//! consumer ends with `[End of input]`.
//!
//! Run: `cargo run --example consumer_sets_pace` (20 s), or with `-- --fast` (virtual clock).
use std::time::Duration;

use greenloop::Executor;
use greenloop::sync::Queue;
use greenloop::task::Builder;
use greenloop::time::sleep;

/// Sends "Round 1", "Round 2", … each as soon as the previous one has been handled.
async fn producer(mailbox: Queue<String>) {
    for round in 1.. {
        if mailbox.put(format!("Round {round}")).await.is_err() {
            return; // The timer closed the mailbox.
        }
        mailbox.join().await; // Wait until the consumer called task_done.
    }
}

/// Prints every message, takes 2 s to handle it, and marks it done.
async fn consumer(mailbox: Queue<String>) {
    while let Ok(message) = mailbox.get().await {
        println!("{message}");
        sleep(Duration::from_secs(2)).await; // Handling the message takes a while.
        mailbox.task_done().expect("one task_done per message");
    }
    println!("[End of input]");
}

/// Stops the producer after `seconds` by closing the mailbox.
async fn timer(seconds: u64, mailbox: Queue<String>) {
    sleep(Duration::from_secs(seconds)).await;
    mailbox.close();
}

fn main() {
    let fast = std::env::args().any(|arg| arg == "--fast");
    let executor = if fast {
        Executor::builder().virtual_clock().build()
    } else {
        Executor::new()
    };
    executor.block_on(async {
        let mailbox = Queue::unbounded().with_name("mailbox");
        // Created first, so at 20 s the timer fires before the consumer's 10th handling ends.
        let timer = Builder::new()
            .name("timer")
            .spawn(timer(20, mailbox.clone()));
        let producer = Builder::new()
            .name("producer")
            .spawn(producer(mailbox.clone()));
        let consumer = Builder::new().name("consumer").spawn(consumer(mailbox));
        let (timer, producer, consumer) = greenloop::gather!(timer, producer, consumer).await;
        timer
            .and(producer)
            .and(consumer)
            .expect("a green thread panicked");
    });
}
