//! Recording: turning one iteration of the interpreter into a trace.
//!
//! The interpreter is written once, as a step function generic over a
//! [`Tracer`]. Monomorphized with [`Plain`], every tracer call is an empty
//! inline function on zero-sized values, so the interpreter pays nothing for
//! being traceable; monomorphized with [`Recorder`], the same code records
//! each operation it performs on red values into the trace IR while still
//! computing the concrete result itself. This is the hand-written
//! equivalent of what RPython's translator does for the meta-interpreter
//! (jitcodes): we cannot rewrite Rust code, so the interpreter writer says
//! what each operation means, once, next to the code that performs it.
//!
//! The recorder keeps a *shadow frame*: for every red slot the interpreter
//! has touched, the IR operand that currently holds its value. A slot read
//! for the first time becomes a trace input (a label parameter loaded at
//! entry, with the type tag the interpreter saw). Writes update the shadow.
//! Each interpreter instruction starts with [`Tracer::at`], which records
//! the green location; guards emitted during that instruction carry a
//! snapshot of the shadow frame *as it was at the start of the
//! instruction*, so a failing guard resumes the interpreter at the start of
//! the instruction, which then runs again from a consistent state (as
//! LuaJIT's snapshots do). Interpreters must therefore perform an
//! instruction's guards before its side effects on the heap.
//!
//! When the interpreter comes back to the merge point where recording
//! started, the loop is closed: every slot written in the trace becomes a
//! loop-carried input, snapshots are completed with those inputs (a guard
//! in iteration two must write back values computed in iteration one), and
//! a `jump` carries the current values back to the label. Recording stops
//! with a named [`AbortReason`] when the trace grows past its length limit,
//! the loop is not type-stable, or the interpreter meets something it
//! cannot record.

use crate::ir::*;
use crate::warmup::FxBuild;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

/// Why a recording was abandoned. Every abort has a name (as in LuaJIT's
/// `lj_traceerr.h`), counted in the statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AbortReason {
    /// The trace grew past `trace_limit` operations.
    TraceTooLong,
    /// The interpreter met an operation it cannot record.
    NotRecordable,
    /// The loop's slots have different type tags at its end than at its
    /// start.
    TypeUnstable,
    /// The interpreter left the frame the trace started in (return, error).
    LeftFrame,
    /// A guest error was raised while recording.
    GuestError,
    /// The program ended while recording.
    ProgramEnded,
    /// The backend could not compile the trace.
    CompileFailed,
    /// The optimizer proved a guard always fails: the trace could never
    /// complete an iteration.
    AlwaysFails,
    /// The loop was about to end: too few iterations left for compiled
    /// code to pay for entering it (the interpreter's judgement, e.g. a
    /// counted loop's remaining trip count).
    ShortLoop,
    /// Calls recorded inline (followed into the callee) nested deeper than
    /// the interpreter allows, e.g. a recursive function.
    CallTooDeep,
    /// The loop ended while it was recorded (its exit test, a `break` or
    /// a `return` was taken): the recording sampled the loop's last
    /// iteration, which says nothing about its body. The driver asks for
    /// another recording at the loop's next pass, without the back-off
    /// of other aborts.
    LeftLoop,
}

impl AbortReason {
    /// All reasons, in display order.
    pub const ALL: &'static [AbortReason] = &[
        AbortReason::TraceTooLong,
        AbortReason::NotRecordable,
        AbortReason::TypeUnstable,
        AbortReason::LeftFrame,
        AbortReason::GuestError,
        AbortReason::ProgramEnded,
        AbortReason::CompileFailed,
        AbortReason::AlwaysFails,
        AbortReason::ShortLoop,
        AbortReason::CallTooDeep,
        AbortReason::LeftLoop,
    ];
    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            AbortReason::TraceTooLong => "trace too long",
            AbortReason::NotRecordable => "operation not recordable",
            AbortReason::TypeUnstable => "type-unstable loop",
            AbortReason::LeftFrame => "left the loop's frame",
            AbortReason::GuestError => "guest error while recording",
            AbortReason::ProgramEnded => "program ended while recording",
            AbortReason::CompileFailed => "compilation failed",
            AbortReason::AlwaysFails => "guard always fails",
            AbortReason::ShortLoop => "too few iterations left",
            AbortReason::CallTooDeep => "inlined calls nested too deep",
            AbortReason::LeftLoop => "the loop ended while recorded",
        }
    }
}

