//! De-risking the bridge design described in the crate documentation (not
//! yet used by the backend): a guard exit that tail-calls through a mutable
//! slot, so a bridge compiled later is attached by one store, with no code
//! patching. Findings pinned down by this test, with Cranelift 0.135:
//!
//! * `return_call_indirect` needs caller and callee to use the `tail`
//!   calling convention (the verifier rejects `system_v`), so traces that
//!   may get bridges must be `tail` functions, entered from Rust through a
//!   small System V shim in the same module that calls the trace;
//! * x86-64 needs `preserve_frame_pointers=true` for tail calls;
//! * the slot can be ordinary Rust-owned memory (an `AtomicUsize` the
//!   compiled trace owns), its address embedded as a constant.
use cranelift_codegen::ir::{types, AbiParam, InstBuilder, MemFlagsData, Signature};
use cranelift_codegen::isa::CallConv;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};
use std::sync::atomic::{AtomicUsize, Ordering};

fn module() -> JITModule {
    let mut flags = settings::builder();
    flags.set("opt_level", "none").unwrap();
    flags.set("preserve_frame_pointers", "true").unwrap();
    flags.set("is_pic", "false").unwrap();
    flags.set("enable_verifier", "true").unwrap();
    let isa = cranelift_native::builder()
        .unwrap()
        .finish(settings::Flags::new(flags))
        .unwrap();
    JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()))
}

fn sig(cc: CallConv) -> Signature {
    let mut s = Signature::new(cc);
    s.params.push(AbiParam::new(types::I64));
    s.params.push(AbiParam::new(types::I64));
    s.returns.push(AbiParam::new(types::I32));
    s
}

/// Module with a `tail` "trace" whose only exit stores 1 into buf[0] and
/// then either returns 7 or tail-calls whatever the slot holds, plus a
/// System V entry shim. Returns (module, shim address).
fn trace_with_slot(slot: &AtomicUsize) -> (JITModule, *const u8) {
    let mut m = module();
    let mut fctx = FunctionBuilderContext::new();
    let tail_sig = sig(CallConv::Tail);
    let trace_id = m
        .declare_function("trace", Linkage::Local, &tail_sig)
        .unwrap();
    let shim_id = m
        .declare_function("shim", Linkage::Local, &sig(CallConv::SystemV))
        .unwrap();

    let mut ctx = Context::new();
    ctx.func.signature = tail_sig.clone();
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let entry = b.create_block();
        let linked = b.create_block();
        let unlinked = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let (buf, ectx) = (b.block_params(entry)[0], b.block_params(entry)[1]);
        let one = b.ins().iconst(types::I64, 1);
        b.ins().store(MemFlagsData::trusted(), one, buf, 0);
        let slot_addr = b
            .ins()
            .iconst(types::I64, slot as *const AtomicUsize as i64);
        let target = b
            .ins()
            .load(types::I64, MemFlagsData::trusted(), slot_addr, 0);
        b.ins().brif(target, linked, &[], unlinked, &[]);
        b.switch_to_block(linked);
        let sref = b.import_signature(tail_sig.clone());
        b.ins().return_call_indirect(sref, target, &[buf, ectx]);
        b.switch_to_block(unlinked);
        let seven = b.ins().iconst(types::I32, 7);
        b.ins().return_(&[seven]);
        b.seal_all_blocks();
        b.finalize(m.isa().frontend_config());
    }
    m.define_function(trace_id, &mut ctx).unwrap();

    let mut ctx = Context::new();
    ctx.func.signature = sig(CallConv::SystemV);
    let callee = m.declare_func_in_func(trace_id, &mut ctx.func);
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let args = b.block_params(entry).to_vec();
        let call = b.ins().call(callee, &args);
        let r = b.inst_results(call)[0];
        b.ins().return_(&[r]);
        b.seal_all_blocks();
        b.finalize(m.isa().frontend_config());
    }
    m.define_function(shim_id, &mut ctx).unwrap();
    m.finalize_definitions().unwrap();
    let shim = m.get_finalized_function(shim_id);
    (m, shim)
}

/// Module with a `tail` "bridge": stores 42 into buf[1] and returns 9.
fn bridge() -> (JITModule, *const u8) {
    let mut m = module();
    let mut fctx = FunctionBuilderContext::new();
    let id = m
        .declare_function("bridge", Linkage::Local, &sig(CallConv::Tail))
        .unwrap();
    let mut ctx = Context::new();
    ctx.func.signature = sig(CallConv::Tail);
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let buf = b.block_params(entry)[0];
        let v = b.ins().iconst(types::I64, 42);
        b.ins().store(MemFlagsData::trusted(), v, buf, 8);
        let nine = b.ins().iconst(types::I32, 9);
        b.ins().return_(&[nine]);
        b.seal_all_blocks();
        b.finalize(m.isa().frontend_config());
    }
    m.define_function(id, &mut ctx).unwrap();
    m.finalize_definitions().unwrap();
    let f = m.get_finalized_function(id);
    (m, f)
}

#[test]
fn exits_tail_call_through_a_slot() {
    let slot = Box::new(AtomicUsize::new(0));
    let (tm, shim) = trace_with_slot(&slot);
    // SAFETY: `shim` is a finalized System V function of this signature,
    // alive while `tm` is.
    let run =
        unsafe { std::mem::transmute::<*const u8, extern "C" fn(*mut u64, *mut u64) -> u32>(shim) };
    let mut buf = [0u64; 2];
    let mut ctx = 0u64;
    assert_eq!(run(buf.as_mut_ptr(), &mut ctx), 7);
    assert_eq!(buf, [1, 0]);

    let (bm, b) = bridge();
    slot.store(b as usize, Ordering::Release);
    let mut buf = [0u64; 2];
    assert_eq!(run(buf.as_mut_ptr(), &mut ctx), 9);
    assert_eq!(buf, [1, 42]);

    slot.store(0, Ordering::Release);
    assert_eq!(run(buf.as_mut_ptr(), &mut ctx), 7);
    // SAFETY: nothing runs code from either module any more.
    unsafe {
        bm.free_memory();
        tm.free_memory();
    }
}

#[test]
fn system_v_tail_calls_are_rejected() {
    // The finding above: a System V function may not `return_call`.
    let mut m = module();
    let mut fctx = FunctionBuilderContext::new();
    let id = m
        .declare_function("f", Linkage::Local, &sig(CallConv::SystemV))
        .unwrap();
    let mut ctx = Context::new();
    ctx.func.signature = sig(CallConv::SystemV);
    {
        let mut b = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let args = b.block_params(entry).to_vec();
        let sref = b.import_signature(sig(CallConv::SystemV));
        let target = b.ins().iconst(types::I64, 0x1000);
        b.ins().return_call_indirect(sref, target, &args);
        b.seal_all_blocks();
        b.finalize(m.isa().frontend_config());
    }
    assert!(m.define_function(id, &mut ctx).is_err());
    // SAFETY: nothing from this module was run.
    unsafe { m.free_memory() };
}
