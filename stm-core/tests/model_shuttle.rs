//! Model checks of the core protocols with shuttle (randomised and PCT
//! schedulers over thread interleavings; runs under plain `cargo test`).
//!
//! The runtime's atomics are `std` atomics, so the model re-states the
//! protocol of `src/thread.rs` step by step over shuttle's atomics, with the
//! same encodings (clock low bit = inevitable token, lock word =
//! `1<<63 | slot` or `version << 12 | incarnation`) and the same orderings:
//! * read: load lock (Acquire) ≤ rv_enc, load value, fence(Acquire), re-check;
//!   timestamp extension by validating the read set;
//! * write: CAS the lock (extension first if too new), fence(Release), undo;
//! * commit: CAS the clock c → c+2 for even c only, validate unless rv+2 == wv,
//!   release locks with the new version; abort: restore, bump incarnation;
//! * inevitable: CAS c → c+1, validate (waiting for owners, asking them to
//!   abort), never abort afterwards; commit by storing c+2;
//! * snapshots: a transaction starts from the newest clock value its thread
//!   has seen (not a fresh clock read), as the runtime does.
//!
//! Shuttle explores interleavings under sequential consistency; the weak-memory
//! argument (fences, TSO) is made in `abi.rs`/`thread.rs` and not checked here
//! (loom would be needed for that).

use shuttle::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8, Ordering::*};
use shuttle::sync::Arc;
use shuttle::thread;

const LOCKED: u64 = 1 << 63;
const INC: u32 = 12;
const INC_MASK: u64 = (1 << INC) - 1;

struct Obj {
    lock: AtomicU64,
    val: AtomicU64,
}

struct World {
    clock: AtomicU64,
    objs: Vec<Obj>,
    abort_req: Vec<AtomicU8>,
    /// Per thread: newest clock value seen (the runtime's `last_clock`); only
    /// its own thread touches it.
    last_clock: Vec<AtomicU64>,
    inevitable_running: AtomicBool,
}

impl World {
    fn new(vals: &[u64], threads: usize) -> Arc<World> {
        Arc::new(World {
            clock: AtomicU64::new(2),
            objs: vals
                .iter()
                .map(|&v| Obj {
                    lock: AtomicU64::new(2 << INC),
                    val: AtomicU64::new(v),
                })
                .collect(),
            abort_req: (0..threads).map(|_| AtomicU8::new(0)).collect(),
            last_clock: (0..threads).map(|_| AtomicU64::new(2)).collect(),
            inevitable_running: AtomicBool::new(false),
        })
    }
}

#[derive(Debug)]
struct Abort;

struct Tx<'w> {
    w: &'w World,
    slot: usize,
    my: u64,
    rv: u64,
    reads: Vec<usize>,
    undo: Vec<(usize, u64, u64)>,
    inevitable: bool,
}

