//! The power loop of the flowgraph tutorial language:
//! * `interpreter-without-api` vs `interpreted` (JIT disabled): the cost of
//!   writing the interpreter against the meta-tracer API when nothing is
//!   traced (target: none);
//! * `interpreted` vs `compiled`: what the JIT buys (target: ≥ 10x).
//!
//! Run: `cargo bench -p interp-example --bench flowgraph`.

use criterion::{criterion_group, criterion_main, Criterion};
use interp_example::flowgraph::{self, Val};
use meta_tracer::prelude::*;
use std::hint::black_box;
use std::rc::Rc;

const POWER: &str = include_str!("../examples/power.fg");
const Y: i64 = 1_000_000;

fn bench(c: &mut Criterion) {
    let prog = Rc::new(flowgraph::parse("power.fg", POWER).unwrap());
    let inputs = vec![
        ("x".to_string(), Val::Int(1)),
        ("y".to_string(), Val::Int(Y)),
    ];
    let mut g = c.benchmark_group("power y=1e6");
    g.sample_size(20);
    g.bench_function("interpreter-without-api", |b| {
        b.iter(|| black_box(flowgraph::run_without_jit_api(&prog, black_box(&inputs)).unwrap()))
    });
    for (name, enabled) in [("interpreted", false), ("compiled", true)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                // A fresh driver each time: warm-up, recording and
                // compilation are part of what is measured.
                let cfg = JitConfig {
                    enabled,
                    ..JitConfig::default()
                };
                let p = prog.clone();
                let mut jit =
                    JitDriver::new(cfg, interp_example::jit::backend(), move |pc: &u32| {
                        p.location(*pc)
                    });
                black_box(flowgraph::run(&prog, black_box(&inputs), &mut jit).unwrap())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
