//! The JIT driver: what the interpreter calls at its merge points.
//!
//! The interpreter calls [`JitDriver::can_enter_jit`] at every loop header
//! (RPython's `can_enter_jit`, placed at backward-jump targets). The driver
//! either lets it keep interpreting, hands it a [`Recorder`] because the
//! loop just became hot, or runs the loop's compiled trace and reports where
//! interpretation must resume after a guard exit. While recording, the
//! interpreter runs its recording-mode step function and calls
//! [`JitDriver::recording_at`] at each merge point; when it is back where
//! recording began, the driver closes the loop, optimizes the trace,
//! compiles it with the backend and installs it for that location. A new
//! trace usually runs on probation in the IR interpreter first
//! ([`crate::probation`]); the optimizer's loop passes (peeling,
//! [`optimize::LOOP_PASSES`]) run only when it is compiled to machine code.
//!
//! Every stage is timed and counted in [`JitStats`], and, when dumping is
//! on, every trace is written out as recorded, after each optimizer pass,
//! and as the backend's IR and disassembly, labelled with printable green
//! locations.

use crate::backend::{Backend, CompileOptions, CompiledTrace, ExecCtx, IrInterpreter};
use crate::config::{DumpTarget, JitConfig};
use crate::ir::Trace;
use crate::optimize;
use crate::probation::BudgetedTrace;
use crate::record::{AbortReason, Recorder};
use crate::resume::{restore, RedFrame};
use crate::stats::{JitStats, TraceStats};
use crate::warmup::{hot_slot, FxBuild, HotCounters, LoopState};
use std::collections::HashMap;
use std::hash::Hash;
use std::io::Write;
use std::time::{Duration, Instant};

/// A green key: the per-location constants of the interpreter's merge point
/// (e.g. code object and pc).
pub trait Green: Copy + Eq + Hash + std::fmt::Debug {}
impl<T: Copy + Eq + Hash + std::fmt::Debug> Green for T {}

/// What the interpreter does next at a loop header.
pub enum Enter<G> {
    /// Keep interpreting.
    Interpret,
    /// The loop is hot: run the recording-mode step function with this
    /// recorder until [`JitDriver::recording_at`] says the recording is
    /// done.
    Record(Box<Recorder<G>>),
    /// Compiled code ran and left through a guard; the red state has been
    /// written back into the frame. Continue interpreting at this location.
    Resumed(G),
}

/// The state of a recording after a merge point.
pub enum Recording<G> {
    /// Keep recording.
    Continue(Box<Recorder<G>>),
    /// Recording is over (compiled or aborted): continue in plain mode. If
    /// the loop was compiled, the interpreter may call `can_enter_jit` for
    /// this same location at once.
    Done,
}

struct Installed<G> {
    trace: Trace,
    start: G,
    greens: Vec<G>,
    code: Box<dyn CompiledTrace>,
    stats_index: usize,
    exits: Vec<u64>,
    mismatches: u64,
    /// Entries and iterations in the current judging window.
    window: (u64, u64),
    /// While on probation (`code` is then the IR interpreter running the
    /// trace's probation form): that form, and entries and iterations so
    /// far.
    probation: Option<OnProbation>,
}

struct OnProbation {
    form: BudgetedTrace,
    entries: u64,
    iterations: u64,
}

/// A compiled loop is judged after this many entries (or refused entries).
const JUDGE_AFTER: u64 = 64;
/// A loop averaging fewer iterations than this per entry costs more in
/// entering and leaving than it saves (until bridges exist): it is
/// discarded and the location may be traced again, now that the common path
/// may have changed.
const MIN_ITERATIONS_PER_ENTRY: u64 = 4;
/// Discarded traces at one location before it is blacklisted.
const MAX_RETRACES: u32 = 3;

/// Green number `g` of a trace's location table, printed (`@g` if the
/// table has no such entry).
fn print_location<G>(printer: &dyn Fn(&G) -> String, greens: &[G], g: u32) -> String {
    greens
        .get(g as usize)
        .map(printer)
        .unwrap_or_else(|| format!("@{g}"))
}

/// The JIT for one interpreter (one per guest thread).
pub struct JitDriver<G: Green> {
    config: JitConfig,
    backend: Box<dyn Backend>,
    printer: Box<dyn Fn(&G) -> String>,
    loops: HashMap<G, LoopState, FxBuild>,
    hot: HotCounters,
    installed: Vec<Installed<G>>,
    stats: JitStats,
    dump: Option<Box<dyn Write>>,
    buf: Vec<u64>,
    created: Instant,
    recording_since: Option<Instant>,
}

