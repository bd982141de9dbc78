//! Compiles a synthetic trace repeatedly (for `perf record`) and prints
//! Cranelift's per-pass timings.
//!
//! `cargo run --release -p backend-x86_64 --example profile_compile -- 1000 200`
//! (`PASS_TIMES=1`: Cranelift's per-pass times; `KEEP=1`: memory per live
//! compiled trace).
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
    let size = b.compile(&t, &opts).expect("compiles").code_size();
    let _ = cranelift_codegen::timing::take_current();
    let (start, cpu_start) = (Instant::now(), cpu_ns());
    for _ in 0..reps {
        b.compile(&t, &opts).expect("compiles");
    }
    let per = start.elapsed() / reps as u32;
    let cpu_per = cpu_ns()
        .zip(cpu_start)
        .map(|(e, s)| (e - s) / reps as u64 / 1000);
    println!(
        "{n} ops, {} guards, {size} bytes: {per:?} wall, {} us cpu per compile",
        t.num_guards(),
        cpu_per.map_or("?".into(), |c| c.to_string())
    );
    if std::env::var_os("KEEP").is_some() {
        // Memory cost of keeping compiled traces alive (one module each).
        let (rss0, vm0) = vm_kb();
        let kept: Vec<_> = (0..reps)
            .map(|_| b.compile(&t, &opts).expect("compiles"))
            .collect();
        let (rss1, vm1) = vm_kb();
        println!(
            "{} live traces: +{} kB resident, +{} kB mapped ({} / {} bytes per trace)",
            kept.len(),
            rss1 - rss0,
            vm1 - vm0,
            (rss1 - rss0) * 1024 / reps as u64,
            (vm1 - vm0) * 1024 / reps as u64
        );
    }
    if std::env::var_os("PASS_TIMES").is_some() {
        println!("{}", cranelift_codegen::timing::take_current());
    }
}

/// Nanoseconds this thread has spent on a CPU (Linux schedstat), so that
/// figures are meaningful on a loaded machine.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Resident and mapped memory of this process (kB), from /proc.
fn vm_kb() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let get = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (get("VmRSS:"), get("VmSize:"))
}
