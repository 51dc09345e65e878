//! greenloop: a hand-written, single-threaded async executor with asyncio's primitives.
//!
//! # A tour
//! - [`Executor`] runs tasks on one thread in **ticks**: FIFO, each ready task polled once
//!   per tick, a task woken during a tick runs in the next one (asyncio's loop). Build one
//!   with [`Executor::builder`] to pick a [`Schedule`] or a virtual clock.
//! - [`run`] (alias [`block_on`]) is `asyncio.run`: a fresh executor runs `main`, then drops
//!   every task still alive. Inside it, [`spawn`] starts a task and returns a [`JoinHandle`];
//!   [`yield_now`] gives up one tick; [`task::Builder`] names tasks.
//! - [`time`]: `sleep`, `timeout`, `interval` on the executor's clock, real or virtual.
//! - [`sync`]: `Queue`, `Event`, `Lock`, `Semaphore`, `Condition`, `Barrier` — single-threaded,
//!   FIFO-fair, cancel-safe. Cross-thread messaging is async-channel's job.
//! - Host loops drive the executor with [`Executor::tick`] and [`Executor::next_deadline`], or
//!   run it inside another executor with [`Executor::run`].
//!
//! ```
//! let total = greenloop::run(async {
//!     let a = greenloop::spawn(async { 1 });
//!     let b = greenloop::spawn(async { 2 });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(total, 3);
//! ```
//!
//! ARCHITECTURE.md (in the repository) maps the source and lists the invariants the
//! `unsafe` code relies on; all of it lives in the `executor` module.
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod executor;
pub mod future;
pub mod gather;
pub mod race;
pub mod stream;
pub mod sync;
pub mod task;
pub mod task_group;
pub mod time;

pub use executor::{
    Deadlock, Executor, ExecutorBuilder, JoinError, JoinHandle, Run, Schedule, TaskDump, TaskId,
    TaskInfo, Tick, TraceEvent, TraceKind, block_on, run, spawn, try_run,
};
pub use future::{YieldNow, yield_now};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