impl<G: Green> JitDriver<G> {
    /// A driver compiling with `backend`; `printer` renders a green
    /// location for humans (`file:line opcode`), used in dumps and
    /// statistics. If the dump file cannot be created, dumping goes to
    /// stderr and a warning is printed.
    pub fn new(
        config: JitConfig,
        backend: Box<dyn Backend>,
        printer: impl Fn(&G) -> String + 'static,
    ) -> JitDriver<G> {
        let dump: Option<Box<dyn Write>> = match &config.dump {
            None => None,
            Some(DumpTarget::Stderr) => Some(Box::new(std::io::stderr())),
            Some(DumpTarget::File(p)) => match std::fs::File::create(p) {
                Ok(f) => Some(Box::new(std::io::BufWriter::new(f))),
                Err(e) => {
                    eprintln!(
                        "meta-tracer: cannot create dump file {}: {e}; dumping to stderr",
                        p.display()
                    );
                    Some(Box::new(std::io::stderr()))
                }
            },
        };
        JitDriver {
            hot: HotCounters::new(config.threshold),
            config,
            backend,
            printer: Box::new(printer),
            loops: HashMap::default(),
            installed: Vec::new(),
            stats: JitStats::default(),
            dump,
            buf: Vec::new(),
            created: Instant::now(),
            recording_since: None,
        }
    }

    /// The settings.
    pub fn config(&self) -> &JitConfig {
        &self.config
    }

    /// Statistics so far (a snapshot; per-guard exit counts are rendered
    /// with printable locations here, not on the exit path).
    pub fn stats(&self) -> JitStats {
        let mut s = self.stats.clone();
        for inst in &self.installed {
            let exits = &mut s.traces[inst.stats_index].exits;
            for (sid, &n) in inst.exits.iter().enumerate() {
                if n > 0 {
                    let green = &inst.greens[inst.trace.snapshots[sid].green as usize];
                    *exits
                        .entry(format!("{} (exit {sid})", (self.printer)(green)))
                        .or_default() += n;
                }
            }
        }
        s
    }

    /// The statistics as they stand, without the per-guard exit counts
    /// (no copy, nothing formatted: for interpreters that consult the
    /// counters on their own hot paths; [`JitDriver::stats`] renders the
    /// exits too).
    pub fn counters(&self) -> &JitStats {
        &self.stats
    }

    /// Entries and iterations of every trace installed so far for the loop
    /// at `green` (compiled, on probation or discarded), summed: what an
    /// interpreter judges a loop's profitability by, without printing
    /// locations or copying the statistics.
    pub fn loop_totals(&self, green: &G) -> (u64, u64) {
        self.installed
            .iter()
            .filter(|i| i.start == *green)
            .filter_map(|i| self.stats.traces.get(i.stats_index))
            .fold((0, 0), |(e, n), t| (e + t.entries, n + t.iterations))
    }

    /// True if the JIT is enabled.
    #[inline]
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    /// Called by the interpreter at a loop header in plain mode.
    #[inline]
    pub fn can_enter_jit(&mut self, green: G, frame: &mut dyn RedFrame) -> Enter<G> {
        // Fast path: a shared hot counter, no map lookup (see `warmup`).
        if self.count_pass(&green) {
            return Enter::Interpret;
        }
        self.enter_counted(green, frame)
    }

    /// The fast path of [`JitDriver::can_enter_jit`] alone: counts a pass
    /// at `green` and returns true if nothing else is to be done (the
    /// interpreter just continues), false if the interpreter must call
    /// [`JitDriver::enter_counted`] now. An interpreter whose merge point
    /// has work to do before calling the driver (building the frame view)
    /// calls this first, so that a pass that only counts costs a hash, a
    /// load and a decrement.
    #[inline]
    pub fn count_pass(&mut self, green: &G) -> bool {
        !self.config.enabled || self.hot.count_down(hot_slot(green))
    }

    /// [`JitDriver::can_enter_jit`] for a pass already counted by
    /// [`JitDriver::count_pass`] (which returned false).
    pub fn enter_counted(&mut self, green: G, frame: &mut dyn RedFrame) -> Enter<G> {
        if !self.config.enabled {
            return Enter::Interpret;
        }
        let slot = hot_slot(&green);
        self.can_enter_jit_slow(green, slot, frame)
    }

