//! The runtime: global clock, thread slots, safepoints, roots and the collector.
//!
//! # Global state and why there is so little of it
//!
//! A [`Runtime`] is an `Arc` around one [`Shared`]: the global version clock
//! (alone on its cache line), a fixed array of thread slots, the safepoint
//! flags, the root registry and the optional conflict log. Several runtimes can
//! coexist in one process (the tests rely on it); objects must not be shared
//! between runtimes.
//!
//! The **clock** is the TL2 global version clock with one twist: its low bit is
//! the *inevitable token*. Even values are ordinary timestamps; a writer
//! commits by CASing `c → c+2` (so it can only do so while the clock is even),
//! and a transaction becomes inevitable by CASing `c → c+1`. While the clock is
//! odd, no other writer can obtain a commit timestamp, which is exactly the
//! "others wait only if they must commit in its way" rule: readers and
//! read-only commits proceed, writers pause at their commit point. The
//! inevitable transaction commits by storing `c+2`. Folding the token into the
//! clock means there is no window where a writer has validated against a clock
//! value and an inevitable transaction starts "between" its timestamp and its
//! release: both are ordered by CAS on one word. The shuttle model in
//! `tests/model_shuttle.rs` checks this protocol.
//!
//! # Safepoints
//!
//! Each slot has an `active` flag, true while its thread runs a transaction.
//! A thread entering a transaction publishes `active = true` and then re-reads
//! `gc_requested` (both SeqCst); a collector publishes `gc_requested = true`
//! and then waits for every `active` to be false (both SeqCst). By the total
//! order of SeqCst operations at least one side sees the other's store, so the
//! collector never runs concurrently with a transaction. A thread that sees
//! the request parks on a condition variable until the collector clears it.
//! Transactions never wait for the collector, and the collector waits only for
//! transactions, so this adds no deadlock.
//!
//! # Collection
//!
//! Collections are triggered by allocation volume: threads flush their byte
//! counters into `alloc_since_gc` and the first to push it past the threshold
//! sets `gc_needed`; the next thread to start a transaction (or
//! [`Runtime::collect`]) becomes the collector. It marks from: the global root
//! table ([`Runtime::add_root`]), every slot's shadow stack
//! ([`StmThread::push_root`](crate::StmThread::push_root)), and the root
//! scanner callbacks ([`Runtime::add_root_scanner`]) — compiled code is
//! expected to have written its live values back to the interpreter's frames
//! before reaching the transaction boundary, so those callbacks see them. Then
//! every heap is swept. Consequently an object must be reachable from a root
//! before the transaction that created it commits: a thread that is between
//! transactions holds no protected references in its Rust locals. The next threshold is `max(configured, 2 × live)`, so
//! memory stays within a constant factor of the live data.

use crate::heap::{HeapIndex, ThreadHeap};
use crate::host::{HostMarker, HostTracer};
use crate::log::ConflictLog;
use crate::object::*;
use crate::StmError;
use std::cell::UnsafeCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};

/// Tuning knobs of a [`Runtime`].
#[derive(Clone, Debug)]
pub struct Config {
    /// Maximum number of simultaneously registered threads (at most 65535).
    pub max_threads: usize,
    /// Bytes allocated between collections at minimum.
    pub gc_threshold_bytes: usize,
    /// Consecutive aborts after which a transaction restarts inevitable.
    pub escalate_after_aborts: u32,
    /// Initial work budget of a transaction (see `should_break_transaction`).
    pub initial_budget: u64,
    /// Lower bound of the adaptive budget.
    pub min_budget: u64,
    /// Upper bound of the adaptive budget.
    pub max_budget: u64,
    /// Conflict log path; `None` means "use the `STMLOG` environment variable".
    pub log_path: Option<PathBuf>,
    /// Spin/yield iterations a transaction waits for a lock owner before aborting itself.
    pub lock_wait_limit: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_threads: 64,
            gc_threshold_bytes: 16 << 20,
            escalate_after_aborts: 8,
            initial_budget: 10_000,
            min_budget: 64,
            max_budget: 1 << 20,
            log_path: None,
            lock_wait_limit: 200,
        }
    }
}

