//! Executor benchmarks: greenloop side by side with smol, tokio and futures, in the same run.
//!
//! Each group has one function per executor: `greenloop` (`Executor::block_on`), `smol`
//! (`LocalExecutor` driven by `async_io::block_on`), `tokio` (current-thread runtime with a
//! `LocalSet`) and `futures` (`LocalPool`). Every executor is built once, outside the timed
//! loop, and reused by every iteration.
//!
//! The routines use `iter_custom` and divide by the workload size, so criterion's time is
//! directly **ns per task** (`spawn_join`, `idle_tasks_wake_all`) or **ns per yield**
//! (`yield_storm`). The clock is the benchmark thread's CPU time (see `common::Clock`; set
//! `GREENLOOP_BENCH_CLOCK=wall` on a quiet machine for wall time). Run with
//! `cargo bench --bench executor -- --warm-up-time 1 --measurement-time 3`.

mod common;

use std::hint::black_box;
use std::time::Duration;

use common::{Clock, WakeAll, YieldOnce, idle_round};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, criterion_group, criterion_main};
use futures::executor::LocalPool;
use futures::task::LocalSpawnExt;

/// Tasks spawned and joined per `spawn_join` iteration.
const SPAWN_TASKS: u64 = 500_000;
/// Tasks in `yield_storm`.
const STORM_TASKS: u64 = 1_000;
/// `yield_now`s per task in `yield_storm`.
const STORM_YIELDS: u64 = 1_000;
/// Tasks parked per `idle_tasks_wake_all` iteration.
const IDLE_TASKS: usize = 100_000;

/// Sum of the outputs of tasks `0..SPAWN_TASKS` that each return their index.
const SPAWN_SUM: u64 = SPAWN_TASKS * (SPAWN_TASKS - 1) / 2;

fn spawn_join(c: &mut Criterion) {
    let mut group = long_group(c, "spawn_join");

    // Stresses: task allocation, first poll, completion, output hand-over through the
    // JoinHandle, and freeing, with 500k tasks in the run queue at once.
    group.bench_function("greenloop", |b| {
        let ex = greenloop::Executor::new();
        b.iter_custom(|iters| {
            per_item(iters, SPAWN_TASKS, || {
                ex.block_on(async {
                    let handles: Vec<_> = (0..SPAWN_TASKS)
                        .map(|i| ex.spawn(async move { i }))
                        .collect();
                    let mut sum = 0;
                    for handle in handles {
                        sum += handle
                            .await
                            .expect("the task neither panics nor is cancelled");
                    }
                    assert_eq!(sum, SPAWN_SUM);
                    sum
                })
            })
        });
    });

    // Stresses: the same, through async-task's raw tasks and LocalExecutor's queue.
    group.bench_function("smol", |b| {
        let ex = smol::LocalExecutor::new();
        b.iter_custom(|iters| {
            per_item(iters, SPAWN_TASKS, || {
                async_io::block_on(ex.run(async {
                    let handles: Vec<_> = (0..SPAWN_TASKS)
                        .map(|i| ex.spawn(async move { i }))
                        .collect();
                    let mut sum = 0;
                    for handle in handles {
                        sum += handle.await;
                    }
                    assert_eq!(sum, SPAWN_SUM);
                    sum
                }))
            })
        });
    });

    // Stresses: the same, through tokio's task harness and LocalSet's local queue.
    group.bench_function("tokio", |b| {
        let (rt, local) = tokio_local();
        b.iter_custom(|iters| {
            per_item(iters, SPAWN_TASKS, || {
                local.block_on(&rt, async {
                    let handles: Vec<_> = (0..SPAWN_TASKS)
                        .map(|i| tokio::task::spawn_local(async move { i }))
                        .collect();
                    let mut sum = 0;
                    for handle in handles {
                        sum += handle
                            .await
                            .expect("the task neither panics nor is cancelled");
                    }
                    assert_eq!(sum, SPAWN_SUM);
                    sum
                })
            })
        });
    });

    // Stresses: the same, through LocalPool's FuturesUnordered and the oneshot channel
    // behind every RemoteHandle.
    group.bench_function("futures", |b| {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        b.iter_custom(|iters| {
            per_item(iters, SPAWN_TASKS, || {
                pool.run_until(async {
                    let handles: Vec<_> = (0..SPAWN_TASKS)
                        .map(|i| {
                            spawner
                                .spawn_local_with_handle(async move { i })
                                .expect("the pool is alive")
                        })
                        .collect();
                    let mut sum = 0;
                    for handle in handles {
                        sum += handle.await;
                    }
                    assert_eq!(sum, SPAWN_SUM);
                    sum
                })
            })
        });
    });

    group.finish();
}

