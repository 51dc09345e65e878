//! Per-child wakers: the machinery that lets a join of many futures poll only the woken ones.
//!
//! Every child of a [`WakeSet`] gets its own [`Waker`]. Waking it records the child's index in a
//! shared ready list and wakes the parent task once per batch, so the parent's next poll visits
//! exactly the children that were woken. A gather of `n` futures therefore does `O(n + wakes)` work
//! in total, where a shared waker (futures' `join!`) does `O(n)` per wake and `O(n²)` in the worst
//! case (rust-lang/futures-rs#1603, #2201).
//!
//! Costs: one allocation per child that returns `Pending` (its waker, reused on every later wake),
//! none per wake. A child that completes on its first poll without keeping its waker hands the
//! allocation to the next child, so a gather of futures that are all ready at once allocates one
//! waker in total.
//!
//! Source: the idea is futures-concurrency's `src/future/join/` (per-child wakers and a ready
//! list); this version is written without `unsafe`, with `std::task::Wake`, `Arc` and a `Mutex`.
use std::mem;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Wake, Waker};

/// What polling one child produced, as reported by the closure given to [`WakeSet::poll_woken`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Child {
    /// The child is still running; it will be polled again when its waker fires.
    Pending,
    /// The child finished; it is never polled again.
    Done,
    /// The child finished and the parent needs no more polls in this batch (a race was won, a
    /// `try_gather` failed).
    Stop,
}

/// The per-child waker bookkeeping of one join (gather, race, as_completed).
pub(crate) struct WakeSet {
    shared: Arc<Shared>,
    /// One entry per child.
    slots: Vec<Slot>,
    /// A waker allocation no longer referenced by anyone, ready for the next child.
    spare: Option<Arc<ChildWaker>>,
    /// The batch being polled; swapped with `Inner::ready` so neither vector reallocates.
    batch: Vec<usize>,
    started: bool,
    remaining: usize,
}

enum Slot {
    /// Never polled.
    Fresh,
    /// Returned `Pending`; holds the waker it was polled with.
    Waiting(Arc<ChildWaker>),
    /// Finished.
    Done,
}

struct Shared {
    inner: Mutex<Inner>,
}

struct Inner {
    /// Indices of the children woken since the parent's last poll, in wake order.
    ready: Vec<usize>,
    /// The parent task's waker, refreshed at every poll.
    parent: Option<Waker>,
    /// The parent was already woken for the current batch.
    parent_woken: bool,
}

struct ChildWaker {
    index: usize,
    /// The index is in `Inner::ready` and not yet taken by the parent: wakes are deduplicated.
    queued: AtomicBool,
    shared: Arc<Shared>,
}

// === impl WakeSet ===

impl WakeSet {
    /// A set for `len` children, none of them polled yet.
    pub(crate) fn new(len: usize) -> Self {
        let mut slots = Vec::with_capacity(len);
        slots.resize_with(len, || Slot::Fresh);
        WakeSet {
            shared: Arc::new(Shared {
                inner: Mutex::new(Inner {
                    ready: Vec::new(),
                    parent: None,
                    parent_woken: false,
                }),
            }),
            slots,
            spare: None,
            batch: Vec::new(),
            started: false,
            remaining: len,
        }
    }

    /// How many children have not finished.
    pub(crate) fn remaining(&self) -> usize {
        self.remaining
    }

    /// Polls every child woken since the last call, in wake order (every child, in index order,
    /// on the first call), through `poll_child(index, cx)`.
    ///
    /// Children woken while this runs are left for the parent's next poll (the parent's waker
    /// fires for them), just as the executor leaves a task woken during a tick for the next tick.
    /// Returns `true` if `poll_child` returned [`Child::Stop`].
    pub(crate) fn poll_woken(
        &mut self,
        parent: &Waker,
        mut poll_child: impl FnMut(usize, &mut Context<'_>) -> Child,
    ) -> bool {
        {
            let mut inner = self.shared.lock();
            match &inner.parent {
                Some(w) if w.will_wake(parent) => {}
                _ => inner.parent = Some(parent.clone()),
            }
            inner.parent_woken = false;
            mem::swap(&mut inner.ready, &mut self.batch);
        }
        let mut stopped = false;
        if !self.started {
            self.started = true;
            for index in 0..self.slots.len() {
                if self.poll_one(index, &mut poll_child) == Child::Stop {
                    stopped = true;
                    break;
                }
            }
        }
        if !stopped {
            let batch = mem::take(&mut self.batch);
            for &index in &batch {
                if self.poll_one(index, &mut poll_child) == Child::Stop {
                    stopped = true;
                    break;
                }
            }
            self.batch = batch;
        }
        self.batch.clear();
        stopped
    }

    fn poll_one(
        &mut self,
        index: usize,
        poll_child: &mut impl FnMut(usize, &mut Context<'_>) -> Child,
    ) -> Child {
        let mut waker = match mem::replace(&mut self.slots[index], Slot::Done) {
            Slot::Done => return Child::Done,
            Slot::Waiting(waker) => {
                // Clear before polling so that a wake during the poll queues the child again.
                // AcqRel pairs with the waker's swap: whatever the waking thread wrote before
                // its (deduplicated) wake is visible to this poll.
                waker.queued.swap(false, Ordering::AcqRel);
                waker
            }
            Slot::Fresh => self.fresh_waker(index),
        };
        let result = poll_child(index, &mut Context::from_waker(&Waker::from(waker.clone())));
        match result {
            Child::Pending => self.slots[index] = Slot::Waiting(waker),
            Child::Done | Child::Stop => {
                self.remaining -= 1;
                // Nobody kept a clone: the allocation can serve the next child.
                if Arc::get_mut(&mut waker).is_some() {
                    self.spare = Some(waker);
                }
            }
        }
        result
    }

    fn fresh_waker(&mut self, index: usize) -> Arc<ChildWaker> {
        match self.spare.take() {
            Some(mut waker) => {
                let unique = Arc::get_mut(&mut waker).expect("a spare waker has no other owner");
                unique.index = index;
                *unique.queued.get_mut() = false;
                waker
            }
            None => Arc::new(ChildWaker {
                index,
                queued: AtomicBool::new(false),
                shared: Arc::clone(&self.shared),
            }),
        }
    }
}

impl std::fmt::Debug for WakeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeSet")
            .field("len", &self.slots.len())
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

// === impl Shared ===

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // No code that can panic runs under this lock, but stay usable if it ever does.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// === impl ChildWaker ===

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            // Already in the ready list: the parent will poll this child anyway.
            return;
        }
        let parent = {
            let mut inner = self.shared.lock();
            inner.ready.push(self.index);
            if inner.parent_woken {
                None
            } else {
                inner.parent_woken = true;
                inner.parent.clone()
            }
        };
        // Wake outside the lock: a parent waker is foreign code.
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}