    #[inline(never)]
    fn can_enter_jit_slow(&mut self, green: G, slot: usize, frame: &mut dyn RedFrame) -> Enter<G> {
        let threshold = self.config.threshold;
        let exact = self.hot.is_exact(slot);
        let state = self.loops.entry(green).or_default();
        if let Some(idx) = state.compiled {
            return self.run_compiled(idx, frame);
        }
        if state.blacklisted {
            // Another location sharing this slot is compiled (or the slot
            // is about to be marked dead): keep the shared counter running.
            self.hot.reset(slot, threshold);
            return Enter::Interpret;
        }
        let hot = if exact {
            // The slot is shared with a compiled or blacklisted location:
            // count this location exactly.
            state.tick(threshold)
        } else {
            // The shared counter ran out: this location has (about)
            // `threshold` passes, unless it is backing off after aborts.
            self.hot.reset(slot, threshold);
            state.trip(threshold)
        };
        if !hot {
            return Enter::Interpret;
        }
        self.stats.traces_started += 1;
        self.recording_since = Some(Instant::now());
        // The trace is named (its printable location) when it is closed:
        // most recordings abort, and printing a location is not free.
        Enter::Record(Box::new(Recorder::new(
            green,
            String::new(),
            self.config.trace_limit,
        )))
    }

    /// Called by the interpreter at every merge point while recording.
    pub fn recording_at(&mut self, rec: Box<Recorder<G>>, green: G) -> Recording<G> {
        if let Some(reason) = rec.aborted() {
            self.abort(rec.start(), rec.current(), reason);
            return Recording::Done;
        }
        if green != rec.start() {
            return Recording::Continue(rec);
        }
        self.close(*rec);
        Recording::Done
    }

    /// Abandons a recording (the program ended, an error unwound the
    /// loop's frame, ...). Takes the recorder by value: it is consumed.
    #[allow(clippy::boxed_local)]
    pub fn abandon(&mut self, rec: Box<Recorder<G>>, reason: AbortReason) {
        let reason = rec.aborted().unwrap_or(reason);
        self.abort(rec.start(), rec.current(), reason);
    }

    /// Counts a loop that the interpreter gave up on by its own policy
    /// (e.g. its traces ran too few iterations per entry), so that every
    /// decision to stop compiling something shows in the statistics.
    pub fn note_given_up(&mut self, reason: &'static str) {
        *self.stats.given_up.entry(reason).or_default() += 1;
    }

    /// The statistics report, as printed by `--jit-stats`.
    pub fn report(&self) -> String {
        self.stats().report()
    }

    fn abort(&mut self, start: G, at: Option<G>, reason: AbortReason) {
        if let Some(t0) = self.recording_since.take() {
            self.stats.time_tracing += t0.elapsed();
        }
        *self.stats.aborts.entry(reason).or_default() += 1;
        let state = self.loops.entry(start).or_default();
        let black = if reason == AbortReason::LeftLoop {
            // Sampled at the loop's last iteration: record again at its
            // next pass (the interpreter judges repeated samples of a
            // loop that keeps ending at once).
            state.retry_at_next_pass(self.config.threshold);
            self.hot.reset(hot_slot(&start), 1);
            false
        } else {
            state.abort(self.config.threshold, self.config.max_aborts)
        };
        if black {
            self.stats.blacklisted += 1;
            self.hot.make_dead(hot_slot(&start));
        }
        if self.dump.is_none() {
            return;
        }
        let loc = (self.printer)(&start);
        let at = match at {
            Some(g) if g != start => format!(" at {}", (self.printer)(&g)),
            _ => String::new(),
        };
        self.dump_text(&format!(
            "---- abort recording of the loop at {loc}{at}: {reason}{}\n",
            if black { " (blacklisted)" } else { "" }
        ));
    }

