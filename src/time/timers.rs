//! The timer structure: a radix heap with lazy deletion over a slab of entries.
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
//! - The **radix heap** holds `(deadline, seq, slot)` items relative to `last`, the deadline
//!   most recently taken out. It reads a deadline as eight 8-bit digits (a radix heap with
//!   base 256, or equally a hierarchical timing wheel of eight levels of 256 slots that turns
//!   with `last`). `due` holds the items whose deadline is at or below `last`; any other item
//!   sits in the bucket (level, digit) where *level* is the most significant digit in which
//!   its deadline differs from `last` and *digit* is its own value of that digit. So every
//!   item of a lower level, or of the same level and a lower digit, has an earlier deadline.
//!   Insert pushes onto a bucket's `Vec`: O(1). To take the earliest item when `due` is
//!   empty, find the lowest non-empty bucket (a bit mask per level, and one of levels), take
//!   its smallest deadline as the new `last` and redistribute the bucket's items: those at
//!   `last` go to `due`, the rest land in lower levels. An item only ever moves down a level,
//!   so it moves at most 8 times, and 3 or 4 times for deadlines up to a second ahead (with
//!   one bucket per bit, as in the textbook radix heap, it was about one move per bit of
//!   distance, some 16 for timers milliseconds apart); each move is a sequential read and a
//!   push, which is why this beats a binary heap's random accesses by several times with 100k
//!   timers pending. A bucket keeps its allocation when emptied only if it is small (`KEEP`),
//!   as the high levels see a new digit every few milliseconds.
//! - A radix heap needs **monotone** keys: nothing may be filed below `last`. `last` is always
//!   a deadline that has already fired, so `last <= now`, and a timer inserted with a deadline
//!   at or below it (one that was created, then first polled after its deadline) has already
//!   passed: it goes straight into `due` and fires at the next pop.
//! - Equal deadlines fire in **sequence-number order**, which is creation order:
//!   `due` is kept sorted by `(deadline, seq)` (it is usually tiny, and a redistribution
//!   usually fills it in creation order, which is reversed rather than sorted).
//! - **Cancelling** ([`Timers::cancel`]) frees the slot at once and leaves the bucket item
//!   behind as a *tombstone* (its slot no longer holds its sequence number). Tombstones are
//!   dropped when a redistribution or a pop meets them, and `due` and the non-empty buckets
//!   are swept (`retain`, O(n)) whenever tombstones outnumber live items. So the buckets never hold more than about
//!   twice the pending timers, a program that creates and drops timeouts forever runs in
//!   bounded memory, and each cancel costs amortised O(1).
//! - Sizes: 24 bytes per item, 24 per slab entry, and 2048 empty buckets (48 KiB, allocated
//!   at the first insert that is not already due).
//!
//! Source: Ahuja, Mehlhorn, Orlin and Tarjan, "Faster algorithms for the shortest path
//! problem", J. ACM 37(2), 1990 (the radix heap); lazy deletion with a sweep once more than
//! half is cancelled is what asyncio does to its timer heap (`BaseEventLoop._scheduled`,
//! `_timer_cancelled_count`, `Lib/asyncio/base_events.py`).
use std::task::Waker;

/// Names one timer: the slab slot it occupies and its sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    slot: u32,
    seq: u64,
}

/// The pending timers of one driver.
#[derive(Debug)]
pub(crate) struct Timers {
    /// The items whose deadline is `<= last` (those at `last` and those filed after it had
    /// passed), sorted by descending `(deadline, seq)`, so that `pop` yields the earliest.
    due: Vec<Item>,
    /// `buckets[level * SLOTS + digit]` holds the items filed under that level and digit (see
    /// the module docs). Empty until the first item is filed.
    buckets: Vec<Vec<Item>>,
    /// Bit `level` is set iff some bucket of that level is non-empty.
    levels: u32,
    /// Bit `digit` of `occupied[level]` (as a `WORDS`-word bit set) is set iff that bucket is
    /// non-empty.
    occupied: [[u64; WORDS]; LEVELS],
    /// The deadline most recently taken out; every item's deadline outside `due` is `> last`.
    last: u64,
    /// Items in `due` and all buckets, tombstones included.
    items: usize,
    /// Slab of entries, indexed by `Key::slot`.
    entries: Vec<Entry>,
    /// Vacant slots of `entries`, reused last-freed first.
    free: Vec<u32>,
    /// Items whose timer was cancelled (the slot no longer holds their `seq`).
    tombstones: usize,
    /// When `Some`, an item with the earliest deadline among the buckets (it may have been
    /// cancelled since); saves rescanning a bucket between `next_deadline` and the pop.
    hint: Option<Item>,
}

