//! The optimizer: a fixed sequence of passes over the trace IR.
//!
//! Each pass is a module of its own with IR-text-in, IR-text-out tests,
//! and the order is fixed (as in RPython's `optimizeopt`): every pass may
//! assume the ones before it ran.
//!
//! 1. [`fold`] — constant folding and algebraic simplification. Recording
//!    produces many operations on constants (green values, promoted
//!    values); folding them first gives every later pass less to look at.
//! 2. [`cse`] — common-subexpression elimination of pure operations and
//!    of loads of immutable fields (of every heap read, in a trace that
//!    writes nothing), so that equal conditions become the same value
//!    before guards are compared.
//! 3. [`guards`] — removal of guards implied by earlier guards (the same
//!    condition, or an integer range that an earlier comparison already
//!    established), and propagation of the constants that `guard_value`
//!    establishes.
//! 4. [`dce`] — removal of operations whose results are unused, both by
//!    the trace and by every guard's resume data.
//! 5. [`peel`] — loop peeling: the body is followed by a second copy of
//!    itself behind an inner `label`, and the copy reuses what the first
//!    copy (the preamble) computed and checked on loop-invariant values:
//!    pure operations, guards, and heap reads when the loop writes
//!    nothing. It comes after the cleanup passes because it recognises
//!    redundancy by equal (opcode, operands, descriptor) keys, which
//!    folding and CSE make canonical, and because copying dead code or
//!    redundant guards would double them; it decides to peel only if the
//!    copy loses something, so it must see the trace as it would
//!    otherwise be compiled.
//! 6. [`dce`] again — the copy's parameters that nothing in the loop uses
//!    (values only the preamble's removed guards needed), and what fed
//!    them. On an unpeeled trace this finds nothing.
//!
//! Passes 1–4 ([`BODY_PASSES`]) run when the trace is closed; 5 and 6
//! ([`LOOP_PASSES`]) just before code generation, after the trace has
//! passed probation in the IR interpreter unpeeled ([`crate::probation`]:
//! its budget check exits to the loop header with the values the jump
//! carries for the inputs, which a peeled trace's jump no longer carries;
//! and a trace discarded on probation is never peeled).
//!
//! Later issues add allocation removal (virtuals in resume data), heap
//! caching and STM barrier placement as further passes here. Before
//! [`peel`], a trace is a loop from its entry label to its jump, and a
//! fact learned in one iteration is not assumed in the next: every pass
//! works on the straight-line body and the label's parameters are
//! unknown. After it, the same passes remain correct on the peeled form
//! without knowing about loops: the inner label defines fresh values (its
//! parameters), and the preamble dominates the loop, so every fact about a
//! preamble value holds there too.

pub mod cse;
pub mod dce;
pub mod fold;
pub mod guards;
pub mod peel;

use crate::ir::*;
use std::collections::HashMap;

/// A pass: a name (for dumps) and a function rewriting a trace in place.
pub struct Pass {
    /// Name shown in dumps (`after fold`, ...).
    pub name: &'static str,
    /// The transformation.
    pub run: fn(&mut Trace),
}

/// The passes run on the loop body when a trace is closed, in order.
pub const BODY_PASSES: &[Pass] = &[
    Pass {
        name: "fold",
        run: fold::run,
    },
    Pass {
        name: "cse",
        run: cse::run,
    },
    Pass {
        name: "guards",
        run: guards::run,
    },
    Pass {
        name: "dce",
        run: dce::run,
    },
];

/// The passes run just before code generation, in order: after probation
/// (see [`crate::probation`]), which runs the trace unpeeled, so that a
/// trace discarded on probation is never peeled, and its budget check can
/// exit to the loop header with the inputs' values at the jump.
pub const LOOP_PASSES: &[Pass] = &[
    Pass {
        name: "peel",
        run: peel::run,
    },
    Pass {
        name: "dce",
        run: dce::run,
    },
];

