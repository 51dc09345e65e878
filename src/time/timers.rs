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
//!   number is the slot's generation. Whenever the last pending timer leaves, the slab is
//!   emptied (a key or item whose slot lies beyond its end is stale too), so that the next
//!   burst of timers takes slots in insertion order instead of in the order the previous
//!   burst fired, which is random.
//! - The **radix heap** holds `(deadline, seq, slot)` items relative to `last`, the latest deadline
//!   taken out of the buckets. It reads a deadline as eight 8-bit digits (a radix heap with base
//!   256, or equally a hierarchical timing wheel of eight levels of 256 slots that turns with
//!   `last`). `due` holds the items whose deadline is at or below `last`; any other item sits in
//!   the bucket (level, digit) where *level* is the most significant digit in which its deadline
//!   differs from `last` and *digit* is its own value of that digit. So every item of a lower
//!   level, or of the same level and a lower digit, has an earlier deadline. Insert pushes onto a
//!   bucket's `Vec`: O(1). When `due` runs empty, the lowest non-empty bucket (a bit mask per
//!   level, and one of levels) is taken out: if it holds at most `SORT_MAX` (256) items it is
//!   sorted into `due` whole and `last` becomes its latest deadline; otherwise its earliest
//!   deadline becomes `last` and its items are redistributed: those at `last` go to `due`, the
//!   rest land in lower levels. An item only ever moves down a level, so it moves at most 8
//!   times, and at most 4 times (into `due` included) for deadlines less than 4 s ahead (with
//!   one bucket per bit, as in the textbook radix heap, it was about one move per bit of
//!   distance, some 16 for timers milliseconds apart); each move is a sequential read and a
//!   push, which is why this beats a binary heap's random accesses by several times with 100k
//!   timers pending. Sorting buckets of up to 256 items whole spares a move into, and a visit
//!   to, each of the many buckets of one deadline or a few below them, one per tick: 100k
//!   timers spread over 50 ms fill level-2 buckets (65 µs each) with about 130 items, which
//!   are sorted into `due` instead of being spread over as many level-1 buckets. The items of
//!   a bucket of level 1 or 2 differ only in their lowest one or two digits, so a radix sort
//!   of one or two counting passes orders them, at a few nanoseconds per item where a
//!   comparison sort of random deadlines costs several times that. A bucket keeps its
//!   allocation when emptied only if it is small (`KEEP`), as the high levels see a new digit
//!   every few milliseconds.
//! - A radix heap needs **monotone** keys: nothing may be filed in a bucket at or below
//!   `last`. A timer inserted with a deadline at or below `last` (one that was created, then
//!   first polled after its deadline, or one due within the bucket just sorted) goes
//!   straight into `due`, in order (binary search and a shift of `due`, at most some 256
//!   items).
//!   `next_deadline` and `pop_expired` both refill `due` when it is empty, so `last` may be
//!   ahead of the clock; `pop_expired` compares the earliest item of `due` with `now`.
//! - Equal deadlines fire in **sequence-number order**, which is creation order:
//!   `due` is kept sorted by `(deadline, seq)`. A redistribution usually fills it in creation
//!   order, which is reversed rather than sorted; the radix sort writes `due`'s descending
//!   order directly, equal deadlines in the reverse of bucket order, which is right when the
//!   bucket was in creation order (noted while its entries are checked, so a bucket sorted
//!   this way is neither reversed nor checked again); whatever is still out of order after
//!   either (a timer first polled long after its creation) is sorted.
//! - **Cancelling** ([`Timers::cancel`]) frees the slot at once and leaves the bucket item
//!   behind as a *tombstone* (its slot no longer holds its sequence number). Tombstones are
//!   dropped when a redistribution, a sort into `due` or a pop meets them, and `due` and
//!   the non-empty buckets are swept (`retain`, O(n)) whenever tombstones outnumber live
//!   items. So the buckets never hold more than about twice the pending timers, a program that creates and drops timeouts forever runs in
//!   bounded memory, and each cancel costs amortised O(1).
//! - **Cache.** The slab is filled in insertion order and read in firing order, and so are
//!   the tasks the wakers point to: with 100k timers, every pop would miss the cache on its
//!   entry, and every wake and poll on its task. So a sort into `due` (the last refill,
//!   some 100 timers before they fire) checks every item's slab entry, tombstones or not:
//!   the loads are independent and overlap, and the pops that follow find their entries in
//!   cache. Each pop then prefetches the task of the timer that `due` yields
//!   `PREFETCH_DISTANCE` (8) pops later (`crate::executor::prefetch_task`, a cache hint and
//!   nothing more), and each refill those of the first 8: by the time a task is woken and
//!   polled, its header and future are in cache, without a burst of misses that would stall
//!   the refill. A redistribution, which moves items that are still far from firing, reads
//!   no entry unless there are tombstones to drop. On the `timers_virtual` workload (100k
//!   random deadlines), the prefetch took 8–10% off the time per timer in interleaved runs,
//!   and about a quarter while the machine's other core was busy (its work evicts ours from
//!   the shared caches, which leaves more misses to hide).
//! - **Spares.** An emptied bucket allocation of more than `KEEP` items is not freed but kept
//!   (at most `SPARES` of them, the largest), and a bucket that grows past `KEEP` moves into
//!   a larger spare instead of reallocating: a program that files bursts of timers (100k
//!   sleeps, fired, then 100k more) reuses the same few allocations instead of growing them
//!   afresh each time, page faults included (some 800 per burst of 100k before).
//! - Sizes: 24 bytes per item, 32 per slab entry (aligned, so as to touch one cache line), 2048
//!   empty buckets (48 KiB, allocated at the first insert that is not already due), and 1 KiB
//!   of counters on the stack during a radix sort.
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