/// A slab slot: vacant when `seq == VACANT`.
#[derive(Debug)]
struct Entry {
    seq: u64,
    waker: Option<Waker>,
}

/// One radix-heap item.
#[derive(Debug, Clone, Copy)]
struct Item {
    deadline: u64,
    seq: u64,
    slot: u32,
}

// === impl Item ===

impl Item {
    /// The firing order: earliest deadline first, then earliest created.
    #[inline]
    fn order(&self) -> (u64, u64) {
        (self.deadline, self.seq)
    }
}

/// The sequence number of a vacant slot; real sequence numbers start at 1.
const VACANT: u64 = 0;

/// Below this many items, tombstones are never swept (a sweep of a tiny heap costs more than
/// skipping a few tombstones).
const MIN_COMPACT: usize = 64;

/// Bits per digit: a deadline is read as `LEVELS` digits of `DIGIT` bits.
const DIGIT: u32 = 8;
/// Buckets per level, one per digit value.
const SLOTS: usize = 1 << DIGIT;
/// Words of a level's occupancy bit set.
const WORDS: usize = SLOTS / 64;
/// Levels: enough digits for a `u64`.
const LEVELS: usize = u64::BITS.div_ceil(DIGIT) as usize;
/// A bucket keeps its allocation after being emptied only up to this many items, so that
/// buckets that held a burst once (the high levels see a new digit every few milliseconds)
/// do not each keep a burst's worth of memory.
const KEEP: usize = 256;

// === impl Timers ===

impl Default for Timers {
    fn default() -> Timers {
        Timers {
            due: Vec::new(),
            buckets: Vec::new(),
            levels: 0,
            occupied: [[0; WORDS]; LEVELS],
            last: 0,
            items: 0,
            entries: Vec::new(),
            free: Vec::new(),
            tombstones: 0,
            hint: None,
        }
    }
}

impl Timers {
    /// Number of pending timers (cancelled and fired ones are not counted).
    pub(crate) fn len(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// Whether no item is left, tombstones included (nothing can fire).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.items == 0
    }

    /// Number of items, tombstones included (for the no-growth tests).
    #[cfg(test)]
    pub(crate) fn heap_len(&self) -> usize {
        self.items
    }

