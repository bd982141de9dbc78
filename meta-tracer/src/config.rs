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
