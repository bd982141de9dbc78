//! The backend model: the interface between the optimizer and a code
//! generator, plus [`IrInterpreter`], a backend that executes the IR
//! directly.
//!
//! As in RPython's `backend/model.py`, the JIT core knows nothing about
//! machine code. A backend turns an optimized [`Trace`] into something
//! runnable and reports which guard failed. The calling convention is the
//! same for every backend, so the driver, the tests and the interpreter
//! cannot tell them apart:
//!
//! * The caller passes a buffer of 64-bit words. On entry, word `k` holds
//!   the bits of the trace's `k`-th input (integers as two's complement,
//!   floats as IEEE bits, references as addresses).
//! * The trace runs until a guard fails. It then stores the operands listed
//!   by that guard's [`Snapshot::exit_operands`] into the same buffer, in
//!   order, and returns the guard's snapshot index. (The buffer is sized by
//!   the driver to hold `max(inputs, largest exit)` words.)
//! * [`ExecCtx`] gives the code a place for counters; `iterations` is bumped
//!   once per loop iteration when [`CompileOptions::count_iterations`] is on:
//!   at the `jump`, and in a peeled trace also at the inner `label`, where
//!   the preamble's iteration ends (so peeling does not change the count).
//! * A peeled trace (one with an inner `label`) runs its preamble once,
//!   then its loop; guards in either part exit the same way, and a loop
//!   guard's snapshot may name preamble values.
//!
//! The IR interpreter is the reference semantics: backend tests run the same
//! trace through both and compare exits and buffers. It is also what the
//! driver falls back to for tests that must not depend on a code generator.

use crate::ir::*;
use std::fmt;

/// Per-execution context passed to compiled code (by pointer).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
pub struct ExecCtx {
    /// Loop iterations run by compiled code (when counting is enabled).
    pub iterations: u64,
}

/// Options for one compilation.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Emit an increment of [`ExecCtx::iterations`] on every loop iteration.
    pub count_iterations: bool,
    /// Keep the backend's textual dumps (backend IR, disassembly).
    pub keep_dumps: bool,
}

/// Why a backend could not compile a trace. The driver counts the failure
/// and keeps interpreting.
#[derive(Debug, Clone, PartialEq)]
pub enum CompileError {
    /// The trace uses an operation this backend does not implement.
    Unsupported(String),
    /// The trace failed verification.
    Invalid(String),
    /// The code generator reported an error.
    Codegen(String),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Unsupported(s) => write!(f, "unsupported operation: {s}"),
            CompileError::Invalid(s) => write!(f, "invalid trace: {s}"),
            CompileError::Codegen(s) => write!(f, "code generation failed: {s}"),
        }
    }
}

impl std::error::Error for CompileError {}

/// A compiled loop, ready to run.
pub trait CompiledTrace {
    /// Runs the trace until a guard fails; returns the failing guard's
    /// snapshot index. See the module documentation for the buffer protocol.
    ///
    /// # Safety
    /// `buf` must hold the trace's inputs with the tags the trace was
    /// specialized for, and be at least [`CompiledTrace::buffer_len`] words
    /// long; every reference input must point to a live object with the
    /// layout the trace's descriptors describe, and every call descriptor's
    /// address must be a function with the described C signature.
    unsafe fn run(&self, buf: &mut [u64], ctx: &mut ExecCtx) -> u32;

    /// Words the buffer passed to [`CompiledTrace::run`] must hold.
    fn buffer_len(&self) -> usize;

    /// Size of the generated code in bytes (0 for interpreters).
    fn code_size(&self) -> usize;

    /// Textual dumps of the backend's stages, as (title, text) pairs, when
    /// [`CompileOptions::keep_dumps`] was set.
    fn dumps(&self) -> Vec<(String, String)>;
}

/// A code generator.
pub trait Backend {
    /// A short name for statistics and dumps.
    fn name(&self) -> &'static str;
    /// Compiles an optimized loop trace.
    fn compile(
        &mut self,
        trace: &Trace,
        opts: &CompileOptions,
    ) -> Result<Box<dyn CompiledTrace>, CompileError>;
}

/// A backend created on its first compilation. Creating a code generator
/// has a cost of its own (Cranelift's host detection and settings: about
/// 20,000 instructions), which a program that never compiles a loop should
/// not pay.
pub struct LazyBackend {
    name: &'static str,
    make: Option<Box<dyn FnOnce() -> Box<dyn Backend>>>,
    made: Option<Box<dyn Backend>>,
}

