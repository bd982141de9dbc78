//! The guest heap: the ONE place where Lua objects are allocated and freed.
//!
//! This module is the interface that stm-core's heap will take over: every
//! guest object (strings, tables, Lua closures, native closures, upvalues)
//! is created through [`Heap`]'s `alloc_*`/`intern` functions and referred to
//! by a [`Gc<T>`] handle; collection is requested through
//! [`Heap::should_collect`] / [`Heap::collect`] with a root-scanning
//! callback. Nothing else in `lua/` allocates or frees guest objects, so
//! swapping this implementation for stm-core's is a change to this file.
//!
//! Behind the interface sits a simple non-moving mark-sweep collector:
//! objects are individually boxed (`Box<GcBox<T>>`, addresses never change,
//! so a handle is a plain pointer, which is also what the JIT wants), every
//! object is listed in `objects`, and `collect` marks from the roots the
//! caller supplies (VM stack, globals, registry, open upvalues, frames) then
//! sweeps the list. Collection is triggered by allocation debt (bytes
//! allocated since the last cycle exceed the live size after it, with a
//! floor) and is only ever run by the VM at safe points, where every live
//! guest value is reachable from the roots — never from inside a library
//! function that may hold handles in Rust locals.
//!
//! Strings are all interned (short and long): equal strings are the same
//! object, so string equality and table lookup by string are pointer
//! comparisons; the content hash is cached in the string. The intern set
//! is weak: the sweep removes dead strings from it.

use super::value::{LClosure, LStr, NClosure, Table, UpVal, Value};
use std::cell::{Cell, UnsafeCell};
use std::hash::{BuildHasherDefault, Hasher};
use std::ptr::NonNull;

pub struct GcBox<T> {
    marked: Cell<bool>,
    value: UnsafeCell<T>,
}

/// A handle to a guest object. Copyable pointer; valid as long as the
/// object is reachable from the roots at every collection.
pub struct Gc<T> {
    ptr: NonNull<GcBox<T>>,
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
        // SAFETY: the collector frees an object only when it is unreachable
        // from the roots; a handle the VM or a library function is using is
        // reachable (collections run only at VM safe points), so the box is
        // alive. The interpreter is single-threaded.
        unsafe { &*self.ptr.as_ref().value.get() }
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
        unsafe { &mut *self.ptr.as_ref().value.get() }
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
            ptr: NonNull::new_unchecked(addr as *mut GcBox<T>),
        }
    }

    fn mark(&self) -> bool {
        // SAFETY: see `get`.
        let b = unsafe { self.ptr.as_ref() };
        if b.marked.get() {
            false
        } else {
            b.marked.set(true);
            true
        }
    }
}

impl<T> std::fmt::Debug for Gc<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{:014x}", self.addr())
    }
}

#[derive(Clone, Copy)]
enum Obj {
    Str(Gc<LStr>),
    Table(Gc<Table>),
    LFn(Gc<LClosure>),
    NFn(Gc<NClosure>),
    Up(Gc<UpVal>),
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
    objects: Vec<Obj>,
    strings: hashbrown_like::Set,
    allocated: usize,
    threshold: usize,
    gray: Vec<Obj>,
    pub collections: usize,
}

/// A minimal intern set keyed by hash with collision chains (std's
/// HashSet cannot be probed with borrowed bytes + a precomputed hash).
mod hashbrown_like {
    use super::*;
    pub struct Set {
        pub map: std::collections::HashMap<u64, Vec<Gc<LStr>>, BuildHasherDefault<IdHasher>>,
    }
    #[derive(Default)]
    pub struct IdHasher(u64);
    impl Hasher for IdHasher {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, _: &[u8]) {
            unreachable!()
        }
        fn write_u64(&mut self, i: u64) {
            self.0 = i;
        }
    }
}

const MIN_THRESHOLD: usize = 4 << 20;

impl Default for Heap {
    fn default() -> Self {
        Self::new()
    }
}

impl Heap {
    pub fn new() -> Heap {
        Heap {
            objects: Vec::new(),
            strings: hashbrown_like::Set {
                map: Default::default(),
            },
            allocated: 0,
            threshold: MIN_THRESHOLD,
            gray: Vec::new(),
            collections: 0,
        }
    }

    fn boxed<T>(&mut self, v: T, size: usize) -> Gc<T> {
        self.allocated += size;
        let b = Box::new(GcBox {
            marked: Cell::new(false),
            value: UnsafeCell::new(v),
        });
        // SAFETY: Box::into_raw never returns null.
        Gc {
            ptr: unsafe { NonNull::new_unchecked(Box::into_raw(b)) },
        }
    }

    /// Returns the unique string object with these bytes.
    pub fn intern(&mut self, bytes: &[u8]) -> Gc<LStr> {
        let h = hash_bytes(bytes);
        if let Some(chain) = self.strings.map.get(&h) {
            for s in chain {
                if &s.get().bytes[..] == bytes {
                    return *s;
                }
            }
        }
        let s = self.boxed(
            LStr {
                hash: h,
                bytes: bytes.into(),
            },
            48 + bytes.len(),
        );
        self.objects.push(Obj::Str(s));
        self.strings.map.entry(h).or_default().push(s);
        s
    }

    pub fn alloc_table(&mut self, t: Table) -> Gc<Table> {
        let size = 80 + t.mem_size();
        let g = self.boxed(t, size);
        self.objects.push(Obj::Table(g));
        g
    }

    pub fn alloc_lclosure(&mut self, c: LClosure) -> Gc<LClosure> {
        let size = 48 + c.upvals.len() * 8;
        let g = self.boxed(c, size);
        self.objects.push(Obj::LFn(g));
        g
    }

