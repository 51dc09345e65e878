//! The executor: tasks, the run queue, ticks, wakers and parking.
//!
//! - `mod.rs`      [`Executor`], its builder, `block_on`/`tick`, the free functions, invariants
//! - `scheduler.rs` `Core`: the tick, wakes, completion, release; spawn locations; scope guards
//! - `run.rs`      [`Run`]: the executor as a future for another `block_on`
//! - `diag.rs`     [`TaskDump`] and the [`Deadlock`] report
//! - `trace.rs`    the opt-in scheduler trace ([`TraceEvent`])
//! - `task.rs`     [`JoinHandle`], [`JoinError`], [`TaskId`]: the user's side of a task
//! - `raw.rs`      the task cell (header + future/output), its typed vtable, the join slot
//! - `arena.rs`    the pages the task cells live in, by size class; the live bits (task list)
//! - `state.rs`    the task state bits and their transitions
//! - `waker.rs`    the only place a task `Waker` is built; local and remote wake paths
//! - `run_queue.rs` the local FIFO, the inject queue for remote wakes, the parker
//! - `context.rs`  the thread-local current executor; refuses nesting
//! - `current.rs`  the free functions on it: `spawn`, `run`, `try_run`, `block_on`
//! - `prefetch.rs` a cache hint for the task behind a waker, for the timers
//! - `indexed.rs`  per-child wakers in one allocation, and pinned slice elements, for the
//!   combinators (gather, race, as_completed) outside this module
//!
//! # Task lifecycle
//! ```text
//!  spawn ─(1)─► run queue ──(2) tick: pop front──► RUNNING: poll(cx = task's waker)
//!  (SCHEDULED)     ▲                                  │ (3) Pending          │ (4) Ready / panic
//!                  │                                  ▼                      ▼
//!                  └──(5) wake: push, unless ───── IDLE: its waker is     COMPLETE: output stored
//!                      already queued              held by whatever it    (or dropped if detached),
//!                                                  waits on               JoinHandle's waker woken (6),
//!                                                                         released by the executor (I2)
//!  Woken while RUNNING: only NOTIFIED is set; the task is queued at (3) when the poll returns.
//!  cancel(): IDLE or queued → the future is dropped now → COMPLETE; RUNNING → dropped after (3).
//! ```
//! (1) [`Executor::spawn`] (2) `Core::tick` → `Core::run_task` (3) `State::end_poll`
//! (4) `Core::complete` (5) `waker::schedule` → `Core::wake_local` or `run_queue::wake_remote`
//! (6) `Core::complete`.
//!
//! # Invariants
//! The `// SAFETY:` comments of this module cite these.
//! - **I1 layout.** A task is one arena cell holding `raw::TaskCell<F>`, `#[repr(C)]` with the
//!   `Header` first, so a `NonNull<Header>` is also the cell's address. Only the header's
//!   `vtable`, built for that same `F`, casts it back.
//! - **I2 references.** `Header::refs` counts the owners of the allocation: the owner side, once
//!   for both the executor (from spawn until it releases the task, `RELEASED`) and the
//!   `JoinHandle` (until dropped, `HANDLE`), whose presence the state bits track (owner thread,
//!   I3) and whose reference goes with the second of the two to leave; every `Waker`; every
//!   inject-queue entry. Whoever drops the last one frees the task, on any thread. Entries of the
//!   local run queue own no reference (see I4). A borrowed waker (for a poll) owns none either.
//!   A waker dropped (or consumed by a wake) on the owner thread, with the executor running
//!   and the owner side's reference held, is not taken off `refs` at once: the state word
//!   counts it (up to 255, then all go at once), and whichever of executor and handle leaves
//!   last takes the count off with the owner side's reference, in one step. While the count is
//!   nonzero, `refs` still holds the owner side's reference, so no other thread's drop can
//!   reach zero: deferring only keeps a task alive longer, never shorter.
//! - **I3 owner thread.** The state bits, the join slot and the stage (future or output) are
//!   touched only on the executor's thread, and so are the `Cell`s of the arena and its page
//!   headers. Other threads touch only `refs` (an atomic, with the remote-queued bit) and read
//!   the immutable `vtable`, `location`, the id (an atomic beside the state bits) and the
//!   page's `shared`.
//! - **I4 run queue.** A task is in the local run queue exactly when `SCHEDULED` is set, at most
//!   once. A `SCHEDULED` task is never released, so the owner side's reference keeps queued
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
//!   is null afterwards; it is read and written only on the owner thread. It is `Rc::as_ptr` of
//!   the executor's `Rc<Core>`, with that whole allocation's provenance, so `JoinHandle::cancel`
//!   rebuilds the `Rc` from it (never from a `&Core`, which covers only the `Core`).
//! - **I10 shutdown.** Dropping the executor drops every future still alive, releases every
//!   task, and closes the inject queue, so that later remote wakes just give up their reference;
//!   the closing step runs in a drop guard, so it happens even if something unwinds. Hence an
//!   unfinished task implies a live executor.
//! - **I11 indexed wakers.** The data pointer of a child waker of `indexed::IndexedWakers` is
//!   the address of entry `i` of its `children` table, and that entry holds the address of the
//!   `Inner` that owns the table, as `Arc::into_raw` returned it (the pointer that
//!   `Arc::increment_strong_count` and `decrement_strong_count` require), written once, before
//!   the `Arc` is shared. An owned child
//!   waker owns one strong reference of that `Arc`; a borrowed one (`with_waker`) owns none and
//!   lives only inside a call that borrows an `IndexedWakers`, which owns one. So while any child
//!   waker exists, its entry and the `Inner` are alive.
//! - **I13 pages.** Every task cell lies in the first `arena::PAGE` bytes of a page allocated
//!   with `arena::PAGE` alignment, whose `Page` header sits at that aligned address: so the page
//!   of a cell is its address rounded down. The header's `shared`, size and class fields are
//!   written before any cell of the page is handed out and do not change while one is (a
//!   spare large page gets a fresh header before it is used again). A page is given back to the
//!   allocator only by its owner, only when none of its cells is handed out, and never while
//!   the executor is being dropped (`keep_pages`); after shutdown, only with `Shared`, on
//!   whichever thread drops it, when no cell is allocated any more (I14). So while a task is
//!   alive (I2), its page is.
//! - **I14 shared lifetime.** A page's `shared` points to its executor's `Shared`, which
//!   outlives every page: the `Core` holds it while the executor exists; at shutdown
//!   (`Arena::close`, the last step of `Executor::drop`) the pages move into `Shared` and, if
//!   any cell is still allocated, one strong count is set aside for them, dropped by whoever
//!   frees the last one (`RemoteFrees::orphans`). `Shared` frees the pages when it is dropped.
//! - **I15 frees.** A cell is freed exactly once, when its last reference goes (I2), after its
//!   contents are dropped (I5). On the owner thread with its executor entered (I8) and not
//!   closed, it goes straight back to its page; anywhere else it is pushed, its first word
//!   becoming the link, on the lock-free `RemoteFrees` stack, which only the owner takes from,
//!   whole (so no ABA), at each tick and at shutdown. After shutdown a free only counts down.
//! - **I12 pinned slices.** The elements of a pinned slice are pinned: `Pin<&mut [T]>` offers
//!   no way to move, swap or resize them, so `indexed::pin_index` may project to one.
#![allow(unsafe_code)]

