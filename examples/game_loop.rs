//! Embedding greenloop in a host loop: a game running at a fixed frame rate.
//!
//! A game owns its main loop; it cannot hand the thread to `block_on`. Instead it calls
//! [`Executor::tick`] once per frame, which polls the tasks that are ready and returns at
//! once, and between frames it sleeps until the next frame or the executor's next timer
//! deadline ([`Executor::next_deadline`]), whichever is sooner. A timer that falls between
//! two frames therefore wakes the loop for an extra tick, and the task it wakes runs on
//! time rather than at the next frame.
//!
//! Here the frame rate is 10 per second; a green thread sends enemy waves at 0.05 s,
//! 0.35 s and 0.65 s, between frames, and the frames draw how many enemies have arrived.
//! On a real clock the loop sleeps with `std::thread::sleep`; with `--fast` the executor
//! has a virtual clock and the loop moves it forward with [`Executor::advance`] instead.
//!
//! Run: `cargo run --example game_loop` (1 s), or with `-- --fast` (virtual clock).
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use greenloop::Executor;
use greenloop::time::{self, sleep_until};

/// One frame at 10 frames per second.
const FRAME: Duration = Duration::from_millis(100);
/// How many frames the game runs.
const FRAMES: u32 = 10;
/// When each enemy wave arrives, in milliseconds after the start: between frames.
const WAVES: [u64; 3] = [50, 350, 650];

/// Sends the enemy waves at their times, counting enemies in `enemies`.
async fn spawner(enemies: Rc<Cell<u32>>) {
    let start = time::now();
    for (wave, at) in (1..).zip(WAVES) {
        sleep_until(start + Duration::from_millis(at)).await;
        enemies.set(enemies.get() + wave);
        println!("  wave {wave} arrives: {wave} more");
    }
}

/// Waits until `when` on the executor's clock: really, or by moving the virtual clock.
fn sleep_host(executor: &Executor, fast: bool, when: Instant) {
    let wait = when.saturating_duration_since(executor.now());
    if fast {
        executor.advance(wait);
    } else {
        std::thread::sleep(wait);
    }
}

fn main() {
    let fast = std::env::args().any(|arg| arg == "--fast");
    let executor = if fast {
        Executor::builder().virtual_clock().build()
    } else {
        Executor::new()
    };
    let enemies = Rc::new(Cell::new(0));
    executor.spawn(spawner(enemies.clone()));

    let mut next_frame = executor.now();
    let mut frame = 0;
    let mut timer_wakes = 0;
    while frame < FRAMES {
        let is_frame = executor.now() >= next_frame;
        executor.tick();
        if is_frame {
            // Scheduled frame times, not measured ones: the output is the same every run.
            let at = f64::from(frame) * FRAME.as_secs_f64();
            println!(
                "frame {frame} at {at:.1} s: enemies on screen: {}",
                enemies.get()
            );
            frame += 1;
            next_frame += FRAME;
        } else {
            timer_wakes += 1;
        }
        let wake_at = executor
            .next_deadline()
            .map_or(next_frame, |deadline| deadline.min(next_frame));
        sleep_host(&executor, fast, wake_at);
    }
    println!("{frame} frames, {timer_wakes} extra ticks for timers between frames");
}
