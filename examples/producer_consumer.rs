//! Lesson six: a producer and a consumer, cooperating through an async queue.
//!
//! Three green threads share one thread and take turns at their `.await`s:
//!
//! - the **producer** sends "Round 1", "Round 2", … into a mailbox, one every 2 seconds;
//! - the **consumer** prints each message as it arrives;
//! - the **timer** stops the producer after 20 seconds by closing the mailbox (asyncio 3.13's
//!   `queue.shutdown()`): the producer's next `put` fails, so it stops, and the consumer,
//!   once it has read what is left, prints `[End of input]`.
//!
//! In asyncio, `await asyncio.gather(timer(...), producer(...), consumer(...))` wraps each
//! coroutine in a task and waits for all three; here they are spawned as greenloop tasks and
//! `gather!` awaits their handles. Nothing runs in parallel: while the producer sleeps, the
//! consumer waits on the queue and the timer on its deadline, and the executor parks the
//! thread until the earliest deadline.
//!
//! Run it in real time (20 s): `cargo run --release --example producer_consumer`.
//! Add `-- --fast` to run it on a virtual clock: the same lines, at once. Add `--trace` to
//! print afterwards what the scheduler did (spawn, poll, wake, timers fired, park, complete);
//! `-- --fast --trace` prints the same trace on every run.
use std::time::Duration;

use greenloop::Executor;
use greenloop::sync::Queue;
use greenloop::task::Builder;
use greenloop::time::sleep;

/// Sends "Round 1", "Round 2", … one every 2 s, until the mailbox is closed.
async fn producer(mailbox: Queue<String>) {
    for round in 1.. {
        if mailbox.put(format!("Round {round}")).await.is_err() {
            return; // The timer closed the mailbox: stop producing.
        }
        sleep(Duration::from_secs(2)).await;
    }
}

/// Prints every message, then `[End of input]` once the mailbox is closed and empty.
async fn consumer(mailbox: Queue<String>) {
    while let Ok(message) = mailbox.get().await {
        println!("{message}");
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
    let trace = std::env::args().any(|arg| arg == "--trace");
    let mut builder = Executor::builder();
    if fast {
        builder = builder.virtual_clock();
    }
    if trace {
        builder = builder.trace();
    }
    let executor = builder.build();
    executor.block_on(async {
        let mailbox = Queue::bounded(1).with_name("mailbox");
        // The timer is created first: at 20 s its deadline comes before the producer's
        // (equal deadlines fire in creation order), so Round 11 is never sent.
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
    if trace {
        println!("--- scheduler trace ---");
        for event in executor.take_trace() {
            println!("{event}");
        }
    }
}