impl LazyBackend {
    /// A backend that `make` will create when the first trace is compiled;
    /// `name` stands for it until then (the created backend's own name is
    /// reported afterwards).
    pub fn new(name: &'static str, make: impl FnOnce() -> Box<dyn Backend> + 'static) -> Self {
        LazyBackend {
            name,
            make: Some(Box::new(make)),
            made: None,
        }
    }

    /// True once the backend has been created.
    pub fn is_created(&self) -> bool {
        self.made.is_some()
    }
}

impl Backend for LazyBackend {
    fn name(&self) -> &'static str {
        self.made.as_ref().map_or(self.name, |b| b.name())
    }
    fn compile(
        &mut self,
        trace: &Trace,
        opts: &CompileOptions,
    ) -> Result<Box<dyn CompiledTrace>, CompileError> {
        if let Some(make) = self.make.take() {
            self.made = Some(make());
        }
        match self.made.as_mut() {
            Some(b) => b.compile(trace, opts),
            None => Err(CompileError::Unsupported("no backend".into())),
        }
    }
}

#[cfg(test)]
mod lazy_backend_tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn created_on_first_compile_only_and_then_named_by_itself() {
        let made = Rc::new(Cell::new(0));
        let m2 = made.clone();
        let mut b = LazyBackend::new("pending", move || {
            m2.set(m2.get() + 1);
            Box::new(IrInterpreter)
        });
        assert_eq!(
            (b.name(), b.is_created(), made.get()),
            ("pending", false, 0)
        );
        let t = crate::ir_parse::parse_trace("label i0=s0:0\ni1 = int_add i0, 1\njump i1\n")
            .expect("parses");
        let opts = CompileOptions::default();
        assert!(b.compile(&t, &opts).is_ok());
        assert!(b.compile(&t, &opts).is_ok());
        assert_eq!(made.get(), 1, "created exactly once");
        assert_eq!(b.name(), "ir-interpreter");
        assert!(b.is_created());
    }
}

/// A backend that executes the IR directly (the reference semantics).
#[derive(Debug, Default)]
pub struct IrInterpreter;

impl Backend for IrInterpreter {
    fn name(&self) -> &'static str {
        "ir-interpreter"
    }
    fn compile(
        &mut self,
        trace: &Trace,
        opts: &CompileOptions,
    ) -> Result<Box<dyn CompiledTrace>, CompileError> {
        trace.verify().map_err(CompileError::Invalid)?;
        if !trace.is_loop() {
            return Err(CompileError::Invalid("trace does not end in a jump".into()));
        }
        for op in &trace.ops {
            if op.opcode.kind() == OpKind::Barrier {
                return Err(CompileError::Unsupported(op.opcode.name().into()));
            }
            if op.opcode == Opcode::New {
                return Err(CompileError::Unsupported(
                    "new (allocation needs a heap hook)".into(),
                ));
            }
            if let Some(c) = trace.call_descr(op) {
                if !interpreter_supports_call(c) {
                    return Err(CompileError::Unsupported(format!(
                        "call signature of {}",
                        c.name
                    )));
                }
            }
        }
        Ok(Box::new(InterpretedTrace {
            trace: trace.clone(),
            count: opts.count_iterations,
        }))
    }
}

struct InterpretedTrace {
    trace: Trace,
    count: bool,
}

