//! The trace IR: a linear, typed SSA form with guards that carry resume data.
//!
//! A trace is what the recorder saw the interpreter do during one iteration
//! of a hot loop, restricted to operations on *red* (changing) values; every
//! green (per-location constant) value has already been folded away by the
//! act of recording. The IR is deliberately small and flat, in the spirit of
//! LuaJIT's IR and RPython's resoperations:
//!
//! * **Values** are named by a [`Value`] id that never changes once assigned;
//!   passes delete and rewrite operations but never renumber, so a dump before
//!   and after a pass can be diffed line by line.
//! * **Operands** are either values or inline constants ([`Operand`]); there
//!   is no separate constant pool, which keeps folding a local rewrite.
//! * **Types** are machine-level ([`Type`]): 64-bit integers, 64-bit floats,
//!   and references (pointers into the guest heap). The *language* type of a
//!   red value (a Lua table, a flowgraph list) lives in the 8-bit `tag` of the
//!   slot it came from; the IR only needs to know how to move the bits.
//! * **Guards** are ordinary operations with a [`Snapshot`]: the green
//!   location at which the interpreter must resume and, for every red slot
//!   changed since the trace was entered, how to rebuild its value. Snapshot
//!   values may refer to *virtual* objects — objects the optimizer removed
//!   and that only exist if a guard fails — so allocation removal can be a
//!   later pass over this same IR.
//! * **Descriptors** ([`Descr`]) describe heap layout (fields, arrays,
//!   allocation sizes) and calls (address, signature, and [`Effects`]: pure,
//!   reads heap, writes heap, performs I/O, may raise). Passes reason about
//!   aliasing and purity from descriptors alone.
//! * STM barriers are explicit operations, so barrier placement is a pass and
//!   not a backend detail.
//! * A trace is a loop: the entry label (the [`Trace::inputs`]), a body, and
//!   a final `jump` back. Loop peeling ([`crate::optimize::peel`]) adds one
//!   inner `label` op, which defines the loop's parameters from values of
//!   the preamble before it; the `jump` then passes the next iteration's
//!   parameters to that label, and the preamble runs once per entry.
//!
//! The textual form (see [`Trace::to_text`] and [`crate::ir_parse`]) is one
//! operation a line, e.g. `i3 = int_add i1, i2` and
//! `guard_true i4 [@0 s1:0=i3 s2:0=i5]`; optimizer tests are written in it.

use std::fmt::{self, Write as _};

/// A descriptor's human-readable name. Usually a `&'static str`, so that
/// an interpreter running in plain mode builds descriptors it never uses
/// without allocating.
pub type Name = std::borrow::Cow<'static, str>;

/// A machine-level value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// 64-bit two's-complement integer (also booleans: 0 or 1).
    Int,
    /// IEEE 754 double.
    Float,
    /// Pointer into the guest heap (or 0 for null).
    Ref,
    /// No value (operations executed for their effect).
    Void,
}

impl Type {
    /// The letter used for values of this type in the textual IR.
    pub fn letter(self) -> char {
        match self {
            Type::Int => 'i',
            Type::Float => 'f',
            Type::Ref => 'r',
            Type::Void => 'v',
        }
    }
    /// The type's name in descriptors (`int`, `float`, `ref`, `void`).
    pub fn name(self) -> &'static str {
        match self {
            Type::Int => "int",
            Type::Float => "float",
            Type::Ref => "ref",
            Type::Void => "void",
        }
    }
    /// Parses a type name as printed by [`Type::name`].
    pub fn from_name(s: &str) -> Option<Type> {
        Some(match s {
            "int" => Type::Int,
            "float" => Type::Float,
            "ref" => Type::Ref,
            "void" => Type::Void,
            _ => return None,
        })
    }
}

/// An SSA value: the result of an operation or a trace input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Value(pub u32);

/// An operand: a value or an inline constant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// The result of an earlier operation or an input.
    Val(Value),
    /// An integer constant.
    Int(i64),
    /// A float constant, stored as its bits so operands can be hashed.
    Float(u64),
    /// A reference constant (an address; 0 is null).
    Ref(usize),
}

