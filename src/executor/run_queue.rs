//! The run queue: a local FIFO for the executor's own thread, and the inject queue through
//! which everything else (other threads, or this thread while the executor is idle) makes a
//! task ready [tokio `scheduler/current_thread`].
//!
//! - [`RunQueue`]: a segmented FIFO of [`Entry`]s whose memory follows its length, touched
//!   only on the owner thread while the executor runs. Entries own no reference (I4).
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
///
/// A segmented queue: entries live in blocks, oldest first. `push` appends to the back block
/// and starts a new one when it is full, so nothing is copied as the queue grows; `pop` reads
/// the front block and lets it go as soon as it is consumed, so the memory held follows the
/// length instead of the longest burst ever seen. While everything fits in the back block,
/// `pop` reads it directly and rewinds it when it runs dry: a short queue is one block, used
/// over and over.
///
/// A new block holds about half as many entries as are queued when it starts (a power of two
/// from [`MIN_BLOCK`] to [`MAX_BLOCK`]): a short queue uses small blocks, a burst of 100k
/// wakes takes 13 allocations, and the unused tail of the back block is at most one small
/// block or the queue's length. Blocks of 16k entries and more are large allocations, which
/// malloc usually maps on their own and unmaps when they are freed (glibc's threshold starts
/// at 128 KiB), so a burst's memory goes back to the system, not only to the allocator. One
/// consumed block is kept as a spare if it is not too big for the current length ([`KEEP`]):
/// a queue of steady length allocates nothing after warm-up; one whose length swings by
/// more than a block allocates about one block per block's worth of growth.
#[derive(Debug, Default)]
pub(crate) struct RunQueue {
    inner: RefCell<Blocks>,
}

/// Every entry taken out of a [`RunQueue`] by [`RunQueue::take_all`], oldest first.
#[derive(Debug)]
pub(crate) struct Entries(Blocks);

/// The smallest block, in entries (1 KiB).
const MIN_BLOCK: usize = 128;
/// The largest block, in entries (256 KiB).
const MAX_BLOCK: usize = 32 * 1024;
/// An empty block of up to this many entries (8 KiB) is always worth keeping; a bigger one
/// only while the queue is long enough to make blocks half its size.
const KEEP: usize = 1024;
/// Room for this many blocks is kept in the list of full blocks when it empties.
const MIDDLE_KEEP: usize = 16;

/// The blocks of a [`RunQueue`]. The entries, oldest first, are `front[front_pos..]`, then
/// every block of `middle`, then `back[back_pos..]`.
///
/// A block is a `Vec` whose capacity is its size and whose length is how many entries were
/// pushed into it; only `back` is ever pushed to. `Vec::new()` stands for "no block".
/// Invariants (checked by `check` in tests):
/// - `front` is either empty or has entries left to read (`front_pos < front.len()`): a
///   consumed front block is replaced at once, by the first `middle` block or by nothing.
/// - An empty `front` implies an empty `middle`. Only then is `back` read, so only then may
///   `back_pos` be non-zero.
/// - `back_pos < back.len()`, or both are 0: a back block read dry is rewound.
/// - `middle` holds no empty block, and `middle_len` counts its entries.
#[derive(Debug, Default)]
struct Blocks {
    /// The block being read, once it is no longer the one being written.
    front: Vec<Entry>,
    /// The next entry of `front` to read.
    front_pos: usize,
    /// Full blocks written after `front` and before `back`, in order.
    middle: VecDeque<Vec<Entry>>,
    /// The number of entries in `middle`.
    middle_len: usize,
    /// The block being written.
    back: Vec<Entry>,
    /// The next entry of `back` to read, when `front` and `middle` are empty.
    back_pos: usize,
    /// An empty block kept for the next `back`, or `Vec::new()`.
    spare: Vec<Entry>,
    /// How many blocks were allocated so far.
    #[cfg(test)]
    allocated: usize,
}

// === impl RunQueue ===

impl RunQueue {
    #[inline]
    pub(crate) fn push(&self, entry: Entry) {
        self.inner.borrow_mut().push(entry);
    }

    #[inline]
    pub(crate) fn pop(&self) -> Option<Entry> {
        self.inner.borrow_mut().pop()
    }

    pub(crate) fn len(&self) -> usize {
        self.inner.borrow().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shuffles the first `n` entries (Fisher-Yates), for `Schedule::Random`.
    pub(crate) fn shuffle_front(&self, n: usize, rng: &Cell<u64>) {
        let mut blocks = self.inner.borrow_mut();
        assert!(
            n <= blocks.len(),
            "only {} entries to shuffle",
            blocks.len()
        );
        for i in (1..n).rev() {
            let j = (next_random(rng) % (i as u64 + 1)) as usize;
            blocks.swap(i, j);
        }
    }

    /// Removes the `block_on` future's entry (its `block_on` ended while it was queued).
    pub(crate) fn remove_main(&self) {
        self.inner.borrow_mut().retain(|entry| entry != Entry::Main);
    }

    /// Forgets every entry (executor shutdown); returns them so the caller can fix task states.
    /// The queue is left holding no memory.
    pub(crate) fn take_all(&self) -> Entries {
        Entries(std::mem::take(&mut *self.inner.borrow_mut()))
    }
}

// === impl Entries ===

impl Iterator for Entries {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        self.0.pop()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = self.0.len();
        (len, Some(len))
    }
}

