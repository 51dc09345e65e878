//! The lesson scenarios, run on greenloop and on smol: the outputs must be the same lines in
//! the same order.
//!
//! Each scenario is written once, generic over [`Runtime`]: spawn a task, sleep until a
//! moment of the lesson, a queue with `task_done`/`join` and async iteration, gather/join.
//! [`Greenloop`] runs it on a virtual clock, where a lesson second costs nothing. [`Smol`]
//! runs it on smol's `LocalExecutor` with async-channel and async-io's `Timer`, in real time
//! scaled down: a lesson second is [`SMOL_SECOND`] (5 ms), so the three scenarios take about
//! a quarter of a second.
//!
//! Only what both runtimes promise is compared: the lines a single consumer prints (its
//! queue's FIFO order), the FIFO start order of spawned tasks, and gather's results versus
//! smol's join. Never interleavings that depend on wake order.
//!
//! greenloop's virtual clock moves only when no task is ready, then fires the timers of the
//! next deadline in creation order; a real clock keeps moving while a slow thread catches up.
//! On a quiet machine that makes no difference, but under valgrind, or with other processes
//! on the cores, smol fell behind its 5 ms "seconds", and then: the consumer of
//! `consumer_sets_pace` raced through rounds 11 to 17 (its expired timers completed at their
//! first poll while the older 20 s timer waited for the reactor); producer `a` of
//! `async_iteration` sent all five rounds before `b` and `c` started; and the 20 s timer
//! closed the mailbox of `consumer_sets_pace` after "Round 1", while the producer was ready
//! to send "Round 2". So the smol adapter keeps the virtual clock's rules on top of real
//! async-io timers:
//! - Sleeps are to absolute moments (`sleep_until(20)`, not `sleep(2)` ten times), so real
//!   time does not drift: "Round 10" (18 s) never comes after the 20 s timer.
//! - A sleep whose `Timer` fired still waits for its turn ([`SleepOrder`]): it completes only
//!   when it is the earliest pending sleep (deadline, then creation order), and only when the
//!   executor is otherwise idle: it yields, and goes ahead only once a whole yield passed
//!   without any other task being polled ([`ACTIVITY`] counts every poll of every task).
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};

/// A boxed, local future: what [`Runtime::spawn`] returns.
type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;
/// A boxed, local stream: what [`LessonQueue::stream`] returns.
type LocalBoxStream<T> = Pin<Box<dyn Stream<Item = T>>>;

/// How long a lesson second takes on smol's real clock.
const SMOL_SECOND: Duration = Duration::from_millis(5);

/// What the lesson scenarios need from a runtime.
trait Runtime: 'static {
    /// An async queue with asyncio's `task_done`/`join`.
    type Queue<T: 'static>: LessonQueue<T>;
    /// Runs `main` on a fresh runtime and returns its output.
    fn block_on<T: 'static>(main: impl Future<Output = T> + 'static) -> T;
    /// Spawns a task; the future waits for its output (a panic in the task fails the test).
    fn spawn<T: 'static>(future: impl Future<Output = T> + 'static) -> LocalBoxFuture<T>;
    /// Sleeps until `second` lesson seconds after `block_on` began.
    fn sleep_until(second: u64) -> impl Future<Output = ()>;
    /// Gathers two futures (greenloop's `gather!`, smol's `zip`).
    fn join2<A: 'static, B: 'static>(
        a: impl Future<Output = A> + 'static,
        b: impl Future<Output = B> + 'static,
    ) -> impl Future<Output = (A, B)>;
    /// Gathers many futures, outputs in argument order (greenloop's `gather`, smol: spawn each
    /// and await the tasks in order).
    fn join_all<T: 'static>(futures: Vec<LocalBoxFuture<T>>) -> impl Future<Output = Vec<T>>;
}