impl Operand {
    /// A float constant.
    pub fn float(f: f64) -> Operand {
        Operand::Float(f.to_bits())
    }
    /// The value, if this operand is not a constant.
    pub fn value(self) -> Option<Value> {
        match self {
            Operand::Val(v) => Some(v),
            _ => None,
        }
    }
    /// The integer constant, if this operand is one.
    pub fn as_int(self) -> Option<i64> {
        match self {
            Operand::Int(i) => Some(i),
            _ => None,
        }
    }
    /// The float constant, if this operand is one.
    pub fn as_float(self) -> Option<f64> {
        match self {
            Operand::Float(b) => Some(f64::from_bits(b)),
            _ => None,
        }
    }
    /// True for every constant operand.
    pub fn is_const(self) -> bool {
        !matches!(self, Operand::Val(_))
    }
    /// The raw 64-bit pattern of a constant (None for values).
    pub fn const_bits(self) -> Option<u64> {
        match self {
            Operand::Val(_) => None,
            Operand::Int(i) => Some(i as u64),
            Operand::Float(b) => Some(b),
            Operand::Ref(a) => Some(a as u64),
        }
    }
}

impl From<Value> for Operand {
    fn from(v: Value) -> Self {
        Operand::Val(v)
    }
}

/// Index of a descriptor in [`Trace::descrs`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DescrId(pub u32);

/// Index of a snapshot in [`Trace::snapshots`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SnapshotId(pub u32);

/// Index of a green location in the trace's location table (the driver maps
/// it back to the interpreter's green key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GreenId(pub u32);

/// What a call may do; passes use this to decide what they may move,
/// merge or delete, and the STM layer to decide when to become inevitable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EffectKind {
    /// No side effects, result depends only on the arguments (elidable):
    /// may be constant-folded, CSE'd and deleted when unused.
    Pure,
    /// Reads the heap but writes nothing: may be deleted when unused.
    ReadsHeap,
    /// Writes the heap: invalidates heap knowledge.
    WritesHeap,
    /// Performs I/O or another irreversible action: the STM transaction must
    /// become inevitable before it.
    Io,
}

impl EffectKind {
    fn name(self) -> &'static str {
        match self {
            EffectKind::Pure => "pure",
            EffectKind::ReadsHeap => "reads",
            EffectKind::WritesHeap => "writes",
            EffectKind::Io => "io",
        }
    }
}

/// A call's effects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Effects {
    /// What the callee does to the world.
    pub kind: EffectKind,
    /// True if the callee may raise a guest exception. Such a callee reports
    /// failure through its result, and the recorder follows the call with a
    /// guard on that result, so the interpreter redoes the operation and
    /// raises the error itself.
    pub can_raise: bool,
}

/// Layout of a field at a fixed offset in a heap object.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDescr {
    /// Human-readable name, e.g. `List.len`.
    pub name: Name,
    /// Byte offset from the object's address.
    pub offset: i32,
    /// Machine type of the field.
    pub ty: Type,
    /// Field width in bytes: 1, 2, 4 or 8 (floats and refs: 8).
    pub size: u8,
    /// True if the field never changes after allocation (loads may be CSE'd
    /// across writes).
    pub immutable: bool,
}

/// Layout of an array reachable from an object.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayDescr {
    /// Human-readable name.
    pub name: Name,
    /// Byte offset of the length (a 64-bit integer) in the object.
    pub len_offset: i32,
    /// Byte offset of the items (inline) or of a pointer to them (indirect).
    pub items_offset: i32,
    /// True if `items_offset` holds a pointer to the items.
    pub indirect: bool,
    /// Machine type of each item.
    pub item_ty: Type,
    /// Size of each item in bytes (8 for all types for now).
    pub item_size: u8,
}

/// A call target.
#[derive(Clone, Debug, PartialEq)]
pub struct CallDescr {
    /// Symbolic name, shown in dumps.
    pub name: Name,
    /// Address of an `extern "C"` function.
    pub addr: usize,
    /// Argument types.
    pub args: std::borrow::Cow<'static, [Type]>,
    /// Result type (`Void` for none).
    pub ret: Type,
    /// What the call may do.
    pub effects: Effects,
}

