//! Calls to `extern "C"` functions: integer, float and mixed signatures,
//! void results, stack-passed arguments, and calls inside loops.
mod common;
use common::*;
use std::sync::atomic::{AtomicI64, Ordering};

extern "C" fn add3(a: i64, b: i64, c: i64) -> i64 {
    a.wrapping_add(b).wrapping_mul(c)
}
extern "C" fn fsq(x: f64) -> f64 {
    x * x
}
extern "C" fn fhyp(x: f64, y: f64) -> f64 {
    (x * x + y * y).sqrt()
}
extern "C" fn ftoi(x: f64) -> i64 {
    x.floor() as i64
}
extern "C" fn itof(x: i64) -> f64 {
    x as f64 / 3.0
}
extern "C" fn seven() -> i64 {
    7
}
extern "C" fn deref(p: *const i64) -> i64 {
    // SAFETY: the tests pass a pointer to a live i64.
    unsafe { *p }
}
static LOG: AtomicI64 = AtomicI64::new(0);
extern "C" fn record(x: i64) {
    LOG.fetch_add(x, Ordering::SeqCst);
}
extern "C" fn mixed(a: i64, x: f64, b: i64, y: f64, p: *const i64) -> f64 {
    // SAFETY: the test passes a pointer to a live i64.
    (a as f64) * x - (b as f64) * y + unsafe { *p } as f64
}
#[allow(clippy::too_many_arguments)]
extern "C" fn many_ints(a: i64, b: i64, c: i64, d: i64, e: i64, f: i64, g: i64, h: i64) -> i64 {
    a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h
}
#[allow(clippy::too_many_arguments)]
extern "C" fn many_floats(
    a: f64,
    b: f64,
    c: f64,
    d: f64,
    e: f64,
    f: f64,
    g: f64,
    h: f64,
    i: f64,
    j: f64,
) -> f64 {
    a - b + c - d + e - f + g - h + i * 10.0 - j * 100.0
}

fn addr(f: *const ()) -> String {
    format!("{:#x}", f as usize)
}

#[test]
fn int_and_float_calls_match_the_interpreter() {
    let text = format!(
        "trace calls
descr d0 = call add3 {} (int, int, int) -> int pure
descr d1 = call fsq {} (float) -> float pure
descr d2 = call fhyp {} (float, float) -> float pure
descr d3 = call ftoi {} (float) -> int pure
descr d4 = call itof {} (int) -> float pure
descr d5 = call seven {} () -> int pure
descr d6 = call deref {} (ref) -> int reads
label i0=s0:0, f1=s1:0, r2=s2:0
i3 = call d0, i0, 5, -3
f4 = call d1, f1
f5 = call d2, f4, f1
i6 = call d3, f5
f7 = call d4, i6
i8 = call d5
i9 = call d6, r2
guard_true 0 [@0 s0:0=i3 s1:0=f4 s2:0=f5 s3:0=i6 s4:0=f7 s5:0=i8 s6:0=i9]
jump i0, f1, r2
",
        addr(add3 as *const ()),
        addr(fsq as *const ()),
        addr(fhyp as *const ()),
        addr(ftoi as *const ()),
        addr(itof as *const ()),
        addr(seven as *const ()),
        addr(deref as *const ()),
    );
    let p = Pair::new(&text);
    let cell = Box::new(-77i64);
    let cp = &*cell as *const i64 as u64;
    for (i, f) in [
        (0i64, 0.0f64),
        (10, 1.5),
        (-4, -2.25),
        (i64::MAX, f64::NAN),
        (3, f64::INFINITY),
    ] {
        let o = p.check(&[i as u64, fbits(f), cp]);
        assert_eq!(o.buf[0], add3(i, 5, -3) as u64);
        assert_eq!(o.buf[5], 7);
        assert_eq!(o.buf[6], -77i64 as u64);
    }
}

#[test]
fn void_call_in_a_loop() {
    let text = format!(
        "trace log
descr d0 = call record {} (int) -> void io
label i0=s0:0
call d0, i0
i1 = int_sub i0, 1
guard_true i1 [@0 s0:0=i1]
jump i1
",
        addr(record as *const ())
    );
    let t = parse(&text);
    let c = native(&t, true);
    LOG.store(0, Ordering::SeqCst);
    let o = run(&*c, &[100]);
    assert_eq!((o.exit, o.buf[0], o.iterations), (0, 0, 99));
    assert_eq!(LOG.load(Ordering::SeqCst), 5050);
}

#[test]
fn mixed_and_stack_arguments() {
    // Signatures the IR interpreter does not support: checked against
    // direct Rust calls.
    let cell = Box::new(1000i64);
    let cp = &*cell as *const i64 as usize;
    let text = format!(
        "trace mixed
descr d0 = call mixed {} (int, float, int, float, ref) -> float pure
descr d1 = call many_ints {} (int, int, int, int, int, int, int, int) -> int pure
descr d2 = call many_floats {} (float, float, float, float, float, float, float, float, float, float) -> float pure
label i0=s0:0, f1=s1:0
f2 = call d0, i0, f1, 3, 0.25, ref:{cp:#x}
i3 = call d1, i0, 1, 2, 3, 4, 5, 6, i0
f4 = call d2, f1, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, f1, 0.5
guard_true 0 [@0 s0:0=f2 s1:0=i3 s2:0=f4]
jump i0, f1
",
        addr(mixed as *const ()),
        addr(many_ints as *const ()),
        addr(many_floats as *const ())
    );
    let c = native(&parse(&text), false);
    for (i, f) in [(2i64, 1.5f64), (-9, -0.125), (0, 0.0)] {
        let o = run(&*c, &[i as u64, fbits(f)]);
        assert_eq!(o.exit, 0);
        assert_eq!(o.buf[0], fbits(mixed(i, f, 3, 0.25, &*cell)));
        assert_eq!(o.buf[1], many_ints(i, 1, 2, 3, 4, 5, 6, i) as u64);
        assert_eq!(
            o.buf[2],
            fbits(many_floats(f, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, f, 0.5))
        );
    }
}

#[test]
fn values_live_across_calls() {
    // Caller-saved registers are clobbered by calls: values computed before
    // a call and used after it must survive (int and float).
    let text = format!(
        "trace live
descr d0 = call fsq {} (float) -> float pure
descr d1 = call add3 {} (int, int, int) -> int pure
label i0=s0:0, f1=s1:0, i2=s2:0
i3 = int_mul i0, 3
f4 = float_add f1, 1.0
i5 = int_add i0, i2
f6 = call d0, f4
i7 = call d1, i3, i5, 2
f8 = float_sub f6, f4
i9 = int_sub i7, i3
i10 = int_add i2, 1
i11 = int_lt i10, 50
guard_true i11 [@0 s0:0=i3 s1:0=f4 s2:0=i5 s3:0=f8 s4:0=i9 s5:0=i10]
f12 = float_mul f8, 0.001
jump i9, f12, i10
",
        addr(fsq as *const ()),
        addr(add3 as *const ())
    );
    let p = Pair::new(&text);
    let o = p.check(&[3, fbits(0.5), 0]);
    assert_eq!(o.iterations, 49);
}
