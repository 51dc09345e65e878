//! Wakers for the children of a combinator (gather, race, as_completed), all in one allocation,
//! and pinned access to the elements of a pinned slice. This is the `unsafe` those combinators
//! need, kept here with the rest of the crate's `unsafe` (see I11 and I12).
//!
//! A combinator of `n` children wants `n` wakers that tell it *which* child woke. Built from
//! `Arc<impl Wake>`, that is one allocation per child and several atomic reference-count
//! updates per poll. Here the `n` wakers share one `Arc`: child `i`'s waker points at entry `i`
//! of a table inside it, each entry holding the address of the shared part. Cloning a child
//! waker adds a reference to the shared `Arc`; waking it calls [`WakeIndex::wake_index`] with
//! `i`. The combinator polls a child with a *borrowed* waker ([`IndexedWakers::with_waker`]),
//! which costs nothing unless the child keeps a clone.
use std::mem::{ManuallyDrop, size_of};
use std::pin::Pin;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::task::{RawWaker, RawWakerVTable, Waker};

/// What a child's waker does: record that child `index` woke. Called on any thread.
pub(crate) trait WakeIndex: Send + Sync + 'static {
    /// Child `index` was woken.
    fn wake_index(&self, index: usize);
}

/// `n` wakers, one per child, that call `S::wake_index(i)`; one allocation in all.
pub(crate) struct IndexedWakers<S: WakeIndex> {
    inner: Arc<Inner<S>>,
}

struct Inner<S> {
    state: S,
    /// Entry `i` is what child `i`'s waker points at; it holds this `Inner`'s own address, as
    /// `Arc::into_raw` returned it (I11). `AtomicPtr` so that `Inner` is `Send + Sync` without an
    /// `unsafe impl`, and so that `new` can write it through the `Arc`: it is written once,
    /// before the `Arc` is shared.
    children: Box<[AtomicPtr<Inner<S>>]>,
}

// === impl IndexedWakers ===

impl<S: WakeIndex> IndexedWakers<S> {
    /// Wakers for `len` children, sharing `state`.
    pub(crate) fn new(state: S, len: usize) -> Self {
        let inner = Arc::new(Inner {
            state,
            children: (0..len).map(|_| AtomicPtr::new(ptr::null_mut())).collect(),
        });
        // The back-pointer must be one that `Arc::increment_strong_count` and
        // `decrement_strong_count` accept: a pointer returned by `Arc::into_raw` (their documented
        // contract). `Weak::as_ptr` inside `Arc::new_cyclic` has the same address today, but no
        // documented guarantee (there are no strong references yet), so it is not used.
        let this = Arc::into_raw(inner);
        // SAFETY: `this` was just returned by `Arc::into_raw`; this takes back its reference.
        let inner = unsafe { Arc::from_raw(this) };
        // Every entry points back at the `Inner` (I11), written before the `Arc` is shared.
        for entry in &inner.children {
            entry.store(this.cast_mut(), Ordering::Relaxed);
        }
        IndexedWakers { inner }
    }

    /// The state the wakers share.
    pub(crate) fn state(&self) -> &S {
        &self.inner.state
    }

    /// How many children there are.
    pub(crate) fn len(&self) -> usize {
        self.inner.children.len()
    }

    /// Calls `f` with child `index`'s waker, borrowed: it owns no reference, so making it costs
    /// nothing; a child that keeps it clones it (one atomic increment).
    ///
    /// # Panics
    /// If `index` is out of range.
    pub(crate) fn with_waker<R>(&self, index: usize, f: impl FnOnce(&Waker) -> R) -> R {
        let entry: *const AtomicPtr<Inner<S>> = &self.inner.children[index];
        // SAFETY: `entry` is child `index`'s entry, so the vtable's functions find the shared
        // part through it (I11). The waker borrows `self`'s reference: `ManuallyDrop` never
        // gives one up, and it does not outlive this call, during which `self` keeps the
        // allocation alive.
        let waker = ManuallyDrop::new(unsafe {
            Waker::from_raw(RawWaker::new(entry.cast(), vtable::<S>()))
        });
        f(&waker)
    }
}

impl<S: WakeIndex> std::fmt::Debug for IndexedWakers<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexedWakers")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

