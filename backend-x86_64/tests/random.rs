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
