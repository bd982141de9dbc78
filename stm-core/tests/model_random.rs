//! Model-based random test (in the spirit of stmgc's): random sequences of
//! transactional operations — reads, writes, byte writes, allocations of small
//! and large (per-field undo) objects, commits, rollbacks, explicit aborts,
//! collections — checked against a plain reference model. Two threads run
//! such sequences on disjoint objects at the same time.

use rand::{rngs::StdRng, Rng, SeedableRng};
use stm_core::{Config, ObjRef, Runtime, StmThread};

#[derive(Clone)]
struct Model {
    objs: Vec<(ObjRef, Vec<u64>)>,
}

fn random_session(rt: Runtime, seed: u64, steps: usize) {
    let mut th: Box<StmThread> = rt.register_thread().unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut model = Model { objs: Vec::new() };
    for step in 0..steps {
        th.begin().unwrap();
        let mut shadow = model.clone();
        // Fresh objects are rooted inside the transaction: another thread may
        // run a collection as soon as this transaction ends.
        let mut fresh_roots = Vec::new();
        for _ in 0..rng.gen_range(1..12) {
            match rng.gen_range(0..10) {
                0 | 1 => {
                    let n = if rng.gen_bool(0.2) {
                        rng.gen_range(33..200)
                    } else {
                        rng.gen_range(0..8)
                    };
                    let o = th.alloc(7, n).unwrap();
                    fresh_roots.push(rt.add_root(o));
                    shadow.objs.push((o, vec![0; n]));
                }
                2..=5 if !shadow.objs.is_empty() => {
                    let k = rng.gen_range(0..shadow.objs.len());
                    let (o, ref mut f) = shadow.objs[k];
                    if f.is_empty() {
                        assert!(th.write(o, 0, 1).is_err());
                        continue;
                    }
                    let i = rng.gen_range(0..f.len());
                    let v = rng.gen::<u64>() >> 1;
                    th.write(o, i, v).unwrap();
                    f[i] = v;
                }
                _ if !shadow.objs.is_empty() => {
                    let k = rng.gen_range(0..shadow.objs.len());
                    let (o, ref f) = shadow.objs[k];
                    if f.is_empty() {
                        continue;
                    }
                    let i = rng.gen_range(0..f.len());
                    assert_eq!(
                        th.read(o, i).unwrap(),
                        f[i],
                        "step {step}: read differs from model"
                    );
                }
                _ => {}
            }
        }
        match rng.gen_range(0..10) {
            0..=2 => {
                if rng.gen_bool(0.5) {
                    th.rollback();
                } else {
                    let _ = th.abort();
                }
                for r in fresh_roots {
                    rt.remove_root(r);
                }
            }
            _ => {
                th.commit().unwrap();
                model = shadow;
            }
        }
        if step % 400 == 399 {
            rt.collect();
        }
    }
    // Final full comparison.
    th.begin().unwrap();
    for (o, f) in &model.objs {
        for (i, v) in f.iter().enumerate() {
            assert_eq!(th.read(*o, i).unwrap(), *v);
        }
    }
    th.commit().unwrap();
}

#[test]
fn random_operations_match_reference_model() {
    let rt = Runtime::new(Config {
        gc_threshold_bytes: 64 << 10,
        ..Config::default()
    });
    let hs: Vec<_> = (0..2u64)
        .map(|s| {
            let rt = rt.clone();
            std::thread::spawn(move || random_session(rt, 42 + s, 2000))
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}
