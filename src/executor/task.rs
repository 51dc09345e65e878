//! The user's side of a task: [`JoinHandle`], [`JoinError`], [`TaskId`].
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::Core;
use super::raw::Header;
use super::state::Cancel;

/// A task's id: unique among the tasks of one executor, in spawn order from 1.
///
/// # Examples
/// ```
/// greenloop::block_on(async {
///     let a = greenloop::spawn(async {});
///     let b = greenloop::spawn(async {});
///     assert!(a.id() < b.id());
///     assert_eq!(b.id().to_string(), format!("{}", b.id().as_u64()));
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Handle to a spawned task; awaiting it gives the task's output.
///
/// - Awaiting gives `Ok(output)`, or `Err(JoinError)` if the task panicked or was cancelled.
///   A panic inside a task never unwinds into the executor or into other tasks: it is caught
///   and handed to whoever awaits this handle, who may re-raise it with
///   [`JoinError::into_panic`] and [`std::panic::resume_unwind`].
/// - Dropping the handle **detaches** the task: it runs on, and its output is dropped
///   (asyncio's `create_task`; tokio's `JoinHandle`). Cancel explicitly with [`cancel`](Self::cancel).
/// - Not `Send`: it belongs to the executor's thread, like the task.
///
/// # Examples
/// ```
/// greenloop::block_on(async {
///     let handle = greenloop::spawn(async { 6 * 7 });
///     assert_eq!(handle.await.unwrap(), 42);
///
///     let boom = greenloop::spawn(async { panic!("boom") });
///     let error = boom.await.unwrap_err();
///     assert!(error.is_panic());
/// });
/// ```
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// greenloop::block_on(async {
///     assert_send(greenloop::spawn(async {}));
/// });
/// ```
pub struct JoinHandle<T> {
    task: NonNull<Header>,
    /// `!Send`/`!Sync` (owner thread only, I3), and the output type.
    _marker: PhantomData<NotSendOutput<T>>,
}

/// `Rc` makes the handle `!Send`; `fn() -> T` carries the output type without owning one.
type NotSendOutput<T> = (Rc<()>, fn() -> T);

impl<T> JoinHandle<T> {
    /// Takes over the handle's share of the owner side's reference to `task` (I2): the
    /// state's `HANDLE` bit, which a new task has.
    pub(crate) fn new(task: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle {
            task,
            _marker: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: while the handle exists (`HANDLE`), the owner side's reference is not given
        // up (I2), so the task is alive.
        unsafe { self.task.as_ref() }
    }

    /// Cancels the task: its future is dropped now, at the await point where it is suspended
    /// (its destructors run), and awaiting this handle gives `Err` with
    /// [`is_cancelled`](JoinError::is_cancelled). A task that cancels itself keeps running
    /// until its current poll returns. Does nothing if the task already finished.
    ///
    /// asyncio's `Task.cancel()` raises `CancelledError` inside the task, which may catch it;
    /// in Rust, dropping the future is the cancellation and cannot be refused.
    ///
    /// # Examples
    /// ```
    /// greenloop::block_on(async {
    ///     let handle = greenloop::spawn(std::future::pending::<()>());
    ///     handle.cancel();
    ///     assert!(handle.is_finished());
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn cancel(&self) {
        let header = self.header();
        match header.state.cancel() {
            Cancel::Nothing | Cancel::Deferred => {}
            Cancel::Now => {
                // The future's destructor may drop the executor: the guard keeps the `Core`
                // alive and runs the shutdown once the cancel is done (I10).
                // SAFETY: owner thread (a JoinHandle is !Send); the owner side's reference,
                // not given up while the handle exists, keeps the task alive (I2).
                let guard = unsafe { CancelGuard::of(self.task) };
                // The task is not complete, so its executor is alive (I10).
                debug_assert!(guard.is_some(), "an unfinished task outlived its executor");
                if let Some(guard) = guard {
                    // SAFETY: owner thread; not RUNNING and not COMPLETE (checked by
                    // `State::cancel`, I6); the handle keeps the task alive (above).
                    unsafe { guard.core.cancel(self.task) };
                }
            }
        }
    }

    /// Whether the task has finished: returned, panicked or was cancelled.
    ///
    /// # Examples
    /// ```
    /// greenloop::block_on(async {
    ///     let handle = greenloop::spawn(async {});
    ///     assert!(!handle.is_finished(), "a spawned task waits for its spawner to yield");
    ///     greenloop::yield_now().await;
    ///     assert!(handle.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.header().state.is_complete()
    }

