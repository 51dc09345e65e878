//! The executor: tasks, the run queue, ticks, wakers and parking.
//!
//! - `mod.rs`      [`Executor`], its builder, `block_on`/`run`/`tick`, the tick itself (`Core`)
//! - `task.rs`     [`JoinHandle`], [`JoinError`], [`TaskId`]: the user's side of a task
//! - `raw.rs`      the task allocation (header + future/output) and its typed vtable
//! - `state.rs`    the task state bits and their transitions
//! - `waker.rs`    the only place a task `Waker` is built; local and remote wake paths
//! - `run_queue.rs` the local FIFO, the inject queue for remote wakes, the parker
//! - `context.rs`  the thread-local current executor; refuses nesting
//!
//! # Task lifecycle
//! ```text
//!  spawn ─(1)─► run queue ──(2) tick: pop front──► RUNNING: poll(cx = task's waker)
//!  (SCHEDULED)     ▲                                  │ (3) Pending          │ (4) Ready / panic
//!                  │                                  ▼                      ▼
//!                  └──(5) wake: push, unless ───── IDLE: its waker is     COMPLETE: output stored
//!                      already queued              held by whatever it    (or dropped if detached),
//!                                                  waits on               JoinHandle's waker woken (6),
//!                                                                         executor's reference released
//!  Woken while RUNNING: only NOTIFIED is set; the task is queued at (3) when the poll returns.
//!  cancel(): IDLE or queued → the future is dropped now → COMPLETE; RUNNING → dropped after (3).
//! ```
//! (1) [`Executor::spawn`] (2) `Core::tick` → `Core::run_task` (3) `State::end_poll`
//! (4) `Core::complete` (5) `waker::schedule` → `Core::wake_local` or `run_queue::wake_remote`
//! (6) `Core::complete`.
//!
//! # Invariants
//! The `// SAFETY:` comments of this module cite these.
//! - **I1 layout.** A task is one allocation, `raw::TaskCell<F>`, `#[repr(C)]` with the `Header`
//!   first, so a `NonNull<Header>` is also the cell's address. Only the header's `vtable`,
//!   built for that same `F`, casts it back.
//! - **I2 references.** `Header::refs` counts the owners of the allocation: the executor (from
//!   spawn until it releases the task), the `JoinHandle` (until dropped), every `Waker`, every
//!   inject-queue entry. Whoever drops the last one frees the task, on any thread. Entries of the
//!   local run queue own no reference (see I4). A borrowed waker (for a poll) owns none either.
//! - **I3 owner thread.** `state`, `slot`, `join_waker` and the stage (future or output) are
//!   touched only on the executor's thread. Other threads touch only `refs` and `remote_queued`
//!   (atomics) and read the immutable `vtable`, `shared`, `id`, `location`.
//! - **I4 run queue.** A task is in the local run queue exactly when `SCHEDULED` is set, at most
//!   once. A `SCHEDULED` task is never released, so the executor's reference keeps queued
//!   tasks alive. A task cancelled while queued stays queued, `COMPLETE`, until the tick pops
//!   and releases it. Exception: during `Executor::drop` every task is unscheduled and the queue
//!   is never popped again (it is discarded at the end), so its stale entries are never read.
//!   The `block_on` future's entry (`Entry::Main`) is there exactly when `main_queued` is set.
//! - **I5 stage.** The stage holds the future until `COMPLETE`; then the output until the
//!   `JoinHandle` takes it or is dropped (immediately, if the handle is already gone). So when
//!   the last reference goes the stage is empty, and freeing on another thread runs no user
//!   code (the future and output may be `!Send`).
//! - **I6 exclusive access.** The stage is touched under `RUNNING` only: the tick's poll (after
//!   `start_poll`) and a cancel's drop of the future (after `start_cancel`) each set it first.
//!   A wake meanwhile only sets `NOTIFIED`; a cancel meanwhile (even one from the future's own
//!   destructor) only sets `CANCELLED`. Nothing else touches the stage of a `RUNNING` task.
//! - **I7 pinning.** The future is never moved: it lives in the heap cell from spawn until it is
//!   dropped in place.
//! - **I8 local path.** The thread-local current executor (`context`) is non-null only while
//!   that executor runs on this thread and is borrowed by the running call (or is being dropped:
//!   `enter_for_drop`, when `closing` makes every local wake return at once). A waker whose task
//!   belongs to it is therefore on the owner thread, inside a tick or `block_on`, and may touch
//!   the state and the run queue directly.
//! - **I9 owner core.** `Shared::owner_core` points to the executor's `Core` while it exists and
//!   is null afterwards; it is read and written only on the owner thread.
//! - **I10 shutdown.** Dropping the executor drops every future still alive, releases every
//!   task, and closes the inject queue, so that later remote wakes just give up their reference;
//!   the closing step runs in a drop guard, so it happens even if something unwinds. Hence an
//!   unfinished task implies a live executor.
#![allow(unsafe_code)]

#[cfg(test)]
mod alloc_tests;
mod context;
mod diag;
mod raw;
mod run_queue;
mod state;
mod task;
mod trace;
mod waker;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::{Pin, pin};
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::time::driver::{self as time_driver, Driver};

pub use diag::{Deadlock, TaskDump, TaskInfo};
pub use task::{JoinError, JoinHandle, TaskId};
pub use trace::{TraceEvent, TraceKind};

use raw::Header;
use run_queue::{Entry, Inject, MainWake, RunQueue, Shared};
use state::{EndPoll, StartPoll};

#[cfg(test)] // sync::diag's unit tests; the executor's own diagnostics call it directly
pub(crate) use waker::task_id_of;

