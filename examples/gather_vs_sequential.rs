//! Lesson six's warning, made visible: green threads must be gathered, not awaited in turn.
//!
//! `producer_consumer` runs its timer, producer and consumer together (`gather!`). Awaiting
//! them one after another instead cannot work, whatever the order. Timer first: it closes
//! the mailbox before anything was sent. Producer first: it sends "Round 1", then waits
//! forever for room in the full mailbox, because the consumer that would empty it only
//! starts once the producer has finished. In Python that program hangs; greenloop sees that
//! nothing can ever make progress (no task ready, no timer pending) and reports the
//! deadlock, naming each blocked task and what it waits on.
//!
//! The second half measures the same point: three 1-second sleeps take about 1 s gathered,
//! and 3 s awaited one after another.
//!
//! Run: `cargo run --example gather_vs_sequential` (about 12 s), or with `-- --fast`
//! (virtual clock: the same lines, at once).
use std::time::Duration;

use greenloop::Executor;
use greenloop::sync::Queue;
use greenloop::task::Builder;
use greenloop::time::{self, sleep};

/// Sends "Round 1", "Round 2", … one every 2 s, until the mailbox is closed.
async fn producer(mailbox: Queue<String>) {
    for round in 1.. {
        if mailbox.put(format!("Round {round}")).await.is_err() {
            return;
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

/// The three green threads, gathered: this works.
async fn gathered() {
    let mailbox = Queue::bounded(1).with_name("mailbox");
    let timer = Builder::new()
        .name("timer")
        .spawn(timer(6, mailbox.clone()));
    let producer = Builder::new()
        .name("producer")
        .spawn(producer(mailbox.clone()));
    let consumer = Builder::new().name("consumer").spawn(consumer(mailbox));
    let (timer, producer, consumer) = greenloop::gather!(timer, producer, consumer).await;
    timer
        .and(producer)
        .and(consumer)
        .expect("a green thread panicked");
}

/// The same three awaited one after another: each green thread is spawned only once the
/// previous one has finished. The producer never finishes: after "Round 1" it waits for room
/// in the full mailbox, which only the consumer, not yet spawned, would make.
async fn sequential() {
    let mailbox = Queue::bounded(1).with_name("mailbox");
    let spawn = |name: &str| Builder::new().name(name);
    let done = spawn("producer").spawn(producer(mailbox.clone())).await;
    done.expect("the producer panicked"); // Never reached: the producer waits forever.
    let done = spawn("consumer").spawn(consumer(mailbox.clone())).await;
    done.expect("the consumer panicked");
    let done = spawn("timer").spawn(timer(6, mailbox)).await;
    done.expect("the timer panicked");
}

/// Three 1-second sleeps, gathered and then one after another; returns both durations.
async fn three_sleeps() -> (Duration, Duration) {
    let second = || sleep(Duration::from_secs(1));
    let start = time::now();
    greenloop::gather!(second(), second(), second()).await;
    let gathered = time::now() - start;

    let start = time::now();
    second().await;
    second().await;
    second().await;
    (gathered, time::now() - start)
}

fn main() {
    let fast = std::env::args().any(|arg| arg == "--fast");
    let executor = || {
        if fast {
            Executor::builder().virtual_clock().build()
        } else {
            Executor::new()
        }
    };

    println!("Gathered: timer, producer and consumer run together.");
    executor().block_on(gathered());

    println!("One after another: the producer fills the mailbox and nobody empties it.");
    // `block_on` would panic with the report; `try_block_on` returns it.
    match executor().try_block_on(sequential()) {
        Ok(()) => println!("It worked?"),
        Err(deadlock) => print!("{deadlock}"), // The report ends with a newline.
    }

    // Rounded to a tenth of a second: the same on a real and a virtual clock.
    let (together, in_turn) = executor().block_on(three_sleeps());
    println!(
        "Three 1-second sleeps: {:.1} s gathered, {:.1} s one after another.",
        together.as_secs_f64(),
        in_turn.as_secs_f64()
    );
}