/// An async queue between tasks, as the lesson uses it.
trait LessonQueue<T>: Clone + 'static {
    /// A queue holding at most `capacity` items, or any number.
    fn new(capacity: Option<usize>) -> Self;
    /// Puts `item`, waiting for room; gives it back if the queue is closed.
    fn put(&self, item: T) -> impl Future<Output = Result<(), T>>;
    /// The next item, or `None` once the queue is closed and empty.
    fn get(&self) -> impl Future<Output = Option<T>>;
    /// Marks one item handled.
    fn task_done(&self);
    /// Waits until every item put has been marked handled.
    fn join(&self) -> impl Future<Output = ()>;
    /// Closes the queue: puts fail, gets drain what is left.
    fn close(&self);
    /// The items as a stream (async iteration), ending when closed and drained.
    fn stream(&self) -> LocalBoxStream<T>;
}

/// Lines printed by a scenario, in order.
#[derive(Clone, Default)]
struct Lines(Rc<RefCell<Vec<String>>>);

impl Lines {
    fn print(&self, line: impl Into<String>) {
        self.0.borrow_mut().push(line.into());
    }

    fn take(&self) -> Vec<String> {
        self.0.take()
    }
}

// === the lesson scenarios, written once ===

/// Lesson six: a producer sends a round every 2 s through a mailbox; a timer closes the
/// mailbox after 20 s; the consumer prints every round, then `[End of input]`.
async fn producer_consumer<R: Runtime>() -> Vec<String> {
    let out = Lines::default();
    let mailbox = R::Queue::<String>::new(Some(1));
    let timer = R::spawn({
        let mailbox = mailbox.clone();
        async move {
            R::sleep_until(20).await;
            mailbox.close();
        }
    });
    let producer = R::spawn({
        let mailbox = mailbox.clone();
        async move {
            for round in 1.. {
                if mailbox.put(format!("Round {round}")).await.is_err() {
                    return;
                }
                R::sleep_until(2 * round).await;
            }
        }
    });
    let consumer = R::spawn({
        let out = out.clone();
        async move {
            while let Some(message) = mailbox.get().await {
                out.print(message);
            }
            out.print("[End of input]");
        }
    });
    let ((), ((), ())) = R::join2(timer, R::join2(producer, consumer)).await;
    out.take()
}

/// Lesson six, the consumer sets the pace: it takes 2 s per round and calls `task_done`;
/// the producer waits on `join` after each `put`.
async fn consumer_sets_pace<R: Runtime>() -> Vec<String> {
    let out = Lines::default();
    let mailbox = R::Queue::<String>::new(None);
    let timer = R::spawn({
        let mailbox = mailbox.clone();
        async move {
            R::sleep_until(20).await;
            mailbox.close();
        }
    });
    let producer = R::spawn({
        let mailbox = mailbox.clone();
        async move {
            for round in 1.. {
                if mailbox.put(format!("Round {round}")).await.is_err() {
                    return;
                }
                mailbox.join().await;
            }
        }
    });
    let consumer = R::spawn({
        let out = out.clone();
        async move {
            let mut handled = 0;
            while let Some(message) = mailbox.get().await {
                out.print(message);
                handled += 1;
                R::sleep_until(2 * handled).await; // Each round takes 2 s to handle.
                mailbox.task_done();
            }
            out.print("[End of input]");
        }
    });
    let ((), ((), ())) = R::join2(timer, R::join2(producer, consumer)).await;
    out.take()
}

/// Lesson six, async iteration: producers `a`, `b`, `c` send a round a second; one consumer
/// iterates the mailbox as a stream.
async fn async_iteration<R: Runtime>() -> Vec<String> {
    let out = Lines::default();
    let mailbox = R::Queue::<String>::new(None);
    let producers = ["a", "b", "c"]
        .into_iter()
        .map(|name| {
            let mailbox = mailbox.clone();
            R::spawn(async move {
                for round in 1..=5 {
                    R::sleep_until(round).await;
                    let sent = mailbox.put(format!("Round {name}{round}")).await;
                    assert!(
                        sent.is_ok(),
                        "the mailbox is open until every producer ends"
                    );
                }
            })
        })
        .collect();
    let consumer = R::spawn({
        let out = out.clone();
        let mut messages = mailbox.stream();
        async move {
            while let Some(message) = messages.next().await {
                out.print(message);
            }
            out.print("[End of input]");
        }
    });
    R::join_all(producers).await;
    mailbox.close();
    consumer.await;
    out.take()
}

