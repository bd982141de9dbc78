//! Constant folding and algebraic simplification.
//!
//! A single forward pass: every operation whose operands are all constants
//! is evaluated now (with exactly the semantics the backends implement,
//! shared through [`crate::backend::eval_pure`]) and its result replaced by
//! the constant; identities such as `x + 0`, `x * 1`, `x - x`, `x ^ x` and
//! comparisons of a value with itself are reduced; constant operands of
//! commutative operations are moved to the right (and constant left
//! operands of comparisons swapped) so that [`super::cse`] sees one form;
//! guards whose condition is a constant that holds are deleted. A guard
//! that can never hold is left in place: the trace will leave there every
//! time, which is correct, and the driver notices such traces.
//!
//! Floating-point identities are not applied (`x + 0.0` is not `x` for
//! `x = -0.0`, and NaN defeats `x == x`), only constant evaluation.

use super::rewrite;
use crate::backend::eval_pure;
use crate::ir::*;

/// The comparison with swapped operands (`a < b` is `b > a`).
pub fn swapped_comparison(op: Opcode) -> Option<Opcode> {
    use Opcode::*;
    Some(match op {
        IntLt => IntGt,
        IntGt => IntLt,
        IntLe => IntGe,
        IntGe => IntLe,
        IntEq => IntEq,
        IntNe => IntNe,
        _ => return None,
    })
}

fn const_of(ty: Type, bits: u64) -> Operand {
    match ty {
        Type::Float => Operand::Float(bits),
        Type::Ref => Operand::Ref(bits as usize),
        _ => Operand::Int(bits as i64),
    }
}

