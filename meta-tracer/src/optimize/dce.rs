//! Dead-code elimination.
//!
//! One backward pass: an operation is live if it has an effect (stores,
//! guards, calls that are not pure or read-only, barriers, the jump) or if
//! its result is used by a live operation, by the resume data of a live
//! guard, or by the jump. Going backwards, every use of a value is seen
//! before its definition, so one pass suffices for straight-line code.
//! Resume data counts as a use: a value only needed to rebuild the
//! interpreter's state on a guard exit must still be computed (until
//! allocation removal learns to describe such values as virtual).

use crate::ir::*;
use std::collections::HashSet;

fn removable(trace: &Trace, op: &Op) -> bool {
    match op.opcode.kind() {
        OpKind::Pure | OpKind::Load | OpKind::Alloc => true,
        OpKind::Call => {
            matches!(trace.call_descr(op), Some(c) if c.effects.kind <= EffectKind::ReadsHeap && !c.effects.can_raise)
        }
        _ => false,
    }
}

/// Runs the pass.
pub fn run(trace: &mut Trace) {
    let mut used: HashSet<Value> = HashSet::new();
    let mut keep = vec![true; trace.ops.len()];
    for (i, op) in trace.ops.iter().enumerate().rev() {
        let dead = removable(trace, op) && op.result.is_none_or(|r| !used.contains(&r));
        if dead {
            keep[i] = false;
            continue;
        }
        used.extend(op.args.iter().filter_map(|a| a.value()));
        if let Some(sid) = op.snapshot {
            used.extend(
                trace.snapshots[sid.0 as usize]
                    .exit_operands()
                    .iter()
                    .filter_map(|a| a.value()),
            );
        }
    }
    let mut k = keep.into_iter();
    trace.ops.retain(|_| k.next().unwrap_or(true));
}

#[cfg(test)]
mod tests {
    use super::super::test_util::check;

    #[test]
    fn removes_unused_pure_ops_keeps_resume_uses() {
        check(
            super::run,
            "trace t
             descr d0 = field A.x 8 int 8
             descr d1 = call f 0x10 (int) -> int pure
             descr d2 = call g 0x20 (int) -> int writes
             label i0=s0:0, r1=s1:1
             i2 = int_add i0, 1
             i3 = int_mul i0, 3
             i4 = getfield r1, d0
             i5 = call d1, i0
             i6 = call d2, i0
             i7 = int_sub i0, 1
             i8 = int_gt i7, 0
             guard_true i8 [@0 s2:0=i2]
             jump i7, r1",
            "trace t
             descr d0 = field A.x 8 int 8
             descr d1 = call f 0x10 (int) -> int pure
             descr d2 = call g 0x20 (int) -> int writes
             label i0=s0:0, r1=s1:1
             i2 = int_add i0, 1
             i6 = call d2, i0
             i7 = int_sub i0, 1
             i8 = int_gt i7, 0
             guard_true i8 [@0 s2:0=i2]
             jump i7, r1",
        );
    }
}
