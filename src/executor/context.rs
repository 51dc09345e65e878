//! The thread-local "current executor": set while an executor runs on this thread.
//!
//! `greenloop::spawn` and friends find their executor here, and a waker uses it to prove that
//! it is on its executor's thread with that executor running (I8). Entering refuses nesting: a
//! `block_on` inside a task would wait for a task that can never run again, so it panics
//! instead [futures `enter.rs`].
use std::cell::Cell;
use std::ptr;

use super::Core;

thread_local! {
    static CURRENT: Cell<*const Core> = const { Cell::new(ptr::null()) };
}

const NESTED: &str = "greenloop: this thread is already running a greenloop executor. \
     A nested block_on/run/tick would wait forever for tasks that cannot run until it returns; \
     spawn the future with greenloop::spawn and await its JoinHandle instead";

/// Restores the previous current executor when dropped.
#[derive(Debug)]
pub(crate) struct Enter {
    previous: *const Core,
}

/// Makes `core` the running executor of this thread.
///
/// # Panics
/// If this thread is already running an executor (nested `block_on`, `tick` or `run`).
pub(crate) fn enter(core: &Core) -> Enter {
    CURRENT.with(|current| {
        assert!(current.get().is_null(), "{NESTED}");
        current.set(core);
    });
    Enter {
        previous: ptr::null(),
    }
}

/// Like [`enter`] but allowed inside another executor: used while an executor is dropped
/// (possibly from inside a task of another one), so that the destructors it runs see it.
pub(crate) fn enter_for_drop(core: &Core) -> Enter {
    let previous = CURRENT.with(|current| current.replace(core));
    Enter { previous }
}

impl Drop for Enter {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(self.previous));
    }
}

/// The executor running on this thread, if any.
///
/// The pointer is valid for as long as the caller does not return to that executor: the code
/// that entered it holds it borrowed below the caller on this thread's stack (I8).
#[inline]
pub(crate) fn current() -> Option<std::ptr::NonNull<Core>> {
    // `try_with`: wakers can run during thread-local destruction; they then take the remote path.
    let core = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    std::ptr::NonNull::new(core.cast_mut())
}

/// Calls `f` with the executor running on this thread, if any.
pub(crate) fn with_core<R>(f: impl FnOnce(Option<&Core>) -> R) -> R {
    // SAFETY: CURRENT is non-null only between `enter` and the drop of its guard, and the
    // guard's owner borrows the executor for that whole time, so the Core is alive (I8).
    #[allow(unsafe_code)]
    let core = current().map(|core| unsafe { core.as_ref() });
    f(core)
}
