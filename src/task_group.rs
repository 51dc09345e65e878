//! [`TaskGroup`]: structured concurrency, asyncio's `TaskGroup`.
//!
//! A group spawns tasks onto the current executor and keeps their handles. The first failure (a
//! task returning `Err` or panicking) cancels every other task of the group at once, whether or
//! not the group is being awaited; [`TaskGroup::join`] waits for all of them and returns their
//! outputs in spawn order, or every failure in the order they happened. Dropping the group
//! cancels its tasks, so a group never outlives the code that owns it, and groups nest: a task
//! that owns an inner group cancels the inner group's tasks when it is cancelled.
//!
//! Differences from asyncio:
//! - asyncio also cancels the body of the `async with` block at the first failure; a Rust
//!   future cannot be cancelled from inside itself, so the owner learns of the failure when it
//!   awaits [`join`](TaskGroup::join) (or checks [`is_failed`](TaskGroup::is_failed)).
//! - Spawning into a group that already failed is asyncio's `RuntimeError`; here the future is
//!   dropped without running, exactly as if it had been spawned just before the failure and
//!   cancelled by it.
//! - A failure is a value ([`TaskError`]), and `join` returns them in a `Vec` where asyncio
//!   raises an `ExceptionGroup`.
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::FutureExt;

use crate::executor::JoinHandle;

/// A group of tasks that succeed together or are cancelled together.
///
/// A group is `!Send`: its tasks live on the executor of the thread that spawned them.
///
/// ```compile_fail,E0277
/// fn assert_send<T: Send>(_: T) {}
/// assert_send(greenloop::task_group::TaskGroup::<(), ()>::new());
/// ```
///
/// # Examples
/// ```
/// use greenloop::task_group::{TaskError, TaskGroup};
/// greenloop::block_on(async {
///     let group = TaskGroup::new();
///     for n in 1..=3 {
///         group.spawn(async move { Ok::<_, String>(n * 10) });
///     }
///     assert_eq!(group.join().await.unwrap(), [10, 20, 30]);
///
///     let group = TaskGroup::new();
///     group.spawn(async { Err::<(), _>("first") });
///     group.spawn(std::future::pending()); // cancelled by the failure
///     let failures = group.join().await.unwrap_err();
///     assert!(matches!(failures[..], [TaskError::Failed("first")]));
/// });
/// ```
#[must_use = "a TaskGroup cancels its tasks when dropped; `.join().await` it"]
pub struct TaskGroup<T, E> {
    state: Rc<State<T, E>>,
}

/// Why a task of a [`TaskGroup`] failed.
///
/// # Examples
/// ```
/// use greenloop::task_group::TaskError;
/// let failed: TaskError<&str> = TaskError::Failed("no");
/// assert_eq!(failed.to_string(), "task failed: no");
/// let panicked: TaskError<&str> = TaskError::Panicked(Box::new("boom"));
/// assert_eq!(panicked.to_string(), "task panicked: boom");
/// ```
pub enum TaskError<E> {
    /// The task returned `Err`.
    Failed(E),
    /// The task panicked; this is the panic payload (`std::panic::resume_unwind` re-raises it).
    Panicked(Box<dyn Any + Send + 'static>),
}

/// Future returned by [`TaskGroup::join`].
///
/// # Examples
/// ```
/// use greenloop::task_group::{Join, TaskGroup};
/// greenloop::block_on(async {
///     let group = TaskGroup::<u8, ()>::new();
///     group.spawn(async { Ok(5) });
///     let all: Join<u8, ()> = group.join();
///     assert_eq!(all.await, Ok(vec![5]));
/// });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them; dropping this cancels the group's tasks"]
pub struct Join<T, E> {
    group: TaskGroup<T, E>,
    /// Handles before this one have finished.
    next: usize,
}

struct State<T, E> {
    handles: RefCell<Vec<JoinHandle<()>>>,
    /// The `Ok` outputs, by spawn index.
    outputs: RefCell<Vec<Option<T>>>,
    /// Failures in the order they happened.
    failures: RefCell<Vec<TaskError<E>>>,
    failed: Cell<bool>,
}

// === impl TaskGroup ===

impl<T: 'static, E: 'static> TaskGroup<T, E> {
    /// An empty group.
    ///
    /// # Examples
    /// ```
    /// let group = greenloop::task_group::TaskGroup::<(), ()>::new();
    /// assert_eq!(group.len(), 0);
    /// ```
    pub fn new() -> Self {
        TaskGroup {
            state: Rc::new(State {
                handles: RefCell::new(Vec::new()),
                outputs: RefCell::new(Vec::new()),
                failures: RefCell::new(Vec::new()),
                failed: Cell::new(false),
            }),
        }
    }

