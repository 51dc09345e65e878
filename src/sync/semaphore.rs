//! [`Semaphore`] and [`BoundedSemaphore`]: counted permits with FIFO hand-off.
//!
//! The shared core, [`SemCore`], also backs [`Lock`](crate::sync::Lock) (a semaphore of one
//! permit plus the protected value).
//!
//! Hand-off: `release` gives the permit straight to the first waiter (asyncio decrements the
//! value at wake time too, spec §7), so the count stays at zero while anyone waits and a
//! newcomer can never overtake a waiter. A waiter dropped after it was handed a permit
//! releases it again, to the next waiter.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::diag::{self, WaitSource};
use super::waiters::{WaiterId, WaiterList};

/// A counting semaphore: [`acquire`](Semaphore::acquire) waits for one of a number of
/// permits, and dropping the [`Permit`] gives it back. asyncio's `Semaphore`.
///
/// Waiters are served in FIFO order with strict hand-off: a released permit goes to the
/// first waiter, never to a task that has not waited yet. [`release`](Semaphore::release)
/// may add permits beyond the initial count; use [`BoundedSemaphore`] to forbid that.
///
/// A `Semaphore` is a cheap `Clone` handle: clones share the permits. It is `!Send`; use it
/// between tasks of one thread (cross-thread messaging is async-channel's job).
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<greenloop::sync::Semaphore>();
/// ```
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// use greenloop::sync::Semaphore;
///
/// let sem = Semaphore::new(2);
/// let a = sem.acquire().await;
/// let _b = sem.acquire().await;
/// assert!(sem.try_acquire().is_none());
/// drop(a);
/// assert!(sem.try_acquire().is_some());
/// # });
/// ```
#[derive(Clone)]
pub struct Semaphore {
    core: Rc<SemCore>,
}

/// A [`Semaphore`] whose [`release`](BoundedSemaphore::release) refuses to go above the
/// initial number of permits. asyncio's `BoundedSemaphore`.
///
/// A cheap `Clone` handle, `!Send`, like [`Semaphore`].
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<greenloop::sync::BoundedSemaphore>();
/// ```
///
/// # Examples
/// ```
/// use greenloop::sync::BoundedSemaphore;
///
/// let sem = BoundedSemaphore::new(1);
/// assert!(sem.release().is_err()); // Already at its bound.
/// sem.try_acquire().unwrap().forget();
/// assert!(sem.release().is_ok());
/// assert_eq!(sem.available_permits(), 1);
/// ```
#[derive(Clone)]
pub struct BoundedSemaphore {
    core: Rc<SemCore>,
}

/// One permit of a [`Semaphore`] or [`BoundedSemaphore`]; dropping it releases the permit.
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let sem = greenloop::sync::Semaphore::new(1);
/// let permit = sem.acquire().await;
/// assert_eq!(sem.available_permits(), 0);
/// drop(permit);
/// assert_eq!(sem.available_permits(), 1);
/// # });
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
pub struct Permit<'a> {
    core: &'a SemCore,
}

/// Future returned by [`Semaphore::acquire`] and [`BoundedSemaphore::acquire`].
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let sem = greenloop::sync::Semaphore::new(1);
/// let acquire: greenloop::sync::Acquire<'_> = sem.acquire();
/// let _permit = acquire.await;
/// assert!(sem.is_locked());
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Acquire<'a> {
    raw: RawAcquire<'a>,
}

/// Error returned by [`BoundedSemaphore::release`] when every permit is already available.
///
/// # Examples
/// ```
/// let sem = greenloop::sync::BoundedSemaphore::new(3);
/// let err = sem.release().unwrap_err();
/// assert_eq!(err.to_string(), "BoundedSemaphore released too many times");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseError;

/// The state shared by the handles of one semaphore or lock.
#[derive(Debug)]
pub(crate) struct SemCore {
    state: RefCell<SemState>,
}

