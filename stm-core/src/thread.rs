//! Transactions: the per-thread descriptor, the barriers, commit and abort.
//!
//! # The protocol (object-granular TL2 with encounter-time locking)
//!
//! A transaction takes a snapshot timestamp `rv` at begin and keeps
//! `rv_enc = rv << 12 | 0xfff` in its descriptor. `rv` is the newest clock
//! value the thread has seen (its own last commit or extension), not a fresh
//! read of the clock: every past clock value is a valid snapshot, a thread
//! always sees its own commits, and a read of anything committed since simply
//! triggers an extension. Skipping the clock read at begin removes one
//! cross-core cache miss per transaction (measured with
//! `examples/cpu_scaling.rs`: CPU time per transaction with two threads went
//! from ≈ +11 % to ≈ +3 % of the single-thread figure).
//!
//! **Read** of field `i` of `obj`:
//! `h = obj.lock (acquire); if h > rv_enc → slow; v = obj.field[i];
//! fence(acquire); if obj.lock != h → slow; log obj in the read set`.
//! `h <= rv_enc` means "unlocked and committed at or before my snapshot", and
//! the re-check means no writer locked the object while `v` was loaded, so `v`
//! is the value of the committed version `h`, which belongs to the snapshot at
//! `rv`. The slow path handles: objects locked by this transaction (plain
//! load), objects locked by another (contention policy below), and objects
//! newer than `rv` — there it tries a **timestamp extension**: read the clock,
//! validate the whole read set (every entry still `<= rv_enc` or locked by me),
//! and if that holds move `rv` forward and retry; otherwise abort. Every value
//! a transaction sees therefore belongs to one consistent snapshot (opacity):
//! a doomed transaction aborts at the first read that would have shown it an
//! inconsistent state, before the interpreter can act on it.
//!
//! **Write** to `obj`: if `obj.lock == my_lock` store directly (fast path).
//! Otherwise the slow path, once per object per transaction, requires
//! `obj.lock <= rv_enc` (extending if needed), CASes it to `my_lock`, issues a
//! release fence, copies the object's payload into the undo log, and then the
//! store goes **directly into the object** (write-through). Objects with more
//! than 32 fields are locked with the [`FIELD_LOGGED`] flag instead: no
//! payload copy, and each write logs the old value of the one field it
//! overwrites (so a transaction touching one slot of a big array does not
//! copy the array). Readers cannot see
//! the speculative value because of their header re-check; the release fence
//! after the CAS pairs with the readers' acquire fence (seqlock argument): if
//! a reader's field load observed a speculative store, its second header load
//! observes the lock or something later.
//!
//! **Commit** of a writer: CAS the clock `c → c+2` for an even `c` (the odd
//! values belong to the inevitable transaction, see `runtime.rs`), validate
//! the read set unless `rv == c` (nobody committed in between), then store
//! `(c+2) << 12` with release ordering into every locked object. Read-only
//! transactions commit without touching shared memory. **Abort**: copy the
//! undo log back, release each lock with the incarnation bumped (so a reader
//! that raced with the speculative stores fails its re-check, see
//! `object.rs`), free the transaction's allocations.
//!
//! Objects allocated by the transaction are born locked by it, so they need no
//! undo entry and every write to them takes the fast path: the "fresh objects
//! need no barrier" rule of the issue, without a separate nursery.
//!
//! # Why not stmgc's barriers (measured in `benches/barriers.rs`, see README)
//!
//! stmgc's read barrier is one unconditional byte store and its write barrier
//! one flag test, but both rely on each running transaction having its own
//! copy-on-write view of the whole heap (segments remapped with `mmap` and
//! addressed through `%gs`) and on a commit that copies modified objects into
//! every other segment. That is weeks of work, needs `mmap`/`remap_file_pages`
//! style tricks that are hard to make sound in Rust, and its barriers are only
//! cheaper if the segment machinery exists. The TL2 design here keeps a single
//! copy of every object, so its read barrier is longer (two header loads, a
//! compare and a read-set append instead of one store), while its write
//! barrier fast path is the same shape as stmgc's (one load-compare-branch).
//! The benchmark emulates the stmgc fast paths on the same heap to put a number
//! on the difference.
//!
//! # Contention management and progress
//!
//! Conflicts are detected eagerly for writes (the lock) and lazily for reads
//! (validation). When a transaction meets an object locked by another:
//! * if it is itself **inevitable**, it asks the owner to abort and waits; the
//!   owner notices at its next slow path, commit, or `should_break_transaction`
//!   (which is why the interpreter must poll at loop back-edges);
//! * otherwise, if it has aborted more often in a row than the owner ("karma"),
//!   it asks the owner to abort; in all cases it spins/yields for a bounded
//!   number of rounds (longer if the owner is committing or inevitable) and
//!   then **aborts itself**. No transaction waits unboundedly while holding
//!   locks, so there is no deadlock.
//!
//! After an abort the thread backs off for a random time growing with its
//! consecutive aborts, halves its transaction budget, and after
//! `Config::escalate_after_aborts` consecutive aborts it restarts the
//! transaction **inevitable** (waiting, holding no lock, for the token). An
//! inevitable transaction never aborts, so every transaction eventually
//! commits: starvation and livelock are bounded by the escalation threshold.
//!
//! # Inevitable transactions
//!
//! The token is the clock's low bit. [`StmThread::become_inevitable`] takes it
//! (waiting if another thread holds it), then validates the read set — waiting
//! out, and asking to abort, owners of objects it read — and moves `rv` to the
//! token's timestamp; if validation fails it gives the token back, aborts, and
//! the retry starts inevitable from its first instruction, where it cannot
//! fail. While the clock is odd no other writer can commit, so nothing the
//! inevitable transaction reads can change under it and it never needs
//! validation again.

use crate::log::{ConflictKind, ConflictLog};
use crate::object::*;
use crate::runtime::{stripe, Runtime, ST_ACTIVE, ST_COMMITTING, ST_IDLE};
use crate::{StmError, ThreadStats};
use std::marker::PhantomData;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Size of the direct-mapped filter that keeps repeated reads of one object
/// out of the read set.
pub(crate) const FILTER: usize = 64;

