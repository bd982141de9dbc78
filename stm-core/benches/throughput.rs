//! Transactional overhead and scaling:
//! * `single_thread`: a workload (read-modify-write of 16 objects per unit)
//!   run plainly vs in one transaction per unit;
//! * `scaling`: the same workload on disjoint objects with 1 and 2 threads
//!   (no conflicts) — compare the elements/s figures (target ≥ 1.85x), with
//!   one transaction per unit and with the interpreter's shape (transactions
//!   ended at break points by the adaptive budget);
//! * `contention`: 2 threads doing transfers among K accounts for K from
//!   4096 down to 1; throughput from criterion, abort rates printed once.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stm_core::{Config, ObjRef, Runtime, StmThread};

const PER_TX: usize = 16;

fn objects(rt: &Runtime, th: &mut StmThread, n: usize) -> Vec<ObjRef> {
    let v = th
        .atomically(|tx| {
            (0..n)
                .map(|_| tx.alloc(1, 1))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    for &o in &v {
        rt.add_root(o);
    }
    v
}

fn unit(th: &mut StmThread, objs: &[ObjRef], k: usize) {
    th.atomically(|tx| {
        for j in 0..PER_TX {
            let o = objs[(k * PER_TX + j) % objs.len()];
            let v = tx.read(o, 0)?;
            tx.write(o, 0, v.wrapping_add(1))?;
        }
        Ok(())
    })
    .unwrap();
}

fn single_thread(c: &mut Criterion) {
    let mut g = c.benchmark_group("single_thread");
    const UNITS: usize = 1000;
    g.throughput(Throughput::Elements(UNITS as u64));
    let rt = Runtime::new(Config::default());
    let mut th = rt.register_thread().unwrap();
    let objs = objects(&rt, &mut th, 256);
    let plain: Vec<AtomicU64> = (0..256).map(|_| AtomicU64::new(0)).collect();
    g.bench_function("plain", |b| {
        b.iter(|| {
            for k in 0..UNITS {
                for j in 0..PER_TX {
                    let o = &plain[(k * PER_TX + j) % plain.len()];
                    let v = o.load(Ordering::Relaxed);
                    o.store(black_box(v.wrapping_add(1)), Ordering::Relaxed);
                }
            }
        })
    });
    g.bench_function("transactional", |b| {
        b.iter(|| {
            for k in 0..UNITS {
                unit(&mut th, &objs, k);
            }
        })
    });
    // Read-mostly variant (closer to an interpreter): 16 reads, 1 write.
    g.bench_function("plain_read_mostly", |b| {
        b.iter(|| {
            for k in 0..UNITS {
                let mut s = 0u64;
                for j in 0..PER_TX {
                    s = s.wrapping_add(
                        plain[(k * PER_TX + j) % plain.len()].load(Ordering::Relaxed),
                    );
                }
                plain[k % plain.len()].store(black_box(s), Ordering::Relaxed);
            }
        })
    });
    g.bench_function("transactional_read_mostly", |b| {
        b.iter(|| {
            for k in 0..UNITS {
                th.atomically(|tx| {
                    let mut s = 0u64;
                    for j in 0..PER_TX {
                        s = s.wrapping_add(tx.read(objs[(k * PER_TX + j) % objs.len()], 0)?);
                    }
                    tx.write(objs[k % objs.len()], 0, black_box(s))
                })
                .unwrap();
            }
        })
    });
    g.finish();
}

/// A spinning start line: every worker is on a CPU when the run starts (a
/// futex barrier lets the first woken thread finish before the other runs).
struct Barrier(AtomicUsize, usize);

impl Barrier {
    fn new(n: usize) -> Barrier {
        Barrier(AtomicUsize::new(0), n)
    }
    fn wait(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        while self.0.load(Ordering::SeqCst) < self.1 {
            std::hint::spin_loop();
        }
    }
}

/// Wall time from the first worker's start to the last worker's end.
fn span(v: Vec<(Instant, Instant)>) -> Duration {
    let start = v.iter().map(|x| x.0).min().unwrap();
    let end = v.iter().map(|x| x.1).max().unwrap();
    end - start
}

fn unit_read_only(th: &mut StmThread, objs: &[ObjRef], k: usize) {
    let s = th
        .atomically(|tx| {
            let mut s = 0u64;
            for j in 0..PER_TX {
                s = s.wrapping_add(tx.read(objs[(k * PER_TX + j) % objs.len()], 0)?);
            }
            Ok(s)
        })
        .unwrap();
    black_box(s);
}

/// The interpreter's transaction shape: the same unit of work, but the
/// transaction only ends at a break point once `should_break_transaction`
/// says so (default adaptive budget), as an interpreter does at back-edges.
fn unit_break_points(th: &mut StmThread, objs: &[ObjRef], k: usize) {
    if !th.in_transaction() {
        th.begin().unwrap();
    }
    for j in 0..PER_TX {
        let o = objs[(k * PER_TX + j) % objs.len()];
        let v = th.read(o, 0).unwrap();
        th.write(o, 0, v.wrapping_add(1)).unwrap();
    }
    th.add_work(PER_TX as u64);
    if th.should_break_transaction() {
        // Disjoint objects: no conflict can make this fail.
        th.break_transaction().unwrap();
    }
}

/// Runs `units` units on each of `threads` threads over disjoint object sets.
fn parallel(rt: &Runtime, sets: &[Vec<ObjRef>], units: usize) -> Duration {
    parallel_with(rt, sets, units, unit)
}

fn parallel_with(
    rt: &Runtime,
    sets: &[Vec<ObjRef>],
    units: usize,
    work: fn(&mut StmThread, &[ObjRef], usize),
) -> Duration {
    let go = Arc::new(Barrier::new(sets.len()));
    let hs: Vec<_> = sets
        .iter()
        .cloned()
        .map(|objs| {
            let (rt, go) = (rt.clone(), go.clone());
            std::thread::spawn(move || {
                let mut th = rt.register_thread().unwrap();
                go.wait();
                let t0 = Instant::now();
                for k in 0..units {
                    work(&mut th, &objs, k);
                }
                if th.in_transaction() {
                    th.commit().unwrap();
                }
                (t0, Instant::now())
            })
        })
        .collect();
    span(hs.into_iter().map(|h| h.join().unwrap()).collect())
}

/// Control: the same harness running the plain (non-transactional) workload,
/// showing how much parallelism the (shared) machine actually offers.
fn parallel_plain(threads: usize, units: usize) -> Duration {
    let go = Arc::new(Barrier::new(threads));
    let hs: Vec<_> = (0..threads)
        .map(|_| {
            let go = go.clone();
            std::thread::spawn(move || {
                let plain: Vec<AtomicU64> = (0..256).map(|_| AtomicU64::new(0)).collect();
                go.wait();
                let t0 = Instant::now();
                for k in 0..units * 10 {
                    for j in 0..PER_TX {
                        let o = &plain[(k * PER_TX + j) % plain.len()];
                        let v = o.load(Ordering::Relaxed);
                        o.store(black_box(v.wrapping_add(1)), Ordering::Relaxed);
                    }
                }
                (t0, Instant::now())
            })
        })
        .collect();
    span(hs.into_iter().map(|h| h.join().unwrap()).collect())
}

fn scaling(c: &mut Criterion) {
    let mut g = c.benchmark_group("scaling_no_conflict");
    const UNITS: usize = 20_000;
    let rt = Runtime::new(Config::default());
    let mut th = rt.register_thread().unwrap();
    let sets: Vec<Vec<ObjRef>> = (0..2).map(|_| objects(&rt, &mut th, 256)).collect();
    drop(th);
    for threads in [1usize, 2] {
        g.throughput(Throughput::Elements((UNITS * threads) as u64));
        g.bench_function(format!("{threads}_threads"), |b| {
            b.iter_custom(|n| (0..n).map(|_| parallel(&rt, &sets[..threads], UNITS)).sum())
        });
        g.throughput(Throughput::Elements((UNITS * threads) as u64));
        g.bench_function(format!("read_only_{threads}_threads"), |b| {
            b.iter_custom(|n| {
                (0..n)
                    .map(|_| parallel_with(&rt, &sets[..threads], UNITS, unit_read_only))
                    .sum()
            })
        });
        g.throughput(Throughput::Elements((UNITS * 10 * threads) as u64));
        g.bench_function(format!("break_points_{threads}_threads"), |b| {
            b.iter_custom(|n| {
                (0..n)
                    .map(|_| parallel_with(&rt, &sets[..threads], UNITS * 10, unit_break_points))
                    .sum()
            })
        });
        g.throughput(Throughput::Elements((UNITS * 10 * threads) as u64));
        g.bench_function(format!("plain_control_{threads}_threads"), |b| {
            b.iter_custom(|n| (0..n).map(|_| parallel_plain(threads, UNITS)).sum())
        });
    }
    g.finish();
}

fn transfers(
    rt: &Runtime,
    accounts: &[ObjRef],
    threads: usize,
    units: usize,
) -> (Duration, u64, u64, u64) {
    let go = Arc::new(Barrier::new(threads));
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let (rt, go, acc) = (rt.clone(), go.clone(), accounts.to_vec());
            std::thread::spawn(move || {
                let mut th = rt.register_thread().unwrap();
                let mut x = 0x2545_F491_4F6C_DD1Du64 ^ (t as u64 + 1);
                go.wait();
                let t0 = Instant::now();
                for _ in 0..units {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let a = acc[(x % acc.len() as u64) as usize];
                    let b = acc[((x >> 20) % acc.len() as u64) as usize];
                    th.atomically(|tx| {
                        let va = tx.read(a, 0)?;
                        for _ in 0..50 {
                            std::hint::spin_loop();
                        }
                        tx.write(a, 0, va.wrapping_sub(1))?;
                        let vb = tx.read(b, 0)?;
                        tx.write(b, 0, vb.wrapping_add(1))
                    })
                    .unwrap();
                }
                ((t0, Instant::now()), th.stats())
            })
        })
        .collect();
    let (mut commits, mut aborts, mut pauses) = (0, 0, 0);
    let mut times = Vec::new();
    for h in hs {
        let (t, s) = h.join().unwrap();
        times.push(t);
        commits += s.commits;
        aborts += s.aborts;
        pauses += s.pauses;
    }
    (span(times), commits, aborts, pauses)
}

fn contention(c: &mut Criterion) {
    let mut g = c.benchmark_group("contention_2_threads");
    const UNITS: usize = 20_000;
    let rt = Runtime::new(Config::default());
    let mut th = rt.register_thread().unwrap();
    for k in [4096usize, 256, 16, 4, 1] {
        let acc = objects(&rt, &mut th, k);
        let (d, commits, aborts, pauses) = transfers(&rt, &acc, 2, UNITS);
        eprintln!(
            "contention k={k}: {:.0} tx/s, abort rate {:.1}% ({aborts} aborts / {commits} commits, {pauses} pauses)",
            commits as f64 / d.as_secs_f64(),
            100.0 * aborts as f64 / (aborts + commits) as f64
        );
        g.throughput(Throughput::Elements((UNITS * 2) as u64));
        g.bench_function(format!("k{k}"), |b| {
            b.iter_custom(|n| (0..n).map(|_| transfers(&rt, &acc, 2, UNITS).0).sum())
        });
    }
    g.finish();
}

criterion_group!(benches, single_thread, scaling, contention);
criterion_main!(benches);
