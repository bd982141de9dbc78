//! Lua 5.4 subset (in construction).
pub mod support;

/// Runs a Lua program file (or standard input when `program` is None) with
/// `args` as its `arg` table; returns the process exit status.
pub fn run_cli(program: Option<String>, args: Vec<String>, opts: &crate::cli::Options) -> i32 {
    let _ = (program, args, opts);
    eprintln!("interp-example: Lua support is under construction");
    1
}
