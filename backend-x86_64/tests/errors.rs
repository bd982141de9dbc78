//! Unsupported and malformed traces are rejected with an `Err`, never a
//! panic; dumps, code size and code memory ownership.
mod common;
use backend_x86_64::{BackendSettings, CraneliftBackend, OptLevel, RegallocAlgorithm};
use common::*;
use meta_tracer::backend::{Backend, CompileError, CompileOptions, CompiledTrace};
use meta_tracer::ir::{Descr, Operand, Type};

fn compile(text: &str) -> Result<Box<dyn CompiledTrace>, CompileError> {
    CraneliftBackend::new()
        .unwrap()
        .compile(&parse(text), &opts(false))
}

#[test]
fn unsupported_operations_are_errors() {
    for (body, what) in [
        ("r1 = new d0", "new"),
        ("stm_read_barrier r0", "stm_read_barrier"),
        ("stm_write_barrier r0", "stm_write_barrier"),
        ("stm_become_inevitable", "stm_become_inevitable"),
    ] {
        let text =
            format!("trace t\ndescr d0 = size Obj 16 class=1\nlabel r0=s0:0\n{body}\njump r0\n");
        match compile(&text) {
            Err(CompileError::Unsupported(s)) => assert!(s.contains(what), "{s}"),
            Err(e) => panic!("{what}: wrong error {e}"),
            Ok(_) => panic!("{what} compiled"),
        }
    }
}

#[test]
fn malformed_traces_are_errors() {
    let cases = [
        // Not a loop.
        "trace t\nlabel i0=s0:0\ni1 = int_add i0, 1\n",
        // Field op with an array descriptor.
        "trace t\ndescr d0 = array A len=0 items=8 int 8\nlabel r0=s0:0\ni1 = getfield r0, d0\njump r0\n",
        // Array op with a field descriptor.
        "trace t\ndescr d0 = field F 0 int 8\nlabel r0=s0:0\ni1 = arraylen r0, d0\njump r0\n",
        // guard_class with a call descriptor.
        "trace t\ndescr d0 = call f 0x1000 () -> int pure\nlabel r0=s0:0\nguard_class r0, 1, d0 [@0]\njump r0\n",
        // Bad field width.
        "trace t\ndescr d0 = field F 0 int 3\nlabel r0=s0:0\ni1 = getfield r0, d0\njump r0\n",
        // Bad item width.
        "trace t\ndescr d0 = array A len=0 items=8 int 16\nlabel r0=s0:0\ni1 = getarrayitem r0, 0, d0\njump r0\n",
        // Call with the wrong number of arguments.
        "trace t\ndescr d0 = call f 0x1000 (int, int) -> int pure\nlabel i0=s0:0\ni1 = call d0, i0\njump i0\n",
        // Jump with the wrong number of operands.
        "trace t\nlabel i0=s0:0\njump i0, i0\n",
    ];
    for text in cases {
        match compile(text) {
            Err(CompileError::Invalid(_)) => {}
            other => panic!("expected Invalid for\n{text}\ngot {:?}", other.map(|_| ())),
        }
    }
    // Programmatic corruption the parser would not produce.
    let good = "trace t\ndescr d0 = field F 0 int 8\nlabel r0=s0:0, i1=s1:0\ni2 = getfield r0, d0\nguard_true i2 [@0 s0:0=i1]\njump r0, i1\n";
    let mut t = parse(good);
    t.ops[0].descr = None;
    assert!(CraneliftBackend::new()
        .unwrap()
        .compile(&t, &opts(false))
        .is_err());
    let mut t = parse(good);
    t.ops[1].snapshot = None;
    assert!(CraneliftBackend::new()
        .unwrap()
        .compile(&t, &opts(false))
        .is_err());
    let mut t = parse(good);
    t.ops[1].args[0] = Operand::Val(meta_tracer::ir::Value(99));
    assert!(CraneliftBackend::new()
        .unwrap()
        .compile(&t, &opts(false))
        .is_err());
    let mut t = parse(good);
    t.inputs[1].ty = Type::Void;
    assert!(CraneliftBackend::new()
        .unwrap()
        .compile(&t, &opts(false))
        .is_err());
    let mut t = parse(good);
    if let Descr::Field(f) = &mut t.descrs[0] {
        f.size = 0;
    }
    assert!(CraneliftBackend::new()
        .unwrap()
        .compile(&t, &opts(false))
        .is_err());
}

#[test]
fn backend_survives_errors() {
    // A failed compilation must not poison the reusable contexts.
    let mut b = CraneliftBackend::new().unwrap();
    let ok =
        parse("trace t\nlabel i0=s0:0\ni1 = int_sub i0, 1\nguard_true i1 [@0 s0:0=i1]\njump i1\n");
    let bad = parse("trace t\ndescr d0 = size O 8 class=1\nlabel i0=s0:0\nr1 = new d0\njump i0\n");
    for _ in 0..3 {
        assert!(b.compile(&bad, &opts(false)).is_err());
        let c = b.compile(&ok, &opts(false)).unwrap();
        assert_eq!(run(&*c, &[5]).exit, 0);
    }
}

