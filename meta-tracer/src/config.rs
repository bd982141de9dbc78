//! Run-time settings of the JIT, from code or from the environment.

use std::path::PathBuf;

/// Where trace dumps go.
#[derive(Clone, Debug, PartialEq)]
pub enum DumpTarget {
    /// Standard error.
    Stderr,
    /// A file (created or truncated).
    File(PathBuf),
}

/// The default hot-loop threshold.
///
/// LuaJIT starts recording after 56 iterations of a loop: its recorder and
/// assembler are cheap (tens of microseconds a trace). PyPy waits for 1039:
/// it traces a large interpreter through a meta-interpreter and runs a
/// heavy optimizer, so a trace costs milliseconds and must pay for itself.
/// We sit between the two: recording is direct (the interpreter describes
/// its own operations, no meta-interpretation), but code generation goes
/// through Cranelift, which costs a fraction of a millisecond for a typical
/// trace. The geometric middle of 56 and 1039 is about 240; we round to 200,
/// a loop of a few hundred iterations being the point where, on our
/// measurements, a compiled trace of an interpreted loop starts to save more
/// than the compilation cost.
pub const DEFAULT_THRESHOLD: u32 = 200;

/// The default maximum number of operations in a trace (LuaJIT: 4000,
/// PyPy: 6000).
pub const DEFAULT_TRACE_LIMIT: usize = 4000;

/// The default number of aborted recordings after which a loop is
/// blacklisted (never traced again).
pub const DEFAULT_MAX_ABORTS: u32 = 5;

/// The default number of entries a new trace may take on probation in the
/// IR interpreter before it is compiled (see `probation.rs`).
pub const DEFAULT_PROBATION_ENTRIES: u32 = 8;
/// The default number of iterations a trace must run on probation, within
/// those entries, to be compiled: 16 per entry on average. An entry and
/// its exit cost the driver and the interpreter's resume about as much as
/// interpreting a few dozen simple instructions (callgrind), so a loop
/// that runs fewer iterations per entry gains little from machine code and
/// does not repay its compilation.
pub const DEFAULT_PROBATION_ITERATIONS: u64 = 128;

/// JIT settings.
#[derive(Clone, Debug)]
pub struct JitConfig {
    /// Whether loops are traced at all (`false`: pure interpretation).
    pub enabled: bool,
    /// Iterations of a loop before it is traced (at least 1).
    pub threshold: u32,
    /// Maximum trace length in operations.
    pub trace_limit: usize,
    /// Aborted recordings before a loop is blacklisted.
    pub max_aborts: u32,
    /// Where to dump traces (recorded, after each pass, backend IR,
    /// disassembly), if anywhere.
    pub dump: Option<DumpTarget>,
    /// Count compiled-loop iterations (an add to memory per iteration).
    pub count_iterations: bool,
    /// Entries a new trace may take on probation, run by the IR
    /// interpreter, before it must have run `probation_iterations`
    /// iterations to be compiled (0: compile every trace at once).
    pub probation_entries: u32,
    /// Iterations that earn a trace on probation its compilation.
    pub probation_iterations: u64,
}

impl Default for JitConfig {
    fn default() -> Self {
        JitConfig {
            enabled: true,
            threshold: DEFAULT_THRESHOLD,
            trace_limit: DEFAULT_TRACE_LIMIT,
            max_aborts: DEFAULT_MAX_ABORTS,
            dump: None,
            count_iterations: true,
            probation_entries: DEFAULT_PROBATION_ENTRIES,
            probation_iterations: DEFAULT_PROBATION_ITERATIONS,
        }
    }
}

impl JitConfig {
    /// The defaults, overridden by environment variables:
    ///
    /// | variable | meaning |
    /// |---|---|
    /// | `METATRACER_JIT=off` | disable the JIT (`on` enables it) |
    /// | `METATRACER_THRESHOLD=N` | hot-loop threshold |
    /// | `METATRACER_TRACE_LIMIT=N` | maximum trace length |
    /// | `METATRACER_DUMP=FILE` | dump traces to FILE (`-` for stderr) |
    /// | `METATRACER_PROBATION=E,I` | probation: E entries, I iterations (`0`: off) |
    ///
    /// Unparsable values are ignored (the default stays).
    pub fn from_env() -> JitConfig {
        let mut c = JitConfig::default();
        let var = |k: &str| std::env::var(k).ok();
        match var("METATRACER_JIT").as_deref() {
            Some("off") | Some("0") => c.enabled = false,
            Some("on") | Some("1") => c.enabled = true,
            _ => {}
        }
        if let Some(n) = var("METATRACER_THRESHOLD").and_then(|s| s.parse::<u32>().ok()) {
            c.threshold = n.max(1);
        }
        if let Some(n) = var("METATRACER_TRACE_LIMIT").and_then(|s| s.parse::<usize>().ok()) {
            c.trace_limit = n.max(1);
        }
        if let Some(p) = var("METATRACER_PROBATION") {
            let mut it = p.split(',').map(|x| x.trim().parse::<u64>());
            match (it.next(), it.next()) {
                (Some(Ok(0)), None) => c.probation_entries = 0,
                (Some(Ok(e)), Some(Ok(i))) => {
                    c.probation_entries = e.min(u32::MAX as u64) as u32;
                    c.probation_iterations = i;
                }
                _ => {}
            }
        }
        if let Some(d) = var("METATRACER_DUMP") {
            c.dump = Some(if d == "-" {
                DumpTarget::Stderr
            } else {
                DumpTarget::File(d.into())
            });
        }
        c
    }
}
