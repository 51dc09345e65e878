//! What blocked tasks wait on: a thread-local registry of live primitives.
//!
//! Every primitive registers a `Weak` pointer to its shared, non-generic state when it is
//! created ([`register`]). [`blocked_waiters`] walks the registry, drops dead entries, and
//! asks each live primitive to describe its waiting waiters, e.g.
//! `Queue::put on "mailbox" (full, 1/1)`. The task id comes from the stored waker through
//! `crate::executor::task_id_of`, so a waiter parked by another executor's task is listed
//! with `task: None`.
//!
//! Cost: one `Vec` push per primitive created (amortised pruning keeps the registry at most
//! twice the number of live primitives); nothing at all per wait.
//!
//! This is the narrow hook the deadlock report and the task dump of a later issue build on.
//! The registry is per thread because every primitive is `!Send`.

use std::cell::RefCell;
use std::fmt::Write;
use std::rc::Weak;
use std::task::Waker;

use crate::executor::TaskId;

/// One waiter that is parked on a primitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlockedWaiter {
    /// The greenloop task that parked, if the waker belongs to a greenloop task.
    pub(crate) task: Option<TaskId>,
    /// Which primitive and operation, e.g. `Queue::get on "jobs" (empty, 0/8)`.
    pub(crate) description: String,
}

/// A primitive that can list its waiting waiters.
pub(crate) trait WaitSource {
    /// Calls `f` once per waiting waiter with its waker and a description of the wait.
    /// Lists nothing if the primitive's state is borrowed at the moment.
    fn waiting(&self, f: &mut dyn FnMut(&Waker, &str));
}

/// Registry entries; `live_after_prune` is the count after the last pruning.
struct Registry {
    sources: Vec<Weak<dyn WaitSource>>,
    live_after_prune: usize,
}

thread_local! {
    static REGISTRY: RefCell<Registry> =
        const { RefCell::new(Registry { sources: Vec::new(), live_after_prune: 0 }) };
}

/// Registers a primitive's shared state. Called once, at creation.
pub(crate) fn register(source: Weak<dyn WaitSource>) {
    // `try_with`: a primitive created while thread-locals are being destroyed just goes
    // unlisted.
    let _ = REGISTRY.try_with(|reg| {
        let mut reg = reg.borrow_mut();
        if reg.sources.len() >= 2 * reg.live_after_prune.max(16) {
            reg.sources.retain(|w| w.strong_count() > 0);
            reg.live_after_prune = reg.sources.len();
        }
        reg.sources.push(source);
    });
}

/// Every waiter currently parked on a live primitive of this thread. (The executor's
/// diagnostics call [`collect`] directly, to recognise the `block_on` future's waker too.)
#[cfg(test)]
pub(crate) fn blocked_waiters() -> Vec<BlockedWaiter> {
    collect(crate::executor::task_id_of)
}

/// [`blocked_waiters`] with the task-id lookup passed in, so unit tests can run it without
/// a greenloop executor.
pub(crate) fn collect(task_of: impl Fn(&Waker) -> Option<TaskId>) -> Vec<BlockedWaiter> {
    // Upgrade first and release the registry borrow before calling into primitives.
    let live: Vec<_> = REGISTRY.with(|reg| {
        let mut reg = reg.borrow_mut();
        reg.sources.retain(|w| w.strong_count() > 0);
        reg.live_after_prune = reg.sources.len();
        reg.sources.iter().filter_map(Weak::upgrade).collect()
    });
    let mut out = Vec::new();
    for source in live {
        source.waiting(&mut |waker, description| {
            out.push(BlockedWaiter {
                task: task_of(waker),
                description: description.to_owned(),
            });
        });
    }
    out
}

/// Formats `Kind::op` or `Kind::op on "name"`, then ` (state)` if `state` is not empty.
pub(crate) fn describe(op: &str, name: Option<&str>, state: &str) -> String {
    let mut s = String::from(op);
    if let Some(name) = name {
        let _ = write!(s, " on {name:?}");
    }
    if !state.is_empty() {
        let _ = write!(s, " ({state})");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_quotes_the_name_and_appends_the_state() {
        assert_eq!(
            describe("Queue::put", Some("mailbox"), "full, 1/1"),
            r#"Queue::put on "mailbox" (full, 1/1)"#
        );
        assert_eq!(describe("Event::wait", None, ""), "Event::wait");
    }

    #[test]
    fn blocked_waiters_name_the_task_the_primitive_and_its_state() {
        use crate::sync::{Event, Lock, Queue};

        let ex = crate::Executor::new();
        let mailbox = Queue::<u8>::bounded(1).with_name("mailbox");
        let started = Event::new();
        let lock = Lock::new(());
        let guard = lock.try_lock().unwrap();
        mailbox.try_put(0).unwrap();
        let putter = {
            let q = mailbox.clone();
            ex.spawn(async move { q.put(1).await.is_ok() })
        };
        let waiter = {
            let e = started.clone();
            ex.spawn(async move { e.wait().await })
        };
        let locker = {
            let l = lock.clone();
            ex.spawn(async move { drop(l.lock().await) })
        };
        ex.run_until_stalled();
        let mut found = blocked_waiters();
        found.retain(|w| w.task.is_some());
        let expect = [
            (putter.id(), r#"Queue::put on "mailbox" (full, 1/1)"#),
            (waiter.id(), "Event::wait"),
            (locker.id(), "Lock::lock (held, 1 waiting)"),
        ];
        for (id, description) in expect {
            assert!(
                found
                    .iter()
                    .any(|w| w.task == Some(id) && w.description == description),
                "{description} not in {found:?}"
            );
        }
        // Once the primitives are released, nothing is blocked on them any more.
        started.set();
        drop(guard);
        assert_eq!(mailbox.try_get(), Ok(0));
        ex.run_until_stalled();
        assert!(blocked_waiters().iter().all(|w| w.task.is_none()));
    }

    #[test]
    fn dead_primitives_are_pruned_from_the_registry() {
        let before = REGISTRY.with(|r| r.borrow().sources.len());
        for _ in 0..100 {
            drop(crate::sync::Event::new());
        }
        let _ = blocked_waiters();
        let after = REGISTRY.with(|r| r.borrow().sources.len());
        assert!(after <= before, "{before} -> {after}");
    }
}