/// Spawns ten tasks that log their index when they first run; returns the log, and what the
/// log held just after spawning (before the spawner yielded).
async fn spawn_order<R: Runtime>() -> (Vec<usize>, Vec<usize>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let log = log.clone();
            R::spawn(async move { log.borrow_mut().push(i) })
        })
        .collect();
    let before_yield = log.borrow().clone();
    for task in tasks {
        task.await;
    }
    let after = log.borrow().clone();
    (after, before_yield)
}

/// Gathers children that finish in another order than they were given; returns the outputs
/// of the tuple form and of the list form.
async fn gathered_results<R: Runtime>() -> ((u64, &'static str), Vec<u64>) {
    let pair = R::join2(
        async {
            R::sleep_until(3).await;
            30
        },
        async {
            R::sleep_until(1).await;
            "one"
        },
    )
    .await;
    let list = [3, 1, 2]
        .map(|second| -> LocalBoxFuture<u64> {
            Box::pin(async move {
                R::sleep_until(3 + second).await;
                second * 10
            })
        })
        .into();
    (pair, R::join_all(list).await)
}

// === greenloop ===

/// greenloop on a virtual clock.
struct Greenloop;

thread_local! {
    /// The virtual instant at which the running scenario began, on either runtime.
    static START: Cell<Option<Instant>> = const { Cell::new(None) };
}

fn start() -> Instant {
    START.get().expect("a scenario is running")
}

impl Runtime for Greenloop {
    type Queue<T: 'static> = greenloop::sync::Queue<T>;

    fn block_on<T: 'static>(main: impl Future<Output = T> + 'static) -> T {
        let executor = greenloop::Executor::builder().virtual_clock().build();
        executor.block_on(async {
            START.set(Some(greenloop::time::now()));
            main.await
        })
    }

    fn spawn<T: 'static>(future: impl Future<Output = T> + 'static) -> LocalBoxFuture<T> {
        let handle = greenloop::spawn(future);
        Box::pin(async move { handle.await.expect("a greenloop task panicked") })
    }

    fn sleep_until(second: u64) -> impl Future<Output = ()> {
        greenloop::time::sleep_until(start() + Duration::from_secs(second))
    }

    fn join2<A: 'static, B: 'static>(
        a: impl Future<Output = A> + 'static,
        b: impl Future<Output = B> + 'static,
    ) -> impl Future<Output = (A, B)> {
        greenloop::gather!(a, b)
    }

    fn join_all<T: 'static>(futures: Vec<LocalBoxFuture<T>>) -> impl Future<Output = Vec<T>> {
        greenloop::gather::gather(futures)
    }
}

impl<T: 'static> LessonQueue<T> for greenloop::sync::Queue<T> {
    fn new(capacity: Option<usize>) -> Self {
        capacity.map_or_else(Self::unbounded, Self::bounded)
    }

    async fn put(&self, item: T) -> Result<(), T> {
        greenloop::sync::Queue::put(self, item)
            .await
            .map_err(|greenloop::sync::PutError(item)| item)
    }

    async fn get(&self) -> Option<T> {
        greenloop::sync::Queue::get(self).await.ok()
    }

    fn task_done(&self) {
        greenloop::sync::Queue::task_done(self).expect("one task_done per item");
    }

    fn join(&self) -> impl Future<Output = ()> {
        greenloop::sync::Queue::join(self)
    }

    fn close(&self) {
        greenloop::sync::Queue::close(self);
    }

    fn stream(&self) -> LocalBoxStream<T> {
        Box::pin(greenloop::sync::Queue::stream(self))
    }
}

// === smol ===

/// smol's `LocalExecutor`, async-channel and async-io's `Timer`, on the real clock scaled
/// down to [`SMOL_SECOND`].
struct Smol;

thread_local! {
    static SMOL: RefCell<Option<Rc<smol::LocalExecutor<'static>>>> = const { RefCell::new(None) };
}

