//! The executor (API skeleton; the core is being written).
#![allow(missing_docs, clippy::missing_panics_doc)]
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Order in which a tick polls the tasks that were ready when it began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// First woken, first polled (asyncio's order).
    #[default]
    Fifo,
    /// A seeded random order: the same seed gives the same schedule every run.
    Random(u64),
}

/// A task's id, unique within the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

/// What one [`Executor::tick`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tick {
    pub polled: usize,
    pub completed: usize,
    pub woken: usize,
    pub has_ready: bool,
}

/// Why a task produced no output: it was cancelled, or it panicked.
pub struct JoinError {
    _p: (),
}
impl JoinError {
    pub fn is_cancelled(&self) -> bool {
        todo!()
    }
    pub fn is_panic(&self) -> bool {
        todo!()
    }
    /// The panic payload; panics if the task was cancelled.
    pub fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        todo!()
    }
    pub fn id(&self) -> TaskId {
        todo!()
    }
}
impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JoinError")
    }
}
impl std::error::Error for JoinError {}
impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JoinError")
    }
}

/// Handle to a spawned task: await it for the output.
#[derive(Debug)]
pub struct JoinHandle<T> {
    _p: PhantomData<*const T>,
}
impl<T> JoinHandle<T> {
    pub fn cancel(&self) {
        todo!()
    }
    pub fn is_finished(&self) -> bool {
        todo!()
    }
    pub fn id(&self) -> TaskId {
        todo!()
    }
}
impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        todo!()
    }
}

/// The single-threaded executor.
#[derive(Debug)]
pub struct Executor {
    _p: PhantomData<*const ()>,
}
impl Executor {
    pub fn new() -> Self {
        todo!()
    }
    pub fn spawn<F: Future + 'static>(&self, _f: F) -> JoinHandle<F::Output> {
        todo!()
    }
    pub fn block_on<F: Future>(&self, _f: F) -> F::Output {
        todo!()
    }
    pub fn tick(&self) -> Tick {
        todo!()
    }
}
/// Builds an [`Executor`] with a schedule policy and a clock.
#[derive(Debug, Default)]
pub struct ExecutorBuilder {
    _p: (),
}
impl ExecutorBuilder {
    pub fn schedule(self, _s: Schedule) -> Self {
        todo!()
    }
    /// Time jumps to the next deadline whenever no task is ready.
    pub fn virtual_clock(self) -> Self {
        todo!()
    }
    pub fn build(self) -> Executor {
        todo!()
    }
}

impl Executor {
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder::default()
    }
    pub fn run_until_stalled(&self) -> Tick {
        todo!()
    }
    pub fn has_ready(&self) -> bool {
        todo!()
    }
    /// Earliest pending timer deadline (for host loops).
    pub fn next_deadline(&self) -> Option<std::time::Instant> {
        todo!()
    }
    /// Virtual clock only: moves time forward by `d` and fires what expired.
    pub fn advance(&self, _d: std::time::Duration) {
        todo!()
    }
    /// How many timers are pending.
    pub fn pending_timers(&self) -> usize {
        todo!()
    }
}

/// Id of the greenloop task that owns `waker`, if it is a greenloop task waker.
/// Diagnostics hook for sync/ (what a blocked task waits on).
#[allow(dead_code)]
pub(crate) fn task_id_of(_waker: &std::task::Waker) -> Option<TaskId> {
    todo!()
}

impl Default for Executor {
    fn default() -> Self {
        Self::new()
    }
}

/// Spawns a task on the current executor.
pub fn spawn<F: Future + 'static>(_f: F) -> JoinHandle<F::Output> {
    todo!()
}
/// Runs `fut` on a fresh executor, then cancels every task still alive.
pub fn run<F: Future>(_f: F) -> F::Output {
    todo!()
}
/// Same as [`run`].
pub fn block_on<F: Future>(f: F) -> F::Output {
    run(f)
}