/// Simplifies `op(a, b)` when one side is a known constant or both sides
/// are the same value; returns the replacement operand.
fn identity(op: Opcode, a: Operand, b: Operand) -> Option<Operand> {
    use Opcode::*;
    let same = a == b && !a.is_const();
    match (op, b.as_int()) {
        (
            IntAdd | IntSub | IntOr | IntXor | IntShl | IntShr | UintShr | IntAddOvf | IntSubOvf,
            Some(0),
        ) => Some(a),
        (IntMul | IntMulOvf, Some(1)) => Some(a),
        (IntMul | IntAnd, Some(0)) => Some(Operand::Int(0)),
        (IntMulOvf, Some(0)) => Some(Operand::Int(0)),
        (IntAnd, Some(-1)) => Some(a),
        _ if same => match op {
            IntSub | IntXor | IntSubOvf => Some(Operand::Int(0)),
            IntAnd | IntOr => Some(a),
            IntEq | IntLe | IntGe | PtrEq => Some(Operand::Int(1)),
            IntNe | IntLt | IntGt | PtrNe => Some(Operand::Int(0)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a guard on constant operands always holds (`Some(true)`),
/// always fails (`Some(false)`), or depends on values (`None`).
pub fn constant_guard(op: &Op) -> Option<bool> {
    match (op.opcode, op.args.first().copied(), op.args.get(1).copied()) {
        (Opcode::GuardTrue, Some(Operand::Int(c)), _) => Some(c != 0),
        (Opcode::GuardFalse, Some(Operand::Int(c)), _) => Some(c == 0),
        (Opcode::GuardNonNull, Some(Operand::Ref(a)), _) => Some(a != 0),
        (Opcode::GuardValue, Some(a), Some(b)) if a.is_const() && b.is_const() => {
            Some(a.const_bits() == b.const_bits())
        }
        _ => None,
    }
}

/// Runs the pass.
pub fn run(trace: &mut Trace) {
    // Values known to be 0 or 1 (comparison results): `int_is_true` of
    // them is the value itself.
    let mut boolean = std::collections::HashSet::new();
    rewrite(trace, |trace, op, subst| {
        let kind = op.opcode.kind();
        if matches!(kind, OpKind::Pure | OpKind::GuardedPure) {
            if op.opcode == Opcode::SameAs {
                if let Some(r) = op.result {
                    subst.set(r, op.args[0]);
                }
                return false;
            }
            // Canonical operand order.
            if op.args.len() == 2 && op.args[0].is_const() && !op.args[1].is_const() {
                if op.opcode.is_commutative() {
                    op.args.swap(0, 1);
                } else if let Some(sw) = swapped_comparison(op.opcode) {
                    op.opcode = sw;
                    op.args.swap(0, 1);
                }
            }
            if op.args.iter().all(|a| a.is_const()) {
                let a = op.args.first().and_then(|a| a.const_bits()).unwrap_or(0);
                let b = op.args.get(1).and_then(|a| a.const_bits()).unwrap_or(0);
                match eval_pure(op.opcode, a, b) {
                    Some(v) => {
                        if let Some(r) = op.result {
                            subst.set(r, const_of(trace.type_of(r), v));
                        }
                        return false;
                    }
                    None => return true, // an overflow guard that always fails
                }
            }
            if op.args.len() == 2 {
                if let Some(rep) = identity(op.opcode, op.args[0], op.args[1]) {
                    if let Some(r) = op.result {
                        subst.set(r, rep);
                    }
                    return false;
                }
            }
            if op.opcode == Opcode::IntIsTrue {
                if let (Some(r), Operand::Val(v)) = (op.result, op.args[0]) {
                    if boolean.contains(&v) {
                        subst.set(r, op.args[0]);
                        return false;
                    }
                }
            }
            if let (Some(r), true) = (op.result, op.opcode.fixed_result() == Some(Type::Int)) {
                use Opcode::*;
                if matches!(
                    op.opcode,
                    IntLt
                        | IntLe
                        | IntEq
                        | IntNe
                        | IntGt
                        | IntGe
                        | IntIsTrue
                        | FloatLt
                        | FloatLe
                        | FloatEq
                        | FloatNe
                        | FloatGt
                        | FloatGe
                        | PtrEq
                        | PtrNe
                ) {
                    boolean.insert(r);
                }
            }
            return true;
        }
        if kind == OpKind::Guard {
            return constant_guard(op) != Some(true);
        }
        true
    });
}

#[cfg(test)]
mod tests {
    use super::super::test_util::check;

    #[test]
    fn folds_constants_and_propagates() {
        check(
            super::run,
            "trace t
             label i0=s0:0
             i1 = int_add 2, 3
             i2 = int_mul i1, 4
             i3 = int_add i0, i2
             i4 = int_lt i2, 100
             guard_true i4 [@0 s0:0=i3]
             jump i3",
            "trace t
             label i0=s0:0
             i3 = int_add i0, 20
             jump i3",
        );
    }

    #[test]
    fn identities_and_canonical_order() {
        check(
            super::run,
            "trace t
             label i0=s0:0, i1=s1:0
             i2 = int_add 0, i0
             i3 = int_mul i2, 1
             i4 = int_sub i1, i1
             i5 = int_add i3, i4
             i6 = int_lt 10, i5
             i7 = int_is_true i6
             guard_true i7 [@0 s0:0=i5]
             i8 = int_add 7, i1
             jump i5, i8",
            "trace t
             label i0=s0:0, i1=s1:0
             i6 = int_gt i0, 10
             guard_true i6 [@0 s0:0=i0]
             i8 = int_add i1, 7
             jump i0, i8",
        );
    }

    #[test]
    fn overflow_and_failing_guards_stay() {
        check(
            super::run,
            "trace t
             label i0=s0:0
             i1 = int_add_ovf 9223372036854775807, 1 [@0]
             i2 = int_add_ovf 1, 2 [@0]
             guard_true 0 [@1 s0:0=i2]
             jump i0",
            "trace t
             label i0=s0:0
             i1 = int_add_ovf 9223372036854775807, 1 [@0]
             guard_true 0 [@1 s0:0=3]
             jump i0",
        );
    }

    #[test]
    fn floats_fold_only_constants() {
        check(
            super::run,
            "trace t
             label f0=s0:1
             f1 = float_add f0, 0.0
             f2 = float_mul 2.0, 1.5
             f3 = float_add f1, f2
             i4 = float_eq f3, f3
             guard_true i4 [@0]
             jump f3",
            "trace t
             label f0=s0:1
             f1 = float_add f0, 0.0
             f3 = float_add f1, 3.0
             i4 = float_eq f3, f3
             guard_true i4 [@0]
             jump f3",
        );
    }
}
