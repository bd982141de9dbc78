//! The guest heap: the ONE place where Lua objects are allocated and freed.
//!
//! Every guest object (strings, tables, Lua closures, native closures,
//! upvalues) is created through [`Heap`]'s `alloc_*`/`intern` functions and
//! referred to by a [`Gc<T>`] handle; collection is requested through
//! [`Heap::should_collect`] / [`Heap::collect`] with a root-marking callback.
//! Nothing else in `lua/` allocates or frees guest objects.
//!
//! The memory manager behind this interface is stm-core's: each object is a
//! *host object* of stm-core's heap (see `stm_core::host`): a cell of the
//! per-thread size-class allocator whose two header words (lock/version,
//! meta with the shape id below and the collector's mark bit) are followed
//! by the Rust value, written in place. A [`Gc<T>`] points straight at that
//! value, so dereferencing a handle costs what a `Box` did, and the JIT sees a
//! plain, stable address (the heap is non-moving).
//!
//! Collection is stm-core's safepoint mark-sweep, traced precisely by this
//! module's [`HostTracer`]: the VM's roots (given to [`Heap::collect`]), then
//! per shape the references each object holds (a table's metatable, array
//! and hash parts; a closure's upvalues and its prototype's constants...).
//! The intern set of strings is weak: `weak` drops dead strings from it
//! before `finalize` runs their destructors. Collection is triggered by
//! allocation volume as stm-core counts it: object cells, plus memory objects
//! own outside the heap (table parts, string bytes), reported at allocation
//! and through [`Heap::note_growth`]; the threshold is twice the live size
//! after a collection, with a 4 MiB floor.
//!
//! Allocating a host object needs a running stm-core transaction (that is
//! what keeps another thread's collector out of this thread's heap). The Lua
//! interpreter has a single guest thread and does not use barriers yet, so the
//! heap keeps one transaction open for its whole life and ends it only around
//! a collection — which the VM requests at safe points, where every live
//! guest value is reachable from the roots, never from inside a library
//! function that may hold handles in Rust locals.
//!
//! Strings are all interned (short and long): equal strings are the same
//! object, so string equality and table lookup by string are pointer
//! comparisons; the content hash is cached in the string.

use super::value::{LClosure, LStr, NClosure, Proto, Table, UpVal, Value};
use std::hash::Hasher;
use std::ptr::NonNull;
use stm_core::{Config, HostMarker, HostTracer, ObjRef, Runtime, StmThread};

/// What the interpreter unwinds with when the system allocator refuses a
/// growth request (a table part, a constructor's items): [`Vm::call`]
/// catches it and raises Lua's `not enough memory` error, which `pcall`
/// can catch, as lua5.4 does. Growth paths reserve before they mutate, so
/// the object that failed to grow is left as it was. (A failure inside a
/// helper called from compiled code cannot unwind through the machine
/// code: the process stops with Rust's allocation-failure message there.)
///
/// [`Vm::call`]: super::vm::Vm::call
pub struct NoMemory;

/// Reports an allocation failure (see [`NoMemory`]).
#[cold]
#[inline(never)]
pub fn no_memory() -> ! {
    std::panic::panic_any(NoMemory)
}

/// Makes room for `extra` more items in `v` (amortized growth, like
/// `Vec::reserve`), or reports [`NoMemory`].
#[inline]
pub fn reserve<T>(v: &mut Vec<T>, extra: usize) {
    if v.capacity() - v.len() < extra && v.try_reserve(extra).is_err() {
        no_memory()
    }
}

/// `n` copies of `x`, or [`NoMemory`].
pub fn filled<T: Clone>(x: T, n: usize) -> Vec<T> {
    let mut v = Vec::new();
    if v.try_reserve_exact(n).is_err() {
        no_memory()
    }
    v.resize(n, x);
    v
}

/// Installs (once per process) a panic hook that stays silent for
/// [`NoMemory`] unwinding (it is an error report, not a bug) and defers to
/// the previous hook for everything else.
pub fn install_no_memory_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<NoMemory>() {
                prev(info)
            }
        }));
    });
}

