//! Common-subexpression elimination.
//!
//! A forward pass with a hash table keyed by (opcode, operands,
//! descriptor). Pure operations and overflow-checked arithmetic (the second
//! `int_add_ovf i1, i2` cannot fail once the first passed) are merged, as
//! are loads of fields marked immutable in their descriptor, whose value no
//! store can change. In a trace that writes nothing to the heap (no store,
//! allocation, barrier, or call that may write), every heap read with the
//! same operands reads the same value, so loads of mutable fields, array
//! items and lengths, and read-only calls that cannot raise are merged too
//! (such traces are common: a loop that looks things up in tables it does
//! not change); this also gives [`super::peel`] one name per read to find
//! in the preamble. Otherwise loads of mutable fields are left to the
//! heap-caching pass of a later issue, which needs alias analysis. Operands of
//! commutative operations were put in canonical order by [`super::fold`];
//! here two non-constant operands are additionally ordered by value id.

use super::rewrite;
use crate::ir::*;
use std::collections::HashMap;

/// Runs the pass.
pub fn run(trace: &mut Trace) {
    let read_only = !trace.ops.iter().any(|op| super::may_write_heap(trace, op));
    let mut seen: HashMap<(Opcode, Vec<Operand>, Option<DescrId>), Operand> = HashMap::new();
    rewrite(trace, |trace, op, subst| {
        let Some(result) = op.result else { return true };
        let eligible = match op.opcode.kind() {
            OpKind::Pure | OpKind::GuardedPure => true,
            OpKind::Load => {
                read_only
                    || op.opcode == Opcode::GetField
                        && matches!(op.descr.map(|d| trace.descr(d)), Some(Descr::Field(f)) if f.immutable)
            }
            OpKind::Call => matches!(trace.call_descr(op), Some(c)
                if !c.effects.can_raise
                    && (c.effects.kind == EffectKind::Pure
                        || read_only && c.effects.kind == EffectKind::ReadsHeap)),
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
    fn heap_reads_merge_in_a_trace_that_writes_nothing() {
        check(
            super::run,
            "trace t
             descr d0 = call lookup 0x10 (ref, int) -> ref reads
             descr d1 = field A.x 8 int 8
             descr d2 = array A.items len=0 items=8 int 8
             descr d3 = call check 0x20 (ref) -> int reads raise
             label r0=s0:1, i1=s1:0
             r2 = call d0, r0, 4
             i3 = getfield r2, d1
             r4 = call d0, r0, 4
             i5 = getfield r4, d1
             i6 = getarrayitem r0, i1, d2
             i7 = getarrayitem r0, i1, d2
             i8 = call d3, r0
             i9 = call d3, r0
             i10 = int_add i3, i5
             i11 = int_add i6, i7
             i12 = int_add i8, i9
             i13 = int_add i10, i11
             i14 = int_add i12, i13
             guard_true i14 [@0]
             jump r0, i14",
            "trace t
             descr d0 = call lookup 0x10 (ref, int) -> ref reads
             descr d1 = field A.x 8 int 8
             descr d2 = array A.items len=0 items=8 int 8
             descr d3 = call check 0x20 (ref) -> int reads raise
             label r0=s0:1, i1=s1:0
             r2 = call d0, r0, 4
             i3 = getfield r2, d1
             i6 = getarrayitem r0, i1, d2
             i8 = call d3, r0
             i9 = call d3, r0
             i10 = int_add i3, i3
             i11 = int_add i6, i6
             i12 = int_add i8, i9
             i13 = int_add i10, i11
             i14 = int_add i12, i13
             guard_true i14 [@0]
             jump r0, i14",
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
