//! The raw task: one heap allocation holding the header and the future, later its output.
//!
//! ```text
//! TaskCell<F>, #[repr(C)], one Box:
//!   Header { refs, remote_queued, state, slot, vtable, shared, id, location, join_waker }
//!   stage:   Running(F)  ->  Finished(Result<F::Output, JoinError>)  ->  Consumed
//! ```
//! Everything outside this file sees a task as `NonNull<Header>` and reaches the typed part only
//! through the header's `vtable`, whose functions are instantiated for that one `F` (I1).
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::task::{Context, Poll, Waker};

use super::run_queue::Shared;
use super::state::State;
use super::task::{JoinError, TaskId};
use super::waker;

/// The untyped part of a task, shared by every task whatever its future.
///
/// # Safety
/// Must stay the first field of [`TaskCell`]; `#[repr(C)]` on `TaskCell` is load-bearing (I1).
/// Fields marked "owner thread" may be touched only on the executor's thread (I3).
pub(crate) struct Header {
    /// Owners of the allocation: the executor's task list, the `JoinHandle`, every `Waker` and
    /// every inject-queue entry (I2). Any thread.
    pub(crate) refs: AtomicUsize,
    /// Set while the task has an entry in the inject queue, so that a burst of wakes from other
    /// threads queues it once. Any thread.
    pub(crate) remote_queued: AtomicBool,
    /// Owner thread.
    pub(crate) state: State,
    /// Index in the executor's task list. Owner thread.
    pub(crate) slot: Cell<u32>,
    /// Functions that know the concrete future type. Immutable.
    pub(crate) vtable: &'static VTable,
    /// The executor's cross-thread half: inject queue and parker. Immutable; keeps it alive.
    pub(crate) shared: Arc<Shared>,
    /// Immutable.
    pub(crate) id: TaskId,
    /// Where the task was spawned. Immutable.
    pub(crate) location: &'static Location<'static>,
    /// The waker of whoever awaits the `JoinHandle`. Owner thread.
    pub(crate) join_waker: UnsafeCell<Option<Waker>>,
}

/// Functions instantiated for one future type `F`.
pub(crate) struct VTable {
    /// Polls the future once, catching a panic. `Ready` means the stage now holds the output.
    poll: unsafe fn(NonNull<Header>, &mut Context<'_>) -> Poll<()>,
    /// Drops the future in place and stores `Err(JoinError::cancelled)`.
    cancel: unsafe fn(NonNull<Header>),
    /// Moves the output into `*out`, a `*mut Option<Result<T, JoinError>>`.
    take_output: unsafe fn(NonNull<Header>, out: *mut ()),
    /// Drops whatever the stage still holds (future or output).
    drop_stage: unsafe fn(NonNull<Header>),
    /// Frees the allocation.
    dealloc: unsafe fn(NonNull<Header>),
}

/// What the second half of the allocation holds.
enum Stage<F: Future> {
    /// The future, pinned in place until it is dropped in place (I7).
    Running(F),
    /// Its output, or why there is none.
    Finished(Result<F::Output, JoinError>),
    /// Nothing: the output was taken or dropped.
    Consumed,
}

/// The whole task allocation.
#[repr(C)]
struct TaskCell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

/// Allocates a task holding `future`, with two references: the executor's and the `JoinHandle`'s.
pub(crate) fn allocate<F>(
    future: F,
    shared: Arc<Shared>,
    id: TaskId,
    location: &'static Location<'static>,
    named: bool,
) -> NonNull<Header>
where
    F: Future + 'static,
{
    let cell = Box::new(TaskCell {
        header: Header {
            refs: AtomicUsize::new(2),
            remote_queued: AtomicBool::new(false),
            state: State::new_spawned(named),
            slot: Cell::new(0),
            vtable: vtable::<F>(),
            shared,
            id,
            location,
            join_waker: UnsafeCell::new(None),
        },
        stage: UnsafeCell::new(Stage::Running(future)),
    });
    // The header is the first field of a #[repr(C)] struct, so the pointers coincide (I1).
    NonNull::from(Box::leak(cell)).cast::<Header>()
}

fn vtable<F: Future + 'static>() -> &'static VTable {
    // A `const` item is promoted to a `'static` allocation, one per `F`.
    trait HasVTable {
        const VTABLE: VTable;
    }
    impl<F: Future + 'static> HasVTable for F {
        const VTABLE: VTable = VTable {
            poll: poll::<F>,
            cancel: cancel::<F>,
            take_output: take_output::<F>,
            drop_stage: drop_stage::<F>,
            dealloc: dealloc::<F>,
        };
    }
    &<F as HasVTable>::VTABLE
}

