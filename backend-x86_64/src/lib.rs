//! An x86-64 backend for meta-tracer loop traces, built on Cranelift.
//!
//! # Shape of the generated code
//!
//! Every optimized loop [`Trace`] becomes one native function with the C
//! signature `extern "C" fn(buf: *mut u64, ctx: *mut ExecCtx) -> u32`, built
//! with `cranelift-frontend`:
//!
//! ```text
//! entry(buf, ctx):                      ; loads trace input k from buf[k]
//!     v0 = load buf+0; v1 = load buf+8; ...
//!     jump header(v0, v1, ...)
//! header(i0, i1, ...):                  ; block params = the trace inputs
//!     ...body...
//!     brif fail, exit_3, cont_1         ; one per guard
//! cont_1:
//!     ...body...
//!     [ctx.iterations += 1]             ; with CompileOptions::count_iterations
//!     jump header(jump operands)        ; the trace's final `jump`
//! exit_3 (cold):                        ; one per snapshot
//!     store operand_0 -> buf+0; store operand_1 -> buf+8; ...
//!     return 3                          ; the snapshot index
//! exit_4 (cold):                        ; same operands as exit_5:
//!     jump stores_a(4)                  ; shared stores (see below)
//! exit_5 (cold):
//!     jump stores_a(5)
//! stores_a(sid) (cold):
//!     store ...; return sid
//! ```
//!
//! A peeled trace (one with an inner `label`, see
//! `meta_tracer::optimize::peel`) has the same entry and header; the
//! header block holds the preamble, which ends where the label was:
//!
//! ```text
//! header(i0, i1, ...):
//!     ...preamble, with its guards...
//!     [ctx.iterations += 1]             ; the preamble's iteration
//!     jump loop(label operands)
//! loop(i9, i10, ...):                   ; block params = the label's
//!     ...loop, with its guards...
//!     [ctx.iterations += 1]
//!     jump loop(jump operands)
//! ```
//!
//! Preamble values dominate the loop, so the loop and its exits use them
//! directly: a loop guard's exit block may store preamble values.
//!
//! The trace is already in SSA form with values that never change, so the
//! lowering maps every IR [`Value`] directly to one Cranelift value and does
//! not use the frontend's variable machinery at all; the only block
//! parameters are the loop header's (and, in a peeled trace, the loop
//! block's). Integers and references are `i64`,
//! floats are `f64`. Constants are materialized as `iconst`/`f64const` at
//! each use, so the instruction selector can fold them into immediates.
//! Because the IR itself is untyped at the bit level (the IR interpreter
//! moves raw 64-bit words), an operand whose Cranelift type differs from
//! what an operation needs is `bitcast` rather than rejected; this keeps the
//! backend's semantics identical to [`IrInterpreter`] for any trace that
//! passes [`Trace::verify`].
//!
//! Semantics follow [`meta_tracer::backend::eval_pure`] exactly:
//!
//! * integer arithmetic wraps; shifts use Cranelift's `ishl`/`sshr`/`ushr`,
//!   whose amounts are masked by 63 for `i64`, as in the IR;
//! * `int_add_ovf`/`int_sub_ovf`/`int_mul_ovf` use `sadd_overflow`,
//!   `ssub_overflow`, `smul_overflow` and branch to the guard's exit on the
//!   overflow flag (Cranelift 0.135 materializes the flag: `add; seto;
//!   test; jnz`, two instructions more than a bare `jo`);
//! * comparisons produce 0/1 as an `i64` (`icmp`/`fcmp` then `uextend`); a
//!   guard on a comparison is fused by the instruction selector into
//!   `cmp; jcc`. Float comparisons use ordered conditions, except `float_ne`,
//!   which is `FloatCC::NotEqual` (true for unordered operands, as in Rust);
//! * `cast_float_to_int` is `fcvt_to_sint_sat`: saturating, NaN to 0,
//!   exactly Rust's `f64 as i64`;
//! * loads of 1-, 2- and 4-byte fields and array items zero-extend
//!   (`uload8/16/32`), stores truncate (`istore8/16/32`);
//! * `call` is a `call_indirect` to the descriptor's constant address with a
//!   System V signature built from its argument and result types.
//!
//! # Exit protocol
//!
//! This is the protocol of [`meta_tracer::backend`]: when a guard fails, its
//! exit block writes the operands of [`Snapshot::exit_operands`] to `buf[0..]`
//! in order (constants as immediates, floats as their IEEE bits) and returns
//! the snapshot index. Exit blocks are marked cold (`set_cold_block`), so the
//! register allocator and block layout favour the loop body and all exits
//! sit after the loop. Guards that refer to the *same* snapshot share one
//! exit block: they store the same operands and return the same index, and
//! [`Trace::verify`] guarantees that all those operands are defined before
//! the first such guard, so the shared block is dominated by their
//! definitions. Snapshots whose exit operands are the same list (they
//! differ only in where the interpreter resumes, as consecutive guards of
//! one bytecode instruction often do) share the block of stores: each
//! one's exit block passes its index to it as a block parameter. That
//! argument holds for them too (the first guard in trace order dominates
//! the others). On havlak's traces this cut the code by 13-28% and the
//! compile time by 6%.
//!
//! # One JIT module per trace
//!
//! Cranelift's JIT cannot free individual functions, only whole
//! [`JITModule`]s (`JITModule::free_memory`). Each [`NativeTrace`] therefore
//! owns the module its function was compiled into, and frees it on drop; a
//! trace that is invalidated or replaced gives its code pages back
//! immediately. The cost is at least one page of code memory per trace and
//! a fresh `mmap`/`mprotect` per compilation (measured as a small part of
//! the compile time; see the crate's `benches/compile.rs`). The target ISA
//! (host CPU feature detection and settings) is built once per
//! [`CraneliftBackend`] and shared by all modules, as are the reusable
//! `Context`/`FunctionBuilderContext` allocations.
//!
//! # Bridges (future work)
//!
//! Compiled code cannot be patched after `finalize_definitions`. To link a
//! bridge (a trace compiled later from a hot guard exit), each guard that
//! may get a bridge gets a slot, an `AtomicUsize` owned by the compiled
//! trace whose address is embedded in the code as a constant. The exit
//! block stores the exit operands into `buf` as today, then loads the slot:
//! if it is null it returns the snapshot index as today; otherwise it
//! performs `return_call_indirect slot(buf, ctx)`, so the bridge starts with
//! exactly the protocol a trace entry has (its inputs are that exit's
//! operands, in `buf`). Attaching a bridge is one atomic store of its entry
//! address into the slot, detaching stores null again; nothing is patched.
//! A bridge ending in a jump to a loop stores its jump operands into `buf`
//! and tail-calls that loop. `tests/bridge_prototype.rs` runs this pattern
//! and pins down two constraints of Cranelift 0.135: tail calls need the
//! `tail` calling convention on both sides (the verifier rejects
//! `system_v`), so a trace that may get bridges becomes a `tail` function
//! entered from Rust through a small System V shim in the same module; and
//! x86-64 tail calls need `preserve_frame_pointers=true`, already set here.
//! Two interface points for the driver: after a chain of tail calls the
//! returned snapshot index belongs to whichever trace returned last, so each
//! exit must also record its trace's identity (e.g. a `trace_id` word in
//! `ExecCtx`, written by the exit block next to the return); and since each
//! trace still owns its own module, a slot must be cleared before the bridge
//! it points to is freed.
//!
//! # STM barriers (future work)
//!
//! `stm_read_barrier`, `stm_write_barrier` and `stm_become_inevitable` are
//! rejected with [`CompileError::Unsupported`] today. They will be emitted
//! against a per-thread segment base held in a pinned register: Cranelift's
//! `enable_pinned_reg` setting reserves r15 on x86-64 (the register
//! allocator never uses it), readable with `get_pinned_reg`. r15 is
//! callee-saved in System V, so Rust helpers called from a trace preserve
//! it; the entry block sets it with `set_pinned_reg` from a new `ExecCtx`
//! field holding the thread's STM base, so no thread-local lookup happens
//! inside the loop. A read barrier is then a branch-free store of the
//! transaction's read version at `base + (obj >> 4)` (4 instructions), a
//! write barrier a test of the object's header flag (3 instructions) with
//! the slow path, a call into stm-core, in a cold block like a guard exit,
//! and `stm_become_inevitable` a call. The barriers are explicit IR
//! operations, so their placement stays an optimizer pass.
//!
//! # Dumps
//!
//! With [`CompileOptions::keep_dumps`], [`CompiledTrace::dumps`] returns
//! `("cranelift-ir", ..)`, the CLIF text of the function as built (before
//! Cranelift's own passes), and `("disassembly", ..)`, Cranelift's VCode
//! text after register allocation and emission (`Context::set_disasm`):
//! real x86-64 instructions in AT&T syntax with block labels. The `disas`
//! feature (capstone) is not used: it adds a C library build for little
//! gain over the VCode text. `examples/dump.rs` prints both for a trace file.
//!
//! # Compilation settings
//!
//! See [`BackendSettings`]. The defaults were chosen by measurement
//! (`benches/compile.rs`, synthetic traces with a guard every few
//! operations and four values per exit; CPU time per compilation on this
//! 2-core machine, via `examples/profile_compile.rs`):
//!
//! | setting                        | 100 ops     | 1000 ops  | code (1000 ops) |
//! |--------------------------------|-------------|-----------|-----------------|
//! | **none** (default)             | 0.45–0.6 ms | 4–5 ms    | 16 KB           |
//! | none + verifier                | 1.2–1.8x    | 1.2–1.3x  | same            |
//! | speed                          | 1.5–2x      | 3.5–5x    | 162 KB          |
//! | none + single-pass regalloc    | 0.6–0.8x    | 0.7–0.9x  | 49 KB           |
//!
//! A 10-operation trace costs 65–115 µs, mostly fixed costs (module and
//! code pages, register allocator set-up). `opt_level=speed` is a loss for
//! traces: the optimizer has already done the IR-level work, and
//! Cranelift's e-graph elaboration sinks pure computations into every cold
//! exit that uses them, so a chain of operations is recomputed in each exit
//! (quadratic code growth); the run time of a tight arithmetic loop
//! improved by only about 5%. The single-pass allocator compiles faster but
//! produces 3x the code with many spills. The IR verifier is on in debug
//! builds only. About a third of the compile time of a guard-heavy trace is
//! due to the exit blocks (their stores extend the live ranges the register
//! allocator must handle); register allocation is about half of
//! Cranelift's time and instruction selection a quarter.
//!
//! # Errors
//!
//! Inputs are validated before any Cranelift call ([`Trace::verify`], a
//! final `jump`, descriptor kinds matching opcodes, access widths of 1, 2, 4
//! or 8 bytes, call arities), so that no malformed trace reaches the code
//! generator: malformed traces give [`CompileError::Invalid`], `new` and the
//! STM barriers [`CompileError::Unsupported`], and any code generator
//! failure [`CompileError::Codegen`]. As a last line of defence a panic
//! inside Cranelift is caught (`catch_unwind`) and returned as `Codegen`
//! (this needs `panic=unwind`, the default), and the backend's reusable
//! contexts are reset so the next compilation starts clean.
//!
//! [`IrInterpreter`]: meta_tracer::backend::IrInterpreter
//! [`Snapshot::exit_operands`]: meta_tracer::ir::Snapshot::exit_operands
//! [`Value`]: meta_tracer::ir::Value
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::Ieee64;
use cranelift_codegen::ir::{
    types, AbiParam, Block, InstBuilder, MemFlagsData, SigRef, Signature, Value as ClValue,
};
use cranelift_codegen::isa::{OwnedTargetIsa, TargetFrontendConfig};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::{CodegenError, Context};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Module, ModuleError};
use meta_tracer::backend::{Backend, CompileError, CompileOptions, CompiledTrace, ExecCtx};
use meta_tracer::ir::{ArrayDescr, CallDescr, Descr, FieldDescr, Op, Opcode, Operand, Trace, Type};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Cranelift optimization level used for traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptLevel {
    /// No IR optimization (`opt_level=none`): fastest compilation.
    None,
    /// Cranelift's e-graph optimizations, alias analysis (`opt_level=speed`).
    Speed,
}

