//! The task arena: every task of an executor lives in a cell of a 256 KiB page that the
//! executor owns, with tasks of about the same size packed together.
//!
//! ```text
//! page: PAGE bytes, aligned to PAGE
//!   Page { shared, cells_at, cell_size, capacity, class, ... | used, bump, free, avail links, live bits }
//!   cell 0 at cells_at, cell 1 at cells_at + cell_size, ...     (a task: Header + stage, I1)
//! ```
//! Why not one `Box` per task: malloc adds a header and rounds every task up to 16 bytes, and
//! the executor needed a separate list to find its tasks again. Here:
//! - a cell is exactly its size class (8-byte steps up to 256 bytes), with no per-cell header;
//! - the page a cell lies in is its address rounded down to `PAGE` (I13), so a task needs no
//!   pointer to its executor and no slot number: the page header has both;
//! - the executor's list of live tasks is one bit per cell in the page header;
//! - a page whose cells are all free goes back to the allocator (one spare per size class is
//!   kept), so a burst of tasks does not pin its memory forever.
//!
//! Frees (I15): a task's last reference may be dropped on any thread. On the owner thread with
//! the executor running, the cell goes straight back to its page's free list; anywhere else it
//! is pushed on [`RemoteFrees`], a lock-free stack in [`Shared`] that the owner drains at the
//! next tick. When the executor is dropped, its pages move into `Shared`, and cells freed after
//! that only count down until the last one frees everything (I14).
//!
//! Size classes after the allocators of mimalloc and jemalloc (pages per size class with their
//! own free lists; geometric classes with four steps per doubling).
use std::alloc::{self, Layout};
use std::cell::{Cell, RefCell};
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, PoisonError};

use super::context;
use super::raw::Header;
use super::run_queue::Shared;

/// Size and alignment of a page. Large, so that the allocator's own header for it (a 4 KiB
/// memory page, once touched) is spread over thousands of tasks; only the part of a page
/// that cells have used is resident.
pub(crate) const PAGE: usize = 1 << 18;
/// Offset of the first cell in a page of a size class: past the `Page` header, and a multiple
/// of every alignment a size class serves.
pub(super) const CELLS_AT: usize = 1152;
/// Cells aligned to more than this get a page of their own.
const MAX_CLASS_ALIGN: usize = 128;
/// Live bits per page: enough for the smallest cells.
pub(super) const LIVE_WORDS: usize = (PAGE - CELLS_AT) / SMALLEST / 64 + 1;
const SMALLEST: usize = 32;
/// Size classes: 32, 40, ..., 256 bytes (8-byte steps), then four steps per doubling up to
/// 64 KiB (three cells a page). A task bigger than that gets a page of its own.
pub(super) const SMALL_CLASSES: usize = (256 - SMALLEST) / 8 + 1;
const CLASSES: usize = SMALL_CLASSES + 32;
pub(super) const CLASS_SIZES: [usize; CLASSES] = class_sizes();
/// The class of a task that gets a page of its own.
pub(crate) const LARGE: u8 = u8::MAX;
/// The top of the remote-free stack once the executor is gone.
const CLOSED: *mut u8 = ptr::dangling_mut::<u8>();

const _: () = assert!(size_of::<Page>() <= CELLS_AT && CELLS_AT % MAX_CLASS_ALIGN == 0);
const _: () = assert!(CLASSES < LARGE as usize && CLASS_SIZES[CLASSES - 1] == 65536);

const fn class_sizes() -> [usize; CLASSES] {
    let mut sizes = [0; CLASSES];
    let mut i = 0;
    while i < SMALL_CLASSES {
        sizes[i] = SMALLEST + 8 * i;
        i += 1;
    }
    while i < CLASSES {
        let step = i - SMALL_CLASSES;
        let base = 256 << (step / 4);
        sizes[i] = base + base / 4 * (step % 4 + 1);
        i += 1;
    }
    sizes
}

/// The size class for cells of this size and alignment, or [`LARGE`]. Evaluated at compile
/// time for each task type (`raw::vtable`).
pub(crate) const fn class_for(size: usize, align: usize) -> u8 {
    if align > MAX_CLASS_ALIGN {
        return LARGE;
    }
    let cell = size.next_multiple_of(align);
    let mut i = 0;
    while i < CLASSES {
        let class = CLASS_SIZES[i];
        if class >= cell && class % align == 0 {
            return i as u8;
        }
        i += 1;
    }
    LARGE
}

