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

#[test]
fn register_pressure_across_the_back_edge() {
    // More loop-carried values than registers (40 ints, 24 floats), all
    // live across the back edge and permuted by it, with exits that save
    // all of them: exercises spills, reloads and parallel moves.
    let (ni, nf) = (40usize, 24usize);
    let mut labels = vec!["i0=s0:0".to_string()];
    labels.extend((1..=ni).map(|k| format!("i{k}=s{k}:0")));
    labels.extend((ni + 1..=ni + nf).map(|k| format!("f{k}=s{k}:0")));
    let mut text = format!("trace pressure\nlabel {}\n", labels.join(", "));
    let mut next = ni + nf + 1;
    let mut new_ints = Vec::new();
    for k in 1..=ni {
        let other = 1 + (k * 7) % ni;
        text += &format!("i{next} = int_add i{k}, i{other}\n");
        new_ints.push(format!("i{next}"));
        next += 1;
    }
    let mut new_floats = Vec::new();
    for k in ni + 1..=ni + nf {
        let other = ni + 1 + (k * 5) % nf;
        text += &format!(
            "f{next} = float_add f{k}, f{other}\nf{} = float_mul f{next}, 0.5\n",
            next + 1
        );
        new_floats.push(format!("f{}", next + 1));
        next += 2;
    }
    let all: Vec<String> = new_ints.iter().chain(&new_floats).cloned().collect();
    let snap: Vec<String> = all
        .iter()
        .enumerate()
        .map(|(k, v)| format!("s{}:0={v}", k + 1))
        .collect();
    text += &format!(
        "i{next} = int_sub i0, 1\nguard_true i{next} [@0 s0:0=i{next} {}]\n",
        snap.join(" ")
    );
    // Rotate the ints and reverse the floats on the back edge.
    let mut jump = vec![format!("i{next}")];
    jump.extend(new_ints.iter().cycle().skip(3).take(ni).cloned());
    jump.extend(new_floats.iter().rev().cloned());
    text += &format!("jump {}\n", jump.join(", "));
    let p = Pair::new(&text);
    let mut inputs = vec![50u64];
    inputs.extend((1..=ni).map(|k| (k as u64) * 0x0101_0101));
    inputs.extend((0..nf).map(|k| fbits(k as f64 * 1.25 - 3.0)));
    let o = p.check(&inputs);
    assert_eq!((o.exit, o.iterations), (0, 49));
}

#[test]
fn many_values_live_across_a_call_in_a_loop() {
    // (float, float) -> float: a signature the IR interpreter can call.
    extern "C" fn scramble(a: f64, x: f64) -> f64 {
        a * 0.5 + x
    }
    let f = scramble as *const () as usize;
    let mut text = format!("trace call_pressure\ndescr d0 = call scramble {f:#x} (float, float) -> float pure\nlabel i0=s0:0, f1=s1:0\n");
    let n = 20;
    for k in 0..n {
        text += &format!(
            "i{} = int_mul i0, {}\nf{} = cast_int_to_float i{}\n",
            2 + 2 * k,
            k + 3,
            3 + 2 * k,
            2 + 2 * k
        );
    }
    let base = 2 + 2 * n;
    text += &format!("f{base} = call d0, f3, f1\n");
    let mut acc = format!("f{base}");
    let mut next = base + 1;
    for k in 0..n {
        text += &format!(
            "f{next} = float_add {acc}, f{}\ni{} = int_add i0, i{}\n",
            3 + 2 * k,
            next + 1,
            2 + 2 * k
        );
        acc = format!("f{next}");
        next += 2;
    }
    text += &format!(
        "i{next} = int_sub i0, 1\nguard_true i{next} [@0 s0:0={acc} s1:0=i{} s2:0=i2]\nf{} = float_mul {acc}, 0.001\njump i{next}, f{}\n",
        next - 1,
        next + 1,
        next + 1
    );
    let p = Pair::new(&text);
    let o = p.check(&[30, fbits(1.0)]);
    assert_eq!(o.iterations, 29);
}

#[test]
fn exits_storing_the_same_operands_share_their_stores() {
    // Three guards whose snapshots store the same values and differ only
    // in where the interpreter resumes (@0, @1, @2): one block of stores,
    // entered with each guard's own snapshot index. A fourth stores other
    // values and keeps its own block.
    let p = Pair::new(
        "trace shared
label i0=s0:0, i1=s1:0
i2 = int_ne i0, 10
guard_true i2 [@0 s0:0=i0 s1:0=i1]
i3 = int_ne i0, 20
guard_true i3 [@1 s0:0=i0 s1:0=i1]
i4 = int_ne i0, 30
guard_true i4 [@2 s0:0=i0 s1:0=i1]
i5 = int_ne i0, 40
guard_true i5 [@3 s1:0=i0]
i6 = int_add i0, 1
i7 = int_add i1, 2
jump i6, i7
",
    );
    for (start, exit, at) in [(0u64, 0u32, 10u64), (11, 1, 20), (21, 2, 30), (31, 3, 40)] {
        let o = p.check(&[start, 0]);
        assert_eq!(o.exit, exit, "from {start}");
        assert_eq!(o.buf[0], at, "from {start}");
        if exit < 3 {
            assert_eq!(o.buf[1], 2 * (at - start), "from {start}");
        }
    }
}
