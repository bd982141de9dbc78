//! Randomized differential testing: seeded generator of integer loop traces
//! (arithmetic, comparisons, overflow guards, guards of every integer kind,
//! `same_as`, constants at the edges), compiled natively and compared with
//! the IR interpreter on several inputs each.
mod common;
use common::*;

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn int(&mut self) -> i64 {
        match self.below(3) {
            0 => *self.pick(INTS),
            1 => (self.below(200) as i64) - 100,
            _ => self.next() as i64,
        }
    }
}

const BINOPS: &[&str] = &[
    "int_add",
    "int_sub",
    "int_mul",
    "int_and",
    "int_or",
    "int_xor",
    "int_shl",
    "int_shr",
    "uint_shr",
    "int_lt",
    "int_le",
    "int_eq",
    "int_ne",
    "int_gt",
    "int_ge",
    "int_add_ovf",
    "int_sub_ovf",
    "int_mul_ovf",
];
const UNOPS: &[&str] = &["int_neg", "int_not", "int_is_true", "same_as"];

struct Gen {
    rng: Rng,
    text: String,
    live: Vec<String>,
    next: u32,
    nsnap: u32,
}

impl Gen {
    fn operand(&mut self) -> String {
        if self.rng.chance(25) {
            self.rng.int().to_string()
        } else {
            self.rng.pick(&self.live).clone()
        }
    }

    fn snapshot(&mut self) -> String {
        let n = self.rng.below(5);
        let mut s = format!("[@{}", self.nsnap);
        self.nsnap += 1;
        for k in 0..n {
            let o = self.operand();
            s += &format!(" s{k}:0={o}");
        }
        s + "]"
    }

    fn fresh(&mut self) -> String {
        let v = format!("i{}", self.next);
        self.next += 1;
        v
    }

    fn op(&mut self) {
        match self.rng.below(10) {
            0..=5 => {
                let op = *self.rng.pick(BINOPS);
                let (a, b) = (self.operand(), self.operand());
                let r = self.fresh();
                let snap = if op.ends_with("_ovf") {
                    format!(" {}", self.snapshot())
                } else {
                    String::new()
                };
                self.text += &format!("{r} = {op} {a}, {b}{snap}\n");
                self.live.push(r);
            }
            6 => {
                let op = *self.rng.pick(UNOPS);
                let a = self.operand();
                let r = self.fresh();
                self.text += &format!("{r} = {op} {a}\n");
                self.live.push(r);
            }
            7 | 8 => {
                // A guard on a comparison: fails sometimes.
                let cmp = *self
                    .rng
                    .pick(&["int_lt", "int_le", "int_eq", "int_ne", "int_gt", "int_ge"]);
                let (a, b) = (self.operand(), self.operand());
                let c = self.fresh();
                let g = if self.rng.chance(50) {
                    "guard_true"
                } else {
                    "guard_false"
                };
                let snap = self.snapshot();
                self.text += &format!("{c} = {cmp} {a}, {b}\n{g} {c} {snap}\n");
                self.live.push(c);
            }
            _ => {
                let a = self.rng.pick(&self.live).clone();
                let snap = self.snapshot();
                if self.rng.chance(50) {
                    let b = self.operand();
                    self.text += &format!("guard_value {a}, {b} {snap}\n");
                } else {
                    let g = if self.rng.chance(50) {
                        "guard_true"
                    } else {
                        "guard_false"
                    };
                    self.text += &format!("{g} {a} {snap}\n");
                }
            }
        }
    }
}