    /// The task's id.
    ///
    /// # Examples
    /// ```
    /// greenloop::block_on(async {
    ///     let handle = greenloop::spawn(async { greenloop::task::id() });
    ///     let id = handle.id();
    ///     assert_eq!(handle.await.unwrap(), Some(id));
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.header().id()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let header = self.header();
        if header.state.is_complete() {
            // SAFETY: owner thread (!Send handle, I3) and COMPLETE (I5); `T` is the output type
            // of the future the vtable was built for, because `spawn` returned this handle as
            // `JoinHandle<F::Output>` (I1).
            return match unsafe { Header::take_output::<T>(self.task) } {
                Some(result) => Poll::Ready(result),
                None => panic!("JoinHandle polled again after it returned the task's output"),
            };
        }
        // Owner thread (!Send handle, I3).
        if !header.join.will_wake(cx.waker()) {
            // A foreign waker's clone and drop are user code: they run outside the slot.
            let new = cx.waker().clone();
            let old = header.join.replace(new);
            drop(old);
        }
        Poll::Pending
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let header = self.header();
        // Owner thread (I3); see `poll`.
        let waker = header.join.take();
        drop(waker);
        let dropped = header.state.drop_handle();
        if dropped.drop_output {
            // SAFETY: owner thread, complete: an output not yet taken is dropped here (I5).
            // Alive: if the executor has let go, the owner side's reference is the handle's
            // until the drop_refs below; if not, the executor still holds it (the task was
            // cancelled while queued, I4), and nothing here can make it let go: the stage
            // holds only that cancel's `JoinError`, whose drop runs no user code.
            unsafe { Header::drop_stage(self.task) };
        }
        if dropped.drop_refs > 0 {
            // SAFETY: the executor has let go and the handle goes now: the owner side gives
            // up its reference and the deferred ones (I2); may free the task.
            unsafe { Header::drop_refs(self.task, dropped.drop_refs) };
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header = self.header();
        f.debug_struct("JoinHandle")
            .field("id", &header.id())
            .field("state", &header.state.describe())
            .finish()
    }
}

/// Held by `JoinHandle::cancel` while it drops a future, whose destructor may drop the
/// executor (from host code, where nothing borrows it): keeps the `Core` alive, and runs the
/// shutdown that `Executor::drop` left to it once the last cancel is done (I10).
struct CancelGuard {
    core: Rc<Core>,
}

impl CancelGuard {
    /// A guard on the executor of `task`, or `None` if it is gone.
    ///
    /// The `Rc` is rebuilt from the raw `Shared::owner_core` pointer itself, never from a
    /// `&Core`: a reference covers only the `Core`, and under Stacked Borrows a pointer derived
    /// from it may not reach the `Rc`'s counts in front of it.
    ///
    /// # Safety
    /// Owner thread; the caller holds a reference to `task` (I2).
    unsafe fn of(task: NonNull<Header>) -> Option<CancelGuard> {
        // SAFETY: alive per the caller, so its `Shared` is (I14).
        let ptr = unsafe { Header::shared(task) }.owner_core();
        if ptr.is_null() {
            return None;
        }
        // SAFETY: non-null, so it is `Rc::as_ptr` of the executor's live `Rc<Core>` (I9; owner
        // thread), with that allocation's provenance. This `Rc` is borrowed (never dropped);
        // its clone, one more strong count, keeps the `Core` alive until this guard drops.
        let executors = std::mem::ManuallyDrop::new(unsafe { Rc::from_raw(ptr) });
        let core = Rc::clone(&executors);
        core.cancels.set(core.cancels.get() + 1);
        Some(CancelGuard { core })
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        let core = &self.core;
        core.cancels.set(core.cancels.get() - 1);
        if core.cancels.get() == 0 && core.shutdown_deferred.replace(false) {
            core.shut_down();
        }
    }
}

/// Why a task produced no output: it panicked, or it was cancelled.
///
/// Its `Display` names the task (id, name, spawn location) and, for a panic, the message.
///
/// # Examples
/// ```
/// greenloop::block_on(async {
///     let handle = greenloop::task::Builder::new()
///         .name("worker")
///         .spawn(async { panic!("out of coffee") });
///     let error = handle.await.unwrap_err();
///     assert!(error.is_panic() && !error.is_cancelled());
///     assert_eq!(error.name(), Some("worker"));
///     assert!(error.to_string().contains("out of coffee"));
///     let payload = error.into_panic();
///     assert_eq!(payload.downcast_ref::<&str>(), Some(&"out of coffee"));
/// });
/// ```
pub struct JoinError {
    /// Boxed so that a task's output slot stays small (the cell holds `Result<T, JoinError>`).
    inner: Box<Inner>,
}

