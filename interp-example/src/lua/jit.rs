//! The Lua VM on the meta-tracer: a LuaJIT-style trace recorder.
//!
//! # Why a separate recorder, not a generic step function
//!
//! meta-tracer's tutorial client (`flowgraph.rs`) writes each instruction
//! once, generic over a [`Tracer`], and monomorphizes it twice: with
//! [`Plain`] it is the interpreter, with [`Recorder`] it records. That is
//! the right shape for a small interpreter written with the JIT in mind.
//! The Lua VM (`vm.rs`) is different: `Vm::execute` is one large dispatch
//! loop built from `reg!`/`rk!` macros, whose instruction arms share local
//! state (the register pointer, the constant slice, the saved pc), re-enter
//! the VM for metamethods, and are still being tuned by the VM's author.
//! Making that function generic would mean rewriting it wholesale.
//!
//! So this module follows LuaJIT's `lj_record.c` instead: a recorder
//! (`record`) that is handed each instruction *before* it executes, looks
//! at the concrete operand values in the frame's registers, and records
//! what the instruction is about to do, specialized on those values' types
//! (an `Add` of two integers becomes a wrapping `int_add`, of an integer
//! and a float a `cast_int_to_float` and a `float_add`), with guards for
//! every outcome the trace assumes (the branch a comparison took, a
//! divisor being non-zero, the sign of a float loop's step).
//!
//! # Where recording runs: a second, small dispatch loop
//!
//! The first version called the recorder from the VM's dispatch loop,
//! behind an `if recording` test on every instruction. Callgrind measured
//! that test at +7-8% instructions on the plain interpreter (loop_sum,
//! mandelbrot, fannkuch with `--no-jit`): the flag lives on the stack of a
//! very large function. Recording now runs entirely inside
//! [`merge_point`]: when the driver says a loop is hot, `record_loop`
//! records each instruction and then executes it itself (`exec`, a copy
//! of the VM's semantics for the recordable subset only: moves, constants,
//! arithmetic and bitwise operations on numbers, comparisons and equality
//! (numbers, strings, tables without `__eq`), tests, jumps, numeric `for`,
//! `#`, `break`'s no-op `Close`, table reads and writes by any key on tables
//! whose metatable lacks the metamethod concerned (reads follow `__index`
//! tables, so method lookups `obj:m()` are recorded), upvalue and global
//! reads, calls of `math`'s float functions, and calls of Lua functions,
//! followed into the callee: see "Calls" below), following the iteration
//! to the next back-edge. The first
//! instruction it cannot record is handed back to the VM (the recording is
//! abandoned and its pc returned). The VM's dispatch loop thus has no
//! per-instruction JIT cost; per back-edge it tests a local `bool`
//! (`jit_on`, false with `--no-jit`) and then calls [`merge_point`], which
//! goes to the driver's hot counter (loops given up have no merge point
//! left: see "Giving a loop up" below). With this design the
//! `--no-jit` interpreter is within callgrind noise of a build without any
//! JIT hooks (+0.4% to +0.9% instructions on loop_sum, mandelbrot,
//! fannkuch, sieve).
//! The price is a second statement of each recordable instruction's
//! semantics; the unit tests below and the differential tests (every Lua
//! test program with `--jit-threshold 1`) keep the copies in step.
//!
//! # Recording discipline
//!
//! A recording never survives anything the recorder does not understand:
//! when an instruction is not recordable (a call of a native function
//! other than `math`'s, an allocation such as a table constructor or a
//! concatenation, a metamethod or a table access that may need one, a
//! `Close` that may have something to close, an operation that would raise
//! an error), the recording is abandoned *at once* ([`JitDriver::abandon`])
//! rather than marked and dropped at the next merge point, and the VM
//! executes the instruction. Every instruction that is recorded is
//! checked, on its concrete operands, not to raise, call a native
//! function, or allocate. Hence no recording is ever active across an
//! error unwinding, a native function re-entering the VM, or a garbage
//! collection, and the recorder lives on the Rust stack of `record_loop`
//! only. The VM's frame is the same from start to end: calls of Lua
//! functions are followed by the recorder itself, without VM frames.
//!
//! # Calls
//!
//! A `Call` of a Lua function with fixed argument and result counts is
//! recorded inline, as LuaJIT and RPython do: the recording guards the
//! callee's prototype (a pure helper reads it from the closure), follows
//! the callee's instructions with their registers as red slots above the
//! caller's, and at its `Return` moves the results into the caller's
//! registers and forgets the callee's slots ([`Recorder::forget`]). The
//! callee's instructions have greens of their own, `(INLINED | context,
//! pc)`, where the context (interned per chain of call sites, see
//! [`CallSite`]) says which calls they are nested in and where each
//! callee's registers start. A guard there resumes the VM inside the
//! callee: the driver writes the snapshot's slots (the callees' registers
//! included) and `enter_inlined_frames` pushes a VM frame per call, each
//! caller's saved pc after its call; the VM then reloads its running frame
//! through `Instr::ReloadFrame`, an instruction past the end of every
//! prototype's code (a test after every merge point instead cost the
//! interpreter 3-6% instructions, even with `--no-jit`). A recording
//! stopped inside a callee hands over the same way. Loops inside a callee
//! are unrolled into the trace, up to `CALLEE_UNROLL_LIMIT` back-edges
//! (a callee's back-edge is not a merge point of the loop recorded);
//! variadic callees and nesting deeper than `MAX_INLINE_DEPTH` (recursion)
//! stop the recording. Measured with callgrind: spectral_norm 200, whose
//! inner loops call a small arithmetic function, went from 0.999 to 0.187
//! times the `--no-jit` instructions; nbody 50000, whose steps call a
//! function of nested loops over five bodies, from 1.000 to 0.77.
//!
//! Guards resume at the start of the instruction that emitted them (the
//! recorder's snapshots are taken at [`Tracer::at`]), and the VM then
//! re-executes that instruction: the only side effects of recorded
//! instructions are register writes, recorded after their guards.
//!
//! # Red state
//!
//! The red slots are the registers of the loop's frame, `stack[base + i]`,
//! plus one read-only slot, `CLOSURE_SLOT`, holding the running closure
//! (upvalue and global reads go through it: a helper reads the upvalue,
//! closed or open on the stack below the frame, and its tag is guarded);
//! the tag is the `Value`'s type tag (`TAG_*`) and the bits its payload
//! ([`Value::to_raw`]). Nil and booleans travel as integers (0/1), integers
//! as `i64`, floats as `f64` bits, references as `Gc` addresses.
//! Compiled code moves references between registers, loads string
//! constants of the prototype, and reads and writes tables through
//! residual helper calls: `GetTable`/`SetTable` with integer keys (array
//! helpers) or reference keys (strings, tables, functions: hash helpers),
//! `GetField`/`SetField` (hash helpers with a constant string key), `#`
//! (`lua_len`). A load helper returns the address of the element's
//! storage (or of a stand-in whose tag matches no value's where the VM
//! would take its slow path), and the trace loads the tag byte from it,
//! guarded against the recorded one, then the payload (`Value` is
//! `#[repr(u8)]`; one lookup per access: a helper for the tag and another
//! for the payload cost two, and sieve's compiled loop 10% more
//! instructions); a store helper refuses, leaving
//! the table untouched, whenever the VM would take its slow path or the
//! store would allocate (a possible `__newindex`, an append beyond the
//! array's capacity or into a table with a hash part, a new key without
//! room in the hash part). Metamethods are ruled out through the absence
//! cache in metatables' flags (`MM_*`, set by `Vm::tm_of`, cleared by any
//! store into the metatable): a table with a metatable is accessed raw
//! only while the flag says the metamethod is absent (a read also when
//! the key is present), and equality of two different tables is recorded
//! as false only while neither has `__eq`; otherwise the recorder refuses
//! and compiled code exits. String comparisons and lengths call pure
//! helpers (strings are immutable). Compiled code never allocates, so it
//! cannot trigger a collection (the heap only collects when the VM calls
//! `Vm::collect`), and every reference it holds is reachable from the
//! register window, the prototype's constants or a table in the window.
//! Lua integers wrap, so integer arithmetic uses `int_add`/`int_sub`/
//! `int_mul` without overflow guards; shifts by a constant in 0..64 become
//! `int_shl`/`uint_shr`, other shifts call a pure helper with Lua's
//! semantics (|n| >= 64 gives 0); `%` and `//` call pure helpers after a
//! guard that an integer divisor is non-zero (at zero the guard fails and
//! the VM raises the error itself); with a float operand they work on
//! floats, as the VM does.
//!
//! Upvalues (`GetUpval`, and globals through `GetTabUp`) are read through
//! the running closure: the red slot `CLOSURE_SLOT` in the loop's frame, the
//! caller's function register in an inlined call.
//!
//! # Back-off
//!
//! Without side traces, a loop whose trace exits early (mandelbrot's
//! escape test, fannkuch's short inner loops) pays an entry and an exit
//! (about 450 instructions in the driver and resume) for a few
//! compiled iterations, and is slower than interpreting. Besides the
//! driver's own policy (back-off and blacklisting after aborts, probation:
//! a new trace runs in the IR interpreter until it has shown enough
//! iterations per entry, so a short loop's trace is discarded before any
//! code is generated, and discarding traces that average too few
//! iterations per entry later on), this module gives a
//! loop up ("dead": its back-edges lose their merge point) when the driver
//! blacklisted it, when its traces average fewer than `MIN_ITERATIONS`
//! iterations per entry over `CHECK_EVERY` entries, when a retrace of a
//! discarded trace is discarded too, after a long streak of plain
//! interpretation once its trace was discarded, when a recording stops at
//! a never-recordable instruction in the loop's body (an allocation, a
//! native function other than those traced), when two recordings in a row leave the loop's body (the loop
//! ended while it was recorded, by its exit test, a `break` or a
//! `return`: `AbortReason::LeftLoop`, after which the driver records
//! again at the loop's next pass, with no back-off, so that a long loop
//! whose hot pass fell on an entry's last iteration, as it does whenever
//! the trip count divides the threshold, is recorded in its body next
//! time; a loop that leaves twice in a row runs an iteration or two per
//! entry), when two recordings in a
//! row stop at the same place by
//! unrolling too much (or the first one stops where another loop was given
//! up this way), or when a counted loop about to be recorded has fewer than
//! `MIN_ITERATIONS` iterations left twice in a row (a sample of its trip
//! count: a short loop would cost more to enter and leave than it saves).
//! Each of these decisions is counted, by reason, under "loops given up"
//! in `--jit-stats`.
//!
//! # Giving a loop up: bytecode patching
//!
//! A loop given up has its back-edges rewritten in the prototype's code to
//! interpreter-only forms without a merge point (`ForLoop` becomes
//! `IForLoop`, see `bytecode::Code`), as LuaJIT turns a blacklisted `FORL`
//! into `IFORL`. From then on the loop costs exactly what it costs with
//! `--no-jit`: not a lookup, not a flag test. Only loops that may still
//! be traced reach [`merge_point`], which goes straight to the driver's
//! hot counter (`run_loop`: `JitDriver::count_pass`, then the driver's
//! decision only when the counter says so). A pass that only counts costs
//! about 60 instructions (callgrind, loop_sum with a threshold it never
//! reaches: 121 when every pass built the frame view for the driver);
//! that is why giving up is patching, not waiting.
//!
//! The previous design kept a per-prototype table of dead marks, looked up
//! at every back-edge, plus a per-activation flag the VM cleared once a
//! frame's loops were all dead, with a one-entry cache in front. Callgrind
//! (JIT on / `--no-jit`, same binary) left it at 1.005-1.020 on the
//! programs whose loops call functions (spectral_norm 1.020, havlak
//! 1.014, knucleotide 1.012, deltablue 1.009): the flag was set again at
//! every frame entry, so the first back-edge after each call paid the
//! lookup. A per-prototype flag tested at frame entry cost more than it
//! saved (+1.5% binary_trees, +2.6% fib). Patching has no such residue;
//! its price is that `Proto::code` is a `Cell` per instruction, which the
//! dispatch loop reads through a raw pointer at no extra cost.

use super::bytecode::{Instr, RK_CONST};
use super::heap::Gc;
use super::value::*;
use super::vm::{self, Vm};
use meta_tracer::ir::Operand;
use meta_tracer::prelude::*;
use meta_tracer::warmup::FxBuild;
use std::cell::RefCell;
use std::rc::Rc;

/// Per-loop maps on the merge-point path: FxHash, not SipHash (a lookup
/// per back-edge of a loop whose trace was discarded).
type FxMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

/// The green key of a Lua location: (prototype id, pc).
pub type Green = (u32, u32);

/// What the JIT knows about one prototype: the prototype itself, for
/// printing locations and patching back-edges, kept alive (see
/// [`LuaJit::know_proto`]).
struct ProtoInfo {
    proto: Rc<Proto>,
}

type Protos = Rc<RefCell<Vec<Option<ProtoInfo>>>>;

/// A call recorded inline: where it is and where its callee's frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct CallSite {
    /// The `Call` instruction (a real location: prototype id and pc).
    call: Green,
    /// The callee's prototype id.
    callee: u32,
    /// Slot of the callee's register 0 (relative to the loop's frame).
    off: u32,
    /// Results the call wants (`c - 1`).
    nres: u8,
}

/// The calls an instruction recorded inline is nested in, outermost first.
/// An instruction inside inlined calls has the green `(INLINED | id, pc)`,
/// where `id` indexes the table of these contexts: a guard there resumes
/// the VM inside the callee, with a VM frame rebuilt for each call
/// (`enter_inlined_frames`).
type InlineContexts = Rc<RefCell<Vec<Vec<CallSite>>>>;

/// The bit that marks a green's first half as an inline context id, not a
/// prototype id.
const INLINED: u32 = 1 << 31;

/// Whether `GetTable`/`SetTable` with integer keys are recorded (as calls
/// to the table helpers below). Measured with callgrind on sieve.lua at
/// its default N=1e6 (JIT on / off): 0.98 on, 1.22 off (the loops are then
/// interpreted and pay the merge-point check). The store helper's array
/// fast path must stay lean: with the general path first it was 1.09.
const RECORD_TABLES: bool = true;

/// Iterations of inner loops (back-edges other than the loop's own) that
/// one recording may unroll before it is abandoned (LuaJIT's
/// `loopunroll`, smaller); a recording that leaves its loop through an
/// enclosing loop's back-edge is abandoned too. Without side traces, a
/// trace that unrolls inner loops or goes around an outer one is
/// specialized on the inner loops' trip counts and exits as soon as one
/// differs. Measured with callgrind (JIT on / `--no-jit`): fannkuch_redux 8,
/// whose outer loops became recordable with `break`, 1.72 without a limit
/// (traces of several hundred operations that never completed an
/// iteration), 1.06 at 15; mandelbrot 300 1.014 at 15, 1.002 at 4.
const UNROLL_LIMIT: u32 = 4;

/// Back-edges of loops inside inlined callees that one recording may
/// unroll. A loop in a callee has no trace that the calling loop's trace
/// could continue into (no side traces), so its iterations are unrolled
/// into the caller's trace, which is specialized on their trip counts;
/// probation discards it when they vary. Higher than `UNROLL_LIMIT`, whose
/// inner loops get traces of their own: nbody's `advance`, called once per
/// step, runs 14 back-edges over its five bodies, and a trace of the whole
/// step took nbody 50000 from 1.0000 to 0.77 of the interpreter's
/// instructions. Its price shows on deltablue 200 (1.0013 to 1.014):
/// recordings and probation of traces that unroll short loops of varying
/// length (`todo:removeFirst()`, `c:inputsKnown(mark)`).
const CALLEE_UNROLL_LIMIT: u32 = 32;

/// Entries into a loop's compiled code between profitability checks.
const CHECK_EVERY: u32 = 256;
/// Average iterations per entry below which a loop's compiled code does
/// not pay for entering it and resuming from its exit (measured with
/// callgrind: an entry plus exit costs about as much as interpreting a few
/// dozen simple instructions).
const MIN_ITERATIONS: u64 = 16;

/// The JIT state of one VM: the driver and the prototypes it has seen.
pub struct LuaJit {
    driver: JitDriver<Green>,
    protos: Protos,
    /// Per prototype id (empty: not seen yet), per pc: whether the loop
    /// with its header there was given up (`DEAD`; its back-edges are
    /// then patched to their interpreter-only forms, so its merge point
    /// is never called again) or not (`LIVE`).
    dead: Vec<Box<[u8]>>,
    /// Loops that had a compiled trace, with the number of merge points
    /// since they last ran compiled code or recorded. The driver discards
    /// traces that exit too early and blacklists a loop after repeated
    /// discards, inside `can_enter_jit`, where this module cannot see it;
    /// a long streak of plain interpretation at such a loop (see
    /// [`LuaJit::streak_limit`]) marks it dead here too.
    streaks: FxMap<Green, u32>,
    /// Per loop, the pc of its last recording's abort at a never
    /// recordable instruction.
    hard_aborts: FxMap<Green, u32>,
    /// Instructions at which some loop was given up after two recordings
    /// stopped there ([`LuaJit::note_hard_abort`]).
    blocking: std::collections::HashSet<Green, FxBuild>,
    /// Loops whose last recording was refused because a counted loop had
    /// few iterations left (see `run_loop`).
    short: std::collections::HashSet<Green, FxBuild>,
    /// Loops that were recorded again after their trace was discarded.
    retraced: std::collections::HashSet<Green, FxBuild>,
    /// Compiled-code entries per loop since its last profitability check.
    entries: FxMap<Green, u32>,
    /// The `__index` metamethod name (set by [`install`]; without it,
    /// `__index` tables are not followed).
    index_name: Option<Gc<LStr>>,
    /// Where compiled `next` calls leave the key and the value for the
    /// trace to load (boxed: traces embed its address; an `UnsafeCell`:
    /// the helper writes it through that address while the JIT is
    /// borrowed elsewhere).
    next_out: Box<std::cell::UnsafeCell<[Value; 2]>>,
    /// Inline contexts (see [`CallSite`]), shared with the location
    /// printer, and their ids.
    contexts: InlineContexts,
    context_ids: FxMap<Vec<CallSite>, u32>,
    /// Where the VM resumes after compiled code or a recording stopped
    /// inside inlined calls: a context id and a pc of its innermost callee
    /// (taken by [`enter_inlined_frames`]).
    pending: Option<(u32, usize)>,
    /// Traces installed so far, compiled or on probation (the driver's
    /// count, to notice new ones).
    compiled: u64,
    /// Loops blacklisted so far (the driver's count, to notice new ones).
    blacklisted: u64,
    debug: bool,
}

/// `chunkname:line OPCODE` for a green key, if its prototype is known.
fn print_green(protos: &[Option<ProtoInfo>], contexts: &[Vec<CallSite>], g: &Green) -> String {
    if g.0 & INLINED != 0 {
        let Some(sites) = contexts.get((g.0 & !INLINED) as usize) else {
            return format!("context#{}:pc{}", g.0 & !INLINED, g.1);
        };
        let callee = sites.last().map_or(0, |c| c.callee);
        let mut s = print_green(protos, contexts, &(callee, g.1));
        for c in sites.iter().rev() {
            s.push_str(" <- ");
            s.push_str(&print_green(protos, contexts, &c.call));
        }
        return s;
    }
    match protos.get(g.0 as usize).and_then(|p| p.as_ref()) {
        Some(info) => {
            let p = &info.proto;
            let op = p.opcode_at(g.1 as usize);
            let name = op.split('(').next().unwrap_or("");
            format!("{} {}", p.location(g.1 as usize), name)
        }
        None => format!("proto#{}:pc{}", g.0, g.1),
    }
}

impl LuaJit {
    /// A JIT with the given settings and backend.
    pub fn new(config: JitConfig, backend: Box<dyn Backend>) -> LuaJit {
        let protos: Protos = Rc::default();
        let contexts: InlineContexts = Rc::default();
        let p2 = protos.clone();
        let c2 = contexts.clone();
        let driver = JitDriver::new(config, backend, move |g: &Green| {
            print_green(&p2.borrow(), &c2.borrow(), g)
        });
        LuaJit {
            driver,
            protos,
            contexts,
            context_ids: Default::default(),
            pending: None,
            dead: Vec::new(),
            streaks: Default::default(),
            entries: Default::default(),
            retraced: Default::default(),
            short: Default::default(),
            hard_aborts: Default::default(),
            blocking: Default::default(),
            index_name: None,
            next_out: Box::new(std::cell::UnsafeCell::new([Value::Nil; 2])),
            compiled: 0,
            blacklisted: 0,
            debug: std::env::var_os("LUAJIT_DEBUG").is_some(),
        }
    }

    /// The driver (statistics, report).
    pub fn driver(&self) -> &JitDriver<Green> {
        &self.driver
    }

    /// `chunkname:line OPCODE` for a green key.
    fn loc(&self, g: &Green) -> String {
        print_green(&self.protos.borrow(), &self.contexts.borrow(), g)
    }

    /// The id of an inline context, interned.
    fn context_id(&mut self, sites: &[CallSite]) -> u32 {
        if let Some(&id) = self.context_ids.get(sites) {
            return id;
        }
        let mut v = self.contexts.borrow_mut();
        let id = v.len() as u32;
        v.push(sites.to_vec());
        self.context_ids.insert(sites.to_vec(), id);
        id
    }

