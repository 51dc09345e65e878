//! Diagnostics: the task dump and the deadlock report.
//!
//! Both are built from the same facts: the executor's task list (id, name, spawn location,
//! state) and who holds each task's wakers. The holders greenloop can see are its own: the
//! `sync/` primitives' waiter lists (through `sync::diag`) and the join-waker slots of other
//! tasks (someone awaiting a `JoinHandle`).
//!
//! # Never a false deadlock report
//! A task's references are the owner side's (the executor and its handle share one), an
//! inject entry's, one per `Waker` clone, and those of wakers dropped on the owner thread whose
//! decrement is deferred (I2, counted in the state word). So `refs - owner - inject - deferred`
//! is exactly the number of wakers
//! that exist for it. If that number is larger than the wakers greenloop's own primitives and
//! join slots hold, someone else holds one — async-io's reactor, a channel fed by another
//! thread, a `gather`'s child waker, any foreign future — and may wake the task: no report.
//! Only when every waker of every blocked task (and of the `block_on` future) is held by
//! greenloop itself, no task is ready, no timer is pending and nothing waits in the inject
//! queue, can nothing ever happen again: that is a deadlock.
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::task::Waker;

use super::run_queue::MainWake;
use super::task::TaskId;
use super::{Core, waker};

/// Whose waker a waker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Owner {
    /// The future given to `block_on`/`run` (which is not a task).
    Main,
    Task(TaskId),
}

/// `sync::diag` speaks in `TaskId`s; the `block_on` future gets this one (tasks start at 1).
const MAIN_ID: TaskId = TaskId(0);

/// One live task, as the dump and the deadlock report show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    id: TaskId,
    name: Option<String>,
    state: &'static str,
    location: &'static Location<'static>,
    waits_on: Vec<String>,
}

/// Every live task of an executor, with what each one waits on: [`Executor::dump`](crate::Executor::dump).
///
/// # Examples
/// ```
/// let ex = greenloop::Executor::new();
/// let event = greenloop::sync::Event::new().with_name("go");
/// let e = event.clone();
/// greenloop::task::Builder::new().name("waiter").spawn_on(&ex, async move { e.wait().await });
/// ex.run_until_stalled();
/// let dump = ex.dump().to_string();
/// assert!(dump.contains("task 1 \"waiter\""), "{dump}");
/// assert!(dump.contains("Event::wait on \"go\""), "{dump}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDump {
    tasks: Vec<TaskInfo>,
}

/// What `block_on` found when nothing could ever make progress: every blocked task, and the
/// `block_on` future, waits on something only another blocked party could trigger.
///
/// Returned by [`Executor::try_block_on`](crate::Executor::try_block_on) and
/// [`try_run`](crate::try_run); `block_on` and `run` panic with it instead of hanging. Its
/// `Display` is the report: each blocked task's name, id, spawn location and what it waits on.
///
/// # Examples
/// ```
/// let queue = greenloop::sync::Queue::bounded(1).with_name("mailbox");
/// let report = greenloop::try_run(async move {
///     queue.put("first").await.unwrap();
///     queue.put("second").await.unwrap(); // nobody will ever get from this queue
/// })
/// .unwrap_err();
/// let text = report.to_string();
/// assert!(text.contains("deadlock"), "{text}");
/// assert!(text.contains("Queue::put on \"mailbox\" (full, 1/1)"), "{text}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadlock {
    main_waits_on: Vec<String>,
    tasks: Vec<TaskInfo>,
}

impl TaskInfo {
    /// The task's id.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// let handle = ex.spawn(std::future::pending::<()>());
    /// assert_eq!(ex.dump().tasks()[0].id(), handle.id());
    /// ```
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name, if it has one.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// greenloop::task::Builder::new().name("n").spawn_on(&ex, std::future::pending::<()>());
    /// assert_eq!(ex.dump().tasks()[0].name(), Some("n"));
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// `"ready"`, `"waiting"` or `"running"` (the task that asked for the dump).
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// ex.spawn(std::future::pending::<()>());
    /// assert_eq!(ex.dump().tasks()[0].state(), "ready");
    /// ex.tick();
    /// assert_eq!(ex.dump().tasks()[0].state(), "waiting");
    /// ```
    pub fn state(&self) -> &'static str {
        self.state
    }

    /// Where the task was spawned.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// ex.spawn(std::future::pending::<()>());
    /// assert_eq!(ex.dump().tasks()[0].location().line(), line!() - 1);
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// What the task waits on, as far as greenloop can tell: its own primitives
    /// (`Queue::get on "jobs" (empty, 0/8)`) and join handles. Empty when it waits on something
    /// else (a socket, a timer, a foreign future) or is ready.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// let event = greenloop::sync::Event::new();
    /// let e = event.clone();
    /// ex.spawn(async move { e.wait().await });
    /// ex.tick();
    /// assert_eq!(ex.dump().tasks()[0].waits_on(), ["Event::wait"]);
    /// ```
    pub fn waits_on(&self) -> &[String] {
        &self.waits_on
    }
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        write!(f, " (spawned at {}): {}", self.location, self.state)?;
        match self.waits_on.as_slice() {
            [] if self.state == "waiting" => f.write_str(", on something outside greenloop"),
            [] => Ok(()),
            waits => write!(f, " on {}", waits.join(", ")),
        }
    }
}

impl TaskDump {
    /// The live tasks, in spawn order.
    ///
    /// # Examples
    /// ```
    /// let ex = greenloop::Executor::new();
    /// assert!(ex.dump().tasks().is_empty());
    /// ```
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }
}