/// Register allocator choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegallocAlgorithm {
    /// Backtracking allocator with live-range splitting (better code).
    Backtracking,
    /// Single-pass allocator (faster compilation, more spills).
    SinglePass,
}

/// Code generator settings for a [`CraneliftBackend`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackendSettings {
    /// Cranelift's optimization level.
    pub opt_level: OptLevel,
    /// Run Cranelift's IR verifier before code generation (adds 20–80% to
    /// compile time; catches backend bugs as `CompileError::Codegen`).
    pub verify: bool,
    /// Which register allocator to run.
    pub regalloc: RegallocAlgorithm,
}

impl Default for BackendSettings {
    /// `opt_level=none`, backtracking allocator, verifier in debug builds.
    fn default() -> Self {
        BackendSettings {
            opt_level: OptLevel::None,
            verify: cfg!(debug_assertions),
            regalloc: RegallocAlgorithm::Backtracking,
        }
    }
}

/// The Cranelift backend: compiles loop traces to x86-64 machine code.
pub struct CraneliftBackend {
    isa: OwnedTargetIsa,
    settings: BackendSettings,
    ctx: Context,
    fctx: FunctionBuilderContext,
}

impl std::fmt::Debug for CraneliftBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CraneliftBackend")
            .field("isa", &self.isa.name())
            .field("settings", &self.settings)
            .finish()
    }
}