/// Order in which a tick polls the tasks that were ready when it began.
///
/// # Examples
/// ```
/// use greenloop::{Executor, Schedule};
/// let ex = Executor::builder().schedule(Schedule::Random(7)).build();
/// assert_eq!(ex.block_on(async { 1 + 1 }), 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// First woken, first polled: asyncio's ready queue.
    #[default]
    Fifo,
    /// Each tick polls its batch in a random order drawn from this seed: the same seed gives
    /// the same schedule on every run. For tests that look for order dependence.
    Random(u64),
}

/// What one [`Executor::tick`] (or a run of them) did.
///
/// # Examples
/// ```
/// let ex = greenloop::Executor::new();
/// let handle = ex.spawn(async { greenloop::yield_now().await });
/// let first = ex.tick();
/// assert_eq!((first.polled, first.completed, first.has_ready), (1, 0, true));
/// let second = ex.tick();
/// assert_eq!((second.polled, second.completed, second.has_ready), (1, 1, false));
/// assert!(handle.is_finished());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tick {
    /// Polls made (tasks, plus the `block_on` future if it was ready).
    pub polled: usize,
    /// Tasks that finished (returned, panicked or cancelled themselves).
    pub completed: usize,
    /// Wakes that made a task ready during the tick, including wakes from other threads that
    /// arrived before it. Spawns are not wakes.
    pub woken: usize,
    /// Whether work is ready now, so that another tick would poll something.
    pub has_ready: bool,
}

impl Tick {
    fn add(&mut self, other: Tick) {
        self.polled += other.polled;
        self.completed += other.completed;
        self.woken += other.woken;
        self.has_ready = other.has_ready;
    }
}

/// A single-threaded executor: a FIFO of ready tasks, polled one tick at a time.
///
/// # The scheduling contract (asyncio's)
/// - FIFO: tasks run in the order they became ready.
/// - A spawned task does not run until its spawner yields.
/// - One tick polls exactly the tasks that were ready when it began, each once; a task woken
///   during a tick, even by itself, runs in the next tick. So [`yield_now`](crate::yield_now)
///   gives up exactly one tick.
/// - A task is polled only after a wake, and one wake gives at most one poll.
/// - Nothing spins: with no task ready, the thread parks until a wake arrives.
///
/// Tasks need not be `Send`; the executor itself is neither `Send` nor `Sync`. Wakers are
/// `Send + Sync` and may be used from any thread. Dropping the executor drops every task's
/// future (their destructors run).
///
/// # Examples
/// ```
/// use greenloop::Executor;
/// let ex = Executor::new();
/// let handle = ex.spawn(async { "hello" });
/// assert_eq!(ex.block_on(handle).unwrap(), "hello");
/// ```
///
/// ```compile_fail
/// fn assert_send<T: Send>(_: T) {}
/// assert_send(greenloop::Executor::new());
/// ```
pub struct Executor {
    core: Box<Core>,
}

/// Builds an [`Executor`] with a schedule policy.
///
/// # Examples
/// ```
/// use greenloop::{Executor, Schedule};
/// let ex = Executor::builder().schedule(Schedule::Fifo).build();
/// assert!(!ex.has_ready());
/// ```
#[derive(Debug, Default)]
pub struct ExecutorBuilder {
    schedule: Schedule,
    virtual_clock: bool,
    trace: bool,
}

/// Future returned by [`Executor::run`]: drives the executor from another `block_on`.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Run<'a, F> {
    executor: &'a Executor,
    future: Pin<Box<F>>,
    main: Option<(Arc<MainWake>, Waker)>,
    /// Wakes the outer executor at greenloop's next real-clock deadline.
    #[cfg(feature = "async-io")]
    alarm: Option<async_io::Timer>,
}

/// How many ticks one poll of [`Run`] may run before it yields to whoever drives it, so that
/// their reactor (async-io's, say) gets a turn [async-executor `run`: 200 tasks].
const RUN_TICK_BUDGET: usize = 64;

/// The executor's state, at a stable address (the `Executor` may move; `Box<Core>` does not).
pub(crate) struct Core {
    shared: Arc<Shared>,
    queue: RunQueue,
    /// Every task the executor has not released, at index `Header::slot`.
    tasks: RefCell<TaskList>,
    /// Names of the tasks spawned with one (`state` has NAMED).
    names: RefCell<HashMap<TaskId, Rc<str>>>,
    next_id: Cell<u64>,
    schedule: Schedule,
    rng: Cell<u64>,
    /// The `block_on`/`run` future's waker, for identity checks; null when none runs.
    main: Cell<*const MainWake>,
    main_queued: Cell<bool>,
    /// The task being polled.
    current: Cell<Option<NonNull<Header>>>,
    /// The executor is being dropped: wakes are ignored.
    closing: Cell<bool>,
    /// Tasks made ready since the tick began.
    woken: Cell<usize>,
    /// Reused buffer for draining the inject queue.
    inject: RefCell<Vec<Inject>>,
    /// Whether the executor is running on its thread right now (entered).
    active: Cell<bool>,
    /// Timers and the clock (real or virtual), shared with every `Sleep`.
    time: Rc<Driver>,
    /// The scheduler trace, when enabled.
    tracer: Option<trace::Tracer>,
}

// === impl Executor ===

impl Executor {
    /// A FIFO executor on the real clock.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// assert_eq!(ex.block_on(async { 3 }), 3);
    /// ```
    pub fn new() -> Executor {
        Executor::builder().build()
    }

