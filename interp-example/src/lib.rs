//! interp-example (in construction)
pub mod lua;