    /// Makes `p` known for printing locations and patching (a function
    /// recorded inline may have no loop of its own), and keeps it alive:
    /// traces guard inlined callees' prototypes by address, so no other
    /// prototype may take one while the JIT lives.
    fn know_proto(&mut self, p: &Rc<Proto>) {
        let id = p.id as usize;
        let mut v = self.protos.borrow_mut();
        if v.len() <= id {
            v.resize_with(id + 1, || None);
        }
        if v[id].is_none() {
            v[id] = Some(ProtoInfo { proto: p.clone() });
        }
    }

    /// Ends the run (kept for symmetry: recordings never outlive a merge
    /// point, so there is nothing to abandon).
    pub fn finish(&mut self) {}

    /// Marks `g` dead if the driver blacklisted a loop since the last
    /// check (called after the events that can blacklist: aborts and
    /// closed recordings; `g` is the loop concerned).
    fn note_blacklist(&mut self, g: Green) {
        let stats = self.driver.counters();
        let (blacklisted, installed) = (stats.blacklisted, stats.traces.len() as u64);
        if blacklisted != self.blacklisted {
            self.blacklisted = blacklisted;
            self.mark_dead(g, "blacklisted by the driver");
        }
        if installed != self.compiled {
            self.compiled = installed;
            self.streaks.insert(g, 0);
        }
    }

    /// Visits of the driver's slow path in a row without compiled code or
    /// recording after which a loop that once had a trace counts as dead:
    /// well past the driver's retrace warm-up (the threshold, with
    /// back-off). A loop's passes reach the slow path once per `threshold`
    /// passes (`JitDriver::count_pass` counts the others), so this is
    /// about `16 * threshold` passes, and at least 1000.
    fn streak_limit(&self) -> u32 {
        let threshold = self.driver.config().threshold.max(1);
        16u32.max(1000 / threshold)
    }

    /// Counts a merge point at `g` that ran compiled code or recorded
    /// (`active`) or just interpreted.
    fn note_streak(&mut self, g: Green, active: bool) {
        let limit = self.streak_limit();
        if let Some(c) = self.streaks.get_mut(&g) {
            if active {
                *c = 0;
            } else {
                *c += 1;
                if *c > limit {
                    self.streaks.remove(&g);
                    self.mark_dead(g, "interpreted too long after its trace was discarded");
                }
            }
        }
    }

    /// Counts an entry into compiled code at `g`; every
    /// [`CHECK_EVERY`] entries, checks that the loop's traces run at least
    /// [`MIN_ITERATIONS`] iterations per entry on average, and marks the
    /// loop dead otherwise: entering a trace and resuming from its exit
    /// costs more than interpreting a few iterations.
    fn note_entry(&mut self, g: Green) {
        let n = self.entries.entry(g).or_insert(0);
        *n += 1;
        if *n < CHECK_EVERY {
            return;
        }
        *n = 0;
        let (entries, iterations) = self.driver.loop_totals(&g);
        if entries > 0 && iterations < MIN_ITERATIONS * entries {
            if self.debug {
                let loc = self.loc(&g);
                eprintln!("lua jit: {loc}: {iterations} iterations in {entries} entries: dead");
            }
            self.entries.remove(&g);
            self.streaks.remove(&g);
            self.mark_dead(g, "too few iterations per entry");
        }
    }

    /// Gives the loop at `g` up for good: counts it under `reason` and
    /// patches its back-edges to the interpreter-only forms
    /// ([`super::bytecode::Code::disable_merge_point`]), after which the
    /// loop runs exactly as with `--no-jit`.
    fn mark_dead(&mut self, g: Green, reason: &'static str) {
        let id = g.0 as usize;
        let Some(d) = self.dead.get_mut(id).and_then(|v| v.get_mut(g.1 as usize)) else {
            return;
        };
        if *d != LIVE {
            return;
        }
        *d = DEAD;
        self.driver.note_given_up(reason);
        if let Some(Some(info)) = self.protos.borrow().get(id) {
            let n = info.proto.code.disable_merge_point(g.1 as usize);
            if self.debug {
                let loc = info.proto.location(g.1 as usize);
                eprintln!("lua jit: {loc}: given up ({reason}), {n} back-edges patched");
            }
        }
    }

    /// A recording of the loop at `start` stopped at `pc` for good: at an
    /// instruction of a kind that is never recordable (a call of a Lua
    /// function, an allocation, a `Close` with something to close: `never`)
    /// or by unrolling too much. A `never` stop gives the loop up at once:
    /// the next recording would most likely stop there again, after the
    /// driver's back-off (several times the threshold in merge points, each
    /// through the driver) and another recording; measured with callgrind,
    /// waiting for a second such abort cost havlak 3, json 300 and
    /// deltablue 200 0.38%, 0.06% and 0.05% more instructions. The price is a loop whose first
    /// recording happened to take a rare path through such an instruction.
    /// Otherwise the second time in a row at the same `pc` gives it up.
    ///
    /// An instruction that has ended two recordings of one loop like this
    /// ends every later recording that reaches it (typically an inner
    /// loop's call, met again by the enclosing loops' recordings): a loop
    /// whose recording stops at such an instruction is given up at its
    /// first abort there, so an outer loop with few iterations does not
    /// wait through the back-off while its inner loops pay for merge points.
    fn note_hard_abort(&mut self, start: Green, pc: u32, never: bool) {
        if never {
            self.blocking.insert((start.0, pc));
            self.hard_aborts.remove(&start);
            if self.debug {
                let loc = self.loc(&start);
                eprintln!("lua jit: {loc}: aborts at an instruction never recordable: dead");
            }
            self.mark_dead(start, "aborted at an instruction never recordable");
            return;
        }
        if self.blocking.contains(&(start.0, pc)) {
            self.hard_aborts.remove(&start);
            if self.debug {
                let loc = self.loc(&start);
                eprintln!(
                    "lua jit: {loc}: aborts at an instruction that blocked another loop: dead"
                );
            }
            self.mark_dead(start, "aborted where another loop was given up");
            return;
        }
        if self.hard_aborts.insert(start, pc) == Some(pc) {
            self.blocking.insert((start.0, pc));
            self.hard_aborts.remove(&start);
            if self.debug {
                let loc = self.loc(&start);
                eprintln!("lua jit: {loc}: aborts twice at the same instruction: dead");
            }
            self.mark_dead(start, "aborted twice at the same instruction");
        }
    }

    /// Abandons `rec`, stopped at `at` because its loop ended (see
    /// `AbortReason::LeftLoop`): the driver records again at the loop's
    /// next pass; a second such sample in a row (no recording closed in
    /// between) says the loop runs an iteration or two per entry, too few
    /// for compiled code to pay for entering it, and gives it up.
    fn left_loop(&mut self, rec: Box<Recorder<Green>>, at: Green) {
        let start = rec.start();
        self.abandon(rec, AbortReason::LeftLoop, at);
        if !self.short.insert(start) {
            self.short.remove(&start);
            self.mark_dead(start, "too few iterations per entry");
        }
    }

    /// Abandons `rec`, which failed at `pc` for `reason`.
    fn abandon(&mut self, rec: Box<Recorder<Green>>, reason: AbortReason, pc: Green) {
        if self.debug {
            eprintln!("lua jit: abort at {}: {reason}", self.loc(&pc));
        }
        let start = rec.start();
        self.driver.abandon(rec, reason);
        self.note_blacklist(start);
    }
}

/// Installs a JIT in `vm` according to the command-line options (none with
/// `--no-jit`: the VM's merge points then cost one `bool` test).
pub fn attach(vm: &mut Vm, opts: &crate::cli::Options) {
    let config = crate::jit::config(opts);
    if config.enabled {
        install(vm, LuaJit::new(config, crate::jit::backend()));
    } else {
        vm.jit = None;
    }
}

/// Installs `jit` in `vm` (with what it needs of the VM: the `__index`
/// name, to follow `__index` tables in traces).
pub fn install(vm: &mut Vm, mut jit: LuaJit) {
    jit.index_name = Some(vm.tm_name(vm::Tm::Index));
    vm.jit = Some(Box::new(jit));
}

/// Ends the run: with `--jit-stats`, prints the driver's report to stderr.
pub fn detach(vm: &mut Vm, opts: &crate::cli::Options) {
    let jit = vm.jit.take();
    if let Some(mut j) = jit {
        j.finish();
        if opts.stats {
            eprint!("{}", j.driver.report());
        }
    } else if opts.stats {
        let cfg = crate::jit::config(opts);
        let d: JitDriver<Green> =
            JitDriver::new(cfg, Box::new(IrInterpreter), |_: &Green| String::new());
        eprint!("{}", d.report());
    }
}

/// The registers of the loop's frame as the JIT's red slots.
struct LuaFrame<'a> {
    regs: &'a mut [Value],
    /// The running closure: red slot [`CLOSURE_SLOT`].
    closure: Gc<LClosure>,
}

/// The red slot that holds the running closure (read-only: traces read
/// upvalues through it; it is never written).
const CLOSURE_SLOT: u32 = u32::MAX;

/// What recording sees of the frame besides its registers: the running
/// closure, the stack below the frame (where open upvalues live), and the
/// stack's address for compiled code (the stack is never reallocated).
struct FrameCtx<'a> {
    closure: Gc<LClosure>,
    /// The stack below the loop's frame...
    below: &'a [Value],
    /// ... and, in an inlined call, the stack from the loop's frame to the
    /// callee's (the callers' registers): together, everything below the
    /// running frame.
    mid: &'a [Value],
    stack_addr: usize,
    /// The closure's shadow in an inlined call (the caller's function
    /// register); None in the loop's frame, whose closure is the red slot
    /// [`CLOSURE_SLOT`].
    closure_op: Option<Operand>,
    /// The `__index` name ([`LuaJit::index_name`]).
    index_name: Option<Gc<LStr>>,
    /// The pcs of the recorded loop's body, in its own frame (None in
    /// inlined callees): see [`close_is_noop_in`].
    body: Option<(usize, usize)>,
}

impl FrameCtx<'_> {
    /// The value of upvalue `u` of the running closure, if it is closed or
    /// open on a register below the frame (never on the frame itself:
    /// upvalues are created by enclosing activations, which are below it).
    fn upval(&self, u: u8) -> Option<Value> {
        let uv = *self.closure.get().upvals.get(u as usize)?;
        match *uv.get() {
            UpVal::Closed(v) => Some(v),
            UpVal::Open(i) => match i.checked_sub(self.below.len()) {
                None => self.below.get(i).copied(),
                Some(j) => self.mid.get(j).copied(),
            },
        }
    }
}

// SAFETY: the tag of a slot is the `Value`'s own enum discriminant
// (`Value::to_raw`), so two values with the same tag always have the same
// payload type: integers for nil/bool/int, f64 bits for floats, and for
// strings/tables/functions the address of a live `Gc` object of that type
// (the closure slot holds the frame's own function, alive while it runs).
// Values written back (`write_slot`) are rebuilt with `Value::from_raw`
// from bits that came out of a slot with the same tag on entry, are
// constants of the recorded prototypes (the loop's, kept alive by its
// closure, and inlined callees', kept alive by the JIT: `know_proto`), or
// were loaded by the trace from a table element or upvalue of that tag,
// whose object is reachable from the frame's registers. Compiled code
// never allocates (its table helpers refuse whatever would) and never
// runs the VM, so no garbage collection can run while it executes and
// every reference it holds stays alive. The window is the whole stack
// above the frame: an exit inside an inlined call writes the callees'
// registers too (`regs` is a slice, so no write goes past the stack).
unsafe impl RedFrame for LuaFrame<'_> {
    fn read_slot(&self, slot: u32) -> (u8, u64) {
        if slot == CLOSURE_SLOT {
            return Value::LFn(self.closure).to_raw();
        }
        match self.regs.get(slot as usize) {
            Some(v) => v.to_raw(),
            None => (TAG_NIL, 0),
        }
    }
    fn write_slot(&mut self, slot: u32, tag: u8, bits: u64) {
        if let Some(r) = self.regs.get_mut(slot as usize) {
            *r = Value::from_raw(tag, bits);
        }
    }
}

/// The register window of the frame at `base` (at most `n` registers,
/// clipped to the stack).
fn window(stack: &mut [Value], base: usize, n: usize) -> &mut [Value] {
    let end = base.saturating_add(n).min(stack.len());
    let start = base.min(end);
    &mut stack[start..end]
}

/// The merge point at a loop back-edge whose target is `pc`, in the frame
/// at `base` running `proto`; called by the VM (only when a JIT is
/// installed) right after it took the back-edge. Returns the pc at which
/// the VM continues: `pc` itself, where a compiled trace left off, or
/// where a recording stopped.
///
/// When the loop becomes hot, the recording runs here, in
/// `record_loop` (a second, small dispatch loop for the recordable
/// instructions), so the VM's own dispatch loop has no per-instruction
/// recording test at all.
///
/// A loop the JIT gave up never comes here: its back-edges were patched
/// to forms without a merge point ([`LuaJit::mark_dead`]).
#[inline]
pub fn merge_point(vm: &mut Vm, proto: &Proto, base: usize, pc: usize) -> usize {
    let Some(jit) = vm.jit.as_deref_mut() else {
        return pc;
    };
    let id = proto.id as usize;
    if jit.dead.get(id).is_none_or(|d| d.is_empty()) {
        first_merge_point(
            jit,
            vm.frames.last().map(|f| f.cl.get().proto.clone()),
            proto,
        );
    }
    let Some(closure) = vm.frames.last().map(|f| f.cl) else {
        return pc;
    };
    let npc = run_loop(jit, &mut vm.stack, closure, proto, base, pc);
    if npc == INLINED_RESUME {
        // The VM continues in frames pushed here, inside calls that a
        // trace or a recording had inlined: it reloads its running frame.
        enter_inlined_frames(vm, base);
        return proto.code.reload_pc();
    }
    npc
}

/// What `run_loop` returns when the VM must continue inside inlined calls
/// (see [`enter_inlined_frames`]).
const INLINED_RESUME: usize = usize::MAX;

/// A loop header that may still be traced (or that is not a loop header).
const LIVE: u8 = 0;
/// A loop given up (its back-edges are patched).
const DEAD: u8 = 1;

