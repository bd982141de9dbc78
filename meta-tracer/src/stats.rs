//! JIT statistics: counters, not guesses.
//!
//! Everything here is counted as it happens (recordings started, aborted by
//! reason, compiled; compiled-code entries and iterations; guard exits per
//! guard) or timed around the stage it measures (recording, optimizing,
//! compiling). `--jit-stats` prints [`JitStats::report`]; library users read
//! the fields directly.

use crate::record::AbortReason;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// Per-trace figures.
#[derive(Debug, Clone, Default)]
pub struct TraceStats {
    /// Sequence number (1-based, in compilation order).
    pub id: usize,
    /// Printable start location.
    pub location: String,
    /// Time since the driver was created when the trace was installed.
    pub compiled_at: Duration,
    /// Operations as recorded.
    pub recorded_ops: usize,
    /// Operations after optimization.
    pub optimized_ops: usize,
    /// For a peeled trace, the operations of its loop part (after the inner
    /// label, the jump included); `optimized_ops` counts both parts.
    pub loop_ops: Option<usize>,
    /// Guards after optimization.
    pub guards: usize,
    /// Time spent optimizing and compiling this trace.
    pub compile_time: Duration,
    /// Machine code bytes.
    pub code_bytes: usize,
    /// Times compiled code was entered.
    pub entries: u64,
    /// Loop iterations run in compiled code.
    pub iterations: u64,
    /// Exits taken, by printable guard location.
    pub exits: BTreeMap<String, u64>,
    /// The trace was installed on probation (run by the IR interpreter
    /// until it had run enough iterations; see `probation.rs`).
    pub on_probation: bool,
    /// Entries while on probation (included in `entries`).
    pub probation_entries: u64,
    /// Iterations while on probation (included in `iterations`).
    pub probation_iterations: u64,
}

/// Whole-run figures.
#[derive(Debug, Clone, Default)]
pub struct JitStats {
    /// Recordings started.
    pub traces_started: u64,
    /// Recordings aborted, by reason.
    pub aborts: BTreeMap<AbortReason, u64>,
    /// Traces compiled to machine code and installed (at once, or when
    /// they passed probation; `traces` also lists those that did not).
    pub traces_compiled: u64,
    /// Locations blacklisted after repeated aborts or discarded traces.
    pub blacklisted: u64,
    /// Compiled traces discarded because they averaged too few iterations
    /// per entry or were refused entry too often.
    pub traces_discarded: u64,
    /// Loops the interpreter stopped offering to the JIT under its own
    /// counter-based profitability policy ([`crate::driver::JitDriver::note_given_up`]),
    /// by reason.
    pub given_up: BTreeMap<&'static str, u64>,
    /// Compiled-code entries.
    pub entries: u64,
    /// Entries refused because a slot's type tag differed from the trace's.
    pub entry_type_mismatches: u64,
    /// Guard exits taken (all traces).
    pub guard_exits: u64,
    /// Loop iterations run in compiled code (all traces).
    pub iterations: u64,
    /// Time spent interpreting while recording.
    pub time_tracing: Duration,
    /// Time spent in optimizer passes.
    pub time_optimizing: Duration,
    /// Time spent in the backend.
    pub time_compiling: Duration,
    /// Per-trace figures, in compilation order.
    pub traces: Vec<TraceStats>,
}

impl JitStats {
    /// Recordings aborted, all reasons.
    pub fn traces_aborted(&self) -> u64 {
        self.aborts.values().sum()
    }

    /// A human-readable report.
    pub fn report(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let mut s = String::new();
        let _ = writeln!(s, "== JIT statistics");
        let _ = writeln!(s, "traces started:      {}", self.traces_started);
        let _ = writeln!(s, "traces aborted:      {}", self.traces_aborted());
        for (r, n) in &self.aborts {
            let _ = writeln!(s, "  {:<32} {n}", r.name());
        }
        let _ = writeln!(s, "traces compiled:     {}", self.traces_compiled);
        let _ = writeln!(s, "traces discarded:    {}", self.traces_discarded);
        let _ = writeln!(s, "blacklisted loops:   {}", self.blacklisted);
        let _ = writeln!(
            s,
            "loops given up:      {}",
            self.given_up.values().sum::<u64>()
        );
        for (r, n) in &self.given_up {
            let _ = writeln!(s, "  {r:<32} {n}");
        }
        let _ = writeln!(s, "compiled-code entries: {}", self.entries);
        let _ = writeln!(
            s,
            "entries refused (type mismatch): {}",
            self.entry_type_mismatches
        );
        let _ = writeln!(s, "compiled iterations: {}", self.iterations);
        let _ = writeln!(s, "guard exits taken:   {}", self.guard_exits);
        let _ = writeln!(s, "time tracing:        {:.3} ms", ms(self.time_tracing));
        let _ = writeln!(s, "time optimizing:     {:.3} ms", ms(self.time_optimizing));
        let _ = writeln!(s, "time compiling:      {:.3} ms", ms(self.time_compiling));
        for t in &self.traces {
            let probation = if t.on_probation {
                format!(
                    " (on probation: {} entries, {} iterations{})",
                    t.probation_entries,
                    t.probation_iterations,
                    if t.code_bytes > 0 { "; compiled" } else { "" }
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                s,
                "trace {} at {}: installed at {:.3} ms, {} ops recorded, {} optimized{}, {} guards, {:.3} ms to optimize+compile, {} bytes; {} entries, {} iterations{}",
                t.id,
                t.location,
                ms(t.compiled_at),
                t.recorded_ops,
                t.optimized_ops,
                match t.loop_ops {
                    Some(n) => format!(" (peeled: {n} in the loop)"),
                    None => String::new(),
                },
                t.guards,
                ms(t.compile_time),
                t.code_bytes,
                t.entries,
                t.iterations,
                probation
            );
            for (loc, n) in &t.exits {
                let _ = writeln!(s, "  exit at {loc}: {n}");
            }
        }
        s
    }
}