    /// Options: schedule policy.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::builder().build();
    /// assert_eq!(ex.len(), 0);
    /// ```
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder::default()
    }

    /// Spawns a task. It runs when the executor next ticks, after every task already ready.
    ///
    /// The future need not be `Send`. Its spawn location is recorded for error messages.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// let handle = ex.spawn(async { 2 + 2 });
    /// ex.run_until_stalled();
    /// assert!(handle.is_finished());
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        self.core.spawn(future, None, Location::caller())
    }

    /// Runs `future` to completion on this thread, running the executor's tasks meanwhile.
    ///
    /// Tasks still alive when it returns stay in the executor (use [`crate::run`] to cancel
    /// them). The future is polled like a task: in FIFO order, only when woken. When nothing is
    /// ready the thread parks until a wake arrives (from a task, a timer or another thread).
    ///
    /// # Panics
    /// If this thread is already running an executor (a nested `block_on` would deadlock), if
    /// `future` panics (the panic propagates; the executor stays usable), or on a deadlock:
    /// with the [`Deadlock`] report as the message (see [`try_block_on`](Self::try_block_on)).
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// let out = ex.block_on(async {
    ///     let a = greenloop::spawn(async { 1 });
    ///     let b = greenloop::spawn(async { 2 });
    ///     a.await.unwrap() + b.await.unwrap()
    /// });
    /// assert_eq!(out, 3);
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self.try_block_on(future) {
            Ok(output) => output,
            Err(deadlock) => panic!("{deadlock}"),
        }
    }

    /// [`block_on`](Self::block_on), but a deadlock is returned as an error instead of a
    /// panic: when no task is ready, no timer is pending, and every waker of every blocked
    /// task (and of `future`) is held by greenloop's own primitives, nothing can ever happen
    /// again, and the [`Deadlock`] report says who waits on what. A task waiting on anything
    /// outside greenloop (async-io, a channel fed by another thread, any foreign future) is
    /// never reported: it could still be woken.
    ///
    /// # Errors
    /// [`Deadlock`] as above. The executor stays usable; its tasks stay alive.
    ///
    /// # Panics
    /// As [`block_on`](Self::block_on), except on a deadlock.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// let event = greenloop::sync::Event::new().with_name("never set");
    /// let e = event.clone();
    /// let report = ex
    ///     .try_block_on(async move {
    ///         greenloop::task::Builder::new().name("sleeper").spawn(async move { e.wait().await })
    ///             .await
    ///             .unwrap();
    ///     })
    ///     .unwrap_err();
    /// let text = report.to_string();
    /// assert!(text.contains("JoinHandle of task 1 \"sleeper\""), "{text}");
    /// assert!(text.contains("Event::wait on \"never set\""), "{text}");
    /// ```
    pub fn try_block_on<F: Future>(&self, future: F) -> Result<F::Output, Deadlock> {
        let core = &*self.core;
        let _enter = Entered::new(core);
        let main = MainWake::new(Arc::clone(&core.shared));
        let _main = core.set_main(&main);
        let waker = Waker::from(Arc::clone(&main));
        let mut cx = Context::from_waker(&waker);
        let mut future = pin!(future);
        let mut output = None;
        loop {
            let tick = core.tick(&mut || {
                if output.is_none() {
                    if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                        output = Some(value);
                    }
                }
            });
            if let Some(value) = output.take() {
                return Ok(value);
            }
            if !tick.has_ready {
                core.wait_for_work(Some(&main))?;
            }
        }
    }

    /// Every live task with its id, name, state, spawn location and what it waits on, as far
    /// as greenloop can tell (its own primitives and join handles). Cheap enough to print
    /// from a host loop or a signal handler's follow-up; it never blocks.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// let queue = greenloop::sync::Queue::<u32>::bounded(4).with_name("jobs");
    /// let q = queue.clone();
    /// greenloop::task::Builder::new().name("worker").spawn_on(&ex, async move { q.get().await });
    /// ex.run_until_stalled();
    /// let dump = ex.dump();
    /// assert_eq!(dump.tasks().len(), 1);
    /// assert_eq!(dump.tasks()[0].waits_on(), ["Queue::get on \"jobs\" (empty, 0/4)"]);
    /// println!("{dump}");
    /// ```
    pub fn dump(&self) -> TaskDump {
        diag::dump(&self.core, None)
    }

    /// Takes the scheduler trace recorded so far (empty unless built with
    /// [`ExecutorBuilder::trace`]).
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::builder().virtual_clock().trace().build();
    /// ex.block_on(greenloop::time::sleep(std::time::Duration::from_secs(2)));
    /// let trace: Vec<String> = ex.take_trace().iter().map(|e| e.to_string()).collect();
    /// assert_eq!(trace, [
    ///     "[  0.000s] poll main",
    ///     "[  2.000s] virtual clock jumps 2s",
    ///     "[  2.000s] wake main",
    ///     "[  2.000s] 1 timer(s) fired",
    ///     "[  2.000s] poll main",
    /// ]);
    /// assert!(ex.take_trace().is_empty());
    /// ```
    pub fn take_trace(&self) -> Vec<TraceEvent> {
        self.core
            .tracer
            .as_ref()
            .map(trace::Tracer::take)
            .unwrap_or_default()
    }

    /// Runs `future` while driving this executor, as a future: for embedding greenloop in
    /// another `block_on`, e.g. `async_io::block_on(ex.run(fut))` so that async-io's reactor
    /// runs on this thread while greenloop's tasks do.
    ///
    /// Each poll runs up to 64 ticks, then yields to the outer executor. When no task is ready
    /// it returns `Pending`; a wake (from any thread) wakes the outer executor's waker.
    ///
    /// # Panics
    /// When polled while this thread already runs an executor, or while another `block_on`/
    /// `run` future of the same executor is in progress.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// let out = futures::executor::block_on(ex.run(async {
    ///     greenloop::spawn(async { 40 }).await.unwrap() + 2
    /// }));
    /// assert_eq!(out, 42);
    /// ```
    pub fn run<F: Future>(&self, future: F) -> Run<'_, F> {
        Run {
            executor: self,
            future: Box::pin(future),
            main: None,
            #[cfg(feature = "async-io")]
            alarm: None,
        }
    }

    /// Runs one tick: polls each task that is ready now, once, in order; returns what it did.
    /// Never blocks. For host loops (a game loop, a GUI pump).
    ///
    /// # Panics
    /// If this thread is already running an executor (called from inside a task).
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// ex.spawn(async {});
    /// let tick = ex.tick();
    /// assert_eq!((tick.polled, tick.completed), (1, 1));
    /// assert_eq!(ex.tick(), greenloop::Tick::default());
    /// ```
    pub fn tick(&self) -> Tick {
        let _enter = Entered::new(&self.core);
        self.core.tick(&mut || {})
    }

    /// Ticks until no task is ready; returns the sum. Never blocks. A task that wakes itself
    /// on every poll keeps this running, as it would keep a `tick` loop running.
    ///
    /// # Panics
    /// If this thread is already running an executor.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// ex.spawn(async {
    ///     for _ in 0..3 {
    ///         greenloop::yield_now().await;
    ///     }
    /// });
    /// let total = ex.run_until_stalled();
    /// assert_eq!((total.polled, total.completed, total.has_ready), (4, 1, false));
    /// ```
    pub fn run_until_stalled(&self) -> Tick {
        let _enter = Entered::new(&self.core);
        let mut total = Tick::default();
        loop {
            let tick = self.core.tick(&mut || {});
            total.add(tick);
            if !tick.has_ready {
                return total;
            }
        }
    }

    /// Whether a task is ready, so that [`tick`](Self::tick) would poll something.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// assert!(!ex.has_ready());
    /// ex.spawn(async {});
    /// assert!(ex.has_ready());
    /// ```
    pub fn has_ready(&self) -> bool {
        !self.core.queue.is_empty() || self.core.shared.has_remote()
    }

    /// How many tasks are alive (spawned and not yet finished).
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// ex.spawn(std::future::pending::<()>());
    /// ex.run_until_stalled();
    /// assert_eq!(ex.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.core.tasks.borrow().len()
    }

    /// Whether no task is alive.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// assert!(ex.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The earliest pending timer deadline, on the executor's clock: how long a host loop may
    /// sleep before it must [`tick`](Self::tick) again (if no wake comes first).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let ex = greenloop::Executor::builder().virtual_clock().build();
    /// ex.spawn(greenloop::time::sleep(Duration::from_secs(2)));
    /// assert_eq!(ex.next_deadline(), None, "the timer starts when the task first runs");
    /// ex.tick();
    /// assert_eq!(ex.next_deadline(), Some(ex.now() + Duration::from_secs(2)));
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        self.core.time.next_deadline()
    }

    /// The executor's clock: real time, or the virtual clock's current time.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::builder().virtual_clock().build();
    /// let start = ex.now();
    /// assert_eq!(ex.now(), start, "virtual time stands still until advanced");
    /// ```
    pub fn now(&self) -> Instant {
        self.core.time.now()
    }

    /// Virtual clock only: moves time forward by `duration`; the next [`tick`](Self::tick)
    /// fires the timers that expired and, in that same tick, runs their tasks (asyncio: a
    /// tick first moves expired timers to the ready queue). For hosts and tests that drive
    /// time themselves.
    ///
    /// # Panics
    /// On an executor with the real clock.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let ex = greenloop::Executor::builder().virtual_clock().build();
    /// let handle = ex.spawn(greenloop::time::sleep(Duration::from_millis(500)));
    /// ex.tick();
    /// ex.advance(Duration::from_millis(499));
    /// ex.tick();
    /// assert!(!handle.is_finished());
    /// ex.advance(Duration::from_millis(1));
    /// ex.tick(); // fires the timer and runs the task
    /// assert!(handle.is_finished());
    /// ```
    pub fn advance(&self, duration: Duration) {
        self.core.time.advance(duration);
    }

    /// How many timers are pending (a dropped `Sleep` removes its timer).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let ex = greenloop::Executor::builder().virtual_clock().build();
    /// let handle = ex.spawn(greenloop::time::sleep(Duration::from_secs(1)));
    /// ex.tick();
    /// assert_eq!(ex.pending_timers(), 1);
    /// handle.cancel();
    /// assert_eq!(ex.pending_timers(), 0);
    /// ```
    pub fn pending_timers(&self) -> usize {
        self.core.time.pending()
    }

    /// Sets a hook called whenever work becomes ready while the executor is not running: a
    /// wake from another thread, or a wake on this thread between ticks. A host loop uses it
    /// to wake itself (post an event to its GUI loop, unpark its thread). It may run on any
    /// thread, so keep it short; it is called without any greenloop lock held.
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let ex = greenloop::Executor::new();
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let mut polls = 0;
    /// let handle = ex.spawn(futures::future::poll_fn(move |cx| {
    ///     polls += 1;
    ///     if polls == 1 {
    ///         tx.send(cx.waker().clone()).unwrap(); // hand our waker to another thread
    ///         return std::task::Poll::Pending;
    ///     }
    ///     std::task::Poll::Ready(())
    /// }));
    /// ex.tick();
    /// let pokes = Arc::new(AtomicUsize::new(0));
    /// let counter = pokes.clone();
    /// ex.on_wake(move || { counter.fetch_add(1, Ordering::SeqCst); });
    /// let waker = rx.recv().unwrap();
    /// std::thread::spawn(move || waker.wake()).join().unwrap();
    /// assert_eq!(pokes.load(Ordering::SeqCst), 1, "the host was told");
    /// assert!(ex.has_ready());
    /// ex.tick();
    /// assert!(handle.is_finished());
    /// ```
    pub fn on_wake(&self, hook: impl Fn() + Send + Sync + 'static) {
        self.core.shared.set_hook(Some(Arc::new(hook)));
    }
}

