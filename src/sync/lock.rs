//! [`Lock`]: an async mutex, FIFO-fair with strict hand-off, and its RAII [`LockGuard`].
//!
//! A `Lock` is a one-permit [`SemCore`] plus the protected value in a `RefCell`. The
//! permit guarantees that at most one [`LockGuard`] (which holds the `RefMut`) exists, so
//! the `RefCell` borrow never fails.

use std::cell::{RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::semaphore::{RawAcquire, SemCore};

/// An async mutex: [`lock`](Lock::lock) waits until no other task holds the lock and
/// returns a [`LockGuard`] that gives access to the value until it is dropped. asyncio's
/// `Lock`, with the data it protects inside (use `Lock<()>` for a bare lock).
///
/// Why a lock on one thread? A task that holds a `RefCell` borrow cannot keep it across an
/// `.await`, but a read-modify-write that awaits in the middle still needs other tasks kept
/// out until it is done: the lock gives that atomicity across `.await`.
///
/// Fairness: waiters are served in FIFO order with strict hand-off. Dropping the guard hands
/// the lock to the first waiter at once, so no task can barge in, not even the one that just
/// released it (asyncio's lock is fair too but wakes the waiter to re-check, spec §6). The
/// lock is not re-entrant: locking it again from the task that holds it waits forever.
///
/// A `Lock` is a cheap `Clone` handle: clones share the lock and the value. It is `!Send`.
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<greenloop::sync::Lock<()>>();
/// ```
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// use greenloop::sync::Lock;
///
/// let balance = Lock::new(100);
/// {
///     let mut b = balance.lock().await;
///     *b -= 30;
/// } // The guard is dropped: unlocked.
/// assert_eq!(*balance.lock().await, 70);
/// # });
/// ```
pub struct Lock<T> {
    core: Rc<SemCore>,
    value: Rc<RefCell<T>>,
}

/// Access to the value of a [`Lock`]; dropping it unlocks (and hands the lock to the first
/// waiter).
///
/// # Examples
/// ```
/// let lock = greenloop::sync::Lock::new(vec![1]);
/// let mut guard = lock.try_lock().unwrap();
/// guard.push(2);
/// assert_eq!(*guard, [1, 2]);
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a, T> {
    // Field order matters: the `RefMut` is dropped before `Release` hands the lock on.
    value: RefMut<'a, T>,
    release: Release<'a, T>,
}

/// Future returned by [`Lock::lock`].
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let lock = greenloop::sync::Lock::new(1);
/// let fut: greenloop::sync::LockFuture<'_, i32> = lock.lock();
/// assert_eq!(*fut.await, 1);
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct LockFuture<'a, T> {
    lock: &'a Lock<T>,
    raw: RawAcquire<'a>,
}

/// Unlocks on drop.
struct Release<'a, T> {
    lock: &'a Lock<T>,
}

// === impl Lock ===

impl<T> Lock<T> {
    /// A new, unlocked lock protecting `value`.
    ///
    /// # Examples
    /// ```
    /// let lock = greenloop::sync::Lock::new(5);
    /// assert!(!lock.is_locked());
    /// ```
    pub fn new(value: T) -> Self {
        Self {
            core: SemCore::new(1, None, "Lock::lock"),
            value: Rc::new(RefCell::new(value)),
        }
    }

    /// Names the lock in diagnostics (what a blocked task waits on).
    ///
    /// # Examples
    /// ```
    /// let lock = greenloop::sync::Lock::new(()).with_name("accounts");
    /// assert_eq!(lock.name().as_deref(), Some("accounts"));
    /// ```
    pub fn with_name(self, name: impl Into<Box<str>>) -> Self {
        self.core.set_name(name.into());
        self
    }

    /// The name given by [`with_name`](Self::with_name).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::Lock::new(()).name(), None);
    /// ```
    pub fn name(&self) -> Option<String> {
        self.core.name()
    }

    /// Waits until the lock is free, then holds it until the guard is dropped.
    ///
    /// Completes without suspending if the lock is free and nobody waits. Waiters are served
    /// in FIFO order.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes leaves the queue of waiters; if the lock had
    /// already been handed to it, the lock goes to the next waiter (or is unlocked).
    ///
    /// # Examples
    /// ```
    /// # greenloop::block_on(async {
    /// let lock = greenloop::sync::Lock::new(String::from("a"));
    /// lock.lock().await.push('b');
    /// assert_eq!(*lock.lock().await, "ab");
    /// # });
    /// ```
    pub fn lock(&self) -> LockFuture<'_, T> {
        LockFuture {
            lock: self,
            raw: RawAcquire::new(&self.core),
        }
    }

    /// Takes the lock if it is free and nobody waits; never waits.
    ///
    /// # Examples
    /// ```
    /// let lock = greenloop::sync::Lock::new(0);
    /// let guard = lock.try_lock().unwrap();
    /// assert!(lock.try_lock().is_none());
    /// drop(guard);
    /// assert!(lock.try_lock().is_some());
    /// ```
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        self.core.try_acquire().then(|| self.guard())
    }

    /// Whether a task holds the lock (or it was handed to a waiter that has not run yet).
    ///
    /// # Examples
    /// ```
    /// let lock = greenloop::sync::Lock::new(());
    /// let _g = lock.try_lock();
    /// assert!(lock.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.core.is_locked()
    }

    /// Whether `self` and `other` are handles to the same lock.
    pub(crate) fn same_as(&self, other: &Lock<T>) -> bool {
        Rc::ptr_eq(&self.core, &other.core)
    }

    /// Builds the guard once this task owns the permit.
    fn guard(&self) -> LockGuard<'_, T> {
        let value = self
            .value
            .try_borrow_mut()
            .expect("a Lock's permit guarantees exclusive access");
        LockGuard {
            value,
            release: Release { lock: self },
        }
    }
}

impl<T> Clone for Lock<T> {
    fn clone(&self) -> Self {
        Self {
            core: Rc::clone(&self.core),
            value: Rc::clone(&self.value),
        }
    }
}

impl<T: Default> Default for Lock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("name", &self.core.name())
            .field("locked", &self.is_locked())
            .field("waiting", &self.core.waiting())
            .finish()
    }
}

// === impl LockGuard ===

impl<'a, T> LockGuard<'a, T> {
    /// The lock this guard holds.
    pub(crate) fn lock(&self) -> &'a Lock<T> {
        self.release.lock
    }
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for LockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LockGuard").field(&*self.value).finish()
    }
}

impl<T> Drop for Release<'_, T> {
    fn drop(&mut self) {
        self.lock.core.release();
    }
}

// === impl LockFuture ===

impl<'a, T> Future for LockFuture<'a, T> {
    type Output = LockGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        let this = self.get_mut();
        match this.raw.poll(cx) {
            Poll::Ready(()) => Poll::Ready(this.lock.guard()),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for LockFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFuture").finish_non_exhaustive()
    }
}