impl ExactSizeIterator for Entries {}

// === impl Blocks ===

impl Blocks {
    #[inline]
    fn push(&mut self, entry: Entry) {
        if self.back.len() < self.back.capacity() {
            self.back.push(entry);
        } else {
            self.push_slow(entry);
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<Entry> {
        if let Some(&entry) = self.front.get(self.front_pos) {
            self.front_pos += 1;
            if self.front_pos == self.front.len() {
                self.advance();
            }
            return Some(entry);
        }
        // Nothing in `front`, so nothing in `middle`: read the back block.
        let &entry = self.back.get(self.back_pos)?;
        self.back_pos += 1;
        if self.back_pos == self.back.len() {
            self.back.clear();
            self.back_pos = 0;
            if self.back.capacity() > KEEP {
                self.shrink_back();
            }
        }
        Some(entry)
    }

    /// `back` is full (or there is none): file it behind the others and start a new one.
    #[cold]
    #[inline(never)]
    fn push_slow(&mut self, entry: Entry) {
        let size = block_size(self.len());
        let full = std::mem::take(&mut self.back);
        let read = std::mem::take(&mut self.back_pos);
        if !full.is_empty() {
            if self.front.is_empty() {
                // Nothing before it: it is the next block to read.
                let consumed = std::mem::replace(&mut self.front, full);
                self.front_pos = read;
                self.recycle(consumed);
            } else {
                self.middle_len += full.len();
                self.middle.push_back(full);
            }
        }
        let spare = std::mem::take(&mut self.spare);
        self.back = if spare.capacity() > 0 && spare.capacity() <= 2 * size {
            spare
        } else {
            #[cfg(test)]
            {
                self.allocated += 1;
            }
            Vec::with_capacity(size)
        };
        self.back.push(entry);
    }

    /// `front` has been read to the end: let it go; the first full block, if any, is next.
    #[cold]
    #[inline(never)]
    fn advance(&mut self) {
        let consumed = std::mem::take(&mut self.front);
        self.front_pos = 0;
        if let Some(next) = self.middle.pop_front() {
            self.middle_len -= next.len();
            self.front = next;
            if self.middle.is_empty() && self.middle.capacity() > MIDDLE_KEEP {
                self.middle = VecDeque::new();
            }
        }
        self.recycle(consumed);
    }

    /// The back block ran dry and is bigger than a short queue needs: give it up.
    #[cold]
    #[inline(never)]
    fn shrink_back(&mut self) {
        let back = std::mem::take(&mut self.back);
        self.recycle(back);
    }

    /// Keeps an emptied block as the spare if there is none and the current length could use
    /// it; frees it otherwise. Also frees a spare kept while the queue was longer.
    fn recycle(&mut self, mut block: Vec<Entry>) {
        let keep = KEEP.max(2 * block_size(self.len()));
        if self.spare.capacity() > keep {
            self.spare = Vec::new();
        }
        if self.spare.capacity() == 0 && block.capacity() <= keep {
            block.clear();
            self.spare = block;
        }
    }

    /// Keeps only the entries for which `keep` is true, in order.
    fn retain(&mut self, mut keep: impl FnMut(Entry) -> bool) {
        self.front.drain(..self.front_pos);
        self.front_pos = 0;
        self.front.retain(|&entry| keep(entry));
        for block in &mut self.middle {
            block.retain(|&entry| keep(entry));
        }
        self.middle.retain(|block| !block.is_empty());
        self.middle_len = self.middle.iter().map(Vec::len).sum();
        self.back.drain(..self.back_pos);
        self.back_pos = 0;
        self.back.retain(|&entry| keep(entry));
        if self.front.is_empty() {
            let emptied = std::mem::take(&mut self.front);
            if let Some(next) = self.middle.pop_front() {
                self.middle_len -= next.len();
                self.front = next;
            }
            self.recycle(emptied);
        }
    }

    fn len(&self) -> usize {
        (self.front.len() - self.front_pos) + self.middle_len + (self.back.len() - self.back_pos)
    }

    /// The `i`-th entry from the front.
    fn slot(&mut self, mut i: usize) -> &mut Entry {
        let front = &mut self.front[self.front_pos..];
        if i < front.len() {
            return &mut front[i];
        }
        i -= front.len();
        for block in &mut self.middle {
            if i < block.len() {
                return &mut block[i];
            }
            i -= block.len();
        }
        &mut self.back[self.back_pos + i]
    }

    /// Swaps the `i`-th and `j`-th entries from the front.
    fn swap(&mut self, i: usize, j: usize) {
        let a = *self.slot(i);
        let b = std::mem::replace(self.slot(j), a);
        *self.slot(i) = b;
    }
}

/// The size of a new block when `len` entries are queued: about half of them, as a power of
/// two in `MIN_BLOCK..=MAX_BLOCK`.
fn block_size(len: usize) -> usize {
    (len / 2).next_power_of_two().clamp(MIN_BLOCK, MAX_BLOCK)
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
    // SAFETY: alive per the caller (I2); the flag and the count are atomic (I3). The new
    // reference belongs to the entry.
    if !unsafe { Header::set_remote_queued(task) } {
        return; // Already in the inject queue: one entry is enough.
    }
    // SAFETY: alive per the caller (I2).
    let header = unsafe { task.as_ref() };
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

#[cfg(test)]
#[path = "run_queue_tests.rs"]
mod tests;
