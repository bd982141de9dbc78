//! Loop peeling with loop-invariant code motion.
//!
//! A recorded trace is one iteration of a loop: the body runs from the
//! entry label to a `jump` back there, and every other pass looks at that
//! body alone. Whatever the body computes from values that never change
//! around the loop (a pure call on an invariant argument, a type guard on
//! an invariant table, a lookup in a table the loop never writes) is
//! therefore recomputed on every iteration.
//!
//! This pass peels off one iteration. The trace becomes
//!
//! ```text
//! label <inputs>          ; entry, as before
//!   preamble              ; the body, unchanged: one iteration
//! label p1=e1, p2=e2      ; the loop, entered with the preamble's values
//!   loop                  ; a second copy of the body
//! jump q1, q2             ; back to the inner label
//! ```
//!
//! and the copy in the loop is built against what the preamble has
//! already established. Every value of the preamble dominates the whole
//! loop, so an operation of the copy whose operands are the same as those
//! of a preamble operation, and whose result depends only on its operands,
//! is replaced by the preamble's result; a guard whose condition the
//! preamble already checked on the same operands is dropped. This is the
//! technique of LuaJIT's loop optimization and of RPython's `unroll`: no
//! separate invariance analysis and no code motion out of a loop that
//! might not run, just redundancy elimination across the peeled iteration,
//! which hoists invariant code as a side effect. A preamble guard that
//! fails exits through its own snapshot exactly as before; a guard of the
//! copy gets a copy of its snapshot, whose operands may be preamble values.
//!
//! The loop's parameters are the entry values that vary. Input `x` of the
//! body enters the loop as the preamble's jump operand `e` for it. If the
//! copy, computed with `x` replaced by `e`, passes `e` to the jump again,
//! `x` is `e` in every iteration of the loop and needs no parameter (the
//! usual case: `e` is `x` itself, passed back unchanged; it may also be a
//! constant, which can make operations of the copy constant, or an
//! invariant value computed in the preamble). Otherwise `x` becomes a
//! label parameter. This is guessed and then corrected: a first pass,
//! without hashing, takes as invariant the inputs whose jump operand is
//! themselves, a constant, or computed from such inputs by operations the
//! copy may reuse; each input whose jump operand in the copy then differs
//! becomes a parameter, and the copy is rebuilt, until none differs (at
//! most one round per input, as inputs only ever become parameters). When
//! it ends, induction over the iterations shows that every replacement
//! made in the copy is exact. If the first pass finds no reusable
//! operation with only invariant operands, the copy is not built at all:
//! that is the common case, and it costs a scan or two of the body.
//! Inputs with the same jump operand (the numeric `for` loop's hidden
//! counter and its visible copy) share one parameter: the copy passes them
//! the same operand again, so they stay equal.
//!
//! What the copy may take from the preamble:
//!
//! * pure operations and overflow-checked arithmetic, calls that are pure
//!   and cannot raise, loads of immutable fields (what [`super::cse`]
//!   merges), and guards other than `guard_class`: always;
//! * heap reads (`reads` calls that cannot raise, other loads) and
//!   `guard_class` (which loads the class field): only when the body
//!   contains nothing that may write the heap (stores, allocations, STM
//!   barriers, calls that write or do I/O), so that the heap the loop reads
//!   is the heap the preamble read.
//!
//! A pure operation of the copy whose operands are all defined before the
//! loop but that the preamble did not compute (an operand became the
//! preamble's value for an input) is moved to the end of the preamble: it
//! cannot fail and has no effect, so computing it once there is safe. Heap
//! reads and calls are never moved this way, since the guards that protect
//! them in the loop would not protect them there.
//!
//! Peeling doubles the trace, so it is only done when the copy loses at
//! least one operation, and not at all if the result would exceed
//! [`MAX_PEELED_OPS`]; otherwise the trace is left as it was. The code
//! generator's time grows with the trace: the preamble runs once per
//! entry and the saving is per iteration, so a loop entered few times for
//! few iterations can lose. Havlak's one peeled trace runs about 4600
//! iterations in `havlak.lua 3`: it spends about 29% less (0.5M
//! instructions) in compiled code and costs about 0.95M more to compile,
//! a net loss of 0.1–0.2% of the program; `havlak.lua 20` gains. Whether a
//! loop will run long is not known when it is compiled (probation, which
//! runs before peeling, only shows that it ran 128 iterations); like
//! LuaJIT, this pass bets that a loop hot enough to be compiled will. When
//! it does, the gain can be large: `spectral_norm.lua 200`'s inner loops
//! read the upvalue `a` and check its prototype on every iteration, and
//! with those reads in the preamble the whole program runs 43% fewer
//! instructions.
//!
//! The pass runs after [`super::dce`] (and after probation: see
//! [`super::LOOP_PASSES`]), on a trace that folding, CSE and
//! guard removal have already cleaned, so that equal computations already
//! have one name and the copy's redundancy with the preamble shows as equal
//! keys, and nothing dead is copied. [`super::dce`] runs once more after
//! it, to drop loop parameters nothing in the loop uses any more (inputs
//! that only the removed guards' snapshots mentioned) with the values that
//! fed them. The other passes are correct on the peeled form as they are
//! (the label defines fresh values; the preamble dominates the loop, so
//! its facts hold there), but running fold, CSE and guard removal again
//! after it changed none of the 24 peeled traces of the Lua test programs
//! (`--jit-threshold 1`): the copy of a cleaned body repeats the
//! preamble's guards exactly, and those this pass removes itself.

