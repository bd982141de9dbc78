//! Common-subexpression elimination.
//!
//! A forward pass with a hash table keyed by (opcode, operands,
//! descriptor). Pure operations and overflow-checked arithmetic (the second
//! `int_add_ovf i1, i2` cannot fail once the first passed) are merged, as
//! are loads of fields marked immutable in their descriptor, whose value no
//! store can change. Loads of mutable fields are left to the heap-caching
//! pass of a later issue, which needs alias analysis. Operands of
//! commutative operations were put in canonical order by [`super::fold`];
//! here two non-constant operands are additionally ordered by value id.

use super::rewrite;
use crate::ir::*;
use std::collections::HashMap;

/// Runs the pass.
pub fn run(trace: &mut Trace) {
    let mut seen: HashMap<(Opcode, Vec<Operand>, Option<DescrId>), Operand> = HashMap::new();
    rewrite(trace, |trace, op, subst| {
        let Some(result) = op.result else { return true };
        let eligible = match op.opcode.kind() {
            OpKind::Pure | OpKind::GuardedPure => true,
            OpKind::Load => {
                op.opcode == Opcode::GetField
                    && matches!(op.descr.map(|d| trace.descr(d)), Some(Descr::Field(f)) if f.immutable)
            }
            OpKind::Call => {
                matches!(trace.call_descr(op), Some(c) if c.effects.kind == EffectKind::Pure && !c.effects.can_raise)
            }
            _ => false,
        };
        if !eligible {
            return true;
        }
        let mut args = op.args.clone();
        if op.opcode.is_commutative() && args.len() == 2 {
            if let (Operand::Val(a), Operand::Val(b)) = (args[0], args[1]) {
                if b < a {
                    args.swap(0, 1);
                }
            }
        }
        let key = (op.opcode, args, op.descr);
        match seen.get(&key) {
            Some(prev) => {
                subst.set(result, *prev);
                false
            }
            None => {
                seen.insert(key, Operand::Val(result));
                true
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::test_util::check;

    #[test]
    fn merges_pure_ops_and_overflow_checks() {
        check(
            super::run,
            "trace t
             label i0=s0:0, i1=s1:0
             i2 = int_add i0, i1
             i3 = int_add i1, i0
             i4 = int_mul_ovf i2, i3 [@0]
             i5 = int_mul_ovf i3, i2 [@1]
             i6 = int_lt i4, i5
             guard_true i6 [@2 s0:0=i5]
             jump i4, i5",
            "trace t
             label i0=s0:0, i1=s1:0
             i2 = int_add i0, i1
             i4 = int_mul_ovf i2, i2 [@0]
             i6 = int_lt i4, i4
             guard_true i6 [@2 s0:0=i4]
             jump i4, i4",
        );
    }

    #[test]
    fn immutable_loads_merge_mutable_do_not() {
        check(
            super::run,
            "trace t
             descr d0 = field A.len 0 int 8 immutable
             descr d1 = field A.x 8 int 8
             label r0=s0:1
             i1 = getfield r0, d0
             i2 = getfield r0, d1
             setfield r0, 5, d1
             i3 = getfield r0, d0
             i4 = getfield r0, d1
             i5 = int_add i3, i4
             i6 = int_add i1, i2
             i7 = int_lt i5, i6
             guard_true i7 [@0]
             jump r0",
            "trace t
             descr d0 = field A.len 0 int 8 immutable
             descr d1 = field A.x 8 int 8
             label r0=s0:1
             i1 = getfield r0, d0
             i2 = getfield r0, d1
             setfield r0, 5, d1
             i4 = getfield r0, d1
             i5 = int_add i1, i4
             i6 = int_add i1, i2
             i7 = int_lt i5, i6
             guard_true i7 [@0]
             jump r0",
        );
    }
}
