//! The task arena: size classes, page give-back, frees from other threads, shutdown with
//! tasks still referenced elsewhere, large and over-aligned tasks.
//!
//! Unit tests, because they look at the arena's own counts (`Arena::usage`).
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Waker};

use super::arena::{CELLS_AT, CLASS_SIZES, LARGE, LIVE_WORDS, PAGE, SMALL_CLASSES, class_for};
use super::{Executor, JoinHandle};

#[test]
fn classes_grow_and_serve_their_alignments() {
    assert_eq!(&CLASS_SIZES[..3], &[32, 40, 48]);
    assert_eq!(CLASS_SIZES[SMALL_CLASSES - 1], 256);
    assert_eq!(
        &CLASS_SIZES[SMALL_CLASSES..SMALL_CLASSES + 5],
        &[320, 384, 448, 512, 640]
    );
    assert!(CLASS_SIZES.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(CLASS_SIZES[class_for(56, 8) as usize], 56);
    assert_eq!(CLASS_SIZES[class_for(57, 8) as usize], 64);
    assert_eq!(CLASS_SIZES[class_for(40, 16) as usize], 48);
    assert_eq!(CLASS_SIZES[class_for(300, 128) as usize], 384);
    assert_eq!(class_for(300, 256), LARGE);
    assert_eq!(class_for(65_537, 8), LARGE);
    for size in (1..=65_536).step_by(7) {
        for align in [8, 16, 32, 64, 128] {
            let class = class_for(size, align);
            let cell = CLASS_SIZES[class as usize];
            assert!(
                cell >= size && cell % align == 0,
                "{size}/{align} -> {cell}"
            );
        }
    }
}

#[test]
fn the_magic_division_is_exact_for_every_cell_of_every_class() {
    for &size in &CLASS_SIZES {
        let magic = (1u64 << 32).div_ceil(size as u64);
        for i in 0..(PAGE - CELLS_AT) / size {
            assert_eq!((((i * size) as u64 * magic) >> 32) as usize, i, "{size}");
        }
    }
}

#[test]
fn every_class_fits_its_live_bits_and_at_least_three_cells() {
    for &size in &CLASS_SIZES {
        let cells = (PAGE - CELLS_AT) / size;
        assert!((3..=LIVE_WORDS * 64).contains(&cells), "{size}: {cells}");
    }
}

/// A future that hands its waker to `out` on its first poll and finishes on its second:
/// the task is complete while another owner (whoever got the waker) still holds a reference.
fn hand_out_waker(out: mpsc::Sender<Waker>) -> impl Future<Output = ()> {
    let mut polls = 0;
    std::future::poll_fn(move |cx: &mut Context<'_>| {
        polls += 1;
        if polls == 1 {
            out.send(cx.waker().clone()).expect("the receiver waits");
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(())
    })
}

/// Opens once; wakes whoever waited.
#[derive(Default)]
struct Gate {
    open: Cell<bool>,
    waiters: RefCell<Vec<Waker>>,
}

impl Gate {
    fn open(&self) {
        self.open.set(true);
        self.waiters.take().into_iter().for_each(Waker::wake);
    }
}

/// A future of (at least) `N` bytes that waits for its gate.
struct Padded<const N: usize> {
    _bytes: [u8; N],
    gate: Rc<Gate>,
}

impl<const N: usize> Future for Padded<N> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        if self.gate.open.get() {
            return Poll::Ready(N);
        }
        self.gate.waiters.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

/// A future aligned to 256 bytes, beyond the size classes.
#[repr(align(256))]
struct OverAligned(u8);

impl Future for OverAligned {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<usize> {
        Poll::Ready(std::ptr::from_ref(&*self).addr() % 256 + usize::from(self.0))
    }
}

#[test]
fn a_burst_of_tasks_gives_its_pages_back_but_one() {
    let ex = Executor::new();
    let handles: Vec<JoinHandle<u64>> =
        (0..20_000u64).map(|i| ex.spawn(async move { i })).collect();
    let (pages, allocated) = ex.core.arena.usage();
    assert_eq!(allocated, 20_000);
    assert!(pages >= 2, "20k tasks fill more than one page: {pages}");
    ex.run_until_stalled();
    assert!(handles.iter().all(JoinHandle::is_finished));
    drop(handles); // outside a tick: these frees take the remote path
    assert_eq!(ex.core.arena.usage().1, 20_000, "not drained yet");
    ex.tick();
    assert_eq!(ex.core.arena.usage(), (1, 0), "one spare page is kept");
}

#[test]
fn spawning_one_task_at_a_time_reuses_one_cell() {
    let ex = Executor::new();
    ex.block_on(async {
        for i in 0..1000u32 {
            assert_eq!(crate::spawn(async move { i }).await.unwrap(), i);
        }
    });
    assert_eq!(ex.core.arena.usage(), (1, 0));
}

#[test]
fn a_cell_freed_on_another_thread_comes_back_at_the_next_tick() {
    let ex = Executor::new();
    let (tx, rx) = mpsc::channel();
    let handle = ex.spawn(hand_out_waker(tx));
    ex.run_until_stalled();
    assert!(handle.is_finished());
    drop(handle);
    let waker = rx.recv().unwrap();
    assert_eq!(ex.core.arena.usage().1, 1, "the waker still holds the task");
    std::thread::spawn(move || drop(waker)).join().unwrap();
    assert_eq!(
        ex.core.arena.usage().1,
        1,
        "freed remotely, not drained yet"
    );
    ex.tick();
    assert_eq!(ex.core.arena.usage().1, 0);
}

#[test]
fn tasks_referenced_after_the_executor_is_dropped_free_everything_last() {
    let ex = Executor::new();
    let shared = Arc::downgrade(&ex.core.shared);
    let (tx, rx) = mpsc::channel();
    drop(ex.spawn(hand_out_waker(tx.clone())));
    drop(ex.spawn(hand_out_waker(tx)));
    let pending = ex.spawn(std::future::pending::<()>());
    ex.run_until_stalled();
    let (first, second) = (rx.recv().unwrap(), rx.recv().unwrap());
    drop(ex);
    assert!(pending.is_finished(), "cancelled by the executor's drop");
    assert!(shared.upgrade().is_some(), "three cells still allocated");
    drop(pending); // on this thread, after shutdown
    std::thread::spawn(move || first.wake()).join().unwrap();
    assert!(shared.upgrade().is_some(), "one cell still allocated");
    std::thread::spawn(move || drop(second)).join().unwrap();
    assert!(
        shared.upgrade().is_none(),
        "the last free dropped Shared and its pages"
    );
}

#[test]
fn large_and_over_aligned_tasks_get_pages_of_their_own() {
    assert_eq!(class_for(size_of::<Padded<70_000>>() + 64, 8), LARGE);
    let ex = Executor::new();
    let gate = Rc::new(Gate::default());
    let big = ex.spawn(Padded::<70_000> {
        _bytes: [7; 70_000],
        gate: Rc::clone(&gate),
    });
    let small = ex.spawn(Padded::<8> {
        _bytes: [1; 8],
        gate: Rc::clone(&gate),
    });
    let aligned = ex.spawn(OverAligned(3));
    ex.run_until_stalled();
    assert_eq!(
        ex.core.arena.usage(),
        (3, 3),
        "a small page, a big one, an aligned one"
    );
    gate.open();
    let outputs = ex.block_on(async {
        (
            big.await.unwrap(),
            small.await.unwrap(),
            aligned.await.unwrap(),
        )
    });
    assert_eq!(
        outputs,
        (70_000, 8, 3),
        "the aligned future sat at a multiple of 256"
    );
    ex.tick();
    assert_eq!(
        ex.core.arena.usage(),
        (1, 0),
        "both large pages given back at once"
    );
}

#[test]
fn the_live_bits_list_every_task_across_pages_and_classes() {
    struct Counted(Rc<Cell<usize>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let dropped = Rc::new(Cell::new(0));
    let ex = Executor::new();
    let mut ids = Vec::new();
    for i in 0..6000 {
        let counted = Counted(Rc::clone(&dropped));
        let handle = if i % 3 == 0 {
            ex.spawn(async move {
                let _keep = counted;
                std::future::pending::<()>().await;
            })
        } else {
            let padding = [0u8; 200];
            ex.spawn(async move {
                let _keep = (counted, padding);
                std::future::pending::<()>().await;
            })
        };
        ids.push(handle.id());
    }
    ex.run_until_stalled();
    assert_eq!(ex.len(), 6000);
    let dumped: Vec<_> = ex.dump().tasks().iter().map(|task| task.id()).collect();
    assert_eq!(dumped, ids, "every task, in id order");
    drop(ex);
    assert_eq!(
        dropped.get(),
        6000,
        "the executor's drop found every future"
    );
}

#[test]
fn a_large_task_page_is_kept_as_a_spare_and_reused() {
    let ex = Executor::new();
    let spares = || ex.core.arena.spares();
    for round in 0..3u8 {
        let value = ex.block_on(ex.spawn(async move {
            let buffer = [round; 70_000];
            crate::yield_now().await;
            buffer[69_999]
        }));
        assert_eq!(value.unwrap(), round);
        ex.tick(); // takes back the cell the JoinHandle freed
        assert_eq!(
            spares(),
            1,
            "round {round}: the one page, kept for the next large task"
        );
    }
    assert_eq!(ex.core.arena.usage(), (0, 0));
}

/// The executor and the `JoinHandle` share one reference (I2): the cell is freed exactly when
/// the last of executor, handle and wakers lets go, in every order.
#[test]
fn the_owner_reference_goes_with_the_last_of_executor_and_handle() {
    let ex = Executor::new();
    let cells = |ex: &Executor| ex.core.arena.usage().1;

    // The handle goes first (detached): the executor's release frees the cell.
    drop(ex.spawn(async { 1u8 }));
    assert_eq!(cells(&ex), 1);
    ex.run_until_stalled();
    assert_eq!(cells(&ex), 0, "released, no handle: freed");

    // The executor releases first (the task completes): the handle's drop frees it.
    let handle = ex.spawn(async { 2u8 });
    ex.run_until_stalled();
    assert!(handle.is_finished());
    assert_eq!(
        cells(&ex),
        1,
        "the handle still holds the owner side's reference"
    );
    assert_eq!(ex.block_on(handle).unwrap(), 2); // takes the output and drops the handle
    assert_eq!(cells(&ex), 0);

    // A waker outlives both: it frees the cell when dropped.
    let (tx, rx) = mpsc::channel();
    let handle = ex.spawn(hand_out_waker(tx));
    ex.run_until_stalled();
    let waker = rx.recv().unwrap();
    drop(handle);
    ex.run_until_stalled();
    assert_eq!(cells(&ex), 1, "the waker holds it");
    ex.block_on(async move { drop(waker) }); // on the owner thread, inside the executor
    assert_eq!(cells(&ex), 0);

    // The handle outlives the executor: it frees the cell after shutdown (the pages are
    // `Shared`'s by then; valgrind and ASan check that nothing is touched too late).
    let handle = ex.spawn(std::future::pending::<()>());
    ex.run_until_stalled();
    drop(ex);
    assert!(handle.is_finished(), "cancelled at shutdown");
    drop(handle);
}

/// Waker references dropped on the owner thread are deferred (I2), 255 at most at a time:
/// a task that drops thousands of them, and one dropped after its release, still frees its
/// cell exactly when the last holder goes, and a task dump counts its wakers right.
#[test]
fn deferred_waker_drops_free_the_cell_exactly_once() {
    let ex = Executor::new();
    let cells = |ex: &Executor| ex.core.arena.usage().1;
    let (tx, rx) = mpsc::channel();
    let mut polls = 0;
    let handle = ex.spawn(std::future::poll_fn(move |cx: &mut Context<'_>| {
        polls += 1;
        for _ in 0..1000 {
            drop(cx.waker().clone()); // deferred, flushed every 256
        }
        match polls {
            1 => {
                let waker = cx.waker().clone();
                waker.wake(); // woken and dropped by value: deferred too
                Poll::Pending
            }
            2 => {
                tx.send(cx.waker().clone()).unwrap(); // the test keeps this one
                Poll::Pending
            }
            _ => Poll::Ready(7u8),
        }
    }));
    ex.run_until_stalled();
    let kept = rx.recv().unwrap();
    let mut wakers = Vec::new();
    ex.core.for_each_task(|task| wakers.push(task.wakers));
    assert_eq!(wakers, [1], "the kept one; none of the 2000 dropped ones");
    kept.wake_by_ref();
    ex.run_until_stalled(); // the third poll completes it
    assert!(handle.is_finished());
    assert_eq!(cells(&ex), 1, "the handle and the kept waker hold it");
    // Dropped on the owner thread with the executor running, after the release: the handle
    // still holds the owner side's reference, so this one is deferred to the handle's drop.
    ex.block_on(async move { drop(kept) });
    assert_eq!(cells(&ex), 1);
    assert_eq!(ex.block_on(handle).unwrap(), 7);
    assert_eq!(
        cells(&ex),
        0,
        "the handle's drop took the deferred references with it"
    );
}

thread_local! {
    static RUN_ON_DROP: RefCell<Option<Executor>> = const { RefCell::new(None) };
}

/// A foreign join waker whose destructor runs the executor kept in `RUN_ON_DROP`.
struct RunsTheExecutorWhenDropped;

impl std::task::Wake for RunsTheExecutorWhenDropped {
    fn wake(self: Arc<Self>) {}
}

impl Drop for RunsTheExecutorWhenDropped {
    fn drop(&mut self) {
        RUN_ON_DROP.with(|ex| ex.borrow().as_ref().map(Executor::run_until_stalled));
    }
}

/// The orders of leaving the first test leaves out, where the owner side's reference must
/// still go exactly once (I2): the handle of a task cancelled while queued goes before the tick
/// pops it; the executor releases the task in the middle of the handle's drop (the join
/// waker's destructor runs it); a task owns its own handle when shutdown cancels it.
#[test]
fn the_owner_reference_goes_once_when_executor_and_handle_leave_interleaved() {
    let ex = Executor::new();
    let cells = |ex: &Executor| ex.core.arena.usage().1;

    // Cancelled while queued, handle dropped first: the pop releases and frees it.
    let handle = ex.spawn(async {});
    handle.cancel();
    drop(handle);
    assert_eq!(cells(&ex), 1, "cancelled, still queued: not freed");
    ex.run_until_stalled();
    assert_eq!(cells(&ex), 0);

    // The handle's drop lets a foreign waker go, whose destructor runs the task to its end
    // and so to its release, before the handle clears HANDLE: the handle frees it.
    RUN_ON_DROP.with(|slot| *slot.borrow_mut() = Some(ex));
    let mut handle = RUN_ON_DROP.with(|ex| ex.borrow().as_ref().unwrap().spawn(async { 3u8 }));
    let waker = Waker::from(Arc::new(RunsTheExecutorWhenDropped));
    let pending = Pin::new(&mut handle).poll(&mut Context::from_waker(&waker));
    assert!(pending.is_pending());
    drop(waker); // the join slot holds the last clone
    drop(handle);
    let ex = RUN_ON_DROP.with(|slot| slot.borrow_mut().take()).unwrap();
    assert_eq!(ex.len(), 0, "the task ran and was released");
    ex.tick(); // takes back the cell the handle freed outside a tick
    assert_eq!(cells(&ex), 0);

    // A task that owns its own handle: shutdown's cancel drops the future and with it the
    // handle, then releases the task, which frees it.
    let slot: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::default();
    let own = slot.clone();
    *slot.borrow_mut() = Some(ex.spawn(async move {
        let _own = own;
        std::future::pending::<()>().await;
    }));
    drop(slot);
    ex.run_until_stalled();
    assert_eq!(cells(&ex), 1);
    drop(ex); // valgrind and Miri check that the cell is freed, once
}