/// Evaluates a pure integer/float operation on raw bits (shared by the IR
/// interpreter and the constant folder). Returns None for overflow of the
/// `_ovf` operations and for operations that are not pure arithmetic.
pub fn eval_pure(opcode: Opcode, a: u64, b: u64) -> Option<u64> {
    let (x, y) = (a as i64, b as i64);
    let (fx, fy) = (f64::from_bits(a), f64::from_bits(b));
    let bool_ = |c: bool| Some(c as u64);
    match opcode {
        Opcode::IntAdd => Some(x.wrapping_add(y) as u64),
        Opcode::IntSub => Some(x.wrapping_sub(y) as u64),
        Opcode::IntMul => Some(x.wrapping_mul(y) as u64),
        Opcode::IntAnd => Some((x & y) as u64),
        Opcode::IntOr => Some((x | y) as u64),
        Opcode::IntXor => Some((x ^ y) as u64),
        Opcode::IntShl => Some(x.wrapping_shl((y & 63) as u32) as u64),
        Opcode::IntShr => Some(x.wrapping_shr((y & 63) as u32) as u64),
        Opcode::UintShr => Some((a).wrapping_shr((y & 63) as u32)),
        Opcode::IntNeg => Some(x.wrapping_neg() as u64),
        Opcode::IntNot => Some(!a),
        Opcode::IntLt => bool_(x < y),
        Opcode::IntLe => bool_(x <= y),
        Opcode::IntEq => bool_(x == y),
        Opcode::IntNe => bool_(x != y),
        Opcode::IntGt => bool_(x > y),
        Opcode::IntGe => bool_(x >= y),
        Opcode::IntIsTrue => bool_(x != 0),
        Opcode::IntAddOvf => x.checked_add(y).map(|v| v as u64),
        Opcode::IntSubOvf => x.checked_sub(y).map(|v| v as u64),
        Opcode::IntMulOvf => x.checked_mul(y).map(|v| v as u64),
        Opcode::FloatAdd => Some((fx + fy).to_bits()),
        Opcode::FloatSub => Some((fx - fy).to_bits()),
        Opcode::FloatMul => Some((fx * fy).to_bits()),
        Opcode::FloatDiv => Some((fx / fy).to_bits()),
        Opcode::FloatNeg => Some((-fx).to_bits()),
        Opcode::FloatAbs => Some(fx.abs().to_bits()),
        Opcode::FloatLt => bool_(fx < fy),
        Opcode::FloatLe => bool_(fx <= fy),
        Opcode::FloatEq => bool_(fx == fy),
        Opcode::FloatNe => bool_(fx != fy),
        Opcode::FloatGt => bool_(fx > fy),
        Opcode::FloatGe => bool_(fx >= fy),
        Opcode::CastIntToFloat => Some((x as f64).to_bits()),
        // Saturating, like Rust's `as`; machine backends must match this.
        Opcode::CastFloatToInt => Some((fx as i64) as u64),
        Opcode::PtrEq => bool_(a == b),
        Opcode::PtrNe => bool_(a != b),
        Opcode::SameAs => Some(a),
        _ => None,
    }
}

/// Reads `size` bytes at `addr`, zero-extended to a 64-bit word (sub-word
/// fields are unsigned).
///
/// # Safety
/// `addr` must be valid for a read of `size` bytes.
unsafe fn load(addr: usize, size: u8) -> u64 {
    // SAFETY: the caller guarantees `addr` is readable for `size` bytes;
    // unaligned reads are used so no alignment is assumed.
    unsafe {
        match size {
            1 => (addr as *const u8).read_unaligned() as u64,
            2 => (addr as *const u16).read_unaligned() as u64,
            4 => (addr as *const u32).read_unaligned() as u64,
            _ => (addr as *const u64).read_unaligned(),
        }
    }
}

/// # Safety
/// `addr` must be valid for a write of `size` bytes.
unsafe fn store(addr: usize, size: u8, v: u64) {
    // SAFETY: the caller guarantees `addr` is writable for `size` bytes.
    unsafe {
        match size {
            1 => (addr as *mut u8).write_unaligned(v as u8),
            2 => (addr as *mut u16).write_unaligned(v as u16),
            4 => (addr as *mut u32).write_unaligned(v as u32),
            _ => (addr as *mut u64).write_unaligned(v),
        }
    }
}

fn array_item_addr(a: &ArrayDescr, base: u64, index: u64) -> usize {
    let items = if a.indirect {
        // SAFETY: see `run`'s contract: the object has the described layout.
        unsafe { load((base as i64 + a.items_offset as i64) as usize, 8) as usize }
    } else {
        (base as i64 + a.items_offset as i64) as usize
    };
    items.wrapping_add((index as usize).wrapping_mul(a.item_size as usize))
}

/// The label (the preamble's iteration is complete, enter the loop) or the
/// jump (the loop's back edge): the parameters (the label's, or the inputs
/// of a trace without one) take the operand values `args`, all read before
/// any is written. Out of line, so that the interpreter's loop over the
/// operations stays as small as it was before peeled traces.
#[inline(never)]
fn set_params(t: &Trace, op: &Op, label: Option<usize>, args: &[u64], vals: &mut [u64]) {
    let params: &[Value] = match (op.opcode, label) {
        (Opcode::Label, _) => &op.params,
        (_, Some(l)) => &t.ops[l].params,
        (_, None) => {
            for (inp, &v) in t.inputs.iter().zip(args) {
                vals[inp.value.0 as usize] = v;
            }
            return;
        }
    };
    for (p, &v) in params.iter().zip(args) {
        vals[p.0 as usize] = v;
    }
}

