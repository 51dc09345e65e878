//! The raw task: one cell of the executor's arena holding the header and the future, later
//! its output.
//!
//! ```text
//! TaskCell<F>, #[repr(C)], one arena cell (I1, I13):
//!   Header { refs, location, state (+ id), vtable, join }     32 bytes
//!   stage:   Running(F)  ->  Finished(Result<F::Output, JoinError>)  ->  Consumed
//! ```
//! Everything outside this file sees a task as `NonNull<Header>` and reaches the typed part only
//! through the header's `vtable`, whose functions are instantiated for that one `F` (I1). The
//! executor a task belongs to is found through its page (`arena::shared_of`), not a field.
use std::alloc::Layout;
use std::cell::{Cell, UnsafeCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, Ordering, fence};
use std::task::{Context, Poll, Waker};

use super::arena::{self, Arena};
use super::run_queue::Shared;
use super::state::State;
use super::task::{JoinError, TaskId};
use super::waker;

/// `Header::refs` bit: the task has an entry in the inject queue, so that a burst of wakes
/// from other threads queues it once.
const REMOTE_QUEUED: u32 = 1 << 31;
/// `Header::refs` bits that count references.
const COUNT: u32 = REMOTE_QUEUED - 1;

/// The untyped part of a task, shared by every task whatever its future: 32 bytes.
///
/// # Safety
/// Must stay the first field of [`TaskCell`]; `#[repr(C)]` on `TaskCell` is load-bearing (I1).
/// Fields marked "owner thread" may be touched only on the executor's thread (I3).
pub(crate) struct Header {
    /// Owners of the allocation in the low 31 bits: one for the owner side (the executor's
    /// task list and the `JoinHandle` together), every `Waker` and every inject-queue entry,
    /// and the waker references dropped on the owner thread but deferred (I2, counted in the
    /// state word); and `REMOTE_QUEUED`. Any thread.
    refs: AtomicU32,
    /// Where the task was spawned: an index into the executor's table of spawn locations
    /// (`Core::location`). Immutable.
    pub(crate) location: u32,
    /// The state bits (owner thread) and the task's id (immutable, any thread).
    pub(crate) state: State,
    /// Functions that know the concrete future type. Immutable.
    pub(crate) vtable: &'static VTable,
    /// The waker of whoever awaits the `JoinHandle`. Owner thread.
    pub(crate) join: JoinSlot,
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
    /// Drops the cell's contents in place and gives the cell back to the arena.
    dealloc: unsafe fn(NonNull<Header>),
    /// The arena size class of `TaskCell<F>` (`arena::class_for`), and its layout.
    pub(crate) class: u8,
    pub(crate) layout: Layout,
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

/// Allocates a task holding `future` in the executor's arena, with one reference: the owner
/// side's, which the executor and the `JoinHandle` share (I2). Its live bit is set (the
/// executor's task list).
pub(crate) fn allocate<F>(
    arena: &Arena,
    future: F,
    id: TaskId,
    location: u32,
    named: bool,
) -> NonNull<Header>
where
    F: Future + 'static,
{
    let vtable = vtable::<F>();
    let task = arena.alloc(vtable.class, vtable.layout);
    let cell = TaskCell {
        header: Header {
            refs: AtomicU32::new(1),
            location,
            state: State::new_spawned(id, named),
            vtable,
            join: JoinSlot::new(),
        },
        stage: UnsafeCell::new(Stage::Running(future)),
    };
    // SAFETY: the arena handed out an unused cell of at least this size and alignment (its
    // size class was computed from this very layout, I13). The header is the first field of a
    // #[repr(C)] struct, so the pointers coincide (I1).
    unsafe { task.cast::<TaskCell<F>>().write(cell) };
    task
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
            class: arena::class_for(size_of::<TaskCell<F>>(), align_of::<TaskCell<F>>()),
            layout: Layout::new::<TaskCell<F>>(),
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

    /// The task's id. Any thread.
    pub(crate) fn id(&self) -> TaskId {
        self.state.id()
    }

    /// The executor's cross-thread half, found through the task's page (I13, I14).
    ///
    /// # Safety
    /// The caller holds or borrows a reference to `this` (I2); the borrow must not outlive it.
    pub(crate) unsafe fn shared<'a>(this: NonNull<Header>) -> &'a Shared {
        // SAFETY: per the caller.
        unsafe { arena::shared_of(this) }
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
        if header.refs.fetch_add(1, Ordering::Relaxed) & COUNT >= COUNT / 2 {
            // A billion leaked wakers: refuse to wrap the counter (as `Arc` does).
            std::process::abort();
        }
    }

    /// Drops one reference and frees the task if it was the last. Consumes one reference.
    /// Any thread.
    ///
    /// # Safety
    /// The caller owns the reference it gives up.
    #[inline]
    pub(crate) unsafe fn drop_ref(this: NonNull<Header>) {
        // SAFETY: per the caller.
        unsafe { Header::drop_refs(this, 1) }
    }

    /// Drops `n` references at once (the deferred ones, I2) and frees the task if they were
    /// the last. Any thread.
    ///
    /// # Safety
    /// The caller owns the `n` references it gives up.
    pub(crate) unsafe fn drop_refs(this: NonNull<Header>, n: u32) {
        // SAFETY: the caller owns a reference, so the task is alive (I2).
        let header = unsafe { this.as_ref() };
        let before = header.refs.fetch_sub(n, Ordering::Release);
        if before & COUNT != n {
            debug_assert!(
                before & COUNT > n,
                "dropped more references than there were"
            );
            return;
        }
        debug_assert_eq!(before, n, "freed a task that is still in the inject queue");
        // Pairs with the Release above in every other thread's drop_ref, as in `Arc::drop`:
        // their accesses to the task happen before the free.
        fence(Ordering::Acquire);
        let dealloc = header.vtable.dealloc;
        // SAFETY: that was the last reference (I2), so nothing else can reach the task; the
        // stage is empty (I5), so freeing it here, on whatever thread, runs no user code.
        unsafe { dealloc(this) }
    }

    /// Marks the task as having an inject-queue entry and adds the entry's reference, in one
    /// atomic step; false (and nothing changed) if it already had one. Any thread. One step,
    /// so that a reader of `refs` (the deadlock check) never sees the flag without the
    /// reference it stands for.
    ///
    /// # Safety
    /// The caller holds or borrows a reference, so `this` is alive (I2).
    pub(crate) unsafe fn set_remote_queued(this: NonNull<Header>) -> bool {
        // SAFETY: alive per the caller.
        let header = unsafe { this.as_ref() };
        let mut refs = header.refs.load(Ordering::Relaxed);
        loop {
            if refs & REMOTE_QUEUED != 0 {
                return false;
            }
            if refs & COUNT >= COUNT / 2 {
                std::process::abort(); // as in `add_ref`
            }
            match header.refs.compare_exchange_weak(
                refs,
                (refs + 1) | REMOTE_QUEUED,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => refs = now,
            }
        }
    }

    /// The inject-queue entry is gone (drained, or refused). Any thread.
    pub(crate) fn clear_remote_queued(&self) {
        self.refs.fetch_and(!REMOTE_QUEUED, Ordering::AcqRel);
    }

    /// The reference count and whether an inject-queue entry exists, for diagnostics.
    pub(crate) fn load_refs(&self) -> (usize, bool) {
        let refs = self.refs.load(Ordering::Acquire);
        ((refs & COUNT) as usize, refs & REMOTE_QUEUED != 0)
    }
}

/// The joiner's waker, in one word (owner thread, I3): empty, a greenloop task waker kept as
/// its task pointer (it owns the waker's reference), or any other waker, boxed and tagged
/// with the low bit. So the common joiner, another task, costs no allocation, and the header
/// stays at 32 bytes.
pub(crate) struct JoinSlot(Cell<*mut ()>);

/// The tag of a boxed foreign waker in a `JoinSlot` (task and box pointers are even).
const FOREIGN: usize = 1;

// === impl JoinSlot ===

impl JoinSlot {
    fn new() -> JoinSlot {
        JoinSlot(Cell::new(ptr::null_mut()))
    }