/// The loop headers of `p`: the targets of its backward jumps (`Jmp` with
/// a negative offset, `ForLoop`, `TForLoop`), where the VM calls
/// [`merge_point`].
#[cfg(test)]
fn loop_headers(p: &Proto) -> Vec<usize> {
    let mut v: Vec<usize> = p
        .code
        .iter()
        .enumerate()
        .filter_map(|(i, ins)| ins.backedge_target(i))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The first merge point in prototype `proto`: remember it (for printing
/// locations and patching) and give it a dead-loop table. `running` is the
/// running frame's prototype (the same one, as an `Rc`).
#[cold]
#[inline(never)]
fn first_merge_point(jit: &mut LuaJit, running: Option<Rc<Proto>>, proto: &Proto) {
    let id = proto.id as usize;
    let Some(p) = running.filter(|p| p.id == proto.id) else {
        return;
    };
    if jit.dead.len() <= id {
        jit.dead.resize_with(id + 1, Default::default);
    }
    jit.dead[id] = vec![LIVE; p.code.len()].into_boxed_slice();
    jit.know_proto(&p);
}

/// [`merge_point`] past the first visit. Most passes only count towards
/// hotness (`JitDriver::count_pass`): that is all this function does, so
/// that such a pass costs a call, a hash and a decrement; the driver's
/// decision (interpret, run compiled code or record) is in `run_loop_slow`.
/// (Counting here rather than in `merge_point`, which is inlined into the
/// dispatch loop, leaves the dispatch loop's code as it was: callgrind
/// showed `--no-jit` 1% slower with the test inlined there.)
#[inline(never)]
fn run_loop(
    jit: &mut LuaJit,
    stack: &mut [Value],
    closure: Gc<LClosure>,
    proto: &Proto,
    base: usize,
    pc: usize,
) -> usize {
    if jit.driver.count_pass(&(proto.id, pc as u32)) {
        return pc;
    }
    run_loop_slow(jit, stack, closure, proto, base, pc)
}

/// The driver's decision at a merge point whose pass was counted.
#[inline(never)]
fn run_loop_slow(
    jit: &mut LuaJit,
    stack: &mut [Value],
    closure: Gc<LClosure>,
    proto: &Proto,
    base: usize,
    pc: usize,
) -> usize {
    let stack_addr = stack.as_ptr() as usize;
    let (below, rest) = stack.split_at_mut(base.min(stack.len()));
    let n = proto.max_stack as usize;
    let mut pc = pc;
    // The merge point counted the first pass (`JitDriver::count_pass`).
    let mut counted = true;
    loop {
        let green: Green = (proto.id, pc as u32);
        let mut frame = LuaFrame {
            // The whole stack above the frame: an exit inside an inlined
            // call writes the callees' registers too.
            regs: &mut *rest,
            closure,
        };
        let enter = if counted {
            jit.driver.enter_counted(green, &mut frame)
        } else {
            jit.driver.can_enter_jit(green, &mut frame)
        };
        counted = false;
        let rec = match enter {
            Enter::Interpret => {
                if !jit.streaks.is_empty() {
                    jit.note_streak(green, false);
                }
                return pc;
            }
            Enter::Resumed((pid, npc)) => {
                if !jit.streaks.is_empty() {
                    jit.note_streak(green, true);
                }
                jit.note_entry(green);
                if pid & INLINED != 0 {
                    // An exit inside an inlined call.
                    jit.pending = Some((pid & !INLINED, npc as usize));
                    return INLINED_RESUME;
                }
                debug_assert_eq!(pid, proto.id, "a Lua trace left its frame");
                return npc as usize;
            }
            Enter::Record(r) => {
                if jit.streaks.contains_key(&green) && !jit.retraced.insert(green) {
                    // The loop had a trace, which the driver discarded (it
                    // exited too early or was refused entry too often),
                    // and then a second one: one retrace covers a loop
                    // whose types or branches settled after warm-up; more
                    // rarely do better and each costs a recording and a
                    // compilation. Give the loop up.
                    jit.streaks.remove(&green);
                    jit.entries.remove(&green);
                    jit.mark_dead(green, "retrace of a discarded trace");
                    jit.driver.abandon(r, AbortReason::NotRecordable);
                    return pc;
                }
                if let Some(left) = for_loop_remaining(proto, window(rest, 0, n), pc) {
                    if left < MIN_ITERATIONS as i64 {
                        // A counted loop about to end: the sample says its
                        // trip count is likely short (its remaining count
                        // at a random pass is below MIN_ITERATIONS). Twice
                        // in a row: a short loop, whose compiled code
                        // would cost more to enter and leave than it saves.
                        jit.driver.abandon(r, AbortReason::ShortLoop);
                        if !jit.short.insert(green) {
                            jit.short.remove(&green);
                            jit.mark_dead(green, "too few iterations per entry");
                        }
                        return pc;
                    }
                    jit.short.remove(&green);
                }
                r
            }
        };
        // What recording sees besides the registers (built here: most
        // merge points only count or run compiled code).
        let ctx = FrameCtx {
            closure,
            below: &*below,
            mid: &[],
            stack_addr,
            closure_op: None,
            index_name: jit.index_name,
            body: None,
        };
        match record_loop(jit, rec, &ctx, proto, rest, pc) {
            // Back at a merge point with the recording closed (compiled or
            // not): enter the new trace at once.
            Stop::Closed(next) => {
                jit.short.remove(&green);
                pc = next
            }
            Stop::Abandoned(next) => return next,
            Stop::Inlined(ctx, next) => {
                jit.pending = Some((ctx, next));
                return INLINED_RESUME;
            }
        }
    }
}

/// The remaining trip count of the numeric `for` loop whose header is
/// `header` (None for other loops): its `ForLoop` keeps it in `R[a+1]`.
fn for_loop_remaining(proto: &Proto, regs: &[Value], header: usize) -> Option<i64> {
    let a = (0..proto.code.len()).find_map(|pc| match proto.code.get(pc)? {
        i @ Instr::ForLoop(a, _) if i.backedge_target(pc) == Some(header) => Some(a),
        _ => None,
    })?;
    match regs.get(a as usize + 1)? {
        Value::Int(n) => Some(*n),
        _ => None,
    }
}

/// How a recording ended.
enum Stop {
    /// The driver closed it at the merge point at this pc.
    Closed(usize),
    /// It was abandoned; the VM continues at this pc.
    Abandoned(usize),
    /// It was abandoned inside inlined calls: the VM continues at this pc
    /// of the innermost callee of this inline context.
    Inlined(u32, usize),
}

/// A call of a Lua function being recorded inline: the recording follows
/// the call into the callee and back (LuaJIT and RPython inline calls the
/// same way: a trace is one path through the program, whatever the
/// functions). See "Calls" in the module documentation.
struct InlineFrame {
    proto: Rc<Proto>,
    closure: Gc<LClosure>,
    /// The closure's shadow (the caller's function register).
    closure_op: Operand,
    /// Slot of the callee's register 0 (relative to the loop's frame).
    off: u32,
    /// The caller's `Call(a, _, c)`: at `call_pc`, results to `a..`,
    /// `c - 1` of them.
    call_pc: usize,
    a: u8,
    nres: u8,
    /// The inline context of the callee's instructions (the first half
    /// of their greens, with [`INLINED`]).
    gid: u32,
}

/// How deep inlined calls may nest (a recursive function stops here).
const MAX_INLINE_DEPTH: usize = 4;

/// Guards that the pure helper `f` (named `name`) maps the function value
/// `x` to `want`: the identity of a callee's code (a Lua closure's
/// prototype, a native function's Rust function), which closures and
/// native function values recreated at run time share.
fn guard_identity(
    rec: &mut Rec,
    name: &'static str,
    f: extern "C" fn(usize) -> i64,
    x: Operand,
    want: usize,
) {
    let d = helper(name, f as usize, &[Type::Ref], Type::Int, EffectKind::Pure);
    let r = rec.call(d, &[x]);
    let same = op(rec, Opcode::IntEq, &[r, Operand::Int(want as i64)]);
    branch(rec, same, true);
}

/// The prototype of a closure, as an address (a pure helper: a closure's
/// prototype never changes).
extern "C" fn h_closure_proto(cl: usize) -> i64 {
    // SAFETY: `cl` is the address of a live Lua closure: the trace read it
    // from a register whose tag (`TAG_LFN`) it checked, and the register
    // keeps it alive (as `upval_raw` reads closures).
    let cl = unsafe { &*(cl as *const LClosure) };
    Rc::as_ptr(&cl.proto) as i64
}

/// If `Call(a, b, c)` at `pc` of prototype `caller` calls a Lua function
/// the recorder can follow
/// (fixed argument and result counts, not variadic, room on the stack,
/// not nested too deep), records the guard on its prototype and returns
/// the frame to push; `Ok(None)` for calls recorded otherwise (`math`
/// functions), errors for the rest. `sites` are the calls the running
/// frame is nested in; `room` the stack slots the frames may use above
/// the loop's frame.
fn inline_call(
    jit: &mut LuaJit,
    rec: &mut Rec,
    regs: &[Value],
    (caller, pc): (u32, usize),
    (a, b, c): (u8, u8, u8),
    sites: &[CallSite],
    room: usize,
) -> Res<Option<InlineFrame>> {
    let Some(Value::LFn(cl)) = regs.get(a as usize).copied() else {
        return Ok(None);
    };
    if b == 0 || c == 0 {
        // Arguments or results up to the stack top: not followed.
        return Err(NR);
    }
    if sites.len() >= MAX_INLINE_DEPTH {
        return Err(AbortReason::CallTooDeep);
    }
    let p = cl.get().proto.clone();
    let off = rec.off + a as u32 + 1;
    // As `Vm::push_frame` counts (over it, the VM raises "stack overflow").
    let need =
        off as usize + (b as usize - 1).max(p.num_params as usize) + p.max_stack as usize + 2;
    if p.is_vararg || need > room {
        return Err(NR);
    }
    let (_, fo) = rd(rec, regs, a as u32)?;
    guard_identity(
        rec,
        "lua_closure_proto",
        h_closure_proto,
        fo,
        Rc::as_ptr(&p) as usize,
    );
    // The guard compares addresses: keep the prototype alive as long as
    // the trace may run (and known, to print locations).
    jit.know_proto(&p);
    let mut chain = sites.to_vec();
    chain.push(CallSite {
        call: (caller, pc as u32),
        callee: p.id,
        off,
        nres: c - 1,
    });
    let gid = INLINED | jit.context_id(&chain);
    Ok(Some(InlineFrame {
        proto: p,
        closure: cl,
        closure_op: fo,
        off,
        call_pc: pc,
        a,
        nres: c - 1,
        gid,
    }))
}

/// Records and executes instructions from `pc` (a loop header) until the
/// recording is closed or must be abandoned. Each instruction is first
/// recorded ([`record`], which refuses anything it cannot record or that
/// could raise, call or allocate), then executed on the register window
/// ([`exec`], the same semantics as the VM's instruction arms). Calls of
/// Lua functions are followed into the callee ([`InlineFrame`]). An
/// instruction that cannot be recorded is left to the VM: the recording is
/// abandoned and its pc returned (inside inlined calls, with the context
/// the VM rebuilds their frames from).
///
/// `stack` is the stack from the loop's frame up. Not inlined: `run_loop`,
/// called at every merge point, stays small.
#[inline(never)]
fn record_loop(
    jit: &mut LuaJit,
    rec: Box<Recorder<Green>>,
    root: &FrameCtx,
    proto: &Proto,
    stack: &mut [Value],
    mut pc: usize,
) -> Stop {
    let mut rec = Rec {
        inner: rec,
        off: 0,
        gid: proto.id,
        index_name: root.index_name,
        next_out: jit.next_out.get() as usize,
    };
    // Calls being followed, innermost last, and their call sites.
    let mut frames: Vec<InlineFrame> = Vec::new();
    let mut sites: Vec<CallSite> = Vec::new();
    // Back-edges of inner loops followed so far (their iterations are
    // unrolled into this trace).
    let mut unrolled = 0u32;
    // Back-edges of loops inside inlined callees followed so far.
    let mut callee_unrolled = 0u32;
    let root_n = proto.max_stack as usize;
    let room = vm::MAX_STACK
        .saturating_sub(root.below.len())
        .min(stack.len());
    // The loop's body: from its header to its last back-edge. A recording
    // that stops past it has left the loop (its last iteration: a generic
    // `for`'s closing `Close`, say), which says nothing about the body.
    let header = pc;
    // Registers at or above this one hold no local at the header: dead
    // temporaries there (in the VM, a generic `for`'s iterator call
    // leaves its results in them), not carried around the loop.
    let live_at_header = proto
        .locals
        .iter()
        .filter(|l| (l.2 as usize) <= header && header < l.3 as usize)
        .map(|l| l.1 as u32 + 1)
        .max()
        .unwrap_or(0);
    let body_end = (header..proto.code.len())
        .filter(|&i| proto.code.get(i).and_then(|ins| ins.backedge_target(i)) == Some(header))
        .max()
        .unwrap_or(usize::MAX);
    // Where the VM continues when the recording stops at `pc` of the
    // running frame.
    let resume = |frames: &[InlineFrame], pc: usize| match frames.last() {
        Some(f) => Stop::Inlined(f.gid & !INLINED, pc),
        None => Stop::Abandoned(pc),
    };
    loop {
        let (cur, closure, closure_op) = match frames.last() {
            Some(f) => (&*f.proto, f.closure, Some(f.closure_op)),
            None => (proto, root.closure, None),
        };
        rec.off = frames.last().map_or(0, |f| f.off);
        rec.gid = frames.last().map_or(proto.id, |f| f.gid);
        let (mid, upper) = stack.split_at_mut((rec.off as usize).min(room));
        let regs = window(upper, 0, cur.max_stack as usize);
        let ctx = FrameCtx {
            closure,
            below: root.below,
            mid,
            stack_addr: root.stack_addr,
            closure_op,
            index_name: root.index_name,
            body: frames.is_empty().then_some((header, body_end)),
        };
        let instr = cur.code.get(pc);
        // A call of a Lua function: follow it.
        let mut callee = None;
        let mut step = match instr {
            Some(Instr::Call(a, b, c)) => {
                // The call's guards resume at the call.
                let g = (rec.gid, pc as u32);
                rec.at(g);
                match inline_call(jit, &mut rec, regs, (cur.id, pc), (a, b, c), &sites, room) {
                    Ok(Some(f)) => {
                        callee = Some(f);
                        Ok(())
                    }
                    Ok(None) => record(&mut rec, &ctx, cur, regs, pc),
                    Err(e) => Err(e),
                }
            }
            // A callee's results up to the stack top: not followed.
            Some(Instr::Return(_, 0)) if !frames.is_empty() => Err(NR),
            Some(Instr::Return(..)) if !frames.is_empty() => {
                let g = (rec.gid, pc as u32);
                rec.at(g);
                Ok(())
            }
            _ => record(&mut rec, &ctx, cur, regs, pc),
        };
        if step.is_ok() {
            if let Some(reason) = rec.aborted() {
                step = Err(reason);
            }
        }
        if let Err(reason) = step {
            if frames.is_empty() && matches!(instr, Some(Instr::Return(..) | Instr::TailCall(..))) {
                // A `return` out of the loop: the loop ended while it was
                // recorded.
                jit.left_loop(rec.inner, (rec.gid, pc as u32));
                return Stop::Abandoned(pc);
            }
            let never = instr.is_some_and(|i| match i {
                // Calls are recordable only for a few native functions and
                // for the Lua functions followed above, which fail at their
                // own instructions, or by nesting too deep.
                Instr::Call(a, b, c) => {
                    reason == AbortReason::CallTooDeep || float_call(regs, a, b, c).is_none()
                }
                i => !recordable_kind(&i),
            });
            let start = rec.start();
            jit.abandon(rec.inner, reason, (rec.gid, pc as u32));
            if never
                && matches!(
                    reason,
                    AbortReason::NotRecordable | AbortReason::CallTooDeep
                )
            {
                // Keyed by the loop's own instruction (the outermost call).
                let at = frames.first().map_or(pc, |f| f.call_pc);
                jit.note_hard_abort(start, at as u32, true);
            }
            return resume(&frames, pc);
        }
        if let Some(f) = callee {
            // Enter the callee: its registers start above the function;
            // missing arguments are nil (`inline_call` checked the room).
            let nargs = match instr {
                Some(Instr::Call(_, b, _)) => b as usize - 1,
                _ => 0,
            };
            let base = f.off as usize;
            for k in nargs..f.proto.num_params as usize {
                stack[base + k] = Value::Nil;
                rec.write(base as u32 + k as u32, TAG_NIL, Operand::Int(0));
            }
            sites = jit.contexts.borrow()[(f.gid & !INLINED) as usize].clone();
            frames.push(f);
            pc = 0;
            continue;
        }
        if let (Some(Instr::Return(ra, rb)), Some(f)) = (instr, frames.last()) {
            // Leave the callee: its results to the caller's registers.
            let n = rb as usize - 1;
            let mut results = Vec::with_capacity(f.nres as usize);
            for i in 0..f.nres as usize {
                if i >= n {
                    results.push((Value::Nil, Operand::Int(0)));
                    continue;
                }
                match rd(&mut rec, regs, ra as u32 + i as u32) {
                    Ok(x) => results.push(x),
                    Err(reason) => {
                        jit.abandon(rec.inner, reason, (rec.gid, pc as u32));
                        return resume(&frames, pc);
                    }
                }
            }
            let f = frames.pop().expect("a frame to leave");
            sites.pop();
            let caller_off = frames.last().map_or(0, |g| g.off);
            let caller_n = frames.last().map_or(root_n, |g| g.proto.max_stack as usize);
            rec.off = caller_off;
            let cregs = window(&mut stack[caller_off as usize..], 0, caller_n);
            for (i, (v, o)) in results.into_iter().enumerate() {
                let r = f.a as usize + i;
                if let Some(slot) = cregs.get_mut(r) {
                    *slot = v;
                    rec.write(caller_off + r as u32, v.to_raw().0, o);
                }
            }
            // The callee's registers (and the caller's above the results)
            // are dead now.
            rec.forget(caller_off + f.a as u32 + f.nres as u32, CLOSURE_SLOT);
            pc = f.call_pc + 1;
            continue;
        }
        let Some(next) = exec(&ctx, cur, regs, pc) else {
            // `record` accepted what `exec` refuses: cannot happen; the VM
            // executes the instruction.
            jit.abandon(rec.inner, NR, (rec.gid, pc as u32));
            return resume(&frames, pc);
        };
        if let Some(reason) = rec.aborted() {
            jit.abandon(rec.inner, reason, (rec.gid, pc as u32));
            return resume(&frames, next);
        }
        if frames.is_empty() && !(header..=body_end).contains(&next) {
            // The loop ended while it was recorded (its exit test or a
            // `break` jumped out of its body).
            jit.left_loop(rec.inner, (rec.gid, pc as u32));
            return Stop::Abandoned(next);
        }
        if next <= pc && !frames.is_empty() {
            // A loop inside an inlined callee: unrolled into the trace, as
            // an inner loop of the loop's own frame is.
            callee_unrolled += 1;
            if callee_unrolled > CALLEE_UNROLL_LIMIT {
                let start = rec.start();
                jit.abandon(rec.inner, AbortReason::TraceTooLong, (rec.gid, pc as u32));
                jit.note_hard_abort(start, frames[0].call_pc as u32, false);
                return resume(&frames, next);
            }
            // Not a merge point of the loop being recorded.
            pc = next;
            continue;
        }
        if next <= pc {
            // A back-edge was taken: a merge point.
            let green = (proto.id, next as u32);
            let start = rec.start();
            if green == start {
                rec.forget(live_at_header, CLOSURE_SLOT);
            }
            if green != start {
                // The back-edge of an inner loop (an enclosing loop's is
                // outside the body: the recording stopped there, above).
                unrolled += 1;
                if unrolled > UNROLL_LIMIT {
                    // An outer loop whose trace would unroll many inner
                    // iterations: left to the interpreter (its inner
                    // loops get their own traces).
                    jit.abandon(rec.inner, AbortReason::TraceTooLong, (proto.id, pc as u32));
                    jit.note_hard_abort(start, pc as u32, false);
                    return Stop::Abandoned(next);
                }
            }
            match jit.driver.recording_at(rec.inner, green) {
                Recording::Continue(r) => rec.inner = r,
                Recording::Done => {
                    jit.note_blacklist(start);
                    return Stop::Closed(next);
                }
            }
        }
        pc = next;
    }
}

/// Pushes the VM frames of the inlined calls that compiled code or a
/// recording stopped in ([`LuaJit::pending`]), so that the VM continues in
/// the innermost callee: each caller's saved pc is after its call (where
/// the callee returns to), the innermost frame's is where to resume. The
/// registers were written back already (the callees' are red slots above
/// the loop's frame, at `base`).
#[cold]
#[inline(never)]
fn enter_inlined_frames(vm: &mut Vm, base: usize) {
    let Some((ctx, pc)) = vm.jit.as_deref_mut().and_then(|j| j.pending.take()) else {
        return;
    };
    let sites = match vm.jit.as_deref() {
        Some(j) => j.contexts.borrow()[ctx as usize].clone(),
        None => return,
    };
    for site in &sites {
        if let Some(f) = vm.frames.last_mut() {
            f.pc = site.call.1 as usize + 1;
        }
        let cbase = base + site.off as usize;
        let Value::LFn(cl) = vm.stack[cbase - 1] else {
            // The trace guarded the callee's prototype on this register.
            panic!(
                "inlined call without its closure at stack slot {}",
                cbase - 1
            );
        };
        vm.push_inlined_frame(cl, cbase, site.nres as i32);
    }
    if let Some(f) = vm.frames.last_mut() {
        f.pc = pc;
    }
}

/// Whether `record` can record some instances of this instruction (the
/// others are never recordable, whatever the operand types). `Close` is
/// not among them: whether it is recorded depends only on the prototype
/// ([`close_is_noop`]), so one that stops a recording always will.
fn recordable_kind(i: &Instr) -> bool {
    matches!(
        i,
        Instr::Move(..)
            | Instr::LoadK(..)
            | Instr::LoadI(..)
            | Instr::LoadBool(..)
            | Instr::LFalseSkip(..)
            | Instr::LoadNil(..)
            | Instr::GetUpval(..)
            | Instr::GetTabUp(..)
            | Instr::Add(..)
            | Instr::Sub(..)
            | Instr::Mul(..)
            | Instr::Div(..)
            | Instr::Pow(..)
            | Instr::Mod(..)
            | Instr::IDiv(..)
            | Instr::BAnd(..)
            | Instr::BOr(..)
            | Instr::BXor(..)
            | Instr::Shl(..)
            | Instr::Shr(..)
            | Instr::Unm(..)
            | Instr::BNot(..)
            | Instr::Not(..)
            | Instr::Jmp(..)
            | Instr::Eq(..)
            | Instr::Lt(..)
            | Instr::Le(..)
            | Instr::Test(..)
            | Instr::ForPrep(..)
            | Instr::ForLoop(..)
            | Instr::Len(..)
    ) || (RECORD_TABLES
        && matches!(
            i,
            Instr::GetTable(..)
                | Instr::SetTable(..)
                | Instr::GetField(..)
                | Instr::SetField(..)
                | Instr::SelfOp(..)
                | Instr::TForCall(..)
                | Instr::TForLoop(..)
        ))
}

/// `t[k]` for a reference key as the VM reads it, through `__index`
/// tables; None where it would call a metamethod.
fn hget(ctx: &FrameCtx, t: &Table, k: Value) -> Option<Value> {
    hash_get(t, k).or_else(|| get_via_index(t, k, ctx.index_name))
}

/// Executes the recordable instruction at `pc` on the frame's registers,
/// exactly as the VM's dispatch loop does; returns the next pc, or None
/// (nothing changed) for anything else.
fn exec(ctx: &FrameCtx, proto: &Proto, regs: &mut [Value], pc: usize) -> Option<usize> {
    let instr = proto.code.get(pc)?;
    let k = |x: u16, regs: &[Value]| -> Option<Value> {
        if x & RK_CONST != 0 {
            proto.consts.get((x & 0x7fff) as usize).copied()
        } else {
            regs.get(x as usize).copied()
        }
    };
    let r = |x: u8, regs: &[Value]| regs.get(x as usize).copied();
    let skip = |cond: bool| if cond { pc + 2 } else { pc + 1 };
    let jump = |off: i32| (pc as isize + 1 + off as isize) as usize;
    let (dst, v) = match instr {
        Instr::Move(a, b) => (a, r(b, regs)?),
        Instr::LoadK(a, kx) => (a, proto.consts.get(kx as usize).copied()?),
        Instr::LoadI(a, i) => (a, Value::Int(i as i64)),
        Instr::LoadBool(a, b) => (a, Value::Bool(b)),
        Instr::LFalseSkip(a) => {
            *regs.get_mut(a as usize)? = Value::Bool(false);
            return Some(pc + 2);
        }
        Instr::LoadNil(a, n) => {
            let s = regs.get_mut(a as usize..=a as usize + n as usize)?;
            s.fill(Value::Nil);
            return Some(pc + 1);
        }
        Instr::Add(a, b, c)
        | Instr::Sub(a, b, c)
        | Instr::Mul(a, b, c)
        | Instr::Div(a, b, c)
        | Instr::Pow(a, b, c)
        | Instr::Mod(a, b, c)
        | Instr::IDiv(a, b, c)
        | Instr::BAnd(a, b, c)
        | Instr::BOr(a, b, c)
        | Instr::BXor(a, b, c)
        | Instr::Shl(a, b, c)
        | Instr::Shr(a, b, c) => (a, exec_binop(instr, k(b, regs)?, k(c, regs)?)?),
        Instr::Unm(a, b) => (
            a,
            match r(b, regs)? {
                Value::Int(i) => Value::Int(i.wrapping_neg()),
                Value::Num(f) => Value::Num(-f),
                _ => return None,
            },
        ),
        Instr::BNot(a, b) => match r(b, regs)? {
            Value::Int(i) => (a, Value::Int(!i)),
            _ => return None,
        },
        Instr::Not(a, b) => (a, Value::Bool(!r(b, regs)?.truthy())),
        Instr::Len(a, b) => match r(b, regs)? {
            Value::Table(t) if no_tm(t.get(), MM_LEN) => (a, Value::Int(t.get().len())),
            Value::Str(s) => (a, Value::Int(s.get().bytes.len() as i64)),
            _ => return None,
        },
        Instr::Close(a) if ctx.close_is_noop(proto, a, pc) => return Some(pc + 1),
        Instr::GetTable(a, b, c) => match (r(b, regs)?, k(c, regs)?) {
            (Value::Table(t), Value::Int(i)) => (a, array_get(t.get(), i)?),
            (Value::Table(t), key) if ref_key(key) => (a, hget(ctx, t.get(), key)?),
            _ => return None,
        },
        Instr::GetUpval(a, u) => (a, ctx.upval(u)?),
        Instr::GetTabUp(a, u, c) => match (ctx.upval(u)?, *proto.consts.get(c as usize)?) {
            (Value::Table(t), key @ Value::Str(_)) => (a, hget(ctx, t.get(), key)?),
            _ => return None,
        },
        Instr::GetField(a, b, c) => match (r(b, regs)?, *proto.consts.get(c as usize)?) {
            (Value::Table(t), key @ Value::Str(_)) => (a, hget(ctx, t.get(), key)?),
            _ => return None,
        },
        Instr::TForCall(a, c) => {
            let a = a as usize;
            let (f, s, ctl) = (
                r(a as u8, regs)?,
                r(a as u8 + 1, regs)?,
                r(a as u8 + 2, regs)?,
            );
            let (k, v) = tfor_step(f, s, ctl)?;
            let out = regs.get_mut(a + 4..a + 4 + (c as usize).max(1))?;
            out[0] = k;
            if let Some(x) = out.get_mut(1) {
                *x = v;
            }
            for x in out.iter_mut().skip(2) {
                *x = Value::Nil;
            }
            return Some(pc + 1);
        }
        Instr::TForLoop(a, off) => {
            let a = a as usize;
            let v = *regs.get(a + 4)?;
            if v.is_nil() {
                return Some(pc + 1);
            }
            *regs.get_mut(a + 2)? = v;
            return Some(jump(off));
        }
        Instr::SelfOp(a, b, c) => match (r(b, regs)?, *proto.consts.get(c as usize)?) {
            (obj @ Value::Table(t), key @ Value::Str(_)) => {
                let v = hget(ctx, t.get(), key)?;
                *regs.get_mut(a as usize + 1)? = obj;
                (a, v)
            }
            _ => return None,
        },
        Instr::SetTable(a, b, c) => {
            let (Value::Table(t), key) = (r(a, regs)?, k(b, regs)?) else {
                return None;
            };
            let v = k(c, regs)?;
            let tm = t.get_mut();
            match key {
                Value::Int(i) if array_set_ok(tm, i, v) => array_set(tm, i, v),
                _ if ref_key(key) && hash_set_ok(tm, key) => hash_set(tm, key, v),
                _ => return None,
            }
            return Some(pc + 1);
        }
        Instr::SetField(a, b, c) => {
            let (Value::Table(t), key @ Value::Str(_)) =
                (r(a, regs)?, *proto.consts.get(b as usize)?)
            else {
                return None;
            };
            let v = k(c, regs)?;
            let tm = t.get_mut();
            if !hash_set_ok(tm, key) {
                return None;
            }
            hash_set(tm, key, v);
            return Some(pc + 1);
        }
        Instr::Jmp(off) => return Some(jump(off)),
        Instr::Eq(kk, b, c) => {
            let (x, y) = (k(b, regs)?, k(c, regs)?);
            let eq = match (x, y) {
                // Different tables are equal only through `__eq`.
                (Value::Table(p), Value::Table(q)) => {
                    if Gc::ptr_eq(p, q) {
                        true
                    } else if no_eq_tm(p.get(), q.get()) {
                        false
                    } else {
                        return None;
                    }
                }
                _ => x.raw_eq(&y),
            };
            return Some(skip(eq != kk));
        }
        Instr::Lt(kk, b, c) | Instr::Le(kk, b, c) => {
            let lt = matches!(instr, Instr::Lt(..));
            let res = match (k(b, regs)?, k(c, regs)?) {
                (Value::Int(p), Value::Int(q)) => {
                    if lt {
                        p < q
                    } else {
                        p <= q
                    }
                }
                (Value::Num(p), Value::Num(q)) => {
                    if lt {
                        p < q
                    } else {
                        p <= q
                    }
                }
                (Value::Int(i), Value::Num(f)) => {
                    if lt {
                        lt_if(i, f)
                    } else {
                        le_if(i, f)
                    }
                }
                (Value::Num(f), Value::Int(i)) => {
                    if lt {
                        h_lt_fi(f, i) != 0
                    } else {
                        h_le_fi(f, i) != 0
                    }
                }
                (Value::Str(p), Value::Str(q)) => str_compare(p, q, lt),
                _ => return None,
            };
            return Some(skip(res != kk));
        }
        Instr::Test(a, kk) => return Some(skip(r(a, regs)?.truthy() != kk)),
        Instr::ForPrep(a, off) => {
            let a = a as usize;
            let (Value::Int(i0), Value::Int(lim), Value::Int(st)) =
                (*regs.get(a)?, *regs.get(a + 1)?, *regs.get(a + 2)?)
            else {
                return None;
            };
            if st == 0 || a + 3 >= regs.len() {
                return None;
            }
            let count = forprep_count(i0, lim, st);
            if count < 0 {
                return Some(jump(off));
            }
            regs[a + 1] = Value::Int(count);
            regs[a + 3] = Value::Int(i0);
            return Some(pc + 1);
        }
        Instr::ForLoop(a, off) => {
            let a = a as usize;
            if a + 3 >= regs.len() {
                return None;
            }
            match (regs[a], regs[a + 1], regs[a + 2]) {
                (Value::Int(i), Value::Int(count), Value::Int(step)) => {
                    if count > 0 {
                        let ni = i.wrapping_add(step);
                        regs[a + 1] = Value::Int(count - 1);
                        regs[a] = Value::Int(ni);
                        regs[a + 3] = Value::Int(ni);
                        return Some(jump(off));
                    }
                    return Some(pc + 1);
                }
                (Value::Num(i), Value::Num(lim), Value::Num(step)) => {
                    let ni = i + step;
                    let cont = if step > 0.0 { ni <= lim } else { lim <= ni };
                    if cont {
                        regs[a] = Value::Num(ni);
                        regs[a + 3] = Value::Num(ni);
                        return Some(jump(off));
                    }
                    return Some(pc + 1);
                }
                _ => return None,
            }
        }
        Instr::Call(a, b, c) => {
            exec_float_call(regs, a, b, c)?;
            return Some(pc + 1);
        }
        _ => return None,
    };
    *regs.get_mut(dst as usize)? = v;
    Some(pc + 1)
}

/// The callee of `Call(a, b, c)` if the call is one the recorder handles:
/// a `math` float function (`lib_math::float_function`) with exactly one
/// number argument and a fixed number of results. Such a call cannot
/// raise, allocate or re-enter the VM.
fn float_call(regs: &[Value], a: u8, b: u8, c: u8) -> Option<(super::lib_math::FloatOp, f64)> {
    let Value::NFn(nf) = *regs.get(a as usize)? else {
        return None;
    };
    if b != 2 || c == 0 || a as usize + c as usize > regs.len() {
        return None;
    }
    let op = super::lib_math::float_function(nf.get().f)?;
    let x = match *regs.get(a as usize + 1)? {
        Value::Int(i) => i as f64,
        Value::Num(x) => x,
        _ => return None,
    };
    Some((op, x))
}

/// Executes a [`float_call`] as the VM does: `R[a] = f(R[a+1])`, the
/// other results nil.
fn exec_float_call(regs: &mut [Value], a: u8, b: u8, c: u8) -> Option<()> {
    let ((_, f), x) = float_call(regs, a, b, c)?;
    let a = a as usize;
    if c >= 2 {
        regs[a] = Value::Num(f(x));
        regs[a + 1..a + c as usize - 1].fill(Value::Nil);
    }
    Some(())
}

/// A binary arithmetic or bitwise instruction on numbers, as the VM's fast
/// paths compute it (None: the VM's slow path or an error).
fn exec_binop(instr: Instr, x: Value, y: Value) -> Option<Value> {
    let f = |v: Value| match v {
        Value::Int(i) => Some(i as f64),
        Value::Num(f) => Some(f),
        _ => None,
    };
    Some(match (instr, x, y) {
        (Instr::Add(..), Value::Int(p), Value::Int(q)) => Value::Int(p.wrapping_add(q)),
        (Instr::Sub(..), Value::Int(p), Value::Int(q)) => Value::Int(p.wrapping_sub(q)),
        (Instr::Mul(..), Value::Int(p), Value::Int(q)) => Value::Int(p.wrapping_mul(q)),
        (Instr::Add(..), _, _) => Value::Num(f(x)? + f(y)?),
        (Instr::Sub(..), _, _) => Value::Num(f(x)? - f(y)?),
        (Instr::Mul(..), _, _) => Value::Num(f(x)? * f(y)?),
        (Instr::Div(..), _, _) => Value::Num(f(x)? / f(y)?),
        (Instr::Pow(..), _, _) => Value::Num(f(x)?.powf(f(y)?)),
        (Instr::Mod(..), Value::Int(p), Value::Int(q)) if q != 0 => Value::Int(vm::imod(p, q)),
        (Instr::IDiv(..), Value::Int(p), Value::Int(q)) if q != 0 => Value::Int(vm::idiv(p, q)),
        // A zero integer divisor raises an error.
        (Instr::Mod(..) | Instr::IDiv(..), Value::Int(_), Value::Int(_)) => return None,
        // Float and mixed operands: on floats, integers converted.
        (Instr::Mod(..), _, _) => Value::Num(vm::fmod(f(x)?, f(y)?)),
        (Instr::IDiv(..), _, _) => Value::Num((f(x)? / f(y)?).floor()),
        (Instr::BAnd(..), Value::Int(p), Value::Int(q)) => Value::Int(p & q),
        (Instr::BOr(..), Value::Int(p), Value::Int(q)) => Value::Int(p | q),
        (Instr::BXor(..), Value::Int(p), Value::Int(q)) => Value::Int(p ^ q),
        (Instr::Shl(..), Value::Int(p), Value::Int(q)) => Value::Int(vm::shift_left(p, q)),
        (Instr::Shr(..), Value::Int(p), Value::Int(q)) => {
            Value::Int(vm::shift_left(p, q.wrapping_neg()))
        }
        _ => return None,
    })
}

/// The recorder as the Lua recording sees it: the driver's [`Recorder`],
/// plus where the running frame's registers are among the red slots (an
/// inlined callee's register `r` is slot `off + r`) and how deep in
/// inlined calls the recording is.
struct Rec {
    inner: Box<Recorder<Green>>,
    /// Slot of the running frame's register 0 (0: the loop's own frame).
    off: u32,
    /// The first half of the running frame's greens: its prototype id in
    /// the loop's frame, [`INLINED`] and its inline context in a callee.
    gid: u32,
    /// The `__index` name ([`LuaJit::index_name`]).
    index_name: Option<Gc<LStr>>,
    /// The address of [`LuaJit::next_out`].
    next_out: usize,
}

impl std::ops::Deref for Rec {
    type Target = Recorder<Green>;
    fn deref(&self) -> &Recorder<Green> {
        &self.inner
    }
}

impl std::ops::DerefMut for Rec {
    fn deref_mut(&mut self) -> &mut Recorder<Green> {
        &mut self.inner
    }
}
type Res<T> = Result<T, AbortReason>;
const NR: AbortReason = AbortReason::NotRecordable;

/// The machine type of values with tag `tag`.
fn mty(tag: u8) -> Type {
    match tag {
        TAG_NIL | TAG_BOOL | TAG_INT => Type::Int,
        TAG_NUM => Type::Float,
        _ => Type::Ref,
    }
}

/// The trace constant for a constant value.
fn konst(rec: &mut Rec, v: Value) -> Operand {
    match v {
        Value::Nil => rec.const_int(0),
        Value::Bool(b) => rec.const_int(b as i64),
        Value::Int(i) => rec.const_int(i),
        Value::Num(f) => rec.const_float(f),
        other => rec.const_ref(other.to_raw().1 as usize),
    }
}

/// Reads register `r`: its concrete value and its shadow.
fn rd(rec: &mut Rec, regs: &[Value], r: u32) -> Res<(Value, Operand)> {
    let v = *regs.get(r as usize).ok_or(NR)?;
    let tag = v.to_raw().0;
    let slot = rec.off + r;
    Ok((v, rec.read(slot, tag, mty(tag))))
}

/// Reads an RK operand (register or constant).
fn rk(rec: &mut Rec, proto: &Proto, regs: &[Value], x: u16) -> Res<(Value, Operand)> {
    if x & RK_CONST != 0 {
        let v = *proto.consts.get((x & 0x7fff) as usize).ok_or(NR)?;
        Ok((v, konst(rec, v)))
    } else {
        rd(rec, regs, x as u32)
    }
}

/// Records a write of `o` (language type `tag`) to register `r`.
fn wr(rec: &mut Rec, regs: &[Value], r: u32, tag: u8, o: Operand) -> Res<()> {
    if r as usize >= regs.len() {
        return Err(NR);
    }
    let slot = rec.off + r;
    rec.write(slot, tag, o);
    Ok(())
}

/// `op` on operands, folding nothing (the optimizer folds constants).
fn op(rec: &mut Rec, opc: Opcode, args: &[Operand]) -> Operand {
    rec.op(opc, args)
}

/// A number operand as a float (casting integers).
fn as_float(rec: &mut Rec, v: Value, o: Operand) -> Option<(f64, Operand)> {
    match v {
        Value::Num(f) => Some((f, o)),
        Value::Int(i) => Some((
            i as f64,
            match o {
                Operand::Int(c) => rec.const_float(c as f64),
                _ => op(rec, Opcode::CastIntToFloat, &[o]),
            },
        )),
        _ => None,
    }
}

/// Guards a branch outcome unless the condition is a constant.
fn branch(rec: &mut Rec, cond: Operand, taken: bool) {
    if !cond.is_const() {
        rec.branch(cond, taken);
    }
}

// ---------------------------------------------------------------------
// Pure helpers called from compiled code. None of them panics or touches
// the heap.

extern "C" fn h_imod(a: i64, b: i64) -> i64 {
    if b == 0 {
        0
    } else {
        vm::imod(a, b)
    }
}
extern "C" fn h_idiv(a: i64, b: i64) -> i64 {
    if b == 0 {
        0
    } else {
        vm::idiv(a, b)
    }
}
extern "C" fn h_fmod(a: f64, b: f64) -> f64 {
    vm::fmod(a, b)
}
extern "C" fn h_fidiv(a: f64, b: f64) -> f64 {
    (a / b).floor()
}
extern "C" fn h_pow(a: f64, b: f64) -> f64 {
    a.powf(b)
}
extern "C" fn h_shl(x: i64, n: i64) -> i64 {
    vm::shift_left(x, n)
}
extern "C" fn h_shr(x: i64, n: i64) -> i64 {
    vm::shift_left(x, n.wrapping_neg())
}
/// The remaining-iteration count an integer `for` loop starts with (as
/// `Vm::for_prep` computes it), or -1 if the loop does not run.
/// `st` must be non-zero (0 gives -1).
extern "C" fn h_forprep_count(i0: i64, lim: i64, st: i64) -> i64 {
    forprep_count(i0, lim, st)
}

fn forprep_count(i0: i64, lim: i64, st: i64) -> i64 {
    if st == 0 || (if st > 0 { i0 > lim } else { i0 < lim }) {
        return -1;
    }
    let count = if st > 0 {
        (lim as u64).wrapping_sub(i0 as u64) / st as u64
    } else {
        let s = (st as u64).wrapping_neg();
        (i0 as u64).wrapping_sub(lim as u64) / s
    };
    count.min(i64::MAX as u64) as i64
}

// The comparisons are the VM's own, so compiled code and the interpreter
// agree by construction.
use super::vm::{float_le_int, float_lt_int, int_le_float as le_if, int_lt_float as lt_if};
const TWO63: f64 = 9_223_372_036_854_775_808.0;
extern "C" fn h_lt_if(i: i64, f: f64) -> i64 {
    lt_if(i, f) as i64
}
extern "C" fn h_le_if(i: i64, f: f64) -> i64 {
    le_if(i, f) as i64
}
extern "C" fn h_lt_fi(f: f64, i: i64) -> i64 {
    float_lt_int(f, i) as i64
}
extern "C" fn h_le_fi(f: f64, i: i64) -> i64 {
    float_le_int(f, i) as i64
}

/// Records `x < y` (`lt`) or `x <= y` between an integer and a float;
/// returns the condition and its concrete outcome. A constant float turns
/// into an integer comparison against its ceiling or floor.
fn mixed_compare(
    rec: &mut Rec,
    lt: bool,
    (x, ox): (Value, Operand),
    (y, oy): (Value, Operand),
) -> (Operand, bool) {
    match (x, y) {
        (Value::Int(i), Value::Num(f)) => {
            let r = if lt { lt_if(i, f) } else { le_if(i, f) };
            if let Operand::Float(_) = oy {
                return (int_vs_const(rec, ox, f, lt, false), r);
            }
            let (name, h): (&'static str, extern "C" fn(i64, f64) -> i64) = if lt {
                ("lua_lt_int_float", h_lt_if)
            } else {
                ("lua_le_int_float", h_le_if)
            };
            let d = pure(name, h as usize, &[Type::Int, Type::Float], Type::Int);
            (rec.call(d, &[ox, oy]), r)
        }
        (Value::Num(f), Value::Int(i)) => {
            let r = if lt {
                h_lt_fi(f, i) != 0
            } else {
                h_le_fi(f, i) != 0
            };
            if let Operand::Float(_) = ox {
                return (int_vs_const(rec, oy, f, lt, true), r);
            }
            let (name, h): (&'static str, extern "C" fn(f64, i64) -> i64) = if lt {
                ("lua_lt_float_int", h_lt_fi)
            } else {
                ("lua_le_float_int", h_le_fi)
            };
            let d = pure(name, h as usize, &[Type::Float, Type::Int], Type::Int);
            (rec.call(d, &[ox, oy]), r)
        }
        _ => (Operand::Int(0), false),
    }
}

/// The condition `i < f` / `i <= f` (or, `flipped`, `f < i` / `f <= i`)
/// for a constant float `f`, as an integer comparison.
fn int_vs_const(rec: &mut Rec, i: Operand, f: f64, lt: bool, flipped: bool) -> Operand {
    if f.is_nan() {
        return Operand::Int(0);
    }
    // f < i  <=>  !(i <= f);  f <= i  <=>  !(i < f)  (f not NaN)
    let (want_lt, negate) = if flipped { (!lt, true) } else { (lt, false) };
    let c = if want_lt {
        if f >= TWO63 {
            Operand::Int(1)
        } else if f <= -TWO63 {
            Operand::Int(0)
        } else {
            op(rec, Opcode::IntLt, &[i, Operand::Int(f.ceil() as i64)])
        }
    } else if f >= TWO63 {
        Operand::Int(1)
    } else if f < -TWO63 {
        Operand::Int(0)
    } else {
        op(rec, Opcode::IntLe, &[i, Operand::Int(f.floor() as i64)])
    };
    if !negate {
        c
    } else if let Operand::Int(k) = c {
        Operand::Int((k == 0) as i64)
    } else {
        op(rec, Opcode::IntEq, &[c, Operand::Int(0)])
    }
}

// ---------------------------------------------------------------------
// Table helpers for integer keys (residual calls: they read or write the heap but
// never allocate, so no collection can run inside a trace). `t` is always
// the payload of a slot tagged TAG_TABLE, i.e. the address of a live table.

/// The table behind a `TAG_TABLE` payload.
///
/// # Safety
/// `t` must be the address of a live `Table` (`Value::Table(..).to_raw()`).
unsafe fn table<'a>(t: usize) -> &'a mut Table {
    // SAFETY: the caller passes a live table's address; the VM is single
    // threaded and holds no reference into the table while a trace runs.
    // The object outlives the handle, so the reference is detached from it.
    unsafe {
        let g = Gc::<Table>::from_addr(t);
        &mut *(g.get_mut() as *mut Table)
    }
}

/// What `GetTable` reads with an integer key without the VM's slow path:
/// `t[i]` (array or hash part) unless it is nil and the table's
/// metatable may have an `__index` ([`no_tm`]); None then.
fn array_get(t: &Table, i: i64) -> Option<Value> {
    let v = t.get_int(i);
    if !v.is_nil() || no_tm(t, MM_INDEX) {
        Some(v)
    } else {
        None
    }
}

/// Whether `SetTable` of `v` with an integer key stores without the VM's
/// slow path and without allocating: no `__newindex` (see [`no_tm`]), and
/// `i` in the array part, or an existing (non-nil) hash entry that is not
/// the array's next slot (that store would migrate keys into the array
/// part), or an append of a non-nil value within the array's capacity to
/// a table whose hash part is empty (nothing to migrate).
fn array_set_ok(t: &Table, i: i64, v: Value) -> bool {
    let len = t.arr.len() as u64;
    no_tm(t, MM_NEWINDEX)
        && ((i as u64).wrapping_sub(1) < len
            || if i as u64 == len + 1 {
                !v.is_nil() && t.arr.len() < t.arr.capacity() && t.hash_is_empty()
            } else {
                !t.get_int(i).is_nil()
            })
}

/// `t[i] = v` as the VM does it, for a store `array_set_ok` accepted:
/// the array part directly, an existing hash entry or an append through
/// `Table::set` (which then neither allocates nor grows).
fn array_set(t: &mut Table, i: i64, v: Value) {
    if (i as u64).wrapping_sub(1) < t.arr.len() as u64 {
        t.arr[(i - 1) as usize] = v;
    } else {
        let _ = t.set(Value::Int(i), v);
    }
}

/// Whether `t`'s metatable, if it has one, is known to lack the
/// metamethod with flag `bit` (`MM_*`): the absence cache that
/// `Vm::tm_of` keeps in a metatable's flags (cleared by every store into
/// that table). The VM then takes the raw path, as without a metatable.
/// While the flag is not set (metamethod present, or not looked up yet),
/// the recorder and the helpers refuse, and the VM looks it up itself.
fn no_tm(t: &Table, bit: u8) -> bool {
    t.meta.is_none_or(|mt| mt.get().flags.get() & bit != 0)
}

/// Whether comparing two different tables `a == b` is false without
/// calling a metamethod (neither has `__eq`).
fn no_eq_tm(a: &Table, b: &Table) -> bool {
    no_tm(a, MM_EQ) && no_tm(b, MM_EQ)
}

/// Keys that the hash helpers take: references (strings, tables,
/// functions), passed to compiled helpers as a tag and an address.
/// (Integer keys use the array helpers; floats and booleans as keys are
/// not recorded.)
fn ref_key(k: Value) -> bool {
    matches!(
        k,
        Value::Str(_) | Value::Table(_) | Value::LFn(_) | Value::NFn(_)
    )
}

/// What `GetTable`/`GetField` read with a reference key without the VM's
/// slow path: `t[k]` unless it is nil and `t`'s metatable may have an
/// `__index`; None then.
fn hash_get(t: &Table, k: Value) -> Option<Value> {
    let v = match k {
        Value::Str(s) => t.get_str(s),
        _ => t.get(k),
    };
    if !v.is_nil() || no_tm(t, MM_INDEX) {
        Some(v)
    } else {
        None
    }
}

/// Whether `SetTable`/`SetField` with a reference key `k` store raw (no
/// `__newindex`) and without allocating: `k` already has a node, or the
/// hash part has room for a new one (no rehash).
fn hash_set_ok(t: &Table, k: Value) -> bool {
    no_tm(t, MM_NEWINDEX) && t.hash_store_fits(&k)
}

/// `t[k] = v` as the VM does it (`set_str` for strings, `set` otherwise),
/// for a store `hash_set_ok` accepted.
fn hash_set(t: &mut Table, k: Value, v: Value) {
    let _ = match k {
        Value::Str(s) => t.set_str(s, v),
        _ => t.set(k, v),
    };
}

/// Whether `Close(a)` has nothing to do in any activation of `proto`: no
/// closure created by `proto` captures a register at or above `a` (only
/// `Closure` opens upvalues on a frame's registers), and no register at
/// or above `a` is ever marked to be closed (`Tbc`).
fn close_is_noop(proto: &Proto, a: u8) -> bool {
    proto
        .protos
        .iter()
        .all(|p| p.upvals.iter().all(|&(instack, idx)| !instack || idx < a))
        && !proto
            .code
            .iter()
            .any(|i| matches!(i, Instr::Tbc(r) if r >= a))
}

/// [`close_is_noop`] for a `Close(a)` inside the body of the loop being
/// recorded, `body` (the pcs from its header to its last back-edge), with
/// `a` at or above the loop's own locals: upvalues and to-be-closed
/// variables on those registers can only come from the body itself (the
/// registers above the locals active when the loop started are the
/// loop's), so only the body's `Closure` and `Tbc` instructions count. (A
/// generic `for` closes its variables at the end of every iteration
/// because its closing value is a to-be-closed variable, a register below
/// them.)
fn close_is_noop_in(proto: &Proto, a: u8, (from, to): (usize, usize)) -> bool {
    (from..=to.min(proto.code.len().saturating_sub(1))).all(|pc| match proto.code.get(pc) {
        Some(Instr::Closure(_, k)) => proto
            .protos
            .get(k as usize)
            .is_some_and(|p| p.upvals.iter().all(|&(instack, idx)| !instack || idx < a)),
        Some(Instr::Tbc(r)) => r < a,
        _ => true,
    })
}

impl FrameCtx<'_> {
    /// Whether `Close(a)` at `pc` of the running frame has nothing to do.
    fn close_is_noop(&self, proto: &Proto, a: u8, pc: usize) -> bool {
        match self.body {
            Some(body) if (body.0..=body.1).contains(&pc) => close_is_noop_in(proto, a, body),
            _ => close_is_noop(proto, a),
        }
    }
}

/// `p < q` (`lt`) or `p <= q` on strings, as `Vm::less_than` compares them.
fn str_compare(p: Gc<LStr>, q: Gc<LStr>, lt: bool) -> bool {
    let (x, y) = (&p.get().bytes[..], &q.get().bytes[..]);
    if lt {
        x < y
    } else {
        x <= y
    }
}

/// The value behind a key or value passed to a helper as a tag and bits.
///
/// # Safety
/// For reference tags, `bits` must be the address of a live object of
/// that type (the trace read it from a slot or a constant with that tag).
unsafe fn val(tag: i64, bits: u64) -> Value {
    Value::from_raw(tag as u8, bits)
}

/// The string behind a `TAG_STR` payload.
///
/// # Safety
/// `s` must be the address of a live `LStr`.
unsafe fn lstr<'a>(s: usize) -> &'a LStr {
    // SAFETY: the caller passes a live string's address; strings are
    // immutable, and the object outlives the handle.
    unsafe { &*(Gc::<LStr>::from_addr(s).get() as *const LStr) }
}

extern "C" fn h_str_lt(a: usize, b: usize) -> i64 {
    // SAFETY: both are payloads of slots or constants tagged TAG_STR.
    unsafe { (lstr(a).bytes < lstr(b).bytes) as i64 }
}
extern "C" fn h_str_le(a: usize, b: usize) -> i64 {
    // SAFETY: both are payloads of slots or constants tagged TAG_STR.
    unsafe { (lstr(a).bytes <= lstr(b).bytes) as i64 }
}
extern "C" fn h_strlen(s: usize) -> i64 {
    // SAFETY: the payload of a slot or constant tagged TAG_STR.
    unsafe { lstr(s).bytes.len() as i64 }
}
/// `#t` (the border) if the VM computes it without `__len`, else -1.
extern "C" fn h_len(t: usize) -> i64 {
    // SAFETY: `t` is a live table (see above).
    let t = unsafe { table(t) };
    if no_tm(t, MM_LEN) {
        t.len()
    } else {
        -1
    }
}
/// 1 if two different tables compare unequal without `__eq`, else 0.
extern "C" fn h_no_eq_tm(a: usize, b: usize) -> i64 {
    // SAFETY: both are live tables (see above).
    unsafe { no_eq_tm(table(a), table(b)) as i64 }
}
extern "C" fn h_eq_if(i: i64, f: f64) -> i64 {
    int_float_eq(i, f) as i64
}

/// What the slot helpers return instead of an element where the VM would
/// take its slow path (a metamethod): a 16-byte stand-in whose tag byte
/// matches no `Value` tag, so the trace's tag guard fails.
static REFUSED: [u64; 2] = [0xff, 0];
/// The stand-in for an absent element of a table without `__index`: the
/// layout of `Value::Nil` (tag byte `TAG_NIL`; the trace loads no payload).
static ABSENT: [u64; 2] = [TAG_NIL as u64, 0];

/// The element address the slot helpers return for `slot`, the storage of
/// `t[k]` if any, following `hash_get`'s rule: a nil or absent element
/// counts only if `t`'s metatable has no `__index`.
fn slot_addr(t: &Table, slot: Option<&Value>) -> usize {
    match slot {
        Some(v) if !v.is_nil() => v as *const Value as usize,
        _ if no_tm(t, MM_INDEX) => ABSENT.as_ptr() as usize,
        _ => REFUSED.as_ptr() as usize,
    }
}

/// The address of `t[k]` (reference key `k` tagged `kt`) for the trace to
/// load its tag and payload from (see [`slot_addr`]). Valid until the
/// table is next modified; the trace loads from it at once.
extern "C" fn h_hget_slot(t: usize, kt: i64, k: usize) -> usize {
    // SAFETY: `t` is a live table, `k` a live object tagged `kt`.
    let (t, k) = unsafe { (table(t), val(kt, k as u64)) };
    slot_addr(t, t.slot(k))
}

/// The generic `for` iterators that traces run: `next` (from `pairs`)
/// and `ipairs`'s, over tables (`ipairs` only without a metatable, where
/// it reads raw).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Iter {
    Next,
    Ipairs,
}

