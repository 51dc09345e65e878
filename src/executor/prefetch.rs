//! A cache hint for the task behind a waker, for code outside this module that knows, some
//! time ahead, which tasks it is about to wake (the timers: see "Cache" in `time/timers.rs`).
//!
//! Waking a task reads its header and polling it reads its future; when tasks are woken in an
//! order unrelated to where they lie in memory (timers fire in deadline order), each of those
//! reads misses the cache, one after the other. A prefetch issued early enough lets those misses
//! overlap with each other and with other work.
use std::task::Waker;

use super::waker;

/// How many bytes from the start of a task to prefetch: the 32-byte header and the future,
/// the part that a wake, a poll and the completion of a small task touch. Measured on
/// `timers_virtual` (whose tasks hold a 48-byte `Sleep`) with the earlier 64-byte header:
/// 128 beat 64, the header alone, by some 7%.
#[cfg(target_arch = "x86_64")]
const SPAN: usize = 128;

/// The size of a cache line on x86_64.
#[cfg(target_arch = "x86_64")]
const LINE: usize = 64;

/// Whether `waker` wakes a greenloop task (of any executor).
pub(crate) fn is_task_waker(waker: &Waker) -> bool {
    waker::is_task_waker(waker)
}

/// Hints to the CPU that the task behind `waker` will be woken soon: on x86_64, prefetches
/// the cache lines holding its header and the start of its future into every cache level.
/// Does nothing for any other waker, or on other targets.
///
/// A hint only: it changes no state, and reads no memory architecturally.
#[inline]
pub(crate) fn prefetch_task(waker: &Waker) {
    if is_task_waker(waker) {
        prefetch_span(waker.data().cast::<u8>());
    }
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn prefetch_span(start: *const u8) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // Offsets 0, 64, ... and the span's last byte: one address in every line the span
    // overlaps, whatever the alignment of `start`.
    let mut offset = 0;
    while offset < SPAN {
        prefetch_line(start.wrapping_add(offset));
        offset += LINE;
    }
    prefetch_line(start.wrapping_add(SPAN - 1));

    #[inline(always)]
    fn prefetch_line(p: *const u8) {
        // SAFETY: a prefetch never faults and reads no memory architecturally, whatever the
        // address (here only computed, with `wrapping_add`, never dereferenced); SSE, which
        // provides it, is part of the x86_64 baseline.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) };
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn prefetch_span(_start: *const u8) {}
