//! [`WaiterList`]: the one FIFO list of parked futures that every primitive in `sync/` uses.
//!
//! A waiter is a future that could not complete and parked its [`Waker`] here. The list
//! is a slab of slots threaded into a doubly linked FIFO by index, so that:
//!
//! - pushing a waiter and notifying the first one are O(1) and allocate nothing once the
//!   slab has grown to the peak number of waiters (ping-pong is allocation-free);
//! - a future that is dropped while waiting unlinks itself in O(1) by its [`WaiterId`];
//! - a notified waiter keeps its slot, holding the notification's token, until its future
//!   observes it ([`WaiterList::remove`]). A future dropped between the notification and
//!   that observation learns from `remove` that it was notified, and its primitive passes
//!   the notification (an item, a lock, a permit) on to the next waiter.
//!
//! Only the future that pushed a waiter ever frees its slot, so a [`WaiterId`] stays valid
//! for the future's whole life and needs no generation counter.
//!
//! The list never wakes anything itself: `notify_first` hands the [`Waker`] back so the
//! caller can wake it after releasing its `RefCell` borrow.
//!
//! Source: the slab-plus-links layout follows `slab`/`event-listener`'s list of entries;
//! the notified-but-not-yet-observed state follows maitake-sync's `WaitQueue`.

use std::task::Waker;

/// End-of-list marker for the index links.
const NIL: u32 = u32::MAX;

/// Stable key of one waiter in a [`WaiterList`], valid until [`WaiterList::remove`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WaiterId(u32);

/// One parked future.
#[derive(Debug)]
pub(crate) struct WaiterList {
    slots: Vec<Slot>,
    /// Head of the free-slot stack, threaded through `State::Free`.
    free: u32,
    /// First and last waiting slot (FIFO order), or `NIL`.
    head: u32,
    tail: u32,
    /// Number of slots in the `Waiting` state.
    waiting: usize,
}

#[derive(Debug)]
struct Slot {
    state: State,
    prev: u32,
    next: u32,
}

#[derive(Debug)]
enum State {
    /// Unused; holds the next free slot.
    Free(u32),
    /// Linked into the FIFO, to be woken through this waker.
    Waiting(Waker),
    /// Unlinked by a notification carrying this token; the owner has not looked yet.
    Notified(usize),
}

// === impl WaiterList ===

