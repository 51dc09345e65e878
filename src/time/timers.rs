//! The timer structure: a binary min-heap with lazy deletion over a slab of entries.
//!
//! [`Timers`] knows nothing about clocks: a deadline is a `u64` count of nanoseconds since the
//! driver's epoch (see `clock.rs`), and "expired" means `deadline <= now` for a `now` the caller
//! passes in.
//!
//! # Implementation notes
//!
//! - The **slab** (`entries` + `free`) holds one [`Entry`] per pending timer: the waker to wake
//!   and the timer's sequence number. A timer is named by its [`Key`] (slot index + sequence
//!   number); sequence numbers are unique per driver, so a key whose slot now holds another
//!   sequence number refers to a timer that already fired or was cancelled. The sequence
//!   number is the slot's generation.
//! - The **heap** holds `(deadline, seq, slot)` and pops the smallest `(deadline, seq)` first:
//!   equal deadlines fire in sequence-number order, which is creation order.
//! - **Cancelling** ([`Timers::cancel`]) frees the slot at once and leaves the heap entry behind
//!   as a *tombstone* (its slot no longer holds its sequence number). Tombstones are skipped
//!   when they reach the top of the heap, and the heap is rebuilt without them (`retain`, O(n))
//!   whenever they outnumber the live entries. That keeps the heap under twice the number of
//!   pending timers plus a small constant, so a program that creates and drops timeouts forever
//!   runs in bounded memory, and each cancel costs amortised O(1).
//! - Insert is O(log n) (O(1) on average for random deadlines), pop O(log n), cancel amortised
//!   O(1); a million pending timers cost 24 bytes of heap and 24 bytes of slab each.
//!
//! Source: the lazy-deletion heap is the textbook structure asyncio itself uses
//! (`BaseEventLoop._scheduled` with `_timer_cancelled_count` and a rebuild once more than
//! half of the heap is cancelled, `Lib/asyncio/base_events.py`).
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::task::Waker;

/// Names one timer: the slab slot it occupies and its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    slot: u32,
    seq: u64,
}

/// The pending timers of one driver.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// Min-heap on `(deadline, seq)`; may hold tombstones.
    heap: BinaryHeap<HeapEntry>,
    /// Slab of entries, indexed by `Key::slot`.
    entries: Vec<Entry>,
    /// Vacant slots of `entries`, reused last-freed first.
    free: Vec<u32>,
    /// Heap entries whose timer was cancelled (the slot no longer holds their `seq`).
    tombstones: usize,
}

/// A slab slot: vacant when `seq == VACANT`.
#[derive(Debug)]
struct Entry {
    seq: u64,
    waker: Option<Waker>,
}

/// One heap element. Ordered so that `BinaryHeap` (a max-heap) pops the smallest
/// `(deadline, seq)` first.
#[derive(Debug, Clone, Copy)]
struct HeapEntry {
    deadline: u64,
    seq: u64,
    slot: u32,
}

/// The sequence number of a vacant slot; real sequence numbers start at 1.
const VACANT: u64 = 0;

/// Below this many heap entries, tombstones are never compacted (rebuilding a tiny heap
/// costs more than skipping a few tombstones).
const MIN_COMPACT: usize = 64;

// === impl Timers ===