impl fmt::Display for AbortReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the interpreter's step function calls to describe what it does to
/// red values. Implemented by [`Plain`] (records nothing, costs nothing)
/// and [`Recorder`].
///
/// `V` is the traced shadow of a value: `()` when running plainly, an IR
/// operand when recording. The interpreter always computes concrete values
/// itself; the tracer only hears about them.
pub trait Tracer<G> {
    /// The shadow of a value.
    type V: Copy + fmt::Debug;
    /// True when recording (lets the interpreter skip work that only feeds
    /// the recorder; the compiler removes the dead branch in plain mode).
    const RECORDING: bool;

    /// Start of an interpreter instruction at green location `green`: a
    /// failing guard in this instruction resumes here.
    fn at(&mut self, green: G);
    /// Reads red slot `slot`, whose current value has language type `tag`
    /// (machine type `ty`).
    fn read(&mut self, slot: u32, tag: u8, ty: Type) -> Self::V;
    /// Writes red slot `slot` with a value of language type `tag`.
    fn write(&mut self, slot: u32, tag: u8, v: Self::V);
    /// An integer constant.
    fn const_int(&mut self, i: i64) -> Self::V;
    /// A float constant.
    fn const_float(&mut self, f: f64) -> Self::V;
    /// A reference constant (a green heap object).
    fn const_ref(&mut self, addr: usize) -> Self::V;
    /// A pure or guarded operation without descriptor (`int_add`,
    /// `int_add_ovf`, `float_lt`, ...). For `_ovf` operations the
    /// interpreter must only call this when the concrete operation did not
    /// overflow (the recorded guard fails exactly when it would).
    fn op(&mut self, opcode: Opcode, args: &[Self::V]) -> Self::V;
    /// A heap operation (`getfield`, `setfield`, `getarrayitem`,
    /// `setarrayitem`, `arraylen`) with its descriptor.
    fn heap(&mut self, opcode: Opcode, descr: Descr, args: &[Self::V]) -> Self::V;
    /// A call to an `extern "C"` helper; its descriptor gives the effects
    /// (pure = elidable, reads/writes heap = residual, io = must run
    /// inevitably under STM).
    fn call(&mut self, descr: CallDescr, args: &[Self::V]) -> Self::V;
    /// Records that the interpreter took the branch where `cond` (an int
    /// 0/1) was `taken`: emits `guard_true` or `guard_false`.
    fn branch(&mut self, cond: Self::V, taken: bool);
    /// Guards that `v` (an int or reference) equals the concrete `bits` and
    /// returns it as a constant: RPython's `promote`.
    fn promote(&mut self, v: Self::V, ty: Type, bits: u64) -> Self::V;
    /// Guards that the reference `v` is not null.
    fn guard_nonnull(&mut self, v: Self::V);
    /// Guards that the field `class_field` of `v` equals `class`.
    fn guard_class(&mut self, v: Self::V, class_field: FieldDescr, class: i64);
    /// The interpreter met something it cannot record: the recording is
    /// abandoned at the next merge point.
    fn abort(&mut self, reason: AbortReason);
}

/// The tracer for plain interpretation: does nothing, at no cost.
#[derive(Debug, Default, Clone, Copy)]
pub struct Plain;

impl<G> Tracer<G> for Plain {
    type V = ();
    const RECORDING: bool = false;
    #[inline(always)]
    fn at(&mut self, _: G) {}
    #[inline(always)]
    fn read(&mut self, _: u32, _: u8, _: Type) {}
    #[inline(always)]
    fn write(&mut self, _: u32, _: u8, _: ()) {}
    #[inline(always)]
    fn const_int(&mut self, _: i64) {}
    #[inline(always)]
    fn const_float(&mut self, _: f64) {}
    #[inline(always)]
    fn const_ref(&mut self, _: usize) {}
    #[inline(always)]
    fn op(&mut self, _: Opcode, _: &[()]) {}
    #[inline(always)]
    fn heap(&mut self, _: Opcode, _: Descr, _: &[()]) {}
    #[inline(always)]
    fn call(&mut self, _: CallDescr, _: &[()]) {}
    #[inline(always)]
    fn branch(&mut self, _: (), _: bool) {}
    #[inline(always)]
    fn promote(&mut self, _: (), _: Type, _: u64) {}
    #[inline(always)]
    fn guard_nonnull(&mut self, _: ()) {}
    #[inline(always)]
    fn guard_class(&mut self, _: (), _: FieldDescr, _: i64) {}
    #[inline(always)]
    fn abort(&mut self, _: AbortReason) {}
}

