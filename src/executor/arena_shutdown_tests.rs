//! Unit tests of the task arena (I13–I15), from its review: frees from other threads before,
//! during and after executor shutdown; page give-back; large and over-aligned tasks; the join
//! slot; a panicking destructor at shutdown.
//!
//! Small enough for Miri (`cargo +nightly miri test --lib arena_`), which checks the
//! cross-thread frees for data races and the pointer games for provenance and aliasing.
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use super::Executor;

/// Pending forever; hands its waker out at each poll.
struct Parked {
    waker: Rc<RefCell<Option<Waker>>>,
}

impl Future for Parked {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Spawns `n` pending tasks, polls them once, and returns a clone of each one's waker.
fn parked_wakers(ex: &Executor, n: usize) -> Vec<Waker> {
    let slots: Vec<_> = (0..n)
        .map(|_| {
            let waker = Rc::new(RefCell::new(None));
            ex.spawn(Parked {
                waker: waker.clone(),
            });
            waker
        })
        .collect();
    ex.run_until_stalled();
    slots
        .iter()
        .map(|slot| slot.borrow().clone().expect("polled once"))
        .collect()
}

#[test]
fn wakers_freed_on_other_threads_while_the_owner_ticks_are_taken_back() {
    let ex = Executor::new();
    let wakers = parked_wakers(&ex, 16);
    // The tasks finish; only the wakers keep their cells now.
    let handles: Vec<_> = (0..16).map(|_| ex.spawn(async {})).collect();
    ex.run_until_stalled();
    drop(handles);
    std::thread::scope(|s| {
        for chunk in wakers.chunks(4) {
            let chunk = chunk.to_vec();
            s.spawn(move || {
                for waker in chunk {
                    waker.wake();
                }
            });
        }
        // The owner ticks meanwhile: it drains the remote frees pushed so far.
        for _ in 0..4 {
            ex.tick();
        }
    });
    drop(wakers);
    ex.run_until_stalled();
    assert_eq!(ex.len(), 16, "the parked tasks are still alive");
}

#[test]
fn wakers_freed_after_the_executor_is_gone_free_the_pages_once() {
    let ex = Executor::new();
    let wakers = parked_wakers(&ex, 8);
    drop(ex); // cancels the tasks; their cells stay, held by the wakers (I14)
    let counter = Arc::new(AtomicUsize::new(0));
    std::thread::scope(|s| {
        for chunk in wakers.chunks(2) {
            let chunk = chunk.to_vec();
            let counter = counter.clone();
            s.spawn(move || {
                for waker in chunk {
                    waker.wake_by_ref(); // refused: the executor is gone
                    drop(waker);
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    // The clones above were the extra references; these are the last ones.
    drop(wakers);
    assert_eq!(counter.load(Ordering::Relaxed), 8);
}

#[test]
fn a_waker_freed_while_the_executor_is_dropped_is_counted() {
    let ex = Executor::new();
    let wakers = parked_wakers(&ex, 4);
    let wakers = Arc::new(Mutex::new(wakers));
    std::thread::scope(|s| {
        let remote = wakers.clone();
        s.spawn(move || {
            // Races with the drop below: some are freed before close, some after.
            while let Some(waker) = remote.lock().unwrap().pop() {
                waker.wake();
            }
        });
        drop(ex);
    });
    assert!(wakers.lock().unwrap().is_empty());
}

#[test]
fn a_handle_that_outlives_its_executor_still_gives_the_output() {
    let ex = Executor::new();
    let done = ex.spawn(async { String::from("kept") });
    let pending = ex.spawn(std::future::pending::<()>());
    ex.run_until_stalled();
    drop(ex);
    assert!(done.is_finished() && pending.is_finished());
    assert!(pending.cancel_is_noop_after_shutdown());
    let out = crate::block_on(done).unwrap();
    assert_eq!(out, "kept");
    let error = crate::block_on(pending).unwrap_err();
    assert!(error.is_cancelled());
}

impl<T> super::JoinHandle<T> {
    /// `cancel` on a finished task: nothing happens, even with the executor gone.
    fn cancel_is_noop_after_shutdown(&self) -> bool {
        self.cancel();
        self.is_finished()
    }
}

#[test]
fn a_handle_awaited_by_another_executors_task_wakes_it_at_shutdown() {
    let a = Executor::new();
    let b = Executor::new();
    let inner = a.spawn(std::future::pending::<u32>());
    // b's task joins a's task: the join slot keeps b's task waker as a pointer.
    let outer = b.spawn(inner);
    b.run_until_stalled();
    drop(a); // cancels `inner` and wakes b's task through the join slot
    assert!(b.has_ready());
    b.run_until_stalled();
    assert!(crate::block_on(outer).unwrap().unwrap_err().is_cancelled());
}

#[test]
fn a_joiner_of_another_executor_dropped_first_leaves_its_waker_in_the_slot() {
    let a = Executor::new();
    let b = Executor::new();
    let inner = a.spawn(std::future::pending::<u32>());
    let inner = Rc::new(RefCell::new(Some(inner)));
    let shared = inner.clone();
    // b's task polls the handle (registering b's waker in a's slot) then stops polling it.
    b.spawn(std::future::poll_fn(move |cx| {
        if let Some(handle) = shared.borrow_mut().as_mut() {
            assert!(Pin::new(handle).poll(cx).is_pending());
        }
        Poll::<()>::Pending
    }));
    b.run_until_stalled();
    drop(b); // b's task is gone; its cell lives on, held by a's join slot
    a.run_until_stalled();
    drop(inner.borrow_mut().take()); // empties the slot: the last reference to b's task
    drop(a);
}

/// Fills a little over two pages of the smallest class and frees them in an order that
/// empties a page in the middle of the class's list first, then respawns into what is left.
#[test]
#[cfg_attr(miri, ignore = "16 000 tasks: too slow under Miri")]
fn pages_are_given_back_and_reused_in_any_order() {
    let ex = Executor::new();
    // 32-byte cells: (PAGE - CELLS_AT) / 32 = 8156 a page. Two and a bit pages.
    let n = 8156 * 2 + 10;
    let handles: Vec<_> = (0..n).map(|_| ex.spawn(async {})).collect();
    ex.run_until_stalled();
    let mut handles: Vec<_> = handles.into_iter().map(Some).collect();
    // Free the middle page first, then the first, then spawn again, then free the rest.
    for h in handles[8156..8156 * 2].iter_mut() {
        drop(h.take());
    }
    for h in handles[..8156].iter_mut() {
        drop(h.take());
    }
    let again: Vec<_> = (0..100).map(|_| ex.spawn(async {})).collect();
    ex.run_until_stalled();
    drop(handles);
    drop(again);
    assert!(ex.is_empty());
}

#[repr(align(4096))]
struct Aligned4K([u8; 16]);

#[repr(align(131072))]
struct Aligned128K(u8);

#[test]
fn large_and_over_aligned_tasks_get_pages_of_their_own() {
    let ex = Executor::new();
    let big = ex.spawn(async {
        let buffer = [7u8; 70_000];
        crate::yield_now().await;
        buffer.iter().map(|&b| u32::from(b)).sum::<u32>()
    });
    let aligned = ex.spawn(async {
        let value = Aligned4K([1; 16]);
        crate::yield_now().await;
        (std::ptr::from_ref(&value).addr() % 4096, value.0[15])
    });
    ex.run_until_stalled();
    assert_eq!(crate::block_on(big).unwrap(), 490_000);
    assert_eq!(crate::block_on(aligned).unwrap(), (0, 1));
}

#[test]
fn a_task_aligned_to_half_a_page_fits_its_page() {
    // Each move of a 128 KiB-aligned future may take 256 KiB of stack in a debug build.
    let run = || {
        let ex = Executor::new();
        let handle = ex.spawn(async {
            let value = Aligned128K(3);
            crate::yield_now().await;
            (std::ptr::from_ref(&value).addr() % 131_072, value.0)
        });
        ex.run_until_stalled();
        assert_eq!(crate::block_on(handle).unwrap(), (0, 3));
    };
    let thread = std::thread::Builder::new().stack_size(64 << 20);
    thread.spawn(run).unwrap().join().unwrap();
}

/// Cancels another task (of its own large page) from its destructor while the executor is
/// dropped: the snapshot still holds the freed task's address, whose page must still be there
/// when the loop reaches it (`keep_pages`).
#[test]
fn a_destructor_at_shutdown_that_frees_a_large_task_of_the_snapshot() {
    type Slot = Rc<RefCell<Option<super::JoinHandle<()>>>>;
    struct CancelOnDrop(Slot);
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            if let Some(handle) = self.0.borrow_mut().take() {
                handle.cancel(); // frees the victim: its executor reference and this handle
            }
        }
    }
    let ex = Executor::new();
    let slot: Slot = Rc::default();
    let killer = CancelOnDrop(slot.clone());
    // The killer has the lower id, so shutdown cancels it first.
    ex.spawn(async move {
        let _killer = killer;
        std::future::pending::<()>().await;
    });
    let victim = ex.spawn(async {
        let buffer = [0u8; 70_000];
        std::future::pending::<()>().await;
        let _ = buffer;
    });
    *slot.borrow_mut() = Some(victim);
    ex.run_until_stalled();
    drop(ex);
}

/// The hook is dropped during `Executor::drop`. Its panic used to skip `Arena::close`, so the
/// `Core` dropped the last `Arc<Shared>` while cells still pointed at it: a debug build aborted
/// (`Arena`'s drop assertion, panicking while unwinding); a release build read freed memory
/// in the `wake` below (valgrind: invalid read in `Shared::push`).
#[test]
fn a_panicking_hook_destructor_at_shutdown_still_closes_the_arena() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("hook dropped");
        }
    }
    let ex = Executor::new();
    let wakers = parked_wakers(&ex, 2);
    let bomb = PanicOnDrop;
    ex.on_wake(move || {
        let _ = &bomb;
    });
    let unwound = std::panic::catch_unwind(AssertUnwindSafe(|| drop(ex)));
    assert!(unwound.is_err(), "the hook's destructor panicked");
    // The wakers still point into the executor's pages and its Shared.
    for waker in wakers {
        waker.wake();
    }
}

thread_local! {
    static LATE: Cell<Option<Waker>> = const { Cell::new(None) };
}

#[test]
fn a_waker_dropped_during_thread_local_destruction() {
    std::thread::spawn(|| {
        let ex = Executor::new();
        let wakers = parked_wakers(&ex, 1);
        LATE.with(|late| late.set(wakers.into_iter().next()));
        drop(ex);
        // The thread ends: LATE's destructor frees the last cell, after close.
    })
    .join()
    .unwrap();
}

#[test]
fn a_waker_dropped_during_thread_local_destruction_with_the_executor_alive() {
    std::thread::spawn(|| {
        let ex = Executor::new();
        let wakers = parked_wakers(&ex, 1);
        let done = ex.spawn(async {});
        ex.run_until_stalled();
        drop(done);
        LATE.with(|late| late.set(wakers.into_iter().next()));
        // Leak nothing: the executor is dropped after LATE? Locals go first, so drop it here,
        // and let LATE's destructor run after.
        drop(ex);
    })
    .join()
    .unwrap();
}

thread_local! {
    static DROPPED_BY_A_DESTRUCTOR: RefCell<Option<Executor>> = const { RefCell::new(None) };
}

/// Drops the executor kept in `DROPPED_BY_A_DESTRUCTOR` when dropped.
struct DropsTheExecutor;

impl Drop for DropsTheExecutor {
    fn drop(&mut self) {
        drop(DROPPED_BY_A_DESTRUCTOR.with(|ex| ex.borrow_mut().take()));
    }
}

/// `JoinHandle::cancel` takes an extra strong count of the executor's `Rc<Core>` (I9, I10).
/// Under Miri (Stacked Borrows) this checks that the count is reached through the `Rc`'s own
/// pointer, not one derived from a `&Core`, and that the `Core` the destructor's drop of the
/// executor leaves to the cancel is shut down and freed once, after the cancel.
#[test]
fn a_host_cancel_that_drops_the_executor_keeps_its_core_until_the_shutdown() {
    let ex = Executor::new();
    let bystander = ex.spawn(std::future::pending::<()>());
    let victim = ex.spawn(async {
        let _drops = DropsTheExecutor;
        std::future::pending::<()>().await;
    });
    ex.run_until_stalled();
    DROPPED_BY_A_DESTRUCTOR.with(|slot| *slot.borrow_mut() = Some(ex));
    victim.cancel();
    assert!(DROPPED_BY_A_DESTRUCTOR.with(|slot| slot.borrow().is_none()));
    assert!(victim.is_finished() && bystander.is_finished(), "shut down");
}

/// Waker references that shutdown's destructors drop on the owner thread are deferred (I2)
/// while the task's handle holds the owner side's reference: the handle, dropped after the
/// executor, takes them off with its own (300 of them, past a flush at 256), and a waker
/// kept on another thread frees the cell last, after close (I14, I15).
#[test]
fn wakers_dropped_at_shutdown_are_taken_off_by_the_handle_that_outlives_it() {
    let ex = Executor::new();
    let slot = Rc::new(RefCell::new(None));
    let first = ex.spawn(Parked {
        waker: slot.clone(),
    });
    ex.run_until_stalled();
    let waker = slot.borrow_mut().take().expect("polled once");
    let clones: Vec<Waker> = (0..300).map(|_| waker.clone()).collect();
    // Spawned second, so shutdown cancels it after `first`: its 300 wakers are dropped once
    // the executor has released `first`, whose handle alone holds the owner reference.
    ex.spawn(async move {
        let _clones = clones;
        std::future::pending::<()>().await;
    });
    ex.run_until_stalled();
    drop(ex);
    assert!(first.is_finished());
    drop(first);
    std::thread::spawn(move || drop(waker)).join().unwrap();
}

/// Counts its drops.
struct CountsDrops(Arc<AtomicUsize>);

impl Drop for CountsDrops {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Spawns a pending task holding a `CountsDrops` when dropped (inside an executor).
struct SpawnsWhenDropped(Arc<AtomicUsize>);

impl Drop for SpawnsWhenDropped {
    fn drop(&mut self) {
        let counted = CountsDrops(self.0.clone());
        drop(crate::spawn(async move {
            let _counted = counted;
            std::future::pending::<()>().await;
        }));
    }
}

/// The `on_wake` hook is dropped at the very end of shutdown (`CloseOnDrop`), still inside the
/// executor: a task its destructor spawns is cancelled too, before the arena closes, so no
/// future outlives its executor (I10) and valgrind sees no leak.
#[test]
fn a_task_spawned_by_the_hooks_destructor_at_shutdown_is_dropped_too() {
    let drops = Arc::new(AtomicUsize::new(0));
    let ex = Executor::new();
    let spawner = SpawnsWhenDropped(drops.clone());
    ex.on_wake(move || {
        let _ = &spawner;
    });
    drop(ex);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the late task's future was dropped"
    );
}
