//! Unit tests of the timer structure: ordering, stale keys, spares, bounded growth, and
//! proptests against an ordered-map model and of the radix sort.
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
fn a_timer_filed_below_a_last_ahead_of_the_clock_waits_for_its_deadline() {
    let log = Arc::default();
    let mut t = Timers::default();
    // Both in one small bucket: the first `next_deadline` sorts it into `due` whole,
    // which moves `last` to 400, ahead of the clock.
    t.insert(300, 1, waker(1, &log));
    t.insert(400, 2, waker(2, &log));
    assert_eq!(t.next_deadline(), Some(300));
    assert_eq!(t.last, 400);
    t.insert(350, 3, waker(3, &log));
    t.insert(500, 4, waker(4, &log));
    fire_all(&mut t, 320);
    assert_eq!(*log.lock().unwrap(), [1]);
    assert_eq!(t.next_deadline(), Some(350));
    fire_all(&mut t, 399);
    assert_eq!(*log.lock().unwrap(), [1, 3]);
    fire_all(&mut t, 500);
    assert_eq!(*log.lock().unwrap(), [1, 3, 2, 4]);
}

#[test]
fn the_slab_empties_when_the_last_timer_leaves_and_old_keys_stay_stale() {
    let log = Arc::default();
    let mut t = Timers::default();
    let a = t.insert(10, 1, waker(1, &log));
    let b = t.insert(20, 2, waker(2, &log));
    fire_all(&mut t, 10);
    assert_eq!(t.entries.len(), 2, "one timer is still pending");
    fire_all(&mut t, 20);
    assert!(t.entries.is_empty() && t.free.is_empty());
    for k in [a, b] {
        assert!(!t.is_pending(k));
        assert!(t.update_waker(k, &waker(9, &log)).is_none());
        assert!(t.cancel(k).is_none());
    }
    let c = t.insert(30, 3, waker(3, &log));
    assert_eq!(c.slot, 0, "slots are taken in insertion order again");
    assert!(
        t.cancel(a).is_none(),
        "an old key for the same slot is stale"
    );
    fire_all(&mut t, 30);
    assert_eq!(*log.lock().unwrap(), [1, 2, 3]);
}

#[test]
fn emptied_big_buckets_are_kept_as_spares_for_the_next_burst() {
    let log = Arc::default();
    let mut t = Timers::default();
    for round in 0..3u64 {
        // 2000 timers in one bucket, each round far from the last.
        let base = round << 30;
        for i in 0..2_000 {
            t.insert(
                base + (1 << 20) + 7 * i,
                round * 10_000 + i + 1,
                waker(i, &log),
            );
        }
        fire_all(&mut t, base + (1 << 21));
        assert_eq!(t.len(), 0);
        assert!(!t.spares.is_empty() && t.spares.len() <= SPARES);
        assert!(t.spares.iter().all(|v| v.is_empty() && v.capacity() > KEEP));
    }
    assert_eq!(log.lock().unwrap().len(), 6_000);
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

    /// `radix_sort_desc` over `digits` digits, for items that share every higher digit,
    /// gives a stable sort by deadline reversed: descending, equal deadlines in the reverse
    /// of their order before (with sequence numbers in that order, `(deadline, seq)`
    /// descending, the order `due` keeps).
    #[test]
    fn radix_sort_desc_is_a_stable_sort_by_deadline_reversed(
        lows in proptest::collection::vec(0u64..1 << 16, 0..300),
        high in 0u64..1 << 40,
        digits in 1usize..=2,
    ) {
        let mask = (1u64 << (digits as u32 * DIGIT)) - 1;
        let mut items: Vec<Item> = lows
            .iter()
            .enumerate()
            .map(|(i, low)| Item {
                deadline: (high << 16) | (low & mask),
                seq: i as u64 + 1,
                slot: 0,
            })
            .collect();
        let mut expected = items.clone();
        expected.sort_by_key(|i| i.deadline);
        expected.reverse();
        radix_sort_desc(&mut items, &mut Vec::new(), digits);
        let order = |v: &[Item]| v.iter().map(Item::order).collect::<Vec<_>>();
        prop_assert_eq!(order(&items), order(&expected));
    }

    /// A burst of timers spread wide enough that buckets of levels 1 and 2 hold more than
    /// `RADIX_MIN` items (and are radix sorted), with repeated deadlines and sequence
    /// numbers inserted out of order, fires in `(deadline, seq)` order, stepwise.
    #[test]
    fn wide_bursts_fire_in_deadline_then_sequence_order(
        (steps, seqs) in (
            proptest::collection::vec(0u64..400, 1..400),
            prop_oneof![Just(1u64), Just(7), Just(97), Just(1_000)],
        )
            .prop_flat_map(|(steps, stride)| {
                let n = steps.len() as u64;
                let deadlines: Vec<u64> = steps.iter().map(|s| s * stride).collect();
                (Just(deadlines), Just((1..=n).collect::<Vec<u64>>()).prop_shuffle())
            }),
        cuts in proptest::collection::vec(0u64..400_000, 0..8),
    ) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut t = Timers::default();
        let mut expected: Vec<(u64, u64)> = steps.iter().copied().zip(seqs.iter().copied()).collect();
        for &(deadline, seq) in &expected {
            t.insert(deadline, seq, waker(seq, &log));
        }
        expected.sort_unstable();
        let mut cuts = cuts;
        cuts.sort_unstable();
        for now in cuts.into_iter().chain([u64::MAX]) {
            fire_all(&mut t, now);
            let fired = expected.iter().take_while(|(d, _)| *d <= now);
            let want: Vec<u64> = fired.map(|&(_, seq)| seq).collect();
            prop_assert_eq!(&*log.lock().unwrap(), &want);
        }
        prop_assert_eq!(t.len(), 0);
    }
}
