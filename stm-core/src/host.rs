//! Host objects: guest objects whose payload is a value of the interpreter's
//! own language, living in this crate's heap and collected by its collector.
//!
//! # Why
//!
//! An interpreter's objects are rarely just rows of 8-byte words: a Lua table
//! owns a growable array part and a hash part, a string owns its bytes, a
//! closure owns a reference-counted prototype. Forcing every such object into
//! the word-object model of [`crate::object`] on day one would mean rewriting
//! the interpreter's data structures before any of them needs a transaction;
//! leaving them to the system allocator would mean a second memory manager
//! that the STM work would later have to replace. Host objects are the middle
//! road, the one the rest of this crate's heap is built for:
//!
//! * **one allocator**: a host object is a cell of the per-thread size-class
//!   heap ([`StmThread::alloc_host`](crate::StmThread::alloc_host)), with the
//!   usual two header words (flag [`F_HOST`](crate::object::F_HOST), shape id
//!   chosen by the interpreter) followed by the interpreter's value, written in
//!   place; it is cheaper than `malloc` (a free-list pop or a bump) and needs
//!   no per-object bookkeeping list;
//! * **one collector**: the same safepoint mark-sweep that collects word
//!   objects, with *precise* tracing supplied by the interpreter through
//!   [`HostTracer`]: it reports its roots, the references each host object
//!   holds (by shape), drops weak references to dead objects (an intern
//!   table), and runs each dead object's destructor before its cell is
//!   reused. Memory a host object owns outside the heap (a table's parts) is
//!   reported by `trace` and by
//!   [`StmThread::note_external_alloc`](crate::StmThread::note_external_alloc),
//!   so the allocation-volume trigger and the `2 × live` threshold see it.
//!
//! # What host objects are not (yet)
//!
//! Their payload is not versioned: reads and writes are plain Rust accesses by
//! the owning thread, not barriers. That is exactly right for an interpreter
//! with one guest thread (the Lua interpreter in interp-example), and it is
//! the step before giving guest threads transactional access, where the
//! payload's mutable parts move into word objects behind the barriers of
//! [`crate::abi`]. Rules that follow:
//!
//! * allocate host objects only inside a transaction (the thread is then
//!   *active*, so no collection can sweep its heap concurrently); a long-lived
//!   single-threaded interpreter simply keeps one transaction open and ends it
//!   around [`StmThread::collect_with`](crate::StmThread::collect_with);
//! * never pass a host object to `read`/`write`: they would read the host's
//!   bytes as words (memory-safe, since all heap accesses are atomics, but
//!   meaningless);
//! * a collection that runs *without* a tracer (an automatic one started by
//!   another thread's allocation volume) cannot see inside host objects, so it
//!   keeps every host object, and word objects reachable only through a host
//!   object are not kept: host payloads may refer to word objects only if the
//!   interpreter also roots them (or all collections go through
//!   `collect_with`);
//! * a host object allocated by a transaction that aborts is not freed at once
//!   (the interpreter may already hold it in Rust state that survives the
//!   retry); the next traced collection finalizes it if it is unreachable.

use crate::object::{ObjRef, F_MARK};
use std::sync::atomic::Ordering;

/// The interpreter's side of a traced collection (see the module essay).
///
/// All methods run at the global safepoint, on the thread that called
/// [`StmThread::collect_with`](crate::StmThread::collect_with), while no
/// transaction runs anywhere.
pub trait HostTracer {
    /// Reports every reference the interpreter holds outside the heap (VM
    /// stack, globals, frames...).
    fn roots(&mut self, marker: &mut HostMarker<'_>);

    /// Reports the references held by host object `obj` of shape `shape`
    /// (each host object is traced once per collection). Returns the number
    /// of bytes of memory the object owns outside the heap (its share of the
    /// live size that sets the next collection's threshold).
    fn trace(&mut self, obj: ObjRef, shape: u32, marker: &mut HostMarker<'_>) -> usize;

    /// Called once after marking and before any cell is reused: drop weak
    /// references to objects for which `is_marked` says `false`.
    fn weak(&mut self, is_marked: &dyn Fn(ObjRef) -> bool) {
        let _ = is_marked;
    }

    /// Called for each unreachable host object before its cell is reused:
    /// run the payload's destructor. The object must not be touched again.
    fn finalize(&mut self, obj: ObjRef, shape: u32);
}

/// Marks objects reachable from a root or a traced host object.
pub struct HostMarker<'a> {
    pub(crate) stack: &'a mut Vec<ObjRef>,
}

impl HostMarker<'_> {
    /// Marks `obj` live; if this is its first mark in the collection, it is
    /// queued for tracing (host objects through [`HostTracer::trace`], word
    /// objects by scanning their fields).
    #[inline]
    pub fn mark(&mut self, obj: ObjRef) {
        // SAFETY: an ObjRef the interpreter holds is live (ObjRef contract),
        // and the collector owns every heap at the safepoint, so the meta
        // word may be updated without synchronisation.
        let w = unsafe { obj.word(1) };
        let m = w.load(Ordering::Relaxed);
        if m & F_MARK == 0 {
            w.store(m | F_MARK, Ordering::Relaxed);
            self.stack.push(obj);
        }
    }
}