fn iter_of(f: Value) -> Option<Iter> {
    let Value::NFn(nf) = f else { return None };
    let p = nf.get().f as usize;
    if p == super::lib_base::lua_next as *const () as usize {
        Some(Iter::Next)
    } else if p == super::lib_base::ipairs_aux as *const () as usize {
        Some(Iter::Ipairs)
    } else {
        None
    }
}

/// One step of a generic `for` over `next` or `ipairs` as the VM takes it
/// (`TForCall`): the key (nil at the end) and the value; None for other
/// iterators, or where the VM would raise or call a metamethod.
fn tfor_step(f: Value, s: Value, ctl: Value) -> Option<(Value, Value)> {
    let Value::Table(t) = s else { return None };
    match iter_of(f)? {
        Iter::Next => match t.get().next(ctl) {
            Ok(Some(kv)) => Some(kv),
            Ok(None) => Some((Value::Nil, Value::Nil)),
            Err(()) => None,
        },
        Iter::Ipairs => {
            let t = t.get();
            if t.meta.is_some() {
                return None;
            }
            let i = match ctl {
                Value::Int(i) => i.wrapping_add(1),
                _ => 1,
            };
            let v = t.get_int(i);
            Some(if v.is_nil() {
                (Value::Nil, Value::Nil)
            } else {
                (Value::Int(i), v)
            })
        }
    }
}