/// `status` value: no transaction running.
pub const STATUS_IDLE: u64 = 0;
/// `status` value: a transaction is running.
pub const STATUS_ACTIVE: u64 = 1;
/// `status` value: the transaction was aborted and rolled back by a conflict;
/// the caller must restart from its last transaction start.
pub const STATUS_ABORTED: u64 = 2;
/// `status` value: a guest-visible error (bounds, kind) ended the last
/// `extern "C"` call; the transaction is still running (the next successful
/// call sets [`STATUS_ACTIVE`] again).
pub const STATUS_ERROR: u64 = 3;

struct UndoEntry {
    obj: ObjRef,
    old: u64,
    start: usize,
    len: usize,
    loc: u64,
}

struct Wait {
    start: Option<Instant>,
    spins: u32,
    owner_loc: u64,
}

/// A thread registered with a [`Runtime`]; all transactional operations go
/// through it. Create it with [`Runtime::register_thread`] on the thread that
/// uses it. It is boxed so that machine code can keep a stable pointer to it;
/// the first fields form the descriptor read by the inlined barriers
/// (offsets in [`abi`](crate::abi)).
#[repr(C)]
pub struct StmThread {
    // ---- descriptor for machine code: offsets are part of the JIT contract ----
    pub(crate) rv_enc: u64,
    pub(crate) my_lock: u64,
    pub(crate) status: u64,
    pub(crate) cur_loc: u64,
    pub(crate) work: u64,
    pub(crate) budget: u64,
    /// Bytes reported by `note_external_alloc` not yet added to the
    /// runtime's allocation count.
    external_unflushed: usize,
    pub(crate) filter: [usize; FILTER],
    // ---- private ----
    rt: Runtime,
    slot: usize,
    rv: u64,
    /// Newest clock value this thread has seen (its snapshot source).
    last_clock: u64,
    read_set: Vec<ObjRef>,
    read_locs: Vec<u64>,
    write_set: Vec<UndoEntry>,
    undo: Vec<u64>,
    field_undo: Vec<(ObjRef, usize, u64)>,
    new_objs: Vec<ObjRef>,
    in_tx: bool,
    inevitable: bool,
    atomic_depth: u32,
    commit_soon: bool,
    consecutive_aborts: u32,
    start_inevitable: bool,
    track: bool,
    log: Option<Arc<ConflictLog>>,
    attempt_start: Option<Instant>,
    attempt_start_ns: u64,
    stats: ThreadStats,
    logged: ThreadStats,
    rng: u64,
    last_wv: u64,
    _not_send: PhantomData<*mut ()>,
}

impl Runtime {
    /// Registers the calling thread. Fails with [`StmError::TooManyThreads`]
    /// when all `Config::max_threads` slots are taken.
    pub fn register_thread(&self) -> Result<Box<StmThread>, StmError> {
        let s = &self.shared;
        let slot = s.claim_slot().ok_or(StmError::TooManyThreads)?;
        let budget = s.cfg.initial_budget.max(1);
        Ok(Box::new(StmThread {
            rv_enc: 0,
            my_lock: LOCKED | slot as u64,
            status: STATUS_IDLE,
            cur_loc: 0,
            work: 0,
            budget,
            external_unflushed: 0,
            rt: self.clone(),
            slot,
            rv: 0,
            last_clock: s.clock.0.load(Ordering::Acquire),
            read_set: Vec::with_capacity(256),
            read_locs: Vec::new(),
            filter: [0; FILTER],
            write_set: Vec::with_capacity(64),
            undo: Vec::with_capacity(256),
            field_undo: Vec::new(),
            new_objs: Vec::with_capacity(64),
            in_tx: false,
            inevitable: false,
            atomic_depth: 0,
            commit_soon: false,
            consecutive_aborts: 0,
            start_inevitable: false,
            track: false,
            log: None,
            attempt_start: None,
            attempt_start_ns: 0,
            stats: ThreadStats::default(),
            logged: ThreadStats::default(),
            last_wv: 0,
            rng: 0x9E37_79B9_7F4A_7C15 ^ ((slot as u64 + 1) << 17),
            _not_send: PhantomData,
        }))
    }
}

impl Drop for StmThread {
    fn drop(&mut self) {
        if self.in_tx {
            self.rollback_all();
            self.finish(false);
        }
        self.flush_stats();
        self.slot_ref()
            .roots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.slot_ref().in_use.store(false, Ordering::Release);
    }
}

impl StmThread {
    /// The shared runtime state, with a lifetime detached from `self` so it
    /// can be used while `self` is borrowed mutably (cloning the `Arc` on hot
    /// paths would bounce its reference count between cores).
    #[inline]
    fn shared<'a>(&self) -> &'a crate::runtime::Shared {
        // SAFETY: `self.rt` owns an Arc to the Shared and is never replaced
        // or dropped while `self` is alive; every caller uses the reference
        // only within a method of `self`.
        unsafe { &*Arc::as_ptr(&self.rt.shared) }
    }

    #[inline]
    fn slot_ref(&self) -> &crate::runtime::ThreadSlot {
        &self.rt.shared.slots[self.slot]
    }

    fn current_log(&self) -> Option<Arc<ConflictLog>> {
        if !self.rt.shared.logging.load(Ordering::Relaxed) {
            return None;
        }
        self.rt.shared.log.read().ok().and_then(|g| g.clone())
    }

    /// The runtime this thread belongs to.
    pub fn runtime(&self) -> &Runtime {
        &self.rt
    }

    /// This thread's slot number (the owner id stored in locked objects and
    /// written to the conflict log).
    pub fn slot(&self) -> usize {
        self.slot
    }

    /// Statistics of this thread so far.
    pub fn stats(&self) -> ThreadStats {
        self.stats
    }

    /// Commit timestamp of the last committed transaction of this thread, or
    /// 0 if it wrote nothing (read-only transactions serialise at their
    /// snapshot). Writer timestamps are unique and give the serial order.
    pub fn last_commit_timestamp(&self) -> u64 {
        self.last_wv
    }

