//! Example interpreters built on meta-tracer.
pub mod cli;
pub mod lua;
