//! The run queue: a local FIFO for the executor's own thread, and the inject queue through
//! which everything else (other threads, or this thread while the executor is idle) makes a
//! task ready [tokio `scheduler/current_thread`].
//!
//! - [`RunQueue`]: a `VecDeque` of [`Entry`]s, touched only on the owner thread while the
//!   executor runs. Entries own no reference (I4).
//! - [`Shared`]: the cross-thread half, in an `Arc` that every task page points to. One mutex
//!   guards the inject entries, the "parked" flag and the host's waker; a condvar parks the
//!   executor's thread. A remote wake takes the lock once and unparks.
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Wake, Waker};
use std::time::Duration;

use super::arena::RemoteFrees;
use super::raw::Header;
use super::{Core, context};

/// One slot of the local run queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A spawned task. Owns no reference: the executor's keeps it alive while queued (I4).
    Task(NonNull<Header>),
    /// The future passed to `block_on`/`run`, which is not a spawned task.
    Main,
}

/// The owner thread's FIFO of ready entries.
#[derive(Debug, Default)]
pub(crate) struct RunQueue {
    entries: RefCell<VecDeque<Entry>>,
}

// === impl RunQueue ===

impl RunQueue {
    pub(crate) fn push(&self, entry: Entry) {
        self.entries.borrow_mut().push_back(entry);
    }

