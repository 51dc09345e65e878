//! The scheduler: `Core`, the executor's state, and the tick — polling, wakes, completion,
//! release — plus the table of spawn locations and the scope guards of a running executor.
//!
//! The `// SAFETY:` comments cite the invariants I1–I15 of `executor/mod.rs`.
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::ptr::{self, NonNull};
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use crate::time::driver::{self as time_driver, Driver};

use super::arena::Arena;
use super::raw::{self, Header};
use super::run_queue::{Entry, Inject, MainWake, RunQueue, Shared};
use super::state::{self, EndPoll, StartPoll, State};
use super::{Deadlock, JoinHandle, Schedule, TaskId, Tick, context, diag, trace};

/// The executor's state, at a stable address (the `Executor` may move; `Rc<Core>` does not).
pub(crate) struct Core {
    pub(super) shared: Arc<Shared>,
    pub(super) queue: RunQueue,
    /// Where the tasks live; its live bits are the list of tasks not yet released.
    pub(crate) arena: Arena,
    /// Spawn locations, each stored once; a task keeps an index (`Header::location`).
    pub(super) locations: RefCell<Vec<&'static Location<'static>>>,
    /// Index of each location in `locations`, and the last one looked up (a loop of spawns
    /// comes from one call site).
    pub(super) location_ids: RefCell<HashMap<*const Location<'static>, u32>>,
    pub(super) last_location: Cell<(*const Location<'static>, u32)>,
    /// Names of the tasks spawned with one (`state` has NAMED).
    pub(super) names: RefCell<HashMap<TaskId, Rc<str>>>,
    pub(super) next_id: Cell<u64>,
    pub(super) schedule: Schedule,
    pub(super) rng: Cell<u64>,
    /// The `block_on`/`run` future's waker, for identity checks; null when none runs.
    pub(super) main: Cell<*const MainWake>,
    pub(super) main_queued: Cell<bool>,
    /// The task being polled.
    pub(super) current: Cell<Option<NonNull<Header>>>,
    /// The executor is being dropped: wakes are ignored.
    pub(super) closing: Cell<bool>,
    /// Tasks made ready since the tick began.
    pub(super) woken: Cell<usize>,
    /// Reused buffer for draining the inject queue.
    pub(super) inject: RefCell<Vec<Inject>>,
    /// Whether the executor is running on its thread right now (entered).
    pub(super) active: Cell<bool>,
    /// `JoinHandle::cancel` calls under way (they drop futures, whose destructors run any
    /// code, from outside the executor too), and whether the `Executor` was dropped by one of
    /// them meanwhile: its shutdown then waits for the last to finish (I10).
    pub(super) cancels: Cell<u32>,
    pub(super) shutdown_deferred: Cell<bool>,
    /// Timers and the clock (real or virtual), shared with every `Sleep`.
    pub(super) time: Rc<Driver>,
    /// The scheduler trace, when enabled.
    pub(super) tracer: Option<trace::Tracer>,
}

// === impl Core ===

/// Marks the executor as running on this thread for a scope (see I8).
pub(super) struct Entered<'a> {
    core: &'a Core,
    _enter: context::Enter,
    /// Makes the executor's timer driver the one `sleep` uses.
    _time: time_driver::EnterGuard,
}