/// Shape ids of the guest object kinds in stm-core's meta word.
const SHAPE_STR: u32 = 1;
const SHAPE_TABLE: u32 = 2;
const SHAPE_LFN: u32 = 3;
const SHAPE_NFN: u32 = 4;
const SHAPE_UP: u32 = 5;

/// A handle to a guest object: the address of its value inside an stm-core
/// host cell. Copyable pointer; valid as long as the object is reachable from
/// the roots at every collection.
pub struct Gc<T> {
    ptr: NonNull<T>,
}

impl<T> Clone for Gc<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Gc<T> {}

impl<T> Gc<T> {
    #[inline(always)]
    pub fn get(&self) -> &T {
        // SAFETY: the collector finalizes an object only when it is
        // unreachable from the roots; a handle the VM or a library function
        // is using is reachable (collections run only at VM safe points), so
        // the value is alive and initialised. The interpreter is
        // single-threaded.
        unsafe { self.ptr.as_ref() }
    }

    /// Mutable access to the object.
    ///
    /// Callers must not keep the returned reference across any call that
    /// could access the same object (they are all short-lived: one table
    /// operation at a time).
    #[inline(always)]
    #[allow(clippy::mut_from_ref)]
    pub fn get_mut(&self) -> &mut T {
        // SAFETY: liveness as in `get`; exclusivity is the caller contract
        // above (single-threaded, references never held across calls that
        // re-enter the VM or touch the same object).
        unsafe { &mut *self.ptr.as_ptr() }
    }

    #[inline(always)]
    pub fn ptr_eq(a: Gc<T>, b: Gc<T>) -> bool {
        a.ptr == b.ptr
    }

    #[inline(always)]
    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// Rebuilds a handle from `addr` (for `Value::from_raw`).
    ///
    /// # Safety
    /// `addr` must come from `Gc::addr` of a live object of type `T`.
    pub unsafe fn from_addr(addr: usize) -> Gc<T> {
        Gc {
            // SAFETY: caller contract: a live object's (non-null) address.
            ptr: unsafe { NonNull::new_unchecked(addr as *mut T) },
        }
    }

    /// The stm-core object holding this value.
    #[inline(always)]
    fn obj(&self) -> ObjRef {
        // SAFETY: every Gc is made by `Heap::place` from the payload address
        // of a host object of the heap's runtime.
        unsafe { ObjRef::from_payload(self.ptr.cast()) }
    }
}

impl<T> std::fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{:014x}", self.addr())
    }
}

/// FxHash-style hasher (fast, non-cryptographic).
#[derive(Default)]
pub struct FxHasher(u64);
impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = (self.0 ^ hash_bytes(bytes)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
}