    /// Whether the registered waker would wake the same task as `waker`.
    pub(crate) fn will_wake(&self, waker: &Waker) -> bool {
        let raw = self.0.get();
        if raw.is_null() {
            false
        } else if raw.addr() & FOREIGN == 0 {
            waker::is_waker_of(waker, raw.cast())
        } else {
            // SAFETY: a tagged pointer is a live `Box<Waker>` owned by the slot, read on the
            // owner thread (I3); `will_wake` only compares pointers (no user code).
            unsafe { &*untag(raw) }.will_wake(waker)
        }
    }

    /// Registers `new`; returns the previous waker, for the caller to drop outside any borrow.
    pub(crate) fn replace(&self, new: Waker) -> Option<Waker> {
        let raw = match waker::into_task(new) {
            Ok(task) => task.as_ptr().cast::<()>(),
            Err(foreign) => Box::into_raw(Box::new(foreign))
                .cast::<()>()
                .map_addr(|a| a | FOREIGN),
        };
        Self::decode(self.0.replace(raw))
    }

    /// Takes the registered waker out.
    pub(crate) fn take(&self) -> Option<Waker> {
        Self::decode(self.0.replace(ptr::null_mut()))
    }

    /// Calls `f` with the registered waker, without waking or dropping it (no user code runs).
    pub(crate) fn with<R>(&self, f: impl FnOnce(Option<&Waker>) -> R) -> R {
        let raw = self.0.get();
        if raw.is_null() {
            f(None)
        } else if raw.addr() & FOREIGN == 0 {
            let task = NonNull::new(raw.cast::<Header>()).expect("checked non-null above");
            // SAFETY: the slot owns a reference to that task (I2), which outlives this call.
            let waker = unsafe { waker::borrowed(task) };
            f(Some(&waker))
        } else {
            // SAFETY: a live `Box<Waker>` owned by the slot; owner thread (I3).
            f(Some(unsafe { &*untag(raw) }))
        }
    }

