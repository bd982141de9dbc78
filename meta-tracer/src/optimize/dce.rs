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
//!
//! In a peeled trace (see [`super::peel`]) the loop's parameters are
//! removed too when nothing in the loop needs them: the label's and the
//! jump's operands for a parameter count as uses only once the parameter
//! itself is used, found by repeating the sweep until the set of live
//! parameters stops growing. The trace's inputs are never removed: they
//! are the entry protocol.

use crate::ir::*;

fn removable(trace: &Trace, op: &Op) -> bool {
    match op.opcode.kind() {
        OpKind::Pure | OpKind::Load | OpKind::Alloc => true,
        OpKind::Call => {
            matches!(trace.call_descr(op), Some(c) if c.effects.kind <= EffectKind::ReadsHeap && !c.effects.can_raise)
        }
        _ => false,
    }
}

/// One backward sweep: which operations to keep, and which values they
/// use (indexed by value id). The label and the jump of a peeled trace use
/// only the operands of the loop parameters marked in `live_params`.
fn sweep(trace: &Trace, live_params: &[bool]) -> (Vec<bool>, Vec<bool>) {
    let peeled = !live_params.is_empty();
    let mut used = vec![false; trace.value_types.len()];
    let mut keep = vec![true; trace.ops.len()];
    let use_ = |used: &mut Vec<bool>, o: Operand| {
        if let Operand::Val(v) = o {
            if let Some(u) = used.get_mut(v.0 as usize) {
                *u = true;
            }
        }
    };
    for (i, op) in trace.ops.iter().enumerate().rev() {
        let dead = removable(trace, op)
            && op
                .result
                .is_none_or(|r| !used.get(r.0 as usize).copied().unwrap_or(false));
        if dead {
            keep[i] = false;
            continue;
        }
        let loop_edge = peeled && matches!(op.opcode, Opcode::Jump | Opcode::Label);
        for (k, a) in op.args.iter().enumerate() {
            if !loop_edge || live_params.get(k).copied().unwrap_or(true) {
                use_(&mut used, *a);
            }
        }
        if let Some(sid) = op.snapshot {
            for o in trace.snapshots[sid.0 as usize].operands() {
                use_(&mut used, o);
            }
        }
    }
    (keep, used)
}

/// Runs the pass.
pub fn run(trace: &mut Trace) {
    let label = trace.label_index();
    let params: Vec<Value> = label
        .map(|l| trace.ops[l].params.clone())
        .unwrap_or_default();
    // A loop parameter is live if the loop uses it; the jump's operand for
    // it is then a use. Starting from no live parameter and adding the
    // used ones until nothing changes finds the least solution, so a
    // parameter that only feeds its own next value (a dead induction
    // variable) goes too.
    let mut live_params = vec![false; params.len()];
    let keep = loop {
        let (keep, used) = sweep(trace, &live_params);
        let next: Vec<bool> = params
            .iter()
            .map(|p| used.get(p.0 as usize).copied().unwrap_or(false))
            .collect();
        if next == live_params {
            break keep;
        }
        live_params = next;
    };
    let mut k = keep.into_iter();
    trace.ops.retain(|_| k.next().unwrap_or(true));
    if live_params.iter().any(|l| !l) {
        for op in &mut trace.ops {
            if matches!(op.opcode, Opcode::Label | Opcode::Jump) {
                let mut live = live_params.iter();
                op.args.retain(|_| *live.next().unwrap_or(&true));
                if op.opcode == Opcode::Label {
                    let mut live = live_params.iter();
                    op.params.retain(|_| *live.next().unwrap_or(&true));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::check;

    #[test]
    fn unused_loop_parameters_go_with_what_feeds_them() {
        // `i6` only feeds its own next value, `i7` only a snapshot entry
        // of the preamble; `i5` is used by a guard.
        check(
            super::run,
            "trace t
             label i0=s0:0, i1=s1:0, i2=s2:0
             i3 = int_add i0, 1
             i4 = int_add i1, 2
             guard_true i3 [@0 s2:0=i2]
             label i5=i3, i6=i4, i7=i2
             i8 = int_add i5, 1
             i9 = int_add i6, 2
             guard_true i8 [@0]
             jump i8, i9, i7",
            "trace t
             label i0=s0:0, i1=s1:0, i2=s2:0
             i3 = int_add i0, 1
             guard_true i3 [@0 s2:0=i2]
             label i5=i3
             i8 = int_add i5, 1
             guard_true i8 [@0]
             jump i8",
        );
    }

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
