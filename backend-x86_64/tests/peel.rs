//! Peeled traces (an inner `label`; see `meta_tracer::optimize::peel`):
//! hand-written ones run natively and in the IR interpreter, with exits
//! from the preamble and from the loop, and recorded-style traces run
//! before and after the optimizer, including heap reads that peeling takes
//! from the preamble only when the loop writes nothing.
mod common;
use common::*;

const PEELED: &str = "trace peeled
label i0=s0:0, i1=s1:0, f2=s2:0
i3 = int_mul i1, 3
i4 = int_lt i3, 1000
guard_true i4 [@0 s0:0=i0]
f5 = cast_int_to_float i3
i6 = int_sub_ovf i0, 1 [@1 s0:0=i0 s2:0=f2]
f7 = float_add f2, f5
i8 = int_gt i6, 0
guard_true i8 [@2 s0:0=i6 s1:0=i3 s2:0=f7]
label i9=i6, f10=f7
i11 = int_sub_ovf i9, 1 [@1 s0:0=i9 s2:0=f10]
f12 = float_add f10, f5
i13 = int_gt i11, 0
guard_true i13 [@2 s0:0=i11 s1:0=i3 s2:0=f12]
jump i11, f12
";

#[test]
fn exits_from_the_preamble_and_from_the_loop() {
    let p = Pair::new(PEELED);
    assert_eq!(p.trace.label_index(), Some(8));
    // The preamble's guard on the invariant fails at once: no iteration.
    let o = p.check(&[10, 400, fbits(0.0)]);
    assert_eq!((o.exit, o.buf[0], o.iterations), (0, 10, 0));
    // The preamble's counter guard: the loop never starts, and the
    // iteration the preamble began is not complete.
    let o = p.check(&[1, 2, fbits(0.5)]);
    assert_eq!((o.exit, o.buf[0], o.buf[1], o.iterations), (2, 0, 6, 0));
    assert_eq!(f64::from_bits(o.buf[2]), 6.5);
    // Overflow in the preamble (snapshot 1).
    let o = p.check(&[i64::MIN as u64, 2, fbits(0.0)]);
    assert_eq!((o.exit, o.buf[0]), (1, i64::MIN as u64));
    // The loop's copy of the counter guard (snapshot 4): the preamble
    // counts one iteration and every back edge one more, as the unpeeled
    // loop counted n - 1.
    let o = p.check(&[5, 2, fbits(0.5)]);
    assert_eq!((o.exit, o.buf[0], o.buf[1]), (4, 0, 6));
    assert_eq!(f64::from_bits(o.buf[2]), 0.5 + 5.0 * 6.0);
    assert_eq!(o.iterations, 4);
    let o = p.check(&[100_000, 1, fbits(0.0)]);
    assert_eq!((o.exit, o.iterations), (4, 99_999));
    // Without counting, the same exits.
    let t = parse(PEELED);
    let quiet = run(&*native(&t, false), &[5, 2, fbits(0.5)]);
    assert_eq!((quiet.exit, quiet.iterations), (4, 0));
}

#[test]
fn label_parameters_swap_and_take_constants() {
    // The jump permutes the loop's parameters and the label enters one of
    // them as a constant: a parallel move on both edges.
    let p = Pair::new(
        "trace swap
label i0=s0:0, i1=s1:0, i2=s2:0
i3 = int_sub i0, 1
i4 = int_gt i3, 0
guard_true i4 [@0 s0:0=i3 s1:0=i1 s2:0=i2]
label i5=i3, i6=i2, i7=i1, i8=7
i9 = int_sub i5, 1
i10 = int_gt i9, 0
guard_true i10 [@1 s0:0=i9 s1:0=i6 s2:0=i7 s3:0=i8]
i11 = int_add i8, 1
jump i9, i7, i6, i11
",
    );
    for n in [1u64, 2, 3, 10, 11] {
        let o = p.check(&[n, 100, 200]);
        if n == 1 {
            assert_eq!(o.exit, 0);
            continue;
        }
        let swaps = n - 2; // back edges taken
        assert_eq!(o.exit, 1);
        let (a, b) = if swaps % 2 == 0 {
            (200, 100)
        } else {
            (100, 200)
        };
        assert_eq!((o.buf[1], o.buf[2], o.buf[3]), (a, b, 7 + swaps));
    }
}