impl Default for Executor {
    fn default() -> Executor {
        Executor::new()
    }
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("tasks", &self.len())
            .field("ready", &self.core.queue.len())
            .field("schedule", &self.core.schedule)
            .finish()
    }
}

impl Drop for Executor {
    /// Drops every task's future (cancellation: their destructors run), then frees what no
    /// waker or handle still holds (I10).
    fn drop(&mut self) {
        let core = &*self.core;
        let _enter = context::enter_for_drop(core);
        // Runs even if something below unwinds, so that I9 and I10 hold regardless.
        let _close = CloseOnDrop(core);
        core.closing.set(true);
        for entry in core.queue.take_all() {
            if let Entry::Task(task) = entry {
                // SAFETY: queued tasks are alive (I4); owner thread (I3).
                unsafe { task.as_ref() }.state.unschedule();
            }
        }
        // Destructors may spawn, cancel or release other tasks: work from snapshots until the
        // list is empty, skipping entries released in the meantime.
        loop {
            let live = core.tasks.borrow().live();
            if live.is_empty() {
                break;
            }
            for (slot, task) in live {
                if !core.tasks.borrow().holds(slot, task) {
                    continue;
                }
                // SAFETY: listed tasks are alive (the executor's reference, I2); owner thread.
                let header = unsafe { task.as_ref() };
                header.state.unschedule(); // it may have been spawned during this drop
                if header.state.is_complete() {
                    // SAFETY: complete and, after `unschedule`, not queued (I4).
                    unsafe { core.release(task) };
                } else {
                    // SAFETY: not RUNNING: no tick runs during drop, and a cancel in progress
                    // holds RUNNING, so a re-entrant visit goes to the branch above (I6).
                    unsafe { core.cancel(task) };
                }
            }
        }
    }
}

