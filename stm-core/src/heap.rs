//! The per-thread allocator and the mark-sweep collector's per-heap parts.
//!
//! # Allocation
//!
//! Every registered thread slot owns a [`ThreadHeap`]: segregated size classes
//! of 2..=64 words (header included), each served from 32 KiB chunks aligned to
//! their size so that "which chunk holds address `a`" is `a & !(32K-1)`. A size
//! class allocates from its intrusive free list (the link lives in word 0 of a
//! free cell) or, when that is empty, by bumping through its current chunk.
//! Objects above 64 words are *large*: one `std::alloc` allocation each,
//! remembered in a list. There is no lock and no shared write on this path:
//! the only cross-thread effect of allocating is a per-thread byte counter that
//! is flushed into the runtime's global "allocated since last GC" counter every
//! 256 KiB.
//!
//! Chunks are never returned to the system allocator, only recycled through
//! the free lists. That keeps every address that was ever an object readable
//! as atomics for the lifetime of the runtime, which bounds the damage of a
//! stale reference to "reads garbage" instead of "touches unmapped memory".
//! Large objects are freed for real by the sweeper.
//!
//! # Freeing on abort
//!
//! Objects allocated by a transaction are locked by it from birth (their lock
//! word is the owner's lock value), so no other transaction can read them
//! before commit and an abort can put them straight back on the free list.
//!
//! # Collection
//!
//! The collector (in `runtime.rs`) runs only when every thread is outside a
//! transaction, so it owns every `ThreadHeap` exclusively. It builds an index
//! of chunk bases and large objects, marks from the roots (treating each field
//! of a non-byte object as a reference iff its value is the exact address of
//! an allocated object — precise for pointers stored untagged, conservative for
//! integers that happen to collide), then [`ThreadHeap::sweep`] rebuilds every
//! free list from the unmarked cells.

use crate::object::*;
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::collections::{HashMap, HashSet};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes per chunk (also its alignment).
pub(crate) const CHUNK_BYTES: usize = 32 * 1024;
/// Largest cell size in words served by the size classes.
pub(crate) const MAX_SMALL_WORDS: usize = 64;

struct Chunk {
    base: NonNull<u8>,
    cell_words: usize,
    used: usize,
    capacity: usize,
}

struct Large {
    ptr: NonNull<u8>,
    words: usize,
}

/// One thread slot's heap: size-class chunks, free lists and large objects.
pub(crate) struct ThreadHeap {
    chunks: Vec<Chunk>,
    current: [usize; MAX_SMALL_WORDS + 1],
    free: [usize; MAX_SMALL_WORDS + 1],
    large: Vec<Large>,
    /// Bytes allocated since the last flush into the global counter.
    pub(crate) unflushed: usize,
}

// SAFETY: ThreadHeap owns the memory its raw pointers point to; moving the
// owner between threads is fine (access is serialised by the runtime's
// safepoint protocol, see runtime.rs).
unsafe impl Send for ThreadHeap {}

const NO_CHUNK: usize = usize::MAX;

impl ThreadHeap {
    pub(crate) fn new() -> ThreadHeap {
        ThreadHeap {
            chunks: Vec::new(),
            current: [NO_CHUNK; MAX_SMALL_WORDS + 1],
            free: [0; MAX_SMALL_WORDS + 1],
            large: Vec::new(),
            unflushed: 0,
        }
    }

    /// Total bytes of chunk and large-object memory owned by this heap.
    pub(crate) fn footprint(&self) -> usize {
        self.chunks.len() * CHUNK_BYTES + self.large.iter().map(|l| l.words * 8).sum::<usize>()
    }

    /// Allocates a cell of `words` words (header included), writes its header
    /// and, with `zero`, zeroes its payload (host objects are initialised by
    /// their owner instead). Returns `None` when the system allocator fails.
    pub(crate) fn alloc(
        &mut self,
        words: usize,
        meta: u64,
        lockword: u64,
        zero: bool,
    ) -> Option<ObjRef> {
        let obj = if words <= MAX_SMALL_WORDS {
            self.alloc_small(words)?
        } else {
            self.alloc_large(words)?
        };
        let large = if words > MAX_SMALL_WORDS { F_LARGE } else { 0 };
        // SAFETY: the cell has `words` words and is private to this thread
        // until the owning transaction commits.
        unsafe {
            obj.word(0).store(lockword, Ordering::Relaxed);
            obj.word(1)
                .store(meta | F_ALLOCATED | large, Ordering::Relaxed);
            if zero {
                for i in HEADER_WORDS..words {
                    obj.word(i).store(0, Ordering::Relaxed);
                }
            }
        }
        self.unflushed += words * 8;
        Some(obj)
    }

