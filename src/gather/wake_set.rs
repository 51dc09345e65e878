//! Per-child wakers: the machinery that lets a join of many futures poll only the woken ones.
//!
//! Every child of a [`WakeSet`] gets its own [`Waker`]. Waking it sets the child's bit in a shared
//! two-level bitmap and wakes the parent task once per batch, so the parent's next poll visits
//! exactly the children that were woken, in argument order. A gather of `n` futures therefore
//! does `O(n + wakes)` work in total, where a shared waker (futures' `join!`) does `O(n)` per
//! wake and `O(n²)` in the worst case (rust-lang/futures-rs#1603, #2201).
//!
//! Costs: the `n` wakers live in one allocation ([`IndexedWakers`], from the executor module,
//! which holds the `unsafe` this needs): one for the whole set, none per child and none per
//! wake. A child is polled with its waker *borrowed*, which costs nothing; a child that keeps
//! its waker (it returned `Pending`) clones it, one atomic increment on the shared count.
//!
//! A wake is one `fetch_or` on the child's bitmap word, plus one on the summary word when the
//! child's word was empty, plus waking the parent if no wake is pending yet: no lock and no
//! allocation. Draining reads only the summary words and the words they flag, so a poll costs
//! `O(n / 4096 + woken)`.
//!
//! Source: the idea is futures-concurrency's `src/future/join/` (per-child wakers and a ready
//! list); here every child waker shares one `Arc` (see `executor::indexed`, invariant I11), and
//! the ready set is a bitmap (argument order within a batch, not wake order).
//!
//! # Invariants
//! - W1: whenever `words[w]` has a bit set, `summary[w / 64]` has bit `w % 64` set, or a drain
//!   has cleared that summary bit and not yet swapped `words[w]`.
//! - W2: a child's bit is set only by its waker, and cleared only by the parent's drain, which
//!   then polls the child.
//! - W3: after setting a bit, a waker either sees `parent_woken == true` (a wake is pending and
//!   the parent's next drain happens after the bit was set) or wakes the parent itself.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Waker};

use futures::task::AtomicWaker;

use crate::executor::indexed::{IndexedWakers, WakeIndex};

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
    /// Child `i`'s waker sets bit `i` of the shared bitmap.
    wakers: IndexedWakers<Shared>,
    /// `done[i]`: child `i` finished and is never polled again.
    done: Vec<bool>,
    started: bool,
    remaining: usize,
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

// === impl WakeSet ===

impl WakeSet {
    /// A set for `len` children, none of them polled yet.
    pub(crate) fn new(len: usize) -> Self {
        let words = len.div_ceil(64);
        let shared = Shared {
            words: (0..words).map(|_| AtomicU64::new(0)).collect(),
            summary: (0..words.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            parent: AtomicWaker::new(),
            parent_woken: AtomicBool::new(false),
        };
        WakeSet {
            wakers: IndexedWakers::new(shared, len),
            done: vec![false; len],
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
    /// only if its bitmap word is still to be drained and was already flagged when the drain read
    /// its summary word (or that summary word is not read yet); otherwise on the parent's next
    /// poll (the parent's waker fires for it). So a child that wakes itself waits for the next
    /// tick, as a task woken during its own poll does, and so may a later sibling whose word had
    /// no bit set yet.
    /// Returns `true` if `poll_child` returned [`Child::Stop`]; the rest of the batch is then
    /// dropped, which is fine because a stopped join polls no child again.
    pub(crate) fn poll_woken(
        &mut self,
        parent: &Waker,
        mut poll_child: impl FnMut(usize, &mut Context<'_>) -> Child,
    ) -> bool {
        let WakeSet {
            wakers,
            done,
            started,
            remaining,
        } = self;
        let shared = wakers.state();
        shared.parent.register(parent);
        // Release: a waker that reads a bitmap word after this drain swapped it also sees this
        // reset, so it wakes the parent (W3).
        shared.parent_woken.store(false, Ordering::Release);
        let len = done.len();
        let mut poll_one = |index: usize| {
            if done[index] {
                return Child::Done;
            }
            // The child's waker is borrowed for the poll: free unless the child keeps a clone.
            let result = wakers.with_waker(index, |waker| {
                poll_child(index, &mut Context::from_waker(waker))
            });
            if result != Child::Pending {
                done[index] = true;
                *remaining -= 1;
            }
            result
        };
        if !*started {
            *started = true;
            for index in 0..len {
                if poll_one(index) == Child::Stop {
                    return true;
                }
            }
            return false;
        }
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
                    if poll_one(index) == Child::Stop {
                        return true;
                    }
                }
            }
        }
        false
    }
}

impl std::fmt::Debug for WakeSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WakeSet")
            .field("len", &self.done.len())
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

// === impl Shared ===

impl WakeIndex for Shared {
    fn wake_index(&self, index: usize) {
        let (w, bit) = (index / 64, 1u64 << (index % 64));
        let before = self.words[w].fetch_or(bit, Ordering::AcqRel);
        if before & bit != 0 {
            // Already flagged: the parent's next drain polls this child anyway (W2).
            return;
        }
        if before == 0 {
            // First bit of an empty word: flag the word for the drain (W1).
            self.summary[w / 64].fetch_or(1 << (w % 64), Ordering::AcqRel);
        }
        // The load skips the read-modify-write when a wake is already pending (W3).
        if !self.parent_woken.load(Ordering::Acquire)
            && !self.parent_woken.swap(true, Ordering::AcqRel)
        {
            self.parent.wake();
        }
    }
}