// === impl Key ===

impl Key {
    /// The key of the timer with sequence number `seq` that [`Timers::insert`] put in `slot`.
    #[inline]
    pub(crate) fn new(slot: u32, seq: u64) -> Key {
        Key { slot, seq }
    }

    /// The slot part: with the timer's sequence number, all a holder needs to keep.
    #[inline]
    pub(crate) fn slot(self) -> u32 {
        self.slot
    }
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
    /// The latest deadline taken out of the buckets into `due` (or filed there); every item
    /// in `due` has a deadline `<= last`, every item in a bucket one `> last`.
    last: u64,
    /// Items in `due` and all buckets, tombstones included.
    items: usize,
    /// Slab of entries, indexed by `Key::slot`.
    entries: Vec<Entry>,
    /// Vacant slots of `entries`, reused last-freed first.
    free: Vec<u32>,
    /// Items whose timer was cancelled (the slot no longer holds their `seq`).
    tombstones: usize,
    /// Empty allocations of more than `KEEP` items, at most `SPARES`, for the next buckets
    /// that grow past `KEEP` (see the module docs).
    spares: Vec<Vec<Item>>,
}

/// A slab slot: vacant when `seq == VACANT`. Aligned to 32 bytes so that no entry straddles
/// two cache lines: the slab is read in firing order, which is random with respect to it.
#[derive(Debug)]
#[repr(align(32))]
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
/// How many emptied allocations of more than `KEEP` items are kept for reuse.
const SPARES: usize = 4;
/// A lowest bucket of at most this many items is sorted into `due` whole rather than
/// redistributed: the buckets below it, one deadline or a few each, would otherwise each
/// be visited in turn, one per tick.
const SORT_MAX: usize = 256;
/// Buckets of levels 1 to `RADIX_LEVELS` are sorted by a radix sort on their lowest digits
/// (one pass per level) when they hold more than `RADIX_MIN` items; others, by comparison.
const RADIX_LEVELS: usize = 2;
/// See `RADIX_LEVELS`: below this, the 256 counters per pass cost more than they save.
const RADIX_MIN: usize = 16;
/// At each pop, the task of the timer that `due` yields this many pops later is prefetched
/// (and at each refill, those of the first this many). Measured: 4, 8 and 16 do equally well.
const PREFETCH_DISTANCE: usize = 8;

/// Whether `item` belongs to a pending timer (is not a tombstone).
#[inline]
fn live(entries: &[Entry], item: &Item) -> bool {
    entries
        .get(item.slot as usize)
        .is_some_and(|e| e.seq == item.seq)
}