/// `next(t, k)` for a trace: writes the key and value to `out` and returns
/// 1, or 0 at the end (key nil), or -1 where the VM would raise ("invalid
/// key to 'next'").
extern "C" fn h_next(t: usize, kt: i64, k: usize, out: usize) -> i64 {
    // SAFETY: `t` is a live table, `k` a live value tagged `kt`, `out` the
    // JIT's two-value scratch buffer (`LuaJit::next_out`, an `UnsafeCell`
    // whose `get()` pointer the trace embeds), which no reference points
    // into while a trace runs: only traces and this helper touch it.
    let (t, k, out) = unsafe { (table(t), val(kt, k as u64), &mut *(out as *mut [Value; 2])) };
    match t.next(k) {
        Ok(Some((k, v))) => {
            *out = [k, v];
            1
        }
        Ok(None) => {
            out[0] = Value::Nil;
            0
        }
        Err(()) => -1,
    }
}

/// The address of `t[i + 1]` for `ipairs` (raw: the stand-in that fails
/// the trace's tag guard if `t` has a metatable, where the VM indexes).
extern "C" fn h_ipairs_slot(t: usize, i: i64) -> usize {
    // SAFETY: `t` is a live table.
    let t = unsafe { table(t) };
    if t.meta.is_some() {
        return REFUSED.as_ptr() as usize;
    }
    match t.slot(Value::Int(i.wrapping_add(1))) {
        Some(v) if !v.is_nil() => v as *const Value as usize,
        _ => ABSENT.as_ptr() as usize,
    }
}

/// Records `TForCall(a, c)` for `next` and `ipairs` over a table: a guard
/// on the iterator function, a helper call, the key and value loaded with
/// their tags guarded.
fn record_tfor_call(rec: &mut Rec, regs: &[Value], a: u8, c: u8) -> Res<()> {
    let (f, fo) = rd(rec, regs, a as u32)?;
    let (s, so) = rd(rec, regs, a as u32 + 1)?;
    let (ctl, co) = rd(rec, regs, a as u32 + 2)?;
    let iter = iter_of(f).ok_or(NR)?;
    let (k, v) = tfor_step(f, s, ctl).ok_or(NR)?;
    let want = match iter {
        Iter::Next => super::lib_base::lua_next as *const () as usize,
        Iter::Ipairs => super::lib_base::ipairs_aux as *const () as usize,
    };
    guard_identity(rec, "lua_native_fn", h_native_fn, fo, want);
    let (ko, vo) = match iter {
        Iter::Next => {
            // The control variable (the previous key) passes as its bits.
            let args: &'static [Type] = match ctl {
                Value::Nil | Value::Int(_) => &[Type::Ref, Type::Int, Type::Int, Type::Ref],
                k if ref_key(k) => &[Type::Ref, Type::Int, Type::Ref, Type::Ref],
                _ => return Err(NR),
            };
            let d = helper(
                "lua_next",
                h_next as extern "C" fn(usize, i64, usize, usize) -> i64 as usize,
                args,
                Type::Int,
                EffectKind::WritesHeap,
            );
            let kt = Operand::Int(ctl.to_raw().0 as i64);
            let out = Operand::Ref(rec.next_out);
            let st = rec.call(d, &[so, kt, co, out]);
            let found = !k.is_nil();
            let ok = op(rec, Opcode::IntEq, &[st, Operand::Int(found as i64)]);
            branch(rec, ok, true);
            if found {
                let ko = load_value(rec, Operand::Ref(rec.next_out), k.to_raw().0);
                let vo = load_value(
                    rec,
                    Operand::Ref(rec.next_out + std::mem::size_of::<Value>()),
                    v.to_raw().0,
                );
                (ko, vo)
            } else {
                (Operand::Int(0), Operand::Int(0))
            }
        }
        Iter::Ipairs => {
            let Value::Int(_) = ctl else { return Err(NR) };
            let d = helper(
                "lua_ipairs_slot",
                h_ipairs_slot as extern "C" fn(usize, i64) -> usize as usize,
                &[Type::Ref, Type::Int],
                Type::Ref,
                EffectKind::ReadsHeap,
            );
            let p = rec.call(d, &[so, co]);
            let vo = load_value(rec, p, v.to_raw().0);
            let ko = if k.is_nil() {
                Operand::Int(0)
            } else {
                op(rec, Opcode::IntAdd, &[co, Operand::Int(1)])
            };
            (ko, vo)
        }
    };
    wr(rec, regs, a as u32 + 4, k.to_raw().0, ko)?;
    if c >= 2 {
        wr(
            rec,
            regs,
            a as u32 + 5,
            if k.is_nil() { TAG_NIL } else { v.to_raw().0 },
            if k.is_nil() { Operand::Int(0) } else { vo },
        )?;
    }
    for r in 2..c as u32 {
        wr(rec, regs, a as u32 + 4 + r, TAG_NIL, Operand::Int(0))?;
    }
    Ok(())
}

/// Longest chain of `__index` tables that traces follow (the VM follows
/// up to 2000, lua5.4's `MAXTAGLOOP`).
const INDEX_CHAIN: usize = 8;

/// Where `t[k]` is as the VM's `index` finds it when every `__index` on
/// the way is a table (method lookups through a class, inheritance).
enum Lookup {
    /// The element and its address.
    Found(Value, usize),
    /// Absent, and no `__index` to consult: nil.
    Absent,
    /// The VM would call a function (or the chain is too long).
    Refused,
}

fn index_lookup(t: &Table, k: Value, name: Gc<LStr>) -> Lookup {
    let mut tb: *const Table = t;
    for _ in 0..INDEX_CHAIN {
        // SAFETY: `tb` is `t` or a table reached from it through metatables
        // just now: all alive (nothing collects or mutates during the
        // lookup).
        let t = unsafe { &*tb };
        let slot = match k {
            Value::Str(s) => t.str_slot(s),
            _ => t.slot(k),
        };
        if let Some(v) = slot {
            if !v.is_nil() {
                return Lookup::Found(*v, v as *const Value as usize);
            }
        }
        let Some(mt) = t.meta else {
            return Lookup::Absent;
        };
        if no_tm(t, MM_INDEX) {
            return Lookup::Absent;
        }
        match mt.get().get_str(name) {
            Value::Nil => return Lookup::Absent,
            Value::Table(next) => tb = next.get(),
            _ => return Lookup::Refused,
        }
    }
    Lookup::Refused
}

/// `t[k]` (reference key) through `__index` tables, if no function would
/// be called.
fn get_via_index(t: &Table, k: Value, name: Option<Gc<LStr>>) -> Option<Value> {
    match index_lookup(t, k, name?) {
        Lookup::Found(v, _) => Some(v),
        Lookup::Absent => Some(Value::Nil),
        Lookup::Refused => None,
    }
}

/// The address of `t[k]` following `__index` tables (`name` is the
/// interned `"__index"`), or a stand-in ([`REFUSED`], [`ABSENT`]).
extern "C" fn h_index_slot(t: usize, kt: i64, k: usize, name: usize) -> usize {
    // SAFETY: `t` is a live table, `k` a live object tagged `kt`, `name`
    // the VM's interned `__index` string (alive as long as the VM).
    let (t, k, name) = unsafe {
        (
            table(t),
            val(kt, k as u64),
            val(TAG_STR as i64, name as u64),
        )
    };
    let Value::Str(name) = name else {
        return REFUSED.as_ptr() as usize;
    };
    match index_lookup(t, k, name) {
        Lookup::Found(_, addr) => addr,
        Lookup::Absent => ABSENT.as_ptr() as usize,
        Lookup::Refused => REFUSED.as_ptr() as usize,
    }
}

/// The address of `t[s]` for a string key (a field: `GetField`,
/// `GetTabUp`, `SelfOp` and string constants): [`h_hget_slot`] with
/// `get_str`'s probe, which compares interned strings by address (the
/// general lookup hashes and compares by value: 75 instructions a call
/// in havlak's field loop).
extern "C" fn h_hget_str_slot(t: usize, s: usize) -> usize {
    // SAFETY: `t` is a live table, `s` a live string (a constant of the
    // recorded prototype or read from a slot tagged as a string).
    let (t, s) = unsafe { (table(t), val(TAG_STR as i64, s as u64)) };
    let Value::Str(s) = s else {
        return REFUSED.as_ptr() as usize;
    };
    slot_addr(t, t.str_slot(s))
}

/// Stores `v` into `t[k]` if the VM's raw path would, without allocating;
/// returns 1 if it did, 0 (nothing changed) otherwise.
fn hset(t: usize, k: Value, v: Value) -> i64 {
    // SAFETY: `t` is a live table (see above).
    let t = unsafe { table(t) };
    if hash_set_ok(t, k) {
        hash_set(t, k, v);
        1
    } else {
        0
    }
}
extern "C" fn h_hset_int(t: usize, kt: i64, k: usize, tag: i64, bits: i64) -> i64 {
    // SAFETY: `k` is a live object tagged `kt`; `tag` is not a reference
    // tag (nil, boolean, integer).
    hset(t, unsafe { val(kt, k as u64) }, unsafe {
        val(tag, bits as u64)
    })
}
extern "C" fn h_hset_num(t: usize, kt: i64, k: usize, f: f64) -> i64 {
    // SAFETY: `k` is a live object tagged `kt`.
    hset(t, unsafe { val(kt, k as u64) }, Value::Num(f))
}
extern "C" fn h_hset_ref(t: usize, kt: i64, k: usize, tag: i64, r: usize) -> i64 {
    // SAFETY: `k` and `r` are live objects tagged `kt` and `tag` (read
    // from slots or constants with those tags).
    hset(t, unsafe { val(kt, k as u64) }, unsafe {
        val(tag, r as u64)
    })
}

/// The address of `t[i]` (see [`h_hget_slot`]).
extern "C" fn h_aget_slot(t: usize, i: i64) -> usize {
    // SAFETY: `t` is a live table (see above).
    let t = unsafe { table(t) };
    slot_addr(t, t.slot(Value::Int(i)))
}

/// Stores `Value::from_raw(tag, bits)` into `t[i]` if the VM's fast path
/// would; returns 1 if it did, 0 (nothing changed) otherwise.
fn aset(t: usize, i: i64, v: Value) -> i64 {
    // SAFETY: `t` is a live table (see above).
    let t = unsafe { table(t) };
    if array_set_ok(t, i, v) {
        array_set(t, i, v);
        1
    } else {
        0
    }
}
extern "C" fn h_aset_int(t: usize, i: i64, tag: i64, bits: i64) -> i64 {
    // SAFETY: `t` is a live table (see above).
    let tb = unsafe { table(t) };
    let k = (i as u64).wrapping_sub(1);
    if tb.meta.is_none() && k < tb.arr.len() as u64 {
        // The common case first: the array part, inside its bounds.
        tb.arr[k as usize] = Value::from_raw(tag as u8, bits as u64);
        return 1;
    }
    aset(t, i, Value::from_raw(tag as u8, bits as u64))
}
extern "C" fn h_aset_num(t: usize, i: i64, f: f64) -> i64 {
    aset(t, i, Value::Num(f))
}
/// `r` is a reference that the trace read from a slot or a constant with
/// tag `tag`, so `from_raw` rebuilds a valid value.
extern "C" fn h_aset_ref(t: usize, i: i64, tag: i64, r: usize) -> i64 {
    aset(t, i, Value::from_raw(tag as u8, r as u64))
}

/// A call descriptor with the given effects.
fn helper(
    name: &'static str,
    addr: usize,
    args: &'static [Type],
    ret: Type,
    kind: EffectKind,
) -> CallDescr {
    CallDescr {
        name: name.into(),
        addr,
        args: args.into(),
        ret,
        effects: Effects {
            kind,
            can_raise: false,
        },
    }
}

/// The helper that finds one table element's storage: its argument types,
/// name and address.
struct GetHelpers {
    args: &'static [Type],
    slot: (&'static str, usize),
}

/// The array-part helper (integer keys).
fn aget_helpers() -> GetHelpers {
    GetHelpers {
        args: &[Type::Ref, Type::Int],
        slot: (
            "lua_aget_slot",
            h_aget_slot as extern "C" fn(usize, i64) -> usize as usize,
        ),
    }
}

/// The hash-part helper (reference keys).
fn hget_helpers() -> GetHelpers {
    GetHelpers {
        args: &[Type::Ref, Type::Int, Type::Ref],
        slot: (
            "lua_hget_slot",
            h_hget_slot as extern "C" fn(usize, i64, usize) -> usize as usize,
        ),
    }
}

/// Records `R[a] = v`, the element the helper `h` finds with `args`: one
/// call for the element's address, a load of its tag byte guarded against
/// `v`'s, then a load of its payload (`Value` is `#[repr(u8)]`: the tag is
/// byte 0, a boolean byte 1, numbers and references bytes 8..16). One
/// lookup per access, where a helper per tag and payload took two.
fn record_get_with(
    rec: &mut Rec,
    regs: &[Value],
    a: u8,
    v: Value,
    h: &GetHelpers,
    args: &[Operand],
) -> Res<()> {
    let tag = v.to_raw().0;
    let d = helper(h.slot.0, h.slot.1, h.args, Type::Ref, EffectKind::ReadsHeap);
    let p = rec.call(d, args);
    let val = load_value(rec, p, tag);
    wr(rec, regs, a as u32, tag, val)
}

/// Loads the `Value` at address `p` whose tag must be `tag`: its tag byte,
/// guarded, then its payload (none for nil, byte 1 for a boolean, bytes
/// 8..16 otherwise; `Value` is `#[repr(u8)]`, pinned by a layout test).
fn load_value(rec: &mut Rec, p: Operand, tag: u8) -> Operand {
    let field = |name: &'static str, offset: i32, ty: Type, size: u8| {
        Descr::Field(FieldDescr {
            name: name.into(),
            offset,
            ty,
            size,
            immutable: false,
        })
    };
    let t = rec.heap(Opcode::GetField, field("Value.tag", 0, Type::Int, 1), &[p]);
    let c = op(rec, Opcode::IntEq, &[t, Operand::Int(tag as i64)]);
    branch(rec, c, true);
    match tag {
        TAG_NIL => Operand::Int(0),
        TAG_BOOL => rec.heap(Opcode::GetField, field("Value.bool", 1, Type::Int, 1), &[p]),
        _ => rec.heap(
            Opcode::GetField,
            field("Value.payload", 8, mty(tag), 8),
            &[p],
        ),
    }
}

