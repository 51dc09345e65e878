//! "No heap allocation per wake", proven with a counting allocator.
//!
//! It lives here, as a unit test, because a `GlobalAlloc` is `unsafe` code and all of the
//! crate's `unsafe` stays in `src/executor/`. The counter is per thread, so tests running in
//! parallel in this binary do not disturb each other.
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::Executor;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call unchanged to the system allocator; the only addition is a
// thread-local counter with a const initialiser, which itself never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// A one-slot mailbox whose receiver parks its waker: the smallest wake source.
#[derive(Default)]
struct Mailbox {
    value: Cell<Option<u64>>,
    waiter: Cell<Option<Waker>>,
}

impl Mailbox {
    fn send(&self, value: u64) {
        self.value.set(Some(value));
        if let Some(waker) = self.waiter.take() {
            waker.wake();
        }
    }

    fn recv(&self) -> impl Future<Output = u64> + '_ {
        std::future::poll_fn(move |cx: &mut Context<'_>| match self.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                let waker = match self.waiter.take() {
                    Some(old) if old.will_wake(cx.waker()) => old,
                    _ => cx.waker().clone(),
                };
                self.waiter.set(Some(waker));
                Poll::Pending
            }
        })
    }
}

#[test]
fn yielding_and_waking_allocate_nothing_after_warm_up() {
    let ex = Executor::new();
    let before_spawn = allocations();
    drop(ex.spawn(async {}));
    assert!(
        allocations() > before_spawn,
        "the counter sees the task allocation"
    );
    for _ in 0..64 {
        ex.spawn(async {
            for _ in 0..2_000 {
                crate::yield_now().await;
            }
        });
    }
    for _ in 0..10 {
        ex.tick(); // warm-up: the run queue reaches its working size
    }
    let before = allocations();
    for _ in 0..1_000 {
        ex.tick();
    }
    assert_eq!(
        allocations() - before,
        0,
        "64 000 yields (a self-wake each) allocated"
    );
}

#[test]
fn waking_another_task_allocates_nothing_after_warm_up() {
    let ex = Executor::new();
    let ping = Rc::new(Mailbox::default());
    let pong = Rc::new(Mailbox::default());
    let (ping2, pong2) = (ping.clone(), pong.clone());
    ex.spawn(async move {
        loop {
            let n = ping2.recv().await;
            pong2.send(n + 1);
        }
    });
    let rounds = ex.spawn(async move {
        let mut n = 0;
        for _ in 0..3_000 {
            ping.send(n);
            n = pong.recv().await;
        }
        n
    });
    for _ in 0..100 {
        ex.tick();
    }
    // 1000 ticks of steady state: 500 round trips, two cross-task wakes each. (The
    // completion at the end is not measured: the first release allocates the free list.)
    let before = allocations();
    for _ in 0..1_000 {
        assert!(ex.tick().woken > 0);
    }
    assert_eq!(allocations() - before, 0, "ping-pong wakes allocated");
    assert_eq!(ex.block_on(rounds).unwrap(), 3_000);
}

#[test]
fn a_gather_allocates_the_same_whether_it_has_ten_or_a_thousand_pending_children() {
    fn gather_allocations(children: usize) -> u64 {
        let ex = Executor::new();
        let before = allocations();
        let sum = ex.block_on(async move {
            // Each child is pending once (it keeps a clone of its waker), then finishes.
            let outputs = crate::gather::gather((0..children).map(|i| async move {
                crate::yield_now().await;
                i
            }))
            .await;
            outputs.iter().sum::<usize>()
        });
        assert_eq!(sum, children * (children - 1) / 2);
        allocations() - before
    }
    // Warm the executor's own buffers (run queue) to their working size first.
    let _ = gather_allocations(1_000);
    let small = gather_allocations(10);
    let large = gather_allocations(1_000);
    // The slice of children, the bitmaps, the done flags, the waker table, the outputs, and the
    // run-queue growth of a fresh executor: a constant, not one allocation per child.
    assert!(
        large <= small + 8,
        "1000 pending children: {large} allocations, 10 children: {small}"
    );
}