/// Sorts `items` by their lowest `digits` digits into the order `due` keeps: descending, with
/// items of equal digits in the reverse of their order in `items` (an LSD radix sort, one
/// counting pass per digit, using `scratch` as the second buffer). For items in creation
/// order that is exactly `(deadline, seq)` descending, with no reversal or check afterwards.
fn radix_sort_desc(items: &mut Vec<Item>, scratch: &mut Vec<Item>, digits: usize) {
    let Some(first) = items.first() else {
        return;
    };
    let first = first.deadline;
    for k in 0..digits {
        // Every pass but the last sorts ascending and stably; the last one reads the items
        // backwards into descending digit order, which turns the whole order around.
        let last = k + 1 == digits;
        let shift = k as u32 * DIGIT;
        let digit = |deadline: u64| (deadline >> shift) as usize & (SLOTS - 1);
        let mut next = [0u32; SLOTS];
        for item in items.iter() {
            next[digit(item.deadline)] += 1;
        }
        if next[digit(first)] as usize == items.len() {
            // One value of this digit: nothing to move, only to turn around at the end.
            if last {
                items.reverse();
            }
            continue;
        }
        // `next[d]` becomes the position of the first item of digit `d`: after all smaller
        // digits (ascending) or all larger ones (descending, the last pass).
        let mut before = 0;
        let mut place = |n: &mut u32| before += std::mem::replace(n, before);
        if last {
            next.iter_mut().rev().for_each(&mut place);
        } else {
            next.iter_mut().for_each(&mut place);
        }
        scratch.clear();
        scratch.resize(
            items.len(),
            Item {
                deadline: 0,
                seq: 0,
                slot: 0,
            },
        );
        let mut scatter = |item: &Item| {
            let pos = &mut next[digit(item.deadline)];
            scratch[*pos as usize] = *item;
            *pos += 1;
        };
        if last {
            items.iter().rev().for_each(&mut scatter);
        } else {
            items.iter().for_each(&mut scatter);
        }
        std::mem::swap(items, scratch);
    }
}

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
            spares: Vec::new(),
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
        }
        self.items += 1;
        Key { slot, seq }
    }

    /// Whether the timer named by `key` is still pending (not fired, not cancelled).
    #[cfg(test)]
    pub(crate) fn is_pending(&self, key: Key) -> bool {
        self.entries
            .get(key.slot as usize)
            .is_some_and(|e| e.seq == key.seq)
    }

    /// Replaces the waker of a pending timer unless it would wake the same task.
    ///
    /// Returns `None` (and does nothing) if the timer already fired or was cancelled, else
    /// `Some(replaced)`. The replaced waker is handed back so that the caller drops it after
    /// releasing its borrow of `Timers`: dropping a waker may drop a task's output, which
    /// may drop a timer and re-enter the driver.
    #[inline]
    pub(crate) fn update_waker(&mut self, key: Key, waker: &Waker) -> Option<Option<Waker>> {
        let entry = self.entries.get_mut(key.slot as usize)?;
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
        let entry = self.entries.get_mut(key.slot as usize)?;
        if entry.seq != key.seq {
            return None;
        }
        entry.seq = VACANT;
        let waker = entry.waker.take();
        debug_assert!(waker.is_some(), "a pending timer has a waker");
        self.tombstones += 1;
        self.release(key.slot);
        if self.tombstones * 2 > self.items && self.items >= MIN_COMPACT {
            self.compact();
        }
        waker
    }

    /// The earliest deadline among pending timers.
    ///
    /// When `due` is empty this first refills it from the lowest non-empty bucket (see
    /// [`Timers::fill_due`]), work that the next pop would do anyway.
    pub(crate) fn next_deadline(&mut self) -> Option<u64> {
        if self.fill_due() {
            self.due.last().map(|i| i.deadline)
        } else {
            None
        }
    }

    /// Removes the earliest pending timer if its deadline is `<= now` and returns its waker.
    /// Call it in a loop to fire every expired timer in `(deadline, seq)` order.
    #[inline(always)]
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<Waker> {
        if !self.fill_due() {
            return None;
        }
        let item = *self.due.last()?;
        if item.deadline > now {
            return None;
        }
        self.due.pop();
        self.items -= 1;
        if let Some(ahead) = self.due.len().checked_sub(PREFETCH_DISTANCE) {
            self.prefetch(&self.due[ahead]);
        }
        let entry = &mut self.entries[item.slot as usize];
        debug_assert_eq!(entry.seq, item.seq, "`fill_due` left a tombstone last");
        entry.seq = VACANT;
        let waker = entry.waker.take();
        self.release(item.slot);
        waker
    }

    /// Returns a vacated slot to the free list. When every slot is vacant, empties the slab
    /// instead, so that the next timers take slots in insertion order (sequential writes)
    /// rather than in the order the last ones fired; keys and items naming slots beyond the
    /// slab's end are stale.
    #[inline]
    fn release(&mut self, slot: u32) {
        self.free.push(slot);
        if self.free.len() == self.entries.len() {
            self.free.clear();
            self.entries.clear();
        }
    }

    /// Makes the last item of `due` a live one, refilling `due` from the lowest non-empty
    /// bucket as often as needed. Returns `false` if no timer is pending.
    #[inline]
    fn fill_due(&mut self) -> bool {
        // The common case, inline: `due` has a next item and there is no tombstone to skip.
        if self.tombstones == 0 && !self.due.is_empty() {
            return true;
        }
        self.refill_due()
    }

    /// The rest of [`Timers::fill_due`], out of line: its callers stay small, and the common
    /// case does not pay for this one's stack frame.
    #[inline(never)]
    fn refill_due(&mut self) -> bool {
        loop {
            self.skip_tombstones_in_due();
            if !self.due.is_empty() {
                return true;
            }
            let Some(b) = self.lowest_occupied() else {
                return false;
            };
            if self.buckets[b].len() <= SORT_MAX {
                self.take_sorted(b);
            } else {
                self.redistribute(b);
            }
            for item in self.due.iter().rev().take(PREFETCH_DISTANCE) {
                self.prefetch(item);
            }
        }
    }

    /// Prefetches the task of `item`'s timer, if it is pending.
    #[inline]
    fn prefetch(&self, item: &Item) {
        let entry = self.entries.get(item.slot as usize);
        if let Some(Entry {
            seq,
            waker: Some(w),
        }) = entry
        {
            if *seq == item.seq {
                crate::executor::prefetch_task(w);
            }
        }
    }

    /// Whether `item` belongs to a pending timer (is not a tombstone).
    #[inline]
    fn is_live(&self, item: Item) -> bool {
        live(&self.entries, &item)
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
    #[inline(always)]
    fn file(&mut self, b: usize, item: Item) {
        if self.buckets[b].len() == self.buckets[b].capacity() {
            self.grow(b);
        }
        self.buckets[b].push(item);
        let (level, digit) = (b / SLOTS, b % SLOTS);
        self.occupied[level][digit / 64] |= 1 << (digit % 64);
        self.levels |= 1 << level;
    }

    /// Makes room in bucket `b`, which is full: moves its items into a spare allocation if
    /// it is past `KEEP` and a spare is larger, else lets the `Vec` grow as `push` would.
    #[cold]
    #[inline(never)]
    fn grow(&mut self, b: usize) {
        let len = self.buckets[b].len();
        if len >= KEEP {
            let larger = self.spares.iter().position(|v| v.capacity() > len);
            if let Some(i) = larger {
                let mut spare = self.spares.swap_remove(i);
                spare.extend_from_slice(&self.buckets[b]);
                let old = std::mem::replace(&mut self.buckets[b], spare);
                self.recycle(old);
                return;
            }
        }
        self.buckets[b].reserve(len.max(4));
    }

    /// Keeps an allocation of more than `KEEP` items as a spare, if there is room or it is
    /// larger than the smallest spare; frees it otherwise.
    fn recycle(&mut self, mut v: Vec<Item>) {
        if v.capacity() <= KEEP {
            return;
        }
        v.clear();
        if self.spares.len() < SPARES {
            self.spares.push(v);
        } else if let Some(smallest) = self.spares.iter_mut().min_by_key(|s| s.capacity()) {
            if smallest.capacity() < v.capacity() {
                *smallest = v;
            }
        }
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

    /// Moves the items of bucket `b`, the lowest non-empty one, into `due` (empty), sorted, and
    /// sets `last` to their latest deadline. Drops the tombstones met; reads the slab entry of
    /// every item (see "Cache" in the module docs).
    fn take_sorted(&mut self, b: usize) {
        debug_assert!(self.due.is_empty(), "`due` must be drained first");
        let mut items = std::mem::take(&mut self.buckets[b]);
        self.mark_empty(b);
        // Checked even without tombstones: the loads of these slab entries are independent,
        // so the CPU overlaps their cache misses here, and the pops (and prefetches) that
        // follow find the entries in cache (see the module docs).
        let entries = &self.entries;
        let before = items.len();
        // Whether the live items are in creation order (sequence numbers ascending), noted
        // on the way: then the radix sort below leaves them in firing order as they are.
        let (mut in_creation_order, mut prev) = (true, 0);
        items.retain(|i| {
            let keep = live(entries, i);
            if keep {
                in_creation_order &= i.seq > prev;
                prev = i.seq;
            }
            keep
        });
        let dropped = before - items.len();
        self.tombstones -= dropped;
        self.items -= dropped;
        let level = b / SLOTS;
        let sorted = if (1..=RADIX_LEVELS).contains(&level) && items.len() > RADIX_MIN {
            // The items of a level-`level` bucket differ from each other only in their
            // `level` lowest digits: a radix sort on those orders them by deadline, equal
            // deadlines in the reverse of their order here, which is what `due` wants when
            // that is creation order.
            radix_sort_desc(&mut items, &mut self.due, level);
            std::mem::swap(&mut self.due, &mut items);
            items.clear();
            in_creation_order
        } else {
            // `due` takes over the bucket's allocation; the bucket gets `due`'s empty one.
            std::mem::swap(&mut self.due, &mut items);
            false
        };
        if items.capacity() <= KEEP {
            self.buckets[b] = items;
        } else {
            self.recycle(items);
        }
        let due = &mut self.due;
        if sorted {
            // Sorted by the radix sort above.
        } else if due.is_sorted_by(|a, b| a.order() < b.order()) {
            // Items usually arrive in creation order; when their deadlines also ascend (a
            // bucket of one deadline), that is the reverse of what `due` wants.
            due.reverse();
        } else if !due.is_sorted_by(|a, b| a.order() > b.order()) {
            due.sort_unstable_by_key(|i| std::cmp::Reverse(i.order()));
        }
        if let Some(latest) = due.first() {
            // Every item left in a bucket is later: it is in a higher bucket than `b`.
            self.last = latest.deadline;
        }
    }

    /// Sets `last` to the earliest deadline of bucket `b`, the lowest non-empty one, and
    /// refiles its items: those at `last` into `due` (empty), the others into lower levels.
    /// Drops the tombstones met.
    fn redistribute(&mut self, b: usize) {
        debug_assert!(self.due.is_empty(), "`due` must be drained first");
        // A tombstone's deadline is as good a new `last` as any: all that matters is that it
        // is a deadline of this bucket and no later than the others.
        let Some(min) = self.buckets[b].iter().map(|i| i.deadline).min() else {
            return;
        };
        self.last = min;
        let mut items = std::mem::take(&mut self.buckets[b]);
        self.mark_empty(b);
        for item in items.drain(..) {
            if self.tombstones > 0 && !self.is_live(item) {
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
        } else {
            self.recycle(items);
        }
        // Items usually arrive in creation order: ascending, the reverse of what `due` wants.
        let due = &mut self.due;
        if due.is_sorted_by(|a, b| a.seq < b.seq) {
            due.reverse();
        } else if !due.is_sorted_by(|a, b| a.seq > b.seq) {
            due.sort_unstable_by_key(|i| std::cmp::Reverse(i.seq));
        }
    }

    /// Pops tombstones off the end of `due`, so that its last item, if any, is live.
    fn skip_tombstones_in_due(&mut self) {
        if self.tombstones == 0 {
            return;
        }
        while let Some(item) = self.due.last() {
            if live(&self.entries, item) {
                return;
            }
            self.due.pop();
            self.tombstones -= 1;
            self.items -= 1;
        }
    }

    /// Drops every tombstone from `due` and the non-empty buckets: O(n).
    fn compact(&mut self) {
        let entries = &self.entries;
        let live = |i: &Item| live(entries, i);
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
mod tests;
