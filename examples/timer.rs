//! Lesson one, the timer: a sleeper snores until an alarm wakes it.
//!
//! The alarm is a timer: a green thread that sleeps 4.5 s and then sets an `Event` (Python's
//! `asyncio.Event`, or `threading.Event` in the lesson's thread version). The sleeper snores
//! once a second, each time waiting at most one second for the alarm; the first wait that
//! sees the event set ends its sleep. Both run on one thread: while they wait, the executor
//! parks until the next deadline.
//!
//! Run: `cargo run --example timer` (4.5 s), or with `-- --fast` (virtual clock).
use std::time::Duration;

use greenloop::Executor;
use greenloop::sync::Event;
use greenloop::task::Builder;
use greenloop::time::{self, sleep, timeout};

/// Sets `alarm` after `delay`.
async fn alarm_clock(delay: Duration, alarm: Event) {
    sleep(delay).await;
    println!("Ring ring!");
    alarm.set();
}

/// Snores once a second until `alarm` is set; returns how many times it snored.
async fn sleeper(alarm: Event) -> u32 {
    let mut snores = 0;
    while timeout(Duration::from_secs(1), alarm.wait()).await.is_err() {
        snores += 1;
        println!("Zzz... ({snores})");
    }
    snores
}

fn main() {
    let fast = std::env::args().any(|arg| arg == "--fast");
    let executor = if fast {
        Executor::builder().virtual_clock().build()
    } else {
        Executor::new()
    };
    executor.block_on(async {
        let start = time::now();
        let alarm = Event::new().with_name("alarm");
        println!("Setting the alarm for 4.5 s.");
        let clock = Builder::new()
            .name("alarm clock")
            .spawn(alarm_clock(Duration::from_millis(4_500), alarm.clone()));
        let snores = Builder::new().name("sleeper").spawn(sleeper(alarm));
        let (clock, snores) = greenloop::gather!(clock, snores).await;
        clock.expect("the alarm clock panicked");
        let snores = snores.expect("the sleeper panicked");
        // Rounded to a tenth of a second: the same on a real and a virtual clock.
        let slept = (time::now() - start).as_secs_f64();
        println!("Awake after {snores} snores and {slept:.1} s.");
    });
}