use super::fold::constant_guard;
use crate::backend::eval_pure;
use crate::ir::*;
use crate::warmup::FxBuild;
use std::collections::{HashMap, HashSet};

type FxMap<K, V> = HashMap<K, V, FxBuild>;
type FxSet<K> = HashSet<K, FxBuild>;

/// The largest trace, in operations, that peeling may produce (the
/// recorder's default trace limit): a longer trace is left unpeeled.
pub const MAX_PEELED_OPS: usize = crate::config::DEFAULT_TRACE_LIMIT;

/// What the loop's copy of an operation may take from an earlier equal one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    /// A pure operation without a guard: reusable, and movable to the
    /// preamble when its operands are all defined there.
    Pure,
    /// A value that depends only on its operands (overflow-checked
    /// arithmetic, pure non-raising calls, immutable loads): reusable.
    Value,
    /// A heap read: reusable when nothing writes the heap.
    HeapRead,
    /// A guard on values only: reusable.
    Guard,
    /// A guard that reads the heap (`guard_class` on a mutable field):
    /// reusable when nothing writes the heap.
    HeapGuard,
    /// Anything else is copied as it is.
    Other,
}

fn classify(trace: &Trace, op: &Op) -> Class {
    let immutable_field =
        |op: &Op| matches!(op.descr.map(|d| trace.descr(d)), Some(Descr::Field(f)) if f.immutable);
    match op.opcode.kind() {
        OpKind::Pure => Class::Pure,
        OpKind::GuardedPure => Class::Value,
        OpKind::Guard if op.opcode == Opcode::GuardClass => {
            if immutable_field(op) {
                Class::Guard
            } else {
                Class::HeapGuard
            }
        }
        OpKind::Guard => Class::Guard,
        OpKind::Load if op.opcode == Opcode::GetField && immutable_field(op) => Class::Value,
        OpKind::Load => Class::HeapRead,
        OpKind::Call => match trace.call_descr(op) {
            Some(c) if c.effects.can_raise => Class::Other,
            Some(c) if c.effects.kind == EffectKind::Pure => Class::Value,
            Some(c) if c.effects.kind == EffectKind::ReadsHeap => Class::HeapRead,
            _ => Class::Other,
        },
        _ => Class::Other,
    }
}

fn constant(ty: Type, bits: u64) -> Operand {
    match ty {
        Type::Float => Operand::Float(bits),
        Type::Ref => Operand::Ref(bits as usize),
        _ => Operand::Int(bits as i64),
    }
}

