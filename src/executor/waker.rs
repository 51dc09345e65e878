//! The only place a task's `Waker` is built.
//!
//! A task waker is the task pointer plus [`VTABLE`]. Cloning adds a reference and dropping
//! removes one (I2); both are atomic because a `Waker` may be cloned or dropped on any thread.
//! Waking takes one of two paths:
//! - **local**: this thread is running the task's executor right now (I8), so the state word
//!   and the run queue may be touched directly: no lock, no atomic read-modify-write. A
//!   waker consumed or dropped here gives up its reference without one either, while the
//!   owner side's reference is held: the drop is counted in the state word and taken off the
//!   reference count with that reference (I2);
//! - **remote**: anything else (another thread, or this thread while the executor is idle):
//!   the task goes to the inject queue and the executor's thread is unparked (I9).
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::context;
use super::raw::Header;
use super::task::TaskId;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker for `task` that borrows the caller's reference: it must not outlive it, which
/// `ManuallyDrop` ensures by never running the waker's drop. Cloning it makes an owned waker.
///
/// # Safety
/// The caller holds a reference to `task` for as long as the returned waker is used (I2).
pub(crate) unsafe fn borrowed(task: NonNull<Header>) -> ManuallyDrop<Waker> {
    // SAFETY: VTABLE's functions uphold the RawWaker contract for a task pointer (see each);
    // the data pointer stays valid while the caller's reference lives.
    ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(task.as_ptr().cast(), &VTABLE)) })
}

/// Whether `waker` is a greenloop task waker (its data pointer is then a task's header).
pub(super) fn is_task_waker(waker: &Waker) -> bool {
    std::ptr::eq(waker.vtable(), &VTABLE)
}

/// The id of the greenloop task behind `waker`, or `None` for any other waker.
pub(crate) fn task_id_of(waker: &Waker) -> Option<TaskId> {
    if !std::ptr::eq(waker.vtable(), &VTABLE) {
        return None;
    }
    let task = waker.data().cast::<Header>();
    // SAFETY: a waker with our vtable holds a reference to its task (I2), so the header is
    // alive while `waker` is borrowed; the id is immutable and atomic (I3).
    Some(unsafe { (*task).id() })
}

/// Whether `waker` is a task waker of `task`.
pub(crate) fn is_waker_of(waker: &Waker, task: *const Header) -> bool {
    std::ptr::eq(waker.vtable(), &VTABLE) && std::ptr::eq(waker.data(), task.cast())
}

/// The task of a task waker, keeping the waker's reference (I2); any other waker back.
pub(crate) fn into_task(waker: Waker) -> Result<NonNull<Header>, Waker> {
    if !std::ptr::eq(waker.vtable(), &VTABLE) {
        return Err(waker);
    }
    let waker = ManuallyDrop::new(waker);
    Ok(header(waker.data()))
}

/// Rebuilds the waker that [`into_task`] took apart.
///
/// # Safety
/// `task` came from `into_task`, and its reference is handed over (once).
pub(crate) unsafe fn from_task(task: NonNull<Header>) -> Waker {
    // SAFETY: as in `borrowed`; the reference `into_task` kept becomes this waker's.
    unsafe { Waker::from_raw(RawWaker::new(task.as_ptr().cast(), &VTABLE)) }
}

/// Calls `f` with the executor running on this thread if it is `task`'s own (I8): then the
/// task's state and the run queue are `f`'s to touch. Returns whether it was.
///
/// # Safety
/// The caller holds or borrows a reference to `task` (I2) for the whole call.
#[inline]
unsafe fn on_owner<F: FnOnce(&super::Core)>(task: NonNull<Header>, f: F) -> bool {
    context::with_core(|core| {
        // SAFETY: the caller's reference keeps the task, so its page and `Shared`, alive (I2,
        // I13, I14).
        let shared = unsafe { Header::shared(task) };
        match core {
            // I8: the executor entered on this thread is the task's own executor.
            Some(core) if core.owns(shared) => {
                f(core);
                true
            }
            _ => false,
        }
    })
}

/// Makes the task ready. Borrows the caller's reference.
///
/// # Safety
/// The caller holds or borrows a reference to `task` (I2).
pub(crate) unsafe fn schedule(task: NonNull<Header>) {
    let wake_here = |core: &super::Core| {
        // SAFETY: `on_owner` calls this on the owner thread with the executor running (I8);
        // the caller's reference keeps the task alive.
        unsafe { core.wake_local(task) }
    };
    // SAFETY: the caller's reference, for the whole call.
    let local = unsafe { on_owner(task, wake_here) };
    if !local {
        // SAFETY: the caller's reference keeps the task alive for the call (I2).
        unsafe { super::run_queue::wake_remote(task) };
    }
}

fn header(data: *const ()) -> NonNull<Header> {
    // Our wakers are only ever built from a non-null task pointer (`borrowed`, `clone`).
    NonNull::new(data.cast_mut().cast::<Header>())
        .expect("greenloop waker with a null task pointer")
}

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned holds or borrows a reference (I2).
    unsafe { Header::add_ref(header(data)) };
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    let task = header(data);
    let wake_here = |core: &super::Core| {
        // SAFETY: `on_owner` calls this on the owner thread with the executor running (I8);
        // the waker's reference keeps the task alive for the wake (I2)...
        unsafe { core.wake_local(task) };
        // SAFETY: ...and then goes, given up on that same thread (I8).
        unsafe { core.drop_waker_ref(task) };
    };
    // SAFETY: an owned waker holds a reference (I2) for the whole call.
    let local = unsafe { on_owner(task, wake_here) };
    if !local {
        // SAFETY: an owned waker holds a reference (I2), used here and then given up.
        unsafe { super::run_queue::wake_remote(task) };
        // SAFETY: this consumes the waker's own reference.
        unsafe { Header::drop_ref(task) };
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker holds or borrows a reference (I2).
    unsafe { schedule(header(data)) };
}

unsafe fn drop_waker(data: *const ()) {
    let task = header(data);
    let drop_here = |core: &super::Core| {
        // SAFETY: `on_owner` calls this on the owner thread with the executor running (I8);
        // the waker's reference goes.
        unsafe { core.drop_waker_ref(task) }
    };
    // SAFETY: an owned waker holds a reference (I2) for the whole call.
    let local = unsafe { on_owner(task, drop_here) };
    if !local {
        // SAFETY: an owned waker gives up its reference (I2).
        unsafe { Header::drop_ref(task) };
    }
}
