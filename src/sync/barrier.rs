//! [`Barrier`]: a rendezvous of a fixed number of tasks, reusable cycle after cycle.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::diag::{self, WaitSource};
use super::waiters::{WaiterId, WaiterList};

/// Token of a waiter released by `reset` or `abort` rather than by the barrier filling up.
const BROKEN: usize = usize::MAX;

/// A rendezvous point: [`wait`](Barrier::wait) blocks until `parties` tasks are waiting,
/// then releases them all and starts a new cycle. asyncio's `Barrier`.
///
/// `wait` returns the task's arrival index in its cycle, `0..parties`; the last arrival gets
/// `parties - 1` and does not suspend. [`reset`](Barrier::reset) breaks the waits in progress
/// and makes the barrier usable again; [`abort`](Barrier::abort) breaks it until the next
/// `reset`.
///
/// Differences from asyncio (spec §9): when the barrier fills, every waiter is handed its
/// index at once, so the next cycle starts immediately instead of after a "draining" phase,
/// and `reset`/`abort` cannot break a wait that has already been released. Indices count
/// the waiters still present when the barrier fills (a dropped waiter leaves no gap), so they
/// are always distinct.
///
/// A `Barrier` is a cheap `Clone` handle. It is `!Send`.
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<greenloop::sync::Barrier>();
/// ```
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// use greenloop::sync::Barrier;
///
/// let barrier = Barrier::new(3);
/// let (a, b, c) = futures::join!(barrier.wait(), barrier.wait(), barrier.wait());
/// let mut indices = [a?, b?, c?];
/// indices.sort();
/// assert_eq!(indices, [0, 1, 2]);
/// # Ok::<(), greenloop::sync::BrokenBarrier>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Barrier {
    core: Rc<BarrierCore>,
}

/// Future returned by [`Barrier::wait`].
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let barrier = greenloop::sync::Barrier::new(1);
/// let wait: greenloop::sync::BarrierWait<'_> = barrier.wait();
/// assert_eq!(wait.await, Ok(0));
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct BarrierWait<'a> {
    core: &'a BarrierCore,
    id: Option<WaiterId>,
}

/// Error of [`Barrier::wait`]: the barrier was reset or aborted. asyncio's
/// `BrokenBarrierError`.
///
/// # Examples
/// ```
/// # greenloop::block_on(async {
/// let barrier = greenloop::sync::Barrier::new(2);
/// barrier.abort();
/// let err = barrier.wait().await.unwrap_err();
/// assert_eq!(err.to_string(), "barrier is broken");
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrier;

#[derive(Debug)]
struct BarrierCore {
    state: RefCell<BarrierState>,
}

#[derive(Debug)]
struct BarrierState {
    parties: usize,
    broken: bool,
    waiters: WaiterList,
    name: Option<Box<str>>,
}

// === impl Barrier ===

impl Barrier {
    /// A barrier for `parties` tasks.
    ///
    /// # Panics
    /// If `parties` is zero (asyncio's `ValueError`).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::Barrier::new(4).parties(), 4);
    /// ```
    pub fn new(parties: usize) -> Self {
        assert!(parties > 0, "a Barrier needs at least one party");
        let state = BarrierState {
            parties,
            broken: false,
            waiters: WaiterList::new(),
            name: None,
        };
        Self {
            core: super::registered(BarrierCore {
                state: RefCell::new(state),
            }),
        }
    }

    /// Names the barrier in diagnostics (what a blocked task waits on).
    ///
    /// # Examples
    /// ```
    /// let b = greenloop::sync::Barrier::new(2).with_name("start line");
    /// assert_eq!(b.name().as_deref(), Some("start line"));
    /// ```
    pub fn with_name(self, name: impl Into<Box<str>>) -> Self {
        self.core.state.borrow_mut().name = Some(name.into());
        self
    }

    /// The name given by [`with_name`](Self::with_name).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::Barrier::new(1).name(), None);
    /// ```
    pub fn name(&self) -> Option<String> {
        self.core.state.borrow().name.as_deref().map(str::to_owned)
    }

