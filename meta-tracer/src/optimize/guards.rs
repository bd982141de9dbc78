//! Removal of guards implied by earlier guards.
//!
//! Walking the trace forwards, every guard that survives teaches the pass a
//! fact that holds for the rest of the iteration:
//!
//! * `guard_true v` / `guard_false v`: `v` is non-zero / zero; if `v` is a
//!   comparison `a OP b`, the relation (or its negation) between `a` and `b`
//!   holds, and if one side is a constant the other side's integer range
//!   narrows;
//! * `guard_value v, c`: `v` is `c` — later uses of `v` become `c`;
//! * `guard_nonnull r`, `guard_class r, C`: remembered as such.
//!
//! A later guard whose condition follows from the facts is deleted, and a
//! comparison whose outcome the facts decide is replaced by its constant.
//! Ranges also turn `_ovf` arithmetic into plain arithmetic when the
//! operands' ranges prove the result cannot overflow (the classic `i < n`
//! then `i + 1`). This is a small relative of RPython's `intbounds` pass and
//! of LuaJIT's FOLD-time guard elimination: cheap, local, and enough to
//! remove the duplicated checks that recording produces when interpreter
//! code tests the same thing twice. Facts are not carried around the loop
//! (no peeling yet), so label parameters start unknown every iteration.

use super::rewrite;
use crate::ir::*;
use std::collections::{HashMap, HashSet};

#[derive(Clone, Copy, Debug)]
struct Range {
    lo: i64,
    hi: i64,
}

const FULL: Range = Range {
    lo: i64::MIN,
    hi: i64::MAX,
};

fn negate(op: Opcode) -> Option<Opcode> {
    use Opcode::*;
    Some(match op {
        IntLt => IntGe,
        IntGe => IntLt,
        IntLe => IntGt,
        IntGt => IntLe,
        IntEq => IntNe,
        IntNe => IntEq,
        _ => return None,
    })
}

fn is_int_cmp(op: Opcode) -> bool {
    negate(op).is_some()
}

#[derive(Default)]
struct Facts {
    ranges: HashMap<Value, Range>,
    /// Relations known true: (comparison, a, b).
    rels: HashSet<(Opcode, Operand, Operand)>,
    nonnull: HashSet<Value>,
    class: HashMap<(Value, DescrId), u64>,
    truthy: HashMap<Value, bool>,
    defs: HashMap<Value, (Opcode, Operand, Operand)>,
}

impl Facts {
    fn range(&self, o: Operand) -> Range {
        match o {
            Operand::Int(c) => Range { lo: c, hi: c },
            Operand::Val(v) => self.ranges.get(&v).copied().unwrap_or(FULL),
            _ => FULL,
        }
    }

