//! [`Condition`]: tasks wait, with a [`Lock`] released, until another task notifies them.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::diag::{self, WaitSource};
use super::lock::{Lock, LockFuture, LockGuard};
use super::waiters::{WaiterId, WaiterList};

/// A condition variable tied to a [`Lock`]: [`wait`](Condition::wait) releases the lock,
/// waits for [`notify`](Condition::notify), and locks again before returning. asyncio's
/// `Condition`.
///
/// Waiters are notified in FIFO order; a notified waiter then queues for the lock like any
/// other task, so it runs only after the notifier has unlocked. There are no spurious
/// wake-ups, but another task may change the value between the notification and the
/// re-lock, so check the condition in a loop, or use [`wait_for`](Condition::wait_for).
///
/// Differences from asyncio (spec §8): `wait` takes the [`LockGuard`] and gives it back, so
/// "the lock must be held" is checked by the type system (a guard of another lock panics);
/// `notify` does not require the lock, since on one thread no notification can slip in
/// between a task's check and its `wait`; a dropped `wait` leaves the lock unlocked, where
/// asyncio would re-acquire it before raising `CancelledError`.
///
/// A `Condition` is a cheap `Clone` handle over the shared lock and waiter list. It is
/// `!Send`.
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<greenloop::sync::Condition<()>>();
/// ```
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// use greenloop::sync::Condition;
///
/// let cond = Condition::new(Vec::new());
/// let consumer = async {
///     let guard = cond.lock().await;
///     let mut guard = cond.wait_for(guard, |v| !v.is_empty()).await;
///     guard.pop()
/// };
/// let producer = async {
///     cond.lock().await.push(42);
///     cond.notify(1);
/// };
/// let (item, ()) = futures::join!(consumer, producer);
/// assert_eq!(item, Some(42));
/// # });
/// ```
pub struct Condition<T> {
    lock: Lock<T>,
    core: Rc<CondCore>,
}

/// Future returned by [`Condition::wait`].
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let cond = greenloop::sync::Condition::new(0);
/// let guard = cond.lock().await;
/// let wait: greenloop::sync::Wait<'_, i32> = cond.wait(guard);
/// let notifier = async { cond.notify_all() };
/// let (guard, ()) = futures::join!(wait, notifier);
/// assert_eq!(*guard, 0);
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Wait<'a, T> {
    cond: &'a Condition<T>,
    state: WaitState<'a, T>,
}

/// Future returned by [`Condition::wait_for`].
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let cond = greenloop::sync::Condition::new(3);
/// let guard = cond.lock().await;
/// // The predicate already holds: no wait.
/// let guard = cond.wait_for(guard, |n| *n == 3).await;
/// assert_eq!(*guard, 3);
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WaitFor<'a, T, F> {
    cond: &'a Condition<T>,
    predicate: F,
    state: WaitForState<'a, T>,
}