impl CraneliftBackend {
    /// A backend for the host CPU with [`BackendSettings::default`].
    pub fn new() -> Result<Self, CompileError> {
        Self::with_settings(BackendSettings::default())
    }

    /// A backend for the host CPU with the given settings. Fails (with
    /// [`CompileError::Codegen`]) if the host is not x86-64 (the code this
    /// backend emits and its documented register conventions are x86-64
    /// specific) or Cranelift cannot target it.
    pub fn with_settings(settings: BackendSettings) -> Result<Self, CompileError> {
        let cg = |e: &dyn std::fmt::Display| CompileError::Codegen(e.to_string());
        let host = target_lexicon::Triple::host();
        if host.architecture != target_lexicon::Architecture::X86_64 {
            return Err(CompileError::Codegen(format!(
                "backend-x86_64 needs an x86-64 host, not {host}"
            )));
        }
        let mut flags = settings::builder();
        let opt = match settings.opt_level {
            OptLevel::None => "none",
            OptLevel::Speed => "speed",
        };
        let regalloc = match settings.regalloc {
            RegallocAlgorithm::Backtracking => "backtracking",
            RegallocAlgorithm::SinglePass => "single_pass",
        };
        let verifier = if settings.verify { "true" } else { "false" };
        for (name, value) in [
            ("opt_level", opt),
            ("enable_verifier", verifier),
            ("regalloc_algorithm", regalloc),
            // Absolute addresses everywhere: JIT code is not relocated.
            ("is_pic", "false"),
            ("use_colocated_libcalls", "false"),
            // Frame pointers make native profilers and debuggers walk
            // through trace frames, and are needed for tail calls (bridges).
            ("preserve_frame_pointers", "true"),
            // No unwinder ever walks through trace code: Rust panics cannot
            // cross `extern "C"` callees, and traces raise nothing.
            ("unwind_info", "false"),
        ] {
            flags.set(name, value).map_err(|e| cg(&e))?;
        }
        // Host CPU features (SSE4.1, AVX, BMI, ...) detected by cranelift-native.
        let isa_builder = cranelift_native::builder().map_err(|e| cg(&e))?;
        let isa = isa_builder
            .finish(settings::Flags::new(flags))
            .map_err(|e| cg(&e))?;
        Ok(CraneliftBackend {
            isa,
            settings,
            ctx: Context::new(),
            fctx: FunctionBuilderContext::new(),
        })
    }

    /// The settings this backend was created with.
    pub fn settings(&self) -> BackendSettings {
        self.settings
    }

    /// Compiles a loop trace, returning the concrete compiled trace (the
    /// [`Backend`] implementation boxes this).
    pub fn compile_native(
        &mut self,
        trace: &Trace,
        opts: &CompileOptions,
    ) -> Result<NativeTrace, CompileError> {
        validate(trace)?;
        let result = catch_unwind(AssertUnwindSafe(|| self.compile_unchecked(trace, opts)));
        match result {
            Ok(r) => {
                if r.is_err() {
                    // A lowering error can leave the builder context
                    // half-used: start the next compilation from scratch.
                    self.fctx = FunctionBuilderContext::new();
                }
                self.ctx.clear();
                r
            }
            Err(payload) => {
                // Cranelift's state may be inconsistent after a panic: start
                // from fresh contexts.
                self.ctx = Context::new();
                self.fctx = FunctionBuilderContext::new();
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(CompileError::Codegen(format!(
                    "code generator panicked: {msg}"
                )))
            }
        }
    }

