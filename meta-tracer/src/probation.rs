//! Probation: a new trace runs in the IR interpreter before it is compiled.
//!
//! A compiled trace pays for itself through the iterations it runs per
//! entry: entering it and resuming the interpreter from its exit cost a
//! fixed amount, and compiling it costs about as much as interpreting
//! tens of thousands of instructions (Cranelift: 0.1–1 ms a trace). A loop
//! whose activations are short (fannkuch's flips, a `while` that usually
//! exits on its first test, a depth-first walk that leaves at once) never
//! repays either. Without side traces, the trace of such a loop is built,
//! compiled, entered a few dozen times and discarded, and the program runs
//! slower than without a JIT.
//!
//! The iterations per entry can only be known by running the trace: the
//! interpreter sees back-edges, not loop entries, so it cannot tell one
//! long activation from many short ones. So a new trace is first installed
//! on *probation*, run by [`IrInterpreter`] (no code generation), and only
//! compiled to machine code once it has shown that it runs long: after at
//! most `probation_entries` entries it must have run
//! `probation_iterations` iterations in all (an average of
//! `probation_iterations / probation_entries` per entry); otherwise it is
//! discarded like any trace that does not pay off. The alternatives
//! weighed:
//!
//! * *Judging after compilation* (what the driver also does, over windows
//!   of entries) catches the same loops, but only after the compilation
//!   has been paid.
//! * *Sampling trip counts in the interpreter* needs loop entries, which a
//!   merge point at the back-edge does not see; inferring them from the
//!   order of merge points breaks down once the surrounding loops are
//!   given up and no longer report.
//! * *Side traces* would make short loops pay by continuing in compiled
//!   code past the exit; they are the real remedy and need more machinery
//!   (exit stubs that can be re-targeted, bridge recording). Probation
//!   remains useful with them: it keeps compilation for loops that run.
//!
//! The IR interpreter is slower than the interpreter whose operations it
//! replays, so a long loop must not spend long on probation: the trace
//! run on probation carries a *budget*, a word in memory that each
//! iteration decrements before its jump, guarded to stay positive. When
//! the budget runs out, that guard exits to the loop header with the
//! values the jump would have carried (its snapshot lists every input's
//! slot with the jump's operand), and the driver compiles the trace: the
//! next entry runs machine code. The budget ops are ordinary IR (a
//! `getfield`/`setfield` of a word the driver owns, a compare, a guard),
//! so any backend that can run the trace can run its probation form.
//!
//! [`IrInterpreter`]: crate::backend::IrInterpreter

use crate::ir::*;
use std::cell::Cell;

/// The probation form of a trace: the trace with a budget check before
/// its jump, and the budget word it decrements.
pub struct BudgetedTrace {
    /// The trace with the budget check; its snapshots are the original
    /// trace's plus one, [`BudgetedTrace::header_exit`].
    pub trace: Trace,
    /// Snapshot index of the exit taken when the budget runs out (resume
    /// at the loop header).
    pub header_exit: usize,
    /// The budget: iterations the next entry may run (at least 1). Boxed
    /// so its address, embedded in the trace, stays put.
    budget: Box<Cell<u64>>,
}

impl BudgetedTrace {
    /// The probation form of `trace` (a loop ending in `jump`) whose loop
    /// header is green number `header` of its location table. None if the
    /// trace does not end in a jump or is peeled.
    pub fn new(trace: &Trace, header: u32) -> Option<BudgetedTrace> {
        let (jump, body) = trace.ops.split_last()?;
        if jump.opcode != Opcode::Jump || jump.args.len() != trace.inputs.len() {
            return None;
        }
        // A peeled trace's jump carries its loop's parameters, not the
        // inputs' values (the driver peels only after probation).
        if trace.label_index().is_some() {
            return None;
        }
        let budget = Box::new(Cell::new(1));
        let addr = budget.as_ptr() as usize;
        let mut t = trace.clone();
        t.ops = body.to_vec();
        let word = t.add_descr(Descr::Field(FieldDescr {
            name: "probation.budget".into(),
            offset: 0,
            ty: Type::Int,
            size: 8,
            immutable: false,
        }));
        let loc = jump.loc;
        let push = |t: &mut Trace, opcode, ty: Option<Type>, args, descr| {
            let result = ty.map(|ty| t.new_value(ty));
            t.ops.push(Op {
                opcode,
                result,
                args,
                descr,
                snapshot: None,
                loc,
                params: Vec::new(),
            });
            result.map(Operand::Val)
        };
        let left = push(
            &mut t,
            Opcode::GetField,
            Some(Type::Int),
            vec![Operand::Ref(addr)],
            Some(word),
        )?;
        let now = push(
            &mut t,
            Opcode::IntSub,
            Some(Type::Int),
            vec![left, Operand::Int(1)],
            None,
        )?;
        push(
            &mut t,
            Opcode::SetField,
            None,
            vec![Operand::Ref(addr), now],
            Some(word),
        );
        let more = push(
            &mut t,
            Opcode::IntGt,
            Some(Type::Int),
            vec![now, Operand::Int(0)],
            None,
        )?;
        t.snapshots.push(Snapshot {
            green: header,
            slots: trace
                .inputs
                .iter()
                .zip(&jump.args)
                .map(|(inp, &value)| SlotValue {
                    slot: inp.slot,
                    tag: inp.tag,
                    value: ResumeValue::Op(value),
                })
                .collect(),
            virtuals: Vec::new(),
        });
        let header_exit = t.snapshots.len() - 1;
        push(&mut t, Opcode::GuardTrue, None, vec![more], None);
        if let Some(guard) = t.ops.last_mut() {
            guard.snapshot = Some(SnapshotId(header_exit as u32));
        }
        t.ops.push(jump.clone());
        Some(BudgetedTrace {
            trace: t,
            header_exit,
            budget,
        })
    }