impl fmt::Display for TaskDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} live task(s)", self.tasks.len())?;
        for task in &self.tasks {
            writeln!(f, "  {task}")?;
        }
        Ok(())
    }
}

impl Deadlock {
    /// The blocked tasks, in spawn order.
    ///
    /// # Examples
    /// ```
    /// let report = greenloop::try_run(async {
    ///     let never = greenloop::spawn(std::future::pending::<()>());
    ///     never.await.unwrap();
    /// })
    /// .unwrap_err();
    /// assert_eq!(report.tasks().len(), 1);
    /// ```
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }
}

impl fmt::Display for Deadlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "greenloop: deadlock: nothing can make progress (no task is ready, no timer is \
             pending, and every waker of every blocked task is held by a greenloop primitive \
             that only a blocked task could trigger)"
        )?;
        match self.main_waits_on.as_slice() {
            [] => writeln!(
                f,
                "  the block_on future: waiting, holding no waker anyone has"
            )?,
            waits => writeln!(f, "  the block_on future: waiting on {}", waits.join(", "))?,
        }
        for task in &self.tasks {
            match task.waits_on.as_slice() {
                [] => writeln!(f, "  {task} (holds no waker: nothing can wake it)")?,
                _ => writeln!(f, "  {task}")?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for Deadlock {}

// === the facts, gathered by Core ===

/// The wakers greenloop itself holds, by owner, with what each waits on.
fn greenloop_held_wakers(core: &Core, main: Option<&Arc<MainWake>>) -> HashMap<Owner, Vec<String>> {
    let main_data = main.map(|main| Arc::as_ptr(main).cast::<()>());
    let owner_of = |waker: &Waker| -> Option<Owner> {
        if main_data == Some(waker.data()) {
            return Some(Owner::Main);
        }
        waker::task_id_of(waker).map(Owner::Task)
    };
    let mut held: HashMap<Owner, Vec<String>> = HashMap::new();
    let to_id = |waker: &Waker| match owner_of(waker)? {
        Owner::Main => Some(MAIN_ID),
        Owner::Task(id) => Some(id),
    };
    for waiter in crate::sync::diag::collect(to_id) {
        let owner = match waiter.task {
            Some(MAIN_ID) => Owner::Main,
            Some(id) => Owner::Task(id),
            None => continue, // another executor's task
        };
        held.entry(owner).or_default().push(waiter.description);
    }
    core.for_each_task(|task| {
        if let Some(owner) = task.join_waker.and_then(owner_of) {
            let mut what = format!("JoinHandle of task {}", task.id);
            if let Some(name) = &task.name {
                what.push_str(&format!(" {name:?}"));
            }
            held.entry(owner).or_default().push(what);
        }
    });
    held
}

/// What `Core::for_each_task` shows of a task.
pub(crate) struct TaskView<'a> {
    pub(crate) id: TaskId,
    pub(crate) name: Option<String>,
    pub(crate) state: &'static str,
    pub(crate) location: &'static Location<'static>,
    /// Wakers that exist for this task (I2 arithmetic; see the module docs).
    pub(crate) wakers: usize,
    pub(crate) join_waker: Option<&'a Waker>,
}

/// The task dump.
pub(crate) fn dump(core: &Core, main: Option<&Arc<MainWake>>) -> TaskDump {
    let mut held = greenloop_held_wakers(core, main);
    let mut tasks = Vec::new();
    core.for_each_task(|task| {
        let waits_on = if task.state == "waiting" {
            held.remove(&Owner::Task(task.id)).unwrap_or_default()
        } else {
            Vec::new()
        };
        tasks.push(TaskInfo {
            id: task.id,
            name: task.name,
            state: task.state,
            location: task.location,
            waits_on,
        });
    });
    tasks.sort_by_key(|task| task.id);
    TaskDump { tasks }
}

/// The deadlock check: `Some(report)` only if nothing can ever wake anything (module docs).
/// Called by `block_on` when nothing is ready and it is about to park with no deadline.
pub(crate) fn find_deadlock(core: &Core, main: &Arc<MainWake>) -> Option<Deadlock> {
    if core.has_work() || core.time.pending() > 0 {
        return None;
    }
    let mut held = greenloop_held_wakers(core, Some(main));
    let count = |held: &HashMap<Owner, Vec<String>>, owner| held.get(&owner).map_or(0, Vec::len);

    // The block_on future: `block_on` holds its Waker and one Arc (2), an inject entry one.
    let main_wakers = Arc::strong_count(main) - 2 - usize::from(main.is_remote_queued());
    if main_wakers > count(&held, Owner::Main) {
        return None;
    }
    let mut foreign = false;
    let mut tasks = Vec::new();
    core.for_each_task(|task| {
        let owner = Owner::Task(task.id);
        if task.wakers > count(&held, owner) {
            foreign = true;
        }
        tasks.push(TaskInfo {
            id: task.id,
            name: task.name,
            state: task.state,
            location: task.location,
            waits_on: held.remove(&owner).unwrap_or_default(),
        });
    });
    // A wake that raced with the counting shows up here (it queued before its waker went).
    if foreign || core.has_work() {
        return None;
    }
    tasks.sort_by_key(|task| task.id);
    Some(Deadlock {
        main_waits_on: held.remove(&Owner::Main).unwrap_or_default(),
        tasks,
    })
}

/// How many wakers exist for a live task (one the executor has not released), from its
/// reference count (I2): all but the owner side's, the deferred ones and an inject entry's.
pub(crate) fn wakers_of(refs: usize, deferred: usize, remote_queued: bool) -> usize {
    refs.saturating_sub(1 + deferred + usize::from(remote_queued))
}
