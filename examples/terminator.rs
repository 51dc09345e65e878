//! Lesson one, "stop compile": a long job that the user can abort by pressing Enter.
//!
//! A dummy compiler works through its phases, printing a progress dot per step. Pressing
//! Enter aborts it. Reading stdin blocks a thread, so a helper thread does it and sends a
//! message through an async-channel when a line arrives; a green thread waits on the
//! channel and sets a `stop` `Event`. The compiler waits for that event between steps,
//! at most one step's time (`timeout(step, stop.wait())`), so it stops within a step.
//!
//! If stdin is closed or empty (no terminal, as in CI), the helper thread just ends and
//! the compilation completes. With `--fast` the steps take no real time (virtual clock),
//! so the compilation completes before anyone could press a key.
//!
//! Run: `cargo run --example terminator` and press Enter during the compilation to stop it.
use std::io::{BufRead, Write};
use std::time::Duration;

use greenloop::Executor;
use greenloop::sync::Event;
use greenloop::task::Builder;
use greenloop::time::{self, timeout};

/// The phases and how many steps each takes.
const PHASES: [(&str, u32); 4] = [
    ("Parsing", 5),
    ("Type checking", 4),
    ("Optimising", 6),
    ("Linking", 3),
];

/// How long one step of the dummy compiler takes.
const STEP: Duration = Duration::from_millis(300);

/// Works through [`PHASES`], a dot per step; returns `false` if `stop` was set meanwhile.
async fn compile(stop: Event) -> bool {
    for (phase, steps) in PHASES {
        print!("{phase} ");
        for _ in 0..steps {
            // Waits at most one step for the stop event: `Ok` means it was set.
            if timeout(STEP, stop.wait()).await.is_ok() {
                println!();
                return false;
            }
            print!(".");
            std::io::stdout().flush().expect("stdout");
        }
        println!(" ok");
    }
    true
}

/// Reads stdin on a helper thread; returns the channel it reports a pressed Enter on.
/// The sender is dropped when stdin ends, which closes the channel.
fn watch_stdin() -> async_channel::Receiver<()> {
    let (tx, rx) = async_channel::bounded(1);
    std::thread::spawn(move || {
        let mut line = String::new();
        // Ok(0) is the end of stdin (closed or empty): no key was pressed.
        if let Ok(1..) = std::io::stdin().lock().read_line(&mut line) {
            let _ = tx.send_blocking(());
        }
    });
    rx
}

fn main() {
    let fast = std::env::args().any(|arg| arg == "--fast");
    let executor = if fast {
        Executor::builder().virtual_clock().build()
    } else {
        Executor::new()
    };
    let enter = watch_stdin();
    executor.block_on(async {
        let start = time::now();
        let stop = Event::new().with_name("stop");
        // Still waiting when the compiler is done, the watcher is cancelled when `executor`
        // is dropped at the end of `main`.
        Builder::new().name("stdin watcher").spawn({
            let stop = stop.clone();
            async move {
                if enter.recv().await.is_ok() {
                    stop.set();
                }
            }
        });
        println!("Compiling hello_world (press Enter to stop)");
        let completed = Builder::new()
            .name("compiler")
            .spawn(compile(stop))
            .await
            .expect("the compiler panicked");
        let took = (time::now() - start).as_secs_f64();
        if completed {
            println!("Finished in {took:.1} s.");
        } else {
            println!("Stopped after {took:.1} s: aborted by the user.");
        }
    });
}