    /// Sets the iterations the next entry may run (at least 1).
    pub fn set_budget(&self, iterations: u64) {
        self.budget.set(iterations.max(1));
    }

    /// The iterations the last entry left unused: with
    /// [`BudgetedTrace::set_budget`] before the entry, the difference is
    /// what it ran (an iteration counts once it reaches the jump).
    pub fn budget(&self) -> u64 {
        self.budget.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Backend, CompileOptions, ExecCtx, IrInterpreter};
    use crate::ir_parse::parse_trace;

    const LOOP: &str = "label i0=s0:3, i1=s1:3\n\
                        i2 = int_add i0, 1\n\
                        i3 = int_lt i2, i1\n\
                        guard_true i3 [@0 s0:3=i0]\n\
                        jump i2, i1\n";

    #[test]
    fn budget_check_sits_before_the_jump_and_exits_to_the_header() {
        let t = parse_trace(LOOP).unwrap();
        let b = BudgetedTrace::new(&t, 0).unwrap();
        b.trace.verify().unwrap();
        let text = b.trace.to_text();
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        assert!(tail[0].starts_with("jump i2, i1"), "{text}");
        assert!(tail[1].starts_with("guard_true"), "{text}");
        assert!(tail[1].contains("s0:3=i2 s1:3=i1"), "{text}");
        assert!(tail[2].contains("int_gt"), "{text}");
        assert!(tail[3].starts_with("setfield"), "{text}");
        assert!(tail[4].contains("int_sub"), "{text}");
        assert_eq!(b.header_exit, t.snapshots.len());
    }

    #[test]
    fn peeled_traces_have_no_probation_form() {
        // The jump of a peeled trace passes the loop's parameters: here as
        // many as there are inputs, but not the inputs' values.
        let peeled = "label i0=s0:3, i1=s1:3\n\
                      i2 = int_add i0, 1\n\
                      label i3=i2, i4=i1\n\
                      i5 = int_add i3, i4\n\
                      jump i5, i4\n";
        let t = parse_trace(peeled).unwrap();
        t.verify().unwrap();
        assert!(BudgetedTrace::new(&t, 0).is_none());
    }

    #[test]
    fn the_budget_limits_the_iterations_of_one_entry() {
        let t = parse_trace(LOOP).unwrap();
        let b = BudgetedTrace::new(&t, 0).unwrap();
        let code = IrInterpreter
            .compile(&b.trace, &CompileOptions::default())
            .unwrap();
        let mut buf = vec![0u64; code.buffer_len()];
        // Budget runs out first: exit at the header after 5 iterations,
        // with the values the jump would carry.
        (buf[0], buf[1]) = (0, 100);
        b.set_budget(5);
        // SAFETY: the trace only touches its own budget word.
        let sid = unsafe { code.run(&mut buf, &mut ExecCtx::default()) } as usize;
        assert_eq!(
            (sid, b.budget(), &buf[..2]),
            (b.header_exit, 0, &[5, 100][..])
        );
        // The loop ends first: its own guard exits, budget left over.
        (buf[0], buf[1]) = (0, 3);
        b.set_budget(10);
        // SAFETY: as above.
        let sid = unsafe { code.run(&mut buf, &mut ExecCtx::default()) } as usize;
        assert_eq!((sid, 10 - b.budget(), buf[0]), (0, 2, 2));
    }
}