/// Slot state values.
pub(crate) const ST_IDLE: u8 = 0;
pub(crate) const ST_ACTIVE: u8 = 1;
pub(crate) const ST_COMMITTING: u8 = 2;

/// The shared part of a registered thread.
#[repr(align(128))]
pub(crate) struct ThreadSlot {
    pub(crate) in_use: AtomicBool,
    pub(crate) active: AtomicBool,
    pub(crate) state: AtomicU8,
    /// 0 = no request, else a `ConflictKind` code.
    pub(crate) abort_requested: AtomicU8,
    pub(crate) inevitable: AtomicBool,
    pub(crate) karma: AtomicU32,
    /// Location cookie at the owner's most recent write-barrier slow path.
    pub(crate) write_loc: AtomicU64,
    pub(crate) heap: UnsafeCell<ThreadHeap>,
    pub(crate) roots: Mutex<Vec<u64>>,
}

// SAFETY: all fields but `heap` are Sync. `heap` is accessed only by the
// thread that holds the slot (`in_use`), and only while it is `active` or
// otherwise excluded from collection, and by the collector, which runs only
// when no slot is `active`; the SeqCst handshake documented in this module
// orders the two.
unsafe impl Sync for ThreadSlot {}

#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

type RootScanner = Box<dyn Fn(&mut dyn FnMut(u64)) + Send + Sync>;
type Marker = Arc<dyn Fn(u64) -> String + Send + Sync>;

/// Shared runtime state.
pub(crate) struct Shared {
    pub(crate) clock: Padded<AtomicU64>,
    pub(crate) slots: Box<[ThreadSlot]>,
    pub(crate) cfg: Config,
    gc_requested: AtomicBool,
    pub(crate) gc_needed: AtomicBool,
    gc_lock: Mutex<()>,
    gc_wait: Mutex<()>,
    gc_cv: Condvar,
    alloc_since_gc: AtomicUsize,
    gc_threshold: AtomicUsize,
    gc_count: AtomicU64,
    roots: Mutex<Vec<Option<u64>>>,
    scanners: Mutex<Vec<RootScanner>>,
    pub(crate) marker: RwLock<Option<Marker>>,
    pub(crate) log: RwLock<Option<Arc<ConflictLog>>>,
    pub(crate) logging: AtomicBool,
    /// Writer location cookies of recent commits, indexed by object hash.
    pub(crate) writer_locs: Box<[AtomicU64]>,
}

pub(crate) const WRITER_LOC_STRIPES: usize = 4096;

pub(crate) fn stripe(obj: ObjRef) -> usize {
    ((obj.to_bits() >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 52) as usize % WRITER_LOC_STRIPES
}

/// A handle to an STM runtime (cheap to clone).
#[derive(Clone)]
pub struct Runtime {
    pub(crate) shared: Arc<Shared>,
}

/// Identifies an entry of the global root table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootId(usize);

/// Heap statistics.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapStats {
    /// Bytes of memory held by all thread heaps.
    pub footprint_bytes: usize,
    /// Number of completed collections.
    pub collections: u64,
}