/// Records `R[a] = t[i]` with an integer key (`GetTable`).
fn record_aget(
    rec: &mut Rec,
    regs: &[Value],
    a: u8,
    (t, ot): (Value, Operand),
    (key, ok): (Value, Operand),
) -> Res<()> {
    let (Value::Table(tb), Value::Int(i)) = (t, key) else {
        return Err(NR);
    };
    let Some(v) = array_get(tb.get(), i) else {
        return Err(NR);
    };
    record_get_with(rec, regs, a, v, &aget_helpers(), &[ot, ok])
}

/// Records `R[a] = t[k]` with a reference key (`GetTable`, `GetField`).
fn record_hget(
    rec: &mut Rec,
    regs: &[Value],
    a: u8,
    (t, ot): (Value, Operand),
    (key, ok): (Value, Operand),
) -> Res<()> {
    let Value::Table(tb) = t else {
        return Err(NR);
    };
    if !ref_key(key) {
        return Err(NR);
    }
    let kt = Operand::Int(key.to_raw().0 as i64);
    if let Some(v) = hash_get(tb.get(), key) {
        if let Value::Str(_) = key {
            let h = GetHelpers {
                args: &[Type::Ref, Type::Ref],
                slot: (
                    "lua_hget_str_slot",
                    h_hget_str_slot as extern "C" fn(usize, usize) -> usize as usize,
                ),
            };
            return record_get_with(rec, regs, a, v, &h, &[ot, ok]);
        }
        return record_get_with(rec, regs, a, v, &hget_helpers(), &[ot, kt, ok]);
    }
    // Absent, with an `__index`: followed through tables.
    let name = rec.index_name.ok_or(NR)?;
    let v = get_via_index(tb.get(), key, Some(name)).ok_or(NR)?;
    let h = GetHelpers {
        args: &[Type::Ref, Type::Int, Type::Ref, Type::Ref],
        slot: (
            "lua_index_slot",
            h_index_slot as extern "C" fn(usize, i64, usize, usize) -> usize as usize,
        ),
    };
    let no = Operand::Ref(Value::Str(name).to_raw().1 as usize);
    record_get_with(rec, regs, a, v, &h, &[ot, kt, ok, no])
}

/// Records `t[k] = v` with a reference key (`SetTable`, `SetField`): a
/// store helper that refuses (changing nothing) where the VM would take
/// its slow path or allocate, and a guard on its answer.
fn record_hset(
    rec: &mut Rec,
    (t, ot): (Value, Operand),
    (key, ok): (Value, Operand),
    (v, ov): (Value, Operand),
) -> Res<()> {
    let Value::Table(tb) = t else {
        return Err(NR);
    };
    if !ref_key(key) || !hash_set_ok(tb.get(), key) {
        return Err(NR);
    }
    let kt = Operand::Int(key.to_raw().0 as i64);
    let tag = v.to_raw().0;
    let done = match mty(tag) {
        Type::Float => {
            let d = helper(
                "lua_hset_num",
                h_hset_num as extern "C" fn(usize, i64, usize, f64) -> i64 as usize,
                &[Type::Ref, Type::Int, Type::Ref, Type::Float],
                Type::Int,
                EffectKind::WritesHeap,
            );
            rec.call(d, &[ot, kt, ok, ov])
        }
        Type::Int => {
            let d = helper(
                "lua_hset_int",
                h_hset_int as extern "C" fn(usize, i64, usize, i64, i64) -> i64 as usize,
                &[Type::Ref, Type::Int, Type::Ref, Type::Int, Type::Int],
                Type::Int,
                EffectKind::WritesHeap,
            );
            rec.call(d, &[ot, kt, ok, Operand::Int(tag as i64), ov])
        }
        _ => {
            let d = helper(
                "lua_hset_ref",
                h_hset_ref as extern "C" fn(usize, i64, usize, i64, usize) -> i64 as usize,
                &[Type::Ref, Type::Int, Type::Ref, Type::Int, Type::Ref],
                Type::Int,
                EffectKind::WritesHeap,
            );
            rec.call(d, &[ot, kt, ok, Operand::Int(tag as i64), ov])
        }
    };
    branch(rec, done, true);
    Ok(())
}

/// Records `t[i] = v` into the array part (`SetTable`).
fn record_aset(
    rec: &mut Rec,
    (t, ot): (Value, Operand),
    (key, ok): (Value, Operand),
    (v, ov): (Value, Operand),
) -> Res<()> {
    let (Value::Table(tb), Value::Int(i)) = (t, key) else {
        return Err(NR);
    };
    if !array_set_ok(tb.get(), i, v) {
        return Err(NR);
    }
    let tag = v.to_raw().0;
    let done = match mty(tag) {
        Type::Float => {
            let d = helper(
                "lua_aset_num",
                h_aset_num as extern "C" fn(usize, i64, f64) -> i64 as usize,
                &[Type::Ref, Type::Int, Type::Float],
                Type::Int,
                EffectKind::WritesHeap,
            );
            rec.call(d, &[ot, ok, ov])
        }
        Type::Int => {
            let d = helper(
                "lua_aset_int",
                h_aset_int as extern "C" fn(usize, i64, i64, i64) -> i64 as usize,
                &[Type::Ref, Type::Int, Type::Int, Type::Int],
                Type::Int,
                EffectKind::WritesHeap,
            );
            rec.call(d, &[ot, ok, Operand::Int(tag as i64), ov])
        }
        _ => {
            let d = helper(
                "lua_aset_ref",
                h_aset_ref as extern "C" fn(usize, i64, i64, usize) -> i64 as usize,
                &[Type::Ref, Type::Int, Type::Int, Type::Ref],
                Type::Int,
                EffectKind::WritesHeap,
            );
            rec.call(d, &[ot, ok, Operand::Int(tag as i64), ov])
        }
    };
    // The helper stores only when the VM's fast path would; otherwise it
    // changes nothing and this guard sends the VM back to the instruction.
    branch(rec, done, true);
    Ok(())
}

/// A pure helper's call descriptor.
fn pure(name: &'static str, addr: usize, args: &'static [Type], ret: Type) -> CallDescr {
    CallDescr {
        name: name.into(),
        addr,
        args: args.into(),
        ret,
        effects: Effects {
            kind: EffectKind::Pure,
            can_raise: false,
        },
    }
}

fn call_ii(
    rec: &mut Rec,
    name: &'static str,
    f: extern "C" fn(i64, i64) -> i64,
    a: Operand,
    b: Operand,
) -> Operand {
    let d = pure(name, f as usize, &[Type::Int, Type::Int], Type::Int);
    rec.call(d, &[a, b])
}

fn call_ff(
    rec: &mut Rec,
    name: &'static str,
    f: extern "C" fn(f64, f64) -> f64,
    a: Operand,
    b: Operand,
) -> Operand {
    let d = pure(name, f as usize, &[Type::Float, Type::Float], Type::Float);
    rec.call(d, &[a, b])
}

extern "C" fn h_native_fn(f: usize) -> i64 {
    // SAFETY: `f` is the `Gc<NClosure>` address of a register holding a
    // native function (the trace is specialized on the register's tag), a
    // GC root for as long as the trace runs; `f` is immutable.
    unsafe { (*(f as *const NClosure)).f as usize as i64 }
}

/// Records a [`float_call`]: a guard that the register still holds the
/// same native function (by its code address: a function value recreated
/// at the same place passes only if it is the same function), then a pure
/// call of the computation on the float argument.
fn record_float_call(rec: &mut Rec, regs: &[Value], a: u8, b: u8, c: u8) -> Res<()> {
    let ((name, h), _) = float_call(regs, a, b, c).ok_or(NR)?;
    let (fv, fo) = rd(rec, regs, a as u32)?;
    let Value::NFn(nf) = fv else {
        return Err(NR);
    };
    guard_identity(rec, "lua_native_fn", h_native_fn, fo, nf.get().f as usize);
    let (x, xo) = rd(rec, regs, a as u32 + 1)?;
    let (_, xo) = as_float(rec, x, xo).ok_or(NR)?;
    let d = pure(name, h as usize, &[Type::Float], Type::Float);
    let r = rec.call(d, &[xo]);
    if c >= 2 {
        wr(rec, regs, a as u32, TAG_NUM, r)?;
        for x in a as u32 + 1..a as u32 + c as u32 - 1 {
            wr(rec, regs, x, TAG_NIL, Operand::Int(0))?;
        }
    }
    Ok(())
}

/// Upvalue `idx` of closure `cl` as (tag, bits); `stack` is the VM stack's
/// address (where open upvalues live).
///
/// # Safety
/// `cl` is a live `LClosure` with more than `idx` upvalues, and an open
/// upvalue's index is in the stack.
unsafe fn upval_raw(cl: usize, idx: i64, stack: usize) -> (u8, u64) {
    // SAFETY: per this function's contract.
    let cl = unsafe { &*(cl as *const LClosure) };
    match *cl.upvals[idx as usize].get() {
        UpVal::Closed(v) => v.to_raw(),
        // SAFETY: an open upvalue indexes the stack, which is never
        // reallocated (`Vm::new`).
        UpVal::Open(i) => unsafe { *(stack as *const Value).add(i) }.to_raw(),
    }
}

// The upvalue helpers below are called by traces with the running closure
// (red slot `CLOSURE_SLOT`, alive as the frame's function), an upvalue
// index checked at recording time against the prototype's upvalue count
// (every closure of it has that many), and the VM's stack address.
extern "C" fn h_upval_tag(cl: usize, idx: i64, stack: usize) -> i64 {
    // SAFETY: see above.
    unsafe { upval_raw(cl, idx, stack) }.0 as i64
}
extern "C" fn h_upval_bits(cl: usize, idx: i64, stack: usize) -> i64 {
    // SAFETY: see above.
    unsafe { upval_raw(cl, idx, stack) }.1 as i64
}
extern "C" fn h_upval_ref(cl: usize, idx: i64, stack: usize) -> usize {
    // SAFETY: see above.
    unsafe { upval_raw(cl, idx, stack) }.1 as usize
}
extern "C" fn h_upval_num(cl: usize, idx: i64, stack: usize) -> f64 {
    // SAFETY: see above.
    f64::from_bits(unsafe { upval_raw(cl, idx, stack) }.1)
}

/// Records a read of upvalue `u` of the running closure: its tag, guarded
/// against the one seen now, then its payload.
fn record_upval(rec: &mut Rec, ctx: &FrameCtx, u: u8) -> Res<(Value, Operand)> {
    let v = ctx.upval(u).ok_or(NR)?;
    let cl = match ctx.closure_op {
        Some(o) => o,
        None => rec.read(CLOSURE_SLOT, TAG_LFN, Type::Ref),
    };
    let args = [
        cl,
        Operand::Int(u as i64),
        Operand::Int(ctx.stack_addr as i64),
    ];
    const ARGS: &[Type] = &[Type::Ref, Type::Int, Type::Int];
    type H<T> = extern "C" fn(usize, i64, usize) -> T;
    let tag = v.to_raw().0;
    let d = helper(
        "lua_upval_tag",
        h_upval_tag as H<i64> as usize,
        ARGS,
        Type::Int,
        EffectKind::ReadsHeap,
    );
    let t = rec.call(d, &args);
    let same = op(rec, Opcode::IntEq, &[t, Operand::Int(tag as i64)]);
    branch(rec, same, true);
    let d = match mty(tag) {
        Type::Float => helper(
            "lua_upval_num",
            h_upval_num as H<f64> as usize,
            ARGS,
            Type::Float,
            EffectKind::ReadsHeap,
        ),
        Type::Ref => helper(
            "lua_upval_ref",
            h_upval_ref as H<usize> as usize,
            ARGS,
            Type::Ref,
            EffectKind::ReadsHeap,
        ),
        _ => helper(
            "lua_upval_bits",
            h_upval_bits as H<i64> as usize,
            ARGS,
            Type::Int,
            EffectKind::ReadsHeap,
        ),
    };
    Ok((v, rec.call(d, &args)))
}

/// Guards that the integer `y` (concretely non-zero) is non-zero.
fn guard_nonzero(rec: &mut Rec, y: Operand) {
    let c = op(rec, Opcode::IntNe, &[y, Operand::Int(0)]);
    branch(rec, c, true);
}

/// Records a shift of `x` left by `n` (right when `n` is negative), with
/// Lua's semantics (|n| >= 64 gives 0).
fn record_shift(rec: &mut Rec, x: Operand, n: Operand, left: bool) -> Operand {
    if let Operand::Int(c) = n {
        let c = if left { c } else { c.wrapping_neg() };
        return if c <= -64 || c >= 64 {
            rec.const_int(0)
        } else if c >= 0 {
            op(rec, Opcode::IntShl, &[x, Operand::Int(c)])
        } else {
            op(rec, Opcode::UintShr, &[x, Operand::Int(-c)])
        };
    }
    if left {
        call_ii(rec, "lua_shl", h_shl, x, n)
    } else {
        call_ii(rec, "lua_shr", h_shr, x, n)
    }
}

/// Records `Add`/`Sub`/`Mul`/`Div`/`Pow` on two numbers.
fn record_arith(
    rec: &mut Rec,
    regs: &[Value],
    a: u8,
    (x, ox): (Value, Operand),
    (y, oy): (Value, Operand),
    int_op: Option<Opcode>,
    float: &dyn Fn(&mut Rec, Operand, Operand) -> Operand,
) -> Res<()> {
    if let (Value::Int(_), Value::Int(_), Some(iop)) = (x, y, int_op) {
        let r = op(rec, iop, &[ox, oy]);
        return wr(rec, regs, a as u32, TAG_INT, r);
    }
    let (Some((_, fx)), Some((_, fy))) = (as_float(rec, x, ox), as_float(rec, y, oy)) else {
        return Err(NR);
    };
    let r = float(rec, fx, fy);
    wr(rec, regs, a as u32, TAG_NUM, r)
}