// === impl Header ===

impl Header {
    /// Polls the task's future once with a waker that borrows this task's reference.
    ///
    /// # Safety
    /// - Owner thread, and `state.start_poll()` has just returned `Poll` (I6).
    /// - `this` is alive: the caller holds or borrows a reference (I2).
    pub(crate) unsafe fn poll(this: NonNull<Header>) -> Poll<()> {
        // SAFETY: the caller's reference keeps the task alive (I2), so it can back a borrowed
        // waker for the duration of this call.
        let waker = unsafe { waker::borrowed(this) };
        let mut cx = Context::from_waker(&waker);
        // SAFETY: `this` is alive (caller, I2); vtable entries match the cell's type (I1).
        let poll = unsafe { this.as_ref().vtable.poll };
        // SAFETY: RUNNING is set by the caller, so this is the only access to the stage (I6).
        unsafe { poll(this, &mut cx) }
    }

    /// Drops the future and records the task as cancelled.
    ///
    /// # Safety
    /// Owner thread; the task is not `COMPLETE`, and the caller (`Core::cancel`) has set
    /// `RUNNING` with `start_cancel`, so nothing else touches the stage meanwhile (I6);
    /// `this` is alive.
    pub(crate) unsafe fn cancel_future(this: NonNull<Header>) {
        // SAFETY: alive per the caller; the vtable matches the cell (I1).
        let cancel = unsafe { this.as_ref().vtable.cancel };
        // SAFETY: the caller set RUNNING for this drop: no other access to the stage (I6).
        unsafe { cancel(this) }
    }

    /// Moves the output out of a `COMPLETE` task.
    ///
    /// # Safety
    /// Owner thread; `COMPLETE`; `T` is the task's output type; `this` is alive.
    pub(crate) unsafe fn take_output<T>(this: NonNull<Header>) -> Option<Result<T, JoinError>> {
        let mut out: Option<Result<T, JoinError>> = None;
        // SAFETY: alive per the caller; the vtable matches the cell (I1).
        let take = unsafe { this.as_ref().vtable.take_output };
        // SAFETY: `out` has the type the vtable's `take_output::<F>` writes, since `T` is the
        // output type (caller); owner thread and COMPLETE, so nothing else touches the stage (I5).
        unsafe { take(this, (&raw mut out).cast()) };
        out
    }

    /// Drops the stage's contents (the output of a detached task, or a leftover output).
    ///
    /// # Safety
    /// Owner thread; not `RUNNING`; `this` is alive.
    pub(crate) unsafe fn drop_stage(this: NonNull<Header>) {
        // SAFETY: alive per the caller; the vtable matches the cell (I1).
        let drop_stage = unsafe { this.as_ref().vtable.drop_stage };
        // SAFETY: owner thread, not running: exclusive access to the stage (I3, I6).
        unsafe { drop_stage(this) }
    }

    /// Adds a reference. Borrows one; the new one is the caller's.
    ///
    /// # Safety
    /// The caller holds or borrows a reference, so `this` is alive (I2).
    pub(crate) unsafe fn add_ref(this: NonNull<Header>) {
        // SAFETY: alive per the caller.
        let header = unsafe { this.as_ref() };
        // Relaxed as in `Arc::clone`: a new reference is made from an existing one, so no
        // other thread can be freeing the task right now.
        if header.refs.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            // Millions of leaked wakers: refuse to wrap the counter (as `Arc` does).
            std::process::abort();
        }
    }

    /// Drops one reference and frees the task if it was the last. Consumes one reference.
    /// Any thread.
    ///
    /// # Safety
    /// The caller owns the reference it gives up.
    pub(crate) unsafe fn drop_ref(this: NonNull<Header>) {
        // SAFETY: the caller owns a reference, so the task is alive (I2).
        let header = unsafe { this.as_ref() };
        if header.refs.fetch_sub(1, Ordering::Release) != 1 {
            return;
        }
        // Pairs with the Release above in every other thread's drop_ref, as in `Arc::drop`:
        // their accesses to the task happen before the free.
        fence(Ordering::Acquire);
        let dealloc = header.vtable.dealloc;
        // SAFETY: that was the last reference (I2), so nothing else can reach the task; the
        // stage is empty (I5), so freeing it here, on whatever thread, runs no user code.
        unsafe { dealloc(this) }
    }
}

// === the vtable functions, one instance per future type ===