#[derive(Clone, Copy, Debug)]
struct ShadowSlot {
    value: Operand,
    tag: u8,
    written: bool,
}

/// Records a trace. Created by the driver when a loop becomes hot; the
/// interpreter runs its recording-mode step function with it until the
/// driver closes or aborts it.
pub struct Recorder<G> {
    pub(crate) start: G,
    pub(crate) trace: Trace,
    pub(crate) greens: Vec<G>,
    green_ids: HashMap<G, u32, FxBuild>,
    shadow: HashMap<u32, ShadowSlot, FxBuild>,
    /// Slot values as they were at the start of the current instruction
    /// (for slots written during it).
    undo: Vec<(u32, Option<ShadowSlot>)>,
    current: u32,
    limit: usize,
    pub(crate) aborted: Option<AbortReason>,
    /// Bumped whenever the written slots as of the current instruction's
    /// start may have changed (a write, `forget`, an instruction boundary
    /// after writes).
    generation: u64,
    /// The last snapshot taken, with the generation and instruction it was
    /// taken at: a guard with nothing written since shares it.
    last_snapshot: Option<(u64, u32, SnapshotId)>,
}

impl<G: Copy + Eq + Hash> Recorder<G> {
    /// A recorder for a loop starting at `start`, with a length limit.
    pub fn new(start: G, name: String, limit: usize) -> Recorder<G> {
        let mut r = Recorder {
            start,
            trace: Trace::new(name),
            greens: Vec::new(),
            green_ids: HashMap::default(),
            shadow: HashMap::default(),
            undo: Vec::new(),
            current: 0,
            limit,
            aborted: None,
            generation: 0,
            last_snapshot: None,
        };
        r.current = r.green_id(start);
        r
    }

    /// The location of the instruction being recorded (None before the
    /// first one): where an abort happened.
    pub fn current(&self) -> Option<G> {
        self.greens.get(self.current as usize).copied()
    }

    /// The location the recording started at (the loop header).
    pub fn start(&self) -> G {
        self.start
    }

    /// The reason the recording is being abandoned, if any.
    pub fn aborted(&self) -> Option<AbortReason> {
        self.aborted
    }

    /// The trace recorded so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// Forgets red slots `from..to`, which the interpreter knows to be dead
    /// (the registers of a callee recorded inline, once it has returned;
    /// temporaries at the loop header): they are no longer carried around
    /// the loop nor written back by later exits. Guards later in the
    /// current instruction still resume with the values these slots had
    /// when it started. Slots the trace reads on entry are kept: such a
    /// slot is live at the loop header, whatever the interpreter says.
    pub fn forget(&mut self, from: u32, to: u32) {
        let inputs: Vec<u32> = self.trace.inputs.iter().map(|i| i.slot).collect();
        self.shadow
            .retain(|&slot, _| slot < from || slot >= to || inputs.contains(&slot));
        self.generation += 1;
    }

    fn green_id(&mut self, g: G) -> u32 {
        if let Some(&id) = self.green_ids.get(&g) {
            return id;
        }
        let id = self.greens.len() as u32;
        self.greens.push(g);
        self.green_ids.insert(g, id);
        id
    }

    fn emit(&mut self, opcode: Opcode, descr: Option<DescrId>, args: Vec<Operand>) -> Operand {
        if self.aborted.is_some() {
            return Operand::Int(0);
        }
        if self.trace.ops.len() >= self.limit {
            self.aborted = Some(AbortReason::TraceTooLong);
            return Operand::Int(0);
        }
        let ty = self.trace.result_type(opcode, descr, &args);
        let result = if ty == Type::Void {
            None
        } else {
            Some(self.trace.new_value(ty))
        };
        let snapshot = if opcode.is_guard() {
            Some(self.snapshot())
        } else {
            None
        };
        self.trace.ops.push(Op {
            opcode,
            result,
            args,
            descr,
            snapshot,
            loc: Some(GreenId(self.current)),
            params: Vec::new(),
        });
        match result {
            Some(v) => Operand::Val(v),
            None => Operand::Int(0),
        }
    }