/// Runs `passes` in order; `after` is called after each pass with its
/// name and the trace (for dumps).
pub fn run_passes(passes: &[Pass], trace: &mut Trace, mut after: impl FnMut(&str, &Trace)) {
    for p in passes {
        (p.run)(trace);
        after(p.name, trace);
    }
}

/// Runs every pass in order, [`BODY_PASSES`] then [`LOOP_PASSES`]; `after`
/// is called after each pass with its name and the trace (for dumps).
pub fn optimize(trace: &mut Trace, mut after: impl FnMut(&str, &Trace)) {
    run_passes(BODY_PASSES, trace, &mut after);
    run_passes(LOOP_PASSES, trace, &mut after);
}

/// True if `op` may change the heap: stores, allocations, STM barriers,
/// and calls not known to be read-only (anything else reads at most).
pub fn may_write_heap(trace: &Trace, op: &Op) -> bool {
    match op.opcode.kind() {
        OpKind::Pure | OpKind::GuardedPure | OpKind::Guard | OpKind::Load | OpKind::Control => {
            false
        }
        OpKind::Call => {
            !matches!(trace.call_descr(op), Some(c) if c.effects.kind <= EffectKind::ReadsHeap)
        }
        OpKind::Store | OpKind::Alloc | OpKind::Barrier => true,
    }
}

/// A substitution of values by operands, applied to the operations and
/// resume data that follow the point where it was learned.
#[derive(Default, Debug)]
pub struct Subst {
    map: HashMap<Value, Operand>,
}

impl Subst {
    /// Records that `v` is replaced by `o` from now on.
    pub fn set(&mut self, v: Value, o: Operand) {
        let o = self.get(o);
        self.map.insert(v, o);
    }
    /// The replacement of an operand (itself if none).
    pub fn get(&self, o: Operand) -> Operand {
        let mut o = o;
        while let Operand::Val(v) = o {
            match self.map.get(&v) {
                Some(n) if *n != o => o = *n,
                _ => break,
            }
        }
        o
    }
    /// Applies the substitution to an operation's operands and to its
    /// snapshot.
    pub fn apply(&self, trace: &mut Trace, op: &mut Op) {
        if self.map.is_empty() {
            return;
        }
        for a in &mut op.args {
            *a = self.get(*a);
        }
        if let Some(sid) = op.snapshot {
            let snap = &mut trace.snapshots[sid.0 as usize];
            for s in &mut snap.slots {
                if let ResumeValue::Op(o) = s.value {
                    s.value = ResumeValue::Op(self.get(o));
                }
            }
            for v in &mut snap.virtuals {
                for (_, rv) in &mut v.fields {
                    if let ResumeValue::Op(o) = *rv {
                        *rv = ResumeValue::Op(self.get(o));
                    }
                }
            }
        }
    }
}

/// Rewrites every operation in order with `f`, which sees each op after the
/// substitution learned so far was applied, and returns whether to keep it.
pub fn rewrite(trace: &mut Trace, mut f: impl FnMut(&mut Trace, &mut Op, &mut Subst) -> bool) {
    let ops = std::mem::take(&mut trace.ops);
    let mut out = Vec::with_capacity(ops.len());
    let mut subst = Subst::default();
    for mut op in ops {
        subst.apply(trace, &mut op);
        if f(trace, &mut op, &mut subst) {
            out.push(op);
        }
    }
    trace.ops = out;
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::ir_parse::parse_trace;

    /// Runs `pass` on `input` and compares with `expected` (both IR text;
    /// leading indentation and blank lines are ignored).
    pub fn check(pass: fn(&mut crate::ir::Trace), input: &str, expected: &str) {
        let norm = |s: &str| {
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut t = parse_trace(&norm(input)).unwrap_or_else(|e| panic!("input: {e}"));
        t.verify().unwrap();
        pass(&mut t);
        t.verify()
            .unwrap_or_else(|e| panic!("pass produced an invalid trace: {e}\n{t}"));
        let got = norm(&t.to_text());
        let want = norm(expected);
        assert_eq!(got, want, "\n--- got ---\n{got}\n--- want ---\n{want}\n");
    }
}