/// The last step of `Executor::drop`: forget the run queue, close the inject queue (giving
/// back its references), and null `owner_core` (I9, I10).
struct CloseOnDrop<'a>(&'a Core);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        let core = self.0;
        core.queue.take_all();
        drop(core.shared.close());
        core.inject.borrow_mut().clear();
        core.shared.set_owner_core(std::ptr::null());
    }
}

// === impl ExecutorBuilder ===

impl ExecutorBuilder {
    /// The order a tick polls its ready tasks in (default: [`Schedule::Fifo`]).
    ///
    /// # Examples
    /// ```
    /// use greenloop::{Executor, Schedule};
    /// let ex = Executor::builder().schedule(Schedule::Random(1)).build();
    /// assert_eq!(ex.block_on(async { 5 }), 5);
    /// ```
    pub fn schedule(mut self, schedule: Schedule) -> ExecutorBuilder {
        self.schedule = schedule;
        self
    }

    /// Uses a virtual clock: whenever no task is ready, time jumps to the next deadline.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::builder().virtual_clock().build();
    /// assert_eq!(ex.block_on(async { 1 }), 1);
    /// ```
    pub fn virtual_clock(mut self) -> ExecutorBuilder {
        self.virtual_clock = true;
        self
    }

    /// Records a scheduler trace (spawn, poll, wake, complete, timers fired, park, clock
    /// jumps) for [`Executor::take_trace`]: a window on what the scheduler does, for learners
    /// and for debugging an order. Off by default; when off it costs one branch per event.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::builder().trace().build();
    /// ex.spawn(async {});
    /// ex.tick();
    /// let trace: Vec<String> = ex.take_trace().iter().map(|e| e.to_string()).collect();
    /// assert!(trace[0].ends_with("spawn task 1"));
    /// assert!(trace[1].ends_with("poll task 1"));
    /// assert!(trace[2].ends_with("complete task 1"));
    /// ```
    pub fn trace(mut self) -> ExecutorBuilder {
        self.trace = true;
        self
    }

    /// The executor.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::builder().build();
    /// assert!(ex.is_empty());
    /// ```
    pub fn build(self) -> Executor {
        let seed = match self.schedule {
            Schedule::Fifo => 0,
            Schedule::Random(seed) => seed,
        };
        let core = Box::new(Core {
            shared: Arc::new(Shared::new()),
            queue: RunQueue::default(),
            tasks: RefCell::new(TaskList::default()),
            names: RefCell::new(HashMap::new()),
            next_id: Cell::new(1),
            schedule: self.schedule,
            rng: Cell::new(seed),
            main: Cell::new(std::ptr::null()),
            main_queued: Cell::new(false),
            current: Cell::new(None),
            closing: Cell::new(false),
            woken: Cell::new(0),
            inject: RefCell::new(Vec::new()),
            active: Cell::new(false),
            time: Driver::new(self.virtual_clock),
            tracer: None,
        });
        let mut core = core;
        if self.trace {
            core.tracer = Some(trace::Tracer::new(core.time.now()));
        }
        core.shared.set_owner_core(&*core);
        Executor { core }
    }
}

// === impl Run ===