enum WaitState<'a, T> {
    /// Not polled yet; holds the caller's guard.
    Start(LockGuard<'a, T>),
    /// Lock released, parked on the condition's waiter list.
    Waiting(WaiterId),
    /// Notified; queued for the lock.
    Relocking(LockFuture<'a, T>),
    Done,
}

enum WaitForState<'a, T> {
    Check(LockGuard<'a, T>),
    Waiting(Wait<'a, T>),
    Done,
}

#[derive(Debug)]
struct CondCore {
    state: RefCell<CondState>,
}

#[derive(Debug)]
struct CondState {
    waiters: WaiterList,
    name: Option<Box<str>>,
}

// === impl Condition ===

impl<T> Condition<T> {
    /// A condition with a new [`Lock`] protecting `value`.
    ///
    /// # Examples
    /// ```
    /// let cond = greenloop::sync::Condition::new(0u8);
    /// assert!(!cond.as_lock().is_locked());
    /// ```
    pub fn new(value: T) -> Self {
        Self::with_lock(Lock::new(value))
    }

    /// A condition tied to an existing lock (asyncio's `Condition(lock)`).
    ///
    /// # Examples
    /// ```
    /// let lock = greenloop::sync::Lock::new(1);
    /// let cond = greenloop::sync::Condition::with_lock(lock.clone());
    /// let _guard = lock.try_lock().unwrap();
    /// assert!(cond.as_lock().is_locked());
    /// ```
    pub fn with_lock(lock: Lock<T>) -> Self {
        let state = CondState {
            waiters: WaiterList::new(),
            name: None,
        };
        Self {
            lock,
            core: super::registered(CondCore {
                state: RefCell::new(state),
            }),
        }
    }

    /// Names the condition in diagnostics (what a blocked task waits on).
    ///
    /// # Examples
    /// ```
    /// let cond = greenloop::sync::Condition::new(()).with_name("not empty");
    /// assert_eq!(cond.name().as_deref(), Some("not empty"));
    /// ```
    pub fn with_name(self, name: impl Into<Box<str>>) -> Self {
        self.core.state.borrow_mut().name = Some(name.into());
        self
    }

    /// The name given by [`with_name`](Self::with_name).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::Condition::new(()).name(), None);
    /// ```
    pub fn name(&self) -> Option<String> {
        self.core.state.borrow().name.as_deref().map(str::to_owned)
    }

    /// The lock this condition is tied to.
    ///
    /// # Examples
    /// ```
    /// let cond = greenloop::sync::Condition::new(5);
    /// assert_eq!(*cond.as_lock().try_lock().unwrap(), 5);
    /// ```
    pub fn as_lock(&self) -> &Lock<T> {
        &self.lock
    }

    /// Locks the condition's lock; same as `as_lock().lock()`.
    ///
    /// # Cancel safety
    /// As [`Lock::lock`]: dropping the future passes a lock already handed to it on.
    ///
    /// # Examples
    /// ```
    /// # greenloop::block_on(async {
    /// let cond = greenloop::sync::Condition::new(1);
    /// *cond.lock().await += 1;
    /// assert_eq!(*cond.lock().await, 2);
    /// # });
    /// ```
    pub fn lock(&self) -> LockFuture<'_, T> {
        self.lock.lock()
    }

    /// Releases the lock held by `guard`, waits until notified, then locks again and
    /// returns the new guard.
    ///
    /// The lock is released when the future is first polled, after the task has joined the
    /// waiter list, so a `notify` from the task that takes the lock next is never missed.
    ///
    /// # Cancel safety
    /// Dropping the future loses no notification: if it had been notified (even if it was
    /// already waiting to re-lock) the notification passes to the next waiter. The lock is
    /// left unlocked (or passed on), not re-acquired as asyncio would.
    ///
    /// # Panics
    /// When polled, if `guard` belongs to a different lock than this condition's.
    ///
    /// # Examples
    /// ```
    /// # greenloop::block_on(async {
    /// let cond = greenloop::sync::Condition::new(false);
    /// let waiter = async {
    ///     let mut guard = cond.lock().await;
    ///     while !*guard {
    ///         guard = cond.wait(guard).await;
    ///     }
    ///     "done"
    /// };
    /// let setter = async {
    ///     *cond.lock().await = true;
    ///     cond.notify_all();
    /// };
    /// assert_eq!(futures::join!(waiter, setter).0, "done");
    /// # });
    /// ```
    pub fn wait<'a>(&'a self, guard: LockGuard<'a, T>) -> Wait<'a, T> {
        Wait {
            cond: self,
            state: WaitState::Start(guard),
        }
    }

    /// Waits until `predicate` returns `true` for the protected value, checking it first
    /// and again after each notification, always with the lock held. Returns the guard.
    ///
    /// asyncio returns the predicate's value; here the caller keeps the guard and can read
    /// whatever the predicate looked at.
    ///
    /// # Cancel safety
    /// As [`wait`](Self::wait): no notification is lost, and the lock is left unlocked.
    ///
    /// # Panics
    /// When polled, if `guard` belongs to a different lock than this condition's.
    ///
    /// # Examples
    /// ```
    /// # greenloop::block_on(async {
    /// let cond = greenloop::sync::Condition::new(0);
    /// let waiter = async {
    ///     let guard = cond.lock().await;
    ///     *cond.wait_for(guard, |n| *n >= 2).await
    /// };
    /// let bumper = async {
    ///     for _ in 0..2 {
    ///         *cond.lock().await += 1;
    ///         cond.notify(1);
    ///         greenloop::yield_now().await; // Let the waiter check.
    ///     }
    /// };
    /// assert_eq!(futures::join!(waiter, bumper).0, 2);
    /// # });
    /// ```
    pub fn wait_for<'a, F>(&'a self, guard: LockGuard<'a, T>, predicate: F) -> WaitFor<'a, T, F>
    where
        F: FnMut(&T) -> bool,
    {
        WaitFor {
            cond: self,
            predicate,
            state: WaitForState::Check(guard),
        }
    }

    /// Wakes up to `n` waiters, in FIFO order, that have not been notified yet.
    ///
    /// # Examples
    /// ```
    /// let cond = greenloop::sync::Condition::new(());
    /// cond.notify(3); // Nobody waits: nothing happens, nothing is remembered.
    /// assert_eq!(cond.n_waiting(), 0);
    /// ```
    pub fn notify(&self, n: usize) {
        self.core.notify(n);
    }

    /// Wakes every waiter.
    ///
    /// # Examples
    /// ```
    /// let cond = greenloop::sync::Condition::new(());
    /// cond.notify_all();
    /// assert_eq!(cond.n_waiting(), 0);
    /// ```
    pub fn notify_all(&self) {
        let n = self.core.state.borrow().waiters.len();
        self.core.notify(n);
    }

    /// Number of tasks waiting for a notification.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::Condition::new(()).n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.core.state.borrow().waiters.len()
    }
}