/// Size and class of an allocation.
#[derive(Clone, Debug, PartialEq)]
pub struct SizeDescr {
    /// Human-readable name.
    pub name: Name,
    /// Size in bytes.
    pub size: u32,
    /// Class/shape id written into the header.
    pub class: u32,
}

/// A descriptor: static knowledge attached to a heap or call operation.
#[derive(Clone, Debug, PartialEq)]
pub enum Descr {
    /// A fixed-offset field.
    Field(FieldDescr),
    /// An array.
    Array(ArrayDescr),
    /// A call target.
    Call(CallDescr),
    /// An allocation.
    Size(SizeDescr),
}

macro_rules! opcodes {
    ($($variant:ident => $name:literal, $ret:ident, $nargs:expr, $kind:ident;)*) => {
        /// An IR operation code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Opcode {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Opcode {
            /// All opcodes.
            pub const ALL: &'static [Opcode] = &[$(Opcode::$variant),*];

            /// The textual name.
            pub fn name(self) -> &'static str {
                match self { $(Opcode::$variant => $name,)* }
            }

            /// The result type, when fixed by the opcode (`None`: given by
            /// the descriptor).
            pub fn fixed_result(self) -> Option<Type> {
                match self { $(Opcode::$variant => opcodes!(@ret $ret),)* }
            }

            /// The number of operands (`None`: variable, e.g. calls).
            pub fn arity(self) -> Option<usize> {
                match self { $(Opcode::$variant => $nargs,)* }
            }

            /// The class of the operation.
            pub fn kind(self) -> OpKind {
                match self { $(Opcode::$variant => OpKind::$kind,)* }
            }

            /// Looks up an opcode by its textual name.
            pub fn from_name(s: &str) -> Option<Opcode> {
                match s { $($name => Some(Opcode::$variant),)* _ => None }
            }
        }
    };
    (@ret Int) => { Some(Type::Int) };
    (@ret Float) => { Some(Type::Float) };
    (@ret Ref) => { Some(Type::Ref) };
    (@ret Void) => { Some(Type::Void) };
    (@ret Descr) => { None };
}

/// The broad class of an opcode, used by passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// Side-effect free and deterministic: may be folded, CSE'd, deleted.
    Pure,
    /// A guard: leaves the trace when its condition fails.
    Guard,
    /// A pure computation that also guards (overflow checks).
    GuardedPure,
    /// Reads the heap.
    Load,
    /// Writes the heap.
    Store,
    /// Allocates.
    Alloc,
    /// A call; its effects are in its descriptor.
    Call,
    /// An STM barrier.
    Barrier,
    /// Control flow: the trace's final `jump` and the loop `label` that
    /// separates a peeled trace's preamble from its loop.
    Control,
}