    fn close(&mut self, rec: Recorder<G>) {
        if let Some(t0) = self.recording_since.take() {
            self.stats.time_tracing += t0.elapsed();
        }
        let start = rec.start();
        let at = rec.current();
        let (mut trace, greens) = match rec.close() {
            Ok(x) => x,
            Err(reason) => {
                self.abort(start, at, reason);
                return;
            }
        };
        let id = self.stats.traces.len() + 1;
        let location = (self.printer)(&start);
        trace.name = location.clone();
        let recorded_ops = trace.ops.len();
        let dumping = self.dump.is_some();
        let printer = &self.printer;
        let loc_of = |g: u32| print_location(printer, &greens, g);
        let mut texts: Vec<String> = Vec::new();
        if dumping {
            texts.push(format!(
                "---- trace {id} at {location}: recorded\n{}",
                trace.to_text_with(&loc_of)
            ));
        }
        let t_opt = Instant::now();
        optimize::run_passes(optimize::BODY_PASSES, &mut trace, |pass, t| {
            if dumping {
                texts.push(format!(
                    "---- trace {id} at {location}: after {pass}\n{}",
                    t.to_text_with(&loc_of)
                ));
            }
        });
        let mut opt_time = t_opt.elapsed();
        self.stats.time_optimizing += opt_time;
        for t in texts {
            self.dump_text(&t);
        }
        if let Some((form, code)) = self.probation_form(&trace, &greens, start) {
            self.dump_text(&format!(
                "---- trace {id} at {location}: on probation in the IR interpreter (compiled after {} iterations within {} entries)\n",
                self.config.probation_iterations, self.config.probation_entries
            ));
            self.stats.traces.push(TraceStats {
                id,
                location,
                compiled_at: self.created.elapsed(),
                recorded_ops,
                optimized_ops: trace.ops.len(),
                guards: trace.num_guards(),
                compile_time: opt_time,
                on_probation: true,
                ..TraceStats::default()
            });
            let probation = OnProbation {
                form,
                entries: 0,
                iterations: 0,
            };
            self.install(trace, start, greens, code, Some(probation));
            return;
        }
        opt_time += self.loop_passes(&mut trace, &greens, id);
        let t_comp = Instant::now();
        let opts = CompileOptions {
            count_iterations: self.config.count_iterations,
            keep_dumps: dumping,
        };
        let result = self.backend.compile(&trace, &opts);
        let comp_time = t_comp.elapsed();
        self.stats.time_compiling += comp_time;
        let code = match result {
            Ok(code) => code,
            Err(e) => {
                self.dump_text(&format!(
                    "---- trace {id} at {location}: backend {} failed: {e}\n",
                    self.backend.name()
                ));
                self.abort(start, None, AbortReason::CompileFailed);
                return;
            }
        };
        for (title, text) in code.dumps() {
            self.dump_text(&format!("---- trace {id} at {location}: {title}\n{text}\n"));
        }
        self.stats.traces_compiled += 1;
        self.stats.traces.push(TraceStats {
            id,
            location,
            compiled_at: self.created.elapsed(),
            recorded_ops,
            optimized_ops: trace.ops.len(),
            loop_ops: trace.label_index().map(|l| trace.ops.len() - l - 1),
            guards: trace.num_guards(),
            compile_time: opt_time + comp_time,
            code_bytes: code.code_size(),
            ..TraceStats::default()
        });
        self.install(trace, start, greens, code, None);
    }

    /// Runs the optimizer's loop passes (peeling) on a trace about to be
    /// compiled, dumping after each; returns the time taken.
    fn loop_passes(&mut self, trace: &mut Trace, greens: &[G], id: usize) -> Duration {
        let dumping = self.dump.is_some();
        let printer = &self.printer;
        let location = trace.name.clone();
        let loc_of = |g: u32| print_location(printer, greens, g);
        let mut texts: Vec<String> = Vec::new();
        let t_opt = Instant::now();
        optimize::run_passes(optimize::LOOP_PASSES, trace, |pass, t| {
            if dumping {
                texts.push(format!(
                    "---- trace {id} at {location}: after {pass}\n{}",
                    t.to_text_with(&loc_of)
                ));
            }
        });
        let time = t_opt.elapsed();
        self.stats.time_optimizing += time;
        for t in texts {
            self.dump_text(&t);
        }
        time
    }

    /// The probation form of a new trace and the IR interpreter's code for
    /// it, unless probation is off or the IR interpreter cannot run the
    /// trace (then it is compiled at once).
    fn probation_form(
        &self,
        trace: &Trace,
        greens: &[G],
        start: G,
    ) -> Option<(BudgetedTrace, Box<dyn CompiledTrace>)> {
        if self.config.probation_entries == 0 {
            return None;
        }
        let header = greens.iter().position(|g| *g == start)? as u32;
        let form = BudgetedTrace::new(trace, header)?;
        let opts = CompileOptions::default();
        let code = IrInterpreter.compile(&form.trace, &opts).ok()?;
        Some((form, code))
    }