impl Runtime {
    /// Creates a runtime. Opens the conflict log named by `cfg.log_path` or,
    /// if that is `None`, by the `STMLOG` environment variable.
    pub fn new(cfg: Config) -> Runtime {
        let n = cfg.max_threads.clamp(1, OWNER_MASK as usize);
        let slots: Vec<ThreadSlot> = (0..n)
            .map(|_| ThreadSlot {
                in_use: AtomicBool::new(false),
                active: AtomicBool::new(false),
                state: AtomicU8::new(ST_IDLE),
                abort_requested: AtomicU8::new(0),
                inevitable: AtomicBool::new(false),
                karma: AtomicU32::new(0),
                write_loc: AtomicU64::new(0),
                heap: UnsafeCell::new(ThreadHeap::new()),
                roots: Mutex::new(Vec::new()),
            })
            .collect();
        let threshold = cfg.gc_threshold_bytes.max(64 << 10);
        let log_path = cfg
            .log_path
            .clone()
            .or_else(|| std::env::var_os("STMLOG").map(PathBuf::from));
        let rt = Runtime {
            shared: Arc::new(Shared {
                clock: Padded(AtomicU64::new(2)),
                slots: slots.into_boxed_slice(),
                cfg,
                gc_requested: AtomicBool::new(false),
                gc_needed: AtomicBool::new(false),
                gc_lock: Mutex::new(()),
                gc_wait: Mutex::new(()),
                gc_cv: Condvar::new(),
                alloc_since_gc: AtomicUsize::new(0),
                gc_threshold: AtomicUsize::new(threshold),
                gc_count: AtomicU64::new(0),
                roots: Mutex::new(Vec::new()),
                scanners: Mutex::new(Vec::new()),
                marker: RwLock::new(None),
                log: RwLock::new(None),
                logging: AtomicBool::new(false),
                writer_locs: (0..WRITER_LOC_STRIPES).map(|_| AtomicU64::new(0)).collect(),
            }),
        };
        if let Some(p) = log_path {
            // A log that cannot be opened is not fatal to the program.
            let _ = rt.set_log_file(Some(&p));
        }
        rt
    }

    /// Starts (or, with `None`, stops) writing the conflict log to `path`.
    /// Threads registered before the call pick the change up at their next
    /// transaction.
    pub fn set_log_file(&self, path: Option<&Path>) -> Result<(), StmError> {
        let new = match path {
            Some(p) => Some(Arc::new(
                ConflictLog::open(p).map_err(|e| StmError::Io(e.to_string()))?,
            )),
            None => None,
        };
        let mut g = self.shared.log.write().map_err(|_| StmError::Poisoned)?;
        if let Some(old) = g.take() {
            old.flush();
        }
        self.shared.logging.store(new.is_some(), Ordering::SeqCst);
        *g = new;
        Ok(())
    }

    /// Flushes the conflict log (writes the elapsed-time record).
    pub fn flush_log(&self) {
        if let Ok(g) = self.shared.log.read() {
            if let Some(l) = g.as_ref() {
                l.flush();
            }
        }
    }

    /// Registers the callback that renders a location cookie (see
    /// [`StmThread::set_location`](crate::StmThread::set_location)) as guest
    /// source text, e.g. `File "x.lua", line 10, in f`.
    pub fn set_marker_callback(&self, f: impl Fn(u64) -> String + Send + Sync + 'static) {
        if let Ok(mut g) = self.shared.marker.write() {
            *g = Some(Arc::new(f));
        }
    }

    /// Adds a global root. Values that are not object addresses are ignored by
    /// the collector.
    pub fn add_root(&self, obj: ObjRef) -> RootId {
        let mut g = self.shared.roots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = g.iter().position(|r| r.is_none()) {
            g[i] = Some(obj.to_bits());
            RootId(i)
        } else {
            g.push(Some(obj.to_bits()));
            RootId(g.len() - 1)
        }
    }

    /// Removes a global root.
    pub fn remove_root(&self, id: RootId) {
        let mut g = self.shared.roots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = g.get_mut(id.0) {
            *r = None;
        }
    }

    /// Registers a root-scanning callback, called at every collection with a
    /// sink to which it passes every (possible) reference it holds.
    pub fn add_root_scanner(&self, f: impl Fn(&mut dyn FnMut(u64)) + Send + Sync + 'static) {
        let mut g = self
            .shared
            .scanners
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        g.push(Box::new(f));
    }