opcodes! {
    IntAdd => "int_add", Int, Some(2), Pure;
    IntSub => "int_sub", Int, Some(2), Pure;
    IntMul => "int_mul", Int, Some(2), Pure;
    IntAnd => "int_and", Int, Some(2), Pure;
    IntOr => "int_or", Int, Some(2), Pure;
    IntXor => "int_xor", Int, Some(2), Pure;
    IntShl => "int_shl", Int, Some(2), Pure;
    IntShr => "int_shr", Int, Some(2), Pure;
    UintShr => "uint_shr", Int, Some(2), Pure;
    IntNeg => "int_neg", Int, Some(1), Pure;
    IntNot => "int_not", Int, Some(1), Pure;
    IntLt => "int_lt", Int, Some(2), Pure;
    IntLe => "int_le", Int, Some(2), Pure;
    IntEq => "int_eq", Int, Some(2), Pure;
    IntNe => "int_ne", Int, Some(2), Pure;
    IntGt => "int_gt", Int, Some(2), Pure;
    IntGe => "int_ge", Int, Some(2), Pure;
    IntIsTrue => "int_is_true", Int, Some(1), Pure;
    IntAddOvf => "int_add_ovf", Int, Some(2), GuardedPure;
    IntSubOvf => "int_sub_ovf", Int, Some(2), GuardedPure;
    IntMulOvf => "int_mul_ovf", Int, Some(2), GuardedPure;
    FloatAdd => "float_add", Float, Some(2), Pure;
    FloatSub => "float_sub", Float, Some(2), Pure;
    FloatMul => "float_mul", Float, Some(2), Pure;
    FloatDiv => "float_div", Float, Some(2), Pure;
    FloatNeg => "float_neg", Float, Some(1), Pure;
    FloatAbs => "float_abs", Float, Some(1), Pure;
    FloatLt => "float_lt", Int, Some(2), Pure;
    FloatLe => "float_le", Int, Some(2), Pure;
    FloatEq => "float_eq", Int, Some(2), Pure;
    FloatNe => "float_ne", Int, Some(2), Pure;
    FloatGt => "float_gt", Int, Some(2), Pure;
    FloatGe => "float_ge", Int, Some(2), Pure;
    CastIntToFloat => "cast_int_to_float", Float, Some(1), Pure;
    CastFloatToInt => "cast_float_to_int", Int, Some(1), Pure;
    PtrEq => "ptr_eq", Int, Some(2), Pure;
    PtrNe => "ptr_ne", Int, Some(2), Pure;
    SameAs => "same_as", Descr, Some(1), Pure;
    GuardTrue => "guard_true", Void, Some(1), Guard;
    GuardFalse => "guard_false", Void, Some(1), Guard;
    GuardValue => "guard_value", Void, Some(2), Guard;
    GuardNonNull => "guard_nonnull", Void, Some(1), Guard;
    GuardClass => "guard_class", Void, Some(2), Guard;
    GetField => "getfield", Descr, Some(1), Load;
    SetField => "setfield", Void, Some(2), Store;
    GetArrayItem => "getarrayitem", Descr, Some(2), Load;
    SetArrayItem => "setarrayitem", Void, Some(3), Store;
    ArrayLen => "arraylen", Int, Some(1), Load;
    New => "new", Ref, Some(0), Alloc;
    Call => "call", Descr, None, Call;
    StmReadBarrier => "stm_read_barrier", Void, Some(1), Barrier;
    StmWriteBarrier => "stm_write_barrier", Void, Some(1), Barrier;
    StmBecomeInevitable => "stm_become_inevitable", Void, Some(0), Barrier;
    Label => "label", Void, None, Control;
    Jump => "jump", Void, None, Control;
}

impl Opcode {
    /// True for operations that leave the trace when a condition fails.
    pub fn is_guard(self) -> bool {
        matches!(self.kind(), OpKind::Guard | OpKind::GuardedPure)
    }
    /// True for operations whose two operands may be swapped.
    pub fn is_commutative(self) -> bool {
        use Opcode::*;
        matches!(
            self,
            IntAdd
                | IntMul
                | IntAnd
                | IntOr
                | IntXor
                | IntEq
                | IntNe
                | IntAddOvf
                | IntMulOvf
                | FloatAdd
                | FloatMul
                | FloatEq
                | FloatNe
                | PtrEq
                | PtrNe
        )
    }
    /// True if the operation can be removed when its result is unused.
    pub fn is_removable_when_unused(self) -> bool {
        matches!(self.kind(), OpKind::Pure | OpKind::Load | OpKind::Alloc)
    }
}

/// One operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    /// What it does.
    pub opcode: Opcode,
    /// The value it defines, if any.
    pub result: Option<Value>,
    /// Its operands.
    pub args: Vec<Operand>,
    /// Descriptor for heap operations, calls and guard_class.
    pub descr: Option<DescrId>,
    /// Resume data, for guards.
    pub snapshot: Option<SnapshotId>,
    /// The green location whose interpretation produced this operation.
    pub loc: Option<GreenId>,
    /// For `label` only: the loop's parameters (block parameters), one per
    /// operand. The operand is the parameter's value when the preamble
    /// falls into the loop; the final `jump` passes the next iteration's.
    /// Empty for every other operation.
    pub params: Vec<Value>,
}

impl Op {
    /// A new operation with no descriptor, snapshot or location.
    pub fn new(opcode: Opcode, result: Option<Value>, args: Vec<Operand>) -> Op {
        Op {
            opcode,
            result,
            args,
            descr: None,
            snapshot: None,
            loc: None,
            params: Vec::new(),
        }
    }
}