    /// Waits until `parties` tasks wait, and returns this task's arrival index.
    ///
    /// Waiters are released in arrival order and get indices `0..parties` in that order.
    ///
    /// # Cancel safety
    /// Dropping the future before the barrier fills withdraws the arrival: the barrier then
    /// needs one more task. Dropping it after the barrier filled only discards the index.
    ///
    /// # Errors
    /// [`BrokenBarrier`] if the barrier is broken, or is reset or aborted while waiting.
    ///
    /// # Examples
    /// ```
    /// # greenloop::block_on(async {
    /// let barrier = greenloop::sync::Barrier::new(2);
    /// let (a, b) = futures::join!(barrier.wait(), barrier.wait());
    /// assert_eq!((a, b), (Ok(0), Ok(1)));
    /// # });
    /// ```
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            core: &self.core,
            id: None,
        }
    }

    /// Breaks the waits in progress (they fail with [`BrokenBarrier`]) and makes the
    /// barrier usable again, empty, for a new cycle. Also repairs an aborted barrier.
    ///
    /// # Examples
    /// ```
    /// let b = greenloop::sync::Barrier::new(2);
    /// b.abort();
    /// b.reset();
    /// assert!(!b.is_broken());
    /// ```
    pub fn reset(&self) {
        self.core.break_waiters();
        self.core.state.borrow_mut().broken = false;
    }

    /// Breaks the barrier: current and future waits fail with [`BrokenBarrier`] until
    /// [`reset`](Self::reset).
    ///
    /// # Examples
    /// ```
    /// let b = greenloop::sync::Barrier::new(2);
    /// b.abort();
    /// assert!(b.is_broken());
    /// ```
    pub fn abort(&self) {
        self.core.state.borrow_mut().broken = true;
        self.core.break_waiters();
    }

    /// Number of tasks in [`wait`](Self::wait) in the current cycle.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::Barrier::new(2).n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.core.state.borrow().waiters.len()
    }

    /// Number of tasks needed to pass the barrier.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(greenloop::sync::Barrier::new(3).parties(), 3);
    /// ```
    pub fn parties(&self) -> usize {
        self.core.state.borrow().parties
    }

    /// Whether the barrier is broken (aborted and not yet reset).
    ///
    /// # Examples
    /// ```
    /// assert!(!greenloop::sync::Barrier::new(1).is_broken());
    /// ```
    pub fn is_broken(&self) -> bool {
        self.core.state.borrow().broken
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.core.state.borrow();
        f.debug_struct("Barrier")
            .field("name", &st.name)
            .field("parties", &st.parties)
            .field("waiting", &st.waiters.len())
            .field("broken", &st.broken)
            .finish()
    }
}

// === impl BarrierCore ===

impl BarrierCore {
    /// Releases every current waiter with `BROKEN`.
    fn break_waiters(&self) {
        let n = self.state.borrow().waiters.len();
        self.notify(n, |_| BROKEN);
    }

    /// Notifies the first `n` waiters, the `i`-th with `token(i)`, waking outside the borrow.
    fn notify(&self, n: usize, token: impl Fn(usize) -> usize) {
        for i in 0..n {
            let waker = self.state.borrow_mut().waiters.notify_first(token(i));
            match waker {
                Some(waker) => waker.wake(),
                None => break,
            }
        }
    }
}

impl WaitSource for BarrierCore {
    fn waiting(&self, f: &mut dyn FnMut(&std::task::Waker, &str)) {
        // A primitive mutably borrowed right now (a report taken from inside its own
        // operation) is skipped rather than panicking.
        let Ok(st) = self.state.try_borrow() else {
            return;
        };
        let state = format!("{}/{} arrived", st.waiters.len(), st.parties);
        let description = diag::describe("Barrier::wait", st.name.as_deref(), &state);
        st.waiters.for_each_waiting(|w| f(w, &description));
    }
}

// === impl BarrierWait ===

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BrokenBarrier>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let mut st = this.core.state.borrow_mut();
        if let Some(id) = this.id {
            return match st.waiters.poll(id, cx.waker()) {
                Some(token) => {
                    st.waiters.remove(id);
                    this.id = None;
                    Poll::Ready(if token == BROKEN {
                        Err(BrokenBarrier)
                    } else {
                        Ok(token)
                    })
                }
                None => Poll::Pending,
            };
        }
        if st.broken {
            return Poll::Ready(Err(BrokenBarrier));
        }
        let arrived = st.waiters.len();
        if arrived + 1 < st.parties {
            this.id = Some(st.waiters.push(cx.waker()));
            return Poll::Pending;
        }
        // The last arrival: release the others with their indices, in arrival order.
        drop(st);
        this.core.notify(arrived, |i| i);
        Poll::Ready(Ok(arrived))
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.core.state.borrow_mut().waiters.remove(id);
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait")
            .field("waiting", &self.id.is_some())
            .finish()
    }
}

// === impl BrokenBarrier ===

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier is broken")
    }
}

impl std::error::Error for BrokenBarrier {}