    /// Writes this thread's totals since the previous call (or registration)
    /// to the conflict log, if one is open, and flushes it. Also done when the
    /// thread is dropped.
    pub fn flush_stats(&mut self) {
        if let Some(l) = self.log.clone().or_else(|| self.current_log()) {
            let (s, o) = (self.stats, self.logged);
            let delta = ThreadStats {
                commits: s.commits - o.commits,
                aborts: s.aborts - o.aborts,
                pauses: s.pauses - o.pauses,
                commit_ns: s.commit_ns - o.commit_ns,
                abort_ns: s.abort_ns - o.abort_ns,
                pause_ns: s.pause_ns - o.pause_ns,
            };
            l.stats(self.slot, &delta);
            l.flush();
            self.logged = s;
        }
    }

    /// Whether a transaction is running.
    pub fn in_transaction(&self) -> bool {
        self.in_tx
    }

    /// Whether the running transaction is inevitable.
    pub fn is_inevitable(&self) -> bool {
        self.in_tx && self.inevitable
    }

    /// Whether an atomic block is open.
    pub fn is_atomic(&self) -> bool {
        self.atomic_depth > 0
    }

    /// Publishes the guest's current source location as an opaque cookie
    /// (rendered by the marker callback only when a conflict is logged).
    #[inline]
    pub fn set_location(&mut self, cookie: u64) {
        self.cur_loc = cookie;
    }

    /// Pushes a root onto this thread's shadow stack (scanned at collections).
    /// May be called inside a transaction — that is how a new object is kept
    /// alive past its creating transaction's commit, since another thread may
    /// collect right after it. The shadow stack is not transactional: pop
    /// what an aborted attempt pushed.
    pub fn push_root(&mut self, obj: ObjRef) {
        self.slot_ref()
            .roots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(obj.to_bits());
    }

    /// Pops the top of this thread's shadow stack.
    pub fn pop_root(&mut self) -> Option<ObjRef> {
        let v = self
            .slot_ref()
            .roots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()?;
        // SAFETY: only ObjRef bits are pushed.
        unsafe { ObjRef::from_bits(v) }
    }