/// The header at the start of every page.
///
/// `shared`, `alloc_size`, `cells_at`, `cell_size`, `magic`, `capacity` and `class` are
/// written once, before any cell is handed out, and never change; any thread may read them
/// through a raw pointer (I13). The `Cell`s belong to the owner thread (I3), and to nobody once
/// the page is handed to `Shared` at shutdown (I14).
#[repr(C)]
struct Page {
    /// The executor's cross-thread half (I14).
    shared: *const Shared,
    /// Bytes allocated for this page (`PAGE`, or more for a large task).
    alloc_size: usize,
    cells_at: u32,
    cell_size: u32,
    /// `ceil(2^32 / cell_size)`: `(i * cell_size) * magic >> 32 == i` for every cell `i` of
    /// a page (checked for every class by a test), which spares a division per spawn.
    magic: u64,
    capacity: u32,
    class: u8,
    /// Cells handed out and not yet freed here (remote frees count once drained).
    used: Cell<u32>,
    /// Cells `bump..capacity` were never handed out.
    bump: Cell<u32>,
    /// Freed cells, linked through their first word.
    free: Cell<*mut u8>,
    /// Neighbours in the class's list of pages with a free cell.
    prev: Cell<*mut Page>,
    next: Cell<*mut Page>,
    in_avail: Cell<bool>,
    /// Position in `Arena::pages`.
    index: Cell<u32>,
    /// Bit `i`: cell `i` holds a task the executor has not released (the task list).
    live: [Cell<u64>; LIVE_WORDS],
}

/// The owner thread's side of the arena, in `Core`.
pub(crate) struct Arena {
    shared: *const Shared,
    /// Per class: the first page with a free cell (a doubly linked list through the pages).
    avail: [Cell<*mut Page>; CLASSES],
    /// Every page, each at its `Page::index`.
    pages: RefCell<Vec<NonNull<Page>>>,
    /// Cells handed out and not freed back to their page.
    allocated: Cell<usize>,
    /// Cells whose live bit is set.
    live: Cell<usize>,
    /// Set by `close`: from then on the pages belong to `Shared`.
    closed: Cell<bool>,
    /// Set while the executor is dropped: empty pages stay, so that `is_live` may look at the
    /// page of any task it saw live before.
    keep_pages: Cell<bool>,
    /// Freed pages of large tasks, kept for the next large spawn (an allocation of that
    /// alignment costs glibc an `mmap`/`munmap` pair). In no list; nothing points into them.
    spare_large: RefCell<Vec<NonNull<Page>>>,
}

/// Spare large pages kept at most, and the largest one worth keeping.
const SPARE_LARGE: usize = 4;
const SPARE_LARGE_MAX: usize = 1 << 20;

/// The cross-thread side of the arena, in `Shared`.
#[derive(Debug)]
pub(crate) struct RemoteFrees {
    /// Cells freed away from the owner, linked through their first word; [`CLOSED`] after the
    /// executor is gone. Any thread pushes; only the owner takes, all at once (so no ABA).
    head: AtomicPtr<u8>,
    /// After close: cells still allocated. Whoever frees the last one drops the strong count
    /// of `Shared` that close set aside for them (I14).
    orphans: AtomicUsize,
    /// The pages, handed over at close; freed when `Shared` is dropped.
    pages: Mutex<Vec<PagePtr>>,
}

/// A page handed to `Shared` at close.
#[derive(Debug)]
struct PagePtr(NonNull<Page>);

// SAFETY: after close, the owner never touches a page again (I14); a `PagePtr` is only
// dereferenced by `RemoteFrees::drop`, when no cell is allocated any more.
unsafe impl Send for PagePtr {}

// === impl Arena ===

impl Arena {
    pub(crate) fn new(shared: &Arc<Shared>) -> Arena {
        Arena {
            shared: Arc::as_ptr(shared),
            avail: [const { Cell::new(ptr::null_mut()) }; CLASSES],
            pages: RefCell::new(Vec::new()),
            allocated: Cell::new(0),
            live: Cell::new(0),
            closed: Cell::new(false),
            keep_pages: Cell::new(false),
            spare_large: RefCell::new(Vec::new()),
        }
    }