#[test]
fn ill_typed_operands_are_reinterpreted_like_the_interpreter() {
    // The IR moves bits; the interpreter accepts an int op on a float value
    // (after a programmatic rewrite), and so must the backend.
    let mut t = parse(
        "trace t\nlabel f0=s0:0, i1=s1:0\ni2 = int_add i1, 1\nguard_true 0 [@0 s0:0=i2]\njump f0, i1\n",
    );
    t.ops[0].args[0] = Operand::Val(t.inputs[0].value);
    let p = Pair::from_trace(t, false);
    p.check(&[1.5f64.to_bits(), 0]);
}

#[test]
fn dumps_and_code_size() {
    let t = parse(
        "trace t\nlabel i0=s0:0, f1=s1:0\ni2 = int_sub_ovf i0, 1 [@0 s0:0=i0]\nf3 = float_mul f1, 2.0\nguard_true i2 [@1 s0:0=i2 s1:0=f3]\njump i2, f3\n",
    );
    let mut b = CraneliftBackend::new().unwrap();
    let quiet = b.compile(&t, &opts(false)).unwrap();
    assert!(quiet.dumps().is_empty());
    assert!(quiet.code_size() > 0);
    let c = b
        .compile(
            &t,
            &CompileOptions {
                count_iterations: true,
                keep_dumps: true,
            },
        )
        .unwrap();
    let dumps = c.dumps();
    let titles: Vec<_> = dumps.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(titles, ["cranelift-ir", "disassembly"]);
    assert!(dumps[0].1.contains("ssub_overflow"), "{}", dumps[0].1);
    assert!(dumps[0].1.contains("cold"), "{}", dumps[0].1);
    assert!(dumps[1].1.contains("ret"), "{}", dumps[1].1);
    assert!(
        c.code_size() > 0 && c.code_size() < 4096,
        "{}",
        c.code_size()
    );
    assert_eq!(c.buffer_len(), 2);
}

#[test]
fn every_setting_combination_works() {
    let text = "trace t\nlabel i0=s0:0, f1=s1:0\ni2 = int_mul_ovf i0, 3 [@0 s0:0=i0]\ni3 = int_and i2, 1023\nf4 = cast_int_to_float i3\nf5 = float_add f1, f4\ni6 = int_lt i3, 1000\nguard_true i6 [@1 s0:0=i3 s1:0=f5]\njump i3, f5\n";
    let t = parse(text);
    let want = run(&*interp(&t, true), &[7, 0]);
    for opt_level in [OptLevel::None, OptLevel::Speed] {
        for verify in [false, true] {
            for regalloc in [
                RegallocAlgorithm::Backtracking,
                RegallocAlgorithm::SinglePass,
            ] {
                let s = BackendSettings {
                    opt_level,
                    verify,
                    regalloc,
                };
                let mut b = CraneliftBackend::with_settings(s).unwrap();
                let c = b.compile(&t, &opts(true)).unwrap();
                assert_eq!(run(&*c, &[7, 0]), want, "{s:?}");
            }
        }
    }
}

#[test]
fn compiled_traces_free_their_code() {
    // Thousands of compile/drop cycles must not exhaust code memory.
    let t =
        parse("trace t\nlabel i0=s0:0\ni1 = int_sub i0, 1\nguard_true i1 [@0 s0:0=i1]\njump i1\n");
    let mut b = CraneliftBackend::new().unwrap();
    let mappings = || {
        std::fs::read_to_string("/proc/self/maps")
            .map(|m| m.lines().count())
            .unwrap_or(0)
    };
    let cycle = |b: &mut CraneliftBackend| {
        let c = b.compile(&t, &opts(false)).unwrap();
        assert_eq!(run(&*c, &[3]).exit, 0);
    };
    for _ in 0..50 {
        cycle(&mut b);
    }
    let before = mappings();
    for _ in 0..500 {
        cycle(&mut b);
    }
    let after = mappings();
    // Each leaked module would keep at least one mapping of its own.
    assert!(
        after < before + 100,
        "mappings grew from {before} to {after}"
    );
}

#[test]
fn thread_safety() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<backend_x86_64::NativeTrace>();
    send::<CraneliftBackend>();
    // One compiled trace run from several threads at once.
    let t = parse("trace t\nlabel i0=s0:0, i1=s1:0\ni2 = int_add i1, i0\ni3 = int_sub i0, 1\nguard_true i3 [@0 s0:0=i2]\njump i3, i2\n");
    let c = CraneliftBackend::new()
        .unwrap()
        .compile_native(&t, &opts(true))
        .unwrap();
    std::thread::scope(|s| {
        for k in 1..=4u64 {
            let c = &c;
            s.spawn(move || {
                let o = run(c, &[k * 1000, 0]);
                assert_eq!(o.buf[0], (1..=k * 1000).sum::<u64>());
            });
        }
    });
}
