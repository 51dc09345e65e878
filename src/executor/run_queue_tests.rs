//! Unit tests of the local run queue: FIFO order and shuffling across block boundaries,
//! `remove_main`, `take_all`, and memory that follows the length.
use std::cell::Cell;
use std::collections::VecDeque;
use std::ptr::NonNull;

use super::{Blocks, Entry, KEEP, MAX_BLOCK, MIN_BLOCK, RunQueue, next_random};

/// A distinct task entry for each `i`. The pointer is never dereferenced.
fn task(i: usize) -> Entry {
    let ptr = std::ptr::without_provenance_mut(8 * (i + 1));
    Entry::Task(NonNull::new(ptr).expect("not null"))
}

impl Blocks {
    /// Asserts the invariants listed on `Blocks`.
    fn check(&self) {
        assert!(
            self.front.is_empty() || self.front_pos < self.front.len(),
            "a consumed front block is replaced at once"
        );
        if self.front.is_empty() {
            assert!(
                self.middle.is_empty(),
                "no full block behind an empty front"
            );
        } else {
            assert_eq!(self.back_pos, 0, "back is read only once front is empty");
        }
        assert!(
            self.back_pos < self.back.len() || (self.back_pos == 0 && self.back.is_empty()),
            "a back block read dry is rewound"
        );
        assert!(self.middle.iter().all(|block| !block.is_empty()));
        assert_eq!(self.middle_len, self.middle.iter().map(Vec::len).sum());
        assert!(self.spare.is_empty(), "the spare holds no entries");
    }
}

impl RunQueue {
    /// Entries the queue holds room for, spare block included.
    fn capacity(&self) -> usize {
        let blocks = self.inner.borrow();
        blocks.front.capacity()
            + blocks.middle.iter().map(Vec::capacity).sum::<usize>()
            + blocks.back.capacity()
            + blocks.spare.capacity()
    }

    /// Blocks allocated so far.
    fn allocated(&self) -> usize {
        self.inner.borrow().allocated
    }

    fn check(&self) {
        self.inner.borrow().check();
    }

    /// The entries, front to back, without removing them.
    fn to_vec(&self) -> Vec<Entry> {
        let len = self.len();
        let mut blocks = self.inner.borrow_mut();
        (0..len).map(|i| *blocks.slot(i)).collect()
    }
}

/// The old `VecDeque` version of `shuffle_front`, kept as the reference permutation.
fn reference_shuffle(entries: &mut VecDeque<Entry>, n: usize, rng: &Cell<u64>) {
    let slice = &mut entries.make_contiguous()[..n];
    for i in (1..slice.len()).rev() {
        let j = (next_random(rng) % (i as u64 + 1)) as usize;
        slice.swap(i, j);
    }
}

/// A queue whose entries lie in a partly read front block, full middle blocks and a back
/// block, and the same entries in a `VecDeque`.
fn spread_over_blocks() -> (RunQueue, VecDeque<Entry>) {
    let queue = RunQueue::default();
    let mut model = VecDeque::new();
    for i in 0..2_000 {
        queue.push(task(i));
        model.push_back(task(i));
    }
    for _ in 0..50 {
        assert_eq!(queue.pop(), model.pop_front());
    }
    {
        let blocks = queue.inner.borrow();
        assert!(blocks.front_pos > 0, "front partly read");
        assert!(blocks.middle.len() >= 2, "full blocks in the middle");
        assert!(!blocks.back.is_empty(), "entries in the back block");
    }
    queue.check();
    (queue, model)
}

#[test]
fn fifo_order_across_block_boundaries() {
    let queue = RunQueue::default();
    for i in 0..10_000 {
        queue.push(task(i));
    }
    queue.check();
    assert_eq!(queue.len(), 10_000);
    assert!(queue.inner.borrow().middle.len() > 2, "several blocks");
    for i in 0..10_000 {
        assert_eq!(queue.pop(), Some(task(i)));
        assert_eq!(queue.len(), 10_000 - i - 1);
    }
    assert_eq!(queue.pop(), None);
    assert!(queue.is_empty());
    queue.check();
}

#[test]
fn interleaved_pushes_and_pops_match_a_vecdeque() {
    let queue = RunQueue::default();
    let mut model = VecDeque::new();
    let rng = Cell::new(7);
    let mut next = 0;
    // Phases that grow, shrink and hold the length, so that every block transition (a back
    // block filled, read directly, rewound, promoted to front; a front block consumed) and
    // every length from 0 to a few blocks occur.
    for phase in 0..60 {
        let push_percent = [70, 30, 50, 95, 5][phase % 5];
        for _ in 0..1_000 {
            if next_random(&rng) % 100 < push_percent {
                let entry = if next % 97 == 0 {
                    Entry::Main
                } else {
                    task(next)
                };
                next += 1;
                queue.push(entry);
                model.push_back(entry);
            } else {
                assert_eq!(queue.pop(), model.pop_front());
            }
            assert_eq!(queue.len(), model.len());
            assert_eq!(queue.is_empty(), model.is_empty());
        }
        queue.check();
    }
    assert!(queue.allocated() > 3, "the test crossed blocks");
    assert_eq!(queue.take_all().collect::<Vec<_>>(), Vec::from(model));
}