/// Operations with more operands than this are not looked up (they are
/// copied as they are): keys stay fixed-size and allocation-free.
const KEY_ARGS: usize = 4;

/// Opcode, descriptor, operand count and operands (padded with `Int(0)`).
type Key = (Opcode, Option<DescrId>, u8, [Operand; KEY_ARGS]);

/// The lookup key of an operation: commutative operands ordered as
/// [`super::cse`] orders them. `None` for operations with too many
/// operands.
fn key(op: &Op, args: &[Operand]) -> Option<Key> {
    if args.len() > KEY_ARGS {
        return None;
    }
    let mut a = [Operand::Int(0); KEY_ARGS];
    a[..args.len()].copy_from_slice(args);
    if op.opcode.is_commutative() && args.len() == 2 {
        if let (Operand::Val(x), Operand::Val(y)) = (a[0], a[1]) {
            if y < x {
                a.swap(0, 1);
            }
        }
    }
    Some((op.opcode, op.descr, args.len() as u8, a))
}

/// What is known when the copy starts: the preamble's reusable results and
/// the guards it passed.
#[derive(Default)]
struct Known {
    values: FxMap<Key, Operand>,
    guards: FxSet<Key>,
}

/// One attempt at the loop part, for a given choice of parameters.
struct LoopCopy {
    /// Pure operations moved to the end of the preamble.
    hoisted: Vec<Op>,
    /// The label's parameters and their entry operands.
    params: Vec<Value>,
    entry: Vec<Operand>,
    /// The loop's operations, without the jump.
    ops: Vec<Op>,
    /// Snapshots of the copied guards (appended to the trace's).
    snapshots: Vec<Snapshot>,
    /// Types of the values allocated for the copy (appended in order).
    types: Vec<Type>,
    /// The jump's operands, one per parameter.
    jump: Vec<Operand>,
    /// Operations of the body that the loop does not perform.
    removed: usize,
    /// The copy's jump operand for every input.
    next: Vec<Operand>,
}

struct Peeler<'a> {
    trace: &'a Trace,
    body: &'a [Op],
    /// The class of every operation of the body.
    classes: Vec<Class>,
    jump: &'a Op,
    writes: bool,
    known: Known,
}

