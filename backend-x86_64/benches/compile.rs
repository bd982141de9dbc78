//! Compile-time benchmark: synthetic loop traces of 10, 100 and 1000
//! operations (about one guard in four, snapshots of a few values, integer,
//! float, overflow and heap operations), compiled with the default settings
//! and with each alternative setting, plus the run time of a compiled
//! arithmetic loop under `opt_level` none and speed (code quality).
use backend_x86_64::{BackendSettings, CraneliftBackend, OptLevel, RegallocAlgorithm};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use meta_tracer::backend::{Backend, CompileOptions, ExecCtx};
use meta_tracer::ir_parse::parse_trace;
use std::time::Duration;

mod synthetic;
use synthetic::synthetic;

fn compile_sizes(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.measurement_time(Duration::from_secs(3)).sample_size(30);
    let opts = CompileOptions::default();
    for n in [10, 100, 1000] {
        let t = synthetic(n);
        let mut b = CraneliftBackend::new().unwrap();
        let size = b.compile(&t, &opts).unwrap().code_size();
        eprintln!("{n} ops ({} guards): {size} bytes of code", t.num_guards());
        g.bench_with_input(BenchmarkId::new("default", n), &t, |bench, t| {
            bench.iter(|| b.compile(t, &opts).unwrap())
        });
    }
    g.finish();
}

fn compile_settings(c: &mut Criterion) {
    let mut g = c.benchmark_group("settings");
    g.measurement_time(Duration::from_secs(3)).sample_size(30);
    let opts = CompileOptions::default();
    let configs = [
        (
            "none",
            BackendSettings {
                opt_level: OptLevel::None,
                verify: false,
                regalloc: RegallocAlgorithm::Backtracking,
            },
        ),
        (
            "none+verify",
            BackendSettings {
                opt_level: OptLevel::None,
                verify: true,
                regalloc: RegallocAlgorithm::Backtracking,
            },
        ),
        (
            "speed",
            BackendSettings {
                opt_level: OptLevel::Speed,
                verify: false,
                regalloc: RegallocAlgorithm::Backtracking,
            },
        ),
        (
            "none+single_pass",
            BackendSettings {
                opt_level: OptLevel::None,
                verify: false,
                regalloc: RegallocAlgorithm::SinglePass,
            },
        ),
    ];
    for n in [100, 1000] {
        let t = synthetic(n);
        for (name, s) in configs {
            let mut b = CraneliftBackend::with_settings(s).unwrap();
            let size = b.compile(&t, &opts).unwrap().code_size();
            eprintln!("{name} {n} ops: {size} bytes of code");
            g.bench_with_input(BenchmarkId::new(name, n), &t, |bench, t| {
                bench.iter(|| b.compile(t, &opts).unwrap())
            });
        }
    }
    let keep = CompileOptions {
        keep_dumps: true,
        ..CompileOptions::default()
    };
    let t = synthetic(100);
    let mut b = CraneliftBackend::new().unwrap();
    g.bench_with_input(BenchmarkId::new("default+dumps", 100), &t, |bench, t| {
        bench.iter(|| b.compile(t, &keep).unwrap())
    });
    g.finish();
}

/// Run time of a compiled arithmetic/float loop, per setting.
fn run_quality(c: &mut Criterion) {
    let text = "trace work
label i0=s0:0, i1=s1:0, i2=s2:0, f3=s3:0
i4 = int_mul i1, 6364136223846793005
i5 = int_add i4, 1442695040888963407
i6 = uint_shr i5, 33
i7 = int_xor i6, i2
i8 = int_and i7, 1023
f9 = cast_int_to_float i8
f10 = float_mul f9, 0.5
f11 = float_add f3, f10
i12 = int_add_ovf i2, i8 [@0 s0:0=i0]
i13 = int_sub i0, 1
i14 = int_gt i13, 0
guard_true i14 [@1 s0:0=i13 s1:0=i5 s2:0=i12 s3:0=f11]
jump i13, i5, i12, f11
";
    let t = parse_trace(text).unwrap();
    let mut g = c.benchmark_group("run_10k_iterations");
    g.measurement_time(Duration::from_secs(3)).sample_size(30);
    for (name, opt_level) in [("none", OptLevel::None), ("speed", OptLevel::Speed)] {
        let s = BackendSettings {
            opt_level,
            verify: false,
            regalloc: RegallocAlgorithm::Backtracking,
        };
        let code = CraneliftBackend::with_settings(s)
            .unwrap()
            .compile(&t, &CompileOptions::default())
            .unwrap();
        g.bench_function(name, |bench| {
            bench.iter(|| {
                let mut buf = [10_000u64, 1, 0, 0];
                let mut ctx = ExecCtx::default();
                // SAFETY: the trace touches no heap and calls nothing.
                unsafe { code.run(&mut buf, &mut ctx) }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, compile_sizes, compile_settings, run_quality);
criterion_main!(benches);
