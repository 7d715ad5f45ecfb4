//! A global allocator wrapper that counts the bytes allocated, for
//! `used_memory` and the maxmemory check (Redis's zmalloc counter).
//!
//! Every allocation adds its usable size (what the allocator really
//! reserved, as Redis counts it) to a per-thread counter, which is folded
//! into one shared atomic whenever it drifts more than [`FLUSH`] bytes
//! from zero. So the shared total is off by at most `FLUSH` bytes per
//! thread (tens of KiB for the server's threads), reading it is
//! one atomic load, and allocating costs no shared-cache-line write in
//! the common case. The calling thread can also read its own exact net
//! count ([`thread_net`]) to measure what an eviction freed.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// Per-thread drift folded into the shared total past this many bytes.
pub const FLUSH: i64 = 4 * 1024;

static TOTAL: AtomicI64 = AtomicI64::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Bytes allocated by this thread not yet folded into TOTAL.
    static PENDING: Cell<i64> = const { Cell::new(0) };
    /// This thread's net allocation since it started (never folded).
    static NET: Cell<i64> = const { Cell::new(0) };
}

#[inline]
fn account(delta: i64) {
    // `try_with`: during thread teardown the slots may be gone; then
    // count straight into the total.
    let folded = PENDING.try_with(|p| {
        let v = p.get() + delta;
        if !(-FLUSH..=FLUSH).contains(&v) {
            TOTAL.fetch_add(v, Ordering::Relaxed);
            p.set(0);
        } else {
            p.set(v);
        }
    });
    if folded.is_err() {
        TOTAL.fetch_add(delta, Ordering::Relaxed);
    }
    let _ = NET.try_with(|n| n.set(n.get() + delta));
}

/// The inner allocator's idea of a block's real size.
pub trait UsableSize {
    /// # Safety
    /// `ptr` must be a live block of this allocator.
    unsafe fn usable_size(&self, ptr: *mut u8, layout: Layout) -> usize;
}

#[cfg(not(target_env = "msvc"))]
impl UsableSize for tikv_jemallocator::Jemalloc {
    #[inline]
    unsafe fn usable_size(&self, ptr: *mut u8, _layout: Layout) -> usize {
        // SAFETY: the caller passes a live jemalloc block.
        unsafe { tikv_jemallocator::usable_size(ptr) }
    }
}

impl UsableSize for std::alloc::System {
    #[inline]
    unsafe fn usable_size(&self, _ptr: *mut u8, layout: Layout) -> usize {
        layout.size()
    }
}

/// Wraps allocator `A`, counting what it hands out.
pub struct Counting<A>(pub A);

// SAFETY: every method forwards to `A` unchanged (same pointers, layouts
// and results); the counting only reads the blocks' sizes.
unsafe impl<A: GlobalAlloc + UsableSize> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.0.alloc(layout) };
        if !p.is_null() {
            // SAFETY: `p` is a live block just returned by `A`.
            account(unsafe { self.0.usable_size(p, layout) } as i64);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.0.alloc_zeroed(layout) };
        if !p.is_null() {
            // SAFETY: as in `alloc`.
            account(unsafe { self.0.usable_size(p, layout) } as i64);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a live block of ours, so of `A`.
        account(-(unsafe { self.0.usable_size(ptr, layout) } as i64));
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller passes a live block of ours.
        let old = unsafe { self.0.usable_size(ptr, layout) } as i64;
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.0.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // SAFETY: `p` is the live resized block; its layout has the
            // old alignment and the new size.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            // SAFETY: as above.
            account(unsafe { self.0.usable_size(p, new_layout) } as i64 - old);
        }
        p
    }
}

/// Declares that `Counting` is the global allocator (called by `main`).
pub fn set_installed() {
    INSTALLED.store(true, Ordering::Relaxed);
}

/// Bytes allocated by the whole process (within `FLUSH` per thread), or
/// None when the counting allocator is not the global one.
#[inline]
pub fn used() -> Option<u64> {
    if !INSTALLED.load(Ordering::Relaxed) {
        return None;
    }
    let pending = PENDING.try_with(Cell::get).unwrap_or(0);
    Some((TOTAL.load(Ordering::Relaxed) + pending).max(0) as u64)
}

/// Folds this thread's pending count into the total. Threads that end
/// call it last, so their pending bytes are not lost (a thread-local
/// destructor would have to register itself, which allocates).
pub fn flush_thread() {
    let _ = PENDING.try_with(|p| {
        TOTAL.fetch_add(p.replace(0), Ordering::Relaxed);
    });
}

/// This thread's exact net allocation so far: the difference of two
/// readings is what the thread allocated (or, negative, freed) between.
#[inline]
pub fn thread_net() -> i64 {
    NET.try_with(Cell::get).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_thread_and_folds() {
        // The library tests do not install the wrapper, so drive the
        // accounting directly.
        let before_total = TOTAL.load(Ordering::Relaxed);
        let before_net = thread_net();
        account(100);
        account(-40);
        assert_eq!(thread_net() - before_net, 60);
        // Below FLUSH nothing reached the total.
        assert_eq!(TOTAL.load(Ordering::Relaxed), before_total);
        account(FLUSH);
        assert_eq!(TOTAL.load(Ordering::Relaxed), before_total + FLUSH + 60);
        assert_eq!(PENDING.with(Cell::get), 0);
        account(-FLUSH - 60);
        assert_eq!(TOTAL.load(Ordering::Relaxed), before_total);
        assert_eq!(thread_net(), before_net);
    }

    #[test]
    fn wrapper_forwards_and_counts() {
        let a = Counting(std::alloc::System);
        let before = thread_net();
        let layout = Layout::from_size_align(100, 8).unwrap();
        // SAFETY: a valid non-zero layout; the block is freed below with
        // the layout it has then.
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            assert_eq!(thread_net() - before, 100);
            let p = a.realloc(p, layout, 300);
            assert!(!p.is_null());
            assert_eq!(thread_net() - before, 300);
            a.dealloc(p, Layout::from_size_align(300, 8).unwrap());
        }
        assert_eq!(thread_net(), before);
    }
}