impl Peeler<'_> {
    fn reusable(&self, c: Class) -> bool {
        match c {
            Class::Pure | Class::Value | Class::Guard => true,
            Class::HeapRead | Class::HeapGuard => !self.writes,
            Class::Other => false,
        }
    }

    /// Builds the loop's copy of the body. Input `k` enters the loop as a
    /// label parameter if `varies[k]`, as the preamble's jump operand for
    /// it otherwise. Inputs with the same jump operand share a parameter:
    /// the copy passes them the same operand again, so they stay equal.
    fn copy(&self, varies: &[bool]) -> LoopCopy {
        let t = self.trace;
        let base = t.value_types.len() as u32;
        let mut c = LoopCopy {
            hoisted: Vec::new(),
            params: Vec::new(),
            entry: Vec::new(),
            ops: Vec::new(),
            snapshots: Vec::new(),
            types: Vec::new(),
            jump: Vec::new(),
            removed: 0,
            next: Vec::new(),
        };
        let fresh = |types: &mut Vec<Type>, ty: Type| -> Value {
            types.push(ty);
            Value(base + types.len() as u32 - 1)
        };
        // The copy's operand for each value of the body (indexed by id).
        let mut map: Vec<Option<Operand>> = vec![None; base as usize];
        let mut hoisted_vals: FxSet<Value> = FxSet::default();
        let mut shared: FxMap<Operand, Value> = FxMap::default();
        let mut param_of_input: Vec<Option<Value>> = Vec::with_capacity(t.inputs.len());
        for (k, inp) in t.inputs.iter().enumerate() {
            let e = self.jump.args[k];
            if !varies[k] {
                map[inp.value.0 as usize] = Some(e);
                param_of_input.push(None);
                continue;
            }
            let p = match shared.get(&e) {
                Some(&p) => p,
                None => {
                    let p = fresh(&mut c.types, inp.ty);
                    shared.insert(e, p);
                    c.params.push(p);
                    c.entry.push(e);
                    p
                }
            };
            map[inp.value.0 as usize] = Some(Operand::Val(p));
            param_of_input.push(Some(p));
        }
        let sub = |map: &Vec<Option<Operand>>, o: Operand| match o {
            Operand::Val(v) => map.get(v.0 as usize).copied().flatten().unwrap_or(o),
            c => c,
        };
        // What the copy itself adds to the preamble's knowledge.
        let mut local = Known::default();
        let mut snap_copies: FxMap<SnapshotId, SnapshotId> = FxMap::default();
        for (op, &class) in self.body.iter().zip(&self.classes) {
            let args: Vec<Operand> = op.args.iter().map(|a| sub(&map, *a)).collect();
            // An input that enters the loop as a constant can make an
            // operation constant.
            if args.iter().all(|a| a.is_const()) {
                match (class, op.result) {
                    (Class::Pure, Some(r)) => {
                        let a = args.first().and_then(|a| a.const_bits()).unwrap_or(0);
                        let b = args.get(1).and_then(|a| a.const_bits()).unwrap_or(0);
                        if let Some(bits) = eval_pure(op.opcode, a, b) {
                            map[r.0 as usize] = Some(constant(t.type_of(r), bits));
                            c.removed += 1;
                            continue;
                        }
                    }
                    (Class::Guard, None) => {
                        let g = Op::new(op.opcode, None, args.clone());
                        if constant_guard(&g) == Some(true) {
                            c.removed += 1;
                            continue;
                        }
                    }
                    _ => {}
                }
            }
            let k = if self.reusable(class) {
                key(op, &args)
            } else {
                None
            };
            if let Some(k) = &k {
                match op.result {
                    Some(r) => {
                        let found = self.known.values.get(k).or(local.values.get(k));
                        if let Some(&o) = found {
                            map[r.0 as usize] = Some(o);
                            c.removed += 1;
                            continue;
                        }
                        let outer = |o: &Operand| match o {
                            Operand::Val(v) => v.0 < base || hoisted_vals.contains(v),
                            _ => true,
                        };
                        if class == Class::Pure && args.iter().all(outer) {
                            let n = fresh(&mut c.types, t.type_of(r));
                            let mut h = Op::new(op.opcode, Some(n), args);
                            h.descr = op.descr;
                            h.loc = op.loc;
                            c.hoisted.push(h);
                            hoisted_vals.insert(n);
                            local.values.insert(*k, Operand::Val(n));
                            map[r.0 as usize] = Some(Operand::Val(n));
                            c.removed += 1;
                            continue;
                        }
                    }
                    None => {
                        if self.known.guards.contains(k) || local.guards.contains(k) {
                            c.removed += 1;
                            continue;
                        }
                    }
                }
            }
            let result = op.result.map(|r| {
                let v = fresh(&mut c.types, t.type_of(r));
                map[r.0 as usize] = Some(Operand::Val(v));
                v
            });
            if let Some(k) = k {
                // Later equal operations of this same iteration reuse it.
                match result {
                    Some(v) => {
                        local.values.insert(k, Operand::Val(v));
                    }
                    None => {
                        local.guards.insert(k);
                    }
                }
            }
            let mut n = Op::new(op.opcode, result, args);
            n.descr = op.descr;
            n.loc = op.loc;
            if let Some(sid) = op.snapshot {
                let id = *snap_copies.entry(sid).or_insert_with(|| {
                    let mut s = t.snapshots[sid.0 as usize].clone();
                    let rv = |rv: ResumeValue| match rv {
                        ResumeValue::Op(o) => ResumeValue::Op(sub(&map, o)),
                        v => v,
                    };
                    for sv in &mut s.slots {
                        sv.value = rv(sv.value);
                    }
                    for v in &mut s.virtuals {
                        for (_, f) in &mut v.fields {
                            *f = rv(*f);
                        }
                    }
                    c.snapshots.push(s);
                    SnapshotId((t.snapshots.len() + c.snapshots.len() - 1) as u32)
                });
                n.snapshot = Some(id);
            }
            c.ops.push(n);
        }
        c.next = self.jump.args.iter().map(|a| sub(&map, *a)).collect();
        let mut passed: FxSet<Value> = FxSet::default();
        for (k, p) in param_of_input.iter().enumerate() {
            if let Some(p) = p {
                if passed.insert(*p) {
                    c.jump.push(c.next[k]);
                }
            }
        }
        c
    }
}

