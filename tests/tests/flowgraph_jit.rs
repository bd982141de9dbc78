//! End-to-end: flowgraph programs give the same results with the JIT off,
//! on (default threshold), and forced (threshold 1), with the Cranelift
//! backend and with the IR interpreter backend; statistics show that loops
//! were compiled, ran many iterations in machine code, and resumed
//! correctly after guard exits.

use backend_x86_64::CraneliftBackend;
use interp_example::flowgraph::{self, Program, Val};
use meta_tracer::prelude::*;
use std::rc::Rc;

fn program(name: &str) -> Program {
    let path = format!(
        "{}/../interp-example/examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let src = std::fs::read_to_string(&path).unwrap();
    flowgraph::parse(name, &src).unwrap()
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Off,
    On,
    Forced,
    ForcedIrInterp,
}

const MODES: [Mode; 4] = [Mode::Off, Mode::On, Mode::Forced, Mode::ForcedIrInterp];

fn run(
    prog: &Rc<Program>,
    inputs: &[(&str, Val)],
    mode: Mode,
) -> (Result<String, String>, JitStats) {
    let on = matches!(mode, Mode::On);
    let cfg = JitConfig {
        enabled: !matches!(mode, Mode::Off),
        threshold: if on {
            meta_tracer::config::DEFAULT_THRESHOLD
        } else {
            1
        },
        // Forced modes compile everything at once (no probation).
        probation_entries: if on {
            meta_tracer::config::DEFAULT_PROBATION_ENTRIES
        } else {
            0
        },
        ..JitConfig::default()
    };
    let backend: Box<dyn Backend> = match mode {
        Mode::ForcedIrInterp => Box::new(IrInterpreter),
        _ => Box::new(CraneliftBackend::new().unwrap()),
    };
    let p = prog.clone();
    let mut jit = JitDriver::new(cfg, backend, move |pc: &u32| p.location(*pc));
    let inputs: Vec<(String, Val)> = inputs.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let r = flowgraph::run(prog, &inputs, &mut jit).map(|v| prog.show(v));
    (r, jit.stats())
}

/// Runs in every mode and checks all agree with the JIT-off result.
fn agree(prog: &Rc<Program>, inputs: &[(&str, Val)]) -> Vec<JitStats> {
    let (want, _) = run(prog, inputs, Mode::Off);
    MODES
        .iter()
        .map(|&m| {
            let (got, stats) = run(prog, inputs, m);
            assert_eq!(got, want, "mode {m:?}, inputs {inputs:?}");
            stats
        })
        .collect()
}

#[test]
fn power_agrees_over_many_inputs_and_compiles() {
    let prog = Rc::new(program("power.fg"));
    for x in [-3i64, -1, 0, 1, 2, 3, 7] {
        for y in [0i64, 1, 2, 5, 17, 39, 300, 5000] {
            agree(&prog, &[("x", Val::Int(x)), ("y", Val::Int(y))]);
        }
    }
    let stats = agree(&prog, &[("x", Val::Int(1)), ("y", Val::Int(100_000))]);
    let on = &stats[1];
    assert_eq!(on.traces_compiled, 1, "{}", on.report());
    assert!(
        on.iterations > 99_000,
        "machine code ran {} iterations",
        on.iterations
    );
    // Two entries: one on probation in the IR interpreter, which ends at
    // the loop header once the budget is spent, then machine code to the
    // end of the loop.
    let t = &on.traces[0];
    assert!(
        t.on_probation && t.probation_entries == 1,
        "{}",
        on.report()
    );
    assert_eq!(on.entries, 2, "{}", on.report());
    assert_eq!(on.guard_exits, 1, "left once, at the loop's end");
    let forced = &stats[2];
    assert_eq!(
        forced.entries, 1,
        "one entry: the loop stays in machine code"
    );
}

#[test]
fn loop_invariant_work_is_peeled_into_a_preamble() {
    let prog = Rc::new(program("invariant_sum.fg"));
    for k in [0i64, 3, -5, 1 << 31, 1 << 32] {
        for n in [0i64, 1, 2, 3, 10, 500, 3000] {
            agree(&prog, &[("k", Val::Int(k)), ("n", Val::Int(n))]);
        }
    }
    let stats = agree(&prog, &[("k", Val::Int(3)), ("n", Val::Int(100_000))]);
    // Peeled after probation (default mode) and at once (forced modes,
    // machine code and IR interpreter): the loop part is shorter than the
    // preamble, which holds the multiplication.
    for s in &stats[1..] {
        let t = &s.traces[0];
        let loop_ops = t.loop_ops.unwrap_or_else(|| panic!("{}", s.report()));
        assert!(2 * loop_ops < t.optimized_ops, "{}", s.report());
        assert!(s.iterations > 99_000, "{}", s.report());
    }
}

#[test]
fn overflow_is_the_same_error_in_every_mode() {
    let prog = Rc::new(program("power.fg"));
    // 3^40 overflows: the int_mul_ovf guard fails and the interpreter
    // re-executes the multiplication to raise the error.
    for y in [40i64, 41, 300] {
        let stats = agree(&prog, &[("x", Val::Int(3)), ("y", Val::Int(y))]);
        assert!(stats[2].guard_exits >= 1);
    }
    let fib = Rc::new(program("fib.fg"));
    let (r, _) = run(&fib, &[("n", Val::Int(93))], Mode::Forced);
    assert!(r.unwrap_err().contains("integer overflow"));
    agree(&fib, &[("n", Val::Int(92))]);
}

#[test]
fn data_dependent_branch_resumes_midway() {
    let prog = Rc::new(program("abs_sum.fg"));
    for n in [0i64, 1, 2, 10, 199, 200, 201, 1000, 5000] {
        let stats = agree(&prog, &[("n", Val::Int(n))]);
        let (r, _) = run(&prog, &[("n", Val::Int(n))], Mode::On);
        // sum |i| for i in -n..n, plus n.
        assert_eq!(r.unwrap(), (n * n + n).to_string());
        if n >= 1000 {
            let on = &stats[1];
            assert!(on.traces_compiled >= 1, "{}", on.report());
            assert!(on.guard_exits > 0 && on.iterations > 100, "{}", on.report());
        }
    }
}

#[test]
fn lists_and_data_dependent_guards() {
    let mut prog = program("parity_count.fg");
    let pattern = prog.value("[1,0,0,1,1,0,1]").unwrap();
    let prog = Rc::new(prog);
    for n in [0i64, 1, 6, 7, 100, 1000, 10_000] {
        let stats = agree(
            &prog,
            &[("l", pattern), ("p", Val::Int(7)), ("n", Val::Int(n))],
        );
        let (r, _) = run(
            &prog,
            &[("l", pattern), ("p", Val::Int(7)), ("n", Val::Int(n))],
            Mode::Forced,
        );
        let want = (0..n)
            .filter(|i| [1, 0, 0, 1, 1, 0, 1][(*i % 7) as usize] == 1)
            .count();
        assert_eq!(r.unwrap(), want.to_string());
        if n == 10_000 {
            // Compiled at once and exiting on the pattern's zeros...
            assert!(stats[2].traces_compiled >= 1 && stats[2].guard_exits > 0);
            // ... while with the default settings the trace, exiting
            // after a couple of iterations, fails probation: no machine
            // code is generated for it.
            let on = &stats[1];
            assert!(on.traces_discarded >= 1, "{}", on.report());
            assert!(
                on.traces
                    .iter()
                    .all(|t| t.on_probation && t.code_bytes == 0),
                "{}",
                on.report()
            );
        }
    }
    let mut sum = program("sum_list.fg");
    let l = sum.value("[5,-2,9,100,3]").unwrap();
    let sum = Rc::new(sum);
    for n in 0..=5 {
        agree(&sum, &[("l", l), ("n", Val::Int(n))]);
    }
    // Out of range: the bounds guard fails and the interpreter reports it.
    let (r, _) = run(&sum, &[("l", l), ("n", Val::Int(6))], Mode::Forced);
    assert!(r.unwrap_err().contains("index 5 out of range"));
}

#[test]
fn nested_loops_compile_separately() {
    let prog = Rc::new(program("mul_nested.fg"));
    for (x, y) in [(0i64, 0i64), (1, 1), (3, 500), (300, 200), (1000, 7)] {
        let stats = agree(&prog, &[("x", Val::Int(x)), ("y", Val::Int(y))]);
        if x * y >= 60_000 {
            assert!(stats[1].traces_compiled >= 1);
            assert!(stats[1].iterations > 50_000, "{}", stats[1].report());
        }
    }
}

#[test]
fn bad_programs_are_errors_not_panics() {
    for src in [
        "",
        "x = frob 1",
        "jump nowhere",
        "a:\n  if x then a",
        "a:\n x = add 1",
        "a:\n x = readlist 1, 2\n print_and_stop x",
    ] {
        match flowgraph::parse("bad.fg", src) {
            Err(e) => assert!(e.starts_with("bad.fg"), "{e}"),
            Ok(p) => {
                let p = Rc::new(p);
                let (r, _) = run(&p, &[], Mode::Forced);
                assert!(r.is_err());
            }
        }
    }
}

#[test]
fn dumps_show_every_stage_with_locations() {
    let prog = Rc::new(program("abs_sum.fg"));
    let path = std::env::temp_dir().join(format!("metatracer-dump-{}.txt", std::process::id()));
    let cfg = JitConfig {
        threshold: 5,
        dump: Some(DumpTarget::File(path.clone())),
        ..JitConfig::default()
    };
    let p = prog.clone();
    let mut jit = JitDriver::new(
        cfg,
        Box::new(CraneliftBackend::new().unwrap()),
        move |pc: &u32| p.location(*pc),
    );
    let r = flowgraph::run(&prog, &[("n".to_string(), Val::Int(300))], &mut jit);
    assert_eq!(r.map(|v| prog.show(v)), Ok("90300".to_string()));
    drop(jit); // flushes the dump
    let dump = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    for section in [
        "recorded",
        "after fold",
        "after cse",
        "after guards",
        "after dce",
        "cranelift-ir",
        "disassembly",
    ] {
        assert!(
            dump.contains("at abs_sum.fg:") && dump.contains(section),
            "missing {section} in dump:\n{dump}"
        );
    }
    // Source locations label the operations.
    assert!(dump.contains("; abs_sum.fg:"), "{dump}");
    // The textual IR in the dump parses back.
    let recorded = dump
        .split("---- ")
        .find(|s| s.contains(": recorded"))
        .unwrap();
    let ir = recorded.split_once('\n').unwrap().1;
    meta_tracer::ir_parse::parse_trace(ir)
        .unwrap()
        .verify()
        .unwrap();
}

#[test]
fn aborts_are_named_and_lead_to_blacklisting() {
    let prog = Rc::new(program("power.fg"));
    let cfg = JitConfig {
        threshold: 2,
        trace_limit: 1,
        max_aborts: 3,
        ..JitConfig::default()
    };
    let p = prog.clone();
    let mut jit = JitDriver::new(
        cfg,
        Box::new(CraneliftBackend::new().unwrap()),
        move |pc: &u32| p.location(*pc),
    );
    let r = flowgraph::run(
        &prog,
        &[
            ("x".to_string(), Val::Int(1)),
            ("y".to_string(), Val::Int(10_000)),
        ],
        &mut jit,
    );
    assert_eq!(r.map(|v| prog.show(v)), Ok("1".to_string()));
    let s = jit.stats();
    assert_eq!(
        s.aborts.get(&AbortReason::TraceTooLong),
        Some(&3),
        "{}",
        s.report()
    );
    assert_eq!(s.blacklisted, 1);
    assert_eq!(s.traces_compiled, 0);
    assert!(s.report().contains("trace too long"));
}

#[test]
fn a_trace_whose_path_stopped_being_taken_is_retraced() {
    // After the flip at i = 0, the first trace (recorded on the negative
    // branch) exits on every entry; the driver discards it and records the
    // now-common path, instead of bouncing in and out 100000 times.
    let prog = Rc::new(program("abs_sum.fg"));
    let (r, s) = run(&prog, &[("n", Val::Int(100_000))], Mode::On);
    assert_eq!(r.unwrap(), (100_000i64 * 100_000 + 100_000).to_string());
    assert_eq!(s.traces_discarded, 1, "{}", s.report());
    assert_eq!(s.traces_compiled, 2, "{}", s.report());
    assert!(s.entries < 1000, "{}", s.report());
    assert!(s.iterations > 199_000, "{}", s.report());
}