    pub(crate) fn pop(&self) -> Option<Entry> {
        self.entries.borrow_mut().pop_front()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// Shuffles the first `n` entries (Fisher-Yates), for `Schedule::Random`.
    pub(crate) fn shuffle_front(&self, n: usize, rng: &Cell<u64>) {
        let mut entries = self.entries.borrow_mut();
        let slice = &mut entries.make_contiguous()[..n];
        for i in (1..slice.len()).rev() {
            let j = (next_random(rng) % (i as u64 + 1)) as usize;
            slice.swap(i, j);
        }
    }

    /// Removes the `block_on` future's entry (its `block_on` ended while it was queued).
    pub(crate) fn remove_main(&self) {
        self.entries
            .borrow_mut()
            .retain(|entry| *entry != Entry::Main);
    }

    /// Forgets every entry (executor shutdown); returns them so the caller can fix task states.
    pub(crate) fn take_all(&self) -> VecDeque<Entry> {
        std::mem::take(&mut *self.entries.borrow_mut())
    }
}

/// splitmix64: a tiny, well-mixed generator; the same seed gives the same schedule.
/// Source: Steele, Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014.
fn next_random(state: &Cell<u64>) -> u64 {
    let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
    state.set(s);
    let mut z = s;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A reference to a task held by the inject queue. Dropping it gives the reference up.
pub(crate) struct TaskRef(NonNull<Header>);

// SAFETY: a TaskRef owns one reference (I2); moving it to another thread moves only that
// reference, whose counter is atomic, and the header fields other threads may touch are
// atomic or immutable (I3).
unsafe impl Send for TaskRef {}

impl TaskRef {
    pub(crate) fn as_ptr(&self) -> NonNull<Header> {
        self.0
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: this TaskRef owns one reference (I2) and gives it up exactly once.
        unsafe { Header::drop_ref(self.0) }
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TaskRef").field(&self.0).finish()
    }
}

/// Something made ready from outside the running executor.
#[derive(Debug)]
pub(crate) enum Inject {
    Task(TaskRef),
    Main(Arc<MainWake>),
}

/// A hook the host gives to learn that work became ready while the executor was idle.
pub(crate) type Hook = Arc<dyn Fn() + Send + Sync>;

/// What `Shared::close` takes out besides the entries: the host's waker and hook.
pub(crate) type HostWake = (Option<Waker>, Option<Hook>);

#[derive(Default)]
struct Remote {
    entries: Vec<Inject>,
    /// The executor is gone: refuse new entries.
    closed: bool,
    /// The executor's thread is waiting on `Shared::unparked`.
    parked: bool,
    /// The waker of whoever drives `Executor::run` as a future (woken once, then re-registered).
    host_waker: Option<Waker>,
    /// `Executor::on_wake`.
    hook: Option<Hook>,
}

/// The executor's cross-thread half.
pub(crate) struct Shared {
    remote: Mutex<Remote>,
    unparked: Condvar,
    /// A hint, read without the lock at every tick: the inject queue may be non-empty.
    has_remote: AtomicBool,
    /// The executor, while it exists; null afterwards. Dereferenced only on the owner thread
    /// (I9). An atomic (Relaxed) so that `Shared` is `Sync` without an `unsafe impl`.
    owner_core: AtomicPtr<Core>,
    /// Task cells freed away from the owner, and the arena's pages after shutdown (I14, I15).
    pub(crate) frees: RemoteFrees,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

// === impl Shared ===

impl Shared {
    pub(crate) fn new() -> Shared {
        Shared {
            remote: Mutex::new(Remote::default()),
            unparked: Condvar::new(),
            has_remote: AtomicBool::new(false),
            owner_core: AtomicPtr::new(std::ptr::null_mut()),
            frees: RemoteFrees::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Remote> {
        // No code runs under this lock that could panic; a poisoned lock is still consistent.
        self.remote.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `entry` and wakes whoever runs the executor. Any thread.
    /// Gives the entry back if the executor is gone.
    pub(crate) fn push(&self, entry: Inject) -> Result<(), Inject> {
        let mut remote = self.lock();
        if remote.closed {
            return Err(entry);
        }
        remote.entries.push(entry);
        self.has_remote.store(true, Ordering::Release);
        let parked = remote.parked;
        let host = remote.host_waker.take();
        let hook = remote.hook.clone();
        drop(remote);
        if parked {
            self.unparked.notify_one();
        }
        if let Some(host) = host {
            host.wake();
        }
        if let Some(hook) = hook {
            hook();
        }
        Ok(())
    }

    /// Wakes whoever drives the executor without queueing anything: work was added on the
    /// owner thread while the executor was idle (a spawn from host code).
    pub(crate) fn poke(&self) {
        let mut remote = self.lock();
        let host = remote.host_waker.take();
        let hook = remote.hook.clone();
        drop(remote);
        if let Some(host) = host {
            host.wake();
        }
        if let Some(hook) = hook {
            hook();
        }
    }

    /// Moves the inject entries into `out`. Owner thread.
    pub(crate) fn drain(&self, out: &mut Vec<Inject>) {
        if !self.has_remote.load(Ordering::Acquire) {
            return;
        }
        let mut remote = self.lock();
        self.has_remote.store(false, Ordering::Relaxed);
        std::mem::swap(&mut remote.entries, out);
    }

    /// Blocks the owner thread until something is injected or `timeout` passes.
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        let mut remote = self.lock();
        if !remote.entries.is_empty() {
            return;
        }
        remote.parked = true;
        remote = match timeout {
            None => self
                .unparked
                .wait(remote)
                .unwrap_or_else(PoisonError::into_inner),
            Some(timeout) => {
                self.unparked
                    .wait_timeout(remote, timeout)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
        remote.parked = false;
    }

    /// Whether anything waits in the inject queue.
    pub(crate) fn has_remote(&self) -> bool {
        self.has_remote.load(Ordering::Acquire)
    }

    // Wakers and hooks are user code (their clone and drop too): none of it runs under the
    // lock, because it may wake a task of this executor, which takes the lock again.

    pub(crate) fn set_host_waker(&self, waker: &Waker) {
        let unchanged = matches!(&self.lock().host_waker, Some(old) if old.will_wake(waker));
        if !unchanged {
            let new = waker.clone();
            let old = self.lock().host_waker.replace(new);
            drop(old);
        }
    }

    pub(crate) fn set_hook(&self, hook: Option<Hook>) {
        let old = std::mem::replace(&mut self.lock().hook, hook);
        drop(old);
    }

    /// Executor shutdown: refuse further entries and hand back those still queued, and the
    /// host's waker and hook, for the caller to drop (user code, which may panic) once it has
    /// dealt with the entries.
    pub(crate) fn close(&self) -> (Vec<Inject>, HostWake) {
        let mut remote = self.lock();
        remote.closed = true;
        let host = remote.host_waker.take();
        let hook = remote.hook.take();
        self.has_remote.store(false, Ordering::Relaxed);
        let entries = std::mem::take(&mut remote.entries);
        drop(remote);
        (entries, (host, hook))
    }

    pub(crate) fn owner_core(&self) -> *const Core {
        self.owner_core.load(Ordering::Relaxed)
    }

    pub(crate) fn set_owner_core(&self, core: *const Core) {
        self.owner_core.store(core.cast_mut(), Ordering::Relaxed);
    }
}

/// Wakes `task` through the inject queue. Any thread. Borrows the caller's reference.
///
/// # Safety
/// The caller holds or borrows a reference to `task` (I2).
pub(crate) unsafe fn wake_remote(task: NonNull<Header>) {
    // SAFETY: alive per the caller (I2); the flag is atomic (I3).
    let header = unsafe { task.as_ref() };
    if !header.set_remote_queued() {
        return; // Already in the inject queue: one entry is enough.
    }
    // SAFETY: the caller's reference keeps the task alive; the new one belongs to the entry.
    unsafe { Header::add_ref(task) };
    // SAFETY: the caller's reference keeps the task, its page and `Shared` alive (I14).
    let shared = unsafe { Header::shared(task) };
    if let Err(entry) = shared.push(Inject::Task(TaskRef(task))) {
        // The executor is gone: the task is complete (I10); let the entry's reference go.
        header.clear_remote_queued();
        drop(entry);
    }
}

/// The waker of a `block_on`/`run` future. Not a task, so it is a plain `Arc` waker.
#[derive(Debug)]
pub(crate) struct MainWake {
    shared: Arc<Shared>,
    remote_queued: AtomicBool,
}

impl MainWake {
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<MainWake> {
        Arc::new(MainWake {
            shared,
            remote_queued: AtomicBool::new(false),
        })
    }

    /// Whether an inject entry (holding one `Arc`) exists for it.
    pub(crate) fn is_remote_queued(&self) -> bool {
        self.remote_queued.load(Ordering::Acquire)
    }

    /// The owner thread took this entry out of the inject queue.
    pub(crate) fn clear_remote(&self) {
        self.remote_queued.swap(false, Ordering::AcqRel);
    }
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let local = context::with_core(|core| match core {
            Some(core) if core.owns(&self.shared) => {
                core.wake_main(self);
                true
            }
            _ => false,
        });
        if !local
            && !self.remote_queued.swap(true, Ordering::AcqRel)
            && self.shared.push(Inject::Main(Arc::clone(self))).is_err()
        {
            self.remote_queued.store(false, Ordering::Release);
        }
    }
}
