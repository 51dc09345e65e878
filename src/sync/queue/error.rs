//! The errors of a [`Queue`](super::Queue); those of put operations hand the item back.

use std::fmt;

#[cfg(doc)]
use super::Queue;

/// Error of [`Queue::try_put`]; hands the item back.
///
/// # Examples
/// ```
/// use greenloop::sync::{Queue, TryPutError};
///
/// let q = Queue::bounded(1);
/// q.try_put(1).unwrap();
/// assert_eq!(q.try_put(2), Err(TryPutError::Full(2)));
/// q.close();
/// assert_eq!(q.try_put(3).unwrap_err().into_inner(), 3);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue is full, or putters are already waiting (asyncio's `QueueFull`).
    Full(T),
    /// The queue is closed (asyncio's `QueueShutDown`).
    Closed(T),
}

/// Error of [`Queue::try_get`].
///
/// # Examples
/// ```
/// use greenloop::sync::{Queue, TryGetError};
///
/// let q = Queue::<u8>::unbounded();
/// assert_eq!(q.try_get(), Err(TryGetError::Empty));
/// q.close();
/// assert_eq!(q.try_get(), Err(TryGetError::Closed));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryGetError {
    /// No item is available (asyncio's `QueueEmpty`).
    Empty,
    /// The queue is closed and drained (asyncio's `QueueShutDown`).
    Closed,
}

/// Error of [`Queue::put`]: the queue is closed. Hands the item back.
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let q = greenloop::sync::Queue::unbounded();
/// q.close();
/// assert_eq!(q.put("late").await, Err(greenloop::sync::PutError("late")));
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PutError<T>(pub T);

/// Error of [`Queue::get`]: the queue is closed and drained (asyncio's `QueueShutDown`).
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let q = greenloop::sync::Queue::<u8>::unbounded();
/// q.close();
/// assert_eq!(q.get().await, Err(greenloop::sync::Closed));
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// Error of [`Queue::task_done`]: called more times than items were put (asyncio's
/// `ValueError`).
///
/// # Examples
/// ```
/// let q = greenloop::sync::Queue::<u8>::unbounded();
/// assert_eq!(q.task_done(), Err(greenloop::sync::TaskDoneError));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

// === impl errors ===

impl<T> TryPutError<T> {
    /// The item that could not be put.
    ///
    /// # Examples
    /// ```
    /// let err = greenloop::sync::TryPutError::Full(5);
    /// assert_eq!(err.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(item) | Self::Closed(item) => item,
        }
    }

    /// Whether the queue was full.
    ///
    /// # Examples
    /// ```
    /// assert!(greenloop::sync::TryPutError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// Whether the queue was closed.
    ///
    /// # Examples
    /// ```
    /// assert!(greenloop::sync::TryPutError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("queue is full"),
            Self::Closed(_) => f.write_str("queue is closed"),
        }
    }
}

impl<T> std::error::Error for TryPutError<T> {}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("queue is empty"),
            Self::Closed => f.write_str("queue is closed"),
        }
    }
}

impl std::error::Error for TryGetError {}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PutError(..)")
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is closed")
    }
}

impl<T> std::error::Error for PutError<T> {}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is closed")
    }
}

impl std::error::Error for Closed {}

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneError {}