/// A random loop trace over `ninputs` integer inputs; input 0 is a counter
/// that bounds the number of iterations.
fn generate(seed: u64) -> (String, usize) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let ninputs = 1 + rng.below(4);
    let labels: Vec<String> = (0..=ninputs).map(|k| format!("i{k}=s{k}:0")).collect();
    let live: Vec<String> = (0..=ninputs).map(|k| format!("i{k}")).collect();
    let mut g = Gen {
        rng,
        text: format!("trace random{seed}\nlabel {}\n", labels.join(", ")),
        live,
        next: ninputs as u32 + 1,
        nsnap: 0,
    };
    let nops = 3 + g.rng.below(30);
    let counter_at = g.rng.below(nops + 1);
    let mut counter = String::new();
    for k in 0..=nops {
        if k == counter_at {
            let (c, t) = (g.fresh(), g.fresh());
            let snap = g.snapshot();
            g.text += &format!("{c} = int_sub i0, 1\n{t} = int_gt {c}, 0\nguard_true {t} {snap}\n");
            counter = c;
        }
        if k < nops {
            g.op();
        }
    }
    let mut jump = vec![counter];
    for _ in 0..ninputs {
        jump.push(g.operand());
    }
    g.text += &format!("jump {}\n", jump.join(", "));
    (g.text, ninputs + 1)
}

#[test]
fn random_integer_traces() {
    let mut exits_taken = std::collections::HashSet::new();
    let mut total_iterations = 0;
    for seed in 0..400u64 {
        let (text, n) = generate(seed);
        let p = Pair::new(&text);
        let mut rng = Rng(seed + 12345);
        for _ in 0..4 {
            let mut inputs = vec![1 + rng.below(30) as u64];
            inputs.extend((1..n).map(|_| rng.int() as u64));
            let o = p.check(&inputs);
            exits_taken.insert((seed, o.exit));
            total_iterations += o.iterations;
        }
    }
    // The generator must exercise real loops and many different exits.
    assert!(total_iterations > 1000, "{total_iterations}");
    assert!(exits_taken.len() > 450, "{}", exits_taken.len());
}

// ---------------------------------------------------------------------------
// Mixed integer/float traces.

const FLOAT_BINOPS: &[&str] = &["float_add", "float_sub", "float_mul", "float_div"];
const FLOAT_CMPS: &[&str] = &[
    "float_lt", "float_le", "float_eq", "float_ne", "float_gt", "float_ge",
];

fn float_const(rng: &mut Rng) -> String {
    let x = match rng.below(3) {
        0 => *rng.pick(FLOATS),
        1 => (rng.below(200) as f64 - 100.0) / 8.0,
        _ => f64::from_bits(rng.next()),
    };
    meta_tracer::ir::format_float(x)
}

