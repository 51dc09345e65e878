//! Timer benchmarks: greenloop against smol (async-io `Timer`) and tokio (current-thread
//! runtime), side by side in the same run.
//!
//! - `timers`: 100k tasks each sleep a seeded-random duration in [0, 50 ms] on the real clock;
//!   criterion times the whole run (wall), and each task's lateness (actual wake minus
//!   deadline) is averaged per run and printed as a median over the runs.
//! - `timers_virtual`: the same 100k sleeps on a virtual (tokio: paused) clock; ns per timer
//!   is the criterion time divided by 100k. Timed on the thread's CPU clock (`common::Clock`):
//!   both runtimes do all of this work on the calling thread.
//! - `lone_sleep`: one task sleeps 10 ms, 15 times per runtime; the median lateness is printed
//!   (not a criterion timing: lateness is what is measured, not the time taken).
//!
//! Run: `cargo bench --bench time -- --warm-up-time 1 --measurement-time 3`.
#[allow(dead_code, reason = "only the CPU clock is used here")]
mod common;

use common::iter_cpu;
use criterion::{BenchmarkId, Criterion};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Timers per run.
const N: usize = 100_000;

/// The seeded durations: uniform in [0, 50 ms] at microsecond resolution (splitmix64).
fn durations() -> Vec<Duration> {
    let mut x: u64 = 0x5EED;
    (0..N)
        .map(|_| {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            Duration::from_micros((z ^ (z >> 31)) % 50_001)
        })
        .collect()
}

/// Mean lateness per run, in µs, by runtime.
type Lateness = RefCell<BTreeMap<&'static str, Vec<f64>>>;

fn record(lateness: &Lateness, who: &'static str, total_ns: u64) {
    let mean_us = total_ns as f64 / N as f64 / 1_000.0;
    lateness.borrow_mut().entry(who).or_default().push(mean_us);
}

// `timers`: what it stresses is timer insertion, firing order and the idle path (parking until
// the next deadline) under 100k pending timers, on the real clock.
fn timers(c: &mut Criterion, lateness: &Lateness) {
    let ds = durations();
    let mut g = c.benchmark_group("timers");
    g.sample_size(10);

    g.bench_function(BenchmarkId::from_parameter("greenloop"), |b| {
        let ex = greenloop::Executor::new();
        b.iter_custom(|iters| {
            let mut wall = Duration::ZERO;
            for _ in 0..iters {
                let late = Rc::new(Cell::new(0u64));
                let start = Instant::now();
                ex.block_on(async {
                    let handles: Vec<_> = ds
                        .iter()
                        .map(|&d| {
                            let late = late.clone();
                            greenloop::spawn(async move {
                                let t = Instant::now();
                                greenloop::time::sleep(d).await;
                                let l = t.elapsed().saturating_sub(d);
                                late.set(late.get() + l.as_nanos() as u64);
                            })
                        })
                        .collect();
                    for h in handles {
                        h.await.unwrap();
                    }
                });
                wall += start.elapsed();
                record(lateness, "greenloop", late.get());
            }
            wall
        });
    });

    g.bench_function(BenchmarkId::from_parameter("smol"), |b| {
        let ex = smol::LocalExecutor::new();
        b.iter_custom(|iters| {
            let mut wall = Duration::ZERO;
            for _ in 0..iters {
                let late = Rc::new(Cell::new(0u64));
                let start = Instant::now();
                smol::block_on(ex.run(async {
                    let handles: Vec<_> = ds
                        .iter()
                        .map(|&d| {
                            let late = late.clone();
                            ex.spawn(async move {
                                let t = Instant::now();
                                async_io::Timer::after(d).await;
                                let l = t.elapsed().saturating_sub(d);
                                late.set(late.get() + l.as_nanos() as u64);
                            })
                        })
                        .collect();
                    for h in handles {
                        h.await;
                    }
                }));
                wall += start.elapsed();
                record(lateness, "smol", late.get());
            }
            wall
        });
    });

    g.bench_function(BenchmarkId::from_parameter("tokio"), |b| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        b.iter_custom(|iters| {
            let mut wall = Duration::ZERO;
            for _ in 0..iters {
                let late = Arc::new(AtomicU64::new(0));
                let start = Instant::now();
                rt.block_on(async {
                    let handles: Vec<_> = ds
                        .iter()
                        .map(|&d| {
                            let late = late.clone();
                            tokio::spawn(async move {
                                let t = Instant::now();
                                tokio::time::sleep(d).await;
                                let l = t.elapsed().saturating_sub(d);
                                late.fetch_add(l.as_nanos() as u64, Ordering::Relaxed);
                            })
                        })
                        .collect();
                    for h in handles {
                        h.await.unwrap();
                    }
                });
                wall += start.elapsed();
                record(lateness, "tokio", late.load(Ordering::Relaxed));
            }
            wall
        });
    });
    g.finish();
}

// `timers_virtual`: what it stresses is the pure cost of a timer (spawn, register, fire, wake,
// complete) when the clock jumps instead of waiting.
fn timers_virtual(c: &mut Criterion) {
    let ds = durations();
    let mut g = c.benchmark_group("timers_virtual");
    g.sample_size(10);

    g.bench_function(BenchmarkId::from_parameter("greenloop"), |b| {
        let ex = greenloop::Executor::builder().virtual_clock().build();
        iter_cpu(b, || {
            ex.block_on(async {
                let handles: Vec<_> = ds
                    .iter()
                    .map(|&d| greenloop::spawn(greenloop::time::sleep(d)))
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
        });
    });

    g.bench_function(BenchmarkId::from_parameter("tokio"), |b| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        iter_cpu(b, || {
            rt.block_on(async {
                let handles: Vec<_> = ds
                    .iter()
                    .map(|&d| tokio::spawn(tokio::time::sleep(d)))
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
        });
    });
    g.finish();
}

/// Median lateness (µs) of a lone 10 ms sleep, per runtime.
fn lone_sleep() -> Vec<(&'static str, f64)> {
    const RUNS: usize = 15;
    let d = Duration::from_millis(10);
    let late = |t: Instant| t.elapsed().saturating_sub(d).as_nanos() as f64 / 1_000.0;
    let mut out = Vec::new();

    let ex = greenloop::Executor::new();
    let mut v: Vec<f64> = (0..RUNS)
        .map(|_| {
            ex.block_on(async {
                let t = Instant::now();
                greenloop::time::sleep(d).await;
                late(t)
            })
        })
        .collect();
    out.push(("greenloop", median(&mut v)));

    let mut v: Vec<f64> = (0..RUNS)
        .map(|_| {
            smol::block_on(async {
                let t = Instant::now();
                async_io::Timer::after(d).await;
                late(t)
            })
        })
        .collect();
    out.push(("smol", median(&mut v)));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut v: Vec<f64> = (0..RUNS)
        .map(|_| {
            rt.block_on(async {
                let t = Instant::now();
                tokio::time::sleep(d).await;
                late(t)
            })
        })
        .collect();
    out.push(("tokio", median(&mut v)));
    out
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let lateness = Lateness::default();
    timers(&mut c, &lateness);
    timers_virtual(&mut c);
    c.final_summary();
    // Lateness is not a criterion timing: print it after the criterion output.
    println!("\ntimers, mean lateness per run (µs): median over runs");
    for (who, v) in lateness.borrow_mut().iter_mut() {
        println!("  {who:10} {:>10.0}  ({} runs)", median(v), v.len());
    }
    println!("lone sleep(10 ms), lateness (µs): median of 15");
    for (who, l) in lone_sleep() {
        println!("  {who:10} {l:>10.0}");
    }
}
