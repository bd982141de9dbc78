//! Mutation fuzzing of the validation layer: valid traces are corrupted the
//! way a buggy optimizer pass might (wrong descriptors, wrong types, dropped
//! results, swapped opcodes, bad snapshots, bad loop label parameters).
//! Compiling a mutant must give `Ok` or a clean `Err`; it must never reach
//! a panic inside the backend (which `compile` would report as "code
//! generator panicked").
mod common;
use backend_x86_64::CraneliftBackend;
use common::*;
use meta_tracer::backend::{Backend, CompileError};
use meta_tracer::ir::{DescrId, Opcode, Operand, SnapshotId, Trace, Type, Value};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    "trace a
descr d0 = field Obj.count 8 int 8
descr d1 = field Obj.flags 4 int 1
descr d2 = array Obj.items len=32 items=40 int 8
descr d3 = array V.items len=0 items=8* float 8
descr d4 = call f 0x1000 (int, float) -> float pure
descr d5 = size Obj 64 class=3
label r0=s0:0, i1=s1:0, f2=s2:0
i3 = getfield r0, d0
i4 = getfield r0, d1
i5 = int_add_ovf i3, i4 [@0 s0:0=r0 s1:0=i1]
i6 = arraylen r0, d2
i7 = int_lt i1, i6
guard_true i7 [@1 s0:0=i5 s1:0=f2]
i8 = getarrayitem r0, i1, d2
f9 = getarrayitem r0, i1, d3
f10 = float_add f9, f2
setarrayitem r0, i1, f10, d3
setfield r0, i8, d1
guard_class r0, 3, d1 [@2 s0:0=r0 s1:0=i8 s2:0=f10]
f11 = call d4, i8, f10
i12 = cast_float_to_int f11
guard_value i12, 5 [@3 s0:0=i12]
jump r0, i12, f11
",
    "trace b
label i0=s0:0, i1=s1:0, f2=s2:0
i3 = int_mul i0, i1
i4 = int_sub_ovf i3, 1 [@0 s0:0=i3]
f5 = cast_int_to_float i4
f6 = float_mul f5, f2
i7 = float_lt f6, 1e10
guard_true i7 [@1 s0:0=i4 s1:0=f6]
i8 = same_as i4
guard_nonnull i8 [@2 s0:0=i8]
jump i8, i1, f6
",
    "trace peeled
descr d0 = field Obj.count 8 int 8
label r0=s0:0, i1=s1:0, f2=s2:0
i3 = getfield r0, d0
i4 = int_mul i3, 3
i5 = int_sub_ovf i1, i4 [@0 s0:0=r0 s1:0=i1]
f6 = cast_int_to_float i4
f7 = float_add f2, f6
i8 = int_gt i5, 0
guard_true i8 [@1 s1:0=i5 s2:0=f7]
label i9=i5, f10=f7, i11=7
i12 = int_sub_ovf i9, i4 [@2 s0:0=r0 s1:0=i9]
f13 = float_add f10, f6
i14 = int_gt i12, i11
guard_true i14 [@3 s1:0=i12 s2:0=f13 s3:0=i3]
jump i12, f13, i14
",
];

fn mutate(t: &mut Trace, rng: &mut Rng) {
    let nops = t.ops.len();
    let i = rng.below(nops);
    match rng.below(13) {
        0 => t.ops[i].descr = Some(DescrId(rng.below(t.descrs.len() + 1) as u32)),
        1 => t.ops[i].descr = None,
        2 => {
            let v = rng.below(t.value_types.len());
            t.value_types[v] = [Type::Int, Type::Float, Type::Ref, Type::Void][rng.below(4)];
        }
        3 => t.ops[i].result = None,
        4 => t.ops[i].result = Some(Value(rng.below(t.value_types.len() + 2) as u32)),
        5 => {
            let ops = Opcode::ALL;
            t.ops[i].opcode = ops[rng.below(ops.len())];
        }
        6 => t.ops[i].snapshot = Some(SnapshotId(rng.below(t.snapshots.len() + 1) as u32)),
        7 => {
            if !t.ops[i].args.is_empty() {
                let k = rng.below(t.ops[i].args.len());
                t.ops[i].args[k] = match rng.below(4) {
                    0 => Operand::Int(rng.next() as i64),
                    1 => Operand::Float(rng.next()),
                    2 => Operand::Ref(0),
                    _ => Operand::Val(Value(rng.below(t.value_types.len() + 1) as u32)),
                };
            }
        }
        8 => {
            let k = rng.below(t.inputs.len());
            t.inputs[k].ty = [Type::Int, Type::Float, Type::Ref, Type::Void][rng.below(4)];
        }
        9 => {
            t.ops[i].args.pop();
        }
        10 => {
            let j = rng.below(nops);
            t.ops.swap(i, j);
        }
        11 => {
            // A label's parameters (or parameters on another operation).
            let v = Value(rng.below(t.value_types.len() + 2) as u32);
            let params = &mut t.ops[i].params;
            match (params.is_empty(), rng.below(3)) {
                (false, 0) => {
                    params.pop();
                }
                (false, 1) => {
                    let k = rng.below(params.len());
                    params[k] = v;
                }
                _ => params.push(v),
            }
        }
        _ => {
            if let Some(meta_tracer::ir::Descr::Field(f)) = t.descrs.get_mut(rng.below(2)) {
                f.size = rng.below(10) as u8;
            }
        }
    }
}

#[test]
fn mutants_never_panic() {
    let mut backend = CraneliftBackend::new().unwrap();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let (mut ok, mut err) = (0, 0);
    for seed in SEEDS {
        let base = parse(seed);
        for _ in 0..1500 {
            let mut t = base.clone();
            for _ in 0..1 + rng.below(3) {
                mutate(&mut t, &mut rng);
            }
            match backend.compile(&t, &opts(false)) {
                Ok(_) => ok += 1,
                Err(CompileError::Codegen(msg)) if msg.contains("panicked") => {
                    panic!("backend panicked: {msg}\n{t:#?}")
                }
                Err(_) => err += 1,
            }
        }
    }
    assert!(ok > 100 && err > 100, "ok {ok}, err {err}");
}
