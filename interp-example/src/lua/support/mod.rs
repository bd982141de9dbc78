//! Pure helper algorithms for the Lua standard library (patterns, number
//! formatting and parsing, random numbers, sorting, dates). They know nothing
//! about the VM's value representation.
pub mod date;
pub mod format;
pub mod number;
pub mod pattern;
pub mod random;
pub mod sort;
