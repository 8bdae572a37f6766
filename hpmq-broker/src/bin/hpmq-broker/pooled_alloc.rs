//! [`PooledAligned`]: the system allocator, except that small cache-line-aligned blocks come from free lists
//! of their own.
//!
//! tokio aligns every task cell and every socket's I/O registration to 128 bytes (x86-64, aarch64) so that
//! two of them never share a cache line. glibc's `malloc` serves such a request by allocating 128 bytes
//! more, returning the aligned middle and freeing the unaligned head and tail: odd-sized fragments between
//! the long-lived blocks of idle connections, which later requests of other sizes seldom fit. A broker
//! that accepts connections all day pays for them in resident memory: about 250 B per idle connection
//! measured with 10,000 connections (glibc's `malloc_info` showed thousands of free chunks of 270–400 B).
//!
//! Here a request with an alignment above 16 and at most [`MAX_ALIGN`], of at most [`MAX_SIZE`] bytes, is
//! rounded up to a multiple of [`MAX_ALIGN`] and served from that size class's free list, which is refilled
//! [`CHUNK`] bytes at a time from the system allocator. A freed block goes back to its list (never to the
//! system): the memory such blocks take is the most that were live at once, in blocks that fit the next
//! request of their class exactly. Every other request goes to [`System`] unchanged.
//!
//! This module belongs to the `hpmq-broker` binary, not to the library: a global allocator is the program's
//! choice, so a program that embeds the broker library keeps its own. The binary installs it with
//! `#[global_allocator] static ALLOC: PooledAligned = PooledAligned::new();`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr::{self, NonNull};
use std::sync::Mutex;

/// Largest alignment pooled (tokio's cache-line padding); every pooled block is aligned to it.
pub const MAX_ALIGN: usize = 128;
/// Largest pooled request, in bytes; larger aligned requests go to the system allocator.
pub const MAX_SIZE: usize = 4096;
/// Bytes taken from the system allocator when a size class runs out of blocks.
pub const CHUNK: usize = 16 * 1024;
const CLASSES: usize = MAX_SIZE / MAX_ALIGN;

/// A global allocator that pools small over-aligned blocks (see the module documentation). Meant for a
/// `static` (`#[global_allocator]`): its chunks are never freed, so another instance leaks them when dropped.
pub struct PooledAligned {
    classes: [Mutex<FreeList>; CLASSES],
}

/// The free blocks of one size class, linked through their first word.
struct FreeList {
    head: Option<NonNull<u8>>,
}

// SAFETY: the list owns the free blocks it links; they are only touched under the mutex.
unsafe impl Send for FreeList {}

impl PooledAligned {
    /// The allocator, with empty free lists.
    pub const fn new() -> Self {
        PooledAligned {
            classes: [const { Mutex::new(FreeList { head: None }) }; CLASSES],
        }
    }

    /// The size class that serves `layout`, if it is pooled.
    fn class(layout: Layout) -> Option<usize> {
        if layout.align() <= 16 || layout.align() > MAX_ALIGN || layout.size() > MAX_SIZE {
            return None;
        }
        Some(layout.size().max(1).div_ceil(MAX_ALIGN) - 1)
    }

    /// Takes a block of class `class` (`(class + 1) * MAX_ALIGN` bytes, aligned to `MAX_ALIGN`).
    fn take(&self, class: usize) -> *mut u8 {
        let Some(list) = self.classes.get(class) else {
            return ptr::null_mut();
        };
        let mut list = list.lock().unwrap_or_else(|e| e.into_inner());
        if list.head.is_none() {
            let block = (class + 1) * MAX_ALIGN;
            let Ok(chunk_layout) = Layout::from_size_align(CHUNK.max(block), MAX_ALIGN) else {
                return ptr::null_mut();
            };
            // SAFETY: the layout has a non-zero size.
            let chunk = unsafe { System.alloc(chunk_layout) };
            if chunk.is_null() {
                return ptr::null_mut();
            }
            // Link the chunk's blocks, the first one last so that it is handed out first.
            for i in (0..chunk_layout.size() / block).rev() {
                // SAFETY: `i * block + block <= chunk_layout.size()`: the block is inside the chunk, and
                // MAX_ALIGN-aligned, so a pointer-sized write at its start is in bounds and aligned.
                unsafe {
                    let at = chunk.add(i * block);
                    at.cast::<Option<NonNull<u8>>>().write(list.head);
                    list.head = NonNull::new(at);
                }
            }
        }
        match list.head {
            Some(block) => {
                // SAFETY: a block on the list is free, and its first word links the next one.
                list.head = unsafe { block.as_ptr().cast::<Option<NonNull<u8>>>().read() };
                block.as_ptr()
            }
            None => ptr::null_mut(),
        }
    }

