//! Unit tests of the per-child wakers (I11) and pinned slice projection (I12).
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomPinned;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

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

// === reference counting (I11) ===

/// Counts how many times the shared state was dropped; panics on a wake if told to.
struct Counted {
    drops: Arc<AtomicUsize>,
    panic_on_wake: bool,
}

impl WakeIndex for Counted {
    fn wake_index(&self, index: usize) {
        assert!(!self.panic_on_wake, "wake_index({index}) panics");
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

fn counted(len: usize, panic_on_wake: bool) -> (IndexedWakers<Counted>, Arc<AtomicUsize>) {
    let drops = Arc::new(AtomicUsize::new(0));
    let state = Counted {
        drops: Arc::clone(&drops),
        panic_on_wake,
    };
    (IndexedWakers::new(state, len), drops)
}

#[test]
fn the_last_of_the_set_and_its_clones_frees_the_shared_part_once() {
    let (wakers, drops) = counted(3, false);
    let clones: Vec<Waker> = (0..3).map(|i| wakers.with_waker(i, Waker::clone)).collect();
    let again = clones[1].clone();
    drop(wakers);
    for waker in &clones {
        waker.wake_by_ref();
    }
    drop(clones);
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "`again` still owns a reference"
    );
    again.wake();
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn a_panicking_wake_still_gives_up_the_consumed_wakers_reference() {
    let (wakers, drops) = counted(2, true);
    let owned = wakers.with_waker(1, Waker::clone);
    drop(wakers);
    let woke = std::panic::catch_unwind(AssertUnwindSafe(move || owned.wake()));
    assert!(woke.is_err(), "wake_index panicked");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "the consumed waker's reference was released"
    );
}

#[test]
fn a_panicking_wake_by_ref_on_a_borrowed_waker_gives_up_nothing() {
    let (wakers, drops) = counted(2, true);
    let woke = std::panic::catch_unwind(AssertUnwindSafe(|| {
        wakers.with_waker(0, Waker::wake_by_ref)
    }));
    assert!(woke.is_err());
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "the set still owns its reference"
    );
    drop(wakers);
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

#[test]
fn every_child_of_a_large_set_reports_its_own_index() {
    let wakers = IndexedWakers::new(Log::default(), 5_000);
    let clones: Vec<Waker> = (0..5_000).rev().map(|i| clone_of(&wakers, i)).collect();
    for waker in clones {
        waker.wake();
    }
    let woken = wakers.state().woken.lock().unwrap();
    assert!(woken.iter().copied().eq((0..5_000).rev()));
}

// === pinned children of the combinators (I12) ===

/// A `!Unpin` child that records where it was first polled, checks that every later poll and
/// its drop happen at that same address, and logs its drop.
struct Fixed {
    id: usize,
    /// Polls before it is ready (`usize::MAX`: never).
    pending: Cell<usize>,
    at: Cell<usize>,
    log: Rc<RefCell<Vec<String>>>,
    _pin: PhantomPinned,
}

fn fixed(id: usize, pending: usize, log: &Rc<RefCell<Vec<String>>>) -> Fixed {
    Fixed {
        id,
        pending: Cell::new(pending),
        at: Cell::new(0),
        log: Rc::clone(log),
        _pin: PhantomPinned,
    }
}

impl Fixed {
    fn check(&self, what: &str) {
        let here = std::ptr::from_ref(self) as usize;
        match self.at.get() {
            0 => self.at.set(here),
            at if at != here => self
                .log
                .borrow_mut()
                .push(format!("{} MOVED at {what}", self.id)),
            _ => {}
        }
    }
}

impl Future for Fixed {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.into_ref().get_ref();
        this.check("poll");
        match this.pending.get() {
            0 => Poll::Ready(this.id),
            usize::MAX => Poll::Pending,
            n => {
                this.pending.set(n - 1);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

impl Drop for Fixed {
    fn drop(&mut self) {
        if self.at.get() != 0 {
            self.check("drop");
        }
        self.log.borrow_mut().push(format!("drop {}", self.id));
    }
}

fn run<F: Future>(future: F) -> F::Output {
    crate::block_on(future)
}

fn moved(log: &Rc<RefCell<Vec<String>>>) -> Vec<String> {
    log.borrow()
        .iter()
        .filter(|e| e.contains("MOVED"))
        .cloned()
        .collect()
}

#[test]
fn not_unpin_children_of_gather_stay_in_place_and_are_dropped_there() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let children = (0..5).map(|i| fixed(i, 4 - i, &log));
    let mut all = crate::gather::gather(children);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
    // Moving the gather between polls (it is `Unpin`) moves no child.
    let all = Box::new(all);
    let outputs = run(*all);
    assert_eq!(outputs, [0, 1, 2, 3, 4]);
    assert_eq!(moved(&log), Vec::<String>::new());
    // Each child is dropped as it finishes, in completion order: 4 finishes first.
    let drops: Vec<String> = log.borrow().clone();
    assert_eq!(drops, ["drop 4", "drop 3", "drop 2", "drop 1", "drop 0"]);
}

#[test]
fn try_gather_drops_its_unfinished_not_unpin_children_in_argument_order_in_place() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let children = (0..5).map(|i| {
        let child = fixed(i, if i == 2 { 1 } else { usize::MAX }, &log);
        async move {
            let id = child.await;
            if id == 2 { Err(id) } else { Ok(id) }
        }
    });
    let result: Result<Vec<usize>, usize> = run(crate::gather::try_gather(children));
    assert_eq!(result, Err(2));
    assert_eq!(
        *log.borrow(),
        ["drop 2", "drop 0", "drop 1", "drop 3", "drop 4"]
    );
}

#[test]
fn race_and_as_completed_poll_and_drop_not_unpin_children_in_place() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let winner = run(crate::race::race(
        (0..4).map(|i| fixed(i, 3 - i.min(3), &log)),
    ));
    assert_eq!(winner, 3);
    assert_eq!(*log.borrow(), ["drop 0", "drop 1", "drop 2", "drop 3"]);
    log.borrow_mut().clear();