    /// The shadow frame as of the start of the current instruction.
    /// Guards of one instruction with nothing written in between share
    /// one snapshot, as LuaJIT's do: fewer snapshots to build, optimize
    /// and store, and one exit block for all of them. (Guards of different
    /// instructions resume at different places, so never share.)
    fn snapshot(&mut self) -> SnapshotId {
        if let Some((generation, green, id)) = self.last_snapshot {
            if generation == self.generation && green == self.current {
                return id;
            }
        }
        let id = self.build_snapshot();
        self.last_snapshot = Some((self.generation, self.current, id));
        id
    }

    fn build_snapshot(&mut self) -> SnapshotId {
        // Each written slot's value at the start of the current
        // instruction: its undo entry if the instruction wrote it (one per
        // slot), else its shadow value; slots forgotten during the
        // instruction come back from their undo entries.
        let undone = |slot: u32| {
            self.undo
                .iter()
                .find(|(u, _)| *u == slot)
                .map(|(_, old)| *old)
        };
        let mut slots: Vec<SlotValue> = self
            .shadow
            .iter()
            .filter_map(|(&slot, s)| undone(slot).unwrap_or(Some(*s)).map(|s| (slot, s)))
            .chain(
                self.undo
                    .iter()
                    .filter(|(slot, _)| !self.shadow.contains_key(slot))
                    .filter_map(|(slot, old)| old.map(|s| (*slot, s))),
            )
            .filter(|(_, s)| s.written)
            .map(|(slot, s)| SlotValue {
                slot,
                tag: s.tag,
                value: ResumeValue::Op(s.value),
            })
            .collect();
        slots.sort_by_key(|s| s.slot);
        self.trace.snapshots.push(Snapshot {
            green: self.current,
            slots,
            virtuals: Vec::new(),
        });
        SnapshotId(self.trace.snapshots.len() as u32 - 1)
    }

    /// Closes the loop: called by the driver when the interpreter is back
    /// at the start location. Returns the finished trace and the green
    /// table its snapshots refer to.
    pub(crate) fn close(mut self) -> Result<(Trace, Vec<G>), AbortReason> {
        if let Some(r) = self.aborted {
            return Err(r);
        }
        // The loop header is an instruction boundary: the undo log is empty.
        self.undo.clear();
        // Every written slot is carried around the loop.
        let mut written: Vec<(u32, ShadowSlot)> = self
            .shadow
            .iter()
            .filter(|(_, s)| s.written)
            .map(|(k, s)| (*k, *s))
            .collect();
        written.sort_by_key(|(k, _)| *k);
        for (slot, s) in &written {
            match self.trace.inputs.iter().find(|i| i.slot == *slot) {
                Some(inp) => {
                    if inp.tag != s.tag {
                        return Err(AbortReason::TypeUnstable);
                    }
                }
                None => {
                    let ty = self.trace.operand_type(s.value);
                    let value = self.trace.new_value(ty);
                    self.trace.inputs.push(Input {
                        value,
                        slot: *slot,
                        tag: s.tag,
                        ty,
                    });
                }
            }
        }
        // Complete snapshots: a carried slot not yet written in this
        // iteration holds the label parameter's value.
        let carried: Vec<Input> = self
            .trace
            .inputs
            .iter()
            .filter(|i| written.iter().any(|(k, _)| *k == i.slot))
            .copied()
            .collect();
        for snap in &mut self.trace.snapshots {
            for inp in &carried {
                if !snap.slots.iter().any(|s| s.slot == inp.slot) {
                    snap.slots.push(SlotValue {
                        slot: inp.slot,
                        tag: inp.tag,
                        value: ResumeValue::Op(Operand::Val(inp.value)),
                    });
                }
            }
            snap.slots.sort_by_key(|s| s.slot);
        }
        let args: Vec<Operand> = self
            .trace
            .inputs
            .iter()
            .map(|i| {
                self.shadow
                    .get(&i.slot)
                    .map(|s| s.value)
                    .unwrap_or(Operand::Val(i.value))
            })
            .collect();
        for (a, i) in args.iter().zip(&self.trace.inputs) {
            if self.trace.operand_type(*a) != i.ty {
                return Err(AbortReason::TypeUnstable);
            }
        }
        self.trace.ops.push(Op {
            opcode: Opcode::Jump,
            result: None,
            args,
            descr: None,
            snapshot: None,
            loc: Some(GreenId(self.current)),
            params: Vec::new(),
        });
        if let Err(e) = self.trace.verify() {
            debug_assert!(false, "recorder produced an invalid trace: {e}");
            return Err(AbortReason::NotRecordable);
        }
        Ok((self.trace, self.greens))
    }
}