    /// Heap statistics (footprint is read at a safepoint-free moment and may be
    /// slightly stale).
    pub fn heap_stats(&self) -> HeapStats {
        let s = &self.shared;
        let _g = s.gc_lock.lock().unwrap_or_else(|e| e.into_inner());
        s.gc_requested.store(true, Ordering::SeqCst);
        s.wait_inactive();
        let mut fp = 0;
        for slot in s.slots.iter() {
            // SAFETY: no slot is active and gc_requested keeps them out.
            fp += unsafe { &*slot.heap.get() }.footprint();
        }
        s.release_safepoint();
        HeapStats {
            footprint_bytes: fp,
            collections: s.gc_count.load(Ordering::Relaxed),
        }
    }

    /// Runs a full collection now. Must not be called from inside a
    /// transaction (it would wait for itself); a registered thread calling it
    /// between transactions is fine.
    pub fn collect(&self) {
        self.shared.gc_needed.store(true, Ordering::SeqCst);
        self.shared.collect();
    }

    /// Current value of the global clock (for diagnostics and tests).
    pub fn clock(&self) -> u64 {
        self.shared.clock.0.load(Ordering::SeqCst)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Ok(g) = self.log.read() {
            if let Some(l) = g.as_ref() {
                l.flush();
            }
        }
    }
}

impl Shared {
    pub(crate) fn marker_text(&self, cookie: u64) -> String {
        if cookie == 0 {
            return "<unknown location>".to_string();
        }
        match self.marker.read().ok().and_then(|g| g.clone()) {
            Some(f) => f(cookie),
            None => format!("<location {cookie:#x}>"),
        }
    }

    /// Called by a thread before it starts a transaction.
    pub(crate) fn enter(&self, slot: usize) {
        let me = &self.slots[slot];
        loop {
            if self.gc_needed.load(Ordering::Relaxed) {
                self.collect();
            }
            if self.gc_requested.load(Ordering::SeqCst) {
                let mut g = self.gc_wait.lock().unwrap_or_else(|e| e.into_inner());
                while self.gc_requested.load(Ordering::SeqCst) {
                    g = self.gc_cv.wait(g).unwrap_or_else(|e| e.into_inner());
                }
                continue;
            }
            me.active.store(true, Ordering::SeqCst);
            if self.gc_requested.load(Ordering::SeqCst) {
                me.active.store(false, Ordering::SeqCst);
                continue;
            }
            return;
        }
    }

    /// Called by a thread after its transaction ended.
    pub(crate) fn leave(&self, slot: usize) {
        // Release suffices: the collector's SeqCst (hence acquire) load that
        // reads `false` then happens-after everything this transaction did.
        self.slots[slot].active.store(false, Ordering::Release);
    }

    /// Moves a thread heap's allocation count into the global one every
    /// 256 KiB (so allocating touches no shared cache line in between).
    #[inline]
    pub(crate) fn flush_alloc(&self, heap: &mut ThreadHeap) {
        if heap.unflushed >= 256 << 10 {
            let b = heap.unflushed;
            heap.unflushed = 0;
            self.note_alloc(b);
        }
    }

    pub(crate) fn note_alloc(&self, bytes: usize) {
        let total = self.alloc_since_gc.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if total > self.gc_threshold.load(Ordering::Relaxed) {
            self.gc_needed.store(true, Ordering::Relaxed);
        }
    }

