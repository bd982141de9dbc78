//! Garbage collector: no live object is freed under concurrent transactions
//! with aborts and frequent collections; memory stays bounded in a long
//! allocation loop; objects of aborted transactions are reclaimed.

use rand::{rngs::StdRng, Rng, SeedableRng};
use std::sync::Arc;
use stm_core::{Config, ObjRef, Runtime, StmError, StmThread};

const MAGIC: u64 = 0x5EED_0000_0000;

fn r(bits: u64) -> Option<ObjRef> {
    // SAFETY: the structures below only store 0 or addresses of reachable
    // objects.
    unsafe { ObjRef::from_bits(bits) }
}

/// A chain of `len` nodes [magic|id, id, next]; returns its head.
fn build_chain(tx: &mut StmThread, id: u64, len: usize) -> Result<ObjRef, StmError> {
    let mut next = 0;
    let mut head = None;
    for k in 0..len {
        let n = tx.alloc(3, 3)?;
        tx.write(n, 0, MAGIC | id)?;
        tx.write(n, 1, id * 1000 + k as u64)?;
        tx.write(n, 2, next)?;
        next = n.to_bits();
        head = Some(n);
    }
    Ok(head.expect("len > 0"))
}

fn check_chain(tx: &mut StmThread, head: ObjRef, len: usize) -> Result<(), StmError> {
    let id = tx.read(head, 0)? & !MAGIC;
    let mut cur = Some(head);
    let mut k = len;
    while let Some(c) = cur {
        k -= 1;
        assert_eq!(tx.read(c, 0)?, MAGIC | id, "live node was freed and reused");
        assert_eq!(tx.read(c, 1)?, id * 1000 + k as u64, "live node corrupted");
        cur = r(tx.read(c, 2)?);
    }
    assert_eq!(k, 0, "chain length changed");
    Ok(())
}