/// A random loop over one counter, `ni` integer and `nf` float inputs.
fn generate_mixed(seed: u64) -> (String, usize, usize) {
    let mut rng = Rng(seed.wrapping_mul(0xD1B5_4A32_D192_ED03) | 1);
    let (ni, nf) = (1 + rng.below(3), 1 + rng.below(3));
    let mut labels = vec!["i0=s0:0".to_string()];
    let mut ints: Vec<String> = vec!["i0".into()];
    let mut floats: Vec<String> = Vec::new();
    for k in 1..=ni {
        labels.push(format!("i{k}=s{k}:0"));
        ints.push(format!("i{k}"));
    }
    for k in ni + 1..=ni + nf {
        labels.push(format!("f{k}=s{k}:0"));
        floats.push(format!("f{k}"));
    }
    let mut text = format!("trace mixed{seed}\nlabel {}\n", labels.join(", "));
    let mut next = ni + nf + 1;
    let mut nsnap = 0;
    let mut snapshot = |rng: &mut Rng, ints: &[String], floats: &[String]| {
        let mut s = format!("[@{nsnap}");
        nsnap += 1;
        for k in 0..rng.below(5) {
            let o = if rng.chance(50) {
                rng.pick(floats).clone()
            } else {
                rng.pick(ints).clone()
            };
            s += &format!(" s{k}:0={o}");
        }
        s + "]"
    };
    let fop = |rng: &mut Rng, floats: &[String]| {
        if rng.chance(20) {
            float_const(rng)
        } else {
            rng.pick(floats).clone()
        }
    };
    let nops = 3 + rng.below(25);
    let counter_at = rng.below(nops + 1);
    let mut counter = String::new();
    for k in 0..=nops {
        if k == counter_at {
            let (c, t) = (format!("i{next}"), format!("i{}", next + 1));
            next += 2;
            let snap = snapshot(&mut rng, &ints, &floats);
            text += &format!("{c} = int_sub i0, 1\n{t} = int_gt {c}, 0\nguard_true {t} {snap}\n");
            counter = c;
        }
        if k == nops {
            break;
        }
        match rng.below(8) {
            0..=2 => {
                let op = *rng.pick(FLOAT_BINOPS);
                let (a, b) = (fop(&mut rng, &floats), fop(&mut rng, &floats));
                text += &format!("f{next} = {op} {a}, {b}\n");
                floats.push(format!("f{next}"));
            }
            3 => {
                let op = if rng.chance(50) {
                    "float_neg"
                } else {
                    "float_abs"
                };
                let a = fop(&mut rng, &floats);
                text += &format!("f{next} = {op} {a}\n");
                floats.push(format!("f{next}"));
            }
            4 => {
                let a = fop(&mut rng, &floats);
                text += &format!("i{next} = cast_float_to_int {a}\n");
                ints.push(format!("i{next}"));
            }
            5 => {
                let a = rng.pick(&ints).clone();
                text += &format!("f{next} = cast_int_to_float {a}\n");
                floats.push(format!("f{next}"));
            }
            6 => {
                let op = *rng.pick(FLOAT_CMPS);
                let (a, b) = (fop(&mut rng, &floats), fop(&mut rng, &floats));
                text += &format!("i{next} = {op} {a}, {b}\n");
                ints.push(format!("i{next}"));
            }
            _ => {
                let op = *rng.pick(FLOAT_CMPS);
                let (a, b) = (fop(&mut rng, &floats), fop(&mut rng, &floats));
                let g = if rng.chance(50) {
                    "guard_true"
                } else {
                    "guard_false"
                };
                let snap = snapshot(&mut rng, &ints, &floats);
                text += &format!("i{next} = {op} {a}, {b}\n{g} i{next} {snap}\n");
                ints.push(format!("i{next}"));
            }
        }
        next += 1;
    }
    let mut jump = vec![counter];
    for _ in 0..ni {
        jump.push(rng.pick(&ints).clone());
    }
    for _ in 0..nf {
        jump.push(rng.pick(&floats).clone());
    }
    text += &format!("jump {}\n", jump.join(", "));
    (text, ni, nf)
}

/// Compares outcomes, treating any two NaNs in float exit slots as equal:
/// which operand's NaN payload an IEEE operation propagates is not
/// something Rust (or LLVM, which may commute the interpreter's `fadd`)
/// promises, so only NaN-ness is checked there.
fn same_modulo_nan_payload(p: &Pair, got: &Outcome, want: &Outcome) -> bool {
    if got.exit != want.exit || got.iterations != want.iterations || got.buf.len() != want.buf.len()
    {
        return false;
    }
    let types: Vec<_> = p.trace.snapshots[got.exit as usize]
        .exit_operands()
        .iter()
        .map(|o| p.trace.operand_type(*o))
        .collect();
    got.buf
        .iter()
        .zip(&want.buf)
        .enumerate()
        .all(|(k, (g, w))| {
            g == w
                || (types.get(k) == Some(&meta_tracer::ir::Type::Float)
                    && f64::from_bits(*g).is_nan()
                    && f64::from_bits(*w).is_nan())
        })
}

#[test]
fn random_mixed_float_traces() {
    let mut exits = 0;
    for seed in 0..300u64 {
        let (text, ni, nf) = generate_mixed(seed);
        let p = Pair::new(&text);
        let mut rng = Rng(seed + 777);
        for _ in 0..4 {
            let mut inputs = vec![1 + rng.below(20) as u64];
            inputs.extend((0..ni).map(|_| rng.int() as u64));
            inputs.extend((0..nf).map(|_| match rng.below(3) {
                0 => rng.pick(FLOATS).to_bits(),
                1 => ((rng.below(2000) as f64 - 1000.0) / 16.0).to_bits(),
                _ => rng.next(),
            }));
            let want = run(&*p.interp, &inputs);
            let got = run(&*p.native, &inputs);
            assert!(
                same_modulo_nan_payload(&p, &got, &want),
                "inputs {inputs:x?}\nnative {got:x?}\ninterp {want:x?}\n{text}"
            );
            exits += got.exit as usize;
        }
    }
    assert!(exits > 0);
}

