//! The scheduler trace: an opt-in log of what the executor does, for learners.
//!
//! Enabled with [`ExecutorBuilder::trace`](crate::ExecutorBuilder::trace); when it is off the
//! executor pays one branch on an `Option` per event site. Each event carries the time since
//! the executor was built, on its clock (so on a virtual clock the trace is the same on every
//! run).
use std::cell::RefCell;
use std::fmt;
use std::time::{Duration, Instant};

use super::task::TaskId;

/// One thing the scheduler did.
///
/// # Examples
/// ```
/// let ex = greenloop::Executor::builder().virtual_clock().trace().build();
/// ex.block_on(async { greenloop::spawn(async {}).await.unwrap() });
/// let lines: Vec<String> = ex.take_trace().iter().map(ToString::to_string).collect();
/// assert_eq!(lines, [
///     "[  0.000s] poll main",
///     "[  0.000s] spawn task 1",
///     "[  0.000s] poll task 1",
///     "[  0.000s] complete task 1",
///     "[  0.000s] wake main",
///     "[  0.000s] poll main",
/// ]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEvent {
    /// Time since the executor was built, on its clock.
    pub at: Duration,
    /// What happened.
    pub kind: TraceKind,
}

/// What a [`TraceEvent`] records.
///
/// # Examples
/// ```
/// use greenloop::TraceKind;
/// let ex = greenloop::Executor::builder().trace().build();
/// ex.spawn(async {});
/// assert!(matches!(ex.take_trace()[0].kind, TraceKind::Spawn { .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceKind {
    /// A task was spawned.
    Spawn {
        /// The task.
        task: TaskId,
        /// Its name, if it has one.
        name: Option<String>,
    },
    /// A task was polled (`None`: the `block_on` future).
    Poll(Option<TaskId>),
    /// A task was made ready by a wake (`None`: the `block_on` future).
    Wake(Option<TaskId>),
    /// A task finished: returned, panicked or was cancelled.
    Complete(TaskId),
    /// Expired timers fired at the start of a tick.
    TimersFired(usize),
    /// Nothing was ready: the thread parked (until a deadline, if any).
    Park {
        /// How long at most, if a timer is pending.
        timeout: Option<Duration>,
    },
    /// Nothing was ready on a virtual clock: time jumped to the next deadline.
    ClockJump {
        /// How far.
        by: Duration,
    },
}

impl fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{:>7.3}s] ", self.at.as_secs_f64())?;
        let who = |task: &Option<TaskId>| match task {
            Some(id) => format!("task {id}"),
            None => "main".to_owned(),
        };
        match &self.kind {
            TraceKind::Spawn {
                task,
                name: Some(name),
            } => write!(f, "spawn task {task} {name:?}"),
            TraceKind::Spawn { task, name: None } => write!(f, "spawn task {task}"),
            TraceKind::Poll(task) => write!(f, "poll {}", who(task)),
            TraceKind::Wake(task) => write!(f, "wake {}", who(task)),
            TraceKind::Complete(task) => write!(f, "complete task {task}"),
            TraceKind::TimersFired(n) => write!(f, "{n} timer(s) fired"),
            TraceKind::Park { timeout: Some(t) } => write!(f, "park for at most {t:?}"),
            TraceKind::Park { timeout: None } => f.write_str("park until a wake"),
            TraceKind::ClockJump { by } => write!(f, "virtual clock jumps {by:?}"),
        }
    }
}

/// The log, owned by the executor's core.
#[derive(Debug)]
pub(crate) struct Tracer {
    start: Instant,
    events: RefCell<Vec<TraceEvent>>,
}

impl Tracer {
    pub(crate) fn new(start: Instant) -> Tracer {
        Tracer {
            start,
            events: RefCell::new(Vec::new()),
        }
    }

    pub(crate) fn record(&self, now: Instant, kind: TraceKind) {
        let at = now.saturating_duration_since(self.start);
        self.events.borrow_mut().push(TraceEvent { at, kind });
    }

    pub(crate) fn take(&self) -> Vec<TraceEvent> {
        std::mem::take(&mut *self.events.borrow_mut())
    }
}