    fn compile_unchecked(
        &mut self,
        trace: &Trace,
        opts: &CompileOptions,
    ) -> Result<NativeTrace, CompileError> {
        self.ctx.clear();
        let call_conv = self.isa.default_call_conv();
        let ptr = self.isa.pointer_type();
        let mut sig = Signature::new(call_conv);
        sig.params.push(AbiParam::new(ptr));
        sig.params.push(AbiParam::new(ptr));
        sig.returns.push(AbiParam::new(types::I32));
        self.ctx.func.signature = sig.clone();

        build_function(
            &mut self.ctx,
            &mut self.fctx,
            self.isa.frontend_config(),
            trace,
            opts,
        )?;

        let clif = opts.keep_dumps.then(|| self.ctx.func.display().to_string());
        self.ctx.set_disasm(opts.keep_dumps);

        let mut module = JITModule::new(JITBuilder::with_isa(
            self.isa.clone(),
            default_libcall_names(),
        ));
        let defined = (|| {
            let id = module
                .declare_anonymous_function(&sig)
                .map_err(|e| module_error(&self.ctx, e))?;
            module
                .define_function(id, &mut self.ctx)
                .map_err(|e| module_error(&self.ctx, e))?;
            let compiled = self.ctx.compiled_code().ok_or_else(|| {
                CompileError::Codegen("no compiled code after define_function".into())
            })?;
            let size = compiled.code_info().total_size as usize;
            let disasm = compiled.vcode.clone();
            module
                .finalize_definitions()
                .map_err(|e| module_error(&self.ctx, e))?;
            Ok((id, size, disasm))
        })();
        let (id, code_size, disasm) = match defined {
            Ok(x) => x,
            Err(e) => {
                // SAFETY: nothing from this module was ever handed out or
                // run; freeing its (possibly partial) allocations is sound.
                unsafe { module.free_memory() };
                return Err(e);
            }
        };
        let code = module.get_finalized_function(id);
        let mut dumps = Vec::new();
        if let Some(clif) = clif {
            dumps.push(("cranelift-ir".to_string(), clif));
            dumps.push(("disassembly".to_string(), disasm.unwrap_or_default()));
        }
        Ok(NativeTrace {
            module: Some(module),
            code,
            code_size,
            buffer_len: trace.inputs.len().max(trace.max_exit_values()),
            dumps,
        })
    }
}

impl Backend for CraneliftBackend {
    fn name(&self) -> &'static str {
        "cranelift-x86_64"
    }

    fn compile(
        &mut self,
        trace: &Trace,
        opts: &CompileOptions,
    ) -> Result<Box<dyn CompiledTrace>, CompileError> {
        Ok(Box::new(self.compile_native(trace, opts)?))
    }
}

fn module_error(ctx: &Context, e: ModuleError) -> CompileError {
    match e {
        ModuleError::Compilation(CodegenError::Verifier(errs)) => CompileError::Codegen(format!(
            "verifier: {}",
            cranelift_codegen::print_errors::pretty_verifier_error(&ctx.func, None, errs)
        )),
        e => CompileError::Codegen(e.to_string()),
    }
}

/// The native entry point's type.
type EntryFn = unsafe extern "C" fn(*mut u64, *mut ExecCtx) -> u32;

/// A compiled trace: machine code in its own JIT module, freed on drop.
pub struct NativeTrace {
    module: Option<JITModule>,
    code: *const u8,
    code_size: usize,
    buffer_len: usize,
    dumps: Vec<(String, String)>,
}

impl std::fmt::Debug for NativeTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeTrace")
            .field("code", &self.code)
            .field("code_size", &self.code_size)
            .field("buffer_len", &self.buffer_len)
            .finish()
    }
}

impl NativeTrace {
    /// Address of the native entry point
    /// (`extern "C" fn(buf: *mut u64, ctx: *mut ExecCtx) -> u32`); valid for
    /// as long as `self` lives.
    pub fn entry_address(&self) -> *const u8 {
        self.code
    }
}

// SAFETY: the machine code is immutable after finalization and reentrant
// (all state lives in the caller's buffer and context, and in the heap the
// caller vouches for), so it may be run from several threads at once. The
// only non-`Sync` part, the `JITModule` (interior `RefCell`s for symbol
// lookup), is never touched through `&self`: it is only used by `Drop`,
// which has exclusive access.
unsafe impl Sync for NativeTrace {}
// SAFETY: `JITModule` is `Send`; the raw entry pointer is just an address
// into memory owned by that module, valid on any thread.
unsafe impl Send for NativeTrace {}

impl Drop for NativeTrace {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the code can only be run through `run(&self, ..)`,
            // which cannot be executing while `self` is dropped; the entry
            // address handed out by `entry_address` is documented to die
            // with `self`.
            unsafe { module.free_memory() };
        }
    }
}

impl CompiledTrace for NativeTrace {
    unsafe fn run(&self, buf: &mut [u64], ctx: &mut ExecCtx) -> u32 {
        assert!(
            buf.len() >= self.buffer_len,
            "buffer of {} words, trace needs {}",
            buf.len(),
            self.buffer_len
        );
        // SAFETY: `code` is the finalized entry of a function compiled with
        // exactly this C signature, and the module owning it lives as long as
        // `self`.
        let f: EntryFn = unsafe { std::mem::transmute::<*const u8, EntryFn>(self.code) };
        // SAFETY: the buffer is long enough (checked above) and the caller
        // upholds `run`'s contract for heap references and call targets.
        unsafe { f(buf.as_mut_ptr(), ctx) }
    }

    fn buffer_len(&self) -> usize {
        self.buffer_len
    }

    fn code_size(&self) -> usize {
        self.code_size
    }

    fn dumps(&self) -> Vec<(String, String)> {
        self.dumps.clone()
    }
}

