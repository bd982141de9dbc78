//! Every pure opcode, guard and cast, compared against the IR interpreter
//! on edge-case inputs (wrap-around, overflow at i64::MAX/MIN, NaN, -0.0,
//! infinities, saturation).
mod common;
use common::*;

const INT_BINOPS: &[&str] = &[
    "int_add", "int_sub", "int_mul", "int_and", "int_or", "int_xor", "int_shl", "int_shr",
    "uint_shr", "int_lt", "int_le", "int_eq", "int_ne", "int_gt", "int_ge",
];
const INT_UNOPS: &[&str] = &["int_neg", "int_not", "int_is_true"];
const OVF_OPS: &[&str] = &["int_add_ovf", "int_sub_ovf", "int_mul_ovf"];
const FLOAT_BINOPS: &[&str] = &["float_add", "float_sub", "float_mul", "float_div"];
const FLOAT_CMPS: &[&str] = &[
    "float_lt", "float_le", "float_eq", "float_ne", "float_gt", "float_ge",
];
const FLOAT_UNOPS: &[&str] = &["float_neg", "float_abs"];

/// A trace computing `res` from inputs and leaving at once through a guard
/// on a constant, with `res` in the exit buffer.
fn once(label: &str, body: &str, res: &str, jump: &str) -> String {
    format!("trace t\nlabel {label}\n{body}\nguard_true 0 [@0 s0:0={res}]\njump {jump}\n")
}

fn int_binop_trace(op: &str, a: &str, b: &str) -> String {
    once(
        "i0=s0:0, i1=s1:0",
        &format!("i2 = {op} {a}, {b}"),
        "i2",
        "i0, i1",
    )
}

#[test]
fn int_binops_on_values() {
    for op in INT_BINOPS {
        let p = Pair::new(&int_binop_trace(op, "i0", "i1"));
        for &x in INTS {
            for &y in INTS {
                let o = p.check(&[x as u64, y as u64]);
                assert_eq!(o.exit, 0);
            }
        }
    }
}

#[test]
fn int_binops_with_constants() {
    // Constants reach the instruction selector as immediates: check both
    // operand positions, including shift counts >= 64 (masked by 63).
    let consts = [0i64, 1, -1, 3, 63, 64, 70, -65, i64::MAX, i64::MIN, 1 << 40];
    for op in INT_BINOPS {
        for c in consts {
            let right = Pair::new(&int_binop_trace(op, "i0", &c.to_string()));
            let left = Pair::new(&int_binop_trace(op, &c.to_string(), "i0"));
            for &x in INTS {
                right.check(&[x as u64, 0]);
                left.check(&[x as u64, 0]);
            }
        }
    }
}

#[test]
fn int_unops() {
    for op in INT_UNOPS {
        let p = Pair::new(&once("i0=s0:0", &format!("i1 = {op} i0"), "i1", "i0"));
        for &x in INTS {
            p.check(&[x as u64]);
        }
    }
}

#[test]
fn overflow_guards_at_the_boundary() {
    for op in OVF_OPS {
        let text = format!(
            "trace t\nlabel i0=s0:0, i1=s1:0\ni2 = {op} i0, i1 [@1 s0:0=i0 s1:0=i1 s2:0=7]\nguard_true 0 [@0 s0:0=i2]\njump i0, i1\n"
        );
        let p = Pair::new(&text);
        let mut overflowed = 0;
        for &x in INTS {
            for &y in INTS {
                let o = p.check(&[x as u64, y as u64]);
                // Snapshots are numbered in order: the overflow guard's is 0.
                if o.exit == 0 {
                    overflowed += 1;
                    assert_eq!(o.buf[..3], [x as u64, y as u64, 7]);
                }
            }
        }
        assert!(overflowed > 0, "{op} never overflowed");
    }
    // The exact boundary.
    let add = Pair::new(&once(
        "i0=s0:0",
        "i1 = int_add_ovf i0, 1 [@1 s0:0=i0]",
        "i1",
        "i0",
    ));
    assert_eq!(add.check(&[(i64::MAX - 1) as u64]).buf[0], i64::MAX as u64);
    assert_eq!(add.check(&[i64::MAX as u64]).exit, 0);
    let sub = Pair::new(&once(
        "i0=s0:0",
        "i1 = int_sub_ovf i0, 1 [@1 s0:0=i0]",
        "i1",
        "i0",
    ));
    assert_eq!(sub.check(&[(i64::MIN + 1) as u64]).exit, 1);
    assert_eq!(sub.check(&[i64::MIN as u64]).exit, 0);
    let neg = Pair::new(&once(
        "i0=s0:0",
        "i1 = int_sub_ovf 0, i0 [@1 s0:0=i0]",
        "i1",
        "i0",
    ));
    assert_eq!(neg.check(&[i64::MIN as u64]).exit, 0);
    assert_eq!(neg.check(&[i64::MAX as u64]).exit, 1);
    let mul = Pair::new(&once(
        "i0=s0:0, i1=s1:0",
        "i2 = int_mul_ovf i0, i1 [@1 s0:0=i0]",
        "i2",
        "i0, i1",
    ));
    assert_eq!(mul.check(&[3037000499, 3037000499]).exit, 1);
    assert_eq!(mul.check(&[3037000500, 3037000500]).exit, 0);
    assert_eq!(mul.check(&[-1i64 as u64, i64::MIN as u64]).exit, 0);
    assert_eq!(mul.check(&[-1i64 as u64, i64::MAX as u64]).exit, 1);
    assert_eq!(mul.check(&[1 << 62, 2]).exit, 0);
    assert_eq!(mul.check(&[(-(1i64 << 62)) as u64, 2]).exit, 1);
}

