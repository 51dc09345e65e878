//! Per-child wakers: the machinery that lets a join of many futures poll only the woken ones.
//!
//! Every child of a [`WakeSet`] gets its own [`Waker`]. Waking it sets the child's bit in a shared
//! two-level bitmap and wakes the parent task once per batch, so the parent's next poll visits
//! exactly the children that were woken, in argument order. A gather of `n` futures therefore does `O(n + wakes)` work
//! in total, where a shared waker (futures' `join!`) does `O(n)` per wake and `O(n²)` in the worst
//! case (rust-lang/futures-rs#1603, #2201).
//!
//! Costs: one allocation per child that returns `Pending` (its waker, reused on every later wake),
//! none per wake. A child that completes on its first poll without keeping its waker hands the
//! allocation to the next child, so a gather of futures that are all ready at once allocates one
//! waker in total.
//!
//! A wake is one `fetch_or` on the child's bitmap word, plus one on the summary word when the
//! child's word was empty, plus waking the parent if no wake is pending yet: no lock and no
//! allocation. Draining reads only the summary words and the words they flag, so a poll costs
//! `O(n / 4096 + woken)`.
//!
//! Source: the idea is futures-concurrency's `src/future/join/` (per-child wakers and a ready
//! list); this version is written without `unsafe`, with `std::task::Wake`, `Arc` and atomics, and
//! its ready set is a bitmap (argument order within a batch, not wake order).
//!
//! # Invariants
//! - W1: whenever `words[w]` has a bit set, `summary[w / 64]` has bit `w % 64` set, or a drain
//!   has cleared that summary bit and not yet swapped `words[w]`.
//! - W2: a child's bit is set only by its waker, and cleared only by the parent's drain, which
//!   then polls the child.
//! - W3: after setting a bit, a waker either sees `parent_woken == true` (a wake is pending and
//!   the parent's next drain happens after the bit was set) or wakes the parent itself.
use std::mem;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Wake, Waker};

use futures::task::AtomicWaker;

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
    /// A waker that nobody but this set references, with the `Arc` it was built from (so that
    /// its reference count can be read): the waker for the next fresh child. Reusing it costs no
    /// atomic read-modify-write, so a child that is ready at its first poll costs none.
    spare: Option<(Arc<ChildWaker>, Waker)>,
    started: bool,
    remaining: usize,
}

enum Slot {
    /// Never polled.
    Fresh,
    /// Returned `Pending`; holds the waker it was polled with.
    Waiting(Waker),
    /// Finished.
    Done,
}

struct Shared {
    /// Bit `i % 64` of word `i / 64`: child `i` was woken and not yet polled.
    words: Box<[AtomicU64]>,
    /// Bit `w % 64` of word `w / 64`: `words[w]` may have bits set (W1).
    summary: Box<[AtomicU64]>,
    /// The parent task's waker, registered at every poll.
    parent: AtomicWaker,
    /// The parent was woken since its last poll began (W3).
    parent_woken: AtomicBool,
}

struct ChildWaker {
    /// The child this waker wakes; changes only while the waker is the unshared spare.
    index: AtomicUsize,
    shared: Arc<Shared>,
}

// === impl WakeSet ===