// ---------------------------------------------------------------------------
// The same traces through the optimizer: with peeling, many become a
// preamble and a loop; what the interpreter resumes with must not change.

/// Equal resume states, treating two NaNs in a float slot as equal (see
/// `same_modulo_nan_payload`: folding may commute a float operation).
fn same_resumed(trace: &meta_tracer::ir::Trace, exit: u32, got: &Resumed, want: &Resumed) -> bool {
    if got.green != want.green
        || got.iterations != want.iterations
        || got.slots.len() != want.slots.len()
    {
        return false;
    }
    let snap = &trace.snapshots[exit as usize];
    got.slots
        .iter()
        .zip(&want.slots)
        .zip(&snap.slots)
        .all(|((g, w), s)| {
            let float = matches!(s.value, meta_tracer::ir::ResumeValue::Op(o)
                if trace.operand_type(o) == meta_tracer::ir::Type::Float);
            g == w
                || (float
                    && (g.0, g.1) == (w.0, w.1)
                    && f64::from_bits(g.2).is_nan()
                    && f64::from_bits(w.2).is_nan())
        })
}

#[test]
fn random_traces_optimized_and_peeled() {
    let mut peeled = 0;
    let mut parts = std::collections::HashMap::new();
    let mut check = |text: &str, inputs: &[Vec<u64>]| {
        let original = parse(text);
        let reference = interp(&original, true);
        let opt = Pair::from_trace(optimized(&original), true);
        if opt.trace.label_index().is_some() {
            peeled += 1;
        }
        for i in inputs {
            let o = run(&*reference, i);
            let want = resumed(&original, &o);
            let got_native = run(&*opt.native, i);
            let got_interp = run(&*opt.interp, i);
            for got in [&got_native, &got_interp] {
                assert_eq!(got.exit, got_native.exit);
                let g = resumed(&opt.trace, got);
                assert!(
                    same_resumed(&original, o.exit, &g, &want),
                    "inputs {i:x?}\noptimized {g:x?}\noriginal {want:x?}\n{text}\n{}",
                    opt.trace
                );
            }
            *parts
                .entry(exit_part(&opt.trace, got_native.exit))
                .or_insert(0) += 1;
        }
    };
    for seed in 0..400u64 {
        let (text, n) = generate(seed);
        let mut rng = Rng(seed + 12345);
        let inputs: Vec<Vec<u64>> = (0..4)
            .map(|_| {
                let mut i = vec![1 + rng.below(30) as u64];
                i.extend((1..n).map(|_| rng.int() as u64));
                i
            })
            .collect();
        check(&text, &inputs);
    }
    for seed in 0..300u64 {
        let (text, ni, nf) = generate_mixed(seed);
        let mut rng = Rng(seed + 777);
        let inputs: Vec<Vec<u64>> = (0..4)
            .map(|_| {
                let mut i = vec![1 + rng.below(20) as u64];
                i.extend((0..ni).map(|_| rng.int() as u64));
                i.extend((0..nf).map(|_| match rng.below(3) {
                    0 => rng.pick(FLOATS).to_bits(),
                    1 => ((rng.below(2000) as f64 - 1000.0) / 16.0).to_bits(),
                    _ => rng.next(),
                }));
                i
            })
            .collect();
        check(&text, &inputs);
    }
    // Peeling must be exercised, with exits from both parts.
    let part = |p| parts.get(&p).copied().unwrap_or(0);
    // (At the time of writing: 405 of 700 peeled; 1439 exits from a
    // preamble, 181 from a loop, 1180 from unpeeled traces.)
    assert!(peeled > 300, "{peeled} peeled");
    assert!(part(Part::Preamble) > 500, "{parts:?}");
    assert!(part(Part::Loop) > 100, "{parts:?}");
}