/// The inputs guessed to vary (the complement of those whose jump operand
/// is themselves, a constant, or computed from such inputs and constants by
/// operations the copy may reuse), or `None` if no operation the copy may
/// reuse has only invariant operands under that guess.
fn first_guess(p: &Peeler) -> Option<Vec<bool>> {
    let t = p.trace;
    let mut inv = vec![false; t.value_types.len()];
    let is_inv = |inv: &[bool], o: &Operand| match o {
        Operand::Val(v) => inv.get(v.0 as usize).copied().unwrap_or(false),
        _ => true,
    };
    let mut input_inv: Vec<bool> = t
        .inputs
        .iter()
        .zip(&p.jump.args)
        .map(|(i, j)| *j == Operand::Val(i.value) || j.is_const())
        .collect();
    loop {
        inv.iter_mut().for_each(|x| *x = false);
        for (i, k) in t.inputs.iter().zip(&input_inv) {
            inv[i.value.0 as usize] = *k;
        }
        let mut any = false;
        for (op, &class) in p.body.iter().zip(&p.classes) {
            if p.reusable(class) && op.args.iter().all(|a| is_inv(&inv, a)) {
                any = true;
                if let Some(r) = op.result {
                    inv[r.0 as usize] = true;
                }
            }
        }
        // An input entering as an invariant value is invariant too.
        let mut grown = false;
        for (k, j) in p.jump.args.iter().enumerate() {
            if !input_inv[k] && is_inv(&inv, j) {
                input_inv[k] = true;
                grown = true;
            }
        }
        if !grown {
            return any.then(|| input_inv.iter().map(|i| !i).collect());
        }
    }
}

/// Runs the pass.
pub fn run(trace: &mut Trace) {
    let Some(c) = peel(trace) else { return };
    let jump = trace.ops.pop().expect("a loop ends in a jump");
    trace.value_types.extend(c.types);
    trace.snapshots.extend(c.snapshots);
    trace.ops.reserve(c.hoisted.len() + c.ops.len() + 2);
    trace.ops.extend(c.hoisted);
    let mut label = Op::new(Opcode::Label, None, c.entry);
    label.params = c.params;
    label.loc = jump.loc;
    trace.ops.push(label);
    trace.ops.extend(c.ops);
    trace.ops.push(Op {
        args: c.jump,
        ..jump
    });
    debug_assert!(
        trace.verify().is_ok(),
        "peel: {:?}\n{trace}",
        trace.verify()
    );
}