impl Timers {
    /// Number of pending timers (cancelled and fired ones are not counted).
    pub(crate) fn len(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// Number of heap entries, tombstones included (for the no-growth tests).
    #[cfg(test)]
    pub(crate) fn heap_len(&self) -> usize {
        self.heap.len()
    }

    /// Adds a timer that wakes `waker` once `deadline` has passed. `seq` must be unique
    /// among all timers ever inserted here, and non-zero; it breaks ties between equal
    /// deadlines (smaller fires first).
    pub(crate) fn insert(&mut self, deadline: u64, seq: u64, waker: Waker) -> Key {
        debug_assert_ne!(seq, VACANT, "sequence numbers start at 1");
        let slot = match self.free.pop() {
            Some(slot) => {
                let entry = &mut self.entries[slot as usize];
                debug_assert_eq!(entry.seq, VACANT, "free list holds an occupied slot");
                entry.seq = seq;
                entry.waker = Some(waker);
                slot
            }
            None => {
                let slot = u32::try_from(self.entries.len()).expect("more than 2^32 timers");
                self.entries.push(Entry {
                    seq,
                    waker: Some(waker),
                });
                slot
            }
        };
        self.heap.push(HeapEntry {
            deadline,
            seq,
            slot,
        });
        Key { slot, seq }
    }

    /// Whether the timer named by `key` is still pending (not fired, not cancelled).
    #[cfg(test)]
    pub(crate) fn is_pending(&self, key: Key) -> bool {
        self.entries[key.slot as usize].seq == key.seq
    }

    /// Replaces the waker of a pending timer unless it would wake the same task.
    ///
    /// Returns `None` (and does nothing) if the timer already fired or was cancelled, else
    /// `Some(replaced)`. The replaced waker is handed back so that the caller drops it after
    /// releasing its borrow of `Timers`: dropping a waker may drop a task's output, which
    /// may drop a timer and re-enter the driver.
    pub(crate) fn update_waker(&mut self, key: Key, waker: &Waker) -> Option<Option<Waker>> {
        let entry = &mut self.entries[key.slot as usize];
        if entry.seq != key.seq {
            return None;
        }
        match &mut entry.waker {
            Some(w) if w.will_wake(waker) => Some(None),
            w => Some(w.replace(waker.clone())),
        }
    }

    /// Removes a pending timer. Returns its waker if it was pending, `None` if it already
    /// fired or was cancelled. As with [`Timers::update_waker`], the caller drops the
    /// returned waker after releasing its borrow.
    pub(crate) fn cancel(&mut self, key: Key) -> Option<Waker> {
        let entry = &mut self.entries[key.slot as usize];
        if entry.seq != key.seq {
            return None;
        }
        entry.seq = VACANT;
        let waker = entry.waker.take();
        debug_assert!(waker.is_some(), "a pending timer has a waker");
        self.free.push(key.slot);
        self.tombstones += 1;
        if self.tombstones * 2 > self.heap.len() && self.heap.len() >= MIN_COMPACT {
            self.compact();
        }
        waker
    }

    /// The earliest deadline among pending timers.
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        self.skip_tombstones();
        self.heap.peek().map(|e| e.deadline)
    }

    /// Removes the earliest pending timer if its deadline is `<= now` and returns its waker.
    /// Call it in a loop to fire every expired timer in `(deadline, seq)` order.
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<Waker> {
        self.skip_tombstones();
        let top = *self.heap.peek()?;
        if top.deadline > now {
            return None;
        }
        self.heap.pop();
        let entry = &mut self.entries[top.slot as usize];
        entry.seq = VACANT;
        self.free.push(top.slot);
        entry.waker.take()
    }

    /// Pops tombstones off the top of the heap so that the top, if any, is pending.
    fn skip_tombstones(&mut self) {
        while let Some(top) = self.heap.peek() {
            if self.entries[top.slot as usize].seq == top.seq {
                return;
            }
            self.heap.pop();
            self.tombstones -= 1;
        }
    }

    /// Rebuilds the heap without its tombstones: O(n).
    fn compact(&mut self) {
        let entries = &self.entries;
        self.heap.retain(|e| entries[e.slot as usize].seq == e.seq);
        self.tombstones = 0;
        debug_assert_eq!(
            self.heap.len(),
            self.len(),
            "a live timer lost its heap entry"
        );
    }
}

// === impl HeapEntry ===

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for HeapEntry {}

impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HeapEntry {
    /// Reversed on `(deadline, seq)`, so the max-heap pops the earliest deadline first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::task::Wake;

    /// A waker that appends its id to a shared log when woken.
    struct LogWaker {
        id: u64,
        log: Arc<Mutex<Vec<u64>>>,
    }

    impl Wake for LogWaker {
        fn wake(self: Arc<Self>) {
            self.log.lock().unwrap().push(self.id);
        }
    }

    fn waker(id: u64, log: &Arc<Mutex<Vec<u64>>>) -> Waker {
        Waker::from(Arc::new(LogWaker {
            id,
            log: log.clone(),
        }))
    }

    fn fire_all(t: &mut Timers, now: u64) {
        while let Some(w) = t.pop_expired(now) {
            w.wake();
        }
    }

    #[test]
    fn equal_deadlines_fire_in_sequence_order() {
        let log = Arc::default();
        let mut t = Timers::default();
        for seq in 1..=5 {
            t.insert(10, seq, waker(seq, &log));
        }
        t.insert(5, 6, waker(6, &log));
        fire_all(&mut t, 10);
        assert_eq!(*log.lock().unwrap(), [6, 1, 2, 3, 4, 5]);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn only_expired_timers_fire() {
        let log = Arc::default();
        let mut t = Timers::default();
        t.insert(10, 1, waker(1, &log));
        t.insert(20, 2, waker(2, &log));
        fire_all(&mut t, 15);
        assert_eq!(*log.lock().unwrap(), [1]);
        assert_eq!(t.next_deadline(), Some(20));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn cancelled_timer_never_fires_and_is_not_pending() {
        let log = Arc::default();
        let mut t = Timers::default();
        let a = t.insert(10, 1, waker(1, &log));
        let b = t.insert(20, 2, waker(2, &log));
        assert!(t.cancel(a).is_some());
        assert!(t.cancel(a).is_none(), "a second cancel finds nothing");
        assert!(!t.is_pending(a));
        assert!(t.is_pending(b));
        assert_eq!(t.next_deadline(), Some(20));
        fire_all(&mut t, 100);
        assert_eq!(*log.lock().unwrap(), [2]);
        assert!(!t.is_pending(b), "a fired timer is not pending");
    }

    #[test]
    fn a_reused_slot_does_not_confuse_old_keys() {
        let log = Arc::default();
        let mut t = Timers::default();
        let old = t.insert(10, 1, waker(1, &log));
        t.cancel(old);
        let new = t.insert(30, 2, waker(2, &log));
        assert_eq!(old.slot, new.slot, "the slot is reused");
        assert!(
            t.cancel(old).is_none(),
            "the old key cannot cancel the new timer"
        );
        assert!(t.update_waker(old, &waker(9, &log)).is_none());
        assert!(t.is_pending(new));
        fire_all(&mut t, 30);
        assert_eq!(*log.lock().unwrap(), [2]);
    }

    #[test]
    fn update_waker_replaces_the_waker() {
        let log = Arc::default();
        let mut t = Timers::default();
        let k = t.insert(10, 1, waker(1, &log));
        assert!(t.update_waker(k, &waker(2, &log)).is_some());
        fire_all(&mut t, 10);
        assert_eq!(*log.lock().unwrap(), [2]);
    }

    #[test]
    fn creating_and_cancelling_forever_keeps_the_heap_bounded() {
        let log = Arc::default();
        let mut t = Timers::default();
        // Ten long-lived timers plus a churn of short-lived ones that are all cancelled.
        for seq in 1..=10 {
            t.insert(1_000_000 + seq, seq, waker(seq, &log));
        }
        let mut max_heap = 0;
        for seq in 11..5_000 {
            let k = t.insert(seq, seq, waker(seq, &log));
            t.cancel(k);
            max_heap = max_heap.max(t.heap_len());
        }
        assert_eq!(t.len(), 10);
        assert!(max_heap <= 2 * MIN_COMPACT, "heap grew to {max_heap}");
        assert!(t.entries.len() <= 11, "slab grew to {}", t.entries.len());
        fire_all(&mut t, u64::MAX);
        assert_eq!(*log.lock().unwrap(), (1..=10).collect::<Vec<_>>());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64),
        Cancel(usize),
        Fire(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u64..50).prop_map(Op::Insert),
            2 => any::<usize>().prop_map(Op::Cancel),
            1 => (0u64..50).prop_map(Op::Fire),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random inserts, cancels and fires against a `BTreeMap<(deadline, seq), id>` model.
        #[test]
        fn timers_match_an_ordered_map_model(ops in proptest::collection::vec(op(), 0..200)) {
            let log = Arc::new(Mutex::new(Vec::new()));
            let mut t = Timers::default();
            let mut model = BTreeMap::new();
            let mut keys = Vec::new();
            let mut expected = Vec::new();
            let mut seq = 0;
            for op in ops {
                match op {
                    Op::Insert(deadline) => {
                        seq += 1;
                        keys.push((t.insert(deadline, seq, waker(seq, &log)), deadline));
                        model.insert((deadline, seq), seq);
                    }
                    Op::Cancel(i) if !keys.is_empty() => {
                        let (k, deadline) = keys[i % keys.len()];
                        let removed = model.remove(&(deadline, k.seq)).is_some();
                        prop_assert_eq!(t.cancel(k).is_some(), removed);
                    }
                    Op::Cancel(_) => {}
                    Op::Fire(now) => {
                        fire_all(&mut t, now);
                        while let Some(entry) = model.first_entry() {
                            if entry.key().0 > now {
                                break;
                            }
                            expected.push(entry.remove());
                        }
                    }
                }
                prop_assert_eq!(t.len(), model.len());
                prop_assert_eq!(t.next_deadline(), model.keys().next().map(|k| k.0));
                prop_assert!(t.heap.len() <= 2 * t.len() + MIN_COMPACT);
            }
            prop_assert_eq!(&*log.lock().unwrap(), &expected);
        }
    }
}