#[test]
fn float_binops_and_comparisons() {
    for op in FLOAT_BINOPS.iter().chain(FLOAT_CMPS) {
        let res =
            if op.contains("_l") || op.contains("_g") || op.contains("_e") || op.contains("_n") {
                "i2"
            } else {
                "f2"
            };
        let p = Pair::new(&once(
            "f0=s0:0, f1=s1:0",
            &format!("{res} = {op} f0, f1"),
            res,
            "f0, f1",
        ));
        for &x in FLOATS {
            for &y in FLOATS {
                p.check(&[fbits(x), fbits(y)]);
            }
        }
    }
}

#[test]
fn float_comparisons_with_nan_follow_rust() {
    let ne = Pair::new(&once(
        "f0=s0:0, f1=s1:0",
        "i2 = float_ne f0, f1",
        "i2",
        "f0, f1",
    ));
    assert_eq!(ne.check(&[fbits(f64::NAN), fbits(f64::NAN)]).buf[0], 1);
    assert_eq!(ne.check(&[fbits(f64::NAN), fbits(1.0)]).buf[0], 1);
    assert_eq!(ne.check(&[fbits(0.0), fbits(-0.0)]).buf[0], 0);
    let eq = Pair::new(&once(
        "f0=s0:0, f1=s1:0",
        "i2 = float_eq f0, f1",
        "i2",
        "f0, f1",
    ));
    assert_eq!(eq.check(&[fbits(f64::NAN), fbits(f64::NAN)]).buf[0], 0);
    assert_eq!(eq.check(&[fbits(0.0), fbits(-0.0)]).buf[0], 1);
    for op in ["float_lt", "float_le", "float_gt", "float_ge"] {
        let p = Pair::new(&once(
            "f0=s0:0, f1=s1:0",
            &format!("i2 = {op} f0, f1"),
            "i2",
            "f0, f1",
        ));
        assert_eq!(p.check(&[fbits(f64::NAN), fbits(1.0)]).buf[0], 0, "{op}");
        assert_eq!(p.check(&[fbits(1.0), fbits(f64::NAN)]).buf[0], 0, "{op}");
    }
}

#[test]
fn float_ops_with_constants() {
    for op in FLOAT_BINOPS.iter().chain(FLOAT_CMPS) {
        let res = if FLOAT_CMPS.contains(op) { "i2" } else { "f2" };
        for c in ["0.0", "-0.0", "1.5", "inf", "-inf", "nan", "1e300"] {
            let right = Pair::new(&once(
                "f0=s0:0, f1=s1:0",
                &format!("{res} = {op} f0, {c}"),
                res,
                "f0, f1",
            ));
            let left = Pair::new(&once(
                "f0=s0:0, f1=s1:0",
                &format!("{res} = {op} {c}, f0"),
                res,
                "f0, f1",
            ));
            for &x in FLOATS {
                right.check(&[fbits(x), 0]);
                left.check(&[fbits(x), 0]);
            }
        }
    }
}

#[test]
fn float_unops() {
    for op in FLOAT_UNOPS {
        let p = Pair::new(&once("f0=s0:0", &format!("f1 = {op} f0"), "f1", "f0"));
        for &x in FLOATS {
            p.check(&[fbits(x)]);
        }
        p.check(&[fbits(-f64::NAN)]);
    }
    let neg = Pair::new(&once("f0=s0:0", "f1 = float_neg f0", "f1", "f0"));
    assert_eq!(neg.check(&[fbits(0.0)]).buf[0], fbits(-0.0));
    let abs = Pair::new(&once("f0=s0:0", "f1 = float_abs f0", "f1", "f0"));
    assert_eq!(abs.check(&[fbits(-0.0)]).buf[0], fbits(0.0));
}

