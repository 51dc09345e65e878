//! Timeouts on a virtual clock: a client retries a slow server with a timeout and exponential
//! back-off while a heartbeat ticks. 13 s of virtual time run in well under a millisecond,
//! and the printed timeline is the same on every run.
//!
//! Run: `cargo run --example timeouts`.
use greenloop::Executor;
use greenloop::time::{self, Elapsed, sleep, timeout};
use std::time::{Duration, Instant};

/// A server whose n-th answer takes 5 s, 4 s, 3 s, ... (it warms up).
async fn request(attempt: u32) -> &'static str {
    sleep(Duration::from_secs(5u64.saturating_sub(u64::from(attempt)))).await;
    "pong"
}

fn main() {
    let ex = Executor::builder().virtual_clock().build();
    let real = Instant::now();
    ex.block_on(async {
        let start = time::now();
        let at = move || (time::now() - start).as_secs_f64();

        let heartbeat = greenloop::spawn(async move {
            let mut every = time::interval(Duration::from_secs(4));
            loop {
                every.tick().await;
                println!("{:>5.1}s  heartbeat", at());
            }
        });

        let mut backoff = Duration::from_millis(500);
        for attempt in 0.. {
            match timeout(Duration::from_millis(2_500), request(attempt)).await {
                Ok(answer) => {
                    println!("{:>5.1}s  attempt {attempt}: {answer}", at());
                    break;
                }
                Err(Elapsed { .. }) => {
                    println!(
                        "{:>5.1}s  attempt {attempt}: timed out, retry in {backoff:?}",
                        at()
                    );
                    sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
        heartbeat.cancel();
    });
    println!("real time: {:?}", real.elapsed());
}
