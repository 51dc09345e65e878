//! The item orders of a [`Queue`]: [`Fifo`], [`Lifo`] and [`Priority`] buffers, and the
//! [`LifoQueue`] and [`PriorityQueue`] handles built on them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::ops::Deref;

use super::Queue;

/// A queue that returns the most recently put item first. asyncio's `LifoQueue`.
///
/// # Examples
/// ```
/// let q = greenloop::sync::LifoQueue::unbounded();
/// for i in 1..=3 {
///     q.try_put(i).unwrap();
/// }
/// assert_eq!(q.try_get(), Ok(3));
/// assert_eq!(q.try_get(), Ok(2));
/// ```
///
/// A `LifoQueue` dereferences to the generic [`Queue<T, Lifo<T>>`](Queue), where every
/// method lives; only the constructors are its own.
pub struct LifoQueue<T>(Queue<T, Lifo<T>>);

/// A queue that returns the smallest item first. asyncio's `PriorityQueue`; put
/// `(priority, data)` tuples, or wrap items in [`Reverse`] for largest first.
///
/// # Examples
/// ```
/// let q = greenloop::sync::PriorityQueue::unbounded();
/// q.try_put((2, "low")).unwrap();
/// q.try_put((1, "high")).unwrap();
/// assert_eq!(q.try_get(), Ok((1, "high")));
/// ```
///
/// A `PriorityQueue` dereferences to the generic [`Queue<T, Priority<T>>`](Queue), where
/// every method lives; only the constructors are its own.
pub struct PriorityQueue<T>(Queue<T, Priority<T>>);

/// The order in which a [`Queue`] returns its items: [`Fifo`], [`Lifo`] or [`Priority`].
///
/// Sealed: implemented only by those three buffers.
///
/// # Examples
/// ```
/// fn drain<T, B: greenloop::sync::Buffer<T>>(q: &greenloop::sync::Queue<T, B>) -> Vec<T> {
///     std::iter::from_fn(|| q.try_get().ok()).collect()
/// }
/// let q = greenloop::sync::LifoQueue::unbounded();
/// q.try_put('a').unwrap();
/// q.try_put('b').unwrap();
/// assert_eq!(drain(&q), ['b', 'a']);
/// ```
pub trait Buffer<T>: sealed::Sealed<T> {}

/// First in, first out: the buffer of [`Queue`].
///
/// # Examples
/// ```
/// let q: greenloop::sync::Queue<u8, greenloop::sync::Fifo<u8>> = greenloop::sync::Queue::unbounded();
/// q.try_put(1).unwrap();
/// q.try_put(2).unwrap();
/// assert_eq!(q.try_get(), Ok(1));
/// ```
#[derive(Debug)]
pub struct Fifo<T>(VecDeque<T>);

/// Last in, first out: the buffer of [`LifoQueue`].
///
/// # Examples
/// ```
/// let q: greenloop::sync::LifoQueue<u8> = greenloop::sync::LifoQueue::unbounded();
/// let _generic: &greenloop::sync::Queue<u8, greenloop::sync::Lifo<u8>> = &q;
/// q.try_put(1).unwrap();
/// q.try_put(2).unwrap();
/// assert_eq!(q.try_get(), Ok(2));
/// ```
#[derive(Debug)]
pub struct Lifo<T>(Vec<T>);

/// Smallest first (a binary min-heap): the buffer of [`PriorityQueue`].
///
/// # Examples
/// ```
/// let q: greenloop::sync::PriorityQueue<u8> = greenloop::sync::PriorityQueue::unbounded();
/// let _generic: &greenloop::sync::Queue<u8, greenloop::sync::Priority<u8>> = &q;
/// q.try_put(5).unwrap();
/// q.try_put(3).unwrap();
/// assert_eq!(q.try_get(), Ok(3));
/// ```
#[derive(Debug)]
pub struct Priority<T>(BinaryHeap<Reverse<T>>);

pub(super) mod sealed {
    /// The buffer operations behind [`Buffer`](super::Buffer).
    pub trait Sealed<T> {
        fn with_capacity(cap: usize) -> Self;
        fn push(&mut self, item: T);
        fn pop(&mut self) -> Option<T>;
        fn len(&self) -> usize;
    }
}

// === impl LifoQueue, PriorityQueue ===

impl<T> LifoQueue<T> {
    /// A LIFO queue holding at most `capacity` items.
    ///
    /// # Panics
    /// If `capacity` is zero.
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::LifoQueue::<u8>::bounded(2);
    /// assert_eq!(q.capacity(), Some(2));
    /// ```
    pub fn bounded(capacity: usize) -> Self {
        Self(Queue::with_kind("LifoQueue", Some(capacity)))
    }

    /// A LIFO queue without a bound.
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::LifoQueue::<u8>::unbounded();
    /// assert!(!q.is_full());
    /// ```
    pub fn unbounded() -> Self {
        Self(Queue::with_kind("LifoQueue", None))
    }
}

impl<T: Ord> PriorityQueue<T> {
    /// A priority queue holding at most `capacity` items.
    ///
    /// # Panics
    /// If `capacity` is zero.
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::PriorityQueue::<u8>::bounded(2);
    /// assert_eq!(q.capacity(), Some(2));
    /// ```
    pub fn bounded(capacity: usize) -> Self {
        Self(Queue::with_kind("PriorityQueue", Some(capacity)))
    }

    /// A priority queue without a bound.
    ///
    /// # Examples
    /// ```
    /// let q = greenloop::sync::PriorityQueue::<u8>::unbounded();
    /// assert!(q.is_empty());
    /// ```
    pub fn unbounded() -> Self {
        Self(Queue::with_kind("PriorityQueue", None))
    }
}

impl<T> Deref for LifoQueue<T> {
    type Target = Queue<T, Lifo<T>>;

    fn deref(&self) -> &Queue<T, Lifo<T>> {
        &self.0
    }
}

impl<T> Clone for LifoQueue<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> fmt::Debug for LifoQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<T> Deref for PriorityQueue<T> {
    type Target = Queue<T, Priority<T>>;

    fn deref(&self) -> &Queue<T, Priority<T>> {
        &self.0
    }
}

impl<T> Clone for PriorityQueue<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> fmt::Debug for PriorityQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

// === impl Buffer ===

impl<T> Buffer<T> for Fifo<T> {}
impl<T> Buffer<T> for Lifo<T> {}
impl<T: Ord> Buffer<T> for Priority<T> {}

impl<T> sealed::Sealed<T> for Fifo<T> {
    fn with_capacity(cap: usize) -> Self {
        Self(VecDeque::with_capacity(cap))
    }
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> sealed::Sealed<T> for Lifo<T> {
    fn with_capacity(cap: usize) -> Self {
        Self(Vec::with_capacity(cap))
    }
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Ord> sealed::Sealed<T> for Priority<T> {
    fn with_capacity(cap: usize) -> Self {
        Self(BinaryHeap::with_capacity(cap))
    }
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(item)| item)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}