    /// Puts `block` back on the list of class `class`.
    ///
    /// # Safety
    /// `block` came from [`take`](Self::take) with the same `class` and is no longer used.
    unsafe fn give(&self, class: usize, block: *mut u8) {
        let Some(list) = self.classes.get(class) else {
            return;
        };
        let mut list = list.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the block is free, at least MAX_ALIGN bytes and aligned (the caller's contract).
        unsafe { block.cast::<Option<NonNull<u8>>>().write(list.head) };
        list.head = NonNull::new(block);
    }
}

impl Default for PooledAligned {
    fn default() -> Self {
        PooledAligned::new()
    }
}

// SAFETY: pooled blocks are at least as large and as aligned as the layout asks (size rounded up to a
// multiple of MAX_ALIGN >= the layout's alignment), are handed to one owner at a time, and go back to the
// list of the class their layout maps to; everything else is the system allocator's.
unsafe impl GlobalAlloc for PooledAligned {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match Self::class(layout) {
            Some(class) => self.take(class),
            // SAFETY: the caller's contract for `layout`.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match Self::class(layout) {
            Some(class) => {
                let block = self.take(class);
                if !block.is_null() {
                    // SAFETY: the block holds at least `layout.size()` bytes.
                    unsafe { block.write_bytes(0, layout.size()) };
                }
                block
            }
            // SAFETY: the caller's contract for `layout`.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match Self::class(layout) {
            // SAFETY: `ptr` was allocated with `layout`, which maps to this class.
            Some(class) => unsafe { self.give(class, ptr) },
            // SAFETY: `ptr` came from the system allocator with `layout`.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return ptr::null_mut();
        };
        match (Self::class(layout), Self::class(new_layout)) {
            (None, None) => {
                // SAFETY: both layouts are the system allocator's; the caller's contract for the rest.
                return unsafe { System.realloc(ptr, layout, new_size) };
            }
            // The block already holds the class's size.
            (Some(old), Some(new)) if old == new => return ptr,
            _ => {}
        }
        // SAFETY: `new_layout` is valid and non-zero-sized (the caller's contract for `new_size`).
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks hold at least the smaller size and do not overlap; `ptr` was allocated
            // with `layout`.
            unsafe {
                ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn pooled_blocks_are_aligned_sized_and_reused() {
        let a = PooledAligned::new();
        for (size, align) in [(256, 128), (384, 128), (1, 32), (640, 64), (4096, 128)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            assert!(PooledAligned::class(layout).is_some());
            // SAFETY: non-zero layout; the blocks are written within `size` and freed with their layout.
            unsafe {
                let p = a.alloc(layout);
                assert!(!p.is_null());
                assert_eq!(p as usize % MAX_ALIGN, 0, "{size}/{align}");
                p.write_bytes(0xA5, size);
                let q = a.alloc(layout);
                assert_ne!(p, q);
                q.write_bytes(0x5A, size);
                assert_eq!(*p.add(size - 1), 0xA5, "blocks of one class do not overlap");
                a.dealloc(p, layout);
                assert_eq!(a.alloc(layout), p, "a freed block is the next one handed out");
                a.dealloc(p, layout);
                a.dealloc(q, layout);
            }
        }
    }

    #[test]
    fn other_requests_go_to_the_system_allocator() {
        for (size, align) in [(256, 8), (256, 16), (8192, 128), (64, 4096)] {
            assert!(PooledAligned::class(Layout::from_size_align(size, align).unwrap()).is_none());
        }
        let a = PooledAligned::new();
        let layout = Layout::from_size_align(100, 8).unwrap();
        // SAFETY: non-zero layout, freed with it.
        unsafe {
            let p = a.alloc_zeroed(layout);
            assert!((0..100).all(|i| *p.add(i) == 0));
            let p = a.realloc(p, layout, 300);
            assert!(!p.is_null());
            a.dealloc(p, Layout::from_size_align(300, 8).unwrap());
        }
    }

    #[test]
    fn realloc_moves_between_classes_and_keeps_the_contents() {
        let a = PooledAligned::new();
        let small = Layout::from_size_align(200, 128).unwrap();
        // SAFETY: non-zero layouts; each block is freed with the layout it has then.
        unsafe {
            let p = a.alloc(small);
            for i in 0..200 {
                *p.add(i) = i as u8;
            }
            assert_eq!(a.realloc(p, small, 256), p, "the same class keeps the block");
            let p = a.realloc(p, Layout::from_size_align(256, 128).unwrap(), 1000);
            assert_eq!(p as usize % MAX_ALIGN, 0);
            assert!((0..200).all(|i| *p.add(i) == i as u8));
            let big = Layout::from_size_align(1000, 128).unwrap();
            let p = a.realloc(p, big, 9000);
            assert!((0..200).all(|i| *p.add(i) == i as u8));
            a.dealloc(p, Layout::from_size_align(9000, 128).unwrap());
        }
    }

    #[test]
    fn threads_share_the_pool_without_losing_blocks() {
        let a = std::sync::Arc::new(PooledAligned::new());
        let layout = Layout::from_size_align(256, 128).unwrap();
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let a = std::sync::Arc::clone(&a);
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        // SAFETY: non-zero layout; every block is written in bounds, checked and freed once.
                        unsafe {
                            let blocks: Vec<*mut u8> = (0..50).map(|_| a.alloc(layout)).collect();
                            for b in &blocks {
                                b.write_bytes(t, 256);
                            }
                            for b in &blocks {
                                assert!((0..256).all(|i| *b.add(i) == t), "a block was handed out twice");
                                a.dealloc(*b, layout);
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