    /// A cell for a task of `layout`, in size class `class` (`class_for(layout)`); its live
    /// bit is set. Owner thread.
    ///
    /// # Panics
    /// If the task is aligned to `PAGE` or more.
    pub(crate) fn alloc(&self, class: u8, layout: Layout) -> NonNull<Header> {
        debug_assert!(!self.closed.get(), "spawn on a closed arena");
        let (page, cell) = if class == LARGE {
            self.alloc_large(layout)
        } else {
            self.alloc_small(class as usize)
        };
        self.allocated.set(self.allocated.get() + 1);
        // SAFETY: `page` is one of ours and `cell` lies in it (I13); owner thread.
        unsafe { self.set_live(page, cell, true) };
        cell.cast()
    }

    fn alloc_small(&self, class: usize) -> (NonNull<Page>, NonNull<u8>) {
        let page = match NonNull::new(self.avail[class].get()) {
            Some(page) => page,
            None => self.new_page(class as u8, CLASS_SIZES[class], CELLS_AT, PAGE),
        };
        // SAFETY: pages in `avail` are alive and ours (I13); owner thread (I3).
        let p = unsafe { page.as_ref() };
        let cell = match NonNull::new(p.free.get()) {
            Some(cell) => {
                // SAFETY: a cell on the free list is dead and its first word is the link,
                // written when it was freed (`free_in_page`).
                p.free.set(unsafe { cell.cast::<*mut u8>().read() });
                cell
            }
            None => {
                let i = p.bump.get();
                p.bump.set(i + 1);
                let offset = p.cells_at as usize + i as usize * p.cell_size as usize;
                // SAFETY: `i < capacity` because the page is in `avail` with no free cell, so
                // the offset is inside the page's allocation.
                unsafe { page.cast::<u8>().add(offset) }
            }
        };
        p.used.set(p.used.get() + 1);
        if p.used.get() == p.capacity {
            // SAFETY: it is in `avail` (only non-full pages are).
            unsafe { self.unlink(page) };
        }
        (page, cell)
    }

    /// A page of its own, for a task too big or too aligned for the size classes.
    fn alloc_large(&self, layout: Layout) -> (NonNull<Page>, NonNull<u8>) {
        assert!(
            layout.align() < PAGE,
            "greenloop: cannot spawn a future aligned to {} bytes (the limit is {})",
            layout.align(),
            PAGE / 2
        );
        let cells_at = size_of::<Page>().next_multiple_of(layout.align());
        let page = self.new_page(LARGE, layout.size(), cells_at, cells_at + layout.size());
        // SAFETY: the page was allocated with room for one cell at `cells_at`.
        let cell = unsafe { page.cast::<u8>().add(cells_at) };
        // SAFETY: just created, ours; owner thread.
        let p = unsafe { page.as_ref() };
        p.bump.set(1);
        p.used.set(1);
        (page, cell)
    }

    /// Allocates and registers a page; a page of a size class goes first in its `avail` list.
    fn new_page(&self, class: u8, cell_size: usize, cells_at: usize, size: usize) -> NonNull<Page> {
        // A large task's page may be smaller than `PAGE`: only its alignment matters (I13).
        let layout =
            Layout::from_size_align(size, PAGE).expect("greenloop: task too large to allocate");
        let (page, layout) = match self.take_spare(class, size) {
            Some(spare) => spare,
            None => {
                // SAFETY: the layout has a non-zero size.
                let raw = unsafe { alloc::alloc(layout) };
                match NonNull::new(raw.cast::<Page>()) {
                    Some(page) => (page, layout),
                    None => alloc::handle_alloc_error(layout),
                }
            }
        };
        let capacity = if class == LARGE {
            1
        } else {
            (PAGE - cells_at) / cell_size
        };
        debug_assert!((1..=LIVE_WORDS * 64).contains(&capacity));
        let index = self.pages.borrow().len();
        let header = Page {
            shared: self.shared,
            alloc_size: layout.size(),
            cells_at: cells_at as u32,
            cell_size: cell_size as u32,
            magic: (1u64 << 32).div_ceil(cell_size as u64),
            capacity: capacity as u32,
            class,
            used: Cell::new(0),
            bump: Cell::new(0),
            free: Cell::new(ptr::null_mut()),
            prev: Cell::new(ptr::null_mut()),
            next: Cell::new(ptr::null_mut()),
            in_avail: Cell::new(false),
            index: Cell::new(u32::try_from(index).expect("greenloop: too many task pages")),
            live: [const { Cell::new(0) }; LIVE_WORDS],
        };
        // SAFETY: an allocation of ours that nothing points into (fresh, or a spare large page),
        // aligned to `PAGE` and at least `cells_at` plus a cell long, so the header fits
        // (`cells_at >= size_of::<Page>()`). Writing it anew is what makes a spare a new page.
        unsafe { page.write(header) };
        self.pages.borrow_mut().push(page);
        if class != LARGE {
            // SAFETY: a new page of this class, not in any list yet.
            unsafe { self.link_front(page) };
        }
        page
    }