pub fn hash_bytes(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    for &c in chunks.remainder() {
        h = (h.rotate_left(5) ^ c as u64).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    h ^ (h >> 29)
}

pub struct Heap {
    strings: InternSet,
    /// Objects allocated since the last collection plus its survivors.
    objects: usize,
    pub collections: usize,
    /// This heap's stm-core thread (it owns a handle to the heap's private
    /// runtime, so the cells live as long as it does; `Drop for Heap`
    /// finalizes every object first).
    th: Box<StmThread>,
}

/// The weak intern set: open addressing with linear probing over string
/// handles, probed with the string's cached hash (no per-entry allocation,
/// one cache line per typical lookup). Dead strings are removed by
/// rebuilding the table after marking.
struct InternSet {
    /// Power-of-two number of slots; `None` = empty.
    slots: Vec<Option<Gc<LStr>>>,
    len: usize,
}

impl InternSet {
    fn new() -> InternSet {
        InternSet {
            slots: vec![None; 1024],
            len: 0,
        }
    }

    /// The string with these bytes, or the empty slot where it belongs.
    #[inline]
    fn find(&self, h: u64, bytes: &[u8]) -> Result<Gc<LStr>, usize> {
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            match self.slots[i] {
                None => return Err(i),
                Some(s) => {
                    let v = s.get();
                    if v.hash == h && &v.bytes[..] == bytes {
                        return Ok(s);
                    }
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Inserts a string known to be absent at the slot `find` returned.
    fn insert_at(&mut self, slot: usize, s: Gc<LStr>) {
        self.slots[slot] = Some(s);
        self.len += 1;
        if self.len * 4 > self.slots.len() * 3 {
            self.rebuild(self.slots.len() * 2, |_| true);
        }
    }

    /// Re-inserts the strings `keep` accepts into a table of `cap` slots.
    fn rebuild(&mut self, cap: usize, keep: impl Fn(Gc<LStr>) -> bool) {
        let old = std::mem::replace(&mut self.slots, filled(None, cap));
        self.len = 0;
        let mask = cap - 1;
        for s in old.into_iter().flatten().filter(|&s| keep(s)) {
            let mut i = s.get().hash as usize & mask;
            while self.slots[i].is_some() {
                i = (i + 1) & mask;
            }
            self.slots[i] = Some(s);
            self.len += 1;
        }
    }

    /// Drops the strings `is_live` rejects (after marking), shrinking the
    /// table when most of it died.
    fn purge(&mut self, is_live: impl Fn(Gc<LStr>) -> bool) {
        let live = self.slots.iter().flatten().filter(|&&s| is_live(s)).count();
        let cap = (live * 2).next_power_of_two().max(1024);
        self.rebuild(cap, is_live);
    }
}

const MIN_THRESHOLD: usize = 4 << 20;

impl Default for Heap {
    fn default() -> Self {
        Self::new()
    }
}

/// Marks guest values during a collection (what the VM's root callback and
/// the tracer below use).
pub struct Marker<'m, 'a> {
    m: &'m mut HostMarker<'a>,
}

impl Marker<'_, '_> {
    #[inline]
    pub fn mark_value(&mut self, v: Value) {
        match v {
            Value::Str(s) => self.m.mark(s.obj()),
            Value::Table(t) => self.m.mark(t.obj()),
            Value::LFn(f) => self.m.mark(f.obj()),
            Value::NFn(f) => self.m.mark(f.obj()),
            _ => {}
        }
    }

    pub fn mark_table(&mut self, t: Gc<Table>) {
        self.m.mark(t.obj())
    }

    pub fn mark_upval(&mut self, u: Gc<UpVal>) {
        self.m.mark(u.obj())
    }

    fn mark_proto(&mut self, p: &Proto) {
        for k in p.consts.iter() {
            if let Value::Str(s) = k {
                self.m.mark(s.obj());
            }
        }
        for c in p.protos.iter() {
            self.mark_proto(c);
        }
    }
}

/// The heap's side of an stm-core collection.
struct Tracer<'h, R> {
    roots: Option<R>,
    strings: &'h mut InternSet,
    survivors: usize,
}

/// The value of type `T` in host object `o`.
///
/// # Safety
/// `o` must be a live host object of the shape that holds a `T`.
unsafe fn value<'a, T>(o: ObjRef) -> &'a T {
    // SAFETY: caller contract; `Heap::place` wrote a `T` there.
    unsafe { &*o.payload().cast::<T>().as_ptr() }
}

impl<R: FnOnce(&mut Marker)> HostTracer for Tracer<'_, R> {
    fn roots(&mut self, m: &mut HostMarker<'_>) {
        if let Some(r) = self.roots.take() {
            r(&mut Marker { m });
        }
    }

    fn trace(&mut self, o: ObjRef, shape: u32, m: &mut HostMarker<'_>) -> usize {
        self.survivors += 1;
        let mut mk = Marker { m };
        // SAFETY (all arms): stm-core passes each marked host object of this
        // heap's runtime with the shape it was allocated with, and every
        // allocation wrote the value matching its shape.
        match shape {
            SHAPE_STR => unsafe { value::<LStr>(o) }.bytes.len(),
            SHAPE_TABLE => {
                let t = unsafe { value::<Table>(o) };
                if let Some(mt) = t.meta {
                    mk.mark_table(mt);
                }
                for v in t.arr.iter() {
                    mk.mark_value(*v);
                }
                for (k, v) in t.hash_entries() {
                    mk.mark_value(k);
                    mk.mark_value(v);
                }
                t.mem_size()
            }
            SHAPE_LFN => {
                let f = unsafe { value::<LClosure>(o) };
                for u in f.upvals.iter() {
                    mk.mark_upval(*u);
                }
                mk.mark_proto(&f.proto);
                f.upvals.len() * 8
            }
            SHAPE_NFN => {
                let f = unsafe { value::<NClosure>(o) };
                for v in f.upvals.iter() {
                    mk.mark_value(*v);
                }
                f.upvals.len() * 16
            }
            SHAPE_UP => {
                if let UpVal::Closed(v) = unsafe { value::<UpVal>(o) } {
                    mk.mark_value(*v);
                }
                0
            }
            _ => 0,
        }
    }

    fn weak(&mut self, is_marked: &dyn Fn(ObjRef) -> bool) {
        self.strings.purge(|s| is_marked(s.obj()));
    }

    fn finalize(&mut self, o: ObjRef, shape: u32) {
        /// # Safety
        /// `o` holds an initialised `T` that is never used again.
        unsafe fn drop_as<T>(o: ObjRef) {
            // SAFETY: caller contract.
            unsafe { std::ptr::drop_in_place(o.payload().cast::<T>().as_ptr()) }
        }
        // SAFETY (all arms): stm-core finalizes each unreachable host object
        // once, with its allocation shape, before reusing the cell; nothing
        // can reach it any more (the intern set was purged in `weak`).
        unsafe {
            match shape {
                SHAPE_STR => drop_as::<LStr>(o),
                SHAPE_TABLE => drop_as::<Table>(o),
                SHAPE_LFN => drop_as::<LClosure>(o),
                SHAPE_NFN => drop_as::<NClosure>(o),
                SHAPE_UP => drop_as::<UpVal>(o),
                _ => {}
            }
        }
    }
}

impl Heap {
    pub fn new() -> Heap {
        let rt = Runtime::new(Config {
            gc_threshold_bytes: MIN_THRESHOLD,
            max_threads: 1,
            log_path: None,
            ..Config::default()
        });
        let mut th = rt
            .register_thread()
            .expect("a fresh runtime has a free thread slot");
        th.begin().expect("not in a transaction yet");
        Heap {
            strings: InternSet::new(),
            objects: 0,
            collections: 0,
            th,
        }
    }

    /// Allocates a host object of `shape` holding `v`; `external` is the
    /// memory `v` owns outside the heap.
    #[inline]
    fn place<T>(&mut self, v: T, shape: u32, external: usize) -> Gc<T> {
        const { assert!(std::mem::align_of::<T>() <= 8) };
        let size = std::mem::size_of::<T>();
        let o = match self.th.alloc_host(shape, size) {
            Ok(o) => o,
            Err(_) => no_memory(),
        };
        if external > 0 {
            self.th.note_external_alloc(external);
        }
        self.objects += 1;
        let p = o.payload().cast::<T>();
        // SAFETY: the payload has room for `size` bytes, is 8-byte aligned
        // (checked above against T's alignment) and uninitialised.
        unsafe { p.as_ptr().write(v) };
        Gc { ptr: p }
    }

    /// Returns the unique string object with these bytes.
    pub fn intern(&mut self, bytes: &[u8]) -> Gc<LStr> {
        let h = hash_bytes(bytes);
        let slot = match self.strings.find(h, bytes) {
            Ok(s) => return s,
            Err(slot) => slot,
        };
        let mut b = Vec::new();
        if b.try_reserve_exact(bytes.len()).is_err() {
            no_memory()
        }
        b.extend_from_slice(bytes);
        let s = self.place(
            LStr {
                hash: h,
                bytes: b.into_boxed_slice(),
            },
            SHAPE_STR,
            bytes.len(),
        );
        self.strings.insert_at(slot, s);
        s
    }

    pub fn alloc_table(&mut self, t: Table) -> Gc<Table> {
        let ext = t.mem_size();
        self.place(t, SHAPE_TABLE, ext)
    }

    pub fn alloc_lclosure(&mut self, c: LClosure) -> Gc<LClosure> {
        let ext = c.upvals.len() * 8;
        self.place(c, SHAPE_LFN, ext)
    }

    pub fn alloc_nclosure(&mut self, c: NClosure) -> Gc<NClosure> {
        let ext = c.upvals.len() * 16;
        self.place(c, SHAPE_NFN, ext)
    }

    pub fn alloc_upval(&mut self, u: UpVal) -> Gc<UpVal> {
        self.place(u, SHAPE_UP, 0)
    }

    /// Report growth of an existing object (e.g. a table's parts).
    #[inline]
    pub fn note_growth(&mut self, bytes: usize) {
        self.th.note_external_alloc(bytes);
    }

    #[inline(always)]
    pub fn should_collect(&self) -> bool {
        self.th.gc_pending()
    }

    /// Objects allocated since the last collection plus its survivors.
    pub fn live_objects(&self) -> usize {
        self.objects
    }

    /// Runs a full collection. `roots` must mark (via `mark_value` etc.)
    /// everything the mutator can still reach.
    pub fn collect(&mut self, roots: impl FnOnce(&mut Marker)) {
        let mut tracer = Tracer {
            roots: Some(roots),
            strings: &mut self.strings,
            survivors: 0,
        };
        // The heap's transaction touches no word objects, so nothing can
        // conflict with it: commit and begin cannot fail.
        self.th.commit().expect("heap transaction commits");
        self.th
            .collect_with(&mut tracer)
            .expect("outside a transaction");
        self.objects = tracer.survivors;
        self.th.begin().expect("outside a transaction");
        self.collections += 1;
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        // Finalize every object: a collection with no roots.
        self.collect(|_| {});
        let _ = self.th.commit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_identity_and_weak() {
        let mut h = Heap::new();
        let a = h.intern(b"hello");
        let b = h.intern(b"hello");
        assert!(Gc::ptr_eq(a, b));
        let keep = h.intern(b"kept");
        h.collect(|m| m.mark_value(Value::Str(keep)));
        // "hello" was unreachable: gone from the intern set (and finalized).
        assert_eq!(h.strings.len, 1);
        assert!(Gc::ptr_eq(h.intern(b"kept"), keep));
        assert_eq!(&h.intern(b"hello").get().bytes[..], b"hello");
        assert_eq!(h.collections, 1);
    }

    #[test]
    fn reachable_graph_survives_collections_garbage_does_not() {
        let mut h = Heap::new();
        let root = h.alloc_table(Table::new(0, 0));
        let mut expect = Vec::new();
        for i in 0..2000i64 {
            // Every 10th table is hung under the root (keyed by a fresh
            // string), the rest is garbage.
            let t = h.alloc_table(Table::new(4, 0));
            t.get_mut().set(Value::Int(1), Value::Int(i));
            if i % 10 == 0 {
                let k = h.intern(format!("k{i}").as_bytes());
                root.get_mut().set(Value::Str(k), Value::Table(t));
                expect.push((k, i));
            }
            if i % 500 == 0 {
                h.collect(|m| m.mark_table(root));
            }
        }
        h.collect(|m| m.mark_table(root));
        assert_eq!(
            h.live_objects(),
            1 + 2 * expect.len(),
            "root, kept tables, their keys"
        );
        for (k, i) in expect {
            let Value::Table(t) = root.get().get(Value::Str(k)) else {
                panic!("lost k{i}")
            };
            assert!(matches!(t.get().get(Value::Int(1)), Value::Int(v) if v == i));
        }
    }
}