#[test]
fn gc_stress_concurrent_transactions_and_aborts() {
    let rt = Runtime::new(Config {
        gc_threshold_bytes: 64 << 10,
        ..Config::default()
    });
    let threads = 3;
    let slots = 16;
    let chain = 8;
    let mut th = rt.register_thread().unwrap();
    let table = th
        .atomically(|tx| {
            let t = tx.alloc(1, slots)?;
            for s in 0..slots {
                let h = build_chain(tx, s as u64, chain)?;
                tx.write(t, s, h.to_bits())?;
            }
            Ok(t)
        })
        .unwrap();
    rt.add_root(table);
    let go = Arc::new(std::sync::Barrier::new(threads));
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let rt = rt.clone();
            let go = go.clone();
            std::thread::spawn(move || {
                let mut th = rt.register_thread().unwrap();
                // A thread-private structure kept alive through the shadow
                // stack. It is rooted inside the transaction that creates it:
                // another thread may collect as soon as this one commits.
                let private = th
                    .atomically(|tx| {
                        tx.clear_roots();
                        let h = build_chain(tx, 900 + t as u64, 5)?;
                        tx.push_root(h);
                        Ok(h)
                    })
                    .unwrap();
                go.wait();
                let mut rng = StdRng::seed_from_u64(t as u64);
                for i in 0..1500u64 {
                    let s = rng.gen_range(0..slots);
                    let abort = rng.gen_bool(0.2);
                    let mut tried = false;
                    th.atomically(|tx| {
                        let h = r(tx.read(table, s)?).unwrap();
                        check_chain(tx, h, chain)?;
                        // Replace the chain (old one becomes garbage) plus junk.
                        let nh = build_chain(tx, (t as u64 + 1) * 100_000 + i, chain)?;
                        for _ in 0..4 {
                            tx.alloc(9, 6)?;
                        }
                        tx.alloc_bytes(300)?;
                        tx.write(table, s, nh.to_bits())?;
                        if abort && !tried {
                            tried = true;
                            return Err(tx.abort());
                        }
                        Ok(())
                    })
                    .unwrap();
                    if i % 100 == 0 {
                        th.atomically(|tx| check_chain(tx, private, 5)).unwrap();
                    }
                }
                th.atomically(|tx| check_chain(tx, private, 5)).unwrap();
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    rt.collect();
    th.atomically(|tx| {
        for s in 0..slots {
            let h = r(tx.read(table, s)?).unwrap();
            check_chain(tx, h, chain)?;
        }
        Ok(())
    })
    .unwrap();
    let st = rt.heap_stats();
    assert!(
        st.collections >= 5,
        "expected many collections, got {}",
        st.collections
    );
    eprintln!(
        "gc stress: {} collections, footprint {} KiB",
        st.collections,
        st.footprint_bytes >> 10
    );
}

#[test]
fn memory_bounded_in_allocation_loop() {
    // binary-trees style: build and drop trees; only one long-lived tree.
    let rt = Runtime::new(Config {
        gc_threshold_bytes: 256 << 10,
        ..Config::default()
    });
    let mut th = rt.register_thread().unwrap();
    fn tree(tx: &mut StmThread, depth: u32) -> Result<u64, StmError> {
        let n = tx.alloc(4, 2)?;
        if depth > 0 {
            let l = tree(tx, depth - 1)?;
            let r = tree(tx, depth - 1)?;
            tx.write(n, 0, l)?;
            tx.write(n, 1, r)?;
        }
        Ok(n.to_bits())
    }
    fn count(tx: &mut StmThread, n: u64) -> Result<u64, StmError> {
        match r(n) {
            None => Ok(0),
            Some(o) => {
                let (a, b) = (tx.read(o, 0)?, tx.read(o, 1)?);
                Ok(1 + count(tx, a)? + count(tx, b)?)
            }
        }
    }
    let long_lived = th.atomically(|tx| tree(tx, 10)).unwrap();
    rt.add_root(r(long_lived).unwrap());
    let mut peak = 0;
    for round in 0..300 {
        let c = th.atomically(|tx| {
            let t = tree(tx, 8)?;
            count(tx, t)
        });
        assert_eq!(c.unwrap(), 511);
        if round % 50 == 49 {
            peak = peak.max(rt.heap_stats().footprint_bytes);
        }
    }
    assert_eq!(th.atomically(|tx| count(tx, long_lived)).unwrap(), 2047);
    let st = rt.heap_stats();
    // 300 × 511 nodes × 32 B ≈ 4.9 MB allocated in total; the heap must stay
    // around threshold + live data.
    assert!(st.collections >= 3, "collections: {}", st.collections);
    assert!(peak < 2 << 20, "heap grew to {peak} bytes");
    eprintln!(
        "bounded: {} collections, peak footprint {} KiB",
        st.collections,
        peak >> 10
    );
}

#[test]
fn aborted_allocations_are_reused() {
    let rt = Runtime::new(Config::default());
    let mut th = rt.register_thread().unwrap();
    let mut first = None;
    for _ in 0..1000 {
        th.begin().unwrap();
        let o = th.alloc(1, 5).unwrap();
        first.get_or_insert(o);
        th.rollback();
    }
    // The freed cell is handed out again: the footprint is one chunk.
    assert_eq!(rt.heap_stats().footprint_bytes, 32 * 1024);
    th.begin().unwrap();
    assert_eq!(Some(th.alloc(1, 5).unwrap()), first);
    th.rollback();
}

#[test]
fn large_objects_and_bytes() {
    let rt = Runtime::new(Config {
        gc_threshold_bytes: 64 << 10,
        ..Config::default()
    });
    let mut th = rt.register_thread().unwrap();
    let keep = th
        .atomically(|tx| {
            let big = tx.alloc(5, 1000)?;
            let s = tx.alloc_bytes(13)?;
            tx.write_bytes(s, 0, b"hello, world!")?;
            tx.write(big, 999, s.to_bits())?;
            Ok(big)
        })
        .unwrap();
    rt.add_root(keep);
    for _ in 0..50 {
        th.atomically(|tx| tx.alloc(5, 2000).map(|_| ())).unwrap();
    }
    rt.collect();
    let text = th
        .atomically(|tx| {
            let s = r(tx.read(keep, 999)?).unwrap();
            assert!(tx.is_bytes(s));
            assert_eq!(tx.bytes_len(s)?, 13);
            tx.write_bytes(s, 7, b"STM!!")?;
            tx.read_bytes(s)
        })
        .unwrap();
    assert_eq!(&text, b"hello, STM!!!");
    assert!(rt.heap_stats().footprint_bytes < 512 << 10);
}

#[test]
fn large_objects_use_field_undo() {
    let rt = Runtime::new(Config::default());
    let mut th = rt.register_thread().unwrap();
    let big = th
        .atomically(|tx| {
            let b = tx.alloc(6, 5000)?;
            for i in 0..5000 {
                tx.write(b, i, i as u64)?;
            }
            Ok(b)
        })
        .unwrap();
    rt.add_root(big);
    // Several writes to the same and different fields, then roll back.
    th.begin().unwrap();
    for round in 0..3u64 {
        for i in [0usize, 7, 4999, 7] {
            th.write(big, i, 1_000_000 + round).unwrap();
        }
    }
    assert_eq!(th.read(big, 7).unwrap(), 1_000_002);
    th.rollback();
    let v = th
        .atomically(|tx| Ok((tx.read(big, 0)?, tx.read(big, 7)?, tx.read(big, 4999)?)))
        .unwrap();
    assert_eq!(v, (0, 7, 4999));
    // Concurrent increments of distinct slots of one large object.
    let hs: Vec<_> = (0..3usize)
        .map(|t| {
            let rt = rt.clone();
            std::thread::spawn(move || {
                let mut th = rt.register_thread().unwrap();
                for k in 0..500usize {
                    let slot = (t * 1000 + k % 10) % 5000;
                    th.atomically(|tx| {
                        let x = tx.read(big, slot)?;
                        tx.write(big, slot, x + 1)
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    let sum: u64 = th
        .atomically(|tx| (0..5000).map(|i| tx.read(big, i)).sum::<Result<u64, _>>())
        .unwrap();
    assert_eq!(sum, (0..5000u64).sum::<u64>() + 1500);
}