    /// Gives a cell back to its page (the owner's path of [`free`]).
    ///
    /// # Safety
    /// Owner thread, not closed; `cell` was handed out by this arena, is dead (no reference,
    /// I2) and not on any free list.
    unsafe fn free_in_page(&self, cell: NonNull<u8>) {
        let page = page_of(cell);
        // SAFETY: a page lives while it has a cell handed out, and this one does (I13).
        let p = unsafe { page.as_ref() };
        debug_assert!(!self.closed.get() && p.used.get() > 0);
        self.allocated.set(self.allocated.get() - 1);
        if p.class == LARGE {
            p.used.set(0);
            if !self.keep_pages.get() {
                // SAFETY: its only cell is dead: nothing points into the page any more.
                unsafe { self.drop_page(page) };
            }
            return;
        }
        // SAFETY: the cell is dead and at least a word long: its first word becomes the link.
        unsafe { cell.cast::<*mut u8>().write(p.free.get()) };
        p.free.set(cell.as_ptr());
        let was_full = p.used.get() == p.capacity;
        p.used.set(p.used.get() - 1);
        if was_full {
            // SAFETY: a full page is in no list.
            unsafe { self.link_front(page) };
        } else if p.used.get() == 0
            && !self.keep_pages.get()
            && (!p.prev.get().is_null() || !p.next.get().is_null())
        {
            // Empty, and its class has another page with room: give this one back.
            // SAFETY: a page that is not full is in its class's list.
            unsafe { self.unlink(page) };
            // SAFETY: out of the list now, and no cell of it is handed out.
            unsafe { self.drop_page(page) };
        }
    }

    /// Takes back the cells other threads freed since the last call. Owner thread; called
    /// once per tick (one atomic load when there is nothing to take).
    pub(crate) fn drain_remote_frees(&self) {
        // SAFETY: `Shared` outlives the executor (the `Core` holds it, I14).
        let frees = unsafe { &(*self.shared).frees };
        if frees.head.load(Ordering::Relaxed).is_null() {
            return;
        }
        // Acquire: pairs with the Release of each push, so the links written before are seen.
        let mut cell = frees.head.swap(ptr::null_mut(), Ordering::Acquire);
        while let Some(dead) = NonNull::new(cell) {
            // SAFETY: pushed by `RemoteFrees::push`, which wrote the link before publishing.
            cell = unsafe { dead.cast::<*mut u8>().read() };
            // SAFETY: a dead cell of this arena, now off the stack; owner thread, not closed
            // (close marks the stack CLOSED, and only the owner's close does that).
            unsafe { self.free_in_page(dead) };
        }
    }

    /// Sets or clears the live bit of `cell` (the executor's task list).
    ///
    /// # Safety
    /// Owner thread; `cell` lies in `page`, a page of this arena that is alive (I13).
    unsafe fn set_live(&self, page: NonNull<Page>, cell: NonNull<u8>, live: bool) {
        // SAFETY: per the caller.
        let p = unsafe { page.as_ref() };
        let i = p.index_of(cell);
        let word = &p.live[i / 64];
        let bit = 1u64 << (i % 64);
        debug_assert_eq!(word.get() & bit == 0, live, "live bit out of sync");
        word.set(word.get() ^ bit);
        self.live.set(if live {
            self.live.get() + 1
        } else {
            self.live.get() - 1
        });
    }

    /// The executor released `task`: clear its live bit.
    ///
    /// # Safety
    /// Owner thread; `task` is alive (the caller holds a reference, I2) and live.
    pub(crate) unsafe fn release(&self, task: NonNull<Header>) {
        let cell = task.cast::<u8>();
        // SAFETY: an allocated cell's page is alive (I13); owner thread per the caller.
        unsafe { self.set_live(page_of(cell), cell, false) };
    }

    /// From now on no page is given back before `close`: the executor is being dropped.
    pub(crate) fn keep_pages(&self) {
        self.keep_pages.set(true);
    }