impl<'w> Tx<'w> {
    fn begin(w: &'w World, slot: usize, inevitable: bool) -> Tx<'w> {
        w.abort_req[slot].store(0, SeqCst);
        let mut t = Tx {
            w,
            slot,
            my: LOCKED | slot as u64,
            rv: 0,
            reads: vec![],
            undo: vec![],
            inevitable: false,
        };
        if inevitable {
            let c = t.take_token();
            t.enter_inevitable(c);
        } else {
            // Stale snapshot, as in the runtime: the newest value seen.
            t.rv = w.last_clock[slot].load(Relaxed);
        }
        t
    }
    fn saw(&self, c: u64) {
        let l = &self.w.last_clock[self.slot];
        l.store(l.load(Relaxed).max(c), Relaxed);
    }
    fn rv_enc(&self) -> u64 {
        (self.rv << INC) | INC_MASK
    }
    fn take_token(&self) -> u64 {
        loop {
            let c = self.w.clock.load(Acquire);
            if c & 1 == 0
                && self
                    .w
                    .clock
                    .compare_exchange(c, c + 1, AcqRel, Relaxed)
                    .is_ok()
            {
                return c;
            }
            thread::yield_now();
        }
    }
    fn enter_inevitable(&mut self, c: u64) {
        assert!(
            !self.w.inevitable_running.swap(true, SeqCst),
            "two inevitable transactions at once"
        );
        self.inevitable = true;
        self.rv = c + 1;
    }
    fn check_req(&self) -> Result<(), Abort> {
        if !self.inevitable && self.w.abort_req[self.slot].load(SeqCst) != 0 {
            return Err(Abort);
        }
        Ok(())
    }
    fn validate(&self) -> bool {
        self.reads.iter().all(|&i| {
            let l = self.w.objs[i].lock.load(Acquire);
            l <= self.rv_enc() || l == self.my
        })
    }
    fn extend(&mut self) -> Result<(), Abort> {
        let now = self.w.clock.load(Acquire);
        if self.inevitable {
            self.rv = now | 1;
            return Ok(());
        }
        if self.validate() {
            self.rv = now;
            self.saw(now);
            Ok(())
        } else {
            Err(Abort)
        }
    }
    fn wait_owner(&self, l: u64) -> Result<(), Abort> {
        if self.inevitable {
            self.w.abort_req[(l & 0xffff) as usize].store(1, SeqCst);
            thread::yield_now();
            Ok(())
        } else {
            // The model's contention policy: abort self at once (the runtime
            // waits a bounded time first, which adds no new interleavings).
            Err(Abort)
        }
    }
    fn read(&mut self, i: usize) -> Result<u64, Abort> {
        let o = &self.w.objs[i];
        loop {
            self.check_req()?;
            let h = o.lock.load(Acquire);
            if h == self.my {
                return Ok(o.val.load(Relaxed));
            }
            if h & LOCKED != 0 {
                self.wait_owner(h)?;
                continue;
            }
            if h > self.rv_enc() {
                self.extend()?;
                continue;
            }
            let v = o.val.load(Relaxed);
            fence(Acquire);
            if o.lock.load(Relaxed) != h {
                continue;
            }
            self.reads.push(i);
            return Ok(v);
        }
    }
    fn write(&mut self, i: usize, v: u64) -> Result<(), Abort> {
        let o = &self.w.objs[i];
        loop {
            self.check_req()?;
            let h = o.lock.load(Acquire);
            if h == self.my {
                break;
            }
            if h & LOCKED != 0 {
                self.wait_owner(h)?;
                continue;
            }
            if h > self.rv_enc() {
                self.extend()?;
                continue;
            }
            if o.lock.compare_exchange(h, self.my, AcqRel, Relaxed).is_ok() {
                fence(Release);
                self.undo.push((i, h, o.val.load(Relaxed)));
                break;
            }
        }
        o.val.store(v, Relaxed);
        Ok(())
    }
    fn become_inevitable(&mut self) -> Result<(), Abort> {
        if self.inevitable {
            return Ok(());
        }
        let c = loop {
            self.check_req()?;
            let c = self.w.clock.load(Acquire);
            if c & 1 == 0
                && self
                    .w
                    .clock
                    .compare_exchange(c, c + 1, AcqRel, Relaxed)
                    .is_ok()
            {
                break c;
            }
            thread::yield_now();
        };
        for &i in &self.reads.clone() {
            loop {
                let l = self.w.objs[i].lock.load(Acquire);
                if l <= self.rv_enc() || l == self.my {
                    break;
                }
                if l & LOCKED != 0 {
                    self.w.abort_req[(l & 0xffff) as usize].store(1, SeqCst);
                    thread::yield_now();
                    continue;
                }
                self.w.clock.store(c + 2, Release);
                return Err(Abort);
            }
        }
        self.enter_inevitable(c);
        Ok(())
    }
    fn release(&self, word: u64) {
        for &(i, _, _) in &self.undo {
            self.w.objs[i].lock.store(word, Release);
        }
    }
    fn commit(mut self) -> Result<u64, Abort> {
        if self.inevitable {
            let c = self.w.clock.load(Relaxed);
            self.w.inevitable_running.store(false, SeqCst);
            self.w.clock.store(c + 1, Release);
            self.release((c + 1) << INC);
            self.saw(c + 1);
            return Ok(c + 1);
        }
        if self.undo.is_empty() {
            return Ok(0);
        }
        let wv = loop {
            if self.w.abort_req[self.slot].load(SeqCst) != 0 {
                self.rollback();
                return Err(Abort);
            }
            let c = self.w.clock.load(Acquire);
            if c & 1 == 0
                && self
                    .w
                    .clock
                    .compare_exchange(c, c + 2, AcqRel, Relaxed)
                    .is_ok()
            {
                break c + 2;
            }
            thread::yield_now();
        };
        if self.rv + 2 != wv && !self.validate() {
            self.rollback();
            return Err(Abort);
        }
        self.release(wv << INC);
        self.undo.clear();
        self.saw(wv);
        Ok(wv)
    }
    fn rollback(&mut self) {
        assert!(!self.inevitable, "an inevitable transaction aborted");
        for &(i, old, v) in self.undo.iter().rev() {
            self.w.objs[i].val.store(v, Relaxed);
            self.w.objs[i].lock.store(old + 1, Release);
        }
        self.undo.clear();
    }
}

/// Runs `f` in a transaction until it commits; escalates to inevitable after
/// 3 aborts like the runtime's policy.
fn atomically<T>(
    w: &World,
    slot: usize,
    mut f: impl FnMut(&mut Tx) -> Result<T, Abort>,
) -> (T, u64) {
    let mut aborts = 0;
    loop {
        let mut tx = Tx::begin(w, slot, aborts >= 3);
        match f(&mut tx) {
            Ok(v) => match tx.commit() {
                Ok(wv) => return (v, wv),
                Err(Abort) => aborts += 1,
            },
            Err(Abort) => {
                tx.rollback();
                aborts += 1;
            }
        }
        thread::yield_now();
    }
}

fn bank_model() {
    let w = World::new(&[10, 10], 3);
    let mut hs = vec![];
    for t in 0..2usize {
        let w = w.clone();
        hs.push(thread::spawn(move || {
            let (from, to) = if t == 0 { (0, 1) } else { (1, 0) };
            atomically(&w, t, |tx| {
                let a = tx.read(from)?;
                let b = tx.read(to)?;
                tx.write(from, a - 3)?;
                tx.write(to, b + 3)?;
                Ok(())
            });
        }));
    }
    let w2 = w.clone();
    hs.push(thread::spawn(move || {
        // Opacity: every pair of values seen, even by a doomed attempt, sums to 20.
        atomically(&w2, 2, |tx| {
            let a = tx.read(0)?;
            let b = tx.read(1)?;
            assert_eq!(a + b, 20, "inconsistent snapshot observed");
            Ok(())
        });
    }));
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(w.objs[0].val.load(SeqCst), 10);
    assert_eq!(w.objs[1].val.load(SeqCst), 10);
    for o in &w.objs {
        assert_eq!(o.lock.load(SeqCst) & LOCKED, 0, "lock leaked");
    }
}

fn counter_model() {
    let w = World::new(&[0], 2);
    let hs: Vec<_> = (0..2)
        .map(|t| {
            let w = w.clone();
            thread::spawn(move || {
                atomically(&w, t, |tx| {
                    let v = tx.read(0)?;
                    tx.write(0, v + 1)
                })
                .1
            })
        })
        .collect();
    let mut wvs: Vec<u64> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(w.objs[0].val.load(SeqCst), 2, "lost update");
    wvs.sort();
    assert!(wvs[0] < wvs[1], "commit timestamps not unique");
}

fn inevitable_model() {
    // Thread 0 becomes inevitable mid-transaction; thread 1 starts
    // inevitable; thread 2 is an ordinary writer. Side effects happen exactly
    // once, the token is exclusive, inevitable transactions never abort.
    let w = World::new(&[0, 0], 3);
    let effects = Arc::new(AtomicU64::new(0));
    let mut hs = vec![];
    {
        let (w, effects) = (w.clone(), effects.clone());
        hs.push(thread::spawn(move || {
            atomically(&w, 0, |tx| {
                let v = tx.read(0)?;
                tx.become_inevitable()?;
                effects.fetch_add(1, SeqCst);
                tx.write(0, v + 1)?;
                let u = tx.read(1)?;
                tx.write(1, u + 1)
            });
        }));
    }
    {
        let (w, effects) = (w.clone(), effects.clone());
        hs.push(thread::spawn(move || {
            let mut tx = Tx::begin(&w, 1, true);
            effects.fetch_add(1, SeqCst);
            let v = tx.read(1).expect("inevitable never aborts");
            tx.write(1, v + 1).expect("inevitable never aborts");
            tx.commit().expect("inevitable commit cannot fail");
        }));
    }
    {
        let w = w.clone();
        hs.push(thread::spawn(move || {
            atomically(&w, 2, |tx| {
                let v = tx.read(0)?;
                tx.write(0, v + 1)
            });
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(effects.load(SeqCst), 2);
    assert_eq!(w.objs[0].val.load(SeqCst), 2);
    assert_eq!(w.objs[1].val.load(SeqCst), 2);
    assert_eq!(w.clock.load(SeqCst) & 1, 0, "token leaked");
}

#[test]
fn shuttle_bank_opacity_random() {
    shuttle::check_random(bank_model, 3000);
}

#[test]
fn shuttle_bank_opacity_pct() {
    shuttle::check_pct(bank_model, 2000, 3);
}

#[test]
fn shuttle_counter_clock_ownership() {
    shuttle::check_random(counter_model, 3000);
    shuttle::check_pct(counter_model, 2000, 3);
}

#[test]
fn shuttle_inevitable_token() {
    shuttle::check_random(inevitable_model, 3000);
    shuttle::check_pct(inevitable_model, 2000, 3);
}

/// The safepoint handshake of `runtime.rs`: a thread publishes `active` and
/// re-checks `gc_requested`; the collector publishes `gc_requested` and waits
/// for every `active` to be false. Never both at once.
fn safepoint_model() {
    struct Sp {
        gc_requested: AtomicBool,
        active: Vec<AtomicBool>,
        in_tx: AtomicU64,
        collecting: AtomicBool,
    }
    let sp = Arc::new(Sp {
        gc_requested: AtomicBool::new(false),
        active: (0..2).map(|_| AtomicBool::new(false)).collect(),
        in_tx: AtomicU64::new(0),
        collecting: AtomicBool::new(false),
    });
    let mut hs = vec![];
    for t in 0..2 {
        let sp = sp.clone();
        hs.push(thread::spawn(move || {
            for _ in 0..2 {
                // enter
                loop {
                    if sp.gc_requested.load(SeqCst) {
                        thread::yield_now();
                        continue;
                    }
                    sp.active[t].store(true, SeqCst);
                    if sp.gc_requested.load(SeqCst) {
                        sp.active[t].store(false, SeqCst);
                        continue;
                    }
                    break;
                }
                sp.in_tx.fetch_add(1, SeqCst);
                assert!(
                    !sp.collecting.load(SeqCst),
                    "transaction runs during a collection"
                );
                sp.in_tx.fetch_sub(1, SeqCst);
                // leave
                sp.active[t].store(false, Release);
            }
        }));
    }
    let sp2 = sp.clone();
    hs.push(thread::spawn(move || {
        sp2.gc_requested.store(true, SeqCst);
        for a in &sp2.active {
            while a.load(SeqCst) {
                thread::yield_now();
            }
        }
        sp2.collecting.store(true, SeqCst);
        assert_eq!(
            sp2.in_tx.load(SeqCst),
            0,
            "collection while a transaction runs"
        );
        sp2.collecting.store(false, SeqCst);
        sp2.gc_requested.store(false, SeqCst);
    }));
    for h in hs {
        h.join().unwrap();
    }
}

#[test]
fn shuttle_gc_safepoint_handshake() {
    shuttle::check_random(safepoint_model, 2000);
    shuttle::check_pct(safepoint_model, 1000, 3);
}
