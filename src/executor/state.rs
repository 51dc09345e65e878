//! A task's state bits and the pure transitions between them.
//!
//! The state bits are read and written only on the executor's own thread (invariant I3 in
//! `executor/mod.rs`). Wakes from other threads never touch them; they go through the inject
//! queue and are applied here by the owner thread. They share one word with the count of
//! deferred waker references (bits 8..16, owner thread too, I2) and the task's id
//! (bits 16..64), which never changes and which any thread may read: so the word is an
//! `AtomicU64` used with plain loads and stores (no read-modify-write; on x86 the same
//! instructions as a `Cell`).
//!
//! Each transition is a method that updates the bits and returns a `#[must_use]` action for its
//! one caller to carry out, so that every effect (queueing, dropping a future, releasing a
//! reference) is visible at the call site [maitake `task/state.rs`, tokio `task/state.rs`].
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::task::TaskId;

/// The task sits in the local run queue. Set by [`State::wake`] and [`State::end_poll`]
/// (reschedule); cleared by [`State::start_poll`]. Never set on a `COMPLETE` task.
const SCHEDULED: u64 = 1 << 0;
/// The task's future is being polled. Set and cleared by `start_poll`/`end_poll`/`complete`.
const RUNNING: u64 = 1 << 1;
/// The task was woken while `RUNNING`; `end_poll` turns this into `SCHEDULED` (asyncio: a task
/// woken during its own step runs in the next tick).
const NOTIFIED: u64 = 1 << 2;
/// The future has been dropped: the task finished, panicked or was cancelled. Final.
const COMPLETE: u64 = 1 << 3;
/// A `JoinHandle` exists. Cleared when the handle is dropped.
const HANDLE: u64 = 1 << 4;
/// `cancel()` was called while the task was `RUNNING` (a task cancelling itself); the future is
/// dropped as soon as the poll returns.
const CANCELLED: u64 = 1 << 5;
/// The executor has let go of the task: it left the executor's task list, and the owner side's
/// reference (I2) goes with it if the `JoinHandle` is gone too. Final.
const RELEASED: u64 = 1 << 6;
/// The task has a name in the executor's name table.
const NAMED: u64 = 1 << 7;

/// Waker references dropped on the owner thread but still counted in `Header::refs`, in bits
/// 8..16 (I2): see [`State::defer_drop`].
const DEFERRED_SHIFT: u32 = 8;
/// The most references the deferred count holds; the next drop takes them all off at once.
const DEFERRED_MAX: u64 = 0xff;
/// Where the id starts in the word.
const ID_SHIFT: u32 = 16;

/// A task's state bits (owner thread only) and its id (immutable).
#[derive(Debug)]
pub(crate) struct State(AtomicU64);

/// What the caller of [`State::wake`] must do.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Push the task to the back of the run queue.
    Schedule,
    /// Nothing: already queued, complete, or running (then `NOTIFIED` was set).
    Nothing,
}

/// What the tick must do with a task it popped from the run queue.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StartPoll {
    /// Poll the future.
    Poll,
    /// The task was cancelled while queued: release it (`Core::release`, I2).
    Release,
    /// Nothing: a cancel is dropping the future right now (see `start_poll`).
    Skip,
}

/// What the tick must do after a poll returned `Pending`.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EndPoll {
    /// Nothing: the task waits for a wake.
    Idle,
    /// It was woken during the poll: push it to the back of the run queue.
    Reschedule,
    /// It cancelled itself during the poll: drop the future and complete it now.
    Cancel,
}

/// What the completion path must do once the future is gone.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Complete {
    /// A `JoinHandle` exists and will take the output; otherwise drop the output now.
    pub(crate) keep_output: bool,
    /// The task is not in the run queue, so the executor may release it now;
    /// otherwise the tick releases it when it pops the entry.
    pub(crate) release_now: bool,
}

/// What the executor must do as it releases a task.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Release {
    /// References to take off `Header::refs` now: if the `JoinHandle` is gone too, the owner
    /// side's and the deferred ones (I2).
    pub(crate) drop_refs: u32,
}

/// What `JoinHandle::drop` must do.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DropHandle {
    /// The task is complete: drop its output, if the handle did not take it.
    pub(crate) drop_output: bool,
    /// References to take off `Header::refs` now: if the executor has released the task, the
    /// owner side's and the deferred ones, which go with the handle (I2).
    pub(crate) drop_refs: u32,
}

/// What `JoinHandle::cancel` must do.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Cancel {
    /// Already complete: nothing to do.
    Nothing,
    /// The task is running (it cancelled itself); the tick drops the future after the poll.
    Deferred,
    /// Drop the future now and run the completion path.
    Now,
}

impl State {
    /// The largest task id.
    pub(crate) const MAX_ID: u64 = u64::MAX >> ID_SHIFT;