#[derive(Debug)]
struct SemState {
    /// Available permits. Invariant: non-zero only while no waiter waits.
    permits: usize,
    /// `Some(initial)` for a bounded semaphore.
    bound: Option<usize>,
    waiters: WaiterList,
    /// `Semaphore::acquire`, `BoundedSemaphore::acquire` or `Lock::lock`, for diagnostics.
    op: &'static str,
    name: Option<Box<str>>,
}

/// The acquire state machine shared by [`Acquire`] and `Lock`'s future.
#[derive(Debug)]
pub(crate) struct RawAcquire<'a> {
    core: &'a SemCore,
    id: Option<WaiterId>,
}

// === impl Semaphore ===

impl Semaphore {
    /// A semaphore with `permits` permits.
    ///
    /// # Examples
    /// ```
    /// let sem = greenloop::sync::Semaphore::new(3);
    /// assert_eq!(sem.available_permits(), 3);
    /// ```
    pub fn new(permits: usize) -> Self {
        Self {
            core: SemCore::new(permits, None, "Semaphore::acquire"),
        }
    }

    /// Names the semaphore in diagnostics (what a blocked task waits on).
    ///
    /// # Examples
    /// ```
    /// let sem = greenloop::sync::Semaphore::new(1).with_name("db pool");
    /// assert_eq!(sem.name().as_deref(), Some("db pool"));
    /// ```
    pub fn with_name(self, name: impl Into<Box<str>>) -> Self {
        self.core.set_name(name.into());
        self
    }

    /// The name given by [`with_name`](Self::with_name).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::Semaphore::new(1).name(), None);
    /// ```
    pub fn name(&self) -> Option<String> {
        self.core.name()
    }

    /// Waits for a permit. Waiters are served in FIFO order.
    ///
    /// Completes without suspending if a permit is available and nobody waits.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes loses no permit: if a permit had already
    /// been handed to it, the permit goes to the next waiter (or back to the count).
    ///
    /// # Examples
    /// ```
    /// # greenloop::block_on(async {
    /// let sem = greenloop::sync::Semaphore::new(1);
    /// let permit = sem.acquire().await;
    /// assert_eq!(sem.available_permits(), 0);
    /// # drop(permit);
    /// # });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            raw: RawAcquire::new(&self.core),
        }
    }

    /// Takes a permit if one is available and nobody waits; never waits.
    ///
    /// # Examples
    /// ```
    /// let sem = greenloop::sync::Semaphore::new(1);
    /// let p = sem.try_acquire();
    /// assert!(p.is_some());
    /// assert!(sem.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<Permit<'_>> {
        self.core
            .try_acquire()
            .then_some(Permit { core: &self.core })
    }

    /// Adds one permit, handing it to the first waiter if there is one.
    ///
    /// Unbounded, like asyncio's `Semaphore.release`: the count may exceed its initial value.
    ///
    /// # Examples
    /// ```
    /// let sem = greenloop::sync::Semaphore::new(0);
    /// sem.release();
    /// assert_eq!(sem.available_permits(), 1);
    /// ```
    pub fn release(&self) {
        self.core.release();
    }

    /// Permits available right now (zero while anyone waits).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::Semaphore::new(4).available_permits(), 4);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.core.state.borrow().permits
    }

    /// Whether [`acquire`](Self::acquire) would wait: no permit, or waiters ahead.
    /// asyncio's `locked()`.
    ///
    /// # Examples
    /// ```
    /// let sem = greenloop::sync::Semaphore::new(1);
    /// let _p = sem.try_acquire().unwrap();
    /// assert!(sem.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.core.is_locked()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt_handle("Semaphore", f)
    }
}

// === impl BoundedSemaphore ===

impl BoundedSemaphore {
    /// A bounded semaphore with `permits` permits, which is also its bound.
    ///
    /// # Examples
    /// ```
    /// let sem = greenloop::sync::BoundedSemaphore::new(2);
    /// assert_eq!(sem.available_permits(), 2);
    /// ```
    pub fn new(permits: usize) -> Self {
        Self {
            core: SemCore::new(permits, Some(permits), "BoundedSemaphore::acquire"),
        }
    }

