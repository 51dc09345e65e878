//! Hello, green threads: three tasks take turns on one thread.
//!
//! Each task prints a line and then yields, giving up exactly one tick, so the lines
//! interleave in FIFO order: every task runs once before any runs twice. Run it with
//! `cargo run --example hello`.

use std::time::Duration;

fn main() {
    let started = std::time::Instant::now();
    let total = greenloop::run(async {
        let mut handles = Vec::new();
        for name in ["Ana", "Bo", "Cy"] {
            handles.push(
                greenloop::task::Builder::new()
                    .name(name)
                    .spawn(async move {
                        for round in 1..=3 {
                            println!("{name}: hello #{round}");
                            greenloop::yield_now().await;
                        }
                        // A short real sleep: the thread parks; no spinning.
                        greenloop::time::sleep(Duration::from_millis(10)).await;
                        name.len()
                    }),
            );
        }
        let mut total = 0;
        for handle in handles {
            total += handle.await.expect("a greeter panicked");
        }
        total
    });
    println!(
        "{total} letters of names greeted in {:?}",
        started.elapsed()
    );
}