impl WaiterList {
    /// An empty list; allocates nothing.
    pub(crate) const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: NIL,
            head: NIL,
            tail: NIL,
            waiting: 0,
        }
    }

    /// Number of waiters still waiting (notified ones are not counted).
    pub(crate) fn len(&self) -> usize {
        self.waiting
    }

    /// Whether no waiter is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting == 0
    }

    /// Appends a waiter at the back of the FIFO and stores a clone of `waker`.
    pub(crate) fn push(&mut self, waker: &Waker) -> WaiterId {
        let state = State::Waiting(waker.clone());
        let idx = if self.free != NIL {
            let idx = self.free;
            let slot = &mut self.slots[idx as usize];
            let State::Free(next_free) = slot.state else {
                unreachable!("the free stack links only free slots")
            };
            self.free = next_free;
            slot.state = state;
            idx
        } else {
            let idx = u32::try_from(self.slots.len()).expect("more than 2^32 waiters");
            assert!(idx != NIL, "more than 2^32 - 1 waiters");
            self.slots.push(Slot {
                state,
                prev: NIL,
                next: NIL,
            });
            idx
        };
        let slot = &mut self.slots[idx as usize];
        slot.prev = self.tail;
        slot.next = NIL;
        if self.tail == NIL {
            self.head = idx;
        } else {
            self.slots[self.tail as usize].next = idx;
        }
        self.tail = idx;
        self.waiting += 1;
        WaiterId(idx)
    }

    /// Returns the token if the waiter was notified, else refreshes its waker.
    ///
    /// The waker is cloned only when it would not wake the same task (`will_wake`).
    pub(crate) fn poll(&mut self, id: WaiterId, waker: &Waker) -> Option<usize> {
        match &mut self.slots[id.0 as usize].state {
            State::Notified(token) => Some(*token),
            State::Waiting(stored) => {
                if !stored.will_wake(waker) {
                    stored.clone_from(waker);
                }
                None
            }
            State::Free(_) => unreachable!("a WaiterId outlived its slot"),
        }
    }

    /// Unlinks the first waiter, marks it notified with `token`, and returns its waker.
    ///
    /// Returns `None` if no waiter is waiting. The caller wakes the waker after releasing
    /// any borrow of the primitive's state.
    pub(crate) fn notify_first(&mut self, token: usize) -> Option<Waker> {
        if self.head == NIL {
            return None;
        }
        let idx = self.head;
        self.unlink(idx);
        let old = std::mem::replace(&mut self.slots[idx as usize].state, State::Notified(token));
        match old {
            State::Waiting(waker) => Some(waker),
            _ => unreachable!("only waiting slots are linked"),
        }
    }

    /// Frees the waiter's slot. Returns `Some(token)` if it had been notified (and the
    /// owner had not yet consumed the notification), `None` if it was still waiting.
    pub(crate) fn remove(&mut self, id: WaiterId) -> Option<usize> {
        let idx = id.0;
        let token = match self.slots[idx as usize].state {
            State::Notified(token) => Some(token),
            State::Waiting(_) => {
                self.unlink(idx);
                None
            }
            State::Free(_) => unreachable!("a WaiterId was removed twice"),
        };
        self.slots[idx as usize].state = State::Free(self.free);
        self.free = idx;
        token
    }

    /// Calls `f` with the waker of every waiting waiter, in FIFO order.
    pub(crate) fn for_each_waiting(&self, mut f: impl FnMut(&Waker)) {
        let mut idx = self.head;
        while idx != NIL {
            let slot = &self.slots[idx as usize];
            if let State::Waiting(waker) = &slot.state {
                f(waker);
            }
            idx = slot.next;
        }
    }

    fn unlink(&mut self, idx: u32) {
        let (prev, next) = {
            let slot = &self.slots[idx as usize];
            (slot.prev, slot.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        self.waiting -= 1;
    }
}

impl Default for WaiterList {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn notifies_in_fifo_order_and_skips_removed_waiters() {
        let mut list = WaiterList::new();
        let w = Waker::noop();
        let a = list.push(w);
        let b = list.push(w);
        let c = list.push(w);
        assert_eq!(list.len(), 3);
        assert_eq!(list.remove(b), None);
        assert!(list.notify_first(7).is_some());
        assert_eq!(list.poll(a, w), Some(7));
        assert_eq!(list.poll(c, w), None);
        assert!(list.notify_first(8).is_some());
        assert!(list.notify_first(9).is_none());
        assert_eq!(list.remove(a), Some(7));
        assert_eq!(list.remove(c), Some(8));
        assert!(list.is_empty());
    }

    #[test]
    fn freed_slots_are_reused_without_growing() {
        let mut list = WaiterList::new();
        let w = Waker::noop();
        for _ in 0..100 {
            let a = list.push(w);
            let b = list.push(w);
            list.notify_first(0);
            assert_eq!(list.remove(a), Some(0));
            assert_eq!(list.remove(b), None);
        }
        assert_eq!(list.slots.len(), 2);
    }

    #[test]
    fn for_each_waiting_visits_only_waiting_slots_in_order() {
        let mut list = WaiterList::new();
        let w = Waker::noop();
        let ids: Vec<_> = (0..4).map(|_| list.push(w)).collect();
        list.notify_first(0);
        list.remove(ids[2]);
        let mut n = 0;
        list.for_each_waiting(|_| n += 1);
        assert_eq!(n, 2);
    }
}