    /// Whether `task` is (still) a live task of this executor.
    ///
    /// # Safety
    /// Owner thread; `task` was returned by `live_tasks` after `keep_pages` was called, so
    /// its page is still alive even if the task has been freed since.
    pub(crate) unsafe fn is_live(&self, task: NonNull<Header>) -> bool {
        debug_assert!(self.keep_pages.get());
        let cell = task.cast::<u8>();
        // SAFETY: per the caller, the page is alive; owner thread.
        let p = unsafe { page_of(cell).as_ref() };
        let i = p.index_of(cell);
        p.live[i / 64].get() & (1 << (i % 64)) != 0
    }

    /// Every live task, in page order.
    pub(crate) fn live_tasks(&self) -> Vec<NonNull<Header>> {
        let mut tasks = Vec::with_capacity(self.live.get());
        for &page in self.pages.borrow().iter() {
            // SAFETY: pages in the list are alive; owner thread.
            let p = unsafe { page.as_ref() };
            for (w, word) in p.live.iter().enumerate() {
                let mut bits = word.get();
                while bits != 0 {
                    let i = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let offset = p.cells_at as usize + i * p.cell_size as usize;
                    // SAFETY: a live bit marks a handed-out cell inside the page.
                    tasks.push(unsafe { page.cast::<u8>().add(offset) }.cast());
                }
            }
        }
        tasks
    }

    /// How many tasks are live.
    pub(crate) fn live_count(&self) -> usize {
        self.live.get()
    }

