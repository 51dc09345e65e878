//! Resident memory per idle task, for greenloop and its peers (criterion cannot measure memory).
//!
//! Run with `cargo bench --bench idle_rss`. With no `--child` argument this binary is the
//! parent: it re-executes itself once per executor and per run (`--child smol`, ...), so that
//! every measurement starts from a fresh heap, and prints a markdown table of the median
//! bytes per task with the ratio to the best peer. Other arguments (cargo passes `--bench`)
//! are ignored.
//!
//! Each child builds its executor, reads `VmRSS` from `/proc/self/status`, spawns 100k
//! detached tasks parked on the shared wake source of `benches/common/mod.rs` (the same
//! `idle_round` as criterion's `idle_tasks_wake_all`), runs until every task has parked,
//! reads `VmRSS` again and prints `(after - before) / 100k`; then it wakes them all and lets
//! them finish. The wake source's own waker list is allocated and touched before the first
//! reading, so the delta is the executor's: task allocations plus run-queue growth.

mod common;

use std::cell::Cell;
use std::process::{Command, ExitCode};

use common::{WakeAll, idle_round};
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

/// Tasks parked per measurement.
const TASKS: usize = 100_000;
/// Fresh processes per executor; the table shows the median.
const RUNS: usize = 3;
/// The executors, in table order. The first one is ours, the others are the peers.
const EXECUTORS: [&str; 4] = ["greenloop", "smol", "tokio", "futures"];
/// The line prefix a child prints its result with.
const RESULT_PREFIX: &str = "idle_rss bytes_per_task=";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().position(|a| a == "--child") {
        Some(i) => match args.get(i + 1) {
            Some(name) => child(name),
            None => {
                eprintln!("--child needs an executor name: {}", EXECUTORS.join(", "));
                ExitCode::FAILURE
            }
        },
        None => parent(),
    }
}

/// One row of the table: an executor and its median, or why it has none.
struct Row {
    name: &'static str,
    result: Result<f64, String>,
}

/// Runs every child `RUNS` times and prints the table.
fn parent() -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("cannot find this executable to re-run it: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rows: Vec<Row> = EXECUTORS
        .iter()
        .map(|&name| {
            let result = median_of_runs(&exe, name);
            Row { name, result }
        })
        .collect();

    let best_peer = rows[1..]
        .iter()
        .filter_map(|r| r.result.as_ref().ok().copied())
        .fold(f64::INFINITY, f64::min);
    println!(
        "\nRSS per idle task: {TASKS} tasks parked on one wake source, median of {RUNS} processes\n"
    );
    println!("| executor | bytes/task | ratio to best peer |");
    println!("|---|---:|---:|");
    for row in &rows {
        match &row.result {
            Ok(bytes) => println!("| {} | {bytes:.0} | {:.2} |", row.name, bytes / best_peer),
            Err(why) => println!("| {} | {why} | - |", row.name),
        }
    }
    if rows
        .iter()
        .all(|r| r.result.is_ok() || r.name == "greenloop")
    {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Runs `--child name` `RUNS` times and returns the median bytes per task.
fn median_of_runs(exe: &std::path::Path, name: &str) -> Result<f64, String> {
    let mut results = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let output = Command::new(exe)
            .args(["--child", name])
            .env("RUST_BACKTRACE", "0")
            .output()
            .map_err(|e| format!("cannot run child: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            // Quote the panic: its location and message, or else stderr's last line.
            let stderr = String::from_utf8_lossy(&output.stderr);
            let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            let why = match lines.iter().position(|l| l.contains("panicked at")) {
                Some(i) => lines[i..lines.len().min(i + 2)].join(" "),
                None => lines.last().copied().unwrap_or_default().to_owned(),
            };
            return Err(format!("failed ({}: {why})", output.status));
        }
        let value = stdout
            .lines()
            .find_map(|l| l.strip_prefix(RESULT_PREFIX))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .ok_or_else(|| format!("no result line in child output: {stdout:?}"))?;
        results.push(value);
    }
    results.sort_by(f64::total_cmp);
    Ok(results[RUNS / 2])
}

/// Measures one executor in this process and prints the result line.
fn child(name: &str) -> ExitCode {
    let source = WakeAll::with_capacity(TASKS);
    let before = Cell::new(0);
    let after = Cell::new(0);
    // Runs once every task has parked; `before` is read just before the round starts.
    let probe = || after.set(vm_rss());
    match name {
        "greenloop" => {
            let ex = greenloop::Executor::new();
            before.set(vm_rss());
            ex.block_on(idle_round(&source, TASKS, |t| drop(ex.spawn(t)), probe));
        }
        "smol" => {
            let ex = smol::LocalExecutor::new();
            before.set(vm_rss());
            async_io::block_on(ex.run(idle_round(&source, TASKS, |t| ex.spawn(t).detach(), probe)));
        }
        "tokio" => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a current-thread runtime without drivers builds");
            let local = tokio::task::LocalSet::new();
            before.set(vm_rss());
            local.block_on(
                &rt,
                idle_round(&source, TASKS, |t| drop(tokio::task::spawn_local(t)), probe),
            );
        }
        "futures" => {
            let mut pool = LocalPool::new();
            let spawner = pool.spawner();
            before.set(vm_rss());
            pool.run_until(idle_round(
                &source,
                TASKS,
                |t| spawner.spawn_local(t).expect("the pool is alive"),
                probe,
            ));
        }
        other => {
            eprintln!(
                "unknown executor {other:?}; expected one of {}",
                EXECUTORS.join(", ")
            );
            return ExitCode::FAILURE;
        }
    }
    let delta = after.get().saturating_sub(before.get());
    eprintln!(
        "{name}: VmRSS {} kB before, {} kB with {TASKS} tasks parked",
        before.get() / 1024,
        after.get() / 1024
    );
    println!("{RESULT_PREFIX}{}", delta as f64 / TASKS as f64);
    ExitCode::SUCCESS
}

/// This process's resident set size in bytes, from the `VmRSS` line of `/proc/self/status`.
///
/// # Panics
/// If the line is missing or malformed (not Linux, or a kernel without it).
fn vm_rss() -> usize {
    let status =
        std::fs::read_to_string("/proc/self/status").expect("/proc/self/status is readable");
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .expect("/proc/self/status has a `VmRSS: <n> kB` line");
    kb * 1024
}