    /// Installs `code` for the loop at `start` (the statistics entry was
    /// pushed last).
    fn install(
        &mut self,
        trace: Trace,
        start: G,
        greens: Vec<G>,
        code: Box<dyn CompiledTrace>,
        probation: Option<OnProbation>,
    ) {
        let need = code.buffer_len();
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        let exits = vec![0; trace.snapshots.len()];
        self.installed.push(Installed {
            trace,
            start,
            greens,
            code,
            stats_index: self.stats.traces.len() - 1,
            exits,
            mismatches: 0,
            window: (0, 0),
            probation,
        });
        self.loops.entry(start).or_default().compiled = Some(self.installed.len() - 1);
        self.hot.make_exact(hot_slot(&start));
    }

    /// Compiles a trace that passed probation to machine code, which runs
    /// from its next entry on. If the backend fails, the trace is
    /// uninstalled and the failure counted like any failed compilation.
    fn promote(&mut self, idx: usize) {
        let opts = CompileOptions {
            count_iterations: self.config.count_iterations,
            keep_dumps: self.dump.is_some(),
        };
        // Peeling, which probation ran without. It only appends snapshots,
        // so the exit counts gathered on probation keep their indices.
        let id = self.installed[idx].stats_index + 1;
        let mut trace = std::mem::take(&mut self.installed[idx].trace);
        let greens = std::mem::take(&mut self.installed[idx].greens);
        let opt_time = self.loop_passes(&mut trace, &greens, id);
        let inst = &mut self.installed[idx];
        inst.trace = trace;
        inst.greens = greens;
        inst.exits.resize(inst.trace.snapshots.len(), 0);
        let st = &mut self.stats.traces[inst.stats_index];
        st.optimized_ops = inst.trace.ops.len();
        st.loop_ops = inst
            .trace
            .label_index()
            .map(|l| inst.trace.ops.len() - l - 1);
        st.guards = inst.trace.num_guards();
        st.compile_time += opt_time;
        let t_comp = Instant::now();
        let result = self.backend.compile(&self.installed[idx].trace, &opts);
        let comp_time = t_comp.elapsed();
        self.stats.time_compiling += comp_time;
        let inst = &mut self.installed[idx];
        let (id, start, stats_index) = (inst.stats_index + 1, inst.start, inst.stats_index);
        let location = (self.printer)(&start);
        let p = inst.probation.take();
        let (entries, iterations) = p.map_or((0, 0), |p| (p.entries, p.iterations));
        let code = match result {
            Ok(code) => code,
            Err(e) => {
                self.dump_text(&format!(
                    "---- trace {id} at {location}: backend {} failed: {e}\n",
                    self.backend.name()
                ));
                self.uninstall(idx);
                self.abort(start, None, AbortReason::CompileFailed);
                return;
            }
        };
        self.dump_text(&format!(
            "---- trace {id} at {location}: passed probation ({iterations} iterations in {entries} entries): compiled\n"
        ));
        for (title, text) in code.dumps() {
            self.dump_text(&format!("---- trace {id} at {location}: {title}\n{text}\n"));
        }
        self.stats.traces_compiled += 1;
        let st = &mut self.stats.traces[stats_index];
        st.compile_time += comp_time;
        st.code_bytes = code.code_size();
        let need = code.buffer_len();
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        let inst = &mut self.installed[idx];
        inst.code = code;
        inst.window = (0, 0);
    }

    /// Removes the loop's trace: the location goes back to interpretation
    /// (with an exact hot counter released).
    fn uninstall(&mut self, idx: usize) -> &mut LoopState {
        let start = self.installed[idx].start;
        let state = self.loops.entry(start).or_default();
        state.compiled = None;
        self.hot.release_exact(hot_slot(&start));
        state.counter = 0;
        state
    }