impl<G: Copy + Eq + Hash> Tracer<G> for Recorder<G> {
    type V = Operand;
    const RECORDING: bool = true;

    fn at(&mut self, green: G) {
        self.current = self.green_id(green);
        if !self.undo.is_empty() {
            // The previous instruction's writes now belong to the state
            // at an instruction start.
            self.generation += 1;
            self.undo.clear();
        }
    }

    fn read(&mut self, slot: u32, tag: u8, ty: Type) -> Operand {
        if let Some(s) = self.shadow.get(&slot) {
            if s.tag != tag || self.trace.operand_type(s.value) != ty {
                // The interpreter's view and the recorder's disagree: the
                // interpreter wrote the slot without telling us.
                self.aborted.get_or_insert(AbortReason::NotRecordable);
            }
            return s.value;
        }
        let value = self.trace.new_value(ty);
        self.trace.inputs.push(Input {
            value,
            slot,
            tag,
            ty,
        });
        let s = ShadowSlot {
            value: Operand::Val(value),
            tag,
            written: false,
        };
        self.shadow.insert(slot, s);
        Operand::Val(value)
    }

    fn write(&mut self, slot: u32, tag: u8, v: Operand) {
        if !self.undo.iter().any(|(s, _)| *s == slot) {
            self.undo.push((slot, self.shadow.get(&slot).copied()));
        }
        self.generation += 1;
        self.shadow.insert(
            slot,
            ShadowSlot {
                value: v,
                tag,
                written: true,
            },
        );
    }

    fn const_int(&mut self, i: i64) -> Operand {
        Operand::Int(i)
    }
    fn const_float(&mut self, f: f64) -> Operand {
        Operand::float(f)
    }
    fn const_ref(&mut self, addr: usize) -> Operand {
        Operand::Ref(addr)
    }

    fn op(&mut self, opcode: Opcode, args: &[Operand]) -> Operand {
        if !matches!(opcode.kind(), OpKind::Pure | OpKind::GuardedPure) || opcode == Opcode::SameAs
        {
            self.aborted.get_or_insert(AbortReason::NotRecordable);
            return Operand::Int(0);
        }
        self.emit(opcode, None, args.to_vec())
    }

    fn heap(&mut self, opcode: Opcode, descr: Descr, args: &[Operand]) -> Operand {
        if !matches!(opcode.kind(), OpKind::Load | OpKind::Store) {
            self.aborted.get_or_insert(AbortReason::NotRecordable);
            return Operand::Int(0);
        }
        let d = self.trace.add_descr(descr);
        self.emit(opcode, Some(d), args.to_vec())
    }

    fn call(&mut self, descr: CallDescr, args: &[Operand]) -> Operand {
        let d = self.trace.add_descr(Descr::Call(descr));
        self.emit(Opcode::Call, Some(d), args.to_vec())
    }

    fn branch(&mut self, cond: Operand, taken: bool) {
        let opcode = if taken {
            Opcode::GuardTrue
        } else {
            Opcode::GuardFalse
        };
        self.emit(opcode, None, vec![cond]);
    }

    fn promote(&mut self, v: Operand, ty: Type, bits: u64) -> Operand {
        if v.is_const() {
            return v;
        }
        let c = match ty {
            Type::Int => Operand::Int(bits as i64),
            Type::Float => Operand::Float(bits),
            _ => Operand::Ref(bits as usize),
        };
        self.emit(Opcode::GuardValue, None, vec![v, c]);
        c
    }

    fn guard_nonnull(&mut self, v: Operand) {
        self.emit(Opcode::GuardNonNull, None, vec![v]);
    }

    fn guard_class(&mut self, v: Operand, class_field: FieldDescr, class: i64) {
        let d = self.trace.add_descr(Descr::Field(class_field));
        self.emit(Opcode::GuardClass, Some(d), vec![v, Operand::Int(class)]);
    }