    /// Empties this thread's shadow stack.
    pub fn clear_roots(&mut self) {
        self.slot_ref()
            .roots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    // ------------------------------------------------------------------
    // transaction boundaries
    // ------------------------------------------------------------------

    /// Starts a transaction. Waits at the safepoint if a collection is
    /// pending (and may run it).
    pub fn begin(&mut self) -> Result<(), StmError> {
        if self.in_tx {
            return Err(StmError::AlreadyInTransaction);
        }
        self.rt.shared.enter(self.slot);
        let slot = self.slot_ref();
        slot.abort_requested.store(0, Ordering::Relaxed);
        slot.karma.store(self.consecutive_aborts, Ordering::Relaxed);
        slot.state.store(ST_ACTIVE, Ordering::Relaxed);
        self.in_tx = true;
        self.status = STATUS_ACTIVE;
        self.work = 0;
        self.commit_soon = false;
        self.filter = [0; FILTER];
        self.track = self.rt.shared.logging.load(Ordering::Relaxed);
        self.log = if self.track { self.current_log() } else { None };
        if self.track {
            self.attempt_start = Some(Instant::now());
            self.attempt_start_ns = self.log.as_ref().map_or(0, |l| l.now_ns());
        }
        if self.start_inevitable
            || self.consecutive_aborts >= self.rt.shared.cfg.escalate_after_aborts
        {
            self.start_inevitable = false;
            let c = self.take_token(false)?;
            self.slot_ref().inevitable.store(true, Ordering::SeqCst);
            self.inevitable = true;
            self.set_rv(c + 1);
        } else {
            // The snapshot is the newest clock value this thread has seen, not
            // a fresh read of the clock: any past clock value is a valid TL2
            // snapshot, and reads of objects committed since then simply
            // extend it. This saves a read of the (contended) clock line per
            // transaction; the thread still sees its own commits.
            self.set_rv(self.last_clock);
        }
        Ok(())
    }

    #[inline]
    fn set_rv(&mut self, rv: u64) {
        self.rv = rv;
        self.rv_enc = version_word(rv, INC_MASK);
        self.last_clock = self.last_clock.max(rv);
    }

    /// Takes the inevitable token (clock c → c+1) and returns `c`. With
    /// `abortable`, honours abort requests while waiting.
    fn take_token(&mut self, abortable: bool) -> Result<u64, StmError> {
        let shared = self.shared();
        let clock = &shared.clock.0;
        let mut w = Wait {
            start: None,
            spins: 0,
            owner_loc: 0,
        };
        loop {
            if abortable {
                self.check_abort_request()?;
            }
            let c = clock.load(Ordering::Acquire);
            if c & 1 == 0 {
                if clock
                    .compare_exchange(c, c + 1, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    let other = w.owner_loc;
                    self.end_wait(w, ConflictKind::Inevitable, other);
                    return Ok(c);
                }
                continue;
            }
            if w.start.is_none() {
                w.start = Some(Instant::now());
                w.owner_loc = self.inevitable_loc();
            }
            w.spins += 1;
            backoff(w.spins);
        }
    }

    fn inevitable_loc(&self) -> u64 {
        if !self.track {
            return 0;
        }
        self.rt
            .shared
            .slots
            .iter()
            .find(|s| s.inevitable.load(Ordering::Relaxed))
            .map_or(0, |s| s.write_loc.load(Ordering::Relaxed))
    }

    /// Makes the running transaction inevitable: it will never abort, and
    /// irreversible actions (I/O) are safe afterwards. At most one transaction
    /// per runtime is inevitable at a time; this waits for the current one.
    /// May fail with [`StmError::Conflict`] (the transaction was rolled back;
    /// its retry starts inevitable and cannot fail here again).
    pub fn become_inevitable(&mut self) -> Result<(), StmError> {
        if !self.in_tx {
            return Err(StmError::NotInTransaction);
        }
        if self.inevitable {
            return Ok(());
        }
        let c = self.take_token(true)?;
        self.slot_ref().inevitable.store(true, Ordering::SeqCst);
        // Validate the read set, waiting out owners of locked entries.
        let mut failed: Option<usize> = None;
        for (k, &obj) in self.read_set.iter().enumerate() {
            let mut spins = 0;
            loop {
                // SAFETY: read-set entries are objects read by this
                // transaction; the collector cannot run before it ends.
                let lv = unsafe { obj.lockword() }.load(Ordering::Acquire);
                if lv <= self.rv_enc || self.is_mine(lv) {
                    break;
                }
                if lv & LOCKED != 0 {
                    if let Some(o) = self.rt.shared.slots.get((lv & OWNER_MASK) as usize) {
                        o.abort_requested
                            .store(ConflictKind::Inevitable.code(), Ordering::Relaxed);
                    }
                    spins += 1;
                    backoff(spins);
                    continue;
                }
                failed = Some(k);
                break;
            }
            if failed.is_some() {
                break;
            }
        }
        if let Some(k) = failed {
            self.slot_ref().inevitable.store(false, Ordering::SeqCst);
            self.rt.shared.clock.0.store(c + 2, Ordering::Release);
            self.start_inevitable = true;
            let (w, r) = self.validation_locs(k);
            return Err(self.conflict_abort(ConflictKind::WriteRead, w, r));
        }
        self.inevitable = true;
        self.set_rv(c + 1);
        self.read_set.clear();
        self.read_locs.clear();
        Ok(())
    }

    /// Commits the running transaction. On [`StmError::Conflict`] it has been
    /// rolled back and the caller restarts it. Inside an atomic block this is
    /// an error ([`StmError::InAtomicBlock`]).
    pub fn commit(&mut self) -> Result<(), StmError> {
        if !self.in_tx {
            return Err(StmError::NotInTransaction);
        }
        if self.atomic_depth > 0 {
            return Err(StmError::InAtomicBlock);
        }
        self.commit_inner()
    }

    fn commit_inner(&mut self) -> Result<(), StmError> {
        let shared = self.shared();
        let clock = &shared.clock.0;
        if self.inevitable {
            let c = clock.load(Ordering::Relaxed);
            let wv = c + 1;
            clock.store(wv, Ordering::Release);
            self.release_all(wv);
            self.last_wv = wv;
            self.slot_ref().inevitable.store(false, Ordering::SeqCst);
        } else if self.write_set.is_empty() {
            // Read-only (possibly with private allocations): nothing to
            // publish; fresh objects get any past timestamp.
            let v = self.rv & !1;
            self.release_all(v);
            self.last_wv = 0;
        } else {
            self.slot_ref()
                .state
                .store(ST_COMMITTING, Ordering::Relaxed);
            let mut w = Wait {
                start: None,
                spins: 0,
                owner_loc: 0,
            };
            let wv = loop {
                let code = self.slot_ref().abort_requested.load(Ordering::Relaxed);
                if code != 0 {
                    let other = self.inevitable_loc();
                    self.end_wait(w, ConflictKind::Inevitable, other);
                    let me = self.cur_loc;
                    return Err(self.conflict_abort(ConflictKind::from_code(code), other, me));
                }
                let c = clock.load(Ordering::Acquire);
                if c & 1 == 0 {
                    if clock
                        .compare_exchange(c, c + 2, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                    {
                        break c + 2;
                    }
                    continue;
                }
                if w.start.is_none() {
                    w.start = Some(Instant::now());
                    w.owner_loc = self.inevitable_loc();
                }
                w.spins += 1;
                backoff(w.spins);
            };
            let other = w.owner_loc;
            self.end_wait(w, ConflictKind::Inevitable, other);
            if self.rv + 2 != wv {
                if let Err(k) = self.validate() {
                    let (wl, rl) = self.validation_locs(k);
                    return Err(self.conflict_abort(ConflictKind::WriteRead, wl, rl));
                }
            }
            if self.track {
                for e in &self.write_set {
                    shared.writer_locs[stripe(e.obj)].store(e.loc, Ordering::Relaxed);
                }
            }
            self.release_all(wv);
            self.last_wv = wv;
        }
        self.stats.commits += 1;
        self.last_clock = self.last_clock.max(self.last_wv);
        if let Some(t) = self.attempt_start {
            self.stats.commit_ns += t.elapsed().as_nanos() as u64;
        }
        self.consecutive_aborts = 0;
        let b = self.budget;
        self.budget = (b + b / 16 + 16).min(self.rt.shared.cfg.max_budget.max(1));
        self.finish(true);
        Ok(())
    }

    /// Releases every lock this transaction holds with version `wv`.
    fn release_all(&mut self, wv: u64) {
        let word = version_word(wv, 0);
        for e in &self.write_set {
            // SAFETY: locked by us, hence live.
            unsafe { e.obj.lockword() }.store(word, Ordering::Release);
        }
        for o in &self.new_objs {
            // SAFETY: allocated by us in this transaction.
            unsafe { o.lockword() }.store(word, Ordering::Release);
        }
    }

    fn finish(&mut self, _committed: bool) {
        self.read_set.clear();
        self.read_locs.clear();
        self.write_set.clear();
        self.undo.clear();
        self.field_undo.clear();
        self.new_objs.clear();
        self.in_tx = false;
        self.inevitable = false;
        self.atomic_depth = 0;
        self.status = STATUS_IDLE;
        self.rv_enc = 0;
        self.attempt_start = None;
        let slot = self.slot_ref();
        if slot.inevitable.load(Ordering::Relaxed) {
            slot.inevitable.store(false, Ordering::Release);
        }
        slot.state.store(ST_IDLE, Ordering::Relaxed);
        self.rt.shared.leave(self.slot);
    }

    /// Undoes all effects of the running transaction and ends it, without
    /// counting it as a conflict (use it when the guest abandons the work, e.g.
    /// on an error). Does nothing outside a transaction.
    pub fn rollback(&mut self) {
        if self.in_tx {
            self.rollback_all();
            self.finish(false);
        }
    }

    /// Aborts the running transaction as a conflict would (it is logged as
    /// `explicit`); returns [`StmError::Conflict`] so callers can `?` it and
    /// have [`StmThread::atomically`] retry.
    pub fn abort(&mut self) -> StmError {
        if !self.in_tx {
            return StmError::NotInTransaction;
        }
        self.conflict_abort(ConflictKind::Explicit, 0, self.cur_loc)
    }

    fn rollback_all(&mut self) {
        let shared = self.shared();
        if self.inevitable {
            let c = shared.clock.0.load(Ordering::Relaxed);
            shared.clock.0.store(c + 1, Ordering::Release);
            self.slot_ref().inevitable.store(false, Ordering::SeqCst);
            self.inevitable = false;
        }
        for &(obj, i, v) in self.field_undo.iter().rev() {
            // SAFETY: locked by us; i was bounds-checked when logged.
            unsafe { obj.word(HEADER_WORDS + i) }.store(v, Ordering::Relaxed);
        }
        for e in self.write_set.iter().rev() {
            for i in 0..e.len {
                // SAFETY: locked by us, payload of e.len words.
                unsafe { e.obj.word(HEADER_WORDS + i) }
                    .store(self.undo[e.start + i], Ordering::Relaxed);
            }
            let next = if e.old & INC_MASK != INC_MASK {
                e.old + 1
            } else {
                // Incarnation wraps: take a fresh timestamp if possible.
                let c = shared.clock.0.load(Ordering::Acquire);
                if c & 1 == 0
                    && shared
                        .clock
                        .0
                        .compare_exchange(c, c + 2, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                {
                    version_word(c + 2, 0)
                } else {
                    e.old & !INC_MASK
                }
            };
            // SAFETY: as above.
            unsafe { e.obj.lockword() }.store(next, Ordering::Release);
        }
        // SAFETY: we are active (in a transaction), so the collector is
        // excluded and this slot's heap is ours.
        let heap = unsafe { &mut *self.slot_ref().heap.get() };
        for o in self.new_objs.drain(..) {
            // SAFETY: allocated by this transaction from this heap, never
            // published.
            unsafe { heap.free_now(o) };
        }
    }

    /// Aborts because of a conflict: rolls back, logs, adapts, backs off.
    fn conflict_abort(&mut self, kind: ConflictKind, loc1: u64, loc2: u64) -> StmError {
        self.rollback_all();
        self.stats.aborts += 1;
        if let Some(t) = self.attempt_start {
            let lost = t.elapsed().as_nanos() as u64;
            self.stats.abort_ns += lost;
            if let Some(l) = &self.log {
                let s = &self.rt.shared;
                l.event(
                    'A',
                    self.slot,
                    kind,
                    self.attempt_start_ns,
                    lost,
                    &s.marker_text(loc1),
                    &s.marker_text(loc2),
                );
            }
        }
        if kind != ConflictKind::Explicit {
            self.consecutive_aborts += 1;
            self.budget = (self.budget / 2).max(self.rt.shared.cfg.min_budget.max(1));
        }
        self.finish(false);
        self.status = STATUS_ABORTED;
        // Randomised exponential backoff.
        let n = self.consecutive_aborts.min(10);
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let spins = self.rng % (16u64 << n);
        for _ in 0..spins {
            std::hint::spin_loop();
        }
        if n > 3 {
            std::thread::yield_now();
        }
        StmError::Conflict
    }

    fn check_abort_request(&mut self) -> Result<(), StmError> {
        if self.inevitable {
            return Ok(());
        }
        let code = self.slot_ref().abort_requested.load(Ordering::Relaxed);
        if code == 0 {
            return Ok(());
        }
        let kind = ConflictKind::from_code(code);
        let other = if kind == ConflictKind::Inevitable {
            self.inevitable_loc()
        } else {
            0
        };
        Err(self.conflict_abort(kind, other, self.cur_loc))
    }

    fn end_wait(&mut self, w: Wait, kind: ConflictKind, other: u64) {
        if let Some(t) = w.start {
            let d = t.elapsed().as_nanos() as u64;
            self.stats.pause_ns += d;
            self.stats.pauses += 1;
            if let Some(l) = &self.log {
                let s = &self.rt.shared;
                let start = l.now_ns().saturating_sub(d);
                l.event(
                    'P',
                    self.slot,
                    kind,
                    start,
                    d,
                    &s.marker_text(other),
                    &s.marker_text(self.cur_loc),
                );
            }
        }
    }

    /// Locations for a validation failure at read-set index `k`:
    /// (writer, reader).
    fn validation_locs(&self, k: usize) -> (u64, u64) {
        if !self.track {
            return (0, 0);
        }
        let w = match self.read_set.get(k) {
            Some(&o) => self.rt.shared.writer_locs[stripe(o)].load(Ordering::Relaxed),
            None => 0,
        };
        (w, self.read_locs.get(k).copied().unwrap_or(0))
    }

    /// Validates the read set against `rv`; `Err(k)` names a failing entry.
    fn validate(&self) -> Result<(), usize> {
        for (k, &o) in self.read_set.iter().enumerate() {
            // SAFETY: read-set entries are live objects read by this
            // transaction (the collector cannot run before it ends).
            let lv = unsafe { o.lockword() }.load(Ordering::Acquire);
            if lv > self.rv_enc && !self.is_mine(lv) {
                return Err(k);
            }
        }
        Ok(())
    }

    /// Timestamp extension; on failure aborts (write-read) and returns the error.
    fn extend(&mut self) -> Result<(), StmError> {
        if self.inevitable {
            // Nobody else can commit while we hold the token; just catch up.
            let c = self.rt.shared.clock.0.load(Ordering::Acquire);
            self.set_rv(c | 1);
            return Ok(());
        }
        let now = self.rt.shared.clock.0.load(Ordering::Acquire);
        match self.validate() {
            Ok(()) => {
                self.set_rv(now);
                Ok(())
            }
            Err(k) => {
                let (w, r) = self.validation_locs(k);
                Err(self.conflict_abort(ConflictKind::WriteRead, w, r))
            }
        }
    }

    /// Contention on an object locked by another transaction. `Ok` = retry
    /// the access, `Err` = this transaction aborted.
    fn contend(&mut self, lv: u64, write: bool, w: &mut Wait) -> Result<(), StmError> {
        if w.start.is_none() {
            w.start = Some(Instant::now());
        }
        w.spins += 1;
        let shared = self.shared();
        let Some(owner) = shared.slots.get((lv & OWNER_MASK) as usize) else {
            return Err(self.conflict_abort(ConflictKind::WriteRead, 0, self.cur_loc));
        };
        let kind = if write {
            ConflictKind::WriteWrite
        } else {
            ConflictKind::WriteRead
        };
        if self.track {
            w.owner_loc = owner.write_loc.load(Ordering::Relaxed);
        }
        if self.inevitable {
            owner
                .abort_requested
                .store(ConflictKind::Inevitable.code(), Ordering::Relaxed);
            backoff(w.spins);
            return Ok(());
        }
        self.check_abort_request()?;
        let owner_inev = owner.inevitable.load(Ordering::Relaxed);
        let committing = owner.state.load(Ordering::Relaxed) == ST_COMMITTING;
        if !owner_inev
            && !committing
            && self.consecutive_aborts > owner.karma.load(Ordering::Relaxed)
        {
            owner.abort_requested.store(kind.code(), Ordering::Relaxed);
        }
        let base = shared.cfg.lock_wait_limit;
        let limit = if owner_inev || committing {
            base.saturating_mul(20)
        } else {
            base
        };
        if w.spins > limit {
            let k = if owner_inev {
                ConflictKind::Inevitable
            } else {
                kind
            };
            let other = owner.write_loc.load(Ordering::Relaxed);
            let me = self.cur_loc;
            let d = w.start.take().map_or(0, |t| t.elapsed().as_nanos() as u64);
            self.stats.pause_ns += d;
            return Err(self.conflict_abort(k, other, me));
        }
        backoff(w.spins);
        Ok(())
    }

    // ------------------------------------------------------------------
    // transaction length, atomic blocks, retry loop
    // ------------------------------------------------------------------

    /// Adds `n` units of work (e.g. one per bytecode) to the running
    /// transaction, for [`StmThread::should_break_transaction`].
    #[inline]
    pub fn add_work(&mut self, n: u64) {
        self.work = self.work.wrapping_add(n);
    }

    /// Whether the interpreter should end the transaction at this break point:
    /// the work budget (adapted: halved after each abort, grown slowly after
    /// commits) is used up, `hint_commit_soon` was called, another transaction
    /// asked this one to abort, or a collection is pending. Always false inside
    /// an atomic block or outside a transaction.
    #[inline]
    pub fn should_break_transaction(&self) -> bool {
        self.in_tx
            && self.atomic_depth == 0
            && (self.work >= self.budget
                || self.commit_soon
                || self.slot_ref().abort_requested.load(Ordering::Relaxed) != 0
                || self.rt.shared.gc_needed.load(Ordering::Relaxed))
    }

    /// Asks for the transaction to end at the next break point.
    pub fn hint_commit_soon(&mut self) {
        self.commit_soon = true;
    }

    /// Current work budget of a transaction on this thread.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// A transaction break point: commits and starts the next transaction.
    /// Inside an atomic block it does nothing. On [`StmError::Conflict`] the
    /// transaction was rolled back and **no** new one was started: the caller
    /// restores its state from the last successful break and calls `begin`.
    pub fn break_transaction(&mut self) -> Result<(), StmError> {
        if !self.in_tx {
            return Err(StmError::NotInTransaction);
        }
        if self.atomic_depth > 0 {
            return Ok(());
        }
        self.commit_inner()?;
        self.begin()
    }

    /// Opens an atomic block (nestable): no transaction break happens until
    /// the matching [`StmThread::atomic_exit`].
    pub fn atomic_enter(&mut self) -> Result<(), StmError> {
        if !self.in_tx {
            return Err(StmError::NotInTransaction);
        }
        self.atomic_depth += 1;
        Ok(())
    }

    /// Closes an atomic block.
    pub fn atomic_exit(&mut self) -> Result<(), StmError> {
        if self.atomic_depth == 0 {
            return Err(StmError::NotInAtomicBlock);
        }
        self.atomic_depth -= 1;
        Ok(())
    }

    /// Runs `f` as one transaction, retrying it after conflicts until it
    /// commits. An object returned out of `f` must already be reachable from
    /// a root (see [`StmThread::push_root`]) if other threads may collect. Called inside a transaction, runs `f` as a nested atomic block
    /// of the enclosing transaction (flattened nesting: a conflict aborts and
    /// retries the outermost `atomically`). Errors other than
    /// [`StmError::Conflict`] roll the transaction back and are returned.
    pub fn atomically<T>(
        &mut self,
        mut f: impl FnMut(&mut StmThread) -> Result<T, StmError>,
    ) -> Result<T, StmError> {
        if self.in_tx {
            self.atomic_depth += 1;
            let r = f(self);
            if self.in_tx {
                self.atomic_depth = self.atomic_depth.saturating_sub(1);
            }
            return r;
        }
        loop {
            self.begin()?;
            self.atomic_depth = 1;
            let r = f(self);
            if self.in_tx {
                self.atomic_depth = 0;
            }
            match r {
                Ok(v) => {
                    if !self.in_tx {
                        // The closure swallowed a conflict: retry.
                        continue;
                    }
                    match self.commit_inner() {
                        Ok(()) => return Ok(v),
                        Err(StmError::Conflict) => continue,
                        Err(e) => return Err(e),
                    }
                }
                Err(StmError::Conflict) => {
                    self.rollback();
                    continue;
                }
                Err(e) => {
                    self.rollback();
                    return Err(e);
                }
            }
        }
    }

    // ------------------------------------------------------------------
    // allocation and field access
    // ------------------------------------------------------------------

    fn check_tx(&self) -> Result<(), StmError> {
        if self.in_tx {
            Ok(())
        } else {
            Err(StmError::NotInTransaction)
        }
    }

    fn alloc_raw(&mut self, low: u64, nwords: usize, flags: u64) -> Result<ObjRef, StmError> {
        let obj = self.alloc_cell(low, nwords, flags, self.my_lock, true)?;
        self.new_objs.push(obj);
        self.work = self.work.wrapping_add(nwords as u64 + HEADER_WORDS as u64);
        Ok(obj)
    }

    /// Allocates a cell with `nwords` payload words from this thread's heap
    /// (word and host objects alike).
    #[inline]
    fn alloc_cell(
        &mut self,
        low: u64,
        nwords: usize,
        flags: u64,
        lockword: u64,
        zero: bool,
    ) -> Result<ObjRef, StmError> {
        self.check_tx()?;
        if nwords > MAX_FIELDS {
            return Err(StmError::TooLarge);
        }
        let meta = low | ((nwords as u64) << META_LEN_SHIFT) | flags;
        // SAFETY: we are in a transaction (active), so the collector is
        // excluded and the slot's heap belongs to this thread.
        let heap = unsafe { &mut *self.rt.shared.slots[self.slot].heap.get() };
        let obj = heap
            .alloc(nwords + HEADER_WORDS, meta, lockword, zero)
            .ok_or(StmError::OutOfMemory)?;
        self.rt.shared.flush_alloc(heap);
        Ok(obj)
    }

    /// Allocates an object of shape `shape` with `nfields` zeroed fields. Its
    /// fields are scanned by the collector. Freed if the transaction aborts.
    pub fn alloc(&mut self, shape: u32, nfields: usize) -> Result<ObjRef, StmError> {
        self.alloc_raw(shape as u64, nfields, 0)
    }

    /// Allocates a host object (see [`crate::host`]) of shape `shape` with
    /// room for `bytes` bytes of payload at [`ObjRef::payload`] (8-byte
    /// aligned, uninitialised: the caller writes its value there before the
    /// next collection). Needs a running transaction. Not freed if the
    /// transaction aborts; the next [`StmThread::collect_with`] finalizes it
    /// when unreachable.
    #[inline]
    pub fn alloc_host(&mut self, shape: u32, bytes: usize) -> Result<ObjRef, StmError> {
        let nwords = bytes.div_ceil(8).max(1);
        self.alloc_cell(shape as u64, nwords, F_HOST, version_word(0, 0), false)
    }

    /// Counts `bytes` of memory owned by host objects outside the heap (e.g.
    /// a table's grown parts) towards the allocation volume that triggers
    /// collections.
    #[inline]
    pub fn note_external_alloc(&mut self, bytes: usize) {
        // Counted here, not in the heap's own counter: this may be called
        // outside a transaction, while another thread's collector owns the
        // heap.
        self.external_unflushed = self.external_unflushed.saturating_add(bytes);
        if self.external_unflushed >= 256 << 10 {
            let b = std::mem::take(&mut self.external_unflushed);
            self.rt.shared.note_alloc(b);
        }
    }

    /// Whether the allocation volume since the last collection has passed the
    /// threshold (the interpreter should reach a safepoint and collect).
    #[inline]
    pub fn gc_pending(&self) -> bool {
        self.rt.shared.gc_needed.load(Ordering::Relaxed)
    }

    /// Runs a full collection now, tracing host objects with `tracer` (its
    /// roots, their references, weak references, finalization; see
    /// [`crate::host`]). Must be called outside a transaction; waits for other
    /// threads to reach the safepoint between their transactions.
    pub fn collect_with(&mut self, tracer: &mut dyn crate::HostTracer) -> Result<(), StmError> {
        if self.in_tx {
            return Err(StmError::AlreadyInTransaction);
        }
        self.rt.shared.collect_with(true, Some(tracer));
        Ok(())
    }

    /// Allocates a zeroed byte buffer of `len` bytes (never scanned).
    pub fn alloc_bytes(&mut self, len: usize) -> Result<ObjRef, StmError> {
        if len > u32::MAX as usize {
            return Err(StmError::TooLarge);
        }
        self.alloc_raw(len as u64, len.div_ceil(8), F_BYTES)
    }

    /// The shape id given at allocation (for byte buffers: the length).
    pub fn shape_of(&self, obj: ObjRef) -> u32 {
        // SAFETY: ObjRef contract: live object; meta is immutable while live.
        (unsafe { obj.meta() } & 0xffff_ffff) as u32
    }

    /// Number of fields (payload words) of `obj`.
    pub fn field_count(&self, obj: ObjRef) -> usize {
        // SAFETY: ObjRef contract.
        unsafe { obj.len() }
    }

    /// Whether `obj` is a byte buffer.
    pub fn is_bytes(&self, obj: ObjRef) -> bool {
        // SAFETY: ObjRef contract.
        (unsafe { obj.meta() } & F_BYTES) != 0
    }

    /// Reads field `i` of `obj` through the read barrier.
    #[inline]
    pub fn read(&mut self, obj: ObjRef, i: usize) -> Result<u64, StmError> {
        // SAFETY: ObjRef contract (live object); `i` is checked against the
        // immutable field count before the field is touched.
        unsafe {
            let lw = obj.lockword();
            let h = lw.load(Ordering::Acquire);
            if h <= self.rv_enc && i < obj.len() {
                let v = obj.word(HEADER_WORDS + i).load(Ordering::Relaxed);
                fence(Ordering::Acquire);
                if lw.load(Ordering::Relaxed) == h {
                    self.log_read(obj);
                    return Ok(v);
                }
            }
        }
        self.read_slow(obj, i)
    }

    #[inline]
    pub(crate) fn log_read(&mut self, obj: ObjRef) {
        let a = obj.as_ptr() as usize;
        let k = (a >> 4) & (FILTER - 1);
        if self.filter[k] != a {
            self.filter[k] = a;
            // An inevitable transaction is never validated again: no log.
            if !self.inevitable {
                self.read_set.push(obj);
                if self.track {
                    self.read_locs.push(self.cur_loc);
                }
            }
        }
    }

    /// The read barrier's slow path.
    #[inline(never)]
    pub(crate) fn read_slow(&mut self, obj: ObjRef, i: usize) -> Result<u64, StmError> {
        self.check_tx()?;
        // SAFETY: ObjRef contract.
        let len = unsafe { obj.len() };
        if i >= len {
            return Err(StmError::FieldOutOfBounds { index: i, len });
        }
        self.work = self.work.wrapping_add(1);
        // SAFETY: ObjRef contract.
        let lw = unsafe { obj.lockword() };
        let mut w = Wait {
            start: None,
            spins: 0,
            owner_loc: 0,
        };
        loop {
            self.check_abort_request()?;
            let h = lw.load(Ordering::Acquire);
            if self.is_mine(h) {
                self.end_wait(w, ConflictKind::WriteRead, 0);
                // SAFETY: locked by us; i < len.
                return Ok(unsafe { obj.word(HEADER_WORDS + i) }.load(Ordering::Relaxed));
            }
            if h & LOCKED != 0 {
                self.contend(h, false, &mut w)?;
                continue;
            }
            if h > self.rv_enc {
                self.extend()?;
                continue;
            }
            // SAFETY: i < len.
            let v = unsafe { obj.word(HEADER_WORDS + i) }.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if lw.load(Ordering::Relaxed) != h {
                continue;
            }
            let other = w.owner_loc;
            self.end_wait(w, ConflictKind::WriteRead, other);
            self.log_read(obj);
            return Ok(v);
        }
    }

    /// Writes field `i` of `obj` through the write barrier.
    #[inline]
    pub fn write(&mut self, obj: ObjRef, i: usize, v: u64) -> Result<(), StmError> {
        // SAFETY: ObjRef contract; `i` is bounds-checked first; an object whose
        // lock word is `my_lock` is owned by this transaction (write-through).
        unsafe {
            if obj.lockword().load(Ordering::Relaxed) == self.my_lock && i < obj.len() {
                obj.word(HEADER_WORDS + i).store(v, Ordering::Relaxed);
                return Ok(());
            }
        }
        self.write_slow(obj, i, v)
    }

    #[inline(never)]
    pub(crate) fn write_slow(&mut self, obj: ObjRef, i: usize, v: u64) -> Result<(), StmError> {
        self.check_tx()?;
        // SAFETY: ObjRef contract.
        let len = unsafe { obj.len() };
        if i >= len {
            return Err(StmError::FieldOutOfBounds { index: i, len });
        }
        let field_logged = self.write_barrier_slow(obj)?;
        // SAFETY: locked by us now; i < len.
        let f = unsafe { obj.word(HEADER_WORDS + i) };
        if field_logged {
            self.field_undo.push((obj, i, f.load(Ordering::Relaxed)));
        }
        f.store(v, Ordering::Relaxed);
        Ok(())
    }

    #[inline]
    fn is_mine(&self, h: u64) -> bool {
        h & !FIELD_LOGGED == self.my_lock
    }

    /// The write barrier's slow path: acquires ownership of `obj` for this
    /// transaction and saves its payload for rollback. Returns `true` for a
    /// large object whose writes must each log the old field value instead.
    #[inline(never)]
    pub(crate) fn write_barrier_slow(&mut self, obj: ObjRef) -> Result<bool, StmError> {
        self.check_tx()?;
        self.work = self.work.wrapping_add(1);
        // SAFETY: ObjRef contract.
        let lw = unsafe { obj.lockword() };
        let mut w = Wait {
            start: None,
            spins: 0,
            owner_loc: 0,
        };
        loop {
            self.check_abort_request()?;
            let h = lw.load(Ordering::Acquire);
            if h == self.my_lock {
                return Ok(false);
            }
            if h == self.my_lock | FIELD_LOGGED {
                return Ok(true);
            }
            if h & LOCKED != 0 {
                self.contend(h, true, &mut w)?;
                continue;
            }
            if h > self.rv_enc {
                self.extend()?;
                continue;
            }
            // SAFETY: ObjRef contract; the field count is immutable.
            let field_logged = unsafe { obj.len() } > FIELD_UNDO_MIN_FIELDS;
            let mine = if field_logged {
                self.my_lock | FIELD_LOGGED
            } else {
                self.my_lock
            };
            if lw
                .compare_exchange(h, mine, Ordering::AcqRel, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            // Seqlock writer side: the lock must be visible before any
            // speculative store (pairs with the readers' acquire fence).
            fence(Ordering::Release);
            let other = w.owner_loc;
            self.end_wait(w, ConflictKind::WriteWrite, other);
            let len = if field_logged {
                0
            } else {
                // SAFETY: live object, locked by us.
                unsafe { obj.len() }
            };
            let start = self.undo.len();
            for k in 0..len {
                // SAFETY: k < len.
                self.undo
                    .push(unsafe { obj.word(HEADER_WORDS + k) }.load(Ordering::Relaxed));
            }
            if self.track {
                self.slot_ref()
                    .write_loc
                    .store(self.cur_loc, Ordering::Relaxed);
            }
            self.write_set.push(UndoEntry {
                obj,
                old: h,
                start,
                len,
                loc: self.cur_loc,
            });
            return Ok(field_logged);
        }
    }

    /// Byte length of a byte buffer.
    pub fn bytes_len(&self, obj: ObjRef) -> Result<usize, StmError> {
        if !self.is_bytes(obj) {
            return Err(StmError::WrongKind);
        }
        Ok(self.shape_of(obj) as usize)
    }

    /// Reads the whole content of a byte buffer.
    pub fn read_bytes(&mut self, obj: ObjRef) -> Result<Vec<u8>, StmError> {
        let n = self.bytes_len(obj)?;
        let mut out = Vec::with_capacity(n);
        for wi in 0..n.div_ceil(8) {
            let w = self.read(obj, wi)?.to_le_bytes();
            let take = (n - wi * 8).min(8);
            out.extend_from_slice(&w[..take]);
        }
        Ok(out)
    }

    /// Overwrites `data.len()` bytes of a byte buffer starting at `offset`.
    pub fn write_bytes(&mut self, obj: ObjRef, offset: usize, data: &[u8]) -> Result<(), StmError> {
        let n = self.bytes_len(obj)?;
        let end = offset.checked_add(data.len()).ok_or(StmError::TooLarge)?;
        if end > n {
            return Err(StmError::FieldOutOfBounds { index: end, len: n });
        }
        let mut pos = offset;
        while pos < end {
            let wi = pos / 8;
            let mut w = self.read(obj, wi)?.to_le_bytes();
            let lo = pos % 8;
            let take = (8 - lo).min(end - pos);
            w[lo..lo + take].copy_from_slice(&data[pos - offset..pos - offset + take]);
            self.write(obj, wi, u64::from_le_bytes(w))?;
            pos += take;
        }
        Ok(())
    }
}

#[inline]
fn backoff(spins: u32) {
    if spins < 16 {
        for _ in 0..(1u32 << spins.min(6)) {
            std::hint::spin_loop();
        }
    } else {
        std::thread::yield_now();
    }
}

// Silence "unused" for the idle state constant used only for documentation.
const _: u8 = ST_IDLE;