impl WakeSet {
    /// A set for `len` children, none of them polled yet.
    pub(crate) fn new(len: usize) -> Self {
        let words = len.div_ceil(64);
        let mut slots = Vec::with_capacity(len);
        slots.resize_with(len, || Slot::Fresh);
        WakeSet {
            shared: Arc::new(Shared {
                words: (0..words).map(|_| AtomicU64::new(0)).collect(),
                summary: (0..words.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
                parent: AtomicWaker::new(),
                parent_woken: AtomicBool::new(false),
            }),
            slots,
            spare: None,
            started: false,
            remaining: len,
        }
    }

    /// How many children have not finished.
    pub(crate) fn remaining(&self) -> usize {
        self.remaining
    }

    /// Polls every child woken since the last call, in argument order (every child on the first
    /// call), through `poll_child(index, cx)`.
    ///
    /// Each child is polled at most once per call. A child woken while this runs is polled in it
    /// if the drain has not reached its bitmap word yet, otherwise on the parent's next poll (the
    /// parent's waker fires for it): a child that wakes itself waits for the next tick, as a task
    /// woken during its own poll does.
    /// Returns `true` if `poll_child` returned [`Child::Stop`]; the rest of the batch is then
    /// dropped, which is fine because a stopped join polls no child again.
    pub(crate) fn poll_woken(
        &mut self,
        parent: &Waker,
        mut poll_child: impl FnMut(usize, &mut Context<'_>) -> Child,
    ) -> bool {
        self.shared.parent.register(parent);
        // Release: a waker that reads a bitmap word after this drain swapped it also sees this
        // reset, so it wakes the parent (W3).
        self.shared.parent_woken.store(false, Ordering::Release);
        if !self.started {
            self.started = true;
            for index in 0..self.slots.len() {
                if self.poll_one(index, &mut poll_child) == Child::Stop {
                    return true;
                }
            }
            return false;
        }
        let shared = Arc::clone(&self.shared);
        for (s, summary) in shared.summary.iter().enumerate() {
            if summary.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let mut flagged = summary.swap(0, Ordering::AcqRel);
            while flagged != 0 {
                let w = s * 64 + flagged.trailing_zeros() as usize;
                flagged &= flagged - 1;
                let mut woken = shared.words[w].swap(0, Ordering::AcqRel);
                while woken != 0 {
                    let index = w * 64 + woken.trailing_zeros() as usize;
                    woken &= woken - 1;
                    if self.poll_one(index, &mut poll_child) == Child::Stop {
                        return true;
                    }
                }
            }
        }
        false
    }

    fn poll_one(
        &mut self,
        index: usize,
        poll_child: &mut impl FnMut(usize, &mut Context<'_>) -> Child,
    ) -> Child {
        match mem::replace(&mut self.slots[index], Slot::Done) {
            Slot::Done => Child::Done,
            Slot::Waiting(waker) => {
                let result = poll_child(index, &mut Context::from_waker(&waker));
                match result {
                    Child::Pending => self.slots[index] = Slot::Waiting(waker),
                    Child::Done | Child::Stop => self.remaining -= 1,
                }
                result
            }
            Slot::Fresh => {
                let (child, waker) = self.spare.take().unwrap_or_else(|| self.new_waker());
                child.index.store(index, Ordering::Release);
                let result = poll_child(index, &mut Context::from_waker(&waker));
                match result {
                    Child::Pending => self.slots[index] = Slot::Waiting(waker),
                    Child::Done | Child::Stop => {
                        self.remaining -= 1;
                        // Two references, `child` and `waker`: the child kept no clone, so no one
                        // can wake this index any more and the waker can serve the next child.
                        // (A clone made during the poll was made on this thread, so this load
                        // cannot miss it.)
                        if Arc::strong_count(&child) == 2 {
                            self.spare = Some((child, waker));
                        }
                    }
                }
                result
            }
        }
    }

    /// A new waker: the set's one allocation per child that returns `Pending`.
    fn new_waker(&self) -> (Arc<ChildWaker>, Waker) {
        let child = Arc::new(ChildWaker {
            index: AtomicUsize::new(0),
            shared: Arc::clone(&self.shared),
        });
        let waker = Waker::from(Arc::clone(&child));
        (child, waker)
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

// === impl ChildWaker ===

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let shared = &*self.shared;
        let index = self.index.load(Ordering::Acquire);
        let (w, bit) = (index / 64, 1u64 << (index % 64));
        let before = shared.words[w].fetch_or(bit, Ordering::AcqRel);
        if before & bit != 0 {
            // Already flagged: the parent's next drain polls this child anyway (W2).
            return;
        }
        if before == 0 {
            // First bit of an empty word: flag the word for the drain (W1).
            shared.summary[w / 64].fetch_or(1 << (w % 64), Ordering::AcqRel);
        }
        // The load skips the read-modify-write when a wake is already pending (W3).
        if !shared.parent_woken.load(Ordering::Acquire)
            && !shared.parent_woken.swap(true, Ordering::AcqRel)
        {
            shared.parent.wake();
        }
    }
}