    fn wait_inactive(&self) {
        for s in self.slots.iter() {
            let mut n = 0u32;
            while s.active.load(Ordering::SeqCst) {
                n += 1;
                if n < 64 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }

    fn release_safepoint(&self) {
        let _g = self.gc_wait.lock().unwrap_or_else(|e| e.into_inner());
        self.gc_requested.store(false, Ordering::SeqCst);
        self.gc_cv.notify_all();
    }

    /// Becomes the collector (or waits for the current one) and collects if
    /// still needed.
    pub(crate) fn collect(&self) {
        self.collect_with(false, None);
    }

    /// Collects if needed (or always, with `force`), tracing host objects
    /// with `tracer` if given (see [`crate::host`]).
    pub(crate) fn collect_with(&self, force: bool, tracer: Option<&mut dyn HostTracer>) {
        let _g = self.gc_lock.lock().unwrap_or_else(|e| e.into_inner());
        if !force && !self.gc_needed.load(Ordering::SeqCst) {
            return;
        }
        self.gc_requested.store(true, Ordering::SeqCst);
        self.wait_inactive();
        // SAFETY: every slot is inactive and cannot become active until
        // release_safepoint, so the collector owns every heap.
        let live = unsafe { self.mark_and_sweep(tracer) };
        self.alloc_since_gc.store(0, Ordering::Relaxed);
        self.gc_threshold.store(
            self.cfg.gc_threshold_bytes.max(64 << 10).max(live * 2),
            Ordering::Relaxed,
        );
        self.gc_count.fetch_add(1, Ordering::Relaxed);
        self.gc_needed.store(false, Ordering::SeqCst);
        self.release_safepoint();
    }

    /// # Safety
    /// Only at a global safepoint.
    unsafe fn mark_and_sweep(&self, mut tracer: Option<&mut dyn HostTracer>) -> usize {
        let mut idx = HeapIndex::default();
        for s in self.slots.iter() {
            // SAFETY: safepoint (caller).
            unsafe { &*s.heap.get() }.index(&mut idx);
        }
        let mut stack: Vec<ObjRef> = Vec::new();
        let mark = |v: u64, stack: &mut Vec<ObjRef>| {
            if let Some(o) = idx.lookup(v) {
                // SAFETY: lookup returned an allocated object.
                let m = unsafe { o.meta() };
                if m & F_MARK == 0 {
                    // SAFETY: as above; the collector owns the heap.
                    unsafe { o.word(1).store(m | F_MARK, Ordering::Relaxed) };
                    stack.push(o);
                }
            }
        };
        for r in self
            .roots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .flatten()
        {
            mark(*r, &mut stack);
        }
        for s in self.slots.iter() {
            for r in s.roots.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                mark(*r, &mut stack);
            }
        }
        for f in self
            .scanners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            f(&mut |v| mark(v, &mut stack));
        }
        if let Some(t) = tracer.as_mut() {
            t.roots(&mut HostMarker { stack: &mut stack });
        }
        let mut external = 0usize;
        while let Some(o) = stack.pop() {
            // SAFETY: marked objects are allocated.
            let m = unsafe { o.meta() };
            if m & F_HOST != 0 {
                if let Some(t) = tracer.as_mut() {
                    let shape = (m & 0xffff_ffff) as u32;
                    external += t.trace(o, shape, &mut HostMarker { stack: &mut stack });
                }
                continue;
            }
            if m & F_BYTES != 0 {
                continue;
            }
            // SAFETY: as above.
            let n = unsafe { o.len() };
            for i in 0..n {
                // SAFETY: i < payload length.
                let v = unsafe { o.word(HEADER_WORDS + i).load(Ordering::Relaxed) };
                mark(v, &mut stack);
            }
        }
        let mut live = external;
        match tracer {
            Some(t) => {
                t.weak(&|o: ObjRef| {
                    // SAFETY: the tracer only asks about objects it holds
                    // (allocated, not yet swept: sweeping starts below).
                    let m = unsafe { o.meta() };
                    m & F_MARK != 0
                });
                let mut fin = |o: ObjRef, shape: u32| t.finalize(o, shape);
                for s in self.slots.iter() {
                    // SAFETY: safepoint (caller); marking done.
                    live += unsafe { (*s.heap.get()).sweep(Some(&mut fin)) };
                }
            }
            None => {
                for s in self.slots.iter() {
                    // SAFETY: safepoint (caller); marking done.
                    live += unsafe { (*s.heap.get()).sweep(None) };
                }
            }
        }
        live
    }

    pub(crate) fn claim_slot(&self) -> Option<usize> {
        for (i, s) in self.slots.iter().enumerate() {
            if s.in_use
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return Some(i);
            }
        }
        None
    }
}
