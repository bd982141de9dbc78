//! Concurrent integer sets (sorted linked list and chained hash set): random
//! insert/remove/contains from several threads, then structural invariants
//! and the element count checked against the successful operations.

use rand::{rngs::StdRng, Rng, SeedableRng};
use stm_core::{Config, ObjRef, Runtime, StmError, StmThread};

const NODE: u32 = 10;
const VAL: usize = 0;
const NEXT: usize = 1;

fn r(bits: u64) -> Option<ObjRef> {
    // SAFETY: the sets only store 0 or addresses of nodes reachable from a
    // rooted head, so non-zero values are live objects.
    unsafe { ObjRef::from_bits(bits) }
}

/// Finds (prev, cur) with prev.val < v <= cur.val in the list starting at `head`.
fn locate(tx: &mut StmThread, head: ObjRef, v: u64) -> Result<(ObjRef, Option<ObjRef>), StmError> {
    let mut prev = head;
    let mut cur = r(tx.read(prev, NEXT)?);
    let mut steps = 0;
    while let Some(c) = cur {
        steps += 1;
        assert!(steps < 100_000, "cycle in a list: opacity violated");
        if tx.read(c, VAL)? >= v {
            break;
        }
        prev = c;
        cur = r(tx.read(c, NEXT)?);
    }
    Ok((prev, cur))
}

fn insert(tx: &mut StmThread, head: ObjRef, v: u64) -> Result<bool, StmError> {
    let (prev, cur) = locate(tx, head, v)?;
    if let Some(c) = cur {
        if tx.read(c, VAL)? == v {
            return Ok(false);
        }
    }
    let n = tx.alloc(NODE, 2)?;
    tx.write(n, VAL, v)?;
    tx.write(n, NEXT, cur.map_or(0, |c| c.to_bits()))?;
    tx.write(prev, NEXT, n.to_bits())?;
    Ok(true)
}

fn remove(tx: &mut StmThread, head: ObjRef, v: u64) -> Result<bool, StmError> {
    let (prev, cur) = locate(tx, head, v)?;
    match cur {
        Some(c) if tx.read(c, VAL)? == v => {
            let nx = tx.read(c, NEXT)?;
            tx.write(prev, NEXT, nx)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn contains(tx: &mut StmThread, head: ObjRef, v: u64) -> Result<bool, StmError> {
    let (_, cur) = locate(tx, head, v)?;
    Ok(match cur {
        Some(c) => tx.read(c, VAL)? == v,
        None => false,
    })
}

fn elements(tx: &mut StmThread, head: ObjRef) -> Result<Vec<u64>, StmError> {
    let mut out = Vec::new();
    let mut cur = r(tx.read(head, NEXT)?);
    while let Some(c) = cur {
        out.push(tx.read(c, VAL)?);
        cur = r(tx.read(c, NEXT)?);
    }
    Ok(out)
}

/// `buckets == 0`: one sorted list; otherwise a hash set of sorted chains.
fn run(buckets: usize, threads: usize, ops: usize, range: u64) {
    let rt = Runtime::new(Config {
        gc_threshold_bytes: 256 << 10,
        ..Config::default()
    });
    let nb = buckets.max(1);
    let mut th = rt.register_thread().unwrap();
    let table = th
        .atomically(|tx| {
            let t = tx.alloc(1, nb)?;
            for b in 0..nb {
                let h = tx.alloc(NODE, 2)?; // sentinel head
                tx.write(t, b, h.to_bits())?;
            }
            Ok(t)
        })
        .unwrap();
    rt.add_root(table);
    let head_of = move |tx: &mut StmThread, v: u64| -> Result<ObjRef, StmError> {
        let b = (v.wrapping_mul(0x9E37_79B9) >> 7) as usize % nb;
        Ok(r(tx.read(table, b)?).expect("bucket head"))
    };
    let go = std::sync::Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let rt = rt.clone();
            let go = go.clone();
            std::thread::spawn(move || {
                let mut th = rt.register_thread().unwrap();
                go.wait();
                let mut rng = StdRng::seed_from_u64(1000 + t as u64);
                let mut delta: i64 = 0;
                for _ in 0..ops {
                    let v = rng.gen_range(0..range);
                    let op = rng.gen_range(0..10);
                    let res = th
                        .atomically(|tx| {
                            let h = head_of(tx, v)?;
                            Ok(match op {
                                0..=3 => insert(tx, h, v)? as i64,
                                4..=7 => -(remove(tx, h, v)? as i64),
                                _ => {
                                    contains(tx, h, v)?;
                                    0
                                }
                            })
                        })
                        .unwrap();
                    delta += res;
                }
                (delta, th.stats().aborts)
            })
        })
        .collect();
    let mut delta = 0;
    let mut aborts = 0;
    for h in handles {
        let (d, a) = h.join().unwrap();
        delta += d;
        aborts += a;
    }
    let all = th
        .atomically(|tx| {
            let mut all = Vec::new();
            for b in 0..nb {
                let h = r(tx.read(table, b)?).unwrap();
                let e = elements(tx, h)?;
                assert!(
                    e.windows(2).all(|w| w[0] < w[1]),
                    "chain not strictly sorted: {e:?}"
                );
                for &v in &e {
                    assert_eq!(
                        (v.wrapping_mul(0x9E37_79B9) >> 7) as usize % nb,
                        b,
                        "element in wrong bucket"
                    );
                }
                all.extend(e);
            }
            Ok(all)
        })
        .unwrap();
    assert_eq!(
        all.len() as i64,
        delta,
        "size differs from successful inserts - removes"
    );
    eprintln!(
        "intset buckets={buckets}: {} elements, {aborts} aborts",
        all.len()
    );
}

#[test]
fn sorted_linked_list() {
    run(0, 4, 4000, 64);
}

#[test]
fn hash_set() {
    run(16, 4, 8000, 256);
}