    /// A freshly spawned task: queued for its first poll, with a `JoinHandle`.
    pub(crate) fn new_spawned(id: TaskId, named: bool) -> State {
        debug_assert!(id.0 <= State::MAX_ID);
        let bits = SCHEDULED | HANDLE | if named { NAMED } else { 0 };
        State(AtomicU64::new(id.0 << ID_SHIFT | bits))
    }

    /// The task's id. Any thread.
    pub(crate) fn id(&self) -> TaskId {
        TaskId(self.0.load(Relaxed) >> ID_SHIFT)
    }

    /// The whole word; transitions keep its id bits as they are.
    fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }

    fn set(&self, word: u64) {
        self.0.store(word, Relaxed);
    }

    /// A wake: queue the task unless it is queued, running or complete.
    pub(crate) fn wake(&self) -> Wake {
        let s = self.get();
        if s & (COMPLETE | SCHEDULED) != 0 {
            Wake::Nothing
        } else if s & RUNNING != 0 {
            self.set(s | NOTIFIED);
            Wake::Nothing
        } else {
            self.set(s | SCHEDULED);
            Wake::Schedule
        }
    }

    /// The tick popped the task from the run queue.
    pub(crate) fn start_poll(&self) -> StartPoll {
        let s = self.get();
        debug_assert!(
            s & SCHEDULED != 0,
            "popped a task that was not SCHEDULED: {:#010b}",
            s as u8
        );
        debug_assert!(
            s & RELEASED == 0,
            "popped a released task: {:#010b}",
            s as u8
        );
        if s & COMPLETE != 0 {
            self.set(s & !SCHEDULED);
            StartPoll::Release
        } else if s & RUNNING != 0 {
            // A `JoinHandle::cancel` is dropping the future, and its destructor ran a tick: the
            // cancel completes the task, and releases it since it is no longer queued.
            self.set(s & !SCHEDULED);
            StartPoll::Skip
        } else {
            self.set((s & !SCHEDULED) | RUNNING);
            StartPoll::Poll
        }
    }

    /// The poll returned `Pending`.
    pub(crate) fn end_poll(&self) -> EndPoll {
        let s = self.get();
        debug_assert!(
            s & RUNNING != 0,
            "end_poll on a task that was not RUNNING: {:#010b}",
            s as u8
        );
        if s & CANCELLED != 0 {
            self.set(s & !(RUNNING | NOTIFIED));
            EndPoll::Cancel
        } else if s & NOTIFIED != 0 {
            self.set((s & !(RUNNING | NOTIFIED)) | SCHEDULED);
            EndPoll::Reschedule
        } else {
            self.set(s & !RUNNING);
            EndPoll::Idle
        }
    }

    /// The future is gone (returned, panicked or was dropped by a cancel).
    pub(crate) fn complete(&self) -> Complete {
        let s = self.get();
        debug_assert!(s & COMPLETE == 0, "completed twice: {:#010b}", s as u8);
        self.set((s & !(RUNNING | NOTIFIED | CANCELLED)) | COMPLETE);
        Complete {
            keep_output: s & HANDLE != 0,
            release_now: s & SCHEDULED == 0,
        }
    }

    /// `JoinHandle::cancel`.
    pub(crate) fn cancel(&self) -> Cancel {
        let s = self.get();
        if s & COMPLETE != 0 {
            Cancel::Nothing
        } else if s & RUNNING != 0 {
            self.set(s | CANCELLED);
            Cancel::Deferred
        } else {
            Cancel::Now
        }
    }

    /// A cancel is about to drop the future in place: mark it RUNNING, so that a re-entrant
    /// cancel from the future's own destructor is `Deferred` and a wake only sets `NOTIFIED`.
    pub(crate) fn start_cancel(&self) {
        let s = self.get();
        debug_assert!(
            s & (RUNNING | COMPLETE) == 0,
            "cancel of a running or complete task: {:#010b}",
            s as u8
        );
        self.set(s | RUNNING);
    }

    /// The `JoinHandle` was dropped. If the executor has released the task, the owner side's
    /// reference goes now, and the deferred ones with it (I2).
    pub(crate) fn drop_handle(&self) -> DropHandle {
        let s = self.get();
        debug_assert!(s & HANDLE != 0, "dropped a handle twice");
        DropHandle {
            drop_output: s & COMPLETE != 0,
            drop_refs: self.last_owner_leaves(s & !HANDLE, s & RELEASED != 0),
        }
    }

    /// The executor lets go of the task (it leaves the task list). If the `JoinHandle` is
    /// gone too, the owner side's reference goes now, and the deferred ones with it (I2).
    pub(crate) fn release(&self) -> Release {
        let s = self.get();
        debug_assert!(
            s & COMPLETE != 0 && s & (SCHEDULED | RUNNING | RELEASED) == 0,
            "released a task that was not complete, or still queued: {:#010b}",
            s as u8
        );
        let s = s | RELEASED;
        Release {
            drop_refs: self.last_owner_leaves(s, s & HANDLE == 0),
        }
    }

    /// Writes `s`; if `last` (the owner side's reference goes), also clears the deferred
    /// count and returns it plus one: the references to take off `Header::refs` (I2).
    fn last_owner_leaves(&self, s: u64, last: bool) -> u32 {
        if !last {
            self.set(s);
            return 0;
        }
        self.set(s & !(DEFERRED_MAX << DEFERRED_SHIFT));
        ((s >> DEFERRED_SHIFT) & DEFERRED_MAX) as u32 + 1
    }

    /// A waker reference is dropped on the owner thread, with the executor running. While the
    /// owner side's reference is held (by the executor, not yet `RELEASED`, or by the
    /// `JoinHandle`), count it here instead of an atomic decrement of `Header::refs` (I2);
    /// whichever of executor and handle leaves last takes the count off with its own
    /// reference. Returns how many references the caller must take off `refs` now: none; all
    /// of them and this one when the count is full; or just this one when the owner side's
    /// reference is gone, so that nothing could take a count off later.
    pub(crate) fn defer_drop(&self) -> u32 {
        let s = self.get();
        if s & RELEASED != 0 && s & HANDLE == 0 {
            return 1;
        }
        let deferred = (s >> DEFERRED_SHIFT) & DEFERRED_MAX;
        if deferred < DEFERRED_MAX {
            self.set(s + (1 << DEFERRED_SHIFT));
            0
        } else {
            self.set(s & !(DEFERRED_MAX << DEFERRED_SHIFT));
            (DEFERRED_MAX + 1) as u32
        }
    }

    /// How many waker references are deferred (for diagnostics).
    pub(crate) fn deferred(&self) -> usize {
        ((self.get() >> DEFERRED_SHIFT) & DEFERRED_MAX) as usize
    }

    /// Executor shutdown: the run queue is being discarded, so forget `SCHEDULED`.
    pub(crate) fn unschedule(&self) {
        self.set(self.get() & !SCHEDULED);
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.get() & COMPLETE != 0
    }

    pub(crate) fn is_named(&self) -> bool {
        self.get() & NAMED != 0
    }

    /// A short word for task dumps.
    pub(crate) fn describe(&self) -> &'static str {
        let s = self.get();
        if s & COMPLETE != 0 {
            "complete"
        } else if s & RUNNING != 0 {
            "running"
        } else if s & SCHEDULED != 0 {
            "ready"
        } else {
            "waiting"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_while_running_reschedules_after_the_poll() {
        let s = State::new_spawned(TaskId(7), false);
        assert_eq!(s.start_poll(), StartPoll::Poll);
        assert_eq!(s.wake(), Wake::Nothing);
        assert_eq!(
            s.wake(),
            Wake::Nothing,
            "a second wake while running is absorbed"
        );
        assert_eq!(s.end_poll(), EndPoll::Reschedule);
        assert_eq!(s.wake(), Wake::Nothing, "already queued");
    }

    #[test]
    fn a_task_cancelled_while_queued_is_released_when_popped() {
        let s = State::new_spawned(TaskId(7), false);
        assert_eq!(s.cancel(), Cancel::Now);
        let c = s.complete();
        assert!(c.keep_output && !c.release_now);
        assert_eq!(s.start_poll(), StartPoll::Release);
        assert_eq!(
            s.release().drop_refs,
            0,
            "the handle still shares the owner side's reference"
        );
        assert_eq!(s.wake(), Wake::Nothing);
        assert_eq!(s.id(), TaskId(7), "transitions keep the id");
    }

    #[test]
    fn the_owner_reference_goes_with_the_second_of_executor_and_handle() {
        // Handle first: the executor's release drops the reference.
        let s = State::new_spawned(TaskId(1), false);
        let d = s.drop_handle();
        assert!(!d.drop_output && d.drop_refs == 0);
        assert_eq!(s.start_poll(), StartPoll::Poll);
        let c = s.complete();
        assert!(!c.keep_output && c.release_now);
        assert_eq!(s.release().drop_refs, 1);
        // Executor first: the handle's drop does, and drops the output it left.
        let s = State::new_spawned(TaskId(2), false);
        assert_eq!(s.start_poll(), StartPoll::Poll);
        let c = s.complete();
        assert!(c.keep_output && c.release_now);
        assert_eq!(s.release().drop_refs, 0);
        assert_eq!(
            s.defer_drop(),
            0,
            "the handle still holds the owner side's reference"
        );
        let d = s.drop_handle();
        assert!(d.drop_output);
        assert_eq!(d.drop_refs, 2, "the owner side's and the deferred waker's");
    }

    #[test]
    fn a_self_cancel_is_applied_after_the_poll() {
        let s = State::new_spawned(TaskId(7), false);
        assert_eq!(s.start_poll(), StartPoll::Poll);
        assert_eq!(s.cancel(), Cancel::Deferred);
        assert_eq!(s.end_poll(), EndPoll::Cancel);
        let c = s.complete();
        assert!(c.release_now);
    }
}