    /// Spawns `future` as a task of this group on the current executor.
    ///
    /// The task starts after the spawner yields, like any spawned task. If it returns `Err` or
    /// panics, the failure is recorded and every other task of the group is cancelled. If the group
    /// has already failed, `future` is dropped without running (asyncio refuses the spawn with a
    /// `RuntimeError`).
    ///
    /// # Panics
    /// If called outside a greenloop executor.
    ///
    /// # Examples
    /// ```
    /// use greenloop::task_group::TaskGroup;
    /// greenloop::block_on(async {
    ///     let group = TaskGroup::new();
    ///     group.spawn(async { Ok::<_, ()>("done") });
    ///     assert_eq!(group.len(), 1);
    ///     assert_eq!(group.join().await, Ok(vec!["done"]));
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = Result<T, E>> + 'static,
    {
        if self.state.failed.get() {
            return;
        }
        let index = {
            let mut outputs = self.state.outputs.borrow_mut();
            outputs.push(None);
            outputs.len() - 1
        };
        let state = Rc::clone(&self.state);
        let handle = crate::spawn(async move {
            let failure = match AssertUnwindSafe(future).catch_unwind().await {
                Ok(Ok(output)) => {
                    state.outputs.borrow_mut()[index] = Some(output);
                    return;
                }
                Ok(Err(error)) => TaskError::Failed(error),
                Err(payload) => TaskError::Panicked(payload),
            };
            state.fail(failure, Some(index));
        });
        self.state.handles.borrow_mut().push(handle);
    }

    /// How many tasks were spawned into the group (finished ones included).
    ///
    /// # Examples
    /// ```
    /// use greenloop::task_group::TaskGroup;
    /// greenloop::block_on(async {
    ///     let group = TaskGroup::<(), ()>::new();
    ///     group.spawn(async { Ok(()) });
    ///     group.spawn(async { Ok(()) });
    ///     assert_eq!(group.len(), 2);
    /// #   group.join().await.unwrap();
    /// });
    /// ```
    pub fn len(&self) -> usize {
        self.state.handles.borrow().len()
    }

    /// Whether no task was spawned into the group.
    ///
    /// # Examples
    /// ```
    /// assert!(greenloop::task_group::TaskGroup::<(), ()>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a task of the group failed; its siblings are cancelled and new spawns are dropped.
    ///
    /// # Examples
    /// ```
    /// use greenloop::task_group::TaskGroup;
    /// greenloop::block_on(async {
    ///     let group = TaskGroup::<(), _>::new();
    ///     group.spawn(async { Err("no") });
    ///     assert!(!group.is_failed()); // the task has not run yet
    ///     greenloop::yield_now().await;
    ///     assert!(group.is_failed());
    /// #   group.join().await.unwrap_err();
    /// });
    /// ```
    pub fn is_failed(&self) -> bool {
        self.state.failed.get()
    }