/// The loop part of the peeled trace, or `None` when peeling would not
/// remove anything from the loop (or the trace is not a plain loop, or
/// would grow too long).
fn peel(trace: &Trace) -> Option<LoopCopy> {
    if !trace.is_loop() || trace.label_index().is_some() {
        return None;
    }
    let (jump, body) = trace.ops.split_last()?;
    if jump.args.len() != trace.inputs.len() {
        return None;
    }
    let writes = body.iter().any(|op| super::may_write_heap(trace, op));
    let mut p = Peeler {
        trace,
        body,
        classes: body.iter().map(|op| classify(trace, op)).collect(),
        jump,
        writes,
        known: Known::default(),
    };
    // A first guess, by a cheap forward pass without hashing: inputs whose
    // jump operand is themselves, a constant, or computed from such inputs
    // by reusable operations. If no reusable operation has only such
    // operands, the copy could remove nothing: most traces stop here.
    let mut varies = first_guess(&p)?;
    for (op, &class) in body.iter().zip(&p.classes) {
        if !p.reusable(class) {
            continue;
        }
        let Some(k) = key(op, &op.args) else { continue };
        match op.result {
            Some(r) => {
                p.known.values.entry(k).or_insert(Operand::Val(r));
            }
            None => {
                p.known.guards.insert(k);
            }
        }
    }
    // Each input the copy passes a different operand than it entered with
    // becomes a parameter, and the copy is rebuilt.
    let copy = loop {
        let c = p.copy(&varies);
        let mut changed = false;
        for (k, v) in varies.iter_mut().enumerate() {
            if !*v && c.next[k] != jump.args[k] {
                *v = true;
                changed = true;
            }
        }
        if !changed {
            break c;
        }
    };
    if copy.removed == 0 {
        return None;
    }
    let total = body.len() + copy.hoisted.len() + 1 + copy.ops.len() + 1;
    if total > MAX_PEELED_OPS {
        return None;
    }
    Some(copy)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::check;

    #[test]
    fn invariant_pure_ops_come_from_the_preamble_variant_ops_stay() {
        // `i2` and the pure call `i3` depend only on `i1`, which the jump
        // passes back unchanged: the loop uses the preamble's. `i0` varies:
        // it becomes the label's parameter `i6`.
        check(
            super::run,
            "trace t
             descr d0 = call f 0x10 (int) -> int pure
             label i0=s0:0, i1=s1:0
             i2 = int_mul i1, 3
             i3 = call d0, i2
             i4 = int_add i0, i3
             i5 = int_lt i4, 100
             guard_true i5 [@0 s0:0=i4 s1:0=i1]
             jump i4, i1",
            "trace t
             descr d0 = call f 0x10 (int) -> int pure
             label i0=s0:0, i1=s1:0
             i2 = int_mul i1, 3
             i3 = call d0, i2
             i4 = int_add i0, i3
             i5 = int_lt i4, 100
             guard_true i5 [@0 s0:0=i4 s1:0=i1]
             label i6=i4
             i7 = int_add i6, i3
             i8 = int_lt i7, 100
             guard_true i8 [@0 s0:0=i7 s1:0=i1]
             jump i7",
        );
    }

    #[test]
    fn invariant_guards_are_dropped_from_the_loop() {
        // The loop writes the heap, so the guard on the (mutable) class
        // field stays; the null check and the immutable load do not.
        check(
            super::run,
            "trace t
             descr d0 = field Obj.len 8 int 8 immutable
             descr d1 = field Obj.class 0 int 4
             descr d2 = field Obj.x 16 int 8
             label i0=s0:0, r1=s1:5
             guard_nonnull r1 [@0]
             guard_class r1, 7, d1 [@1]
             i2 = getfield r1, d0
             i3 = int_lt i0, i2
             guard_true i3 [@2 s0:0=i0]
             setfield r1, i0, d2
             i4 = int_add i0, 1
             jump i4, r1",
            "trace t
             descr d0 = field Obj.len 8 int 8 immutable
             descr d1 = field Obj.class 0 int 4
             descr d2 = field Obj.x 16 int 8
             label i0=s0:0, r1=s1:5
             guard_nonnull r1 [@0]
             guard_class r1, 7, d1 [@1]
             i2 = getfield r1, d0
             i3 = int_lt i0, i2
             guard_true i3 [@2 s0:0=i0]
             setfield r1, i0, d2
             i4 = int_add i0, 1
             label i5=i4
             guard_class r1, 7, d1 [@1]
             i6 = int_lt i5, i2
             guard_true i6 [@2 s0:0=i5]
             setfield r1, i5, d2
             i7 = int_add i5, 1
             jump i7",
        );
    }

    const LOOKUP: &str = "descr d0 = call lookup 0x10 (ref, int) -> ref reads
             descr d1 = field Value.tag 0 int 1
             descr d2 = field Value.payload 8 int 8
             descr d3 = call store 0x20 (ref, int) -> int writes
             descr d4 = field Obj.class 0 int 4";

    #[test]
    fn heap_reads_come_from_the_preamble_when_nothing_writes() {
        check(
            super::run,
            &format!(
                "trace t
                 {LOOKUP}
                 label r0=s0:5, i1=s1:2, i2=s2:2
                 guard_class r0, 5, d4 [@0]
                 r3 = call d0, r0, 4
                 i4 = getfield r3, d1
                 i5 = int_eq i4, 3
                 guard_true i5 [@1 s1:2=i1 s2:2=i2]
                 i6 = getfield r3, d2
                 i7 = int_add i1, i6
                 i8 = int_sub i2, 1
                 i9 = int_gt i8, 0
                 guard_true i9 [@2 s1:2=i7 s2:2=i8]
                 jump r0, i7, i8"
            ),
            &format!(
                "trace t
                 {LOOKUP}
                 label r0=s0:5, i1=s1:2, i2=s2:2
                 guard_class r0, 5, d4 [@0]
                 r3 = call d0, r0, 4
                 i4 = getfield r3, d1
                 i5 = int_eq i4, 3
                 guard_true i5 [@1 s1:2=i1 s2:2=i2]
                 i6 = getfield r3, d2
                 i7 = int_add i1, i6
                 i8 = int_sub i2, 1
                 i9 = int_gt i8, 0
                 guard_true i9 [@2 s1:2=i7 s2:2=i8]
                 label i10=i7, i11=i8
                 i12 = int_add i10, i6
                 i13 = int_sub i11, 1
                 i14 = int_gt i13, 0
                 guard_true i14 [@2 s1:2=i12 s2:2=i13]
                 jump i12, i13"
            ),
        );
    }

    #[test]
    fn a_loop_that_writes_keeps_its_heap_reads() {
        // The pure `i11` on an invariant input is reused; the lookup, the
        // loads and the class guard are redone after the `writes` call.
        check(
            super::run,
            &format!(
                "trace t
                 {LOOKUP}
                 label r0=s0:5, i1=s1:2, i2=s2:2, i10=s3:2
                 guard_class r0, 5, d4 [@0]
                 r3 = call d0, r0, 4
                 i4 = getfield r3, d1
                 i5 = int_eq i4, 3
                 guard_true i5 [@1 s1:2=i1 s2:2=i2]
                 i6 = getfield r3, d2
                 i7 = int_add i1, i6
                 i11 = int_mul i10, i10
                 i12 = call d3, r0, i11
                 i8 = int_sub i2, i11
                 i9 = int_gt i8, 0
                 guard_true i9 [@2 s1:2=i7 s2:2=i8]
                 jump r0, i7, i8, i10"
            ),
            &format!(
                "trace t
                 {LOOKUP}
                 label r0=s0:5, i1=s1:2, i2=s2:2, i10=s3:2
                 guard_class r0, 5, d4 [@0]
                 r3 = call d0, r0, 4
                 i4 = getfield r3, d1
                 i5 = int_eq i4, 3
                 guard_true i5 [@1 s1:2=i1 s2:2=i2]
                 i6 = getfield r3, d2
                 i7 = int_add i1, i6
                 i11 = int_mul i10, i10
                 i12 = call d3, r0, i11
                 i8 = int_sub i2, i11
                 i9 = int_gt i8, 0
                 guard_true i9 [@2 s1:2=i7 s2:2=i8]
                 label i13=i7, i14=i8
                 guard_class r0, 5, d4 [@0]
                 r15 = call d0, r0, 4
                 i16 = getfield r15, d1
                 i17 = int_eq i16, 3
                 guard_true i17 [@1 s1:2=i13 s2:2=i14]
                 i18 = getfield r15, d2
                 i19 = int_add i13, i18
                 i20 = call d3, r0, i11
                 i21 = int_sub i14, i11
                 i22 = int_gt i21, 0
                 guard_true i22 [@2 s1:2=i19 s2:2=i21]
                 jump i19, i21"
            ),
        );
    }

    #[test]
    fn nothing_invariant_leaves_the_trace_unpeeled() {
        let t = "trace t
                 descr d0 = call g 0x10 (int) -> int writes
                 label i0=s0:0, i1=s1:0
                 i2 = int_add i0, i1
                 i5 = call d0, i2
                 i3 = int_sub i1, 1
                 i4 = int_gt i3, 0
                 guard_true i4 [@0 s0:0=i2 s1:0=i3]
                 jump i2, i3";
        check(super::run, t, t);
    }

    #[test]
    fn constants_shared_parameters_and_moved_invariants() {
        // `i17` enters the loop as the constant 5; `i1` and `i2` both enter
        // as `i5`, so they share the parameter `i19`. `i13` enters as the
        // preamble's `i14`, computed from the invariant `i3`, so it is
        // invariant too, and `i15 = i13 * 3` is computed once, before the
        // label.
        check(
            super::run,
            "trace t
             label i0=s0:0, i1=s1:0, i2=s2:0, i3=s3:0, i13=s4:0, i17=s5:0
             i4 = int_add i0, i17
             i5 = int_add i1, i2
             i6 = int_lt i5, 1000
             guard_true i6 [@0 s0:0=i4 s1:0=i5]
             i7 = int_mul i17, 2
             i15 = int_mul i13, 3
             i16 = int_lt i15, i4
             guard_true i16 [@1 s0:0=i7]
             i14 = int_add i3, 1
             jump i4, i5, i5, i3, i14, 5",
            "trace t
             label i0=s0:0, i1=s1:0, i2=s2:0, i3=s3:0, i13=s4:0, i17=s5:0
             i4 = int_add i0, i17
             i5 = int_add i1, i2
             i6 = int_lt i5, 1000
             guard_true i6 [@0 s0:0=i4 s1:0=i5]
             i7 = int_mul i17, 2
             i15 = int_mul i13, 3
             i16 = int_lt i15, i4
             guard_true i16 [@1 s0:0=i7]
             i14 = int_add i3, 1
             i23 = int_mul i14, 3
             label i18=i4, i19=i5
             i20 = int_add i18, 5
             i21 = int_add i19, i19
             i22 = int_lt i21, 1000
             guard_true i22 [@0 s0:0=i20 s1:0=i21]
             i24 = int_lt i23, i20
             guard_true i24 [@1 s0:0=10]
             jump i20, i21",
        );
    }

    #[test]
    fn an_input_assumed_invariant_that_changes_becomes_a_parameter() {
        // `i2` enters the loop as `i5 = i1 + 1`, but `i1` enters as 7, so
        // the loop passes 8: `i2` is a parameter (entering as `i5`, then 8),
        // and the loop's `i5` is the constant.
        check(
            super::run,
            "trace t
             label i0=s0:0, i1=s1:0, i2=s2:0
             i3 = int_mul i2, 3
             i4 = int_lt i3, i0
             guard_true i4 [@0]
             i5 = int_add i1, 1
             i6 = int_add i0, 1
             jump i6, 7, i5",
            "trace t
             label i0=s0:0, i1=s1:0, i2=s2:0
             i3 = int_mul i2, 3
             i4 = int_lt i3, i0
             guard_true i4 [@0]
             i5 = int_add i1, 1
             i6 = int_add i0, 1
             label i7=i6, i8=i5
             i9 = int_mul i8, 3
             i10 = int_lt i9, i7
             guard_true i10 [@0]
             i11 = int_add i7, 1
             jump i11, 8",
        );
    }

    #[test]
    fn peeled_and_oversized_traces_are_left_alone() {
        let peeled = "trace t
             label i0=s0:0, i1=s1:0
             i2 = int_mul i1, 3
             label i3=i0
             i4 = int_add i3, i2
             jump i4";
        check(super::run, peeled, peeled);
        let mut text = String::from("trace t\nlabel i0=s0:0, i1=s1:0\ni2 = int_mul i1, 3\n");
        let mut last = 0;
        for k in 0..super::MAX_PEELED_OPS / 2 {
            let v = 3 + k;
            text.push_str(&format!("i{v} = int_add i{last}, i2\n"));
            last = v;
        }
        text.push_str(&format!("jump i{last}, i1\n"));
        check(super::run, &text, &text);
    }
}