#[test]
fn shuffle_front_across_block_boundaries_matches_the_vecdeque_permutation() {
    for n in [0, 1, 2, 127, 128, 129, 1_000, 1_950] {
        let (queue, mut model) = spread_over_blocks();
        let (ours, theirs) = (Cell::new(42), Cell::new(42));
        queue.shuffle_front(n, &ours);
        reference_shuffle(&mut model, n, &theirs);
        assert_eq!(ours.get(), theirs.get(), "same number of draws (n = {n})");
        assert_eq!(queue.to_vec(), Vec::from(model.clone()), "n = {n}");
        queue.check();
        assert_eq!(queue.take_all().collect::<Vec<_>>(), Vec::from(model));
    }
}

#[test]
fn shuffle_front_of_a_partly_read_back_block() {
    let queue = RunQueue::default();
    let mut model = VecDeque::new();
    for i in 0..100 {
        queue.push(task(i));
        model.push_back(task(i));
    }
    for _ in 0..10 {
        assert_eq!(queue.pop(), model.pop_front());
    }
    assert!(queue.inner.borrow().back_pos > 0, "reading the back block");
    let (ours, theirs) = (Cell::new(1), Cell::new(1));
    queue.shuffle_front(60, &ours);
    reference_shuffle(&mut model, 60, &theirs);
    assert_eq!(queue.to_vec(), Vec::from(model));
}

#[test]
fn remove_main_keeps_the_order_of_the_rest() {
    for at in [0, 49, 50, 300, 1_999] {
        let (queue, mut model) = spread_over_blocks();
        let index = at.min(model.len() - 1);
        queue
            .inner
            .borrow_mut()
            .slot(index)
            .clone_from(&Entry::Main);
        model[index] = Entry::Main;
        queue.remove_main();
        model.retain(|entry| *entry != Entry::Main);
        queue.check();
        assert_eq!(queue.len(), model.len());
        queue.push(task(9_999));
        model.push_back(task(9_999));
        assert_eq!(queue.take_all().collect::<Vec<_>>(), Vec::from(model));
    }
    // The front block holds only the main entry; then a partly read back block does.
    for (pushed, popped) in [(1_000, 127), (100, 99)] {
        let queue = RunQueue::default();
        let mut model: VecDeque<Entry> = (0..pushed).map(task).collect();
        for i in 0..pushed {
            queue.push(task(i));
        }
        for _ in 0..popped {
            assert_eq!(queue.pop(), model.pop_front());
        }
        queue.inner.borrow_mut().slot(0).clone_from(&Entry::Main);
        model.pop_front();
        queue.remove_main();
        queue.check();
        assert_eq!(queue.take_all().collect::<Vec<_>>(), Vec::from(model));
    }
    let queue = RunQueue::default();
    queue.push(Entry::Main);
    queue.remove_main();
    assert!(queue.is_empty());
    assert_eq!(queue.pop(), None);
}

#[test]
fn take_all_returns_everything_in_order_and_leaves_no_memory() {
    let (queue, model) = spread_over_blocks();
    let taken = queue.take_all();
    assert_eq!(taken.len(), model.len());
    assert!(queue.is_empty());
    assert_eq!(queue.capacity(), 0);
    assert_eq!(taken.collect::<Vec<_>>(), Vec::from(model));
    queue.push(task(1));
    assert_eq!(queue.pop(), Some(task(1)));
}

#[test]
fn memory_is_released_after_a_burst() {
    let queue = RunQueue::default();
    for i in 0..5 {
        queue.push(task(i));
        assert_eq!(queue.pop(), Some(task(i)));
    }
    let idle = queue.capacity();
    assert!(
        idle <= MIN_BLOCK,
        "an idle queue holds one small block: {idle}"
    );

    let burst = 3 * MAX_BLOCK;
    for i in 0..burst {
        queue.push(task(i));
    }
    assert_eq!(queue.allocated(), 12, "blocks grow with the length");
    let full = queue.capacity();
    assert!(
        (burst..2 * burst).contains(&full),
        "room for the burst, not twice it: {full}"
    );
    for i in 0..burst {
        assert_eq!(queue.pop(), Some(task(i)));
        if i % 1_000 == 0 {
            // Consumed blocks go at once; what is held follows what is left.
            let left = burst - i - 1;
            assert!(
                queue.capacity() <= 2 * left + MAX_BLOCK + KEEP,
                "{} entries held for {left} queued",
                queue.capacity()
            );
        }
    }
    assert!(queue.is_empty());
    assert!(
        queue.capacity() <= KEEP,
        "back to a small block after the burst: {}",
        queue.capacity()
    );
    queue.check();
}

#[test]
fn a_steady_length_allocates_no_block_after_warm_up() {
    for len in [1, 2, 64, 127, 128, 129, 300, 1_000, 3_000, 20_000] {
        let queue = RunQueue::default();
        for i in 0..len {
            queue.push(task(i));
        }
        // Each round pops every entry once and pushes it back, as a tick of self-waking
        // tasks does.
        let round = || {
            for _ in 0..len {
                let entry = queue.pop().expect("the length holds");
                queue.push(entry);
            }
        };
        round();
        round();
        let warm = queue.allocated();
        for _ in 0..5 {
            round();
        }
        queue.check();
        assert_eq!(queue.allocated(), warm, "length {len}");
    }
}