impl CompiledTrace for InterpretedTrace {
    unsafe fn run(&self, buf: &mut [u64], ctx: &mut ExecCtx) -> u32 {
        let t = &self.trace;
        let mut vals = vec![0u64; t.value_types.len()];
        for (k, inp) in t.inputs.iter().enumerate() {
            vals[inp.value.0 as usize] = buf[k];
        }
        let get = |vals: &Vec<u64>, o: Operand| match o {
            Operand::Val(v) => vals[v.0 as usize],
            c => c.const_bits().unwrap_or(0),
        };
        // A peeled trace jumps back to the instruction after its label.
        let label = t.label_index();
        let restart = label.map_or(0, |l| l + 1);
        let mut start = 0;
        'iteration: loop {
            for op in &t.ops[start..] {
                // Operands on the stack (a heap allocation per operation
                // made this interpreter several times slower; it runs the
                // traces on probation).
                let mut small = [0u64; 8];
                let big: Vec<u64>;
                let args: &[u64] = if op.args.len() <= small.len() {
                    for (slot, a) in small.iter_mut().zip(&op.args) {
                        *slot = get(&vals, *a);
                    }
                    &small[..op.args.len()]
                } else {
                    big = op.args.iter().map(|a| get(&vals, *a)).collect();
                    &big
                };
                let arg = |i: usize| args.get(i).copied().unwrap_or(0);
                let mut fail = false;
                let mut result = None;
                match op.opcode.kind() {
                    OpKind::Pure | OpKind::GuardedPure => {
                        match eval_pure(op.opcode, arg(0), arg(1)) {
                            Some(v) => result = Some(v),
                            None => fail = true,
                        }
                    }
                    OpKind::Guard => {
                        fail = match op.opcode {
                            Opcode::GuardTrue => arg(0) == 0,
                            Opcode::GuardFalse => arg(0) != 0,
                            Opcode::GuardValue => arg(0) != arg(1),
                            Opcode::GuardNonNull => arg(0) == 0,
                            Opcode::GuardClass => {
                                let Some(Descr::Field(f)) = op.descr.map(|d| t.descr(d)) else {
                                    return u32::MAX;
                                };
                                // SAFETY: `run`'s contract: refs point to objects with the described layout.
                                let cls = unsafe {
                                    load((arg(0) as i64 + f.offset as i64) as usize, f.size)
                                };
                                cls != arg(1)
                            }
                            _ => false,
                        }
                    }
                    OpKind::Load => match (op.opcode, op.descr.map(|d| t.descr(d))) {
                        (Opcode::GetField, Some(Descr::Field(f))) => {
                            // SAFETY: `run`'s contract.
                            result = Some(unsafe {
                                load((arg(0) as i64 + f.offset as i64) as usize, f.size)
                            })
                        }
                        (Opcode::GetArrayItem, Some(Descr::Array(a))) => {
                            // SAFETY: `run`'s contract; the recorder guards the index against arraylen.
                            result = Some(unsafe {
                                load(array_item_addr(a, arg(0), arg(1)), a.item_size)
                            })
                        }
                        (Opcode::ArrayLen, Some(Descr::Array(a))) => {
                            // SAFETY: `run`'s contract.
                            result = Some(unsafe {
                                load((arg(0) as i64 + a.len_offset as i64) as usize, 8)
                            })
                        }
                        _ => return u32::MAX,
                    },
                    OpKind::Store => match (op.opcode, op.descr.map(|d| t.descr(d))) {
                        (Opcode::SetField, Some(Descr::Field(f))) => {
                            // SAFETY: `run`'s contract.
                            unsafe {
                                store((arg(0) as i64 + f.offset as i64) as usize, f.size, arg(1))
                            }
                        }
                        (Opcode::SetArrayItem, Some(Descr::Array(a))) => {
                            // SAFETY: `run`'s contract; the index was guarded by the recorder.
                            unsafe {
                                store(array_item_addr(a, arg(0), arg(1)), a.item_size, arg(2))
                            }
                        }
                        _ => return u32::MAX,
                    },
                    OpKind::Call => {
                        let Some(Descr::Call(c)) = op.descr.map(|d| t.descr(d)) else {
                            return u32::MAX;
                        };
                        // SAFETY: `run`'s contract: the address is a function with this C signature.
                        result = Some(unsafe { call(c, args) });
                    }
                    OpKind::Control => {
                        set_params(t, op, label, args, &mut vals);
                        if self.count {
                            ctx.iterations += 1;
                        }
                        if op.opcode == Opcode::Jump {
                            start = restart;
                            continue 'iteration;
                        }
                        continue;
                    }
                    OpKind::Alloc | OpKind::Barrier => return u32::MAX,
                }
                if fail {
                    let sid = op.snapshot.map(|s| s.0).unwrap_or(u32::MAX);
                    if let Some(snap) = t.snapshots.get(sid as usize) {
                        for (k, o) in snap.exit_operands().into_iter().enumerate() {
                            buf[k] = get(&vals, o);
                        }
                    }
                    return sid;
                }
                if let (Some(r), Some(v)) = (op.result, result) {
                    vals[r.0 as usize] = v;
                }
            }
            // Only a trace without a jump ends here (`compile` refuses it).
            return u32::MAX;
        }
    }

    fn buffer_len(&self) -> usize {
        self.trace.inputs.len().max(self.trace.max_exit_values())
    }

    fn code_size(&self) -> usize {
        0
    }

    fn dumps(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

fn interpreter_supports_call(c: &CallDescr) -> bool {
    // SAFETY: with `None` for the arguments nothing is called.
    unsafe { dispatch(c, None) }.is_some()
}

/// Calls a C function described by `c` with raw 64-bit arguments.
///
/// # Safety
/// `c.addr` must be an `extern "C"` function taking `c.args` and returning
/// `c.ret`, and the compile step must have rejected signatures not handled
/// here.
unsafe fn call(c: &CallDescr, args: &[u64]) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { dispatch(c, Some(args)) }.unwrap_or(0)
}

