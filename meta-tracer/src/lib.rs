//! meta-tracer: turn an interpreter into a tracing JIT compiler.
#![deny(missing_docs)]

pub mod backend;
pub mod ir;
pub mod ir_parse;
pub mod optimize;
pub mod record;