    /// Waits for every task of the group, then returns their outputs in spawn order, or every
    /// failure in the order they happened.
    ///
    /// A task cancelled by the group's first failure is not a failure and contributes no output.
    /// Because a failure cancels the siblings at once, a group usually reports exactly one
    /// failure; a sibling records a second one only if it failed before the cancellation reached it.
    ///
    /// # Errors
    /// Every [`TaskError`] of the group, in the order the failures happened.
    ///
    /// # Cancel safety
    /// Dropping the future drops the group, which cancels its unfinished tasks.
    ///
    /// # Examples
    /// ```
    /// use greenloop::task_group::TaskGroup;
    /// greenloop::block_on(async {
    ///     let group = TaskGroup::<i32, &str>::new();
    ///     group.spawn(async { Ok(1) });
    ///     group.spawn(async { panic!("task failed") });
    ///     group.spawn(async { Err("never runs: cancelled by the panic") });
    ///     let failures = group.join().await.unwrap_err();
    ///     assert_eq!(failures.len(), 1);
    ///     assert!(failures[0].is_panic());
    /// });
    /// ```
    pub fn join(self) -> Join<T, E> {
        Join {
            group: self,
            next: 0,
        }
    }
}

impl<T: 'static, E: 'static> Default for TaskGroup<T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        self.state.cancel(None);
    }
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("tasks", &self.state.handles.borrow().len())
            .field("failures", &self.state.failures.borrow().len())
            .finish()
    }
}

// === impl Join ===

impl<T, E> Future for Join<T, E> {
    type Output = Result<Vec<T>, Vec<TaskError<E>>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let state = &this.group.state;
        loop {
            // Polling a handle runs no task code, so holding this borrow is fine.
            let polled = {
                let mut handles = state.handles.borrow_mut();
                let Some(handle) = handles.get_mut(this.next) else {
                    break;
                };
                Pin::new(handle).poll(cx)
            };
            match polled {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => {}
                // The wrapper catches panics, so this is a cancellation unless something
                // outside the user's future panicked.
                Poll::Ready(Err(error)) if error.is_panic() => {
                    state.fail(TaskError::Panicked(error.into_panic()), Some(this.next));
                }
                Poll::Ready(Err(_cancelled)) => {}
            }
            this.next += 1;
        }
        let failures = std::mem::take(&mut *state.failures.borrow_mut());
        if !failures.is_empty() {
            return Poll::Ready(Err(failures));
        }
        let outputs = std::mem::take(&mut *state.outputs.borrow_mut());
        Poll::Ready(Ok(outputs.into_iter().flatten().collect()))
    }
}

impl<T, E> fmt::Debug for Join<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("group", &self.group)
            .field("finished", &self.next)
            .finish()
    }
}

// === impl TaskError ===

impl<E> TaskError<E> {
    /// Whether the task panicked.
    ///
    /// # Examples
    /// ```
    /// use greenloop::task_group::TaskError;
    /// assert!(!TaskError::Failed("no").is_panic());
    /// assert!(TaskError::<()>::Panicked(Box::new("boom")).is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }
}

impl<E: fmt::Debug> fmt::Debug for TaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(error) => f.debug_tuple("Failed").field(error).finish(),
            TaskError::Panicked(payload) => f
                .debug_tuple("Panicked")
                .field(&panic_message(payload.as_ref()))
                .finish(),
        }
    }
}

/// Failures compare by their errors; a panic equals nothing, not even itself (payloads cannot be
/// compared), as `NaN` does not.
impl<E: PartialEq> PartialEq for TaskError<E> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TaskError::Failed(a), TaskError::Failed(b)) => a == b,
            _ => false,
        }
    }
}

impl<E: fmt::Display> fmt::Display for TaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(error) => write!(f, "task failed: {error}"),
            TaskError::Panicked(payload) => {
                write!(f, "task panicked: {}", panic_message(payload.as_ref()))
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for TaskError<E> {}

// === impl State ===

impl<T, E> State<T, E> {
    /// Records a failure; the first one cancels every task of the group but `failed_index`.
    fn fail(&self, failure: TaskError<E>, failed_index: Option<usize>) {
        self.failures.borrow_mut().push(failure);
        if !self.failed.replace(true) {
            self.cancel(failed_index);
        }
    }

    /// Cancels every task but `except` (a task cannot cancel itself while it runs).
    fn cancel(&self, except: Option<usize>) {
        // Only the shared borrow is held: cancelling drops tasks' futures, and those never touch
        // `handles` (the group's wrappers only borrow `outputs` and `failures`).
        let handles = self.handles.borrow();
        for (index, handle) in handles.iter().enumerate() {
            if Some(index) != except && !handle.is_finished() {
                handle.cancel();
            }
        }
    }
}

// === helpers ===

/// The message of a panic payload, if it is a string.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "Box<dyn Any>"
    }
}
