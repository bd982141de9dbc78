//! meta-tracer: turn an interpreter into a tracing JIT compiler.
//!
//! A language implementer writes an ordinary interpreter and annotates it:
//!
//! * the **green** key of a location (code object and pc) and how to print
//!   it (`file:line opcode`) — [`driver::JitDriver::new`];
//! * the **red** state the loop changes, as numbered slots with a type tag
//!   and 64 bits — [`resume::RedFrame`];
//! * the **merge point** at loop headers — [`driver::JitDriver::can_enter_jit`]
//!   and, while recording, [`driver::JitDriver::recording_at`];
//! * what each instruction does to red values, written once in a step
//!   function generic over a [`record::Tracer`]: monomorphized with
//!   [`record::Plain`] it is the plain interpreter, at full speed;
//!   monomorphized with [`record::Recorder`] it records the trace. Hints:
//!   [`record::Tracer::promote`], pure (elidable) calls, residual calls and
//!   I/O calls through [`ir::CallDescr`]'s [`ir::Effects`].
//!
//! The pipeline, one module per stage: [`warmup`] (hot counters) →
//! [`record`] (trace recording) → [`optimize`] (fold, cse, guards, dce) →
//! a [`backend::Backend`] (machine code; `backend-x86_64` uses Cranelift) →
//! [`driver`] (entering compiled code) → [`resume`] (guard exits rebuild the
//! interpreter's state). [`ir`] is the trace IR with its textual form and
//! [`ir_parse`] its parser; [`stats`] counts everything; [`config`] holds
//! the settings (also from `METATRACER_*` environment variables).
//!
//! # Example
//!
//! A counting loop `while i < n { i = i + 1 }`, with `i` in red slot 0 and
//! `n` in slot 1 (both tagged `0`, integers), jitted with the IR interpreter
//! backend (the x86-64 backend plugs in the same way):
//!
//! ```
//! use meta_tracer::prelude::*;
//!
//! struct Frame { slots: [i64; 2] }
//! // SAFETY: every slot holds an integer (tag 0); no references.
//! unsafe impl RedFrame for Frame {
//!     fn read_slot(&self, s: u32) -> (u8, u64) { (0, self.slots[s as usize] as u64) }
//!     fn write_slot(&mut self, s: u32, _tag: u8, bits: u64) { self.slots[s as usize] = bits as i64 }
//! }
//!
//! /// One interpreter step: the loop body, written once for both modes.
//! /// Returns false when the loop is done.
//! fn step<T: Tracer<u32>>(t: &mut T, f: &mut Frame) -> bool {
//!     t.at(0);
//!     let (i, n) = (t.read(0, 0, Type::Int), t.read(1, 0, Type::Int));
//!     let c = t.op(Opcode::IntLt, &[i, n]);
//!     let go = f.slots[0] < f.slots[1];
//!     t.branch(c, go);
//!     if !go { return false; }
//!     t.at(1);
//!     let one = t.const_int(1);
//!     let i2 = t.op(Opcode::IntAddOvf, &[i, one]);
//!     t.write(0, 0, i2);
//!     f.slots[0] += 1;
//!     true
//! }
//!
//! let cfg = JitConfig { threshold: 10, ..JitConfig::default() };
//! let mut jit = JitDriver::new(cfg, Box::new(IrInterpreter), |pc: &u32| format!("pc {pc}"));
//! let mut f = Frame { slots: [0, 100_000] };
//! 'outer: loop {
//!     // Merge point at the loop header (green = pc 0).
//!     match jit.can_enter_jit(0, &mut f) {
//!         Enter::Interpret | Enter::Resumed(_) => { if !step(&mut Plain, &mut f) { break; } }
//!         Enter::Record(mut rec) => loop {
//!             if !step(&mut *rec, &mut f) { jit.abandon(rec, AbortReason::LeftFrame); break 'outer; }
//!             match jit.recording_at(rec, 0) {
//!                 Recording::Continue(r) => rec = r,
//!                 Recording::Done => break,
//!             }
//!         },
//!     }
//! }
//! assert_eq!(f.slots[0], 100_000);
//! let stats = jit.stats();
//! assert_eq!(stats.traces_compiled, 1);
//! assert!(stats.iterations > 99_000);
//! ```
#![deny(missing_docs)]

pub mod backend;
pub mod config;
pub mod driver;
pub mod ir;
pub mod ir_parse;
pub mod optimize;
pub mod probation;
pub mod record;
pub mod resume;
pub mod stats;
pub mod warmup;

/// The names an interpreter needs, in one import.
pub mod prelude {
    pub use crate::backend::{Backend, IrInterpreter, LazyBackend};
    pub use crate::config::{DumpTarget, JitConfig};
    pub use crate::driver::{Enter, JitDriver, Recording};
    pub use crate::ir::{
        ArrayDescr, CallDescr, Descr, EffectKind, Effects, FieldDescr, Opcode, Type,
    };
    pub use crate::record::{AbortReason, Plain, Recorder, Tracer};
    pub use crate::resume::RedFrame;
    pub use crate::stats::JitStats;
}
