//! `math` library.
use super::vm::Vm;
pub fn open(_vm: &mut Vm) {}
