//! The free functions that act on the executor running this code: `spawn` (asyncio's
//! `create_task`), `run`/`try_run`/`block_on` (asyncio's `run`), and the crate's own
//! `spawn_named`, `spawn_named_on` and `current_task_id`.
use std::future::Future;
use std::panic::Location;

use super::{Deadlock, Executor, JoinHandle, TaskId, context};

const OUTSIDE: &str = "greenloop::spawn called outside a greenloop executor: call it from inside \
     greenloop::run/block_on (or a task), or use Executor::spawn";

/// Spawns a task on the executor running this code (asyncio's `create_task`).
///
/// The task starts once the caller yields. Dropping the returned handle detaches the task.
///
/// # Panics
/// If called outside a greenloop executor.
///
/// # Examples
/// ```
/// greenloop::run(async {
///     let handle = greenloop::spawn(async { "done" });
///     assert_eq!(handle.await.unwrap(), "done");
/// });
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    spawn_named(future, None, Location::caller())
}

pub(crate) fn spawn_named<F>(
    future: F,
    name: Option<String>,
    location: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    let core = context::current().expect(OUTSIDE);
    // SAFETY: CURRENT is set only between `enter` (or `enter_for_drop`) and the drop of its
    // guard, whose owner borrows the executor (or is dropping it) further down this thread's
    // stack, so the `Core` outlives this call (I8). Not a closure through `with_core`: moving
    // the future into one cost a copy and a store-forwarding stall per spawn.
    unsafe { core.as_ref() }.spawn(future, name, location)
}

pub(crate) fn spawn_named_on<F>(
    executor: &Executor,
    future: F,
    name: Option<String>,
    location: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    executor.core.spawn(future, name, location)
}

/// The id of the task running this code, if it runs in a greenloop task.
pub(crate) fn current_task_id() -> Option<TaskId> {
    context::with_core(|core| {
        // SAFETY: `current` is set only while the tick polls that task, which is alive (I2).
        core.and_then(|core| core.current.get())
            .map(|task| unsafe { task.as_ref() }.id())
    })
}

/// Runs `main` on a fresh executor until it completes, then cancels every task still alive
/// (drops its future, running its destructors) and returns `main`'s output: asyncio's
/// `asyncio.run`.
///
/// Unlike asyncio, the leftover tasks do not get to run cleanup code that awaits: in Rust a
/// task is cancelled by dropping its future, and `Drop` cannot await.
///
/// # Panics
/// If called from inside a greenloop executor, or if `main` panics.
///
/// # Examples
/// ```
/// let answer = greenloop::run(async {
///     greenloop::spawn(std::future::pending::<()>()); // cancelled when run returns
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
pub fn run<F: Future>(main: F) -> F::Output {
    Executor::new().block_on(main)
}

/// [`run`], but a deadlock is returned as an error instead of a panic (see
/// [`Executor::try_block_on`]). The tasks still alive are cancelled either way.
///
/// # Errors
/// [`Deadlock`]: nothing could ever make progress again.
///
/// # Panics
/// As [`run`], except on a deadlock.
///
/// # Examples
/// ```
/// let lock = greenloop::sync::Lock::new(0).with_name("counter");
/// let report = greenloop::try_run(async move {
///     let _held = lock.lock().await;
///     let _again = lock.lock().await; // not re-entrant: waits for itself
/// })
/// .unwrap_err();
/// assert!(report.to_string().contains("counter"), "{report}");
/// ```
pub fn try_run<F: Future>(main: F) -> Result<F::Output, Deadlock> {
    Executor::new().try_block_on(main)
}

/// The same as [`run`], under the name the Rust ecosystem uses.
///
/// # Panics
/// As [`run`].
///
/// # Examples
/// ```
/// assert_eq!(greenloop::block_on(async { 7 }), 7);
/// ```
pub fn block_on<F: Future>(future: F) -> F::Output {
    run(future)
}