impl<'a> Entered<'a> {
    pub(super) fn new(core: &'a Core) -> Entered<'a> {
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
pub(super) struct MainGuard<'a> {
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
    pub(crate) fn owns(&self, shared: &Shared) -> bool {
        std::ptr::eq(Arc::as_ptr(&self.shared), shared)
    }

    #[track_caller]
    pub(super) fn spawn<F>(
        &self,
        future: F,
        name: Option<String>,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let id = TaskId(self.next_id.get());
        assert!(id.0 <= State::MAX_ID, "greenloop: task ids exhausted");
        self.next_id.set(id.0 + 1);
        let named = name.is_some();
        let location = self.location_id(location);
        let task = raw::allocate(&self.arena, future, id, location, named);
        if let Some(name) = name {
            self.names.borrow_mut().insert(id, name.into());
        }
        self.trace(|| trace::TraceKind::Spawn {
            task: id,
            name: self.name(id),
        });
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
    pub(super) fn tick(&self, main: &mut dyn FnMut()) -> Tick {
        self.woken.set(0);
        self.arena.drain_remote_frees();
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
        tick.has_ready = self.has_work();
        tick
    }

    /// Nothing is ready: park until a wake or the next timer deadline; on a virtual clock,
    /// jump to that deadline instead of waiting.
    /// With no timer pending, a `block_on` checks for a deadlock before parking for good.
    pub(super) fn wait_for_work(&self, main: Option<&Arc<MainWake>>) -> Result<(), Deadlock> {
        if self.time.is_virtual() {
            // In nanoseconds: reading it is one load, where an `Instant` costs a conversion
            // at every jump, traced or not.
            let before = self.time.now_ns();
            if self.time.jump_to_next_deadline() {
                self.trace(|| trace::TraceKind::ClockJump {
                    by: Duration::from_nanos(self.time.now_ns() - before),
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
    pub(super) fn trace(&self, event: impl FnOnce() -> trace::TraceKind) {
        if let Some(tracer) = &self.tracer {
            tracer.record(self.time.now(), event());
        }
    }

    /// A task's name, if it has one.
    pub(super) fn name(&self, id: TaskId) -> Option<String> {
        self.names.borrow().get(&id).map(|name| name.to_string())
    }

    /// The index of a spawn location in `locations`, adding it the first time.
    #[inline]
    fn location_id(&self, location: &'static Location<'static>) -> u32 {
        let (last, id) = self.last_location.get();
        if ptr::eq(last, location) {
            return id; // a loop spawning from one call site
        }
        self.intern_location(location)
    }

    /// The slow path of [`Core::location_id`]: look the location up, or add it.
    #[cold]
    #[inline(never)]
    fn intern_location(&self, location: &'static Location<'static>) -> u32 {
        let key: *const Location<'static> = location;
        let mut locations = self.locations.borrow_mut();
        let id = *self
            .location_ids
            .borrow_mut()
            .entry(key)
            .or_insert_with(|| {
                locations.push(location);
                u32::try_from(locations.len() - 1).expect("greenloop: 4 billion spawn sites")
            });
        self.last_location.set((key, id));
        id
    }

    /// A task's spawn location.
    pub(super) fn location(&self, header: &Header) -> &'static Location<'static> {
        self.locations.borrow()[header.location as usize]
    }

    /// Whether anything is ready or waits in the inject queue.
    pub(super) fn has_work(&self) -> bool {
        !self.queue.is_empty() || self.shared.has_remote()
    }

    /// Calls `f` with a view of every live task (for diagnostics).
    pub(super) fn for_each_task(&self, mut f: impl FnMut(diag::TaskView<'_>)) {
        for task in self.arena.live_tasks() {
            // SAFETY: live tasks are alive (the owner side's reference, I2) and `f` runs no
            // user code, so none is released meanwhile; owner thread (I3).
            let header = unsafe { task.as_ref() };
            let name = match header.state.is_named() {
                true => self.name(header.id()),
                false => None,
            };
            let (refs, remote_queued) = header.load_refs();
            // Owner thread; the join waker is only looked at (I3).
            header.join.with(|join_waker| {
                f(diag::TaskView {
                    id: header.id(),
                    name,
                    state: header.state.describe(),
                    location: self.location(header),
                    wakers: diag::wakers_of(refs, header.state.deferred(), remote_queued),
                    join_waker,
                });
            });
        }
    }

    /// Moves remote wakes into the local run queue.
    pub(super) fn drain_inject(&self) {
        if !self.shared.has_remote() {
            return; // the common case: one atomic load per tick
        }
        let mut entries = std::mem::take(&mut *self.inject.borrow_mut());
        self.shared.drain(&mut entries);
        for entry in entries.drain(..) {
            match entry {
                Inject::Task(task) => {
                    let ptr = task.as_ptr();
                    // SAFETY: the entry owns a reference (I2); the flag is atomic.
                    unsafe { ptr.as_ref() }.clear_remote_queued();
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
    pub(super) fn run_task(&self, task: NonNull<Header>, tick: &mut Tick) {
        // SAFETY: queued tasks are alive (I4); owner thread (I3).
        let header = unsafe { task.as_ref() };
        match header.state.start_poll() {
            // SAFETY: complete and no longer queued: the executor may release it (I4).
            StartPoll::Release => unsafe { self.release(task) },
            StartPoll::Skip => {}
            StartPoll::Poll => {
                self.trace(|| trace::TraceKind::Poll(Some(header.id())));
                self.current.set(Some(task));
                // SAFETY: start_poll set RUNNING (I6); not released, so the owner side's
                // reference keeps it alive (I2).
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
                            self.trace(|| trace::TraceKind::Wake(Some(header.id())));
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
            self.trace(|| trace::TraceKind::Wake(Some(header.id())));
            self.woken.set(self.woken.get() + 1);
            self.queue.push(Entry::Task(task));
        }
    }

    /// The `block_on` future's waker fired on the owner thread.
    pub(super) fn wake_main(&self, main: &Arc<MainWake>) {
        if self.closing.get() || self.main.get() != Arc::as_ptr(main) || self.main_queued.get() {
            return;
        }
        self.main_queued.set(true);
        self.trace(|| trace::TraceKind::Wake(None));
        self.woken.set(self.woken.get() + 1);
        self.queue.push(Entry::Main);
    }

    /// Installs the future of a `block_on`, queued for its first poll.
    pub(super) fn set_main(&self, main: &Arc<MainWake>) -> MainGuard<'_> {
        self.adopt_main(main);
        MainGuard {
            core: self,
            main: Arc::as_ptr(main),
        }
    }

    /// Makes `main` the executor's main future and queues its first poll (no-op if it already is).
    pub(super) fn adopt_main(&self, main: &Arc<MainWake>) {
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

    pub(super) fn clear_main(&self, main: &Arc<MainWake>) {
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
        self.trace(|| trace::TraceKind::Complete(header.id()));
        // Owner thread (I3).
        let joiner = header.join.take();
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

    /// Removes a complete, unqueued task from the list; if the `JoinHandle` is gone too, gives
    /// up the owner side's reference and the deferred ones (else the handle's drop will).
    ///
    /// # Safety
    /// Owner thread; the task is complete, not queued, not yet released.
    pub(super) unsafe fn release(&self, task: NonNull<Header>) {
        // SAFETY: the owner side's reference keeps it alive (I2): the executor's share of it
        // goes only at the end of this function, and the handle's, if any, outlives the call.
        let header = unsafe { task.as_ref() };
        let release = header.state.release();
        // SAFETY: owner thread; alive (above) and live until now.
        unsafe { self.arena.release(task) };
        if header.state.is_named() {
            self.names.borrow_mut().remove(&header.id());
        }
        if release.drop_refs > 0 {
            // SAFETY: the handle is gone and the executor lets go: the owner side's reference
            // and the deferred ones are the executor's to give up (I2); may free the task.
            unsafe { Header::drop_refs(task, release.drop_refs) };
        }
    }

    /// Gives up a task waker's reference, on the owner thread with this executor running (I8):
    /// while the executor or the handle holds the owner side's reference, by counting it in
    /// the state word instead of an atomic decrement (I2).
    ///
    /// # Safety
    /// Owner thread, this executor running; the task is this executor's and the caller owns
    /// the reference it gives up.
    #[inline]
    pub(crate) unsafe fn drop_waker_ref(&self, task: NonNull<Header>) {
        // SAFETY: alive: the caller's reference (I2); owner thread (I3).
        let header = unsafe { task.as_ref() };
        let drop_now = header.state.defer_drop();
        if drop_now > 0 {
            // SAFETY: the caller's reference (and any deferred ones taken with it); a
            // deferred flush never frees: the owner side's reference is still counted.
            unsafe { Header::drop_refs(task, drop_now) };
        }
    }

    /// The executor of a task, while it exists.
    ///
    /// # Safety
    /// Owner thread; the caller holds or borrows a reference to `task` (I2); the borrow must
    /// not outlive the call that made it (the executor is not dropped meanwhile).
    pub(crate) unsafe fn of<'a>(task: NonNull<Header>) -> Option<&'a Core> {
        // SAFETY: alive per the caller, so its `Shared` is (I14).
        let core = unsafe { Header::shared(task) }.owner_core();
        // SAFETY: non-null means the executor is alive; owner thread (I9).
        unsafe { core.as_ref() }
    }
}

/// The last step of `Executor::drop`: forget the run queue, close the inject queue (giving
/// back its references), and null `owner_core` (I9, I10).
pub(super) struct CloseOnDrop<'a>(pub(super) &'a Core);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        let core = self.0;
        // Runs last, even if the host's waker or hook panics when dropped below: the `Core`'s
        // `Arc<Shared>` goes right after this, so the pages must be Shared's by then (I14).
        let _close_arena = CloseArena(core);
        core.queue.take_all();
        let (entries, host) = core.shared.close();
        for entry in entries {
            if let Inject::Task(task) = &entry {
                // SAFETY: the entry owns a reference (I2); the flag is atomic.
                unsafe { task.as_ptr().as_ref() }.clear_remote_queued();
            }
            drop(entry); // gives up the entry's reference
        }
        core.inject.borrow_mut().clear();
        // User code: their destructors may do anything, panic included, and spawn (still
        // inside the executor): such tasks are cancelled too, before the arena closes (I10).
        // Not while unwinding: shutdown's pass may be what unwound, leaving a task mid-cancel.
        drop(host);
        if !std::thread::panicking() {
            core.cancel_live_tasks();
        }
    }
}

/// The very last steps of `CloseOnDrop`: null `owner_core` and hand the arena's pages to
/// `Shared` (I9, I14). A guard of its own, so that an unwinding destructor cannot skip it.
struct CloseArena<'a>(&'a Core);

impl Drop for CloseArena<'_> {
    fn drop(&mut self) {
        let core = self.0;
        core.shared.set_owner_core(std::ptr::null());
        // Last: the steps before may free tasks through the owner's path.
        core.arena.close(&core.shared);
    }
}
