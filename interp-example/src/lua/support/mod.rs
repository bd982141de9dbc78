//! Pure helper algorithms for the Lua standard library (patterns, number
//! formatting and parsing, random numbers, sorting, dates). They know nothing
//! about the VM's value representation: inputs are byte slices, `i64`, `f64`,
//! and small traits the VM implements where it must supply values
//! ([`format::FormatArgs`], [`sort::SortTable`]).  Every behaviour is checked
//! against lua5.4 (Lua 5.4.4 on Linux/glibc) with recorded expected outputs.
//!
//! * [`pattern`]: Lua patterns; `string.find/match/gmatch/gsub` drivers.
//! * [`format`](mod@format): number to string, `string.format`, `%q` quoting.
//! * [`number`]: string to number (`tonumber`, lexer), float to integer.
//! * [`random`]: `math.random` / `math.randomseed` (xoshiro256**).
//! * [`sort`]: `table.sort` (lua5.4's exact quicksort).
//! * [`date`]: `os.date` / `os.time`; [`tz`]: local time zone rules.
pub mod date;
pub mod format;
pub mod number;
pub mod pattern;
pub mod random;
pub mod sort;
pub mod tz;
