//! greenloop: a hand-written, single-threaded async executor with asyncio's primitives.
//!
//! (Crate tour to be written with the executor core.)
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod executor;
pub mod future;
pub mod sync;
pub mod task;
pub mod time;

pub use executor::{
    Executor, ExecutorBuilder, JoinError, JoinHandle, Run, Schedule, TaskId, Tick, block_on, run,
    spawn,
};
pub use future::{YieldNow, yield_now};

pub mod gather;
pub mod race;
pub mod stream;
pub mod task_group;
