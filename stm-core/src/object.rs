//! Object layout: the two header words every STM-managed object starts with.
//!
//! # Layout
//!
//! An object is a run of 8-byte words, all accessed as `AtomicU64`:
//!
//! ```text
//!  word 0  lock/version word ("orec")   read and CASed by the barriers
//!  word 1  meta word                    shape id | field count | GC flags
//!  word 2.. fields (u64 each)           guest data, read/written through barriers
//! ```
//!
//! **Lock/version word.** Bit 63 set means *locked*: bits 0..16 are then the
//! owning thread's slot number and the rest is zero, so each thread has one
//! "my lock" value and the write barrier's fast path is a single compare
//! against it. The one exception is bit 16 ([`FIELD_LOGGED`]), set for large
//! objects whose owner logs old values field by field instead of copying the
//! whole payload: the compare then fails on purpose and every write to such
//! an object takes the slow path, which logs the field before storing. Bit 63 clear means *unlocked*: bits 12..63 hold the commit
//! timestamp (version) of the last transaction that wrote the object, bits
//! 0..12 an *incarnation* counter bumped each time a writer aborts and releases
//! the object without changing its committed contents. The incarnation is what
//! makes the reader's "load header, load field, re-load header" check immune to
//! the ABA pattern *unlocked v → locked, speculative store → aborted, unlocked
//! v*: after the abort the word is `v+1`, not `v` (and when the 12-bit counter
//! would wrap the releaser takes a fresh timestamp from the clock instead).
//!
//! Because unlocked words are `version << 12 | inc` and locked words are
//! `>= 1 << 63`, the single unsigned comparison `word <= rv << 12 | 0xfff`
//! answers "unlocked *and* committed no later than my snapshot" — this is the
//! read barrier's one compare.
//!
//! **Meta word.** Bits 0..32: the shape id chosen by the interpreter (for byte
//! buffers: the length in bytes). Bits 32..56: the number of payload words.
//! Bits 56..64: flags for the allocator and collector ([`F_ALLOCATED`],
//! [`F_MARK`], [`F_BYTES`], [`F_LARGE`], [`F_HOST`]). The meta word is written only while
//! the object is private (allocation, sweeping) so barriers never need to
//! synchronise on it; field-count reads for bounds checks are plain relaxed
//! loads of an immutable value.
//!
//! All memory is touched through `AtomicU64`, never through plain `u64`
//! references, so the racy-but-validated reads of the TL2 protocol are not data
//! races in the Rust memory model (this is what keeps the crate Miri-clean in
//! principle; Miri itself cannot be installed on this machine, see README).

use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bit 63 of the lock/version word: the object is locked by a writer.
pub const LOCKED: u64 = 1 << 63;
/// Number of low bits of an unlocked lock/version word used by the incarnation counter.
pub const INC_BITS: u32 = 12;
/// Mask of the incarnation counter.
pub const INC_MASK: u64 = (1 << INC_BITS) - 1;
/// Mask of the owner slot in a locked lock/version word.
pub const OWNER_MASK: u64 = 0xffff;
/// Flag in a locked lock/version word: the owner keeps a per-field undo log
/// for this object (objects with more than [`FIELD_UNDO_MIN_FIELDS`] fields),
/// so every write must go through the slow path, which logs the old value.
pub const FIELD_LOGGED: u64 = 1 << 16;
/// Objects with more fields than this get a per-field undo log instead of a
/// copy of the whole payload on their first write in a transaction.
pub const FIELD_UNDO_MIN_FIELDS: usize = 32;
/// Number of header words before field 0.
pub const HEADER_WORDS: usize = 2;
/// Shift of the payload word count in the meta word.
pub const META_LEN_SHIFT: u32 = 32;
/// Mask (after shifting) of the payload word count in the meta word.
pub const META_LEN_MASK: u64 = 0xff_ffff;
/// Meta flag: the cell holds a live (allocated) object.
pub const F_ALLOCATED: u64 = 1 << 56;
/// Meta flag: marked by the current collection.
pub const F_MARK: u64 = 1 << 57;
/// Meta flag: the payload is raw bytes (never scanned for references).
pub const F_BYTES: u64 = 1 << 58;
/// Meta flag: the object was allocated outside the size-class chunks.
pub const F_LARGE: u64 = 1 << 59;
/// Meta flag: a *host object* (see [`crate::host`]): the payload is a value
/// owned by the interpreter, traced by its [`HostTracer`](crate::HostTracer)
/// and finalized before the cell is reused; never scanned conservatively.
pub const F_HOST: u64 = 1 << 60;
/// Largest number of fields (payload words) an object may have.
pub const MAX_FIELDS: usize = META_LEN_MASK as usize;