    /// Names the semaphore in diagnostics (what a blocked task waits on).
    ///
    /// # Examples
    /// ```
    /// let sem = greenloop::sync::BoundedSemaphore::new(1).with_name("slots");
    /// assert_eq!(sem.name().as_deref(), Some("slots"));
    /// ```
    pub fn with_name(self, name: impl Into<Box<str>>) -> Self {
        self.core.set_name(name.into());
        self
    }

    /// The name given by [`with_name`](Self::with_name).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::BoundedSemaphore::new(1).name(), None);
    /// ```
    pub fn name(&self) -> Option<String> {
        self.core.name()
    }

    /// Waits for a permit. Waiters are served in FIFO order.
    ///
    /// # Cancel safety
    /// Dropping the future before it completes loses no permit: if a permit had already
    /// been handed to it, the permit goes to the next waiter (or back to the count).
    ///
    /// # Examples
    /// ```
    /// # greenloop::block_on(async {
    /// let sem = greenloop::sync::BoundedSemaphore::new(1);
    /// let permit = sem.acquire().await;
    /// assert!(sem.is_locked());
    /// drop(permit);
    /// assert!(!sem.is_locked());
    /// # });
    /// ```
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            raw: RawAcquire::new(&self.core),
        }
    }

    /// Takes a permit if one is available and nobody waits; never waits.
    ///
    /// # Examples
    /// ```
    /// let sem = greenloop::sync::BoundedSemaphore::new(1);
    /// let _p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<Permit<'_>> {
        self.core
            .try_acquire()
            .then_some(Permit { core: &self.core })
    }

    /// Gives back one permit (for a [`Permit::forget`]-ed one), handing it to the first
    /// waiter if there is one.
    ///
    /// # Errors
    /// [`ReleaseError`] if every permit is already available (asyncio's `ValueError`).
    ///
    /// # Examples
    /// ```
    /// let sem = greenloop::sync::BoundedSemaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.release(), Ok(()));
    /// assert_eq!(sem.release(), Err(greenloop::sync::ReleaseError));
    /// ```
    pub fn release(&self) -> Result<(), ReleaseError> {
        if self.core.release_within_bound() {
            Ok(())
        } else {
            Err(ReleaseError)
        }
    }

    /// Permits available right now (zero while anyone waits).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::BoundedSemaphore::new(2).available_permits(), 2);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.core.state.borrow().permits
    }

    /// The bound: the number of permits the semaphore was created with.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::BoundedSemaphore::new(2).bound(), 2);
    /// ```
    pub fn bound(&self) -> usize {
        self.core.state.borrow().bound.unwrap_or(usize::MAX)
    }

    /// Whether [`acquire`](Self::acquire) would wait: no permit, or waiters ahead.
    ///
    /// # Examples
    /// ```
    /// assert!(!greenloop::sync::BoundedSemaphore::new(1).is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.core.is_locked()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt_handle("BoundedSemaphore", f)
    }
}

// === impl Permit ===

impl Permit<'_> {
    /// Consumes the permit without releasing it: the semaphore keeps one permit fewer.
    ///
    /// # Examples
    /// ```
    /// let sem = greenloop::sync::Semaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        // A bounded semaphore that was `release`d by hand while this permit was out is
        // already full; the permit is then discarded instead of exceeding the bound.
        self.core.release_within_bound();
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

// === impl Acquire ===

impl<'a> Future for Acquire<'a> {
    type Output = Permit<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit<'a>> {
        let this = self.get_mut();
        match this.raw.poll(cx) {
            Poll::Ready(()) => Poll::Ready(Permit {
                core: this.raw.core,
            }),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("waiting", &self.raw.id.is_some())
            .finish()
    }
}