/// The pending sleeps of the smol adapter, by `(deadline, creation number)`: a sleep whose
/// timer fired completes only once it is the first, so sleeps complete in greenloop's order.
/// (Its idle check is in [`Smol::sleep_until`].)
#[derive(Default)]
struct SleepOrder {
    next: u64,
    /// The waker of a sleep whose timer fired and that waits for its turn.
    pending: BTreeMap<(Instant, u64), Option<Waker>>,
}

thread_local! {
    static ORDER: RefCell<SleepOrder> = RefCell::default();
    /// How many times a smol task (or the main future) has been polled.
    static ACTIVITY: Cell<u64> = const { Cell::new(0) };
}

/// `future`, counting each of its polls in [`ACTIVITY`].
fn counted<F: Future>(future: F) -> impl Future<Output = F::Output> {
    let mut future = Box::pin(future);
    futures::future::poll_fn(move |cx| {
        ACTIVITY.set(ACTIVITY.get() + 1);
        future.as_mut().poll(cx)
    })
}

/// One sleep's place in [`SleepOrder`]; awaiting it waits until it is the first. Dropping it
/// (a cancelled sleep, or a completed one) hands the turn on.
struct Turn {
    key: (Instant, u64),
}

impl SleepOrder {
    fn enter(deadline: Instant) -> Turn {
        ORDER.with_borrow_mut(|order| {
            order.next += 1;
            let key = (deadline, order.next);
            order.pending.insert(key, None);
            Turn { key }
        })
    }
}

impl Future for Turn {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<()> {
        ORDER.with_borrow_mut(|order| {
            if order.pending.keys().next() == Some(&self.key) {
                Poll::Ready(()) // `drop` removes the entry and wakes the next sleep.
            } else {
                order.pending.insert(self.key, Some(cx.waker().clone()));
                Poll::Pending
            }
        })
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let next = ORDER.with_borrow_mut(|order| {
            order.pending.remove(&self.key);
            order.pending.values().next().cloned().flatten()
        });
        if let Some(waker) = next {
            waker.wake();
        }
    }
}

impl Runtime for Smol {
    type Queue<T: 'static> = SmolQueue<T>;

    fn block_on<T: 'static>(main: impl Future<Output = T> + 'static) -> T {
        let executor = Rc::new(smol::LocalExecutor::new());
        SMOL.set(Some(executor.clone()));
        START.set(Some(Instant::now()));
        ORDER.with_borrow_mut(|order| order.pending.clear());
        let output = smol::block_on(executor.run(counted(main)));
        SMOL.set(None);
        output
    }

    fn spawn<T: 'static>(future: impl Future<Output = T> + 'static) -> LocalBoxFuture<T> {
        let executor = SMOL.with_borrow(|ex| ex.clone().expect("inside Smol::block_on"));
        Box::pin(executor.spawn(counted(future)))
    }

    async fn sleep_until(second: u64) {
        let deadline = start() + SMOL_SECOND * u32::try_from(second).unwrap();
        let mut turn = SleepOrder::enter(deadline);
        async_io::Timer::at(deadline).await;
        loop {
            (&mut turn).await; // The earliest pending sleep...
            let polls = ACTIVITY.get();
            smol::future::yield_now().await;
            if ACTIVITY.get() == polls + 1 {
                break; // ...and no other task ran during a whole yield: the executor is idle.
            }
        }
        drop(turn); // Hands the turn on.
    }

    fn join2<A: 'static, B: 'static>(
        a: impl Future<Output = A> + 'static,
        b: impl Future<Output = B> + 'static,
    ) -> impl Future<Output = (A, B)> {
        smol::future::zip(a, b)
    }

    async fn join_all<T: 'static>(futures: Vec<LocalBoxFuture<T>>) -> Vec<T> {
        let tasks: Vec<_> = futures.into_iter().map(Smol::spawn).collect();
        let mut outputs = Vec::with_capacity(tasks.len());
        for task in tasks {
            outputs.push(task.await);
        }
        outputs
    }
}

/// async-channel plus an unfinished-items counter and an `event_listener::Event` for `join`.
struct SmolQueue<T> {
    tx: async_channel::Sender<T>,
    rx: async_channel::Receiver<T>,
    unfinished: Rc<Cell<usize>>,
    finished: Rc<event_listener::Event>,
}