/// Encodes an unlocked lock/version word.
#[inline]
pub const fn version_word(version: u64, inc: u64) -> u64 {
    (version << INC_BITS) | (inc & INC_MASK)
}

/// A reference to an STM-managed object: the address of its header.
///
/// `ObjRef` is a plain address; it carries no lifetime. It is valid as long as
/// the object is reachable from the roots registered with the
/// [`Runtime`](crate::Runtime) (or was allocated by the current, still running
/// transaction). All access goes through a [`StmThread`](crate::StmThread).
///
/// # Validity
///
/// Like a pointer in a C runtime, keeping an `ObjRef` valid is the
/// interpreter's job (root everything it holds across transaction
/// boundaries); a guest program cannot forge one. Using a stale reference is
/// an interpreter bug with bounded effects for small objects — their chunks
/// are never returned to the system, so the access reads or writes a recycled
/// cell — but a reclaimed *large* object's memory has been freed, and using
/// an `ObjRef` of a dropped [`Runtime`](crate::Runtime) is undefined
/// behaviour. Field indices, on the other hand, are always checked.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[repr(transparent)]
pub struct ObjRef(NonNull<AtomicU64>);

// SAFETY: an ObjRef is an address; every dereference happens through the
// barriers on atomics, which are safe to perform from any thread.
unsafe impl Send for ObjRef {}
// SAFETY: as above.
unsafe impl Sync for ObjRef {}

impl ObjRef {
    /// The object's address as a `u64` (what guest fields store for references).
    #[inline]
    pub fn to_bits(self) -> u64 {
        self.0.as_ptr() as usize as u64
    }

    /// Rebuilds a reference from [`ObjRef::to_bits`]. Returns `None` for 0 or a
    /// misaligned value.
    ///
    /// # Safety
    /// `bits` must be the address of an object allocated by a runtime of this
    /// crate that has not been reclaimed (reachable from registered roots or
    /// allocated in the running transaction).
    #[inline]
    pub unsafe fn from_bits(bits: u64) -> Option<ObjRef> {
        if bits & 7 != 0 {
            return None;
        }
        NonNull::new(bits as usize as *mut AtomicU64).map(ObjRef)
    }

    #[inline]
    pub(crate) fn from_ptr(p: NonNull<AtomicU64>) -> ObjRef {
        ObjRef(p)
    }

    /// Address of the first payload word (word 2): where a host object's
    /// value lives (see [`crate::host`]).
    #[inline]
    pub fn payload(self) -> NonNull<u8> {
        // SAFETY: adding two words to a non-null object address stays inside
        // the object's allocation (every object has the two header words and
        // the payload follows them), so the result is non-null.
        unsafe { NonNull::new_unchecked(self.0.as_ptr().add(HEADER_WORDS) as *mut u8) }
    }

    /// The object whose payload starts at `p` (inverse of [`ObjRef::payload`]).
    ///
    /// # Safety
    /// `p` must be the payload address of an object of a live runtime.
    #[inline]
    pub unsafe fn from_payload(p: NonNull<u8>) -> ObjRef {
        // SAFETY: caller guarantees `p` is word 2 of an object, so two words
        // before it is the object's (non-null) header.
        ObjRef(unsafe { NonNull::new_unchecked((p.as_ptr() as *mut AtomicU64).sub(HEADER_WORDS)) })
    }

    /// Raw header pointer (for machine code).
    #[inline]
    pub fn as_ptr(self) -> *const AtomicU64 {
        self.0.as_ptr()
    }

    /// Word `i` of the object (0 = lock/version, 1 = meta, 2.. = fields).
    ///
    /// # Safety
    /// The object must be live and `i` within header + payload.
    #[inline]
    pub(crate) unsafe fn word<'a>(self, i: usize) -> &'a AtomicU64 {
        // SAFETY: caller guarantees the object is live and has at least i+1
        // words; AtomicU64 has the layout of u64 and object memory is only
        // ever accessed atomically.
        unsafe { &*self.0.as_ptr().add(i) }
    }

    /// The lock/version word.
    ///
    /// # Safety
    /// The object must be live.
    #[inline]
    pub(crate) unsafe fn lockword<'a>(self) -> &'a AtomicU64 {
        // SAFETY: every object has the header words.
        unsafe { self.word(0) }
    }

    /// The meta word's current value.
    ///
    /// # Safety
    /// The object must be live.
    #[inline]
    pub(crate) unsafe fn meta(self) -> u64 {
        // SAFETY: every object has the header words.
        unsafe { self.word(1).load(Ordering::Relaxed) }
    }

    /// Number of payload words.
    ///
    /// # Safety
    /// The object must be live.
    #[inline]
    pub(crate) unsafe fn len(self) -> usize {
        // SAFETY: forwarded contract.
        ((unsafe { self.meta() } >> META_LEN_SHIFT) & META_LEN_MASK) as usize
    }
}