    fn run_compiled(&mut self, idx: usize, frame: &mut dyn RedFrame) -> Enter<G> {
        let inst = &mut self.installed[idx];
        for (k, inp) in inst.trace.inputs.iter().enumerate() {
            let (tag, bits) = frame.read_slot(inp.slot);
            if tag != inp.tag {
                self.stats.entry_type_mismatches += 1;
                inst.mismatches += 1;
                if inst.mismatches >= JUDGE_AFTER {
                    self.discard(idx);
                }
                return Enter::Interpret;
            }
            self.buf[k] = bits;
        }
        let budget = inst.probation.as_ref().map(|p| {
            let left = self
                .config
                .probation_iterations
                .saturating_sub(p.iterations);
            p.form.set_budget(left);
            left.max(1)
        });
        let mut ctx = ExecCtx::default();
        // SAFETY: the buffer holds every input with the tag the trace was
        // recorded for (checked above) and is at least `buffer_len` words
        // (resized at installation). `RedFrame` is an unsafe trait whose
        // implementer guarantees that values with a given tag match the
        // layouts the interpreter recorded, and the interpreter's recorded
        // call descriptors name functions with the described signatures.
        let sid = unsafe { inst.code.run(&mut self.buf, &mut ctx) } as usize;
        if let (Some(p), Some(budget)) = (&inst.probation, budget) {
            let ran = budget - p.form.budget();
            return self.end_probation_entry(idx, sid, ran, frame);
        }
        let st = &mut self.stats.traces[inst.stats_index];
        st.entries += 1;
        st.iterations += ctx.iterations;
        self.stats.entries += 1;
        self.stats.iterations += ctx.iterations;
        self.stats.guard_exits += 1;
        let Some(snap) = inst.trace.snapshots.get(sid) else {
            // A backend returned an exit that does not exist: a backend bug.
            panic!("compiled trace returned unknown exit {sid}");
        };
        inst.exits[sid] += 1;
        let green = inst.greens[snap.green as usize];
        if let Err(e) = restore(&inst.trace, snap, &self.buf, frame) {
            panic!("resume failed: {}", e.0);
        }
        // Judge the trace over windows of entries, so that a loop whose
        // common path changed midway is noticed.
        inst.window.0 += 1;
        inst.window.1 += ctx.iterations;
        if inst.window.0 == JUDGE_AFTER {
            let poor = self.config.count_iterations
                && inst.window.1 < JUDGE_AFTER * MIN_ITERATIONS_PER_ENTRY;
            inst.window = (0, 0);
            if poor {
                self.discard(idx);
            }
        }
        Enter::Resumed(green)
    }

    /// The end of an entry into a trace on probation, which ran `ran`
    /// iterations and left through snapshot `sid` of its probation form:
    /// resumes the interpreter, then compiles the trace once it has run
    /// enough iterations or discards it once it has used its entries.
    fn end_probation_entry(
        &mut self,
        idx: usize,
        sid: usize,
        ran: u64,
        frame: &mut dyn RedFrame,
    ) -> Enter<G> {
        let inst = &mut self.installed[idx];
        let Some(p) = inst.probation.as_mut() else {
            return Enter::Interpret;
        };
        let Some(snap) = p.form.trace.snapshots.get(sid) else {
            panic!("trace on probation returned unknown exit {sid}");
        };
        let green = inst.greens[snap.green as usize];
        if let Err(e) = restore(&p.form.trace, snap, &self.buf, frame) {
            panic!("resume failed: {}", e.0);
        }
        p.entries += 1;
        p.iterations += ran;
        let st = &mut self.stats.traces[inst.stats_index];
        st.entries += 1;
        st.iterations += ran;
        st.probation_entries += 1;
        st.probation_iterations += ran;
        self.stats.entries += 1;
        self.stats.iterations += ran;
        if sid != p.form.header_exit {
            // A guard exit (the budget exit is the end of probation, not a
            // guard failing).
            inst.exits[sid] += 1;
            self.stats.guard_exits += 1;
        }
        let (entries, iterations) = (p.entries, p.iterations);
        if iterations >= self.config.probation_iterations {
            self.promote(idx);
        } else if entries >= u64::from(self.config.probation_entries) {
            self.discard_why(
                idx,
                &format!("failed probation: {iterations} iterations in {entries} entries"),
            );
        }
        Enter::Resumed(green)
    }

    /// Uninstalls a trace that does not pay off; its location may be traced
    /// again (up to `MAX_RETRACES` times, then it is blacklisted).
    fn discard(&mut self, idx: usize) {
        self.discard_why(idx, "too few iterations per entry");
    }

    fn discard_why(&mut self, idx: usize, why: &str) {
        let inst = &self.installed[idx];
        let loc = (self.printer)(&inst.start);
        let id = inst.stats_index + 1;
        let start = inst.start;
        self.installed[idx].probation = None;
        let state = self.uninstall(idx);
        state.retraces += 1;
        let black = state.retraces >= MAX_RETRACES;
        if black {
            state.blacklisted = true;
            self.stats.blacklisted += 1;
            self.hot.make_dead(hot_slot(&start));
        }
        self.stats.traces_discarded += 1;
        self.dump_text(&format!(
            "---- trace {id} at {loc}: discarded ({why}){}\n",
            if black { "; location blacklisted" } else { "" }
        ));
    }