struct Inner {
    id: TaskId,
    name: Option<String>,
    location: &'static Location<'static>,
    kind: Kind,
}

enum Kind {
    Cancelled,
    Panicked(Box<dyn Any + Send + 'static>),
}

impl JoinError {
    /// # Safety
    /// As [`JoinError::new`].
    pub(crate) unsafe fn cancelled(task: NonNull<Header>) -> JoinError {
        // SAFETY: per the caller.
        unsafe { JoinError::new(task, Kind::Cancelled) }
    }

    /// # Safety
    /// As [`JoinError::new`].
    pub(crate) unsafe fn panicked(
        task: NonNull<Header>,
        payload: Box<dyn Any + Send>,
    ) -> JoinError {
        // SAFETY: per the caller.
        unsafe { JoinError::new(task, Kind::Panicked(payload)) }
    }

    /// # Safety
    /// Owner thread, while the task's executor exists (a poll or cancel of the task); the
    /// caller holds a reference to `task` (I2).
    unsafe fn new(task: NonNull<Header>, kind: Kind) -> JoinError {
        // SAFETY: alive per the caller; owner thread (I3).
        let header = unsafe { task.as_ref() };
        // SAFETY: per the caller; the borrow ends in this function.
        let core =
            unsafe { Core::of(task) }.expect("a task is polled or cancelled by its executor");
        let name = match header.state.is_named() {
            true => core.name(header.id()),
            false => None,
        };
        JoinError {
            inner: Box::new(Inner {
                id: header.id(),
                name,
                location: core.location(header),
                kind,
            }),
        }
    }

    /// Whether the task was cancelled.
    ///
    /// # Examples
    /// ```
    /// greenloop::block_on(async {
    ///     let handle = greenloop::spawn(std::future::pending::<()>());
    ///     handle.cancel();
    ///     assert!(handle.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.inner.kind, Kind::Cancelled)
    }

    /// Whether the task panicked.
    ///
    /// # Examples
    /// ```
    /// greenloop::block_on(async {
    ///     let handle = greenloop::spawn(async { panic!("boom") });
    ///     assert!(handle.await.unwrap_err().is_panic());
    /// });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.inner.kind, Kind::Panicked(_))
    }

    /// The panic payload, to inspect or to re-raise with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    /// If the task was cancelled rather than panicked (check [`is_panic`](Self::is_panic)).
    ///
    /// # Examples
    /// ```
    /// greenloop::block_on(async {
    ///     let handle = greenloop::spawn(async { panic!("boom") });
    ///     let payload = handle.await.unwrap_err().into_panic();
    ///     assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    /// });
    /// ```
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.inner.kind {
            Kind::Panicked(payload) => payload,
            Kind::Cancelled => {
                panic!("JoinError::into_panic on a task that was cancelled, not panicked")
            }
        }
    }

    /// The task's id.
    ///
    /// # Examples
    /// ```
    /// greenloop::block_on(async {
    ///     let handle = greenloop::spawn(async { panic!() });
    ///     let id = handle.id();
    ///     assert_eq!(handle.await.unwrap_err().id(), id);
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.inner.id
    }

    /// The task's name, if it was spawned with one ([`crate::task::Builder::name`]).
    ///
    /// # Examples
    /// ```
    /// greenloop::block_on(async {
    ///     let handle = greenloop::spawn(async { panic!() });
    ///     assert_eq!(handle.await.unwrap_err().name(), None);
    /// });
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// Where the task was spawned.
    ///
    /// # Examples
    /// ```
    /// greenloop::block_on(async {
    ///     let handle = greenloop::spawn(async { panic!() });
    ///     assert_eq!(handle.await.unwrap_err().location().line(), line!() - 1);
    /// });
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.inner.location
    }

    fn panic_message(&self) -> Option<&str> {
        match &self.inner.kind {
            Kind::Panicked(payload) => payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str)),
            Kind::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        write!(f, "task {}", inner.id)?;
        if let Some(name) = &inner.name {
            write!(f, " {name:?}")?;
        }
        write!(f, " (spawned at {})", inner.location)?;
        match &inner.kind {
            Kind::Cancelled => f.write_str(" was cancelled"),
            Kind::Panicked(_) => match self.panic_message() {
                Some(message) => write!(f, " panicked: {message}"),
                None => f.write_str(" panicked"),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinError")
            .field("id", &self.inner.id)
            .field("name", &self.inner.name)
            .field("location", &self.inner.location)
            .field("cancelled", &self.is_cancelled())
            .field("panic", &self.panic_message())
            .finish()
    }
}

impl std::error::Error for JoinError {}
