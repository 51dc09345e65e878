//! The example programs, run with `--fast` (virtual clock): their stdout must be exactly the
//! lesson's lines.
//!
//! `cargo test` builds the examples before it runs the tests, into `target/<profile>/examples`
//! next to this test's own `deps` directory; the tests run those binaries directly (no `cargo
//! run` per test: under valgrind that would take minutes). Run alone (`cargo test --test
//! examples`), cargo does not build the examples, so a binary that is missing, or older than
//! its source file, is rebuilt once with `cargo build --examples`.
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Once;

/// The path of the example binary `name`, built by `cargo test` (or here, if missing or stale).
fn example(name: &str) -> PathBuf {
    static BUILD: Once = Once::new();
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/<profile>/deps/examples-<hash> → target/<profile>/examples/<name>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("examples/{name}.rs"));
    let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&path) < modified(&source) {
        BUILD.call_once(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "--examples"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("cargo runs");
            assert!(status.success(), "cargo build --examples failed");
        });
    }
    path
}

/// Runs the example `name` with `--fast` and no stdin; returns its stdout, line by line.
fn run_fast(name: &str) -> Vec<String> {
    run_with(name, &["--fast"])
}

/// Runs the example `name` with `args` and no stdin; returns its stdout, line by line.
fn run_with(name: &str, args: &[&str]) -> Vec<String> {
    let output = Command::new(example(name))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running example {name}: {e}"));
    assert!(
        output.status.success(),
        "example {name} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// "Round 1" … "Round 10", then "[End of input]": lesson six's output.
fn ten_rounds() -> Vec<String> {
    (1..=10)
        .map(|n| format!("Round {n}"))
        .chain(["[End of input]".to_owned()])
        .collect()
}

#[test]
fn producer_consumer_prints_ten_rounds_then_end_of_input() {
    assert_eq!(run_fast("producer_consumer"), ten_rounds());
}

#[test]
fn producer_consumer_prints_the_same_scheduler_trace_on_every_fast_run() {
    let lines = run_with("producer_consumer", &["--fast", "--trace"]);
    let (lesson, trace) = lines.split_at(11);
    assert_eq!(lesson, ten_rounds());
    assert_eq!(
        trace[..8],
        [
            "--- scheduler trace ---",
            "[  0.000s] poll main", // main spawns the three green threads
            "[  0.000s] spawn task 1 \"timer\"",
            "[  0.000s] spawn task 2 \"producer\"",
            "[  0.000s] spawn task 3 \"consumer\"",
            "[  0.000s] poll task 1", // the timer files its 20 s deadline
            "[  0.000s] poll task 2", // "Round 1" put, then a 2 s sleep
            "[  0.000s] poll task 3", // the consumer gets "Round 1"
        ]
    );
    let jumps = trace
        .iter()
        .filter(|line| line.ends_with("virtual clock jumps 2s"))
        .count();
    assert_eq!(
        jumps, 10,
        "one jump per round, the last to the timer's 20 s"
    );
    assert!(trace.contains(&"[ 20.000s] 2 timer(s) fired".to_owned()));
    assert_eq!(run_with("producer_consumer", &["--fast", "--trace"]), lines);
}

#[test]
fn consumer_sets_pace_prints_the_same_lines_as_producer_consumer() {
    assert_eq!(run_fast("consumer_sets_pace"), ten_rounds());
}

#[test]
fn async_iteration_interleaves_the_three_producers_round_by_round() {
    let mut expected: Vec<String> = (1..=5)
        .flat_map(|n| ["a", "b", "c"].map(|p| format!("Round {p}{n}")))
        .collect();
    expected.push("[End of input]".to_owned());
    assert_eq!(
        expected[..4],
        ["Round a1", "Round b1", "Round c1", "Round a2"]
    );
    assert_eq!(run_fast("async_iteration"), expected);
}

#[test]
fn gather_vs_sequential_runs_the_gathered_three_reports_the_sequential_deadlock_and_times_sleeps() {
    let mut lines = run_fast("gather_vs_sequential");
    // The spawn location's line and column change with the example's text: keep the file.
    let producer = lines
        .iter_mut()
        .find(|line| line.starts_with("  task 1 \"producer\""))
        .expect("the report names the blocked producer");
    let (before, rest) = producer.split_once(".rs:").expect("a spawn location");
    let (_line_col, after) = rest.split_once(')').expect("a spawn location");
    *producer = format!("{before}.rs:…){after}");
    assert_eq!(
        lines,
        [
            "Gathered: timer, producer and consumer run together.",
            "Round 1",
            "Round 2",
            "Round 3",
            "[End of input]",
            "One after another: the producer fills the mailbox and nobody empties it.",
            "greenloop: deadlock: nothing can make progress (no task is ready, no timer is \
             pending, and every waker of every blocked task is held by a greenloop primitive \
             that only a blocked task could trigger)",
            "  the block_on future: waiting on JoinHandle of task 1 \"producer\"",
            "  task 1 \"producer\" (spawned at examples/gather_vs_sequential.rs:…): \
             waiting on Queue::put on \"mailbox\" (full, 1/1)",
            "Three 1-second sleeps: 1.0 s gathered, 3.0 s one after another.",
        ]
    );
}

#[test]
fn timer_lets_the_sleeper_snore_until_the_alarm_rings() {
    assert_eq!(
        run_fast("timer"),
        [
            "Setting the alarm for 4.5 s.",
            "Zzz... (1)",
            "Zzz... (2)",
            "Zzz... (3)",
            "Zzz... (4)",
            "Ring ring!",
            "Awake after 4 snores and 4.5 s.",
        ]
    );
}

#[test]
fn terminator_completes_when_no_key_is_pressed() {
    assert_eq!(
        run_fast("terminator"),
        [
            "Compiling hello_world (press Enter to stop)",
            "Parsing ..... ok",
            "Type checking .... ok",
            "Optimising ...... ok",
            "Linking ... ok",
            "Finished in 5.4 s.",
        ]
    );
}

#[test]
fn game_loop_ticks_every_frame_and_wakes_for_timers_between_frames() {
    assert_eq!(
        run_fast("game_loop"),
        [
            "frame 0 at 0.0 s: enemies on screen: 0",
            "  wave 1 arrives: 1 more",
            "frame 1 at 0.1 s: enemies on screen: 1",
            "frame 2 at 0.2 s: enemies on screen: 1",
            "frame 3 at 0.3 s: enemies on screen: 1",
            "  wave 2 arrives: 2 more",
            "frame 4 at 0.4 s: enemies on screen: 3",
            "frame 5 at 0.5 s: enemies on screen: 3",
            "frame 6 at 0.6 s: enemies on screen: 3",
            "  wave 3 arrives: 3 more",
            "frame 7 at 0.7 s: enemies on screen: 6",
            "frame 8 at 0.8 s: enemies on screen: 6",
            "frame 9 at 0.9 s: enemies on screen: 6",
            "10 frames, 3 extra ticks for timers between frames",
        ]
    );
}