    fn dump_text(&mut self, s: &str) {
        if let Some(d) = &mut self.dump {
            let _ = d.write_all(s.as_bytes());
            let _ = d.flush();
        }
    }

    /// Time since the driver was created.
    pub fn uptime(&self) -> Duration {
        self.created.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::IrInterpreter;
    use crate::ir::{Opcode, Type};
    use crate::record::{Plain, Tracer};

    struct Frame {
        slots: [i64; 2],
    }
    // SAFETY: every slot holds an integer (tag 0); no references.
    unsafe impl RedFrame for Frame {
        fn read_slot(&self, s: u32) -> (u8, u64) {
            (0, self.slots[s as usize] as u64)
        }
        fn write_slot(&mut self, s: u32, _tag: u8, bits: u64) {
            self.slots[s as usize] = bits as i64
        }
    }

    /// `while i < n { i = i + 1 }`; false when the loop is done.
    fn step<T: Tracer<u32>>(t: &mut T, f: &mut Frame) -> bool {
        t.at(0);
        let (i, n) = (t.read(0, 0, Type::Int), t.read(1, 0, Type::Int));
        let c = t.op(Opcode::IntLt, &[i, n]);
        let go = f.slots[0] < f.slots[1];
        t.branch(c, go);
        if !go {
            return false;
        }
        let one = t.const_int(1);
        let i2 = t.op(Opcode::IntAddOvf, &[i, one]);
        t.write(0, 0, i2);
        f.slots[0] += 1;
        true
    }

    /// Runs the loop to `n`, asking the driver at every pass through
    /// `count_pass` then `enter_counted` (`split`) or `can_enter_jit`.
    /// Returns the passes that reached the driver's slow path and the
    /// statistics.
    fn run(split: bool, n: i64) -> (u64, JitStats) {
        let cfg = JitConfig {
            threshold: 10,
            probation_entries: 0,
            ..JitConfig::default()
        };
        let mut jit = JitDriver::new(cfg, Box::new(IrInterpreter), |pc: &u32| format!("pc {pc}"));
        let mut f = Frame { slots: [0, n] };
        let mut slow = 0;
        'outer: loop {
            let enter = if split {
                if jit.count_pass(&0) {
                    Enter::Interpret
                } else {
                    slow += 1;
                    jit.enter_counted(0, &mut f)
                }
            } else {
                jit.can_enter_jit(0, &mut f)
            };
            match enter {
                Enter::Interpret | Enter::Resumed(_) => {
                    if !step(&mut Plain, &mut f) {
                        break;
                    }
                }
                Enter::Record(mut rec) => loop {
                    if !step(&mut *rec, &mut f) {
                        jit.abandon(rec, AbortReason::LeftFrame);
                        break 'outer;
                    }
                    match jit.recording_at(rec, 0) {
                        Recording::Continue(r) => rec = r,
                        Recording::Done => break,
                    }
                },
            }
        }
        assert_eq!(f.slots[0], n);
        (slow, jit.stats().clone())
    }

    #[test]
    fn counting_passes_apart_matches_can_enter_jit() {
        let (slow, split) = run(true, 5_000);
        let (_, whole) = run(false, 5_000);
        // The threshold's first nine passes only counted; the tenth
        // recorded, and the next entered the compiled loop, which ran to
        // the end.
        assert_eq!(slow, 2);
        for s in [&split, &whole] {
            assert_eq!(s.traces_compiled, 1, "{}", s.report());
            assert_eq!(s.entries, 1, "{}", s.report());
        }
        assert_eq!(split.iterations, whole.iterations);
    }

    #[test]
    fn a_disabled_driver_only_counts() {
        let cfg = JitConfig {
            enabled: false,
            ..JitConfig::default()
        };
        let mut jit = JitDriver::new(cfg, Box::new(IrInterpreter), |pc: &u32| format!("pc {pc}"));
        assert!((0..10_000).all(|_| jit.count_pass(&7u32)));
        let mut f = Frame { slots: [0, 1] };
        assert!(matches!(jit.enter_counted(7, &mut f), Enter::Interpret));
    }
}