    /// Pages held, and cells handed out and not yet back on a free list (for tests).
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, usize) {
        (self.pages.borrow().len(), self.allocated.get())
    }

    /// Spare large pages held (for tests).
    #[cfg(test)]
    pub(crate) fn spares(&self) -> usize {
        self.spare_large.borrow().len()
    }

    /// Whether a cell of `shared`'s executor may be freed here, by the owner's path.
    fn is_owner_of(&self, shared: *const Shared) -> bool {
        ptr::eq(self.shared, shared) && !self.closed.get()
    }

    /// Executor shutdown, its very last step: hands every page to `Shared` (I14). From now
    /// on a freed cell only counts down `orphans`; the last one drops `Shared`, and with it
    /// the pages.
    pub(crate) fn close(&self, shared: &Arc<Shared>) {
        if self.closed.replace(true) {
            return;
        }
        for spare in self.spare_large.take() {
            // SAFETY: nothing points into a spare page; it is ours to free.
            unsafe { dealloc_page(spare) };
        }
        let frees = &shared.frees;
        let pages = std::mem::take(&mut *self.pages.borrow_mut());
        frees
            .pages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(pages.into_iter().map(PagePtr));
        let outstanding = self.allocated.get();
        if outstanding == 0 {
            frees.head.store(CLOSED, Ordering::Release);
            return;
        }
        // Set the count and the strong count aside before closing the stack, so that a
        // thread that sees CLOSED finds both (its Acquire load pairs with the swap below).
        frees.orphans.store(outstanding, Ordering::Relaxed);
        let for_orphans = Arc::into_raw(Arc::clone(shared));
        let mut cell = frees.head.swap(CLOSED, Ordering::AcqRel);
        let mut taken = 0;
        while let Some(dead) = NonNull::new(cell) {
            // SAFETY: pushed by `RemoteFrees::push`, which wrote the link before publishing.
            cell = unsafe { dead.cast::<*mut u8>().read() };
            taken += 1;
        }
        if taken > 0 && frees.orphans.fetch_sub(taken, Ordering::AcqRel) == taken {
            // SAFETY: from the `Arc::into_raw` above; the count reached zero here, so no
            // other thread will use it (I14).
            drop(unsafe { Arc::from_raw(for_orphans) });
        }
    }

    /// A spare large page with room for `size` bytes, and the layout it was allocated with.
    fn take_spare(&self, class: u8, size: usize) -> Option<(NonNull<Page>, Layout)> {
        if class != LARGE {
            return None;
        }
        let mut spares = self.spare_large.borrow_mut();
        // SAFETY: spares are allocations of ours that nothing points into; owner thread.
        let fits = |page: &NonNull<Page>| unsafe { page.as_ref() }.alloc_size >= size;
        let i = spares.iter().position(fits)?;
        let page = spares.swap_remove(i);
        // SAFETY: as above; its header is intact, so `alloc_size` is its allocated size.
        let alloc_size = unsafe { page.as_ref() }.alloc_size;
        let layout = Layout::from_size_align(alloc_size, PAGE).expect("the page's own layout");
        Some((page, layout))
    }

    /// Gives a page back to the allocator, or keeps it as a spare if it is a large task's.
    ///
    /// # Safety
    /// Owner thread; the page is ours, in no `avail` list, and no cell of it is handed out.
    unsafe fn drop_page(&self, page: NonNull<Page>) {
        let mut pages = self.pages.borrow_mut();
        // SAFETY: alive until the dealloc below; owner thread.
        let index = unsafe { page.as_ref() }.index.get() as usize;
        pages.swap_remove(index);
        if let Some(&moved) = pages.get(index) {
            // SAFETY: a page of the list, alive; owner thread.
            unsafe { moved.as_ref() }.index.set(index as u32);
        }
        drop(pages);
        // SAFETY: alive (per the caller nothing points into it, but it is not freed yet).
        let p = unsafe { page.as_ref() };
        let mut spares = self.spare_large.borrow_mut();
        if p.class == LARGE && p.alloc_size <= SPARE_LARGE_MAX && spares.len() < SPARE_LARGE {
            spares.push(page); // `new_page` writes a fresh header before handing it out again
            return;
        }
        drop(spares);
        // SAFETY: per the caller nothing points into the page; it was allocated with this size.
        unsafe { dealloc_page(page) };
    }

    /// Puts a page first in its class's `avail` list.
    ///
    /// # Safety
    /// Owner thread; the page is ours, of a size class, and in no list.
    unsafe fn link_front(&self, page: NonNull<Page>) {
        // SAFETY: per the caller.
        let p = unsafe { page.as_ref() };
        debug_assert!(!p.in_avail.get());
        let head = &self.avail[p.class as usize];
        let old = head.get();
        p.prev.set(ptr::null_mut());
        p.next.set(old);
        if let Some(old) = NonNull::new(old) {
            // SAFETY: pages in the list are alive and ours.
            unsafe { old.as_ref() }.prev.set(page.as_ptr());
        }
        head.set(page.as_ptr());
        p.in_avail.set(true);
    }

    /// Takes a page out of its class's `avail` list.
    ///
    /// # Safety
    /// Owner thread; the page is ours and in its list.
    unsafe fn unlink(&self, page: NonNull<Page>) {
        // SAFETY: per the caller.
        let p = unsafe { page.as_ref() };
        debug_assert!(p.in_avail.get());
        let (prev, next) = (p.prev.get(), p.next.get());
        match NonNull::new(prev) {
            // SAFETY: list neighbours are alive and ours.
            Some(prev) => unsafe { prev.as_ref() }.next.set(next),
            None => self.avail[p.class as usize].set(next),
        }
        if let Some(next) = NonNull::new(next) {
            // SAFETY: as above.
            unsafe { next.as_ref() }.prev.set(prev);
        }
        p.prev.set(ptr::null_mut());
        p.next.set(ptr::null_mut());
        p.in_avail.set(false);
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        debug_assert!(
            self.pages.get_mut().is_empty(),
            "the executor's drop hands every page to Shared (close)"
        );
    }
}

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arena")
            .field("pages", &self.pages.borrow().len())
            .field("allocated", &self.allocated.get())
            .field("live", &self.live.get())
            .finish()
    }
}

// === impl Page ===

impl Page {
    /// The index of `cell` in this page.
    fn index_of(&self, cell: NonNull<u8>) -> usize {
        let offset = cell.as_ptr().addr() - ptr::from_ref(self).addr() - self.cells_at as usize;
        let i = ((offset as u64 * self.magic) >> 32) as usize;
        debug_assert!(
            i < self.capacity as usize && offset == i * self.cell_size as usize,
            "a cell pointer off its page's grid"
        );
        i
    }
}

// === impl RemoteFrees ===

impl RemoteFrees {
    pub(crate) fn new() -> RemoteFrees {
        RemoteFrees {
            head: AtomicPtr::new(ptr::null_mut()),
            orphans: AtomicUsize::new(0),
            pages: Mutex::new(Vec::new()),
        }
    }