impl<F: Future> Future for Run<'_, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let core = &*this.executor.core;
        let _enter = Entered::new(core);
        // Register first: a remote wake from now on wakes the outer executor.
        core.shared.set_host_waker(cx.waker());
        let (main, main_waker) = this.main.get_or_insert_with(|| {
            let main = MainWake::new(Arc::clone(&core.shared));
            let waker = Waker::from(Arc::clone(&main));
            (main, waker)
        });
        core.adopt_main(main);
        let mut main_cx = Context::from_waker(main_waker);
        let mut output = None;
        for _ in 0..RUN_TICK_BUDGET {
            let tick = core.tick(&mut || {
                if output.is_none() {
                    if let Poll::Ready(value) = this.future.as_mut().poll(&mut main_cx) {
                        output = Some(value);
                    }
                }
            });
            if let Some(value) = output.take() {
                core.clear_main(main);
                this.main = None;
                return Poll::Ready(value);
            }
            if !tick.has_ready {
                if core.time.is_virtual() && core.time.jump_to_next_deadline() {
                    continue; // virtual time: the next timer is due now
                }
                this.arm_alarm(cx);
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<F> Run<'_, F> {
    /// With nothing ready, the outer executor must still be woken at greenloop's next timer
    /// deadline: an async-io timer does it (async-io's reactor wakes the outer waker).
    #[cfg(feature = "async-io")]
    fn arm_alarm(&mut self, cx: &mut Context<'_>) {
        let time = &self.executor.core.time;
        match time.next_deadline() {
            Some(deadline) if !time.is_virtual() => {
                let alarm = self
                    .alarm
                    .get_or_insert_with(|| async_io::Timer::at(deadline));
                alarm.set_at(deadline);
                // Registers the outer waker with async-io; it fires at the deadline. If the
                // deadline has already passed, the timer is ready without registering
                // anything: ask to be polled again at once, and the next tick fires it.
                if Pin::new(alarm).poll(cx).is_ready() {
                    cx.waker().wake_by_ref();
                }
            }
            _ => self.alarm = None,
        }
    }

    /// Without the `async-io` feature, a `Run` future whose tasks wait only on timers relies
    /// on its outer executor to poll it again by the deadline.
    #[cfg(not(feature = "async-io"))]
    fn arm_alarm(&mut self, _cx: &mut Context<'_>) {}
}

impl<F> Drop for Run<'_, F> {
    fn drop(&mut self) {
        if let Some((main, _)) = &self.main {
            self.executor.core.clear_main(main);
        }
    }
}

impl<F> fmt::Debug for Run<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run")
            .field("executor", self.executor)
            .finish_non_exhaustive()
    }
}

// === impl Core ===

/// Marks the executor as running on this thread for a scope (see I8).
struct Entered<'a> {
    core: &'a Core,
    _enter: context::Enter,
    /// Makes the executor's timer driver the one `sleep` uses.
    _time: time_driver::EnterGuard,
}

impl<'a> Entered<'a> {
    fn new(core: &'a Core) -> Entered<'a> {
        let enter = context::enter(core);
        core.active.set(true);
        Entered {
            core,
            _enter: enter,
            _time: time_driver::enter(&core.time),
        }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.core.active.set(false);
    }
}

/// Clears `Core::main` when a `block_on` ends, even by a panic.
struct MainGuard<'a> {
    core: &'a Core,
    main: *const MainWake,
}

impl Drop for MainGuard<'_> {
    fn drop(&mut self) {
        if self.core.main.get() == self.main {
            self.core.main.set(std::ptr::null());
            if self.core.main_queued.replace(false) {
                self.core.queue.remove_main(); // so that `has_ready` stays true to its word
            }
        }
    }
}

impl Core {
    /// Whether `shared` is this executor's (I8).
    pub(crate) fn owns(&self, shared: &Arc<Shared>) -> bool {
        Arc::ptr_eq(&self.shared, shared)
    }

    #[track_caller]
    fn spawn<F>(
        &self,
        future: F,
        name: Option<String>,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let id = TaskId(self.next_id.get());
        self.next_id.set(id.0 + 1);
        let named = name.is_some();
        let task = raw::allocate(future, Arc::clone(&self.shared), id, location, named);
        if let Some(name) = name {
            self.names.borrow_mut().insert(id, name.into());
        }
        self.trace(|| trace::TraceKind::Spawn {
            task: id,
            name: self.name(id),
        });
        let slot = self.tasks.borrow_mut().insert(task);
        // SAFETY: just allocated; owner thread (I3).
        unsafe { task.as_ref() }.slot.set(slot);
        // `new_spawned` set SCHEDULED: queue it (I4).
        self.queue.push(Entry::Task(task));
        if !self.active.get() {
            // Spawned by host code while the executor is idle: let whoever drives it know.
            self.shared.poke();
        }
        JoinHandle::new(task)
    }

    /// One tick (asyncio's loop iteration): take in remote wakes, then poll exactly the entries
    /// that are ready now, each once, in order (or shuffled for `Schedule::Random`).
    fn tick(&self, main: &mut dyn FnMut()) -> Tick {
        self.woken.set(0);
        // asyncio: expired timers become ready first, earliest deadline first.
        let fired = self.time.fire_expired();
        if fired > 0 {
            self.trace(|| trace::TraceKind::TimersFired(fired));
        }
        self.drain_inject();
        let batch = self.queue.len();
        if matches!(self.schedule, Schedule::Random(_)) && batch > 1 {
            self.queue.shuffle_front(batch, &self.rng);
        }
        let mut tick = Tick::default();
        for _ in 0..batch {
            match self.queue.pop() {
                Some(Entry::Task(task)) => self.run_task(task, &mut tick),
                Some(Entry::Main) if !self.main_queued.get() => {} // stale: its block_on ended
                Some(Entry::Main) => {
                    self.main_queued.set(false);
                    tick.polled += 1;
                    self.trace(|| trace::TraceKind::Poll(None));
                    main();
                }
                None => break,
            }
        }
        tick.woken = self.woken.get();
        tick.has_ready = !self.queue.is_empty() || self.shared.has_remote();
        tick
    }

    /// Nothing is ready: park until a wake or the next timer deadline; on a virtual clock,
    /// jump to that deadline instead of waiting.
    /// With no timer pending, a `block_on` checks for a deadlock before parking for good.
    fn wait_for_work(&self, main: Option<&Arc<MainWake>>) -> Result<(), Deadlock> {
        if self.time.is_virtual() {
            let before = self.time.now();
            if self.time.jump_to_next_deadline() {
                self.trace(|| trace::TraceKind::ClockJump {
                    by: self.time.now() - before,
                });
                return Ok(());
            }
        } else if let Some(deadline) = self.time.next_deadline() {
            let timeout = deadline.saturating_duration_since(Instant::now());
            self.trace(|| trace::TraceKind::Park {
                timeout: Some(timeout),
            });
            self.shared.park(Some(timeout));
            return Ok(());
        }
        if let Some(deadlock) = main.and_then(|main| diag::find_deadlock(self, main)) {
            return Err(deadlock);
        }
        self.trace(|| trace::TraceKind::Park { timeout: None });
        self.shared.park(None);
        Ok(())
    }