/// How to rebuild one red value at a guard exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResumeValue {
    /// The value of an operand (a constant or an SSA value).
    Op(Operand),
    /// A virtual object, by index in [`Snapshot::virtuals`].
    Virtual(u32),
}

/// An object that exists only in resume data: the optimizer removed its
/// allocation, and a guard exit must materialize it.
#[derive(Clone, Debug, PartialEq)]
pub struct VirtualObject {
    /// Allocation descriptor (a [`Descr::Size`]).
    pub size: DescrId,
    /// Field descriptor and value of every field to initialize.
    pub fields: Vec<(DescrId, ResumeValue)>,
}

/// One red slot written back at a guard exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SlotValue {
    /// Index of the red slot in the interpreter's frame.
    pub slot: u32,
    /// The language's type tag for the slot's new value.
    pub tag: u8,
    /// How to compute the value.
    pub value: ResumeValue,
}

/// Resume data: where the interpreter continues and how to rebuild its red
/// state. Slots not mentioned keep the value they had when the compiled code
/// was entered.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Snapshot {
    /// The green location at which interpretation resumes.
    pub green: u32,
    /// The red slots to write back.
    pub slots: Vec<SlotValue>,
    /// Virtual objects referred to by `slots` or by each other.
    pub virtuals: Vec<VirtualObject>,
}

impl Snapshot {
    /// The operands a guard exit must save, in the order the exit stores
    /// them: every slot operand, then every virtual field operand.
    pub fn exit_operands(&self) -> Vec<Operand> {
        self.operands().collect()
    }

    /// The operands of [`Snapshot::exit_operands`], in the same order,
    /// without allocating.
    pub fn operands(&self) -> impl Iterator<Item = Operand> + '_ {
        let slots = self.slots.iter().map(|s| s.value);
        let fields = self
            .virtuals
            .iter()
            .flat_map(|v| v.fields.iter().map(|(_, rv)| *rv));
        slots.chain(fields).filter_map(|rv| match rv {
            ResumeValue::Op(o) => Some(o),
            ResumeValue::Virtual(_) => None,
        })
    }
}

/// A trace input: a red slot read at trace entry, carried around the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Input {
    /// The SSA value standing for the slot at the top of each iteration.
    pub value: Value,
    /// The red slot it is loaded from.
    pub slot: u32,
    /// The language type tag the slot must have on entry.
    pub tag: u8,
    /// Its machine type.
    pub ty: Type,
}

/// A recorded (and possibly optimized) trace.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Trace {
    /// Human-readable name (the printable start location).
    pub name: String,
    /// The trace's inputs (the entry label's parameters), in buffer order.
    pub inputs: Vec<Input>,
    /// The body; a loop trace ends in `jump`. A peeled trace (see
    /// [`crate::optimize::peel`]) contains one `label` op: the ops before
    /// it are the preamble, run once per entry; the ops after it are the
    /// loop, and the `jump` goes back to that label instead of to the
    /// entry.
    pub ops: Vec<Op>,
    /// Descriptors referenced by operations and snapshots.
    pub descrs: Vec<Descr>,
    /// Resume data referenced by guards.
    pub snapshots: Vec<Snapshot>,
    /// The type of every value ever defined (indexed by `Value.0`).
    pub value_types: Vec<Type>,
}

impl Trace {
    /// An empty trace.
    pub fn new(name: impl Into<String>) -> Trace {
        Trace {
            name: name.into(),
            ..Trace::default()
        }
    }

    /// Allocates a fresh value of type `ty`.
    pub fn new_value(&mut self, ty: Type) -> Value {
        self.value_types.push(ty);
        Value(self.value_types.len() as u32 - 1)
    }

    /// The type of a value.
    pub fn type_of(&self, v: Value) -> Type {
        self.value_types
            .get(v.0 as usize)
            .copied()
            .unwrap_or(Type::Void)
    }

    /// The type of an operand.
    pub fn operand_type(&self, o: Operand) -> Type {
        match o {
            Operand::Val(v) => self.type_of(v),
            Operand::Int(_) => Type::Int,
            Operand::Float(_) => Type::Float,
            Operand::Ref(_) => Type::Ref,
        }
    }

