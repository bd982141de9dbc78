//! Differential test harness: runs a trace through `CraneliftBackend` and
//! the reference `IrInterpreter` and compares exits and buffers.
#![allow(dead_code)]

use backend_x86_64::CraneliftBackend;
use meta_tracer::backend::{Backend, CompileOptions, CompiledTrace, ExecCtx, IrInterpreter};
use meta_tracer::ir::Trace;
use meta_tracer::ir_parse::parse_trace;

/// Filler for buffer words past the inputs, so stray writes are noticed.
pub const SENTINEL: u64 = 0xDEAD_BEEF_0BAD_F00D;

/// What one run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub exit: u32,
    pub buf: Vec<u64>,
    pub iterations: u64,
}

pub fn parse(text: &str) -> Trace {
    parse_trace(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

pub fn opts(count: bool) -> CompileOptions {
    CompileOptions {
        count_iterations: count,
        keep_dumps: false,
    }
}

pub fn native(trace: &Trace, count: bool) -> Box<dyn CompiledTrace> {
    CraneliftBackend::new()
        .unwrap()
        .compile(trace, &opts(count))
        .unwrap_or_else(|e| panic!("cranelift: {e}\n{}", trace.to_text()))
}

pub fn interp(trace: &Trace, count: bool) -> Box<dyn CompiledTrace> {
    IrInterpreter
        .compile(trace, &opts(count))
        .unwrap_or_else(|e| panic!("interpreter: {e}\n{}", trace.to_text()))
}

/// Runs a compiled trace on `inputs`.
pub fn run(c: &dyn CompiledTrace, inputs: &[u64]) -> Outcome {
    let mut buf = vec![SENTINEL; c.buffer_len().max(inputs.len())];
    buf[..inputs.len()].copy_from_slice(inputs);
    let mut ctx = ExecCtx::default();
    // SAFETY: test traces only touch objects the tests keep alive, and call
    // only test functions with the described signatures.
    let exit = unsafe { c.run(&mut buf, &mut ctx) };
    Outcome {
        exit,
        buf,
        iterations: ctx.iterations,
    }
}

/// Both compiled forms of a trace, for running many inputs.
pub struct Pair {
    pub trace: Trace,
    pub native: Box<dyn CompiledTrace>,
    pub interp: Box<dyn CompiledTrace>,
}

impl Pair {
    pub fn new(text: &str) -> Pair {
        Pair::from_trace(parse(text), true)
    }

    pub fn from_trace(trace: Trace, count: bool) -> Pair {
        let native = native(&trace, count);
        let interp = interp(&trace, count);
        assert_eq!(native.buffer_len(), interp.buffer_len());
        Pair {
            trace,
            native,
            interp,
        }
    }

    /// Runs both on `inputs`, asserts equal outcomes, returns it.
    pub fn check(&self, inputs: &[u64]) -> Outcome {
        let want = run(&*self.interp, inputs);
        let got = run(&*self.native, inputs);
        assert_eq!(
            got,
            want,
            "native vs interpreter differ on inputs {inputs:x?}\n{}",
            self.trace.to_text()
        );
        got
    }

    /// Like `check` for traces with heap effects: `reset` restores the heap
    /// before each run and `observe` captures it afterwards.
    pub fn check_heap<S: PartialEq + std::fmt::Debug>(
        &self,
        inputs: &[u64],
        mut reset: impl FnMut(),
        mut observe: impl FnMut() -> S,
    ) -> (Outcome, S) {
        reset();
        let want = run(&*self.interp, inputs);
        let want_heap = observe();
        reset();
        let got = run(&*self.native, inputs);
        let got_heap = observe();
        assert_eq!(
            got,
            want,
            "outcomes differ on inputs {inputs:x?}\n{}",
            self.trace.to_text()
        );
        assert_eq!(
            got_heap,
            want_heap,
            "heaps differ on inputs {inputs:x?}\n{}",
            self.trace.to_text()
        );
        (got, got_heap)
    }
}

/// Parses, compiles with both backends, runs once, compares.
pub fn check(text: &str, inputs: &[u64]) -> Outcome {
    Pair::new(text).check(inputs)
}

pub const INTS: &[i64] = &[
    0,
    1,
    -1,
    2,
    7,
    -7,
    63,
    64,
    65,
    -64,
    12345,
    0x5555_5555_5555_5555,
    i64::MAX,
    i64::MAX - 1,
    i64::MIN,
    i64::MIN + 1,
    1 << 32,
    -(1 << 31),
    3037000499, // floor(sqrt(i64::MAX)): squares at the multiply overflow boundary
    3037000500,
];

pub const FLOATS: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.5,
    0.5,
    2.5,
    -2.5,
    1e308,
    -1e308,
    5e-324,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
    9.3e18,
    -9.3e18,
    9223372036854775807.0,
    -9223372036854775808.0,
    4611686018427387904.5,
    f64::MAX,
    f64::MIN,
];

pub fn fbits(x: f64) -> u64 {
    x.to_bits()
}

/// The trace after every optimizer pass (peeling included).
pub fn optimized(trace: &Trace) -> Trace {
    let mut t = trace.clone();
    meta_tracer::optimize::optimize(&mut t, |_, t| {
        t.verify()
            .unwrap_or_else(|e| panic!("optimizer produced an invalid trace: {e}\n{t}"))
    });
    t
}

/// What the interpreter sees after a run: the resume location, every
/// snapshot slot with its value, and the iterations run. Traces that
/// compute the same thing agree on this even when their snapshots are
/// numbered differently (a peeled trace's loop guards have copies).
#[derive(Debug, Clone, PartialEq)]
pub struct Resumed {
    pub green: u32,
    pub slots: Vec<(u32, u8, u64)>,
    pub iterations: u64,
}

pub fn resumed(trace: &Trace, o: &Outcome) -> Resumed {
    let snap = &trace.snapshots[o.exit as usize];
    assert!(snap.virtuals.is_empty());
    Resumed {
        green: snap.green,
        slots: snap
            .slots
            .iter()
            .zip(&o.buf)
            .map(|(s, b)| (s.slot, s.tag, *b))
            .collect(),
        iterations: o.iterations,
    }
}

/// Where the guard that returned `exit` sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Part {
    /// An unpeeled trace.
    Body,
    /// Before a peeled trace's inner label.
    Preamble,
    /// After it.
    Loop,
}

pub fn exit_part(trace: &Trace, exit: u32) -> Part {
    let Some(label) = trace.label_index() else {
        return Part::Body;
    };
    let at = trace
        .ops
        .iter()
        .position(|op| op.snapshot.map(|s| s.0) == Some(exit))
        .expect("an exit has a guard");
    if at < label {
        Part::Preamble
    } else {
        Part::Loop
    }
}