    fn decode(raw: *mut ()) -> Option<Waker> {
        let task = NonNull::new(raw)?;
        if raw.addr() & FOREIGN == 0 {
            // SAFETY: stored by `replace` from `waker::into_task`, with its reference (I2).
            Some(unsafe { waker::from_task(task.cast()) })
        } else {
            // SAFETY: stored by `replace` from `Box::into_raw`; taken out of the slot once.
            Some(*unsafe { Box::from_raw(untag(raw)) })
        }
    }
}

/// The `Box<Waker>` behind a tagged `JoinSlot` word.
fn untag(raw: *mut ()) -> *mut Waker {
    raw.map_addr(|a| a & !FOREIGN).cast::<Waker>()
}

impl Drop for JoinSlot {
    fn drop(&mut self) {
        drop(self.take());
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
        // SAFETY: the cell is live (I2); owner thread, so the state may be read (I3).
        Err(payload) => Err(unsafe { JoinError::panicked(ptr, payload) }),
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
    let error = unsafe { JoinError::cancelled(ptr) };
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
    let cell = ptr.cast::<TaskCell<F>>().as_ptr();
    // SAFETY: written by `allocate` as a TaskCell<F> (I1); no references remain (I2).
    let stage = unsafe { &(*cell).stage };
    // SAFETY: as above: nothing else can reach the stage.
    let consumed = matches!(unsafe { &*stage.get() }, Stage::Consumed);
    debug_assert!(
        consumed,
        "freed a task that still held its future or output"
    );
    // SAFETY: as above. The stage is Consumed, so this drops only the join slot (empty, or a
    // Send + Sync waker): sound on any thread.
    unsafe { ptr::drop_in_place(cell) };
    // SAFETY: the cell is dead now and never used again (I15).
    unsafe { arena::free(ptr) };
}