    /// Adds a descriptor, reusing an equal one.
    pub fn add_descr(&mut self, d: Descr) -> DescrId {
        if let Some(i) = self.descrs.iter().position(|x| *x == d) {
            return DescrId(i as u32);
        }
        self.descrs.push(d);
        DescrId(self.descrs.len() as u32 - 1)
    }

    /// A descriptor by id.
    pub fn descr(&self, id: DescrId) -> &Descr {
        &self.descrs[id.0 as usize]
    }

    /// The call descriptor of an op, if it has one.
    pub fn call_descr(&self, op: &Op) -> Option<&CallDescr> {
        match op.descr.map(|d| self.descr(d)) {
            Some(Descr::Call(c)) => Some(c),
            _ => None,
        }
    }

    /// The result type of an operation with a descriptor-dependent type.
    pub fn result_type(&self, opcode: Opcode, descr: Option<DescrId>, args: &[Operand]) -> Type {
        if let Some(t) = opcode.fixed_result() {
            return t;
        }
        match (opcode, descr.map(|d| self.descr(d))) {
            (Opcode::SameAs, _) => args
                .first()
                .map(|a| self.operand_type(*a))
                .unwrap_or(Type::Void),
            (_, Some(Descr::Field(f))) => f.ty,
            (_, Some(Descr::Array(a))) => a.item_ty,
            (_, Some(Descr::Call(c))) => c.ret,
            _ => Type::Void,
        }
    }

    /// True if the trace loops back to its start (or, when peeled, to its
    /// inner label).
    pub fn is_loop(&self) -> bool {
        matches!(self.ops.last(), Some(op) if op.opcode == Opcode::Jump)
    }

    /// The index of the inner `label` of a peeled trace, if it has one.
    pub fn label_index(&self) -> Option<usize> {
        self.ops.iter().position(|op| op.opcode == Opcode::Label)
    }

    /// The types the final `jump` must pass: the inner label's parameters
    /// in a peeled trace, the inputs otherwise.
    pub fn loop_param_types(&self) -> Vec<Type> {
        match self.label_index() {
            Some(i) => self.ops[i]
                .params
                .iter()
                .map(|p| self.type_of(*p))
                .collect(),
            None => self.inputs.iter().map(|i| i.ty).collect(),
        }
    }

    /// Number of guards.
    pub fn num_guards(&self) -> usize {
        self.ops.iter().filter(|o| o.opcode.is_guard()).count()
    }

    /// The largest number of values any exit must save (the size of the
    /// exit buffer together with the number of inputs).
    pub fn max_exit_values(&self) -> usize {
        self.snapshots
            .iter()
            .map(|s| s.operands().count())
            .max()
            .unwrap_or(0)
    }

