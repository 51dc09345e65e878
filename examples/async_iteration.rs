//! Lesson six, async iteration: three producers, one consumer, `async for` on both sides.
//!
//! Each producer `a`, `b`, `c` is an async generator (Python's `async def` with `yield`): it
//! sleeps a second, then yields "Round a1", and so on up to round 5. A green thread per
//! producer iterates its generator and forwards each round into a shared mailbox; the
//! consumer iterates the mailbox as a stream (Python's `async for message in ...`) and
//! prints each message, then `[End of input]` when the mailbox is closed and drained.
//!
//! The rounds interleave `Round a1`, `Round b1`, `Round c1`, `Round a2`, …: the three sleeps
//! of a round end at the same second, and timers with equal deadlines fire in the order they
//! were created, which is `a`, `b`, `c` (the scheduler is FIFO).
//!
//! Run: `cargo run --example async_iteration` (5 s), or with `-- --fast` (virtual clock).
use std::time::Duration;

use greenloop::Executor;
use greenloop::gather::gather;
use greenloop::stream::{Stream, StreamExt, generator};
use greenloop::sync::Queue;
use greenloop::task::Builder;
use greenloop::time::sleep;

/// An async generator: "Round {name}1" … "Round {name}5", one a second.
fn rounds(name: &'static str) -> impl Stream<Item = String> {
    generator(move |mut y| async move {
        for round in 1..=5 {
            sleep(Duration::from_secs(1)).await;
            y.yield_(format!("Round {name}{round}")).await?;
        }
        Ok(())
    })
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
        let producers = ["a", "b", "c"].map(|name| {
            let mailbox = mailbox.clone();
            Builder::new().name(name).spawn(async move {
                let mut rounds = std::pin::pin!(rounds(name));
                while let Some(message) = rounds.next().await {
                    mailbox
                        .put(message)
                        .await
                        .expect("open until all producers end");
                }
            })
        });
        let consumer = Builder::new().name("consumer").spawn({
            let mut messages = mailbox.stream();
            async move {
                while let Some(message) = messages.next().await {
                    println!("{message}");
                }
                println!("[End of input]");
            }
        });
        for finished in gather(producers).await {
            finished.expect("a producer panicked");
        }
        mailbox.close(); // Every producer is done: the consumer's loop ends once it drains.
        consumer.await.expect("the consumer panicked");
    });
}
