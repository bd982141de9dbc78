//! A generator of synthetic loop traces for benchmarks and profiling.
use meta_tracer::ir::Trace;
use meta_tracer::ir_parse::parse_trace;

/// A loop trace with about `n` operations.
pub fn synthetic(n: usize) -> Trace {
    let mut s = String::from(
        "trace synthetic\ndescr d0 = field Obj.count 8 int 8\ndescr d1 = field Obj.x 16 float 8\n\
         descr d2 = array Obj.items len=32 items=40 int 8\n\
         label r0=s0:0, i1=s1:0, i2=s2:0, f3=s3:0\n",
    );
    let mut next = 4;
    let mut ops = 0;
    let (mut a, mut b, mut f) = ("i1".to_string(), "i2".to_string(), "f3".to_string());
    let mut k = 0;
    while ops + 3 < n {
        let v = next;
        next += 1;
        match k % 8 {
            0 => s += &format!("i{v} = int_add {a}, {b}\n"),
            1 => s += &format!("i{v} = int_mul_ovf {a}, 3 [@{k} s0:0=r0 s1:0={a} s2:0={b}]\n"),
            2 => s += &format!("i{v} = getfield r0, d0\n"),
            3 => s += &format!("i{v} = int_xor {a}, {b}\n"),
            4 => {
                s += &format!("f{v} = float_mul {f}, 1.5\n");
                f = format!("f{v}");
                k += 1;
                ops += 1;
                continue;
            }
            5 => s += &format!("i{v} = int_and {a}, 7\n"),
            6 => s += &format!("i{v} = getarrayitem r0, {a}, d2\n"),
            _ => {
                s += &format!("i{v} = int_lt {a}, 1000\nguard_true i{v} [@{k} s0:0=r0 s1:0={a} s2:0={b} s3:0={f}]\n");
                ops += 1;
            }
        }
        b = a;
        a = format!("i{v}");
        k += 1;
        ops += 1;
    }
    s += &format!("setfield r0, {a}, d0\ni{next} = int_add_ovf i1, 1 [@{k} s0:0=r0 s1:0=i1]\njump r0, i{next}, {b}, {f}\n");
    let t = parse_trace(&s).unwrap();
    t.verify().unwrap();
    t
}