    /// Decides `a OP b` from ranges and known relations.
    fn decide(&self, op: Opcode, a: Operand, b: Operand) -> Option<bool> {
        use Opcode::*;
        let (ra, rb) = (self.range(a), self.range(b));
        let by_range = match op {
            IntLt if ra.hi < rb.lo => Some(true),
            IntLt if ra.lo >= rb.hi => Some(false),
            IntLe if ra.hi <= rb.lo => Some(true),
            IntLe if ra.lo > rb.hi => Some(false),
            IntGt if ra.lo > rb.hi => Some(true),
            IntGt if ra.hi <= rb.lo => Some(false),
            IntGe if ra.lo >= rb.hi => Some(true),
            IntGe if ra.hi < rb.lo => Some(false),
            IntEq if ra.hi < rb.lo || ra.lo > rb.hi => Some(false),
            IntEq if ra.lo == ra.hi && rb.lo == rb.hi && ra.lo == rb.lo => Some(true),
            IntNe if ra.hi < rb.lo || ra.lo > rb.hi => Some(true),
            IntNe if ra.lo == ra.hi && rb.lo == rb.hi && ra.lo == rb.lo => Some(false),
            _ => None,
        };
        if by_range.is_some() {
            return by_range;
        }
        // Relations: a fact (P, a, b) implies (Q, a, b) when P ⊆ Q.
        let implied_by = |q: Opcode| -> &'static [Opcode] {
            match q {
                IntLt => &[IntLt],
                IntLe => &[IntLt, IntLe, IntEq],
                IntGt => &[IntGt],
                IntGe => &[IntGt, IntGe, IntEq],
                IntEq => &[IntEq],
                IntNe => &[IntNe, IntLt, IntGt],
                _ => &[],
            }
        };
        let knows = |q: Opcode| {
            implied_by(q).iter().any(|p| {
                self.rels.contains(&(*p, a, b))
                    || super::fold::swapped_comparison(*p)
                        .is_some_and(|sp| self.rels.contains(&(sp, b, a)))
            })
        };
        if knows(op) {
            return Some(true);
        }
        if negate(op).is_some_and(knows) {
            return Some(false);
        }
        None
    }

    fn narrow(&mut self, v: Value, r: Range) {
        let cur = self.ranges.get(&v).copied().unwrap_or(FULL);
        self.ranges.insert(
            v,
            Range {
                lo: cur.lo.max(r.lo),
                hi: cur.hi.min(r.hi),
            },
        );
    }

    /// Learns that `a OP b` holds.
    fn learn(&mut self, op: Opcode, a: Operand, b: Operand) {
        use Opcode::*;
        self.rels.insert((op, a, b));
        let (ra, rb) = (self.range(a), self.range(b));
        // Narrow each side's range by the other's bounds.
        let (na, nb) = match op {
            IntLt => (
                Range {
                    lo: i64::MIN,
                    hi: rb.hi.saturating_sub(1),
                },
                Range {
                    lo: ra.lo.saturating_add(1),
                    hi: i64::MAX,
                },
            ),
            IntLe => (
                Range {
                    lo: i64::MIN,
                    hi: rb.hi,
                },
                Range {
                    lo: ra.lo,
                    hi: i64::MAX,
                },
            ),
            IntGt => (
                Range {
                    lo: rb.lo.saturating_add(1),
                    hi: i64::MAX,
                },
                Range {
                    lo: i64::MIN,
                    hi: ra.hi.saturating_sub(1),
                },
            ),
            IntGe => (
                Range {
                    lo: rb.lo,
                    hi: i64::MAX,
                },
                Range {
                    lo: i64::MIN,
                    hi: ra.hi,
                },
            ),
            IntEq => (rb, ra),
            _ => (FULL, FULL),
        };
        if let Operand::Val(v) = a {
            self.narrow(v, na);
        }
        if let Operand::Val(v) = b {
            self.narrow(v, nb);
        }
    }
}

fn no_overflow(op: Opcode, a: Range, b: Range) -> bool {
    let corners = [(a.lo, b.lo), (a.lo, b.hi), (a.hi, b.lo), (a.hi, b.hi)];
    corners.iter().all(|&(x, y)| match op {
        Opcode::IntAddOvf => x.checked_add(y).is_some(),
        Opcode::IntSubOvf => x.checked_sub(y).is_some(),
        Opcode::IntMulOvf => x.checked_mul(y).is_some(),
        _ => false,
    })
}