// ---------------------------------------------------------------------------
// Validation

fn invalid(what: String) -> CompileError {
    CompileError::Invalid(what)
}

fn check_size(size: u8) -> Result<(), CompileError> {
    match size {
        1 | 2 | 4 | 8 => Ok(()),
        s => Err(invalid(format!("unsupported access size {s}"))),
    }
}

/// Checks everything the lowering relies on, so that no malformed trace
/// reaches Cranelift.
fn validate(trace: &Trace) -> Result<(), CompileError> {
    trace.verify().map_err(CompileError::Invalid)?;
    if !trace.is_loop() {
        return Err(invalid("trace does not end in a jump".into()));
    }
    for inp in &trace.inputs {
        if inp.ty == Type::Void {
            return Err(invalid(format!("input {} has type void", inp.value.0)));
        }
    }
    for (i, op) in trace.ops.iter().enumerate() {
        validate_op(trace, i, op).map_err(|e| match e {
            CompileError::Invalid(msg) => invalid(format!("op {i} ({}): {msg}", op.opcode.name())),
            e => e,
        })?;
    }
    Ok(())
}

/// Checks one operation; errors name the problem, the caller adds where.
fn validate_op(trace: &Trace, i: usize, op: &Op) -> Result<(), CompileError> {
    match op.opcode {
        Opcode::New => {
            return Err(CompileError::Unsupported(
                "new (allocation needs a heap hook)".into(),
            ))
        }
        Opcode::StmReadBarrier | Opcode::StmWriteBarrier | Opcode::StmBecomeInevitable => {
            return Err(CompileError::Unsupported(op.opcode.name().into()))
        }
        _ => {}
    }
    let descr = op.descr.map(|d| trace.descr(d));
    match op.opcode {
        Opcode::GetField | Opcode::SetField | Opcode::GuardClass => match descr {
            Some(Descr::Field(f)) => check_size(f.size)?,
            _ => return Err(invalid("needs a field descriptor".into())),
        },
        Opcode::GetArrayItem | Opcode::SetArrayItem | Opcode::ArrayLen => match descr {
            Some(Descr::Array(a)) => check_size(a.item_size)?,
            _ => return Err(invalid("needs an array descriptor".into())),
        },
        Opcode::Call => match descr {
            Some(Descr::Call(c)) => {
                if c.args.len() != op.args.len() {
                    let (n, m) = (op.args.len(), c.args.len());
                    return Err(invalid(format!(
                        "{n} operands for {m} parameters of {}",
                        c.name
                    )));
                }
                if c.args.contains(&Type::Void) {
                    return Err(invalid(format!("void parameter in {}", c.name)));
                }
                if c.ret == Type::Void && op.result.is_some() {
                    return Err(invalid("void call defines a value".into()));
                }
            }
            _ => return Err(invalid("needs a call descriptor".into())),
        },
        _ => {}
    }
    if op.result.is_some() && trace.result_type(op.opcode, op.descr, &op.args) == Type::Void {
        return Err(invalid("operation without a result defines a value".into()));
    }
    if op.opcode == Opcode::Jump && i + 1 != trace.ops.len() {
        return Err(invalid("jump not at end".into()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Lowering

/// Memory flags for the exit buffer and `ExecCtx`: aligned, never trap.
fn trusted() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Memory flags for guest heap accesses: no alignment assumed.
fn heap() -> MemFlagsData {
    MemFlagsData::new()
}

fn cl_type(t: Type) -> types::Type {
    match t {
        Type::Float => types::F64,
        _ => types::I64,
    }
}

struct Lowerer<'a, 'f> {
    b: FunctionBuilder<'f>,
    trace: &'a Trace,
    /// Cranelift value of every IR value defined so far.
    vals: Vec<Option<ClValue>>,
    buf: ClValue,
    ctx: ClValue,
    /// Exit block of each snapshot that has a guard.
    exits: HashMap<u32, Block>,
    /// Imported call signatures, by (args, ret).
    sigs: HashMap<(Vec<Type>, Type), SigRef>,
    /// The loop block of a peeled trace, once its label has been lowered:
    /// the final jump's target (otherwise the header).
    loop_block: Option<Block>,
}

fn build_function(
    ctx: &mut Context,
    fctx: &mut FunctionBuilderContext,
    frontend_config: TargetFrontendConfig,
    trace: &Trace,
    opts: &CompileOptions,
) -> Result<(), CompileError> {
    let mut b = FunctionBuilder::new(&mut ctx.func, fctx);
    let entry = b.create_block();
    let header = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let (buf, exec) = (b.block_params(entry)[0], b.block_params(entry)[1]);
    let mut entry_args = Vec::with_capacity(trace.inputs.len());
    for (k, inp) in trace.inputs.iter().enumerate() {
        let ty = cl_type(inp.ty);
        b.append_block_param(header, ty);
        entry_args.push(b.ins().load(ty, trusted(), buf, (8 * k) as i32).into());
    }
    b.ins().jump(header, &entry_args);
    b.switch_to_block(header);
    let mut vals = vec![None; trace.value_types.len()];
    for (k, inp) in trace.inputs.iter().enumerate() {
        vals[inp.value.0 as usize] = Some(b.block_params(header)[k]);
    }
    let mut l = Lowerer {
        b,
        trace,
        vals,
        buf,
        ctx: exec,
        exits: HashMap::new(),
        sigs: HashMap::new(),
        loop_block: None,
    };
    for op in &trace.ops {
        l.op(op, header, opts)?;
    }
    l.emit_exits()?;
    l.b.seal_all_blocks();
    l.b.finalize(frontend_config);
    Ok(())
}

impl Lowerer<'_, '_> {
    fn operand(&mut self, o: Operand) -> Result<ClValue, CompileError> {
        Ok(match o {
            Operand::Val(v) => self
                .vals
                .get(v.0 as usize)
                .copied()
                .flatten()
                .ok_or_else(|| CompileError::Codegen(format!("value {} has no definition", v.0)))?,
            Operand::Int(i) => self.b.ins().iconst(types::I64, i),
            Operand::Ref(a) => self.b.ins().iconst(types::I64, a as i64),
            Operand::Float(bits) => self.b.ins().f64const(Ieee64::with_bits(bits)),
        })
    }

    /// The operand as an `i64` (floats reinterpreted bit for bit).
    fn int(&mut self, o: Operand) -> Result<ClValue, CompileError> {
        let v = self.operand(o)?;
        Ok(self.as_type(v, types::I64))
    }

    /// The operand as an `f64` (integers reinterpreted bit for bit).
    fn float(&mut self, o: Operand) -> Result<ClValue, CompileError> {
        let v = self.operand(o)?;
        Ok(self.as_type(v, types::F64))
    }

    fn as_type(&mut self, v: ClValue, ty: types::Type) -> ClValue {
        if self.b.func.dfg.value_type(v) == ty {
            v
        } else {
            self.b.ins().bitcast(ty, MemFlagsData::new(), v)
        }
    }

    /// `ctx.iterations += 1`, when counting.
    fn count_iteration(&mut self, opts: &CompileOptions) {
        if opts.count_iterations {
            let off = std::mem::offset_of!(ExecCtx, iterations) as i32;
            let n = self.b.ins().load(types::I64, trusted(), self.ctx, off);
            let n = self.b.ins().iadd_imm_s(n, 1);
            self.b.ins().store(trusted(), n, self.ctx, off);
        }
    }

    fn define(&mut self, op: &Op, v: ClValue) {
        if let Some(r) = op.result {
            self.vals[r.0 as usize] = Some(v);
        }
    }

    fn bool_result(&mut self, c: ClValue) -> ClValue {
        self.b.ins().uextend(types::I64, c)
    }

    /// Leaves the trace through `snapshot`'s exit when `cond` is nonzero
    /// (`fail_if_nonzero`) or zero (otherwise).
    fn guard(&mut self, op: &Op, cond: ClValue, fail_if_nonzero: bool) -> Result<(), CompileError> {
        let sid = op
            .snapshot
            .ok_or_else(|| invalid("guard without snapshot".into()))?;
        let exit = match self.exits.get(&sid.0) {
            Some(&e) => e,
            None => {
                let e = self.b.create_block();
                self.b.set_cold_block(e);
                self.exits.insert(sid.0, e);
                e
            }
        };
        let cont = self.b.create_block();
        if fail_if_nonzero {
            self.b.ins().brif(cond, exit, &[], cont, &[]);
        } else {
            self.b.ins().brif(cond, cont, &[], exit, &[]);
        }
        self.b.switch_to_block(cont);
        self.b.seal_block(cont);
        Ok(())
    }

    fn emit_exits(&mut self) -> Result<(), CompileError> {
        let mut exits: Vec<(u32, Block)> = self.exits.iter().map(|(s, b)| (*s, *b)).collect();
        exits.sort_unstable_by_key(|(s, _)| *s);
        // Snapshots whose exits store the same operands (they differ only
        // in where the interpreter resumes) share one block of stores: each
        // exit block just passes its snapshot index there.
        let mut groups: HashMap<Vec<Operand>, Vec<(u32, Block)>> = HashMap::new();
        let mut order: Vec<Vec<Operand>> = Vec::new();
        for (sid, block) in exits {
            let snap = self
                .trace
                .snapshots
                .get(sid as usize)
                .ok_or_else(|| invalid(format!("bad snapshot {sid}")))?;
            let key = snap.exit_operands();
            let group = groups.entry(key.clone()).or_default();
            if group.is_empty() {
                order.push(key);
            }
            group.push((sid, block));
        }
        for key in order {
            let group = &groups[&key];
            if let [(sid, block)] = group[..] {
                self.b.switch_to_block(block);
                self.store_exit_operands(&key)?;
                let idx = self.b.ins().iconst(types::I32, i64::from(sid));
                self.b.ins().return_(&[idx]);
                continue;
            }
            let shared = self.b.create_block();
            self.b.set_cold_block(shared);
            let idx = self.b.append_block_param(shared, types::I32);
            for &(sid, block) in group {
                self.b.switch_to_block(block);
                let v = self.b.ins().iconst(types::I32, i64::from(sid));
                self.b.ins().jump(shared, &[v.into()]);
            }
            self.b.switch_to_block(shared);
            self.store_exit_operands(&key)?;
            self.b.ins().return_(&[idx]);
        }
        Ok(())
    }

    /// Writes exit operands to `buf[0..]` in order.
    fn store_exit_operands(&mut self, operands: &[Operand]) -> Result<(), CompileError> {
        for (k, &o) in operands.iter().enumerate() {
            let v = match o.const_bits() {
                // Constants (floats included) are stored as integer
                // immediates: no constant-pool load in the exit path.
                Some(bits) => self.b.ins().iconst(types::I64, bits as i64),
                None => self.operand(o)?,
            };
            self.b.ins().store(trusted(), v, self.buf, (8 * k) as i32);
        }
        Ok(())
    }

    /// Loads `size` bytes at `addr + offset` as a value of IR type `ty`
    /// (sub-word loads zero-extend).
    fn load_sized(&mut self, ty: Type, size: u8, addr: ClValue, offset: i32) -> ClValue {
        let ins = self.b.ins();
        let bits = match size {
            1 => ins.uload8(types::I64, heap(), addr, offset),
            2 => ins.uload16(types::I64, heap(), addr, offset),
            4 => ins.uload32(heap(), addr, offset),
            _ => return ins.load(cl_type(ty), heap(), addr, offset),
        };
        self.as_type(bits, cl_type(ty))
    }

    /// Stores the low `size` bytes of `v` at `addr + offset`.
    fn store_sized(&mut self, size: u8, v: ClValue, addr: ClValue, offset: i32) {
        if size == 8 {
            self.b.ins().store(heap(), v, addr, offset);
            return;
        }
        let v = self.as_type(v, types::I64);
        let ins = self.b.ins();
        match size {
            1 => ins.istore8(heap(), v, addr, offset),
            2 => ins.istore16(heap(), v, addr, offset),
            _ => ins.istore32(heap(), v, addr, offset),
        };
    }

    /// Address and constant offset of item `index` of the array in `base`.
    /// A constant index is folded into the offset when it fits.
    fn item_addr(
        &mut self,
        a: &ArrayDescr,
        base: ClValue,
        index: Operand,
    ) -> Result<(ClValue, i32), CompileError> {
        let (items, items_offset) = if a.indirect {
            (
                self.b.ins().load(types::I64, heap(), base, a.items_offset),
                0,
            )
        } else {
            (base, a.items_offset)
        };
        let folded = index
            .as_int()
            .and_then(|c| c.checked_mul(i64::from(a.item_size)))
            .and_then(|c| c.checked_add(i64::from(items_offset)))
            .and_then(|c| i32::try_from(c).ok());
        if let Some(off) = folded {
            return Ok((items, off));
        }
        let index = self.int(index)?;
        let scaled = match a.item_size {
            1 => index,
            s => self
                .b
                .ins()
                .ishl_imm_u(index, i64::from(s.trailing_zeros())),
        };
        Ok((self.b.ins().iadd(items, scaled), items_offset))
    }

    fn field(&self, op: &Op) -> Result<FieldDescr, CompileError> {
        match op.descr.map(|d| self.trace.descr(d)) {
            Some(Descr::Field(f)) => Ok(f.clone()),
            _ => Err(invalid(format!(
                "{} needs a field descriptor",
                op.opcode.name()
            ))),
        }
    }

    fn array(&self, op: &Op) -> Result<ArrayDescr, CompileError> {
        match op.descr.map(|d| self.trace.descr(d)) {
            Some(Descr::Array(a)) => Ok(a.clone()),
            _ => Err(invalid(format!(
                "{} needs an array descriptor",
                op.opcode.name()
            ))),
        }
    }

    fn call_sig(&mut self, c: &CallDescr) -> SigRef {
        let key = (c.args.to_vec(), c.ret);
        if let Some(s) = self.sigs.get(&key) {
            return *s;
        }
        let mut sig = Signature::new(self.b.func.signature.call_conv);
        sig.params
            .extend(c.args.iter().map(|t| AbiParam::new(cl_type(*t))));
        if c.ret != Type::Void {
            sig.returns.push(AbiParam::new(cl_type(c.ret)));
        }
        let r = self.b.import_signature(sig);
        self.sigs.insert(key, r);
        r
    }

    fn op(&mut self, op: &Op, header: Block, opts: &CompileOptions) -> Result<(), CompileError> {
        use Opcode::*;
        let a = &op.args;
        match op.opcode {
            IntAdd | IntSub | IntMul | IntAnd | IntOr | IntXor | IntShl | IntShr | UintShr => {
                let (x, y) = (self.int(a[0])?, self.int(a[1])?);
                let ins = self.b.ins();
                let r = match op.opcode {
                    IntAdd => ins.iadd(x, y),
                    IntSub => ins.isub(x, y),
                    IntMul => ins.imul(x, y),
                    IntAnd => ins.band(x, y),
                    IntOr => ins.bor(x, y),
                    IntXor => ins.bxor(x, y),
                    IntShl => ins.ishl(x, y),
                    IntShr => ins.sshr(x, y),
                    _ => ins.ushr(x, y),
                };
                self.define(op, r);
            }
            IntNeg => {
                let x = self.int(a[0])?;
                let r = self.b.ins().ineg(x);
                self.define(op, r);
            }
            IntNot => {
                let x = self.int(a[0])?;
                let r = self.b.ins().bnot(x);
                self.define(op, r);
            }
            IntLt | IntLe | IntEq | IntNe | IntGt | IntGe | PtrEq | PtrNe => {
                let cc = match op.opcode {
                    IntLt => IntCC::SignedLessThan,
                    IntLe => IntCC::SignedLessThanOrEqual,
                    IntEq | PtrEq => IntCC::Equal,
                    IntNe | PtrNe => IntCC::NotEqual,
                    IntGt => IntCC::SignedGreaterThan,
                    _ => IntCC::SignedGreaterThanOrEqual,
                };
                let (x, y) = (self.int(a[0])?, self.int(a[1])?);
                let c = self.b.ins().icmp(cc, x, y);
                let r = self.bool_result(c);
                self.define(op, r);
            }
            IntIsTrue => {
                let x = self.int(a[0])?;
                let c = self.b.ins().icmp_imm_s(IntCC::NotEqual, x, 0);
                let r = self.bool_result(c);
                self.define(op, r);
            }
            IntAddOvf | IntSubOvf | IntMulOvf => {
                let (x, y) = (self.int(a[0])?, self.int(a[1])?);
                let ins = self.b.ins();
                let (r, ovf) = match op.opcode {
                    IntAddOvf => ins.sadd_overflow(x, y),
                    IntSubOvf => ins.ssub_overflow(x, y),
                    _ => ins.smul_overflow(x, y),
                };
                self.guard(op, ovf, true)?;
                self.define(op, r);
            }
            FloatAdd | FloatSub | FloatMul | FloatDiv => {
                let (x, y) = (self.float(a[0])?, self.float(a[1])?);
                let ins = self.b.ins();
                let r = match op.opcode {
                    FloatAdd => ins.fadd(x, y),
                    FloatSub => ins.fsub(x, y),
                    FloatMul => ins.fmul(x, y),
                    _ => ins.fdiv(x, y),
                };
                self.define(op, r);
            }
            FloatNeg => {
                let x = self.float(a[0])?;
                let r = self.b.ins().fneg(x);
                self.define(op, r);
            }
            FloatAbs => {
                let x = self.float(a[0])?;
                let r = self.b.ins().fabs(x);
                self.define(op, r);
            }
            FloatLt | FloatLe | FloatEq | FloatNe | FloatGt | FloatGe => {
                let cc = match op.opcode {
                    FloatLt => FloatCC::LessThan,
                    FloatLe => FloatCC::LessThanOrEqual,
                    FloatEq => FloatCC::Equal,
                    // Unordered or not equal: true when either is NaN.
                    FloatNe => FloatCC::NotEqual,
                    FloatGt => FloatCC::GreaterThan,
                    _ => FloatCC::GreaterThanOrEqual,
                };
                let (x, y) = (self.float(a[0])?, self.float(a[1])?);
                let c = self.b.ins().fcmp(cc, x, y);
                let r = self.bool_result(c);
                self.define(op, r);
            }
            CastIntToFloat => {
                let x = self.int(a[0])?;
                let r = self.b.ins().fcvt_from_sint(types::F64, x);
                self.define(op, r);
            }
            CastFloatToInt => {
                let x = self.float(a[0])?;
                let r = self.b.ins().fcvt_to_sint_sat(types::I64, x);
                self.define(op, r);
            }
            SameAs => {
                let x = self.operand(a[0])?;
                self.define(op, x);
            }
            GuardTrue | GuardFalse | GuardNonNull => {
                let x = self.int(a[0])?;
                self.guard(op, x, op.opcode == GuardFalse)?;
            }
            GuardValue => {
                let (x, y) = (self.int(a[0])?, self.int(a[1])?);
                let ne = self.b.ins().icmp(IntCC::NotEqual, x, y);
                self.guard(op, ne, true)?;
            }
            GuardClass => {
                let f = self.field(op)?;
                let obj = self.int(a[0])?;
                let cls = self.load_sized(Type::Int, f.size, obj, f.offset);
                let want = self.int(a[1])?;
                let ne = self.b.ins().icmp(IntCC::NotEqual, cls, want);
                self.guard(op, ne, true)?;
            }
            GetField => {
                let f = self.field(op)?;
                let obj = self.int(a[0])?;
                let r = self.load_sized(f.ty, f.size, obj, f.offset);
                self.define(op, r);
            }
            SetField => {
                let f = self.field(op)?;
                let obj = self.int(a[0])?;
                let v = self.operand(a[1])?;
                self.store_sized(f.size, v, obj, f.offset);
            }
            ArrayLen => {
                let d = self.array(op)?;
                let obj = self.int(a[0])?;
                let r = self.b.ins().load(types::I64, heap(), obj, d.len_offset);
                self.define(op, r);
            }
            GetArrayItem => {
                let d = self.array(op)?;
                let obj = self.int(a[0])?;
                let (addr, off) = self.item_addr(&d, obj, a[1])?;
                let r = self.load_sized(d.item_ty, d.item_size, addr, off);
                self.define(op, r);
            }
            SetArrayItem => {
                let d = self.array(op)?;
                let obj = self.int(a[0])?;
                let v = self.operand(a[2])?;
                let (addr, off) = self.item_addr(&d, obj, a[1])?;
                self.store_sized(d.item_size, v, addr, off);
            }
            Call => {
                let c = match op.descr.map(|d| self.trace.descr(d)) {
                    Some(Descr::Call(c)) => c.clone(),
                    _ => return Err(invalid("call needs a call descriptor".into())),
                };
                let mut args = Vec::with_capacity(a.len());
                for (o, t) in a.iter().zip(c.args.iter()) {
                    let v = self.operand(*o)?;
                    args.push(self.as_type(v, cl_type(*t)));
                }
                let sig = self.call_sig(&c);
                let callee = self.b.ins().iconst(types::I64, c.addr as i64);
                let call = self.b.ins().call_indirect(sig, callee, &args);
                if let Some(&r) = self.b.inst_results(call).first() {
                    self.define(op, r);
                }
            }
            Label => {
                // The preamble's iteration is complete: enter the loop
                // block, whose parameters are the label's.
                let block = self.b.create_block();
                let mut args = Vec::with_capacity(a.len());
                for (o, p) in a.iter().zip(&op.params) {
                    let ty = cl_type(self.trace.type_of(*p));
                    self.b.append_block_param(block, ty);
                    let v = self.operand(*o)?;
                    args.push(self.as_type(v, ty).into());
                }
                self.count_iteration(opts);
                self.b.ins().jump(block, &args);
                self.b.switch_to_block(block);
                for (k, p) in op.params.iter().enumerate() {
                    self.vals[p.0 as usize] = Some(self.b.block_params(block)[k]);
                }
                self.loop_block = Some(block);
            }
            Jump => {
                let tys = self.trace.loop_param_types();
                let mut args = Vec::with_capacity(a.len());
                for (o, ty) in a.iter().zip(tys) {
                    let v = self.operand(*o)?;
                    args.push(self.as_type(v, cl_type(ty)).into());
                }
                self.count_iteration(opts);
                self.b.ins().jump(self.loop_block.unwrap_or(header), &args);
            }
            New | StmReadBarrier | StmWriteBarrier | StmBecomeInevitable => {
                return Err(CompileError::Unsupported(op.opcode.name().into()))
            }
        }
        Ok(())
    }
}
