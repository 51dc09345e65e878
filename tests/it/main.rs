//! greenloop's integration tests, in one binary (the style guide merges them past about 15):
//! one module per capability, plus the shared helpers `common` (trace, drop and poll counters,
//! flag waker) and `join_support` (helpers of the gather, race, stream and task-group tests).

mod common;
mod join_support;

mod barrier;
mod condition;
mod cross_smol;
mod diagnostics;
mod event;
mod examples;
mod executor;
mod gather;
mod lock;
mod queue;
mod queue_model;
mod race;
mod stream;
mod sync_on_smol;
mod task_group;
mod time;