fn yield_storm(c: &mut Criterion) {
    let mut group = long_group(c, "yield_storm");
    let yields = STORM_TASKS * STORM_YIELDS;

    // Stresses: the self-wake path (wake_by_ref while running) and the run queue's
    // push/pop, 1M times; the 1000 spawns are under 0.5% of the work.
    group.bench_function("greenloop", |b| {
        let ex = greenloop::Executor::new();
        b.iter_custom(|iters| {
            per_item(iters, yields, || {
                ex.block_on(async {
                    let handles: Vec<_> = (0..STORM_TASKS)
                        .map(|_| ex.spawn(storm(greenloop::yield_now)))
                        .collect();
                    for handle in handles {
                        handle
                            .await
                            .expect("the task neither panics nor is cancelled");
                    }
                })
            })
        });
    });

    // Stresses: the same with futures-lite's yield_now on LocalExecutor.
    group.bench_function("smol", |b| {
        let ex = smol::LocalExecutor::new();
        b.iter_custom(|iters| {
            per_item(iters, yields, || {
                async_io::block_on(ex.run(async {
                    let handles: Vec<_> = (0..STORM_TASKS)
                        .map(|_| ex.spawn(storm(smol::future::yield_now)))
                        .collect();
                    for handle in handles {
                        handle.await;
                    }
                }))
            })
        });
    });

    // Stresses: the same with tokio's yield_now (which defers the wake to the scheduler).
    group.bench_function("tokio", |b| {
        let (rt, local) = tokio_local();
        b.iter_custom(|iters| {
            per_item(iters, yields, || {
                local.block_on(&rt, async {
                    let handles: Vec<_> = (0..STORM_TASKS)
                        .map(|_| tokio::task::spawn_local(storm(tokio::task::yield_now)))
                        .collect();
                    for handle in handles {
                        handle
                            .await
                            .expect("the task neither panics nor is cancelled");
                    }
                })
            })
        });
    });

    // Stresses: the same with a hand-written yield-once future on LocalPool.
    group.bench_function("futures", |b| {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        b.iter_custom(|iters| {
            per_item(iters, yields, || {
                pool.run_until(async {
                    let handles: Vec<_> = (0..STORM_TASKS)
                        .map(|_| {
                            spawner
                                .spawn_local_with_handle(storm(YieldOnce::default))
                                .expect("the pool is alive")
                        })
                        .collect();
                    for handle in handles {
                        handle.await;
                    }
                })
            })
        });
    });

    group.finish();
}

fn idle_tasks_wake_all(c: &mut Criterion) {
    let mut group = long_group(c, "idle_tasks_wake_all");
    let n = IDLE_TASKS as u64;

    // Stresses: 100k same-thread wakes issued by the block_on future (not by a task), then
    // one poll, completion and freeing of each detached task. Spawning and parking are not
    // timed.
    group.bench_function("greenloop", |b| {
        let ex = greenloop::Executor::new();
        b.iter_custom(|iters| {
            timed_per_item(iters, n, || {
                let source = WakeAll::with_capacity(IDLE_TASKS);
                ex.block_on(idle_round(
                    &source,
                    IDLE_TASKS,
                    |t| drop(ex.spawn(t)),
                    || (),
                ))
            })
        });
    });

    // Stresses: the same on LocalExecutor (detached async-task tasks).
    group.bench_function("smol", |b| {
        let ex = smol::LocalExecutor::new();
        b.iter_custom(|iters| {
            timed_per_item(iters, n, || {
                let source = WakeAll::with_capacity(IDLE_TASKS);
                async_io::block_on(ex.run(idle_round(
                    &source,
                    IDLE_TASKS,
                    |t| ex.spawn(t).detach(),
                    || (),
                )))
            })
        });
    });

    // Stresses: the same on a LocalSet (dropped JoinHandles detach).
    group.bench_function("tokio", |b| {
        let (rt, local) = tokio_local();
        b.iter_custom(|iters| {
            timed_per_item(iters, n, || {
                let source = WakeAll::with_capacity(IDLE_TASKS);
                local.block_on(
                    &rt,
                    idle_round(
                        &source,
                        IDLE_TASKS,
                        |t| drop(tokio::task::spawn_local(t)),
                        || (),
                    ),
                )
            })
        });
    });

    // Stresses: the same on LocalPool (spawn_local without a handle).
    group.bench_function("futures", |b| {
        let mut pool = LocalPool::new();
        let spawner = pool.spawner();
        b.iter_custom(|iters| {
            timed_per_item(iters, n, || {
                let source = WakeAll::with_capacity(IDLE_TASKS);
                pool.run_until(idle_round(
                    &source,
                    IDLE_TASKS,
                    |t| spawner.spawn_local(t).expect("the pool is alive"),
                    || (),
                ))
            })
        });
    });

    group.finish();
}

/// A task that yields `STORM_YIELDS` times with the executor's own `yield_now`.
async fn storm<Y: Future<Output = ()>>(yield_now: impl Fn() -> Y) {
    for _ in 0..STORM_YIELDS {
        yield_now().await;
    }
}

/// A group for workloads that take tens of milliseconds per iteration: flat sampling, so
/// that ten samples cost ten iterations and not the 55 of linear sampling.
fn long_group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat);
    group
}

/// Runs `round` `iters` times and returns the time per item, where one round handles
/// `items` items; criterion then reports ns per item.
fn per_item<T>(iters: u64, items: u64, mut round: impl FnMut() -> T) -> Duration {
    let start = Clock::now();
    for _ in 0..iters {
        black_box(round());
    }
    start.elapsed().div_f64(items as f64)
}

/// Like [`per_item`], but `round` measures and returns its own time.
fn timed_per_item(iters: u64, items: u64, mut round: impl FnMut() -> Duration) -> Duration {
    let total: Duration = (0..iters).map(|_| round()).sum();
    total.div_f64(items as f64)
}

/// A current-thread tokio runtime and a `LocalSet` to run `!Send` tasks on it.
fn tokio_local() -> (tokio::runtime::Runtime, tokio::task::LocalSet) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime without drivers builds");
    (rt, tokio::task::LocalSet::new())
}

/// Short defaults for a shared 2-core machine; command-line flags override them.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10)
}

criterion_group! {
    name = benches;
    config = config();
    targets = spawn_join, yield_storm, idle_tasks_wake_all
}
criterion_main!(benches);
