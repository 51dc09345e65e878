//! What the executor benchmarks share: one minimal wake source, one yield, one idle workload.
//!
//! The idle-task workload (`idle_tasks_wake_all` in `benches/executor.rs` and the RSS table of
//! `benches/idle_rss.rs`) must compare executors, not wake sources. So every executor runs the
//! very same [`idle_round`] with the very same [`IdleTask`] future, parked on the very same
//! [`WakeAll`]; an executor only contributes a way to spawn a detached task and a way to drive
//! the round to completion.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The smallest wake source we could write: a flag and the list of parked wakers.
///
/// Each [`IdleTask`] registers its waker once; [`WakeAll::fire`] sets the flag and wakes
/// every registered waker, in registration order.
#[derive(Debug)]
pub(crate) struct WakeAll {
    fired: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

/// A task that parks on a [`WakeAll`] until it fires, then counts itself as finished.
///
/// It is hand-written (not an `async` block) so that spawn closures can name its type, and it
/// is 24 bytes, so the RSS figure is the executor's own cost per task.
#[derive(Debug)]
pub(crate) struct IdleTask {
    source: Rc<WakeAll>,
    countdown: Rc<Countdown>,
    registered: bool,
}

/// A future that wakes itself and returns `Pending` once, then completes.
///
/// This is the `yield_now` of executors that have none (futures' `LocalPool`).
#[derive(Debug, Default)]
pub(crate) struct YieldOnce {
    yielded: bool,
}

/// Counts finished tasks; the last one wakes whoever waits for the round to end.
#[derive(Debug)]
struct Countdown {
    remaining: Cell<usize>,
    waiter: RefCell<Option<Waker>>,
}

/// Future that completes when a [`Countdown`] reaches zero.
#[derive(Debug)]
struct Finished<'a> {
    countdown: &'a Countdown,
}

/// Runs one idle round of `n` tasks and returns the time from [`WakeAll::fire`] until the
/// last task has finished.
///
/// Spawns `n` [`IdleTask`]s through `spawn` (which must detach them), yields until every one
/// of them has parked its waker on `source`, calls `on_parked` (the RSS probe hooks in here),
/// then starts the clock, fires the source and waits until all `n` tasks have completed.
///
/// # Panics
/// If `source` was used before.
pub(crate) async fn idle_round(
    source: &Rc<WakeAll>,
    n: usize,
    mut spawn: impl FnMut(IdleTask),
    on_parked: impl FnOnce(),
) -> Duration {
    assert!(
        !source.fired.get() && source.parked() == 0,
        "a WakeAll serves one round"
    );
    let countdown = Rc::new(Countdown {
        remaining: Cell::new(n),
        waiter: RefCell::new(None),
    });
    for _ in 0..n {
        spawn(IdleTask {
            source: Rc::clone(source),
            countdown: Rc::clone(&countdown),
            registered: false,
        });
    }
    // Every executor here queues a self-woken task behind the tasks that are already ready,
    // but some poll their tasks in batches, so check rather than count yields.
    while source.parked() < n {
        YieldOnce::default().await;
    }
    on_parked();
    let start = Clock::now();
    source.fire();
    Finished {
        countdown: &countdown,
    }
    .await;
    start.elapsed()
}

/// A point on the benchmarks' clock: this thread's CPU time by default, or wall time when
/// `GREENLOOP_BENCH_CLOCK=wall`.
///
/// Thread CPU time is the default because the machine these numbers come from is shared
/// (2 cores, load around 8): wall time there mostly measures how often the benchmark thread
/// was descheduled. Every executor measured here runs its tasks on the calling thread, so its
/// CPU time is the work it does. The source is the first field of
/// `/proc/thread-self/schedstat` (nanoseconds on CPU), which the kernel brings up to date at
/// every scheduler tick (4 ms here) and context switch; a reading is thus up to one tick
/// stale at either end, an error without bias that averages out over a sample's rounds of
/// 20 ms or more.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    ns: u64,
}

/// Like criterion's `Bencher::iter`, timed on [`Clock`] (this thread's CPU time by default).
#[allow(
    dead_code,
    reason = "the executor and idle_rss benches time their rounds themselves"
)]
pub(crate) fn iter_cpu<R>(b: &mut criterion::Bencher<'_>, mut routine: impl FnMut() -> R) {
    b.iter_custom(|iters| {
        let start = Clock::now();
        for _ in 0..iters {
            std::hint::black_box(routine());
        }
        start.elapsed()
    });
}

// === impl Clock ===

impl Clock {
    /// Reads the clock.
    ///
    /// # Panics
    /// If CPU time is selected and `/proc/thread-self/schedstat` is unreadable (not Linux).
    pub(crate) fn now() -> Self {
        static WALL_ORIGIN: OnceLock<Option<Instant>> = OnceLock::new();
        let wall = WALL_ORIGIN.get_or_init(|| {
            let var = std::env::var_os("GREENLOOP_BENCH_CLOCK");
            var.is_some_and(|v| v == "wall").then(Instant::now)
        });
        let ns = match wall {
            Some(origin) => u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX),
            None => std::fs::read_to_string("/proc/thread-self/schedstat")
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok())
                .expect("/proc/thread-self/schedstat starts with this thread's CPU time in ns"),
        };
        Clock { ns }
    }

    /// Time on this clock since `self`.
    pub(crate) fn elapsed(self) -> Duration {
        Duration::from_nanos(Clock::now().ns.saturating_sub(self.ns))
    }
}

// === impl WakeAll ===

impl WakeAll {
    /// Creates a wake source with room for `n` wakers, its memory already touched.
    ///
    /// Touching the buffer up front keeps the waker list out of the RSS delta that
    /// `benches/idle_rss.rs` attributes to the executor.
    pub(crate) fn with_capacity(n: usize) -> Rc<Self> {
        let mut wakers = vec![Waker::noop().clone(); n];
        wakers.clear();
        Rc::new(WakeAll {
            fired: Cell::new(false),
            wakers: RefCell::new(wakers),
        })
    }

    /// How many tasks have registered their waker.
    pub(crate) fn parked(&self) -> usize {
        self.wakers.borrow().len()
    }

    /// Sets the flag and wakes every registered waker.
    fn fire(&self) {
        self.fired.set(true);
        // Take the list first: a waker must never run while the list is borrowed.
        let wakers = std::mem::take(&mut *self.wakers.borrow_mut());
        for waker in wakers {
            waker.wake();
        }
    }
}

// === impl IdleTask ===

impl Future for IdleTask {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.source.fired.get() {
            self.countdown.finish_one();
            return Poll::Ready(());
        }
        // Register once: every executor measured here polls a task with the same waker, and
        // only `fire` wakes it, so a second registration would only be a spurious poll's cost.
        if !self.registered {
            self.registered = true;
            self.source.wakers.borrow_mut().push(cx.waker().clone());
        }
        Poll::Pending
    }
}

// === impl YieldOnce ===

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

// === impl Countdown ===

impl Countdown {
    fn finish_one(&self) {
        let left = self.remaining.get() - 1;
        self.remaining.set(left);
        if left == 0 {
            let waiter = self.waiter.borrow_mut().take();
            if let Some(waker) = waiter {
                waker.wake();
            }
        }
    }
}

impl Future for Finished<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.countdown.remaining.get() == 0 {
            return Poll::Ready(());
        }
        *self.countdown.waiter.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}