/// The call shapes the IR interpreter handles: up to six integer or
/// reference arguments, and the mixes of integers and floats the
/// interpreters' helpers use (comparisons of an integer with a float,
/// stores of a float, float math). With `args` None, only says whether
/// `c`'s shape is handled (Some(0)) or not (None); with arguments, calls
/// the function.
///
/// # Safety
/// With arguments: `c.addr` must be an `extern "C"` function taking
/// `c.args` and returning `c.ret`.
unsafe fn dispatch(c: &CallDescr, args: Option<&[u64]>) -> Option<u64> {
    // The shape: which arguments are floats (integers and references both
    // travel in 64-bit integer registers), and whether the result is one.
    let mut shape = [false; 6];
    if c.args.len() > shape.len() {
        return None;
    }
    for (s, t) in shape.iter_mut().zip(c.args.iter()) {
        *s = *t == Type::Float;
    }
    let shape = &shape[..c.args.len()];
    let float_ret = c.ret == Type::Float;
    let f = c.addr;
    macro_rules! arm {
        // One shape: argument names with their Rust types, the result type
        // and how its bits are taken.
        ($($a:ident: $t:ty),* => $r:ty, $bits:expr) => {{
            let Some(args) = args else { return Some(0) };
            let mut it = args.iter().copied();
            $(
                let $a: $t = <$t as FromBits>::from_bits(it.next().unwrap_or(0));
            )*
            // (Also keeps `it` used in the arms without arguments.)
            debug_assert!(it.next().is_none(), "more arguments than the descriptor's");
            // SAFETY: the caller's contract: `f` is an `extern "C"`
            // function with exactly this signature (this arm was chosen by
            // the descriptor's argument and result types).
            let g: extern "C" fn($($t),*) -> $r = unsafe { std::mem::transmute::<usize, extern "C" fn($($t),*) -> $r>(f) };
            let r = g($($a),*);
            Some($bits(r))
        }};
    }
    let int = |r: u64| r;
    let flt = |r: f64| r.to_bits();
    const F: bool = true;
    const I: bool = false;
    match (shape, float_ret) {
        ([], false) => arm!(=> u64, int),
        ([I], false) => arm!(a: u64 => u64, int),
        ([I, I], false) => arm!(a: u64, b: u64 => u64, int),
        ([I, I, I], false) => arm!(a: u64, b: u64, c: u64 => u64, int),
        ([I, I, I, I], false) => arm!(a: u64, b: u64, c: u64, d: u64 => u64, int),
        ([I, I, I, I, I], false) => arm!(a: u64, b: u64, c: u64, d: u64, e: u64 => u64, int),
        ([I, I, I, I, I, I], false) => {
            arm!(a: u64, b: u64, c: u64, d: u64, e: u64, g6: u64 => u64, int)
        }
        ([F], false) => arm!(a: f64 => u64, int),
        ([F, F], false) => arm!(a: f64, b: f64 => u64, int),
        ([I, F], false) => arm!(a: u64, b: f64 => u64, int),
        ([F, I], false) => arm!(a: f64, b: u64 => u64, int),
        ([I, I, F], false) => arm!(a: u64, b: u64, c: f64 => u64, int),
        ([I, I, I, F], false) => arm!(a: u64, b: u64, c: u64, d: f64 => u64, int),
        ([], true) => arm!(=> f64, flt),
        ([I], true) => arm!(a: u64 => f64, flt),
        ([I, I], true) => arm!(a: u64, b: u64 => f64, flt),
        ([I, I, I], true) => arm!(a: u64, b: u64, c: u64 => f64, flt),
        ([F], true) => arm!(a: f64 => f64, flt),
        ([F, F], true) => arm!(a: f64, b: f64 => f64, flt),
        _ => None,
    }
}