    /// Checks structural invariants: operands defined before use, arity,
    /// guards carry snapshots, at most one inner label, which defines its
    /// parameters and is not followed by anything but the loop, and the
    /// final jump matches the label's parameters (or, without a label, the
    /// inputs).
    pub fn verify(&self) -> Result<(), String> {
        let mut defined = vec![false; self.value_types.len()];
        let mut label: Option<usize> = None;
        for inp in &self.inputs {
            *defined
                .get_mut(inp.value.0 as usize)
                .ok_or("input value out of range")? = true;
        }
        // The operation named in an error, formatted only on error (verify
        // runs on every trace the driver compiles).
        struct What<'a>(usize, &'a str);
        impl fmt::Display for What<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "op {} ({})", self.0, self.1)
            }
        }
        let check = |defined: &Vec<bool>, o: &Operand, what: &What| -> Result<(), String> {
            if let Operand::Val(v) = o {
                if !defined.get(v.0 as usize).copied().unwrap_or(false) {
                    return Err(format!(
                        "{what}: {} used before definition",
                        self.value_name(*v)
                    ));
                }
            }
            Ok(())
        };
        for (i, op) in self.ops.iter().enumerate() {
            let what = What(i, op.opcode.name());
            if let Some(n) = op.opcode.arity() {
                if op.args.len() != n {
                    return Err(format!(
                        "{what}: expected {n} operands, got {}",
                        op.args.len()
                    ));
                }
            }
            for a in &op.args {
                check(&defined, a, &what)?;
            }
            if op.opcode.is_guard() {
                let sid = op
                    .snapshot
                    .ok_or_else(|| format!("{what}: guard without snapshot"))?;
                let snap = self
                    .snapshots
                    .get(sid.0 as usize)
                    .ok_or_else(|| format!("{what}: bad snapshot"))?;
                for o in snap.exit_operands() {
                    check(&defined, &o, &what)?;
                }
            }
            if let Some(d) = op.descr {
                if d.0 as usize >= self.descrs.len() {
                    return Err(format!("{what}: bad descriptor"));
                }
            }
            if op.opcode != Opcode::Label && !op.params.is_empty() {
                return Err(format!("{what}: only label defines parameters"));
            }
            if op.opcode == Opcode::Label {
                if label.is_some() {
                    return Err(format!("{what}: a second label"));
                }
                label = Some(i);
                if op.result.is_some() || op.snapshot.is_some() || op.descr.is_some() {
                    return Err(format!(
                        "{what}: label has a result, snapshot or descriptor"
                    ));
                }
                if op.args.len() != op.params.len() {
                    return Err(format!(
                        "{what}: {} operands for {} parameters",
                        op.args.len(),
                        op.params.len()
                    ));
                }
                for (a, p) in op.args.iter().zip(&op.params) {
                    let ty = self.type_of(*p);
                    if ty == Type::Void || self.operand_type(*a) != ty {
                        return Err(format!(
                            "{what}: operand type mismatch for {}",
                            self.value_name(*p)
                        ));
                    }
                }
                for p in &op.params {
                    let slot = defined
                        .get_mut(p.0 as usize)
                        .ok_or(format!("{what}: parameter out of range"))?;
                    if *slot {
                        return Err(format!("{what}: {} defined twice", self.value_name(*p)));
                    }
                    *slot = true;
                }
            }
            if op.opcode == Opcode::Jump {
                if i + 1 != self.ops.len() {
                    return Err(format!("{what}: jump not at end"));
                }
                let targets: Vec<Value> = match label {
                    Some(l) => self.ops[l].params.clone(),
                    None => self.inputs.iter().map(|inp| inp.value).collect(),
                };
                if op.args.len() != targets.len() {
                    return Err(format!(
                        "{what}: jump has {} operands for {} {}",
                        op.args.len(),
                        targets.len(),
                        if label.is_some() {
                            "label parameters"
                        } else {
                            "inputs"
                        }
                    ));
                }
                for (a, t) in op.args.iter().zip(&targets) {
                    if self.operand_type(*a) != self.type_of(*t) {
                        return Err(format!(
                            "{what}: jump operand type mismatch for {}",
                            self.value_name(*t)
                        ));
                    }
                }
            }
            if let Some(r) = op.result {
                let slot = defined
                    .get_mut(r.0 as usize)
                    .ok_or_else(|| format!("{what}: result out of range"))?;
                if *slot {
                    return Err(format!("{what}: {} defined twice", self.value_name(r)));
                }
                *slot = true;
            }
        }
        Ok(())
    }

    /// The textual name of a value (`i3`, `f4`, `r5`).
    pub fn value_name(&self, v: Value) -> String {
        format!("{}{}", self.type_of(v).letter(), v.0)
    }

    fn operand_text(&self, o: Operand) -> String {
        match o {
            Operand::Val(v) => self.value_name(v),
            Operand::Int(i) => i.to_string(),
            Operand::Float(b) => format_float(f64::from_bits(b)),
            Operand::Ref(0) => "null".to_string(),
            Operand::Ref(a) => format!("ref:{a:#x}"),
        }
    }

    fn resume_text(&self, rv: ResumeValue) -> String {
        match rv {
            ResumeValue::Op(o) => self.operand_text(o),
            ResumeValue::Virtual(i) => format!("v{i}"),
        }
    }

    /// The textual form, with source locations from `loc` appended as
    /// comments (`loc` maps a green id to a printable location).
    pub fn to_text_with(&self, loc: &dyn Fn(u32) -> String) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "trace {}", self.name);
        for (i, d) in self.descrs.iter().enumerate() {
            let _ = write!(s, "descr d{i} = ");
            match d {
                Descr::Field(f) => {
                    let _ = write!(
                        s,
                        "field {} {} {} {}",
                        f.name,
                        f.offset,
                        f.ty.name(),
                        f.size
                    );
                    if f.immutable {
                        s.push_str(" immutable");
                    }
                }
                Descr::Array(a) => {
                    let _ = write!(
                        s,
                        "array {} len={} items={}{} {} {}",
                        a.name,
                        a.len_offset,
                        a.items_offset,
                        if a.indirect { "*" } else { "" },
                        a.item_ty.name(),
                        a.item_size
                    );
                }
                Descr::Call(c) => {
                    let args: Vec<_> = c.args.iter().map(|t| t.name()).collect();
                    let _ = write!(
                        s,
                        "call {} {:#x} ({}) -> {} {}",
                        c.name,
                        c.addr,
                        args.join(", "),
                        c.ret.name(),
                        c.effects.kind.name()
                    );
                    if c.effects.can_raise {
                        s.push_str(" raise");
                    }
                }
                Descr::Size(z) => {
                    let _ = write!(s, "size {} {} class={}", z.name, z.size, z.class);
                }
            }
            s.push('\n');
        }
        let inputs: Vec<_> = self
            .inputs
            .iter()
            .map(|i| format!("{}=s{}:{}", self.value_name(i.value), i.slot, i.tag))
            .collect();
        let _ = writeln!(s, "label {}", inputs.join(", "));
        let mut last_loc = None;
        for op in &self.ops {
            if op.loc.is_some() && op.loc != last_loc {
                let g = op.loc.map(|g| g.0).unwrap_or(0);
                let _ = writeln!(s, "; {}", loc(g));
                last_loc = op.loc;
            }
            s.push_str(&self.op_text(op));
            s.push('\n');
        }
        s
    }

    /// The textual form (locations printed as `@N`).
    pub fn to_text(&self) -> String {
        self.to_text_with(&|g| format!("@{g}"))
    }

    /// One operation in textual form, without a newline.
    pub fn op_text(&self, op: &Op) -> String {
        let mut s = String::new();
        if op.opcode == Opcode::Label {
            // `label i20=i8, i21=7`: each parameter with its entry value.
            s.push_str("label");
            let params: Vec<_> = op
                .params
                .iter()
                .zip(&op.args)
                .map(|(p, a)| format!("{}={}", self.value_name(*p), self.operand_text(*a)))
                .collect();
            if !params.is_empty() {
                s.push(' ');
                s.push_str(&params.join(", "));
            }
            return s;
        }
        if let Some(r) = op.result {
            let _ = write!(s, "{} = ", self.value_name(r));
        }
        s.push_str(op.opcode.name());
        let mut args: Vec<_> = op.args.iter().map(|a| self.operand_text(*a)).collect();
        if let Some(d) = op.descr {
            // Calls name their target first; heap operations last.
            if op.opcode == Opcode::Call {
                args.insert(0, format!("d{}", d.0));
            } else {
                args.push(format!("d{}", d.0));
            }
        }
        if !args.is_empty() {
            s.push(' ');
            s.push_str(&args.join(", "));
        }
        if let Some(sid) = op.snapshot {
            s.push_str(" [");
            if let Some(snap) = self.snapshots.get(sid.0 as usize) {
                let _ = write!(s, "@{}", snap.green);
                for sv in &snap.slots {
                    let _ = write!(s, " s{}:{}={}", sv.slot, sv.tag, self.resume_text(sv.value));
                }
                for (i, v) in snap.virtuals.iter().enumerate() {
                    let fields: Vec<_> = v
                        .fields
                        .iter()
                        .map(|(d, rv)| format!("d{}={}", d.0, self.resume_text(*rv)))
                        .collect();
                    let _ = write!(
                        s,
                        " v{i}=new(d{}{}{})",
                        v.size.0,
                        if fields.is_empty() { "" } else { ", " },
                        fields.join(", ")
                    );
                }
            }
            s.push(']');
        }
        s
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Formats a float constant so that it reads back as a float (always with a
/// `.`, an exponent, or one of `inf`, `-inf`, `nan`).
pub fn format_float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else {
        let s = format!("{x:?}");
        if s.contains(['.', 'e', 'E']) {
            s
        } else {
            format!("{s}.0")
        }
    }
}