    fn alloc_small(&mut self, words: usize) -> Option<ObjRef> {
        let head = self.free[words];
        if head != 0 {
            let obj = ObjRef::from_ptr(NonNull::new(head as *mut AtomicU64)?);
            // SAFETY: free cells are owned by this heap; word 0 holds the link.
            self.free[words] = unsafe { obj.word(0).load(Ordering::Relaxed) } as usize;
            return Some(obj);
        }
        let mut ci = self.current[words];
        if ci == NO_CHUNK || self.chunks[ci].used == self.chunks[ci].capacity {
            let layout = Layout::from_size_align(CHUNK_BYTES, CHUNK_BYTES).ok()?;
            // SAFETY: layout has non-zero size.
            let base = NonNull::new(unsafe { alloc_zeroed(layout) })?;
            self.chunks.push(Chunk {
                base,
                cell_words: words,
                used: 0,
                capacity: CHUNK_BYTES / (words * 8),
            });
            ci = self.chunks.len() - 1;
            self.current[words] = ci;
        }
        let c = &mut self.chunks[ci];
        // SAFETY: used < capacity, so the cell lies inside the chunk.
        let p = unsafe { c.base.as_ptr().add(c.used * words * 8) } as *mut AtomicU64;
        c.used += 1;
        NonNull::new(p).map(ObjRef::from_ptr)
    }

    fn alloc_large(&mut self, words: usize) -> Option<ObjRef> {
        let layout = Layout::from_size_align(words.checked_mul(8)?, 16).ok()?;
        // SAFETY: layout has non-zero size (words > MAX_SMALL_WORDS).
        let ptr = NonNull::new(unsafe { alloc_zeroed(layout) })?;
        self.large.push(Large { ptr, words });
        Some(ObjRef::from_ptr(ptr.cast()))
    }

    /// Returns an object allocated by an aborted transaction.
    ///
    /// # Safety
    /// `obj` was allocated from this heap and is unreachable.
    pub(crate) unsafe fn free_now(&mut self, obj: ObjRef) {
        // SAFETY: caller guarantees obj is a cell of this heap.
        let meta = unsafe { obj.meta() };
        if meta & F_LARGE != 0 {
            if let Some(pos) = self
                .large
                .iter()
                .position(|l| std::ptr::eq(l.ptr.as_ptr() as *const AtomicU64, obj.as_ptr()))
            {
                let l = self.large.swap_remove(pos);
                // SAFETY: allocated in alloc_large with this layout.
                unsafe {
                    dealloc(
                        l.ptr.as_ptr(),
                        Layout::from_size_align_unchecked(l.words * 8, 16),
                    )
                };
            }
            return;
        }
        // SAFETY: small cell of this heap.
        let words = unsafe { obj.len() } + HEADER_WORDS;
        // SAFETY: as above.
        unsafe {
            obj.word(1).store(0, Ordering::Relaxed);
            obj.word(0)
                .store(self.free[words] as u64, Ordering::Relaxed);
        }
        self.free[words] = obj.as_ptr() as usize;
    }

    /// Adds this heap's chunks and large objects to the collector's index.
    pub(crate) fn index(&self, idx: &mut HeapIndex) {
        for c in &self.chunks {
            idx.chunks
                .insert(c.base.as_ptr() as usize, (c.cell_words * 8, c.used));
        }
        for l in &self.large {
            idx.large.insert(l.ptr.as_ptr() as usize);
        }
    }