impl<T> Clone for Condition<T> {
    fn clone(&self) -> Self {
        Self {
            lock: self.lock.clone(),
            core: Rc::clone(&self.core),
        }
    }
}

impl<T> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.core.state.borrow();
        f.debug_struct("Condition")
            .field("name", &st.name)
            .field("lock", &self.lock)
            .field("waiting", &st.waiters.len())
            .finish()
    }
}

// === impl CondCore ===

impl CondCore {
    fn notify(&self, n: usize) {
        for _ in 0..n {
            let waker = self.state.borrow_mut().waiters.notify_first(0);
            match waker {
                Some(waker) => waker.wake(),
                None => break,
            }
        }
    }
}

impl WaitSource for CondCore {
    fn waiting(&self, f: &mut dyn FnMut(&std::task::Waker, &str)) {
        // A primitive mutably borrowed right now (a report taken from inside its own
        // operation) is skipped rather than panicking.
        let Ok(st) = self.state.try_borrow() else {
            return;
        };
        let description = diag::describe("Condition::wait", st.name.as_deref(), "");
        st.waiters.for_each_waiting(|w| f(w, &description));
    }
}

// === impl Wait ===

impl<'a, T> Future for Wait<'a, T> {
    type Output = LockGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        let this = self.get_mut();
        let core = &this.cond.core;
        loop {
            match std::mem::replace(&mut this.state, WaitState::Done) {
                WaitState::Start(guard) => {
                    assert!(
                        guard.lock().same_as(&this.cond.lock),
                        "Condition::wait was given a guard of another lock"
                    );
                    let id = core.state.borrow_mut().waiters.push(cx.waker());
                    this.state = WaitState::Waiting(id);
                    // Unlock only after joining the list, outside the condition's borrow.
                    drop(guard);
                    return Poll::Pending;
                }
                WaitState::Waiting(id) => {
                    let mut st = core.state.borrow_mut();
                    if st.waiters.poll(id, cx.waker()).is_none() {
                        this.state = WaitState::Waiting(id);
                        return Poll::Pending;
                    }
                    st.waiters.remove(id);
                    drop(st);
                    this.state = WaitState::Relocking(this.cond.lock.lock());
                }
                WaitState::Relocking(mut fut) => match Pin::new(&mut fut).poll(cx) {
                    Poll::Ready(guard) => return Poll::Ready(guard),
                    Poll::Pending => {
                        this.state = WaitState::Relocking(fut);
                        return Poll::Pending;
                    }
                },
                WaitState::Done => panic!("Condition::wait polled after completion"),
            }
        }
    }
}

impl<T> Drop for Wait<'_, T> {
    fn drop(&mut self) {
        let notified = match &self.state {
            WaitState::Waiting(id) => self
                .cond
                .core
                .state
                .borrow_mut()
                .waiters
                .remove(*id)
                .is_some(),
            // The notification was consumed by this future; the task will never use it.
            WaitState::Relocking(_) => true,
            WaitState::Start(_) | WaitState::Done => false,
        };
        if notified {
            self.cond.core.notify(1);
        }
    }
}

impl<T> fmt::Debug for Wait<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            WaitState::Start(_) => "start",
            WaitState::Waiting(_) => "waiting",
            WaitState::Relocking(_) => "relocking",
            WaitState::Done => "done",
        };
        f.debug_struct("Wait").field("state", &state).finish()
    }
}

// === impl WaitFor ===

// `predicate` is never pinned (it is only called through `&mut`), so `WaitFor` may move.
impl<T, F> Unpin for WaitFor<'_, T, F> {}

impl<'a, T, F: FnMut(&T) -> bool> Future for WaitFor<'a, T, F> {
    type Output = LockGuard<'a, T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, WaitForState::Done) {
                WaitForState::Check(guard) => {
                    if (this.predicate)(&guard) {
                        return Poll::Ready(guard);
                    }
                    this.state = WaitForState::Waiting(this.cond.wait(guard));
                }
                WaitForState::Waiting(mut wait) => match Pin::new(&mut wait).poll(cx) {
                    Poll::Ready(guard) => this.state = WaitForState::Check(guard),
                    Poll::Pending => {
                        this.state = WaitForState::Waiting(wait);
                        return Poll::Pending;
                    }
                },
                WaitForState::Done => panic!("Condition::wait_for polled after completion"),
            }
        }
    }
}

impl<T, F> fmt::Debug for WaitFor<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            WaitForState::Check(_) => "check",
            WaitForState::Waiting(_) => "waiting",
            WaitForState::Done => "done",
        };
        f.debug_struct("WaitFor").field("state", &state).finish()
    }
}
