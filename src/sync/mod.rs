//! asyncio's synchronisation primitives for tasks of one thread.
//!
//! - `waiters.rs`: `WaiterList`, the one FIFO list of parked futures every primitive uses.
//! - `diag.rs`: thread-local registry of live primitives; what each blocked task waits on.
//! - `queue.rs`: [`Queue`] and its state; `queue/buffer.rs`: [`Fifo`], [`Lifo`], [`Priority`],
//!   [`LifoQueue`], [`PriorityQueue`]; `queue/future.rs`: [`Put`], [`Get`], [`Join`],
//!   [`QueueStream`]; `queue/error.rs`: [`TryPutError`], [`TryGetError`], [`PutError`], ...
//! - `event.rs`: [`Event`], a flag that tasks wait on.
//! - `lock.rs`: [`Lock`], an async mutex with an RAII [`LockGuard`].
//! - `semaphore.rs`: [`Semaphore`], [`BoundedSemaphore`] and their [`Permit`].
//! - `condition.rs`: [`Condition`], wait/notify tied to a [`Lock`].
//! - `barrier.rs`: [`Barrier`], a rendezvous of a fixed number of tasks.
//!
//! # Sharing model
//! Every primitive is a cheap `Clone` handle over `Rc` state: clone it into each task that
//! uses it. The primitives are `!Send` and use neither atomics nor mutexes; they rely only on
//! [`Waker`](std::task::Waker)s, so they also work under any other single-threaded executor
//! (smol's `LocalExecutor`, tokio's `LocalSet`, futures' `LocalPool`). To send values between
//! threads use a thread-safe channel such as async-channel.
//!
//! # Hand-off and fairness
//! Waiters are served in FIFO order with strict hand-off: the waiter that is woken already
//! owns what it waited for (the item, the lock, the permit, the free slot), and a task that
//! did not wait cannot take it first. asyncio instead wakes the waiter and lets it re-check
//! when it runs (spec §16); the two differ only when a task barges in between a wake-up and
//! the woken task's run, which asyncio allows and greenloop does not.
//!
//! # Cancellation
//! Dropping a waiting future is greenloop's cancellation. It never loses what the waiter had
//! been handed: the item, lock, permit or notification passes on to the next waiter.
//! asyncio raises `CancelledError` at the await; in Rust the future is simply gone.
//!
//! # Errors
//! Rust errors replace asyncio's exceptions, and they hand the value back:
//! `QueueFull`/`QueueShutDown` become [`TryPutError::Full`]/[`TryPutError::Closed`] with the
//! item inside, `QueueEmpty` becomes [`TryGetError::Empty`], and so on.

mod barrier;
mod condition;
pub(crate) mod diag;
mod event;
mod lock;
mod queue;
mod semaphore;
mod waiters;

pub use barrier::{Barrier, BarrierWait, BrokenBarrier};
pub use condition::{Condition, Wait, WaitFor};
pub use event::{Event, EventWait};
pub use lock::{Lock, LockFuture, LockGuard};
pub use queue::{
    Buffer, Closed, Fifo, Get, Join, Lifo, LifoQueue, Priority, PriorityQueue, Put, PutError,
    Queue, QueueStream, TaskDoneError, TryGetError, TryPutError,
};
pub use semaphore::{Acquire, BoundedSemaphore, Permit, ReleaseError, Semaphore};

use std::rc::{Rc, Weak};

/// Wraps a primitive's shared state in an `Rc` and registers it for diagnostics.
fn registered<S: diag::WaitSource + 'static>(state: S) -> Rc<S> {
    let rc = Rc::new(state);
    let weak: Weak<dyn diag::WaitSource> = Rc::downgrade(&rc) as Weak<dyn diag::WaitSource>;
    diag::register(weak);
    rc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Handles are cheap `Clone`s; futures and guards can be moved after polling (`Unpin`).
    /// `!Send` is proven by the `compile_fail` examples on each primitive.
    #[test]
    fn handles_are_clone_and_futures_are_unpin() {
        fn clone<T: Clone>() {}
        fn unpin<T: Unpin>() {}
        clone::<Queue<Vec<u8>>>();
        clone::<LifoQueue<Vec<u8>>>();
        clone::<PriorityQueue<u8>>();
        clone::<Event>();
        clone::<Lock<Vec<u8>>>();
        clone::<Semaphore>();
        clone::<BoundedSemaphore>();
        clone::<Condition<Vec<u8>>>();
        clone::<Barrier>();
        unpin::<Put<'static, std::marker::PhantomPinned>>();
        unpin::<Get<'static, std::marker::PhantomPinned>>();
        unpin::<QueueStream<std::marker::PhantomPinned>>();
        unpin::<Join<'static>>();
        unpin::<EventWait<'static>>();
        unpin::<LockFuture<'static, std::marker::PhantomPinned>>();
        unpin::<Acquire<'static>>();
        unpin::<Wait<'static, u8>>();
        unpin::<BarrierWait<'static>>();
    }
}