// === impl ReleaseError ===

impl fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoundedSemaphore released too many times")
    }
}

impl std::error::Error for ReleaseError {}

// === impl SemCore ===

impl SemCore {
    pub(crate) fn new(permits: usize, bound: Option<usize>, op: &'static str) -> Rc<Self> {
        let state = SemState {
            permits,
            bound,
            waiters: WaiterList::new(),
            op,
            name: None,
        };
        super::registered(Self {
            state: RefCell::new(state),
        })
    }

    pub(crate) fn set_name(&self, name: Box<str>) {
        self.state.borrow_mut().name = Some(name);
    }

    pub(crate) fn name(&self) -> Option<String> {
        self.state.borrow().name.as_deref().map(str::to_owned)
    }

    /// Takes a permit if one is free; waiters ahead make it fail (no barging).
    pub(crate) fn try_acquire(&self) -> bool {
        let mut st = self.state.borrow_mut();
        // Invariant: permits > 0 implies no waiter, so this check alone is fair.
        if st.permits > 0 {
            debug_assert!(st.waiters.is_empty(), "free permits while tasks wait");
            st.permits -= 1;
            true
        } else {
            false
        }
    }

    /// Releases one permit: to the first waiter, or back to the count.
    pub(crate) fn release(&self) {
        let waker = {
            let mut st = self.state.borrow_mut();
            let waker = st.waiters.notify_first(0);
            if waker.is_none() {
                st.permits += 1;
            }
            waker
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Like [`release`](Self::release) but refuses to exceed the bound; returns whether
    /// the permit was released.
    fn release_within_bound(&self) -> bool {
        {
            let st = self.state.borrow();
            if let Some(bound) = st.bound {
                if st.permits >= bound {
                    return false;
                }
            }
        }
        self.release();
        true
    }

    pub(crate) fn is_locked(&self) -> bool {
        let st = self.state.borrow();
        st.permits == 0 || !st.waiters.is_empty()
    }

    pub(crate) fn waiting(&self) -> usize {
        self.state.borrow().waiters.len()
    }

    fn fmt_handle(&self, ty: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.state.borrow();
        f.debug_struct(ty)
            .field("name", &st.name)
            .field("permits", &st.permits)
            .field("waiting", &st.waiters.len())
            .finish()
    }
}

impl WaitSource for SemCore {
    fn waiting(&self, f: &mut dyn FnMut(&std::task::Waker, &str)) {
        // A primitive mutably borrowed right now (a report taken from inside its own
        // operation) is skipped rather than panicking.
        let Ok(st) = self.state.try_borrow() else {
            return;
        };
        let state = if st.op == "Lock::lock" {
            format!("held, {} waiting", st.waiters.len())
        } else {
            format!("{} permits, {} waiting", st.permits, st.waiters.len())
        };
        let description = diag::describe(st.op, st.name.as_deref(), &state);
        st.waiters.for_each_waiting(|w| f(w, &description));
    }
}

// === impl RawAcquire ===

impl<'a> RawAcquire<'a> {
    pub(crate) fn new(core: &'a SemCore) -> Self {
        Self { core, id: None }
    }

    /// `Ready(())` once this future owns a permit; the caller then wraps it in a guard.
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.core.state.borrow_mut();
        match self.id {
            Some(id) => match st.waiters.poll(id, cx.waker()) {
                Some(_) => {
                    st.waiters.remove(id);
                    self.id = None;
                    Poll::Ready(())
                }
                None => Poll::Pending,
            },
            None if st.permits > 0 => {
                st.permits -= 1;
                Poll::Ready(())
            }
            None => {
                self.id = Some(st.waiters.push(cx.waker()));
                Poll::Pending
            }
        }
    }
}

impl Drop for RawAcquire<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let handed = self.core.state.borrow_mut().waiters.remove(id);
            if handed.is_some() {
                // The permit was ours already: pass it on.
                self.core.release();
            }
        }
    }
}