/// Runs `text` as written and after optimization, natively and in the IR
/// interpreter, on each of `inputs`, and checks that all four agree on
/// what the interpreter resumes with. Returns the optimized trace.
fn same_before_and_after_optimization(text: &str, inputs: &[Vec<u64>]) -> meta_tracer::ir::Trace {
    let original = Pair::new(text);
    let opt = Pair::from_trace(optimized(&original.trace), true);
    for i in inputs {
        let want = resumed(&original.trace, &original.check(i));
        let got = resumed(&opt.trace, &opt.check(i));
        assert_eq!(got, want, "inputs {i:?}\n{}", opt.trace);
    }
    opt.trace
}

#[test]
fn invariant_pure_calls_run_once_per_entry() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    extern "C" fn square(x: i64) -> i64 {
        CALLS.fetch_add(1, Ordering::Relaxed);
        x.wrapping_mul(x)
    }
    let text = format!(
        "trace calls
descr d0 = call square {:#x} (int) -> int pure
label i0=s0:0, i1=s1:0, i2=s2:0
i3 = call d0, i2
i4 = int_add i1, i3
i5 = int_sub i0, 1
i6 = int_gt i5, 0
guard_true i6 [@0 s0:0=i5 s1:0=i4]
jump i5, i4, i2
",
        square as extern "C" fn(i64) -> i64 as usize
    );
    let t = same_before_and_after_optimization(&text, &[vec![1, 0, 3], vec![50, 7, -4i64 as u64]]);
    assert!(t.label_index().is_some(), "{t}");
    let c = native(&t, true);
    CALLS.store(0, Ordering::Relaxed);
    let o = run(&*c, &[1000, 0, 3]);
    assert_eq!((o.exit, o.buf[1]), (1, 9000));
    assert_eq!(CALLS.load(Ordering::Relaxed), 1);
}

#[repr(C)]
struct Table {
    len: i64,
    items: [i64; 4],
    hits: i64,
}

const TABLE_DESCRS: &str = "\
descr d0 = field Table.len 0 int 8
descr d1 = array Table.items len=0 items=8 int 8
descr d2 = field Table.hits 40 int 8
";

#[test]
fn heap_reads_are_reused_only_when_the_loop_writes_nothing() {
    // `len` and `items[k & 3]` of the invariant table: read once when the
    // loop only reads, every iteration when it also stores into the table
    // (a store to `len` must be seen by the next iteration's guard). The
    // pure `k & 3` is reused in both.
    let read_only = format!(
        "trace sum
{TABLE_DESCRS}label r0=s0:0, i1=s1:0, i2=s2:0, i3=s3:0
i4 = getfield r0, d0
i5 = int_lt i3, i4
guard_true i5 [@0 s1:0=i1 s2:0=i2]
i10 = int_and i3, 3
i6 = getarrayitem r0, i10, d1
i7 = int_add i2, i6
i8 = int_sub i1, 1
i9 = int_gt i8, 0
guard_true i9 [@1 s1:0=i8 s2:0=i7]
jump r0, i8, i7, i3
"
    );
    let writing = read_only.replace(
        "i7 = int_add i2, i6\n",
        "i7 = int_add i2, i6\nsetfield r0, i1, d0\n",
    );
    let mut table = Box::new(Table {
        len: 4,
        items: [5, 6, 7, 8],
        hits: 0,
    });
    let ptr = &mut *table as *mut Table;
    let addr = ptr as u64;
    let inputs: Vec<Vec<u64>> = [(1, 2), (10, 3), (3, 0), (6, 5), (100, 1)]
        .iter()
        .map(|&(n, k)| vec![addr, n, 0, k])
        .collect();
    // SAFETY (both closures): `ptr` points to the live boxed `Table`, and
    // no other reference to it is used while they run.
    let reset = || unsafe { (*ptr).len = 4 };
    let observe = || unsafe { ((*ptr).len, (*ptr).items, (*ptr).hits) };
    for (text, writes) in [(&read_only, false), (&writing, true)] {
        let original = Pair::new(text);
        let opt = Pair::from_trace(optimized(&original.trace), true);
        let label = opt.trace.label_index().expect("peeled");
        let loop_loads = opt.trace.ops[label..]
            .iter()
            .filter(|op| op.opcode.kind() == meta_tracer::ir::OpKind::Load)
            .count();
        assert_eq!(loop_loads, if writes { 2 } else { 0 }, "{}", opt.trace);
        for i in &inputs {
            let (o, want_heap) = original.check_heap(i, reset, observe);
            let want = resumed(&original.trace, &o);
            let (o, got_heap) = opt.check_heap(i, reset, observe);
            assert_eq!(resumed(&opt.trace, &o), want, "inputs {i:?}\n{}", opt.trace);
            assert_eq!(got_heap, want_heap);
        }
    }
    drop(table);
}