#[test]
fn casts() {
    let f2i = Pair::new(&once("f0=s0:0", "i1 = cast_float_to_int f0", "i1", "f0"));
    for &x in FLOATS {
        let o = f2i.check(&[fbits(x)]);
        assert_eq!(o.buf[0], (x as i64) as u64, "{x}");
    }
    assert_eq!(f2i.check(&[fbits(f64::NAN)]).buf[0], 0);
    assert_eq!(f2i.check(&[fbits(-f64::NAN)]).buf[0], 0);
    assert_eq!(f2i.check(&[fbits(1e19)]).buf[0], i64::MAX as u64);
    assert_eq!(f2i.check(&[fbits(-1e19)]).buf[0], i64::MIN as u64);
    assert_eq!(f2i.check(&[fbits(-2.9)]).buf[0], -2i64 as u64);
    let i2f = Pair::new(&once("i0=s0:0", "f1 = cast_int_to_float i0", "f1", "i0"));
    for &x in INTS {
        let o = i2f.check(&[x as u64]);
        assert_eq!(o.buf[0], fbits(x as f64));
    }
    // Constant operands.
    for c in ["nan", "inf", "-inf", "1e30", "-3.7"] {
        check(
            &once(
                "f0=s0:0",
                &format!("i1 = cast_float_to_int {c}"),
                "i1",
                "f0",
            ),
            &[0],
        );
    }
    for c in [i64::MAX, i64::MIN, -5] {
        check(
            &once(
                "i0=s0:0",
                &format!("f1 = cast_int_to_float {c}"),
                "f1",
                "i0",
            ),
            &[0],
        );
    }
}

#[test]
fn pointer_ops_and_same_as() {
    let p = Pair::new(&once(
        "r0=s0:0, r1=s1:0",
        "i2 = ptr_eq r0, r1\ni3 = ptr_ne r0, r1\nr4 = same_as r0\ni5 = ptr_eq r4, null\nf6 = same_as 2.5\ni7 = same_as 9",
        "i2 s1:0=i3 s2:0=r4 s3:0=i5 s4:0=f6 s5:0=i7",
        "r0, r1",
    ));
    for (a, b) in [(0u64, 0u64), (0x1000, 0x1000), (0x1000, 0x2000), (0, 8)] {
        p.check(&[a, b]);
    }
    check(
        &once("r0=s0:0", "i1 = ptr_ne r0, ref:0x1234", "i1", "r0"),
        &[0x1234],
    );
}

#[test]
fn guards_true_false_value_nonnull() {
    let text = "trace t
label i0=s0:0, r1=s1:0, f2=s2:0
guard_true i0 [@1 s0:0=i0]
i3 = int_sub i0, 1
guard_false i3 [@2 s0:0=i3 s1:0=r1]
guard_nonnull r1 [@3 s1:0=r1 s2:0=f2]
guard_value f2, 1.5 [@4 s2:0=f2 s3:0=-0.0 s4:0=nan s5:0=null s6:0=-9]
guard_value i0, 1 [@5]
jump i0, r1, f2
";
    let p = Pair::new(text);
    assert_eq!(p.check(&[0, 8, fbits(1.5)]).exit, 0);
    assert_eq!(p.check(&[2, 8, fbits(1.5)]).exit, 1);
    assert_eq!(p.check(&[1, 0, fbits(1.5)]).exit, 2);
    let o = p.check(&[1, 8, fbits(2.5)]);
    assert_eq!(o.exit, 3);
    assert_eq!(
        o.buf,
        vec![fbits(2.5), fbits(-0.0), fbits(f64::NAN), 0, -9i64 as u64]
    );
    // guard_value compares bits: -0.0 is not 0.0.
    let z = Pair::new(&once(
        "f0=s0:0",
        "guard_value f0, 0.0 [@1 s0:0=f0]",
        "f0",
        "f0",
    ));
    assert_eq!(z.check(&[fbits(-0.0)]).exit, 0);
    assert_eq!(z.check(&[fbits(0.0)]).exit, 1);
    // A guard on a comparison that always holds loops until the other fails.
    let p = Pair::new(
        "trace t\nlabel i0=s0:0\ni1 = int_lt i0, 100\nguard_true i1 [@1 s0:0=i0]\ni2 = int_add i0, 1\njump i2\n",
    );
    let o = p.check(&[0]);
    assert_eq!((o.exit, o.buf[0], o.iterations), (0, 100, 100));
}

#[test]
fn guards_sharing_a_snapshot() {
    // Two guards with the same snapshot index share one exit block.
    let mut t = parse(
        "trace t
label i0=s0:0, i1=s1:0
i2 = int_add i0, i1
guard_true i0 [@1 s0:0=i2 s1:0=i1]
i3 = int_sub i0, 1
guard_true i3 [@2 s0:0=i0]
jump i3, i2
",
    );
    t.ops[3].snapshot = t.ops[1].snapshot;
    let p = Pair::from_trace(t, true);
    let o = p.check(&[5, 1]);
    assert_eq!(o.exit, 0);
    let o = p.check(&[0, 4]);
    assert_eq!((o.exit, &o.buf[..]), (0, &[4u64, 4][..]));
}
