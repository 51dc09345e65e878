//! Tasks: naming them before they are spawned, and asking which task is running.
use std::future::Future;
use std::panic::Location;

use crate::executor::{self, Executor, JoinHandle, TaskId};

/// Configures a task before spawning it: for now, its name, which appears in
/// [`JoinError`](crate::JoinError) messages and in diagnostics.
///
/// # Examples
/// ```
/// greenloop::run(async {
///     let handle = greenloop::task::Builder::new()
///         .name("producer")
///         .spawn(async { 1 });
///     assert_eq!(handle.await.unwrap(), 1);
/// });
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
}

impl Builder {
    /// A builder for an unnamed task.
    ///
    /// # Examples
    /// ```
    /// let builder = greenloop::task::Builder::new();
    /// # let _ = builder;
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task.
    ///
    /// # Examples
    /// ```
    /// let builder = greenloop::task::Builder::new().name("consumer");
    /// # let _ = builder;
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Spawns the task on the executor running this code, like [`crate::spawn`].
    ///
    /// # Panics
    /// If called outside a greenloop executor.
    ///
    /// # Examples
    /// ```
    /// greenloop::run(async {
    ///     let handle = greenloop::task::Builder::new().name("x").spawn(async { 2 });
    ///     assert_eq!(handle.await.unwrap(), 2);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        executor::spawn_named(future, self.name, Location::caller())
    }

    /// Spawns the task on `executor`, like [`Executor::spawn`].
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// let handle = greenloop::task::Builder::new().name("y").spawn_on(&ex, async { 3 });
    /// assert_eq!(ex.block_on(handle).unwrap(), 3);
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(self, executor: &Executor, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        executor::spawn_named_on(executor, future, self.name, Location::caller())
    }
}

/// The id of the task running this code, or `None` outside a greenloop task (for example in
/// the future given to `block_on`, which is not a spawned task).
///
/// # Examples
/// ```
/// greenloop::run(async {
///     assert_eq!(greenloop::task::id(), None);
///     let handle = greenloop::spawn(async { greenloop::task::id() });
///     let id = handle.id();
///     assert_eq!(handle.await.unwrap(), Some(id));
/// });
/// ```
pub fn id() -> Option<TaskId> {
    executor::current_task_id()
}