/// Records one instruction (see the module docs).
fn record(rec: &mut Rec, ctx: &FrameCtx, proto: &Proto, regs: &[Value], pc: usize) -> Res<()> {
    let instr = proto.code.get(pc).ok_or(NR)?;
    let g = (rec.gid, pc as u32);
    rec.at(g);
    let w = |rec: &mut Rec, r: u8, v: Value, o: Operand| wr(rec, regs, r as u32, v.to_raw().0, o);
    match instr {
        Instr::Move(a, b) => {
            let (v, o) = rd(rec, regs, b as u32)?;
            w(rec, a, v, o)
        }
        Instr::LoadK(a, kx) => {
            let v = *proto.consts.get(kx as usize).ok_or(NR)?;
            let o = konst(rec, v);
            w(rec, a, v, o)
        }
        Instr::LoadI(a, i) => wr(rec, regs, a as u32, TAG_INT, Operand::Int(i as i64)),
        Instr::LoadBool(a, b) => wr(rec, regs, a as u32, TAG_BOOL, Operand::Int(b as i64)),
        Instr::LFalseSkip(a) => wr(rec, regs, a as u32, TAG_BOOL, Operand::Int(0)),
        Instr::LoadNil(a, n) => {
            for r in a as u32..=a as u32 + n as u32 {
                wr(rec, regs, r, TAG_NIL, Operand::Int(0))?;
            }
            Ok(())
        }
        Instr::Add(a, b, c) => {
            let (x, y) = (rk(rec, proto, regs, b)?, rk(rec, proto, regs, c)?);
            record_arith(rec, regs, a, x, y, Some(Opcode::IntAdd), &|r, p, q| {
                op(r, Opcode::FloatAdd, &[p, q])
            })
        }
        Instr::Sub(a, b, c) => {
            let (x, y) = (rk(rec, proto, regs, b)?, rk(rec, proto, regs, c)?);
            record_arith(rec, regs, a, x, y, Some(Opcode::IntSub), &|r, p, q| {
                op(r, Opcode::FloatSub, &[p, q])
            })
        }
        Instr::Mul(a, b, c) => {
            let (x, y) = (rk(rec, proto, regs, b)?, rk(rec, proto, regs, c)?);
            record_arith(rec, regs, a, x, y, Some(Opcode::IntMul), &|r, p, q| {
                op(r, Opcode::FloatMul, &[p, q])
            })
        }
        Instr::Div(a, b, c) => {
            let (x, y) = (rk(rec, proto, regs, b)?, rk(rec, proto, regs, c)?);
            record_arith(rec, regs, a, x, y, None, &|r, p, q| {
                op(r, Opcode::FloatDiv, &[p, q])
            })
        }
        Instr::Pow(a, b, c) => {
            let (x, y) = (rk(rec, proto, regs, b)?, rk(rec, proto, regs, c)?);
            record_arith(rec, regs, a, x, y, None, &|r, p, q| {
                call_ff(r, "lua_pow", h_pow, p, q)
            })
        }
        // The VM's fast paths: int/int with a non-zero divisor, and floats
        // or mixed operands (on floats). A zero integer divisor raises an
        // error (not recorded: the recording is abandoned and the VM
        // raises it).
        Instr::Mod(a, b, c) | Instr::IDiv(a, b, c) => {
            let is_mod = matches!(instr, Instr::Mod(..));
            let ((x, ox), (y, oy)) = (rk(rec, proto, regs, b)?, rk(rec, proto, regs, c)?);
            match (x, y) {
                (Value::Int(_), Value::Int(q)) if q != 0 => {
                    guard_nonzero(rec, oy);
                    let r = if is_mod {
                        call_ii(rec, "lua_imod", h_imod, ox, oy)
                    } else {
                        call_ii(rec, "lua_idiv", h_idiv, ox, oy)
                    };
                    wr(rec, regs, a as u32, TAG_INT, r)
                }
                (Value::Int(_), Value::Int(_)) => Err(NR),
                _ => {
                    // Floats, or an integer and a float (converted).
                    let (Some((_, fx)), Some((_, fy))) =
                        (as_float(rec, x, ox), as_float(rec, y, oy))
                    else {
                        return Err(NR);
                    };
                    let r = if is_mod {
                        call_ff(rec, "lua_fmod", h_fmod, fx, fy)
                    } else {
                        call_ff(rec, "lua_floor_div", h_fidiv, fx, fy)
                    };
                    wr(rec, regs, a as u32, TAG_NUM, r)
                }
            }
        }
        Instr::BAnd(a, b, c) | Instr::BOr(a, b, c) | Instr::BXor(a, b, c) => {
            let ((x, ox), (y, oy)) = (rk(rec, proto, regs, b)?, rk(rec, proto, regs, c)?);
            let (Value::Int(_), Value::Int(_)) = (x, y) else {
                return Err(NR);
            };
            let opc = match instr {
                Instr::BAnd(..) => Opcode::IntAnd,
                Instr::BOr(..) => Opcode::IntOr,
                _ => Opcode::IntXor,
            };
            let r = op(rec, opc, &[ox, oy]);
            wr(rec, regs, a as u32, TAG_INT, r)
        }
        Instr::Shl(a, b, c) | Instr::Shr(a, b, c) => {
            let ((x, ox), (y, oy)) = (rk(rec, proto, regs, b)?, rk(rec, proto, regs, c)?);
            let (Value::Int(_), Value::Int(_)) = (x, y) else {
                return Err(NR);
            };
            let r = record_shift(rec, ox, oy, matches!(instr, Instr::Shl(..)));
            wr(rec, regs, a as u32, TAG_INT, r)
        }
        Instr::Unm(a, b) => {
            let (v, o) = rd(rec, regs, b as u32)?;
            match v {
                Value::Int(_) => {
                    let r = op(rec, Opcode::IntNeg, &[o]);
                    wr(rec, regs, a as u32, TAG_INT, r)
                }
                Value::Num(_) => {
                    let r = op(rec, Opcode::FloatNeg, &[o]);
                    wr(rec, regs, a as u32, TAG_NUM, r)
                }
                _ => Err(NR),
            }
        }
        Instr::BNot(a, b) => {
            let (v, o) = rd(rec, regs, b as u32)?;
            let Value::Int(_) = v else { return Err(NR) };
            let r = op(rec, Opcode::IntNot, &[o]);
            wr(rec, regs, a as u32, TAG_INT, r)
        }
        Instr::Not(a, b) => {
            let (v, o) = rd(rec, regs, b as u32)?;
            // The tag fixes the result except for booleans.
            let r = match v {
                Value::Nil => Operand::Int(1),
                Value::Bool(_) => op(rec, Opcode::IntEq, &[o, Operand::Int(0)]),
                _ => Operand::Int(0),
            };
            wr(rec, regs, a as u32, TAG_BOOL, r)
        }
        Instr::GetTable(..) | Instr::SetTable(..) | Instr::GetField(..) | Instr::SetField(..)
            if !RECORD_TABLES =>
        {
            Err(NR)
        }
        Instr::GetTable(a, b, c) => {
            let t = rd(rec, regs, b as u32)?;
            let key = rk(rec, proto, regs, c)?;
            if let Value::Int(_) = key.0 {
                record_aget(rec, regs, a, t, key)
            } else {
                record_hget(rec, regs, a, t, key)
            }
        }
        Instr::GetUpval(a, u) => {
            let (v, o) = record_upval(rec, ctx, u)?;
            w(rec, a, v, o)
        }
        Instr::GetTabUp(a, u, c) => {
            let t = record_upval(rec, ctx, u)?;
            let kv = *proto.consts.get(c as usize).ok_or(NR)?;
            let Value::Str(_) = kv else { return Err(NR) };
            let key = (kv, konst(rec, kv));
            record_hget(rec, regs, a, t, key)
        }
        Instr::GetField(a, b, c) => {
            let t = rd(rec, regs, b as u32)?;
            let kv = *proto.consts.get(c as usize).ok_or(NR)?;
            let Value::Str(_) = kv else { return Err(NR) };
            let key = (kv, konst(rec, kv));
            record_hget(rec, regs, a, t, key)
        }
        Instr::TForCall(a, c) => record_tfor_call(rec, regs, a, c),
        Instr::TForLoop(a, _) => {
            // Continue while the iterator's first result is not nil (its
            // tag is known: the trace guarded it where it was produced).
            let (v, o) = rd(rec, regs, a as u32 + 4)?;
            if v.is_nil() {
                Ok(())
            } else {
                wr(rec, regs, a as u32 + 2, v.to_raw().0, o)
            }
        }
        Instr::SelfOp(a, b, c) => {
            // R[a+1] = R[b]; R[a] = R[b][K[c]] (a method lookup).
            let t = rd(rec, regs, b as u32)?;
            let kv = *proto.consts.get(c as usize).ok_or(NR)?;
            let Value::Str(_) = kv else { return Err(NR) };
            let key = (kv, konst(rec, kv));
            record_hget(rec, regs, a, t, key)?;
            wr(rec, regs, a as u32 + 1, t.0.to_raw().0, t.1)
        }
        Instr::SetTable(a, b, c) => {
            let t = rd(rec, regs, a as u32)?;
            let key = rk(rec, proto, regs, b)?;
            let v = rk(rec, proto, regs, c)?;
            if let Value::Int(_) = key.0 {
                record_aset(rec, t, key, v)
            } else {
                record_hset(rec, t, key, v)
            }
        }
        Instr::SetField(a, b, c) => {
            let t = rd(rec, regs, a as u32)?;
            let kv = *proto.consts.get(b as usize).ok_or(NR)?;
            let Value::Str(_) = kv else { return Err(NR) };
            let key = (kv, konst(rec, kv));
            let v = rk(rec, proto, regs, c)?;
            record_hset(rec, t, key, v)
        }
        Instr::Len(a, b) => {
            let (v, o) = rd(rec, regs, b as u32)?;
            let r = match v {
                Value::Table(t) if no_tm(t.get(), MM_LEN) => {
                    let d = helper(
                        "lua_len",
                        h_len as extern "C" fn(usize) -> i64 as usize,
                        &[Type::Ref],
                        Type::Int,
                        EffectKind::ReadsHeap,
                    );
                    let r = rec.call(d, &[o]);
                    // -1: the table's metatable may have `__len` now.
                    let c = op(rec, Opcode::IntGe, &[r, Operand::Int(0)]);
                    branch(rec, c, true);
                    r
                }
                Value::Str(s) => match o {
                    Operand::Ref(_) => Operand::Int(s.get().bytes.len() as i64),
                    _ => {
                        let d = pure(
                            "lua_strlen",
                            h_strlen as extern "C" fn(usize) -> i64 as usize,
                            &[Type::Ref],
                            Type::Int,
                        );
                        rec.call(d, &[o])
                    }
                },
                _ => return Err(NR),
            };
            wr(rec, regs, a as u32, TAG_INT, r)
        }
        // Only when it has nothing to close in any activation (no code
        // needed); the VM closes upvalues and to-be-closed variables.
        Instr::Close(a) if ctx.close_is_noop(proto, a, pc) => Ok(()),
        Instr::Jmp(_) => Ok(()),
        Instr::Eq(_, b, c) => {
            let ((x, ox), (y, oy)) = (rk(rec, proto, regs, b)?, rk(rec, proto, regs, c)?);
            // Mirrors the VM: ints, interned strings by identity, tables
            // through `Vm::equals` (metamethods: not recorded), the rest
            // by raw equality.
            let (cond, r) = match (x, y) {
                (Value::Int(p), Value::Int(q)) => (op(rec, Opcode::IntEq, &[ox, oy]), p == q),
                (Value::Num(p), Value::Num(q)) => (op(rec, Opcode::FloatEq, &[ox, oy]), p == q),
                (Value::Bool(p), Value::Bool(q)) => (op(rec, Opcode::IntEq, &[ox, oy]), p == q),
                (Value::Nil, Value::Nil) => (Operand::Int(1), true),
                (Value::Str(_), Value::Str(_))
                | (Value::LFn(_), Value::LFn(_))
                | (Value::NFn(_), Value::NFn(_)) => {
                    (op(rec, Opcode::PtrEq, &[ox, oy]), x.raw_eq(&y))
                }
                (Value::Table(p), Value::Table(q)) => {
                    let same = Gc::ptr_eq(p, q);
                    if !same && !no_eq_tm(p.get(), q.get()) {
                        // `__eq` (or not looked up yet): the VM calls it.
                        return Err(NR);
                    }
                    let c = op(rec, Opcode::PtrEq, &[ox, oy]);
                    branch(rec, c, same);
                    if !same {
                        let d = helper(
                            "lua_no_eq_tm",
                            h_no_eq_tm as extern "C" fn(usize, usize) -> i64 as usize,
                            &[Type::Ref, Type::Ref],
                            Type::Int,
                            EffectKind::ReadsHeap,
                        );
                        let c = rec.call(d, &[ox, oy]);
                        branch(rec, c, true);
                    }
                    (Operand::Int(same as i64), same)
                }
                (Value::Int(i), Value::Num(f)) | (Value::Num(f), Value::Int(i)) => {
                    let (oi, of) = if let Value::Int(_) = x {
                        (ox, oy)
                    } else {
                        (oy, ox)
                    };
                    let d = pure(
                        "lua_eq_int_float",
                        h_eq_if as extern "C" fn(i64, f64) -> i64 as usize,
                        &[Type::Int, Type::Float],
                        Type::Int,
                    );
                    (rec.call(d, &[oi, of]), int_float_eq(i, f))
                }
                // Different types: never equal, fixed by the tags.
                _ => (Operand::Int(0), false),
            };
            branch(rec, cond, r);
            Ok(())
        }
        Instr::Lt(_, b, c) | Instr::Le(_, b, c) => {
            let lt = matches!(instr, Instr::Lt(..));
            let ((x, ox), (y, oy)) = (rk(rec, proto, regs, b)?, rk(rec, proto, regs, c)?);
            let (cond, r) = match (x, y) {
                (Value::Int(p), Value::Int(q)) => {
                    let opc = if lt { Opcode::IntLt } else { Opcode::IntLe };
                    (op(rec, opc, &[ox, oy]), if lt { p < q } else { p <= q })
                }
                (Value::Num(p), Value::Num(q)) => {
                    let opc = if lt { Opcode::FloatLt } else { Opcode::FloatLe };
                    (op(rec, opc, &[ox, oy]), if lt { p < q } else { p <= q })
                }
                (Value::Int(_), Value::Num(_)) | (Value::Num(_), Value::Int(_)) => {
                    mixed_compare(rec, lt, (x, ox), (y, oy))
                }
                (Value::Str(p), Value::Str(q)) => {
                    let (name, h): (&'static str, extern "C" fn(usize, usize) -> i64) = if lt {
                        ("lua_str_lt", h_str_lt)
                    } else {
                        ("lua_str_le", h_str_le)
                    };
                    let d = pure(name, h as usize, &[Type::Ref, Type::Ref], Type::Int);
                    (rec.call(d, &[ox, oy]), str_compare(p, q, lt))
                }
                _ => return Err(NR),
            };
            branch(rec, cond, r);
            Ok(())
        }
        Instr::Call(a, b, c) => record_float_call(rec, regs, a, b, c),
        Instr::Test(a, _) => {
            let (v, o) = rd(rec, regs, a as u32)?;
            // Truthiness is fixed by the tag except for booleans.
            if let Value::Bool(b) = v {
                branch(rec, o, b);
            }
            Ok(())
        }
        Instr::ForPrep(a, _) => {
            let a = a as u32;
            let (i0, oi) = rd(rec, regs, a)?;
            let (lim, ol) = rd(rec, regs, a + 1)?;
            let (st, os) = rd(rec, regs, a + 2)?;
            let (Value::Int(i0), Value::Int(lim), Value::Int(st)) = (i0, lim, st) else {
                // Float loops and float limits: not recorded.
                return Err(NR);
            };
            if st == 0 {
                // The VM raises "'for' step is zero".
                return Err(AbortReason::GuestError);
            }
            guard_nonzero(rec, os);
            let d = pure(
                "lua_forprep_count",
                h_forprep_count as extern "C" fn(i64, i64, i64) -> i64 as usize,
                &[Type::Int, Type::Int, Type::Int],
                Type::Int,
            );
            let count = rec.call(d, &[oi, ol, os]);
            let runs = forprep_count(i0, lim, st) >= 0;
            let c = op(rec, Opcode::IntGe, &[count, Operand::Int(0)]);
            branch(rec, c, runs);
            if runs {
                wr(rec, regs, a + 1, TAG_INT, count)?;
                wr(rec, regs, a + 3, TAG_INT, oi)?;
            }
            Ok(())
        }
        Instr::ForLoop(a, _) => {
            let a = a as u32;
            let (st, os) = rd(rec, regs, a + 2)?;
            match st {
                Value::Int(_) => {
                    let (cnt, oc) = rd(rec, regs, a + 1)?;
                    let Value::Int(count) = cnt else {
                        return Ok(());
                    };
                    let c = op(rec, Opcode::IntGt, &[oc, Operand::Int(0)]);
                    branch(rec, c, count > 0);
                    if count > 0 {
                        let (i, oi) = rd(rec, regs, a)?;
                        let n = op(rec, Opcode::IntSub, &[oc, Operand::Int(1)]);
                        wr(rec, regs, a + 1, TAG_INT, n)?;
                        if let Value::Int(_) = i {
                            let ni = op(rec, Opcode::IntAdd, &[oi, os]);
                            wr(rec, regs, a, TAG_INT, ni)?;
                            wr(rec, regs, a + 3, TAG_INT, ni)?;
                        }
                    }
                    Ok(())
                }
                Value::Num(step) => {
                    let (i, oi) = rd(rec, regs, a)?;
                    let (lim, ol) = rd(rec, regs, a + 1)?;
                    let (Value::Num(i), Value::Num(lim)) = (i, lim) else {
                        return Ok(());
                    };
                    let pos = op(rec, Opcode::FloatGt, &[os, Operand::float(0.0)]);
                    branch(rec, pos, step > 0.0);
                    let ni = i + step;
                    let oni = op(rec, Opcode::FloatAdd, &[oi, os]);
                    let (cond, cont) = if step > 0.0 {
                        (op(rec, Opcode::FloatLe, &[oni, ol]), ni <= lim)
                    } else {
                        (op(rec, Opcode::FloatLe, &[ol, oni]), lim <= ni)
                    };
                    branch(rec, cond, cont);
                    if cont {
                        wr(rec, regs, a, TAG_NUM, oni)?;
                        wr(rec, regs, a + 3, TAG_NUM, oni)?;
                    }
                    Ok(())
                }
                _ => Ok(()),
            }
        }
        // `TForLoop` is never reached while recording: it follows a
        // `TForCall`, a call, which ends every recording.
        _ => Err(NR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What one run produced: the chunk's results (as `tostring` would
    /// print them, or the error message) and the JIT statistics.
    struct Run {
        out: String,
        stats: JitStats,
    }

    /// Runs `src` with the JIT at `threshold` (None: no JIT), on a thread
    /// with a large stack as `run_cli` does.
    fn run(src: &str, threshold: Option<u32>) -> Run {
        let src = src.to_string();
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || run_here(&src, threshold))
            .unwrap()
            .join()
            .unwrap()
    }

    fn run_here(src: &str, threshold: Option<u32>) -> Run {
        let mut vm = super::super::new_vm();
        if let Some(t) = threshold {
            let mut cfg = JitConfig::default();
            crate::jit::set_threshold(&mut cfg, t);
            install(&mut vm, LuaJit::new(cfg, crate::jit::backend()));
        }
        let env = Value::Table(vm.globals);
        let f = super::super::lib_base::load_chunk(&mut vm, src.as_bytes(), "t", env)
            .expect("test chunk compiles");
        let out = match vm.call_value(f, &[], -1) {
            Ok(vals) => vals
                .into_iter()
                .map(|v| String::from_utf8_lossy(&vm.tostring_basic(v)).into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            Err(e) => format!("error: {}", super::super::error_message(&mut vm, e.value)),
        };
        let stats = match vm.jit.as_deref_mut() {
            Some(j) => {
                j.finish();
                j.driver().stats()
            }
            None => JitStats::default(),
        };
        Run { out, stats }
    }

    /// Runs `src` without the JIT and with threshold 1; the outputs must
    /// agree (and equal `expected`). Returns the JIT run.
    fn check(src: &str, expected: &str) -> Run {
        let plain = run(src, None);
        assert_eq!(plain.out, expected, "interpreter result");
        let jit = run(src, Some(1));
        assert_eq!(jit.out, expected, "JIT result differs from interpreter");
        jit
    }

    /// Runs `src` interpreted, then checks that the JIT runs give the same
    /// result and that compiled code ran.
    fn check_compiled_like_interpreter(src: &str) -> Run {
        let expected = run(src, None).out;
        let r = check(src, &expected);
        assert_compiled_and_ran(&r);
        r
    }

    fn assert_compiled_and_ran(r: &Run) {
        assert!(
            r.stats.traces_compiled >= 1,
            "no trace compiled: {:?}",
            r.stats
        );
        assert!(r.stats.iterations > 100, "trace barely ran: {:?}", r.stats);
    }

    #[test]
    fn integer_for_loop_compiles_and_iterates() {
        let r = check(
            "local s = 0 for i = 1, 1000 do s = s + i end return s",
            "500500",
        );
        assert_eq!(r.stats.traces_compiled, 1);
        assert!(r.stats.iterations >= 990, "{:?}", r.stats);
        assert_eq!(r.stats.aborts.values().sum::<u64>(), 0);
    }

    #[test]
    fn floats_and_mixed_arithmetic() {
        let r = check(
            "local s, t = 0.0, 1 for i = 1, 1000 do s = s + i * 0.5 - i / 4; t = -t end return s, t",
            "125125.0 1",
        );
        assert_compiled_and_ran(&r);
    }

    #[test]
    fn float_for_loops_both_directions() {
        let r = check(
            "local s = 0 for x = 0.0, 100.0, 0.25 do s = s + x end \
             for x = 100.0, 0.0, -0.5 do s = s - x end return s",
            "10000.0",
        );
        assert_compiled_and_ran(&r);
    }

    #[test]
    fn guard_exit_resumes_when_branch_flips_midway() {
        let r = check(
            "local a, b = 0, 0 for i = 1, 1000 do \
               if i <= 500 then a = a + 1 else b = b + 2 end end return a, b",
            "500 1000",
        );
        assert_compiled_and_ran(&r);
        assert!(r.stats.guard_exits >= 2, "{:?}", r.stats);
    }

    #[test]
    fn while_loop_with_mod_and_idiv() {
        let r = check(
            "local i, s, f = 0, 0, 0.0 while i < 1000 do i = i + 1 \
             s = s + i % 7 - (-i) // 3 + i % -5; f = f + (i + 0.5) % 2.5 + (i * 1.0) // 7.0 end return s, f",
            &{
                // Computed by the interpreter (asserted equal above).
                run(
                    "local i, s, f = 0, 0, 0.0 while i < 1000 do i = i + 1 \
             s = s + i % 7 - (-i) // 3 + i % -5; f = f + (i + 0.5) % 2.5 + (i * 1.0) // 7.0 end return s, f",
                    None,
                )
                .out
            },
        );
        assert_compiled_and_ran(&r);
    }

    #[test]
    fn bitwise_ops_and_wide_shifts() {
        let src = "local x = 0 for i = 1, 300 do \
              x = x ~ (i << (i % 70)) ~ (i >> (i % 67)) ~ (x << 3) ~ (x >> 61) \
              x = (x & 0xffffffffff) | (i << 64) | (i >> -2) \
            end return x";
        check_compiled_like_interpreter(src);
    }

    #[test]
    fn integer_arithmetic_wraps() {
        let r = check(
            "local x, y = math.maxinteger - 500, math.mininteger + 500 \
             for i = 1, 1000 do x = x + 1; y = y - 1 end return x, y, x * 3",
            "-9223372036854775309 9223372036854775308 -9223372036854774311",
        );
        assert_compiled_and_ran(&r);
    }

    #[test]
    fn division_by_zero_in_compiled_loop_raises_the_interpreters_error() {
        for op in ["//", "%"] {
            let src =
                format!("local s = 0 for i = 300, -1, -1 do s = s + 1000 {op} i end return s");
            let plain = run(&src, None);
            assert!(plain.out.starts_with("error:"), "{}", plain.out);
            let jit = run(&src, Some(1));
            assert_eq!(jit.out, plain.out);
            assert_compiled_and_ran(&jit);
        }
    }

    #[test]
    fn type_unstable_loop_still_correct() {
        let r = check(
            "local x = 0 for i = 1, 1000 do if i == 50 then x = 0.5 end x = x + 1 end return x",
            "951.5",
        );
        assert_compiled_and_ran(&r);
    }

    #[test]
    fn nested_loops_record_forprep() {
        let r = check(
            "local s = 0 for i = 1, 300 do for j = i, i + 2 do s = s + j end \
             for j = 5, 1, -2 do s = s - j end for j = 3, 1 do s = s + 1000 end end return s",
            "133650",
        );
        assert_compiled_and_ran(&r);
    }

    #[test]
    fn tests_on_booleans_nil_and_strings() {
        let r = check(
            "local flag, c, n, s, none = false, 0, 0, 'a', nil \
             for i = 1, 1000 do \
               if flag then c = c + 1 end \
               if i == 500 then flag = true end \
               if s == 'a' then n = n + 1 end \
               if not none and i ~= 3 then n = n + 1 end \
               if i >= 10 and i < 20.5 then n = n + 100 end \
             end return c, n, not flag",
            "500 3099 false",
        );
        assert_compiled_and_ran(&r);
    }

    #[test]
    fn mixed_integer_float_comparisons() {
        let src = "local n, f, nan, big = 0, -3.75, 0/0, 2^63 \
             for i = -60, 60 do f = f + 0.05 \
               if i < f then n = n + 1 end if f <= i then n = n + 10 end \
               if i <= f then n = n + 100 end if f < i then n = n + 1000 end \
               if i < nan or nan <= i then n = n + 10000 end \
               if i < big and -big <= i and i <= 2.5 and 2.5 < i + 1 then n = n + 100000 end \
             end return n";
        let expected = run(src, None).out;
        let r = check(src, &expected);
        assert!(r.stats.traces_compiled >= 1, "{:?}", r.stats);
    }

    #[test]
    fn table_reads_and_writes_with_integer_keys() {
        // Array part, hash part (key 0, negative keys), floats, strings,
        // booleans and nil values; a store the fast path refuses (append)
        // and a read through __index exit the trace and are redone by the
        // VM.
        let src = "local t, h = {}, {} for i = 1, 100 do t[i] = i end \
             h[0] = 1.5; h[-1] = 'x'; h[-2] = true \
             local s, n, f = 0, 0, 0.0 \
             for i = 1, 100 do \
               t[i] = t[i] * 2 + (t[101 - i] or 0); s = s + t[i] \
               h[0] = h[0] + 0.25; if h[-1] == 'x' and h[-2] then n = n + 1 end \
               if t[i + 100] == nil then n = n + 1 end \
               if i == 60 then t[#t + 1] = 7; h[-2] = false end \
             end \
             local mt = setmetatable({}, {__index = function(_, k) return k * 10 end}) \
             for i = 1, 50 do mt[i % 5 + 1] = i; f = f + mt[i % 7 + 1] end \
             return s, n, h[0], t[101], f";
        let expected = run(src, None).out;
        let r = check(src, &expected);
        assert!(r.stats.traces_compiled >= 1, "{:?}", r.stats);
        let r = check(
            "local a = {} for i = 1, 1000 do a[i] = i * 0.5 end \
             local s = 0 for i = 1, 1000 do a[i] = a[i] + a[1001 - i]; s = s + a[i] end return s",
            "688125.0",
        );
        assert_compiled_and_ran(&r);
    }

    #[test]
    fn string_key_fields_compile_and_guard() {
        // Plain-table fields read and written in a loop; a key removed
        // and a metatable with __index added midway exit the trace.
        let src = "local o = {x = 0, y = 0.5, s = 'a'} local n = 0 \
             for i = 1, 1000 do o.x = o.x + i; o.y = o.y + 0.25 \
               if o.s == 'a' then n = n + 1 end \
               if i == 600 then o.s = nil end \
               if i == 800 then setmetatable(o, {__index = function() return 'a' end}) end \
             end return o.x, o.y, n";
        let expected = run(src, None).out;
        assert_eq!(expected, "500500 250.5 800");
        let r = check(src, &expected);
        assert_compiled_and_ran(&r);
    }

    #[test]
    fn table_and_string_keys_in_registers() {
        let src = "local ks = {'a', 'b', 'c'} local t = {a = 1, b = 2, c = 3} \
             local o1, o2 = {}, {} local byobj = {[o1] = 0, [o2] = 0} \
             for i = 1, 900 do local k = ks[i % 3 + 1] t[k] = t[k] + i \
               local o = (i % 2 == 0) and o1 or o2 byobj[o] = byobj[o] + 1 end \
             return t.a, t.b, t.c, byobj[o1], byobj[o2]";
        let r = check(src, "135451 134852 135153 450 450");
        assert_compiled_and_ran(&r);
    }

    #[test]
    fn newindex_added_midway_is_called() {
        let src = "local c = 0 local t = setmetatable({}, {}) t.k = 0 \
             for i = 1, 600 do t.k = i; t.j = i \
               if i == 400 then getmetatable(t).__newindex = function(tt, k, v) c = c + 1 rawset(tt, k, v) end end \
               if i > 400 then t.j = nil end end \
             return t.k, t.j, c";
        let r = check(src, "600 nil 199");
        assert!(r.stats.traces_compiled >= 1, "{:?}", r.stats);
    }

    #[test]
    fn length_appends_and_mixed_mod() {
        let src = "local a, s, f = {}, 'abc', 0.0 \
             for i = 1, 1000 do a[#a + 1] = i; f = f + i % 2.5 + (i * 0.5) // 3 + #s end \
             return #a, a[1000], f";
        check_compiled_like_interpreter(src);
    }

    #[test]
    fn equality_on_tables_and_mixed_numbers() {
        let src = "local a, b = {}, {} local n = 0 \
             for i = 1, 900 do local x = (i % 2 == 0) and a or b \
               if x == a then n = n + 1 end if x ~= b then n = n + 10 end \
               if i == i + 0.0 then n = n + 100 end if i == 0.5 then n = n + 1000 end \
               if i == 700 then setmetatable(a, {__eq = function() return true end}) setmetatable(b, getmetatable(a)) end \
             end return n";
        check_compiled_like_interpreter(src);
    }

    #[test]
    fn string_comparisons_and_break() {
        let src = "local w = {'a', 'b', 'ab', ''} local n = 0 \
             for i = 1, 800 do local x, y = w[i % 4 + 1], w[(i + 1) % 4 + 1] \
               if x < y then n = n + 1 end if x <= y then n = n + 10 end \
               for j = 1, 10 do if j > 2 then break end n = n + 100 end end \
             return n";
        check_compiled_like_interpreter(src);
    }

    #[test]
    fn close_with_a_captured_local_is_not_recorded() {
        // A loop body whose local a closure captured: the VM must close
        // the upvalue at the end of each iteration (each closure sees its
        // own value).
        let src = "local fs = {} for i = 1, 400 do local c = i \
               for j = 1, 5 do if j == 2 then fs[#fs + 1] = function() return c end break end end end \
             local s = 0 for i = 1, #fs do s = s + fs[i]() end return s";
        check(src, "80200");
        let p = {
            let mut vm = super::super::new_vm();
            let env = Value::Table(vm.globals);
            let f = super::super::lib_base::load_chunk(&mut vm, src.as_bytes(), "t", env).unwrap();
            let Value::LFn(cl) = f else { panic!() };
            cl.get().proto.clone()
        };
        let closes: Vec<u8> = p
            .code
            .iter()
            .filter_map(|i| match i {
                Instr::Close(a) => Some(a),
                _ => None,
            })
            .collect();
        assert!(!closes.is_empty());
        // The `Close` at the end of the outer loop's body (the level of
        // `c`) closes the upvalue; the inner loop's `break` leaves
        // registers above `c`, which nothing captures.
        assert!(closes.iter().any(|&a| !close_is_noop(&p, a)), "{closes:?}");
        assert!(closes.iter().any(|&a| close_is_noop(&p, a)), "{closes:?}");
    }

    #[test]
    fn unrecordable_loops_stay_interpreted_and_correct() {
        let r = check(
            "local t = {} for i = 1, 500 do t[#t + 1] = tostring(i) end return #t, t[500]",
            "500 500",
        );
        assert_eq!(r.stats.traces_compiled, 0);
        assert!(r.stats.aborts.values().sum::<u64>() >= 1);
    }

    #[test]
    fn loop_headers_are_backedge_targets() {
        let mut vm = super::super::new_vm();
        let env = Value::Table(vm.globals);
        let src = "local s = 0 for i = 1, 3 do s = s + i end \
                   while s > 0 do s = s - 1 end \
                   repeat s = s + 1 until s > 2 \
                   for k in pairs({}) do s = k end return s";
        let f = super::super::lib_base::load_chunk(&mut vm, src.as_bytes(), "t", env).unwrap();
        let Value::LFn(cl) = f else {
            panic!("not a Lua function")
        };
        let p = cl.get().proto.clone();
        let h = loop_headers(&p);
        assert_eq!(h.len(), 4, "{h:?}");
        for &pc in &h {
            let back = p.code.iter().enumerate().any(|(i, ins)| {
                ins.is_backedge()
                    && match ins {
                        Instr::Jmp(off) | Instr::ForLoop(_, off) | Instr::TForLoop(_, off) => {
                            i as isize + 1 + off as isize == pc as isize
                        }
                        _ => false,
                    }
            });
            assert!(back, "{pc} is no back-edge target");
        }
    }

    #[test]
    fn short_counted_loops_are_given_up_before_recording() {
        // The inner loop, 5 iterations per entry, is sampled twice with
        // fewer than MIN_ITERATIONS left: given up without a trace of its
        // own (the outer loop's trace covers it).
        let src = "local s = 0 for i = 1, 200 do for j = 1, 5 do s = s + j end end return s";
        let r = run(src, Some(10));
        assert_eq!(r.out, "3000");
        assert_eq!(
            r.stats.aborts.get(&AbortReason::ShortLoop),
            Some(&2),
            "{:?}",
            r.stats
        );
        assert!(
            r.stats.traces.iter().all(|t| t.location.ends_with("LoadI")),
            "{:?}",
            r.stats
        );
        assert_eq!(
            r.stats.given_up.get("too few iterations per entry"),
            Some(&1),
            "{:?}",
            r.stats.given_up
        );
    }

    #[test]
    fn traces_calling_five_argument_helpers_go_on_probation() {
        // A store by a table key calls `lua_hset_int(t, kt, k, tag, bits)`:
        // the IR interpreter used to refuse five-argument calls, so such
        // traces skipped probation and were compiled at once.
        let src = "local t, ks = {}, {} \
                   for i = 1, 10 do ks[i] = {} end \
                   for i = 1, 5000 do t[ks[i % 10 + 1]] = i end \
                   return t[ks[1]]";
        let r = run(src, Some(50));
        assert_eq!(r.out, "5000");
        let t = r
            .stats
            .traces
            .iter()
            .find(|t| t.location.contains(":1 "))
            .expect("a trace");
        assert!(t.on_probation, "{}", r.stats.report());
        assert!(t.code_bytes > 0, "{}", r.stats.report());
    }

    #[test]
    fn a_loop_sampled_at_its_last_iteration_is_recorded_again() {
        // 40 iterations per entry: with the threshold at 200, the hot pass
        // comes at an entry's last iteration, whose recording leaves the
        // loop at its exit test. The next pass records a whole iteration
        // (it used to give the loop up: two recordings stopped at the same
        // place).
        let src = "local n = 0 \
                   for k = 1, 2000 do local i = 0 \
                     while i < 40 do i = i + 1 n = n + i end end \
                   return n";
        let r = run(src, Some(200));
        assert_eq!(r.out, (2000 * 820).to_string());
        assert_eq!(
            r.stats.aborts.get(&AbortReason::LeftLoop),
            Some(&1),
            "{}",
            r.stats.report()
        );
        let inner = r
            .stats
            .traces
            .iter()
            .find(|t| t.location.ends_with("Lt"))
            .expect("a trace of the inner loop");
        assert!(inner.code_bytes > 0, "{}", r.stats.report());
        assert!(inner.iterations > 70_000, "{}", r.stats.report());
    }

    #[test]
    fn loops_that_end_at_once_are_given_up_after_two_samples() {
        // One iteration per entry: every recording leaves the loop at
        // once; the second one in a row gives the loop up, with no trace.
        let src = "local n = 0 \
                   for k = 1, 3000 do local i = 0 \
                     while i < 1 do i = i + 1 n = n + i end end \
                   return n";
        let r = run(src, Some(50));
        assert_eq!(r.out, "3000");
        assert_eq!(
            r.stats.aborts.get(&AbortReason::LeftLoop),
            Some(&2),
            "{}",
            r.stats.report()
        );
        assert!(
            !r.stats.traces.iter().any(|t| t.location.ends_with("Lt")),
            "{}",
            r.stats.report()
        );
        assert_eq!(
            r.stats.given_up.get("too few iterations per entry"),
            Some(&1),
            "{}",
            r.stats.report()
        );
    }

    #[test]
    fn short_while_loops_fail_probation_without_machine_code() {
        // The inner `while` runs 2 iterations per entry: its trace runs
        // in the IR interpreter for the probation's entries and is then
        // discarded, never compiled to machine code.
        let src = "local n = 0 \
                   for k = 1, 3000 do local i = 0 \
                     while i < 3 do i = i + 1 n = n + i end end \
                   return n";
        let r = run(src, Some(50));
        assert_eq!(r.out, "18000");
        let entries = u64::from(JitConfig::default().probation_entries);
        let failed: Vec<_> = r
            .stats
            .traces
            .iter()
            .filter(|t| t.location.ends_with("Lt"))
            .collect();
        assert!(!failed.is_empty(), "{:?}", r.stats);
        for t in failed {
            assert!(t.on_probation, "{t:?}");
            assert_eq!(t.code_bytes, 0, "compiled: {t:?}");
            assert_eq!(t.probation_entries, entries, "{t:?}");
            assert!(t.probation_iterations < entries * 16, "{t:?}");
        }
        assert!(r.stats.traces_discarded >= 1, "{:?}", r.stats);
    }

    #[test]
    fn long_loops_pass_probation_and_run_machine_code() {
        let src = "local s = 0 for i = 1, 100000 do s = s + i % 7 end return s";
        let r = check(src, "300000");
        assert!(
            !r.stats.traces.iter().any(|t| t.on_probation),
            "threshold 1: no probation"
        );
        let r = run(src, Some(50));
        assert_eq!(r.out, "300000");
        let cfg = JitConfig::default();
        assert_eq!(r.stats.traces_compiled, 1, "{:?}", r.stats);
        let t = &r.stats.traces[0];
        assert!(t.on_probation && t.code_bytes > 0, "{t:?}");
        assert_eq!(
            (t.probation_entries, t.probation_iterations),
            (1, cfg.probation_iterations)
        );
        // The budget exit resumed at the loop header, and the next entry
        // ran machine code to the end of the loop.
        assert_eq!(t.entries, 2, "{t:?}");
        assert!(t.iterations > 99_000, "{t:?}");
        assert_eq!(r.stats.guard_exits, 1, "{:?}", r.stats);
    }

    #[test]
    fn value_layout_matches_the_loads_of_table_reads() {
        // `record_get_with` loads the tag at byte 0, a boolean at byte 1
        // and a payload at bytes 8..16.
        let byte = |v: &Value, i: usize| -> u8 {
            // SAFETY: bytes 0 and 1 are the tag and the boolean of a
            // `#[repr(u8)]` enum (initialized for the variants read here).
            unsafe { *(v as *const Value as *const u8).add(i) }
        };
        let word = |v: &Value| -> u64 {
            // SAFETY: bytes 8..16 hold the payload of the variants read here.
            unsafe { *((v as *const Value as *const u8).add(8) as *const u64) }
        };
        let b = Value::Bool(true);
        assert_eq!((byte(&b, 0), byte(&b, 1)), (TAG_BOOL, 1));
        assert_eq!(byte(&Value::Bool(false), 1), 0);
        let i = Value::Int(-5);
        assert_eq!((byte(&i, 0), word(&i) as i64), (TAG_INT, -5));
        let f = Value::Num(2.5);
        assert_eq!((byte(&f, 0), f64::from_bits(word(&f))), (TAG_NUM, 2.5));
        let vm = super::super::new_vm();
        let t = Value::Table(vm.globals);
        assert_eq!((byte(&t, 0), word(&t)), (TAG_TABLE, t.to_raw().1));
        assert_eq!(byte(&Value::Nil, 0), TAG_NIL);
    }

    #[test]
    fn given_up_loops_are_counted_and_block_outer_loops() {
        // The inner loop's call aborts its recording (the callee is
        // variadic, so it is not followed): given up at once. The outer
        // loop's recording then stops at the same call: given up at its
        // first abort there too, not after the back-off.
        let src = "local function f(...) local x = ... return x end local s = 0 \
                   for i = 1, 40 do for j = 1, 30 do s = s + f(j) end end return s";
        let plain = run(src, None);
        assert_eq!(plain.out, "18600");
        let r = run(src, Some(10));
        assert_eq!(r.out, plain.out);
        let g = &r.stats.given_up;
        assert_eq!(
            g.get("aborted at an instruction never recordable"),
            Some(&2),
            "{g:?}"
        );
        assert!(r.stats.report().contains("loops given up:      2"));
    }

    /// Runs `src` at `threshold` and returns the dispatched code of every
    /// prototype the JIT saw.
    fn dispatched_code(src: &str, threshold: u32) -> Vec<Vec<Instr>> {
        let src = src.to_string();
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || {
                let mut vm = super::super::new_vm();
                let mut cfg = JitConfig::default();
                crate::jit::set_threshold(&mut cfg, threshold);
                install(&mut vm, LuaJit::new(cfg, crate::jit::backend()));
                let env = Value::Table(vm.globals);
                let f = super::super::lib_base::load_chunk(&mut vm, src.as_bytes(), "t", env)
                    .expect("test chunk compiles");
                assert!(vm.call_value(f, &[], -1).is_ok(), "test chunk runs");
                let jit = vm.jit.as_deref().unwrap();
                let protos = jit.protos.borrow();
                protos
                    .iter()
                    .flatten()
                    .map(|info| {
                        let c = &info.proto.code;
                        (0..c.len()).filter_map(|pc| c.dispatched(pc)).collect()
                    })
                    .collect()
            })
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn given_up_loops_are_patched_to_interpreter_only_back_edges() {
        let patched = |code: &Vec<Instr>| {
            code.iter()
                .filter(|i| {
                    matches!(
                        i,
                        Instr::IForLoop(..) | Instr::ITForLoop(..) | Instr::IJmp(..)
                    )
                })
                .count()
        };
        // `g`'s second and third loops call `f` (given up: patched); its
        // first loop is short (never hot: left alone), and so is the main
        // chunk's.
        let src = "local function f(...) local x = ... return x end \
                   local function g() local x = 0 for i = 1, 3 do x = x + i end \
                     local s = x for i = 1, 500 do s = s + f(i) end \
                     local j = 0 while j < 300 do j = j + f(1) end return s + j end \
                   local s = 0 for k = 1, 2 do s = s + g() end return s";
        let code = dispatched_code(src, 10);
        let total: usize = code.iter().map(patched).sum();
        assert_eq!(total, 2, "{code:?}");
        // `g`: the short loop keeps its merge point, the other two do not.
        let g = code
            .iter()
            .find(|c| c.iter().any(|i| matches!(i, Instr::IJmp(..))))
            .expect("g's while loop is patched");
        assert!(g.iter().any(|i| matches!(i, Instr::ForLoop(..))), "{g:?}");
        assert!(g.iter().any(|i| matches!(i, Instr::IForLoop(..))), "{g:?}");
        // Patched code still computes the same result.
        assert_eq!(run(src, Some(10)).out, run(src, None).out);
        // A loop whose trace runs stays unpatched.
        let hot = "local x = 0 for i = 1, 2000 do x = x + i end return x";
        let code = dispatched_code(hot, 10);
        assert_eq!(code.iter().map(patched).sum::<usize>(), 0, "{code:?}");
    }

    #[test]
    fn calls_of_lua_functions_are_recorded_inline() {
        // Arithmetic in a callee, a nested call with a missing argument
        // (nil) and two results, and a callee reading an upvalue.
        let r = check_compiled_like_interpreter(
            "local function a(i, j) local s = i + j return 1.0 / (s * (s + 1) * 0.5 + i + 1) end \
             local function g(p, q) return p, q end \
             local k = 3 \
             local function f(x) local p, q = g(x) if q == nil then return p * k end return 0 end \
             local sum, n = 0.0, 0 \
             for i = 1, 1000 do sum = sum + a(i, i % 7) n = n + f(i) end \
             return sum, n",
        );
        assert!(r.stats.aborts.is_empty(), "{:?}", r.stats);
    }

    #[test]
    fn guards_inside_inlined_calls_resume_at_the_call() {
        // The callee's branch flips midway; a closure of the same
        // prototype with another upvalue is called every other time.
        check_compiled_like_interpreter(
            "local function mk(k) return function(x) if x > 500 then return x * k end return x + k end end \
             local fs = {mk(1), mk(2)} local s = 0 \
             for i = 1, 1000 do s = s + fs[i % 2 + 1](i) end return s",
        );
    }

    #[test]
    fn recordings_stopped_inside_a_callee_continue_in_its_frame() {
        // The callee changes its parameter, then calls a native function:
        // the recording stops inside it and the VM continues there, in a
        // frame rebuilt for the call. A recursive callee nests too deep.
        let src = "local function f(x, y) x = x + 1 local s = tostring(y) return x end \
                   local function r(n) if n == 0 then return 0 end return 1 + r(n - 1) end \
                   local t = {} local function w(x) t[1] = x return x end \
                   local s = 0 \
                   for i = 1, 300 do s = s + f(i, i) + r(i % 9) + w(i) end return s, t[1]";
        let r = check(src, "91794 300");
        assert_eq!(
            r.stats
                .aborts
                .get(&AbortReason::CallTooDeep)
                .copied()
                .unwrap_or(0)
                + r.stats
                    .aborts
                    .get(&AbortReason::NotRecordable)
                    .copied()
                    .unwrap_or(0),
            r.stats.traces_aborted(),
            "{:?}",
            r.stats
        );
    }

    #[test]
    fn exits_after_a_callees_writes_resume_in_its_rebuilt_frame() {
        // The guard on `x > 500` fails after the callee's first store:
        // the VM must continue inside the callee, not run the call again.
        let r = check(
            "local t = {0, 0} \
             local function f(x) t[1] = t[1] + x if x > 500 then t[2] = t[2] + 1 return 1 end return 0 end \
             local s = 0 for i = 1, 1000 do s = s + f(i) end return s, t[1], t[2]",
            "500 500500 500",
        );
        assert_compiled_and_ran(&r);
        // Two levels deep, with an error raised in the rebuilt frames.
        let src = "local t = {} \
                   local function g(x) t[1] = x if x > 600 then error('at ' .. x) end return x end \
                   local function f(x) local y = g(x) t[2] = y return y + 1 end \
                   local function loop() local s = 0 for i = 1, 1000 do s = s + f(i) t[3] = s end end \
                   local ok, e = pcall(loop) \
                   return t[1], t[2], t[3], ok, e";
        let want = run(src, None).out;
        assert!(want.ends_with("false t:1: at 601"), "{want}");
        let r = check(src, &want);
        assert_compiled_and_ran(&r);
    }

    #[test]
    fn method_calls_follow_index_tables() {
        // `obj:m()` finds `m` in the class, or in its base class through
        // the class's own metatable; a missing field reads nil through the
        // chain. Methods are recorded inline.
        let r = check_compiled_like_interpreter(
            "local Base = {} Base.__index = Base \
             function Base:get() return self.v end \
             local Sub = setmetatable({}, Base) Sub.__index = Sub \
             function Sub:twice() return 2 * self:get() end \
             local o = setmetatable({v = 3}, Sub) local s, nils = 0, 0 \
             for i = 1, 1000 do s = s + o:twice() + o:get() if o.missing == nil then nils = nils + 1 end end \
             return s, nils",
        );
        assert!(r.stats.aborts.is_empty(), "{:?}", r.stats);
        // An `__index` function is not followed (the VM calls it).
        check(
            "local o = setmetatable({}, {__index = function(t, k) return 7 end}) local s = 0 \
             for i = 1, 300 do s = s + o.x end return s",
            "2100",
        );
    }

    #[test]
    fn generic_for_over_next_and_ipairs_is_compiled() {
        // The loops' own `Close` (a generic `for` closes its variables at
        // each iteration's end) has nothing to close: recorded as a no-op.
        let r = check_compiled_like_interpreter(
            "local t, h = {}, {} for i = 1, 300 do t[i] = i h['k' .. i] = i end \
             local s, n = 0, 0 \
             for k = 1, 20 do \
               for i, v in ipairs(t) do s = s + i * v end \
               for key, v in pairs(h) do n = n + v + #key end \
             end return s, n",
        );
        assert!(r.stats.traces_compiled >= 2, "{:?}", r.stats);
    }

    #[test]
    fn math_float_functions_are_recorded_as_pure_calls() {
        let r = check(
            "local sqrt = math.sqrt local s = 0.0 \
             for i = 1, 400 do s = s + sqrt(i * i) end \
             local t = 0.0 \
             for i = 1, 400 do local f = i < 300 and math.exp or math.sin t = t + f(0) end \
             return s, t",
            "80200.0 299.0",
        );
        assert_compiled_and_ran(&r);
        assert!(r.stats.guard_exits >= 1);
    }

    #[test]
    fn errors_in_loops_and_repeat_until() {
        let r = check(
            "local i, s = 0, 0 repeat i = i + 1; s = s + i ^ 2 until i >= 100 \
             local ok, e = pcall(function() local x = 0 for j = 1, 100 do x = x + (j < 90 and j or 'x') end end) \
             return s, ok, e",
            "338350.0 false t:1: attempt to add a 'number' with a 'string'",
        );
        assert_compiled_and_ran(&r);
    }
}
