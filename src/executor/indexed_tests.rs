//! Unit tests of the per-child wakers (I11) and pinned slice projection (I12).
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Waker;

use super::indexed::{IndexedWakers, WakeIndex, pin_index};

/// Records every index woken, in order.
#[derive(Default)]
struct Log {
    woken: Mutex<Vec<usize>>,
    count: AtomicUsize,
}

impl WakeIndex for Log {
    fn wake_index(&self, index: usize) {
        self.woken.lock().unwrap().push(index);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

fn clone_of(wakers: &IndexedWakers<Log>, index: usize) -> Waker {
    wakers.with_waker(index, Waker::clone)
}

#[test]
fn each_child_waker_reports_its_own_index() {
    let wakers = IndexedWakers::new(Log::default(), 5);
    for index in [3, 0, 4, 1] {
        wakers.with_waker(index, Waker::wake_by_ref);
    }
    clone_of(&wakers, 2).wake();
    assert_eq!(*wakers.state().woken.lock().unwrap(), [3, 0, 4, 1, 2]);
}

#[test]
fn clones_of_one_child_will_wake_each_other_and_not_a_sibling() {
    let wakers = IndexedWakers::new(Log::default(), 2);
    let a = clone_of(&wakers, 0);
    let a2 = a.clone();
    let b = clone_of(&wakers, 1);
    assert!(a.will_wake(&a2));
    assert!(!a.will_wake(&b));
    wakers.with_waker(0, |borrowed| assert!(borrowed.will_wake(&a)));
}

#[test]
fn child_wakers_outlive_their_set_and_wake_from_other_threads() {
    let wakers = IndexedWakers::new(Log::default(), 64);
    let clones: Vec<Waker> = (0..64).map(|i| clone_of(&wakers, i)).collect();
    let probe = clone_of(&wakers, 7);
    drop(wakers); // the clones keep the shared part alive (I11)
    std::thread::scope(|s| {
        for chunk in clones.chunks(16) {
            s.spawn(move || {
                for waker in chunk {
                    waker.wake_by_ref();
                    // An owned clone, consumed by `wake` (the by-value path).
                    let owned = waker.clone();
                    owned.wake();
                }
            });
        }
    });
    drop(clones);
    // The last owner is `probe`: wake it and let it free the set.
    probe.wake();
}

#[test]
fn a_set_of_no_children_is_fine() {
    let wakers = IndexedWakers::new(Log::default(), 0);
    assert_eq!(wakers.len(), 0);
    assert_eq!(wakers.state().count.load(Ordering::Relaxed), 0);
}

#[test]
fn pin_index_reaches_each_element_in_place() {
    let mut slots: std::pin::Pin<Box<[Option<u32>]>> =
        vec![Some(1), None, Some(3)].into_boxed_slice().into();
    pin_index(slots.as_mut(), 1).set(Some(2));
    let before: *const Option<u32> = &slots[0];
    pin_index(slots.as_mut(), 0).set(None);
    assert!(std::ptr::eq(before, &slots[0]), "the element did not move");
    assert_eq!(&*slots, &[None, Some(2), Some(3)]);
}