/// # Safety
/// `ptr` points to a live `TaskCell<F>` (I1) and the caller has exclusive access to its stage.
unsafe fn stage<'a, F: Future>(ptr: NonNull<Header>) -> &'a mut Stage<F> {
    let cell = ptr.cast::<TaskCell<F>>().as_ptr();
    // SAFETY: I1 makes the cast valid and the cell is live (caller), so the field is in bounds.
    let stage: &UnsafeCell<Stage<F>> = unsafe { &(*cell).stage };
    // SAFETY: the caller guarantees exclusive access to the stage.
    unsafe { &mut *stage.get() }
}

/// Replaces the stage, dropping the old contents in place (the future must not move, I7).
/// A panic from that drop is caught and returned; the new contents are written regardless.
fn replace_stage<F: Future>(
    slot: &mut Stage<F>,
    new: Stage<F>,
) -> Result<(), Box<dyn std::any::Any + Send>> {
    let slot: *mut Stage<F> = slot;
    // SAFETY: `slot` is valid and initialised; after drop_in_place it is treated as
    // uninitialised and immediately overwritten with ptr::write, so nothing is dropped twice
    // and the pinned future is dropped where it lies (I7).
    let dropped = catch_unwind(AssertUnwindSafe(|| unsafe { ptr::drop_in_place(slot) }));
    // SAFETY: see above: `slot` is valid for writes and logically uninitialised.
    unsafe { ptr::write(slot, new) };
    dropped
}

/// # Safety
/// As [`Header::poll`].
unsafe fn poll<F: Future>(ptr: NonNull<Header>, cx: &mut Context<'_>) -> Poll<()> {
    // SAFETY: RUNNING gives this poll exclusive access to the stage (I6); the cell is live (I2).
    let stage = unsafe { stage::<F>(ptr) };
    let Stage::Running(future) = stage else {
        unreachable!("polled a task whose future is gone");
    };
    // SAFETY: the future lives in the heap cell and is only ever dropped in place (I7).
    let future = unsafe { Pin::new_unchecked(future) };
    let result = match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(output)) => Ok(output),
        Err(payload) => {
            // SAFETY: the cell is live (I2); owner thread, so the state may be read (I3).
            let header = unsafe { ptr.as_ref() };
            Err(JoinError::panicked(header, payload))
        }
    };
    // A panic while dropping the finished future is swallowed: the task already has its result.
    let _ = replace_stage(stage, Stage::Finished(result));
    Poll::Ready(())
}

/// # Safety
/// As [`Header::cancel_future`].
unsafe fn cancel<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: `Core::cancel` set RUNNING for this drop: exclusive access to the stage (I6).
    let stage = unsafe { stage::<F>(ptr) };
    // SAFETY: the cell is live (I2); owner thread, so the state may be read (I3).
    let header = unsafe { ptr.as_ref() };
    let error = JoinError::cancelled(header);
    // A destructor that panics while being cancelled: the task still ends cancelled.
    let _ = replace_stage(stage, Stage::Finished(Err(error)));
}

/// # Safety
/// As [`Header::take_output`]; `out` is a `*mut Option<Result<F::Output, JoinError>>`.
unsafe fn take_output<F: Future>(ptr: NonNull<Header>, out: *mut ()) {
    // SAFETY: COMPLETE and owner thread: exclusive access to the stage (I3, I5).
    let stage = unsafe { stage::<F>(ptr) };
    if let Stage::Finished(result) = std::mem::replace(stage, Stage::Consumed) {
        // SAFETY: the caller passes a valid pointer of exactly this type.
        unsafe { *out.cast::<Option<Result<F::Output, JoinError>>>() = Some(result) };
    }
}

/// # Safety
/// As [`Header::drop_stage`].
unsafe fn drop_stage<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: not running, owner thread: exclusive access to the stage (I3, I6).
    let stage = unsafe { stage::<F>(ptr) };
    // Dropping a detached task's output runs user code; keep the executor running if it panics.
    let _ = replace_stage(stage, Stage::Consumed);
}

/// # Safety
/// The last reference is gone (I2) and the stage is `Consumed` (I5).
unsafe fn dealloc<F: Future>(ptr: NonNull<Header>) {
    // SAFETY: allocated by `allocate` as a Box<TaskCell<F>> (I1); no references remain (I2).
    let mut cell = unsafe { Box::from_raw(ptr.cast::<TaskCell<F>>().as_ptr()) };
    debug_assert!(
        matches!(cell.stage.get_mut(), Stage::Consumed),
        "freed a task that still held its future or output"
    );
    // The stage is Consumed, so this drops only the header's `Arc<Shared>` and join waker, both
    // Send + Sync: sound on any thread.
    drop(cell);
}