// === the child waker's vtable, one per `S` ===

fn vtable<S: WakeIndex>() -> &'static RawWakerVTable {
    trait HasVTable {
        const VTABLE: RawWakerVTable;
    }
    impl<S: WakeIndex> HasVTable for S {
        const VTABLE: RawWakerVTable = RawWakerVTable::new(
            clone_child::<S>,
            wake_child::<S>,
            wake_child_by_ref::<S>,
            drop_child::<S>,
        );
    }
    &<S as HasVTable>::VTABLE
}

/// The shared part a child waker's `data` leads to.
///
/// # Safety
/// `data` is the data pointer of a live child waker (owned or borrowed) of an `Inner<S>`.
unsafe fn inner<S>(data: *const ()) -> *const Inner<S> {
    // SAFETY: `data` points at an entry of the `children` table (I11), which lives as long as
    // the `Inner`, kept alive by the waker's reference (owned, or borrowed from its owner).
    let entry = unsafe { &*data.cast::<AtomicPtr<Inner<S>>>() };
    entry.load(Ordering::Relaxed).cast_const()
}

unsafe fn clone_child<S: WakeIndex>(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned is a live child waker (the caller of `clone` holds it), so
    // `data` is its entry (I11).
    let inner = unsafe { inner::<S>(data) };
    // SAFETY: `inner` is the `Arc::into_raw` pointer of the `Arc` that the cloned waker owns or
    // borrows a reference of (I11), so its count is at least one; the new reference is the new
    // waker's.
    unsafe { Arc::increment_strong_count(inner) };
    RawWaker::new(data, vtable::<S>())
}

unsafe fn wake_child<S: WakeIndex>(data: *const ()) {
    /// Gives up the consumed waker's reference on the way out, even if `wake_index` panics.
    struct Release<S: WakeIndex>(*const (), std::marker::PhantomData<S>);
    impl<S: WakeIndex> Drop for Release<S> {
        fn drop(&mut self) {
            // SAFETY: `wake_child` consumes an owned waker, whose reference this gives up (I11).
            unsafe { drop_child::<S>(self.0) };
        }
    }
    let _release = Release::<S>(data, std::marker::PhantomData);
    // SAFETY: a consumed waker is owned, so its reference keeps its entry and `Inner` alive
    // until `_release` drops (I11).
    unsafe { wake_child_by_ref::<S>(data) };
}

unsafe fn wake_child_by_ref<S: WakeIndex>(data: *const ()) {
    // SAFETY: the waker is a live child waker (owned, or borrowed within `with_waker`), so
    // `data` is its entry (I11).
    let inner = unsafe { inner::<S>(data) };
    // SAFETY: a live child waker keeps its `Inner` alive (I11).
    let inner = unsafe { &*inner };
    // `data` is the address of entry `index` of `children` (I11); only addresses are compared,
    // and an entry is never zero-sized.
    let base = inner.children.as_ptr() as usize;
    let index = (data as usize - base) / size_of::<AtomicPtr<Inner<S>>>();
    debug_assert!(
        index < inner.children.len(),
        "a child waker outside its table"
    );
    inner.state.wake_index(index);
}

unsafe fn drop_child<S: WakeIndex>(data: *const ()) {
    // SAFETY: the waker being dropped is a live child waker, so `data` is its entry (I11).
    let inner = unsafe { inner::<S>(data) };
    // SAFETY: the waker being dropped is owned (borrowed ones are `ManuallyDrop`), so it owns
    // one reference of the `Arc` whose `Arc::into_raw` pointer `inner` is (I11), given up here;
    // the last one frees the `Inner`.
    unsafe { Arc::decrement_strong_count(inner) };
}

// === pinned slices ===

/// Element `index` of a pinned slice, pinned.
///
/// # Panics
/// If `index` is out of range.
pub(crate) fn pin_index<T>(slice: Pin<&mut [T]>, index: usize) -> Pin<&mut T> {
    // SAFETY: pinning a slice pins its elements (I12): through `Pin<&mut [T]>` no element can be
    // moved out or swapped, and the slice cannot be resized, so an element stays where it is
    // until it is dropped in place with its slice.
    unsafe { slice.map_unchecked_mut(|items| &mut items[index]) }
}