    /// Frees a dead cell from anywhere but the running owner: onto the stack, or, after
    /// close, off the orphan count.
    ///
    /// Takes `shared` as a raw pointer, not `&self`: the last orphan drops `Shared`, and with
    /// it these `RemoteFrees`, which a `&self` argument would assert to be alive until the
    /// function returns (Stacked Borrows protects argument references).
    ///
    /// # Safety
    /// `cell` is a dead cell of the arena whose `Shared` is `shared`; the caller gives up all
    /// access to it.
    unsafe fn push(shared: *const Shared, cell: NonNull<u8>) {
        // SAFETY: `Shared` outlives every allocated cell's page, and `cell` is still allocated
        // (I14). A local borrow, unused once `Shared` may be gone.
        let this = unsafe { &(*shared).frees };
        let mut head = this.head.load(Ordering::Acquire);
        loop {
            if head == CLOSED {
                if this.orphans.fetch_sub(1, Ordering::Release) == 1 {
                    // As in `Arc::drop`: every other thread's frees happen before the free.
                    fence(Ordering::Acquire);
                    // SAFETY: the strong count `Arena::close` set aside for the orphans; this
                    // was the last one (I14). Nothing touches `this` after this line.
                    drop(unsafe { Arc::from_raw(shared) });
                }
                return;
            }
            // SAFETY: the cell is dead and ours to write (caller); a word fits in any cell.
            unsafe { cell.cast::<*mut u8>().write(head) };
            match this.head.compare_exchange_weak(
                head,
                cell.as_ptr(),
                Ordering::Release,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }
}

impl Drop for RemoteFrees {
    fn drop(&mut self) {
        let pages = self.pages.get_mut().unwrap_or_else(PoisonError::into_inner);
        for page in pages.drain(..) {
            // SAFETY: `Shared` is being dropped, so no cell is allocated any more: whoever
            // freed the last one dropped the last strong count (I14).
            unsafe { dealloc_page(page.0) };
        }
    }
}

// === free functions ===

/// The page `cell` lies in (I13).
fn page_of(cell: NonNull<u8>) -> NonNull<Page> {
    cell.map_addr(|addr| {
        std::num::NonZeroUsize::new(addr.get() & !(PAGE - 1)).expect("a page is never at 0")
    })
    .cast()
}

/// The executor's `Shared` of a live task, found through its page (I13, I14).
///
/// # Safety
/// The caller holds or borrows a reference to `task` (I2); the returned borrow must not
/// outlive it.
pub(crate) unsafe fn shared_of<'a>(task: NonNull<Header>) -> &'a Shared {
    // SAFETY: a live task's page is alive (I13).
    let shared = unsafe { page_shared(page_of(task.cast())) };
    // SAFETY: `Shared` outlives every page (I14).
    unsafe { &*shared }
}

/// A page's `shared` field, read without making a reference to the page, whose `Cell`s
/// belong to the owner thread.
///
/// # Safety
/// The page is alive.
unsafe fn page_shared(page: NonNull<Page>) -> *const Shared {
    // SAFETY: `shared` is the first field of the #[repr(C)] `Page`, written before the page
    // was first used and never changed (I13); the page is alive (caller).
    unsafe { page.cast::<*const Shared>().read() }
}

/// Frees a dead task cell, on any thread (I15).
///
/// # Safety
/// The task's last reference is gone and its contents have been dropped (I2, I5); the cell
/// is never used again by the caller.
pub(crate) unsafe fn free(task: NonNull<Header>) {
    let cell = task.cast::<u8>();
    // SAFETY: the page is alive while this cell is allocated (I13).
    let shared = unsafe { page_shared(page_of(cell)) };
    let freed = context::with_core(|core| match core {
        Some(core) if core.arena.is_owner_of(shared) => {
            // SAFETY: I8: the owner thread with its executor entered, not closed; the cell
            // is dead (caller).
            unsafe { core.arena.free_in_page(cell) };
            true
        }
        _ => false,
    });
    if !freed {
        // SAFETY: the cell is dead (caller) and `shared` is its arena's `Shared` (I13).
        unsafe { RemoteFrees::push(shared, cell) };
    }
}

/// # Safety
/// `page` was allocated by `Arena::new_page` and nothing points into it any more.
unsafe fn dealloc_page(page: NonNull<Page>) {
    // SAFETY: the header is intact (only its Cells change), so `alloc_size` is the size the
    // page was allocated with.
    let size = unsafe { page.as_ref() }.alloc_size;
    let layout = Layout::from_size_align(size, PAGE).expect("the layout the page was made with");
    // SAFETY: allocated with exactly this layout in `new_page`; nothing points into it.
    unsafe { alloc::dealloc(page.as_ptr().cast(), layout) };
}