/// Runs the pass.
pub fn run(trace: &mut Trace) {
    let mut f = Facts::default();
    rewrite(trace, |trace, op, subst| {
        use Opcode::*;
        let a = op.args.first().copied().unwrap_or(Operand::Int(0));
        let b = op.args.get(1).copied().unwrap_or(Operand::Int(0));
        if op.opcode.kind() == OpKind::Guard && super::fold::constant_guard(op) == Some(true) {
            return false;
        }
        match op.opcode {
            o if is_int_cmp(o) => {
                let r = op.result.expect("comparisons have results");
                if let Some(c) = f.decide(o, a, b) {
                    subst.set(r, Operand::Int(c as i64));
                    return false;
                }
                f.defs.insert(r, (o, a, b));
                f.ranges.insert(r, Range { lo: 0, hi: 1 });
                true
            }
            IntAddOvf | IntSubOvf | IntMulOvf => {
                if no_overflow(op.opcode, f.range(a), f.range(b)) {
                    op.opcode = match op.opcode {
                        IntAddOvf => IntAdd,
                        IntSubOvf => IntSub,
                        _ => IntMul,
                    };
                    op.snapshot = None;
                }
                if let Some(r) = op.result {
                    let (ra, rb) = (f.range(a), f.range(b));
                    if op.opcode == IntAdd && no_overflow(IntAddOvf, ra, rb) {
                        f.ranges.insert(
                            r,
                            Range {
                                lo: ra.lo + rb.lo,
                                hi: ra.hi + rb.hi,
                            },
                        );
                    } else if op.opcode == IntSub && no_overflow(IntSubOvf, ra, rb) {
                        f.ranges.insert(
                            r,
                            Range {
                                lo: ra.lo - rb.hi,
                                hi: ra.hi - rb.lo,
                            },
                        );
                    }
                }
                true
            }
            GuardTrue | GuardFalse => {
                let want = op.opcode == GuardTrue;
                let Operand::Val(v) = a else { return true };
                if let Some(&known) = f.truthy.get(&v) {
                    if known == want {
                        return false;
                    }
                }
                if let Some(&(cmp, x, y)) = f.defs.get(&v) {
                    if f.decide(cmp, x, y) == Some(want) {
                        return false;
                    }
                    let holds = if want { Some(cmp) } else { negate(cmp) };
                    if let Some(h) = holds {
                        f.learn(h, x, y);
                    }
                }
                f.truthy.insert(v, want);
                if !want {
                    // `v` is exactly zero from here on.
                    subst.set(v, Operand::Int(0));
                }
                true
            }
            GuardValue => {
                if let Operand::Val(v) = a {
                    if trace.type_of(v) == Type::Int && b.as_int().is_some() {
                        if f.decide(IntEq, a, b) == Some(true) {
                            return false;
                        }
                        f.learn(IntEq, a, b);
                    }
                    subst.set(v, b);
                }
                true
            }
            GuardNonNull => {
                let Operand::Val(v) = a else { return true };
                f.nonnull.insert(v)
            }
            GuardClass => {
                let (Operand::Val(v), Some(d), Some(c)) = (a, op.descr, b.const_bits()) else {
                    return true;
                };
                match f.class.get(&(v, d)) {
                    Some(&known) if known == c => false,
                    _ => {
                        f.class.insert((v, d), c);
                        f.nonnull.insert(v);
                        true
                    }
                }
            }
            _ => true,
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::test_util::check;

    #[test]
    fn repeated_and_implied_guards_go() {
        check(
            super::run,
            "trace t
             label i0=s0:0, i1=s1:0
             i2 = int_lt i0, i1
             guard_true i2 [@0]
             i3 = int_le i0, i1
             guard_true i3 [@1]
             i4 = int_ge i0, i1
             guard_false i4 [@2]
             i5 = int_gt i1, i0
             guard_true i5 [@3]
             i6 = int_eq i0, i1
             guard_true i6 [@4]
             jump i0, i1",
            "trace t
             label i0=s0:0, i1=s1:0
             i2 = int_lt i0, i1
             guard_true i2 [@0]
             guard_true 0 [@4]
             jump i0, i1",
        );
    }

    #[test]
    fn ranges_decide_comparisons_and_overflow() {
        check(
            super::run,
            "trace t
             label i0=s0:0
             i1 = int_lt i0, 100
             guard_true i1 [@0]
             i2 = int_ge i0, 0
             guard_true i2 [@1]
             i3 = int_lt i0, 200
             guard_true i3 [@2]
             i4 = int_add_ovf i0, 1 [@3 s0:0=i0]
             i5 = int_lt i4, 101
             guard_true i5 [@4]
             i6 = int_mul_ovf i4, i4 [@5]
             jump i6",
            "trace t
             label i0=s0:0
             i1 = int_lt i0, 100
             guard_true i1 [@0]
             i2 = int_ge i0, 0
             guard_true i2 [@1]
             i4 = int_add i0, 1
             i6 = int_mul i4, i4
             jump i6",
        );
    }

    #[test]
    fn guard_value_propagates_and_class_nonnull_repeat() {
        check(
            super::run,
            "trace t
             descr d0 = field Obj.class 0 int 4
             label i0=s0:0, r1=s1:1
             guard_value i0, 7 [@0]
             i2 = int_add i0, 1
             guard_value i0, 7 [@1]
             guard_class r1, 3, d0 [@2]
             guard_nonnull r1 [@3]
             guard_class r1, 3, d0 [@4]
             guard_nonnull r1 [@5]
             jump i2, r1",
            "trace t
             descr d0 = field Obj.class 0 int 4
             label i0=s0:0, r1=s1:1
             guard_value i0, 7 [@0]
             i2 = int_add 7, 1
             guard_class r1, 3, d0 [@2]
             jump i2, r1",
        );
    }
}
