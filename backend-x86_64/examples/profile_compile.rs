//! Compiles a synthetic trace repeatedly (for `perf record`) and prints
//! Cranelift's per-pass timings.
//!
//! `cargo run --release -p backend-x86_64 --example profile_compile -- 1000 200`
use backend_x86_64::CraneliftBackend;
use meta_tracer::backend::{Backend, CompileOptions};
use std::time::Instant;

#[path = "../benches/synthetic.rs"]
mod synthetic;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let reps: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let t = synthetic::synthetic(n);
    let mut b = CraneliftBackend::new().expect("host ISA");
    let opts = CompileOptions::default();
    let _ = cranelift_codegen::timing::take_current();
    let start = Instant::now();
    for _ in 0..reps {
        b.compile(&t, &opts).expect("compiles");
    }
    let per = start.elapsed() / reps as u32;
    println!("{n} ops, {} guards: {per:?} per compile", t.num_guards());
    println!("{}", cranelift_codegen::timing::take_current());
}