/// A call argument from its raw 64-bit trace value.
trait FromBits {
    fn from_bits(bits: u64) -> Self;
}
impl FromBits for u64 {
    fn from_bits(bits: u64) -> u64 {
        bits
    }
}
impl FromBits for f64 {
    fn from_bits(bits: u64) -> f64 {
        f64::from_bits(bits)
    }
}

#[cfg(test)]
mod call_shape_tests {
    use super::*;
    use crate::ir::{EffectKind, Effects};

    fn descr(addr: usize, args: &[Type], ret: Type) -> CallDescr {
        CallDescr {
            name: "f".into(),
            addr,
            args: args.to_vec().into(),
            ret,
            effects: Effects {
                kind: EffectKind::Pure,
                can_raise: false,
            },
        }
    }

    extern "C" fn five(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
        a + 10 * b + 100 * c + 1000 * d + 10000 * e
    }
    extern "C" fn int_lt_float(i: i64, f: f64) -> u64 {
        ((i as f64) < f) as u64
    }
    extern "C" fn float_lt_int(f: f64, i: i64) -> u64 {
        (f < i as f64) as u64
    }
    extern "C" fn store_float(t: u64, k: u64, v: f64) -> u64 {
        t + k + v as u64
    }
    extern "C" fn store_float_at(t: u64, kt: u64, k: u64, v: f64) -> u64 {
        t * kt * k + v as u64
    }
    extern "C" fn three_to_float(a: u64, b: u64, c: u64) -> f64 {
        (a + b + c) as f64 / 2.0
    }

    fn run(c: &CallDescr, args: &[u64]) -> u64 {
        assert!(interpreter_supports_call(c), "{c:?}");
        // SAFETY: each descriptor above names a function of its signature.
        unsafe { call(c, args) }
    }

    #[test]
    fn mixed_and_wide_call_shapes() {
        use Type::{Float, Int, Ref};
        let f = |x: f64| x.to_bits();
        let c = descr(five as *const () as usize, &[Ref, Int, Ref, Int, Int], Int);
        assert_eq!(run(&c, &[1, 2, 3, 4, 5]), 54321);
        let c = descr(int_lt_float as *const () as usize, &[Int, Float], Int);
        assert_eq!(run(&c, &[2, f(2.5)]), 1);
        assert_eq!(run(&c, &[3, f(2.5)]), 0);
        let c = descr(float_lt_int as *const () as usize, &[Float, Int], Int);
        assert_eq!(run(&c, &[f(2.5), 3]), 1);
        let c = descr(store_float as *const () as usize, &[Ref, Int, Float], Int);
        assert_eq!(run(&c, &[100, 20, f(3.0)]), 123);
        let c = descr(
            store_float_at as *const () as usize,
            &[Ref, Int, Ref, Float],
            Int,
        );
        assert_eq!(run(&c, &[2, 3, 4, f(5.0)]), 29);
        let c = descr(
            three_to_float as *const () as usize,
            &[Ref, Int, Int],
            Float,
        );
        assert_eq!(f64::from_bits(run(&c, &[1, 2, 4])), 3.5);
    }

    #[test]
    fn unsupported_shapes_are_refused_before_running() {
        use Type::{Float, Int};
        let c = descr(0, &[Float, Float, Float], Int);
        assert!(!interpreter_supports_call(&c));
        let c = descr(0, &[Int; 7], Int);
        assert!(!interpreter_supports_call(&c));
    }
}