    pub fn alloc_nclosure(&mut self, c: NClosure) -> Gc<NClosure> {
        let size = 64 + c.upvals.len() * 16;
        let g = self.boxed(c, size);
        self.objects.push(Obj::NFn(g));
        g
    }

    pub fn alloc_upval(&mut self, u: UpVal) -> Gc<UpVal> {
        let g = self.boxed(u, 40);
        self.objects.push(Obj::Up(g));
        g
    }

    /// Report growth of an existing object (e.g. a table's parts).
    pub fn note_growth(&mut self, bytes: usize) {
        self.allocated = self.allocated.saturating_add(bytes);
    }

    #[inline(always)]
    pub fn should_collect(&self) -> bool {
        self.allocated > self.threshold
    }

    pub fn live_objects(&self) -> usize {
        self.objects.len()
    }

    pub fn mark_value(&mut self, v: Value) {
        match v {
            Value::Str(s) => {
                s.mark();
            }
            Value::Table(t) if t.mark() => self.gray.push(Obj::Table(t)),
            Value::LFn(f) if f.mark() => self.gray.push(Obj::LFn(f)),
            Value::NFn(f) if f.mark() => self.gray.push(Obj::NFn(f)),
            _ => {}
        }
    }

    pub fn mark_table(&mut self, t: Gc<Table>) {
        self.mark_value(Value::Table(t))
    }

    pub fn mark_upval(&mut self, u: Gc<UpVal>) {
        if u.mark() {
            self.gray.push(Obj::Up(u))
        }
    }

    fn mark_proto(&mut self, p: &super::value::Proto) {
        for k in p.consts.iter() {
            if let Value::Str(s) = k {
                s.mark();
            }
        }
        for c in p.protos.iter() {
            self.mark_proto(c);
        }
    }

    /// Runs a full collection. `roots` must mark (via `mark_value` etc.)
    /// everything the mutator can still reach.
    pub fn collect(&mut self, roots: impl FnOnce(&mut Heap)) {
        roots(self);
        while let Some(o) = self.gray.pop() {
            match o {
                Obj::Str(_) => {}
                Obj::Table(t) => {
                    let t = t.get();
                    if let Some(m) = t.meta {
                        self.mark_table(m);
                    }
                    for v in t.arr.iter() {
                        self.mark_value(*v);
                    }
                    for (k, v) in t.hash_entries() {
                        self.mark_value(k);
                        self.mark_value(v);
                    }
                }
                Obj::LFn(f) => {
                    let f = f.get();
                    for u in f.upvals.iter() {
                        self.mark_upval(*u);
                    }
                    let p = f.proto.clone();
                    self.mark_proto(&p);
                }
                Obj::NFn(f) => {
                    for v in f.get().upvals.iter() {
                        self.mark_value(*v);
                    }
                }
                Obj::Up(u) => {
                    if let UpVal::Closed(v) = u.get() {
                        self.mark_value(*v);
                    }
                }
            }
        }
        // sweep
        let mut live = 0usize;
        let mut dead_strings = Vec::new();
        self.objects.retain(|o| {
            // SAFETY: every entry of `objects` is a live box owned by the heap;
            // unmarked ones are freed exactly once here and removed from the list.
            unsafe {
                macro_rules! sweep {
                    ($g:expr, $size:expr) => {{
                        let b = $g.ptr.as_ref();
                        if b.marked.get() {
                            b.marked.set(false);
                            live += $size;
                            true
                        } else {
                            drop(Box::from_raw($g.ptr.as_ptr()));
                            false
                        }
                    }};
                }
                match o {
                    Obj::Str(s) => {
                        let b = s.ptr.as_ref();
                        if b.marked.get() {
                            b.marked.set(false);
                            live += 48 + s.get().bytes.len();
                            true
                        } else {
                            dead_strings.push(*s);
                            false
                        }
                    }
                    Obj::Table(t) => sweep!(t, 80 + t.get().mem_size()),
                    Obj::LFn(f) => sweep!(f, 48),
                    Obj::NFn(f) => sweep!(f, 64),
                    Obj::Up(u) => sweep!(u, 40),
                }
            }
        });
        for s in dead_strings {
            let h = s.get().hash;
            if let Some(chain) = self.strings.map.get_mut(&h) {
                chain.retain(|x| !Gc::ptr_eq(*x, s));
                if chain.is_empty() {
                    self.strings.map.remove(&h);
                }
            }
            // SAFETY: the string was unmarked, hence unreachable; it is now
            // removed from both `objects` and the intern set, so freed once.
            unsafe { drop(Box::from_raw(s.ptr.as_ptr())) };
        }
        self.allocated = live;
        self.threshold = (live * 2).max(MIN_THRESHOLD);
        self.collections += 1;
    }
}

impl Drop for Heap {
    fn drop(&mut self) {
        for o in self.objects.drain(..) {
            // SAFETY: the heap owns every object; at drop nothing else can use them.
            unsafe {
                match o {
                    Obj::Str(g) => drop(Box::from_raw(g.ptr.as_ptr())),
                    Obj::Table(g) => drop(Box::from_raw(g.ptr.as_ptr())),
                    Obj::LFn(g) => drop(Box::from_raw(g.ptr.as_ptr())),
                    Obj::NFn(g) => drop(Box::from_raw(g.ptr.as_ptr())),
                    Obj::Up(g) => drop(Box::from_raw(g.ptr.as_ptr())),
                }
            }
        }
    }
}