#[cfg(test)]
mod alloc_tests;
mod arena;
#[cfg(test)]
mod arena_shutdown_tests;
#[cfg(test)]
mod arena_tests;
mod context;
mod current;
mod diag;
pub(crate) mod indexed;
#[cfg(test)]
mod indexed_tests;
mod prefetch;
mod raw;
mod run;
mod run_queue;
mod scheduler;
mod state;
mod task;
mod trace;
mod waker;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::time::driver::Driver;

pub use current::{block_on, run, spawn, try_run};
pub(crate) use current::{current_task_id, spawn_named, spawn_named_on};
pub use diag::{Deadlock, TaskDump, TaskInfo};
pub use run::Run;
pub use task::{JoinError, JoinHandle, TaskId};
pub use trace::{TraceEvent, TraceKind};

use arena::Arena;
pub(crate) use prefetch::prefetch_task;
pub(crate) use scheduler::Core;
use scheduler::{CloseOnDrop, Entered};

use run_queue::{Entry, MainWake, RunQueue, Shared};

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
    /// An `Rc` (never cloned) rather than a `Box`: `Shared::owner_core` points into the `Core`,
    /// and moving a `Box` (every move of the `Executor`) asserts unique access to it, which
    /// invalidates that pointer under Stacked Borrows (I9).
    core: Rc<Core>,
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
    /// # Panics
    /// If the future is aligned to more than 128 KiB (the task arena's limit).
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
        Run::new(self, future)
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
        self.core.has_work()
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
        self.core.arena.live_count()
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
    /// waker or handle still holds (I10). Dropped by a future's destructor that a
    /// `JoinHandle::cancel` runs, it leaves that to the cancel, which finishes first.
    fn drop(&mut self) {
        let core = &*self.core;
        if core.cancels.get() > 0 {
            // The cancel holds the `Core` alive (`CancelGuard`) and shuts it down when done.
            core.shutdown_deferred.set(true);
            return;
        }
        core.shut_down();
    }
}