    /// Records a trace event, if tracing is on (the closure runs only then).
    #[inline]
    fn trace(&self, event: impl FnOnce() -> trace::TraceKind) {
        if let Some(tracer) = &self.tracer {
            tracer.record(self.time.now(), event());
        }
    }

    /// A task's name, if it has one.
    fn name(&self, id: TaskId) -> Option<String> {
        self.names.borrow().get(&id).map(|name| name.to_string())
    }

    /// Whether anything is ready or waits in the inject queue.
    fn has_work(&self) -> bool {
        !self.queue.is_empty() || self.shared.has_remote()
    }

    /// Calls `f` with a view of every live task (for diagnostics).
    fn for_each_task(&self, mut f: impl FnMut(diag::TaskView<'_>)) {
        let live = self.tasks.borrow().live();
        for (_, task) in live {
            // SAFETY: listed tasks are alive (the executor's reference, I2) and `f` runs no
            // user code, so none is released meanwhile; owner thread (I3).
            let header = unsafe { task.as_ref() };
            // SAFETY: owner thread; the join waker is borrowed only for this call, during
            // which no `JoinHandle::poll` or completion runs (I3).
            let join_waker = unsafe { (*header.join_waker.get()).as_ref() };
            let name = match header.state.is_named() {
                true => self
                    .names
                    .borrow()
                    .get(&header.id)
                    .map(|name| name.to_string()),
                false => None,
            };
            let remote_queued = header
                .remote_queued
                .load(std::sync::atomic::Ordering::Acquire);
            f(diag::TaskView {
                id: header.id,
                name,
                state: header.state.describe(),
                location: header.location,
                wakers: diag::wakers_of(
                    diag::load_refs(&header.refs),
                    header.state.has_handle(),
                    remote_queued,
                ),
                join_waker,
            });
        }
    }

    /// Moves remote wakes into the local run queue.
    fn drain_inject(&self) {
        let mut entries = std::mem::take(&mut *self.inject.borrow_mut());
        self.shared.drain(&mut entries);
        for entry in entries.drain(..) {
            match entry {
                Inject::Task(task) => {
                    let ptr = task.as_ptr();
                    // SAFETY: the entry owns a reference (I2); `remote_queued` is atomic.
                    unsafe { ptr.as_ref() }
                        .remote_queued
                        .swap(false, std::sync::atomic::Ordering::AcqRel);
                    // SAFETY: the entry's reference keeps the task alive; owner thread, inside
                    // the executor (I8).
                    unsafe { self.wake_local(ptr) };
                    drop(task); // gives up the entry's reference
                }
                Inject::Main(main) => {
                    main.clear_remote();
                    self.wake_main(&main);
                }
            }
        }
        *self.inject.borrow_mut() = entries;
    }

    /// Polls one task popped from the run queue.
    fn run_task(&self, task: NonNull<Header>, tick: &mut Tick) {
        // SAFETY: queued tasks are alive (I4); owner thread (I3).
        let header = unsafe { task.as_ref() };
        match header.state.start_poll() {
            // SAFETY: complete and no longer queued: the executor may release it (I4).
            StartPoll::Release => unsafe { self.release(task) },
            StartPoll::Poll => {
                self.trace(|| trace::TraceKind::Poll(Some(header.id)));
                self.current.set(Some(task));
                // SAFETY: start_poll set RUNNING (I6); the executor's reference keeps it alive.
                let poll = unsafe { Header::poll(task) };
                self.current.set(None);
                tick.polled += 1;
                match poll {
                    Poll::Ready(()) => {
                        tick.completed += 1;
                        // SAFETY: the future is gone (the stage holds the output); owner thread.
                        unsafe { self.complete(task) };
                    }
                    Poll::Pending => match header.state.end_poll() {
                        EndPoll::Idle => {}
                        EndPoll::Reschedule => {
                            self.trace(|| trace::TraceKind::Wake(Some(header.id)));
                            self.woken.set(self.woken.get() + 1);
                            self.queue.push(Entry::Task(task));
                        }
                        EndPoll::Cancel => {
                            tick.completed += 1;
                            // SAFETY: no longer RUNNING, not complete: the future may be
                            // dropped (I6).
                            unsafe { self.cancel(task) };
                        }
                    },
                }
            }
        }
    }

    /// A wake on the owner thread while the executor runs.
    ///
    /// # Safety
    /// Owner thread with this executor entered (I8); the caller holds or borrows a reference.
    pub(crate) unsafe fn wake_local(&self, task: NonNull<Header>) {
        if self.closing.get() {
            return;
        }
        // SAFETY: alive per the caller; owner thread (I3).
        let header = unsafe { task.as_ref() };
        if header.state.wake() == state::Wake::Schedule {
            self.trace(|| trace::TraceKind::Wake(Some(header.id)));
            self.woken.set(self.woken.get() + 1);
            self.queue.push(Entry::Task(task));
        }
    }

    /// The `block_on` future's waker fired on the owner thread.
    fn wake_main(&self, main: &Arc<MainWake>) {
        if self.closing.get() || self.main.get() != Arc::as_ptr(main) || self.main_queued.get() {
            return;
        }
        self.main_queued.set(true);
        self.trace(|| trace::TraceKind::Wake(None));
        self.woken.set(self.woken.get() + 1);
        self.queue.push(Entry::Main);
    }

    /// Installs the future of a `block_on`, queued for its first poll.
    fn set_main(&self, main: &Arc<MainWake>) -> MainGuard<'_> {
        self.adopt_main(main);
        MainGuard {
            core: self,
            main: Arc::as_ptr(main),
        }
    }