    let all = run(async {
        use futures::StreamExt;
        crate::race::as_completed((0..4).map(|i| fixed(i, 3 - i, &log)))
            .collect::<Vec<_>>()
            .await
    });
    assert_eq!(all, [3, 2, 1, 0]);
    assert_eq!(moved(&log), Vec::<String>::new());
    assert_eq!(*log.borrow(), ["drop 3", "drop 2", "drop 1", "drop 0"]);
}

// === a child waker held by another thread ===

#[test]
fn a_gather_dropped_while_another_thread_holds_a_child_waker_is_freed_there() {
    let (parent_flag, parent) = flag();
    let (send, receive) = std::sync::mpsc::channel::<Waker>();
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let waker = receive.recv().unwrap();
        wait.recv().unwrap();
        waker.wake_by_ref();
        // The consuming `wake` of a clone is the path under test.
        #[allow(clippy::waker_clone_wake)]
        waker.clone().wake();
        waker.wake(); // the last reference: the shared part is freed on this thread
    });
    let mut children: Vec<Pin<Box<dyn Future<Output = u8>>>> = Vec::new();
    children.push(Box::pin(std::future::pending()));
    let mut sent = Some(send);
    children.push(Box::pin(std::future::poll_fn(move |cx| {
        if let Some(send) = sent.take() {
            send.send(cx.waker().clone()).unwrap();
        }
        Poll::Pending
    })));
    let mut all = crate::gather::gather(children);
    let mut cx = Context::from_waker(&parent);
    assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
    drop(all);
    go.send(()).unwrap();
    holder.join().unwrap();
    assert!(
        parent_flag.load(Ordering::SeqCst) >= 1,
        "the parent's waker was woken"
    );
}

/// A waker that counts its wakes.
fn flag() -> (Arc<AtomicUsize>, Waker) {
    struct Flag(Arc<AtomicUsize>);
    impl std::task::Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let count = Arc::new(AtomicUsize::new(0));
    (Arc::clone(&count), Waker::from(Arc::new(Flag(count))))
}