    /// Adds a timer that wakes `waker` once `deadline` has passed.
    ///
    /// `seq` must be unique among all timers ever inserted here, and non-zero; it breaks ties
    /// between equal deadlines (smaller fires first). A deadline at or before the last one
    /// taken out is filed in `due` and fires at the next [`Timers::pop_expired`] that finds
    /// it expired, in `(deadline, seq)` order with the rest of `due`.
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
        let item = Item {
            deadline,
            seq,
            slot,
        };
        if deadline <= self.last {
            // Keep `due` sorted, descending, so that `pop` yields the earliest.
            let pos = self.due.partition_point(|i| i.order() > item.order());
            self.due.insert(pos, item);
        } else {
            if self.buckets.is_empty() {
                self.buckets = (0..LEVELS * SLOTS).map(|_| Vec::new()).collect();
            }
            let b = self.bucket_of(deadline);
            self.file(b, item);
            if let Some(h) = self.hint
                && deadline < h.deadline
            {
                self.hint = Some(item);
            }
        }
        self.items += 1;
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
    #[inline]
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
        if self.tombstones * 2 > self.items && self.items >= MIN_COMPACT {
            self.compact();
        }
        waker
    }

    /// The earliest deadline among pending timers.
    ///
    /// Costs a scan of the lowest non-empty bucket when `due` is empty and no hint is cached
    /// (the scan caches one; the next pop redistributes that bucket).
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        self.skip_tombstones_in_due();
        if let Some(item) = self.due.last() {
            return Some(item.deadline);
        }
        match self.hint {
            Some(h) if self.is_live(h) => Some(h.deadline),
            _ => self.find_min().map(|h| h.deadline),
        }
    }

    /// Removes the earliest pending timer if its deadline is `<= now` and returns its waker.
    /// Call it in a loop to fire every expired timer in `(deadline, seq)` order.
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<Waker> {
        loop {
            if let Some(&item) = self.due.last() {
                if item.deadline > now {
                    return None;
                }
                self.due.pop();
                self.items -= 1;
                let entry = &mut self.entries[item.slot as usize];
                if entry.seq != item.seq {
                    self.tombstones -= 1;
                    continue;
                }
                entry.seq = VACANT;
                self.free.push(item.slot);
                return entry.waker.take();
            }
            // A cancelled hint is still a lower bound on every deadline, which is all that
            // `redistribute` needs.
            let min = match self.hint {
                Some(h) => h,
                None => self.find_min()?,
            };
            if min.deadline > now {
                return None;
            }
            self.redistribute(min.deadline);
        }
    }

    /// Whether `item` belongs to a pending timer (is not a tombstone).
    #[inline]
    fn is_live(&self, item: Item) -> bool {
        self.entries[item.slot as usize].seq == item.seq
    }

    /// The bucket an item with this deadline (`> last`) belongs in: the level is the most
    /// significant digit in which it differs from `last`, the slot its own value of that digit.
    #[inline]
    fn bucket_of(&self, deadline: u64) -> usize {
        debug_assert!(deadline > self.last);
        let high = u64::BITS - 1 - (deadline ^ self.last).leading_zeros();
        let level = high / DIGIT;
        let digit = (deadline >> (level * DIGIT)) as usize & (SLOTS - 1);
        level as usize * SLOTS + digit
    }

    /// Pushes `item` onto bucket `b` and marks it occupied.
    #[inline]
    fn file(&mut self, b: usize, item: Item) {
        self.buckets[b].push(item);
        let (level, digit) = (b / SLOTS, b % SLOTS);
        self.occupied[level][digit / 64] |= 1 << (digit % 64);
        self.levels |= 1 << level;
    }

    /// Marks bucket `b` empty.
    #[inline]
    fn mark_empty(&mut self, b: usize) {
        let (level, digit) = (b / SLOTS, b % SLOTS);
        let words = &mut self.occupied[level];
        words[digit / 64] &= !(1 << (digit % 64));
        if words.iter().all(|&w| w == 0) {
            self.levels &= !(1 << level);
        }
    }

    /// The lowest non-empty bucket: its items have the earliest deadlines outside `due`.
    #[inline]
    fn lowest_occupied(&self) -> Option<usize> {
        if self.levels == 0 {
            return None;
        }
        let level = self.levels.trailing_zeros() as usize;
        let words = &self.occupied[level];
        let w = words.iter().position(|&w| w != 0)?;
        Some(level * SLOTS + w * 64 + words[w].trailing_zeros() as usize)
    }

    /// Finds a live item with the earliest deadline among the buckets, stores it in `hint`
    /// and returns it. Drops buckets that turn out to hold only tombstones.
    fn find_min(&mut self) -> Option<Item> {
        loop {
            let b = self.lowest_occupied()?;
            let bucket = &self.buckets[b];
            // The lowest bucket holds the earliest deadlines. Look at liveness only for the
            // minimum found (one slab access), and rescan filtering tombstones if it is dead.
            let min = *bucket.iter().min_by_key(|i| i.deadline)?;
            let min = if self.is_live(min) {
                Some(min)
            } else {
                let entries = &self.entries;
                bucket
                    .iter()
                    .filter(|i| entries[i.slot as usize].seq == i.seq)
                    .min_by_key(|i| i.deadline)
                    .copied()
            };
            match min {
                Some(min) => {
                    self.hint = Some(min);
                    return Some(min);
                }
                None => self.clear_bucket(b),
            }
        }
    }

    /// Sets `last = min` and refiles every item of the lowest non-empty bucket: those at `min`
    /// into `due`, the others into lower buckets. Drops the tombstones met. `min` must be a
    /// lower bound of that bucket's deadlines.
    fn redistribute(&mut self, min: u64) {
        debug_assert!(self.due.is_empty(), "`due` must be drained first");
        let Some(b) = self.lowest_occupied() else {
            return;
        };
        self.last = min;
        self.hint = None;
        let mut items = std::mem::take(&mut self.buckets[b]);
        self.mark_empty(b);
        let check = self.tombstones > 0;
        for item in items.drain(..) {
            if check && !self.is_live(item) {
                self.tombstones -= 1;
                self.items -= 1;
                continue;
            }
            if item.deadline == min {
                self.due.push(item);
            } else {
                let to = self.bucket_of(item.deadline);
                debug_assert!(to < b, "radix heap items only move down");
                self.file(to, item);
            }
        }
        // Keep a small allocation for the next items filed under `b`.
        if items.capacity() <= KEEP {
            self.buckets[b] = items;
        }
        // Items usually arrive in creation order: ascending, the reverse of what `due` wants.
        let due = &mut self.due;
        if due.is_sorted_by(|a, b| a.seq < b.seq) {
            due.reverse();
        } else if !due.is_sorted_by(|a, b| a.seq > b.seq) {
            due.sort_unstable_by_key(|i| std::cmp::Reverse(i.seq));
        }
    }

    /// Drops bucket `b`, which holds only tombstones.
    fn clear_bucket(&mut self, b: usize) {
        self.hint = None;
        let n = self.buckets[b].len();
        if self.buckets[b].capacity() <= KEEP {
            self.buckets[b].clear();
        } else {
            self.buckets[b] = Vec::new();
        }
        self.mark_empty(b);
        self.tombstones -= n;
        self.items -= n;
    }

    /// Pops tombstones off the end of `due`, so that its last item, if any, is live.
    fn skip_tombstones_in_due(&mut self) {
        while let Some(item) = self.due.last() {
            if self.entries[item.slot as usize].seq == item.seq {
                return;
            }
            self.due.pop();
            self.tombstones -= 1;
            self.items -= 1;
        }
    }

    /// Drops every tombstone from `due` and the non-empty buckets: O(n).
    fn compact(&mut self) {
        self.hint = None;
        let entries = &self.entries;
        let live = |i: &Item| entries[i.slot as usize].seq == i.seq;
        self.due.retain(live);
        let mut levels = self.levels;
        while levels != 0 {
            let level = levels.trailing_zeros() as usize;
            levels &= levels - 1;
            for w in 0..WORDS {
                let mut bits = self.occupied[level][w];
                while bits != 0 {
                    let bit = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let bucket = &mut self.buckets[level * SLOTS + w * 64 + bit];
                    bucket.retain(live);
                    if bucket.is_empty() {
                        self.occupied[level][w] &= !(1 << bit);
                    }
                }
            }
            if self.occupied[level].iter().all(|&w| w == 0) {
                self.levels &= !(1 << level);
            }
        }
        self.tombstones = 0;
        self.items = self.len();
        debug_assert_eq!(
            self.due.len() + self.buckets.iter().map(Vec::len).sum::<usize>(),
            self.items,
            "a live timer lost its item"
        );
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
            // The latest `now` passed to `pop_expired` (time only moves forward).
            let mut clock = 0;
            for op in ops {
                match op {
                    Op::Insert(delay) => {
                        // Mostly ahead of the clock, sometimes already passed.
                        let deadline = (clock + delay).saturating_sub(10);
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
                    Op::Fire(step) => {
                        clock += step;
                        let now = clock;
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
                prop_assert!(t.items <= 2 * t.len() + MIN_COMPACT);
                prop_assert_eq!(
                    t.items,
                    t.due.len() + t.buckets.iter().map(Vec::len).sum::<usize>()
                );
                prop_assert_eq!(t.is_empty(), t.items == 0);
            }
            prop_assert_eq!(&*log.lock().unwrap(), &expected);
        }
    }
}