    /// Makes `main` the executor's main future and queues its first poll (no-op if it already is).
    fn adopt_main(&self, main: &Arc<MainWake>) {
        let current = self.main.get();
        if current == Arc::as_ptr(main) {
            return;
        }
        assert!(
            current.is_null(),
            "greenloop: another block_on/run future is already driving this executor"
        );
        self.main.set(Arc::as_ptr(main));
        self.main_queued.set(true);
        self.queue.push(Entry::Main);
    }

    fn clear_main(&self, main: &Arc<MainWake>) {
        if self.main.get() == Arc::as_ptr(main) {
            self.main.set(std::ptr::null());
            if self.main_queued.replace(false) {
                self.queue.remove_main();
            }
        }
    }

    /// Drops the task's future (cancellation) and completes it.
    ///
    /// The future is dropped under `RUNNING` (`start_cancel`), like a poll: a destructor that
    /// cancels the same task again gets `Deferred`, and a wake only sets `NOTIFIED` (I6).
    ///
    /// # Safety
    /// Owner thread; the task is neither `COMPLETE` nor `RUNNING` (I6); the caller holds a
    /// reference.
    pub(crate) unsafe fn cancel(&self, task: NonNull<Header>) {
        // SAFETY: alive per the caller; owner thread.
        unsafe { task.as_ref() }.state.start_cancel();
        // SAFETY: RUNNING is now set by us, so this drop is the only access to the stage (I6).
        unsafe { Header::cancel_future(task) };
        // SAFETY: the future is gone now.
        unsafe { self.complete(task) };
    }

    /// The future is gone: wake the joiner, drop a detached output, release if not queued.
    ///
    /// # Safety
    /// Owner thread; the task's stage no longer holds the future; the caller holds a
    /// reference (the executor's counts).
    pub(crate) unsafe fn complete(&self, task: NonNull<Header>) {
        // SAFETY: alive per the caller; owner thread (I3).
        let header = unsafe { task.as_ref() };
        let done = header.state.complete();
        self.trace(|| trace::TraceKind::Complete(header.id));
        // SAFETY: owner thread; nothing else holds a borrow of the join waker (I3).
        let joiner = unsafe { (*header.join_waker.get()).take() };
        if !done.keep_output {
            // SAFETY: complete and not running: exclusive access to the stage (I5, I6).
            unsafe { Header::drop_stage(task) };
        }
        if done.release_now {
            // SAFETY: complete and not queued (I4).
            unsafe { self.release(task) };
        }
        if let Some(joiner) = joiner {
            // A foreign waker may panic; the task's bookkeeping is done (tokio swallows it too).
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| joiner.wake()));
        }
    }

    /// Removes a complete, unqueued task from the list and gives up the executor's reference.
    ///
    /// # Safety
    /// Owner thread; the task is complete, not queued, not yet released.
    unsafe fn release(&self, task: NonNull<Header>) {
        // SAFETY: the executor's reference keeps it alive until the drop_ref below (I2).
        let header = unsafe { task.as_ref() };
        header.state.release();
        self.tasks.borrow_mut().remove(header.slot.get(), task);
        if header.state.is_named() {
            self.names.borrow_mut().remove(&header.id);
        }
        // SAFETY: gives up the executor's reference (I2); may free the task.
        unsafe { Header::drop_ref(task) };
    }

    /// The name of a task of the executor running on this thread, if it has one.
    pub(crate) fn name_of(header: &Header) -> Option<String> {
        let core = header.shared.owner_core();
        if core.is_null() {
            return None;
        }
        // SAFETY: called on the owner thread (from the task's poll, cancel or completion);
        // non-null means the executor is alive (I9).
        let core = unsafe { &*core };
        core.names
            .borrow()
            .get(&header.id)
            .map(|name| name.to_string())
    }
}

/// The executor's list of live tasks: a slab whose freed slots are reused (a free list), so
/// that releasing a task touches only its own slot, never another task's header.
#[derive(Default)]
struct TaskList {
    slots: Vec<Option<NonNull<Header>>>,
    free: Vec<u32>,
    len: usize,
}

// === impl TaskList ===

impl TaskList {
    /// Stores `task`; returns its slot.
    fn insert(&mut self, task: NonNull<Header>) -> u32 {
        self.len += 1;
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(task);
                slot
            }
            None => {
                let slot = u32::try_from(self.slots.len())
                    .expect("greenloop: more than 4 billion live tasks");
                self.slots.push(Some(task));
                slot
            }
        }
    }

    fn remove(&mut self, slot: u32, task: NonNull<Header>) {
        debug_assert!(self.holds(slot, task), "task list slot out of sync");
        self.slots[slot as usize] = None;
        self.free.push(slot);
        self.len -= 1;
    }

    fn holds(&self, slot: u32, task: NonNull<Header>) -> bool {
        self.slots.get(slot as usize) == Some(&Some(task))
    }

    fn len(&self) -> usize {
        self.len
    }

    /// A snapshot of the live tasks with their slots.
    fn live(&self) -> Vec<(u32, NonNull<Header>)> {
        let slots = self.slots.iter().enumerate();
        slots
            .filter_map(|(slot, task)| Some((slot as u32, (*task)?)))
            .collect()
    }
}

// === free functions: the current executor ===

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
    context::with_core(|core| core.expect(OUTSIDE).spawn(future, name, location))
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
            .map(|task| unsafe { task.as_ref() }.id)
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