impl<T> Clone for SmolQueue<T> {
    fn clone(&self) -> Self {
        SmolQueue {
            tx: self.tx.clone(),
            rx: self.rx.clone(),
            unfinished: self.unfinished.clone(),
            finished: self.finished.clone(),
        }
    }
}

impl<T: 'static> LessonQueue<T> for SmolQueue<T> {
    fn new(capacity: Option<usize>) -> Self {
        let (tx, rx) = capacity.map_or_else(async_channel::unbounded, async_channel::bounded);
        SmolQueue {
            tx,
            rx,
            unfinished: Rc::default(),
            finished: Rc::default(),
        }
    }

    async fn put(&self, item: T) -> Result<(), T> {
        self.tx.send(item).await.map_err(|e| e.into_inner())?;
        self.unfinished.set(self.unfinished.get() + 1);
        Ok(())
    }

    async fn get(&self) -> Option<T> {
        self.rx.recv().await.ok()
    }

    fn task_done(&self) {
        let left = self
            .unfinished
            .get()
            .checked_sub(1)
            .expect("one task_done per item");
        self.unfinished.set(left);
        if left == 0 {
            self.finished.notify(usize::MAX);
        }
    }

    async fn join(&self) {
        while self.unfinished.get() > 0 {
            let listener = self.finished.listen();
            if self.unfinished.get() == 0 {
                break;
            }
            listener.await;
        }
    }

    fn close(&self) {
        self.tx.close();
    }

    fn stream(&self) -> LocalBoxStream<T> {
        Box::pin(self.rx.clone())
    }
}

// === the tests ===

/// Runs `scenario` on both runtimes; returns (greenloop's output, smol's output).
fn on_both<T: 'static, F, G>(greenloop: F, smol: G) -> (T, T)
where
    F: Future<Output = T> + 'static,
    G: Future<Output = T> + 'static,
{
    (Greenloop::block_on(greenloop), Smol::block_on(smol))
}

fn ten_rounds() -> Vec<String> {
    (1..=10)
        .map(|n| format!("Round {n}"))
        .chain(["[End of input]".to_owned()])
        .collect()
}

#[test]
fn producer_consumer_prints_the_same_lines_on_greenloop_and_smol() {
    let (greenloop, smol) = on_both(
        producer_consumer::<Greenloop>(),
        producer_consumer::<Smol>(),
    );
    assert_eq!(greenloop, ten_rounds());
    assert_eq!(smol, greenloop);
}

#[test]
fn consumer_sets_pace_prints_the_same_lines_on_greenloop_and_smol() {
    let (greenloop, smol) = on_both(
        consumer_sets_pace::<Greenloop>(),
        consumer_sets_pace::<Smol>(),
    );
    assert_eq!(greenloop, ten_rounds());
    assert_eq!(smol, greenloop);
}

#[test]
fn async_iteration_prints_the_same_lines_on_greenloop_and_smol() {
    let (greenloop, smol) = on_both(async_iteration::<Greenloop>(), async_iteration::<Smol>());
    let mut expected: Vec<String> = (1..=5)
        .flat_map(|n| ["a", "b", "c"].map(|p| format!("Round {p}{n}")))
        .collect();
    expected.push("[End of input]".to_owned());
    assert_eq!(greenloop, expected);
    assert_eq!(smol, greenloop);
}

#[test]
fn spawned_tasks_start_in_fifo_order_after_the_spawner_yields_on_both() {
    let (greenloop, smol) = on_both(spawn_order::<Greenloop>(), spawn_order::<Smol>());
    assert_eq!(greenloop, ((0..10).collect(), vec![]));
    assert_eq!(smol, greenloop);
}

#[test]
fn gather_returns_results_in_argument_order_like_smols_join() {
    let (greenloop, smol) = on_both(gathered_results::<Greenloop>(), gathered_results::<Smol>());
    assert_eq!(greenloop, ((30, "one"), vec![30, 10, 20]));
    assert_eq!(smol, greenloop);
}