    fn abort(&mut self, reason: AbortReason) {
        self.aborted.get_or_insert(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records `x = x + y; if x < 100 ...` by hand, as an interpreter would.
    #[test]
    fn records_a_loop_with_carried_slots_and_snapshots() {
        let mut r = Recorder::new(0u32, "t".into(), 100);
        r.at(0);
        let x = r.read(0, 0, Type::Int);
        let y = r.read(1, 0, Type::Int);
        let s = r.op(Opcode::IntAdd, &[x, y]);
        r.write(0, 0, s);
        r.at(1);
        let c = r.op(Opcode::IntLt, &[s, Operand::Int(100)]);
        r.branch(c, true);
        r.at(2);
        r.write(2, 0, s); // a slot written but never read: carried
        let (t, greens) = r.close().unwrap();
        assert_eq!(greens, vec![0, 1, 2]);
        assert_eq!(
            t.to_text(),
            "trace t\nlabel i0=s0:0, i1=s1:0, i4=s2:0\n; @0\ni2 = int_add i0, i1\n; @1\ni3 = int_lt i2, 100\nguard_true i3 [@1 s0:0=i2 s2:0=i4]\n; @2\njump i2, i1, i2\n"
        );
    }

    #[test]
    fn guards_with_nothing_written_between_share_a_snapshot() {
        let mut r = Recorder::new(0u32, "t".into(), 100);
        r.at(0);
        let x = r.read(0, 0, Type::Int);
        let one = r.op(Opcode::IntAdd, &[x, Operand::Int(1)]);
        r.write(0, 0, one);
        r.at(1);
        // Two guards of one instruction: one snapshot.
        let c1 = r.op(Opcode::IntLt, &[one, Operand::Int(100)]);
        r.branch(c1, true);
        let c2 = r.op(Opcode::IntGt, &[one, Operand::Int(-100)]);
        r.branch(c2, true);
        // A write, then a guard in the same instruction: it still resumes
        // at the instruction's start, with the same slots.
        r.write(1, 0, one);
        let c3 = r.op(Opcode::IntNe, &[one, Operand::Int(7)]);
        r.branch(c3, true);
        // The next instruction sees the write: a new snapshot.
        r.at(2);
        let c4 = r.op(Opcode::IntNe, &[one, Operand::Int(8)]);
        r.branch(c4, true);
        let (t, _) = r.close().unwrap();
        let snaps: Vec<u32> = t
            .ops
            .iter()
            .filter_map(|o| o.snapshot)
            .map(|s| s.0)
            .collect();
        assert_eq!(snaps, vec![0, 0, 1, 2], "{}", t.to_text());
        assert_eq!(t.snapshots.len(), 3);
        // The write to slot 1 in instruction @1 is not in its snapshots
        // (they hold the slot's entry value, a loop-carried input since the
        // loop writes it); the next instruction's is.
        let text = t.to_text();
        assert!(
            text.contains("guard_true i4 [@1 s0:0=i1 s1:0=i6]"),
            "{text}"
        );
        assert!(
            text.contains("guard_true i5 [@2 s0:0=i1 s1:0=i1]"),
            "{text}"
        );
    }

    #[test]
    fn guard_resumes_at_instruction_start() {
        let mut r = Recorder::new(0u32, "t".into(), 100);
        r.at(0);
        let x = r.read(0, 0, Type::Int);
        let y = r.op(Opcode::IntAdd, &[x, Operand::Int(1)]);
        r.write(0, 0, y);
        // A guard after the write, inside the same instruction, must not
        // see the write.
        let c = r.op(Opcode::IntLt, &[y, Operand::Int(10)]);
        r.branch(c, true);
        let (t, _) = r.close().unwrap();
        assert_eq!(
            t.snapshots[0].slots,
            vec![SlotValue {
                slot: 0,
                tag: 0,
                value: ResumeValue::Op(Operand::Val(Value(0)))
            }]
        );
    }

    #[test]
    fn type_unstable_loop_aborts() {
        let mut r = Recorder::new(0u32, "t".into(), 100);
        r.at(0);
        let _ = r.read(0, 0, Type::Int);
        let f = r.const_float(1.5);
        r.write(0, 1, f);
        assert_eq!(r.close().unwrap_err(), AbortReason::TypeUnstable);
    }

    #[test]
    fn trace_limit_aborts() {
        let mut r = Recorder::new(0u32, "t".into(), 3);
        r.at(0);
        let mut x = r.read(0, 0, Type::Int);
        for _ in 0..10 {
            x = r.op(Opcode::IntAdd, &[x, Operand::Int(1)]);
        }
        r.write(0, 0, x);
        assert_eq!(r.close().unwrap_err(), AbortReason::TraceTooLong);
    }
}