impl Core {
    /// The executor's shutdown: see `Executor::drop`.
    pub(super) fn shut_down(&self) {
        let core = self;
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
        // Pages stay until the end, so that a snapshot's tasks can be checked even after they
        // were freed.
        core.arena.keep_pages();
        core.cancel_live_tasks();
    }

    /// Shutdown's pass over the tasks: cancels or releases every live task. Destructors may
    /// spawn, cancel or release other tasks: works from snapshots until no task is live,
    /// skipping those released in the meantime. Inside `shut_down` (after `keep_pages`).
    pub(super) fn cancel_live_tasks(&self) {
        let core = self;
        loop {
            let mut live = core.arena.live_tasks();
            if live.is_empty() {
                break;
            }
            // In spawn order, so that destructors run in a predictable order.
            // SAFETY: live tasks are alive (the owner side's reference, I2); the id is immutable.
            live.sort_unstable_by_key(|task| unsafe { task.as_ref() }.id());
            for task in live {
                // SAFETY: from `live_tasks` after `keep_pages`: its page is still alive.
                if !unsafe { core.arena.is_live(task) } {
                    continue;
                }
                // SAFETY: live tasks are alive (the owner side's reference, I2); owner thread.
                let header = unsafe { task.as_ref() };
                header.state.unschedule(); // it may have been spawned during this drop
                if header.state.is_complete() {
                    // SAFETY: complete and, after `unschedule`, not queued (I4).
                    unsafe { core.release(task) };
                } else {
                    // SAFETY: not RUNNING: no tick runs during the shutdown, nor does it start
                    // while a `JoinHandle::cancel` is under way (`Executor::drop` leaves it to
                    // the cancel), and a cancel started from a destructor below finishes
                    // before this loop goes on (I6).
                    unsafe { core.cancel(task) };
                }
            }
        }
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
        let shared = Arc::new(Shared::new());
        let core = Box::new(Core {
            arena: Arena::new(&shared),
            shared,
            queue: RunQueue::default(),
            locations: RefCell::new(Vec::new()),
            location_ids: RefCell::new(HashMap::new()),
            last_location: Cell::new((std::ptr::null(), 0)),
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
            cancels: Cell::new(0),
            shutdown_deferred: Cell::new(false),
            time: Driver::new(self.virtual_clock),
            tracer: None,
        });
        let mut core = core;
        if self.trace {
            core.tracer = Some(trace::Tracer::new(core.time.now()));
        }
        let core = Rc::<Core>::from(core);
        core.shared.set_owner_core(Rc::as_ptr(&core));
        Executor { core }
    }
}