    /// Frees every unmarked object, clears marks, rebuilds the free lists.
    /// Returns the bytes still live.
    ///
    /// Host objects (`F_HOST`): with `finalize`, an unmarked one is passed to
    /// it (its owner drops the payload) before its cell is reused; without
    /// (a collection nobody traced host objects for) every host object is
    /// kept.
    ///
    /// # Safety
    /// Must run at a global safepoint after marking.
    pub(crate) unsafe fn sweep(
        &mut self,
        mut finalize: Option<&mut dyn FnMut(ObjRef, u32)>,
    ) -> usize {
        let keep_hosts = finalize.is_none();
        let mut dead_host = |obj: ObjRef, meta: u64| {
            if meta & (F_ALLOCATED | F_HOST) == F_ALLOCATED | F_HOST {
                if let Some(f) = finalize.as_mut() {
                    f(obj, (meta & 0xffff_ffff) as u32);
                }
            }
        };
        let mut live = 0;
        self.free = [0; MAX_SMALL_WORDS + 1];
        for c in &self.chunks {
            for i in 0..c.used {
                // SAFETY: i < used <= capacity.
                let p = unsafe { c.base.as_ptr().add(i * c.cell_words * 8) } as *mut AtomicU64;
                let obj = ObjRef::from_ptr(NonNull::new(p).expect("chunk cell"));
                // SAFETY: cells are readable for the chunk's lifetime.
                let meta = unsafe { obj.meta() };
                let keep = meta & F_MARK != 0 || (keep_hosts && meta & F_HOST != 0);
                if meta & F_ALLOCATED != 0 && keep {
                    // SAFETY: as above.
                    unsafe { obj.word(1).store(meta & !F_MARK, Ordering::Relaxed) };
                    live += c.cell_words * 8;
                } else {
                    dead_host(obj, meta);
                    // SAFETY: as above; the cell is garbage or already free.
                    unsafe {
                        obj.word(1).store(0, Ordering::Relaxed);
                        obj.word(0)
                            .store(self.free[c.cell_words] as u64, Ordering::Relaxed);
                    }
                    self.free[c.cell_words] = p as usize;
                }
            }
        }
        self.large.retain(|l| {
            let obj = ObjRef::from_ptr(l.ptr.cast());
            // SAFETY: large objects are live allocations until freed here.
            let meta = unsafe { obj.meta() };
            if meta & F_MARK != 0 || (keep_hosts && meta & F_HOST != 0) {
                // SAFETY: as above.
                unsafe { obj.word(1).store(meta & !F_MARK, Ordering::Relaxed) };
                live += l.words * 8;
                true
            } else {
                dead_host(obj, meta);
                // SAFETY: allocated in alloc_large with this layout; unmarked
                // means unreachable.
                unsafe {
                    dealloc(
                        l.ptr.as_ptr(),
                        Layout::from_size_align_unchecked(l.words * 8, 16),
                    )
                };
                false
            }
        });
        live
    }
}

impl Drop for ThreadHeap {
    fn drop(&mut self) {
        for c in &self.chunks {
            // SAFETY: allocated in alloc_small with this layout.
            unsafe {
                dealloc(
                    c.base.as_ptr(),
                    Layout::from_size_align_unchecked(CHUNK_BYTES, CHUNK_BYTES),
                )
            };
        }
        for l in &self.large {
            // SAFETY: allocated in alloc_large with this layout.
            unsafe {
                dealloc(
                    l.ptr.as_ptr(),
                    Layout::from_size_align_unchecked(l.words * 8, 16),
                )
            };
        }
    }
}

/// The collector's view of all heaps: which addresses are objects.
#[derive(Default)]
pub(crate) struct HeapIndex {
    chunks: HashMap<usize, (usize, usize)>,
    large: HashSet<usize>,
}

impl HeapIndex {
    /// Returns the object at address `v` if `v` is exactly the header address
    /// of an allocated object.
    pub(crate) fn lookup(&self, v: u64) -> Option<ObjRef> {
        if v == 0 || v & 7 != 0 {
            return None;
        }
        let a = v as usize;
        let base = a & !(CHUNK_BYTES - 1);
        let ok = if let Some(&(cell_bytes, used)) = self.chunks.get(&base) {
            let off = a - base;
            off.is_multiple_of(cell_bytes) && off / cell_bytes < used
        } else {
            self.large.contains(&a)
        };
        if !ok {
            return None;
        }
        // SAFETY: `a` is a cell start inside an indexed chunk or a large
        // object, hence readable.
        let obj = unsafe { ObjRef::from_bits(v) }?;
        // SAFETY: as above.
        if unsafe { obj.meta() } & F_ALLOCATED != 0 {
            Some(obj)
        } else {
            None
        }
    }
}
