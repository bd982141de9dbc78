//! Loops that run many iterations before a guard fails, with iteration
//! counting, values carried around the back edge (including swapped and
//! constant jump operands), and floats in the loop state.
mod common;
use common::*;

#[test]
fn ten_million_iterations() {
    let p = Pair::new(
        "trace sum
label i0=s0:0, i1=s1:0, f2=s2:0
i3 = int_add i1, i0
f4 = cast_int_to_float i0
f5 = float_add f2, f4
i6 = int_sub i0, 1
i7 = int_gt i6, 0
guard_true i7 [@0 s0:0=i6 s1:0=i3 s2:0=f5]
jump i6, i3, f5
",
    );
    // Differential on 100k iterations (the IR interpreter is slow in debug
    // builds), then native alone on ten million.
    for n in [1u64, 2, 100_000] {
        let o = p.check(&[n, 0, fbits(0.0)]);
        assert_eq!(o.exit, 0);
        assert_eq!(o.buf[1], n * (n + 1) / 2);
        assert_eq!(f64::from_bits(o.buf[2]), (n * (n + 1) / 2) as f64);
        assert_eq!(o.iterations, n - 1);
    }
    let n: u64 = 10_000_000;
    let o = run(&*p.native, &[n, 0, fbits(0.0)]);
    assert_eq!(
        (o.exit, o.buf[1], o.iterations),
        (0, n * (n + 1) / 2, n - 1)
    );
}

#[test]
fn counting_is_optional() {
    let text = "trace t\nlabel i0=s0:0\ni1 = int_sub i0, 1\nguard_true i1 [@0 s0:0=i1]\njump i1\n";
    let t = parse(text);
    let counted = run(&*native(&t, true), &[1000]);
    let uncounted = run(&*native(&t, false), &[1000]);
    assert_eq!(counted.iterations, 999);
    assert_eq!(uncounted.iterations, 0);
    assert_eq!(counted.buf, uncounted.buf);
}

#[test]
fn swapped_and_constant_back_edge_operands() {
    // The jump permutes the loop state (a parallel move) and passes
    // constants: Fibonacci with a counter and a constant-reset slot.
    let p = Pair::new(
        "trace fib
label i0=s0:0, i1=s1:0, i2=s2:0, i3=s3:0, f4=s4:0
i5 = int_add_ovf i0, i1 [@0 s0:0=i0 s1:0=i1 s2:0=i2 s3:0=i3]
i6 = int_sub i2, 1
i7 = int_ne i6, 0
guard_true i7 [@1 s0:0=i1 s1:0=i5 s2:0=i3 s4:0=f4]
jump i1, i5, i6, 42, -0.5
",
    );
    let o = p.check(&[0, 1, 50, 0, fbits(1.0)]);
    assert_eq!((o.exit, o.buf[2], f64::from_bits(o.buf[3])), (1, 42, -0.5));
    // Runs into i64 overflow long before the counter ends.
    let o = p.check(&[0, 1, 1000, 0, fbits(1.0)]);
    assert_eq!(o.exit, 0);
    assert_eq!(o.iterations, 91);
}

#[test]
fn many_exits_in_one_loop() {
    // A loop whose body has many guards; each input makes a different one
    // fail after a different number of iterations.
    let mut text = String::from("trace many\nlabel i0=s0:0, i1=s1:0\n");
    let mut next = 2;
    for k in 0..40 {
        text += &format!(
            "i{next} = int_ne i0, {}\nguard_true i{next} [@{k} s0:0=i0 s1:0=i1 s2:0={k}]\n",
            1000 + k
        );
        next += 1;
    }
    text += &format!(
        "i{next} = int_add i0, 1\ni{} = int_add i1, i0\njump i{next}, i{}\n",
        next + 1,
        next + 1
    );
    let p = Pair::new(&text);
    for start in [0u64, 500, 1000, 1017, 1039] {
        let o = p.check(&[start, 0]);
        assert_eq!(o.exit as u64, start.max(1000) - 1000);
    }
}
