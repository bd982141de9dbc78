//! Barrier fast paths vs plain loads/stores, and an emulation of stmgc's
//! fast paths on the same objects (see README "Barrier costs").
//!
//! Every measurement reads or writes field 0 of 256 objects in a loop inside
//! one transaction (begin/commit amortised over 1024 accesses, reported per
//! access via `Throughput::Elements`).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};
use stm_core::{Config, ObjRef, Runtime, StmThread};

const OBJS: usize = 256;
const ACCESSES: usize = 1024;

fn setup(log: bool) -> (Runtime, Box<StmThread>, Vec<ObjRef>) {
    let cfg = if log {
        Config {
            log_path: Some(std::env::temp_dir().join("stm-core-bench.log")),
            ..Config::default()
        }
    } else {
        Config::default()
    };
    let rt = Runtime::new(cfg);
    let mut th = rt.register_thread().unwrap();
    let objs = th
        .atomically(|tx| {
            (0..OBJS)
                .map(|i| {
                    let o = tx.alloc(1, 2)?;
                    tx.write(o, 0, i as u64)?;
                    Ok(o)
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    for &o in &objs {
        rt.add_root(o);
    }
    (rt, th, objs)
}

#[inline(always)]
fn field(o: ObjRef, i: usize) -> &'static AtomicU64 {
    // SAFETY: the objects are rooted and live for the whole benchmark; field
    // i < 2 exists. (Benchmark-only shortcut for the "plain access" baseline.)
    unsafe { &*o.as_ptr().add(2 + i) }
}

fn timed(iters: u64, mut f: impl FnMut()) -> Duration {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("barrier");
    g.throughput(Throughput::Elements(ACCESSES as u64));

    let (_rt, mut th, objs) = setup(false);
    g.bench_function("plain_load", |b| {
        b.iter(|| {
            let mut s = 0u64;
            for k in 0..ACCESSES {
                s = s.wrapping_add(field(objs[k % OBJS], 0).load(Ordering::Relaxed));
            }
            black_box(s)
        })
    });
    g.bench_function("read_barrier_tl2", |b| {
        b.iter_custom(|n| {
            timed(n, || {
                th.begin().unwrap();
                let mut s = 0u64;
                for k in 0..ACCESSES {
                    s = s.wrapping_add(th.read(black_box(objs[k % OBJS]), 0).unwrap());
                }
                th.commit().unwrap();
                black_box(s);
            })
        })
    });
    g.bench_function("begin_commit_readonly_empty", |b| {
        b.iter(|| {
            th.begin().unwrap();
            th.commit().unwrap();
        })
    });
    g.bench_function("plain_store", |b| {
        b.iter(|| {
            for k in 0..ACCESSES {
                field(objs[k % OBJS], 1).store(black_box(k as u64), Ordering::Relaxed);
            }
        })
    });
    g.bench_function("write_barrier_fast_tl2", |b| {
        b.iter_custom(|n| {
            // Own every object first (slow path, outside the timing), then
            // time the fast-path writes.
            let mut total = Duration::ZERO;
            for _ in 0..n {
                th.begin().unwrap();
                for &o in &objs {
                    th.write(o, 1, 0).unwrap();
                }
                let t = Instant::now();
                for k in 0..ACCESSES {
                    th.write(black_box(objs[k % OBJS]), 1, k as u64).unwrap();
                }
                total += t.elapsed();
                th.rollback();
            }
            total
        })
    });
    g.throughput(Throughput::Elements(OBJS as u64));
    g.bench_function("write_barrier_slow_first_write_plus_commit", |b| {
        b.iter(|| {
            th.begin().unwrap();
            for &o in &objs {
                th.write(o, 1, 7).unwrap();
            }
            th.commit().unwrap();
        })
    });
    g.throughput(Throughput::Elements(ACCESSES as u64));

    // stmgc-style fast paths emulated on the same objects: the read barrier
    // stores the transaction's read version into a byte array indexed by
    // (address - base) >> 4, then loads plainly; the write barrier tests a
    // header flag (here: a bit of the meta word) before a plain store.
    let lo = objs.iter().map(|o| o.to_bits()).min().unwrap();
    let hi = objs.iter().map(|o| o.to_bits()).max().unwrap();
    let markers: Vec<AtomicU8> = (0..=((hi - lo) >> 4) as usize)
        .map(|_| AtomicU8::new(0))
        .collect();
    let version = 3u8;
    g.bench_function("read_barrier_stmgc_emulated", |b| {
        b.iter(|| {
            let mut s = 0u64;
            for k in 0..ACCESSES {
                let o = black_box(objs[k % OBJS]);
                markers[((o.to_bits() - lo) >> 4) as usize].store(version, Ordering::Relaxed);
                s = s.wrapping_add(field(o, 0).load(Ordering::Relaxed));
            }
            black_box(s)
        })
    });
    g.bench_function("write_barrier_stmgc_emulated", |b| {
        b.iter(|| {
            for k in 0..ACCESSES {
                let o = black_box(objs[k % OBJS]);
                // SAFETY: word 1 (meta) of a live object.
                let meta = unsafe { &*o.as_ptr().add(1) };
                if meta.load(Ordering::Relaxed) & (1 << 62) != 0 {
                    cold();
                }
                field(o, 1).store(k as u64, Ordering::Relaxed);
            }
        })
    });
    // Min-of-N figures (robust against preemption on a loaded machine).
    let min_of = |f: &mut dyn FnMut() -> Duration| (0..2000).map(|_| f()).min().unwrap();
    let per = |d: Duration| d.as_nanos() as f64 / ACCESSES as f64;
    let plain_load = min_of(&mut || {
        let t = Instant::now();
        let mut s = 0u64;
        for k in 0..ACCESSES {
            s = s.wrapping_add(field(black_box(objs[k % OBJS]), 0).load(Ordering::Relaxed));
        }
        black_box(s);
        t.elapsed()
    });
    let tl2_read = min_of(&mut || {
        th.begin().unwrap();
        let t = Instant::now();
        let mut s = 0u64;
        for k in 0..ACCESSES {
            s = s.wrapping_add(th.read(black_box(objs[k % OBJS]), 0).unwrap());
        }
        let d = t.elapsed();
        th.commit().unwrap();
        black_box(s);
        d
    });
    let stmgc_read = min_of(&mut || {
        let t = Instant::now();
        let mut s = 0u64;
        for k in 0..ACCESSES {
            let o = black_box(objs[k % OBJS]);
            markers[((o.to_bits() - lo) >> 4) as usize].store(version, Ordering::Relaxed);
            s = s.wrapping_add(field(o, 0).load(Ordering::Relaxed));
        }
        black_box(s);
        t.elapsed()
    });
    let plain_store = min_of(&mut || {
        let t = Instant::now();
        for k in 0..ACCESSES {
            field(black_box(objs[k % OBJS]), 1).store(k as u64, Ordering::Relaxed);
        }
        t.elapsed()
    });
    let tl2_write = min_of(&mut || {
        th.begin().unwrap();
        for &o in &objs {
            th.write(o, 1, 0).unwrap();
        }
        let t = Instant::now();
        for k in 0..ACCESSES {
            th.write(black_box(objs[k % OBJS]), 1, k as u64).unwrap();
        }
        let d = t.elapsed();
        th.rollback();
        d
    });
    let stmgc_write = min_of(&mut || {
        let t = Instant::now();
        for k in 0..ACCESSES {
            let o = black_box(objs[k % OBJS]);
            // SAFETY: word 1 (meta) of a live object.
            let meta = unsafe { &*o.as_ptr().add(1) };
            if meta.load(Ordering::Relaxed) & (1 << 62) != 0 {
                cold();
            }
            field(o, 1).store(k as u64, Ordering::Relaxed);
        }
        t.elapsed()
    });
    eprintln!(
        "min of 2000 runs, ns/access: plain load {:.2}, TL2 read {:.2}, stmgc-style read {:.2}; plain store {:.2}, TL2 write (owned) {:.2}, stmgc-style write {:.2}",
        per(plain_load),
        per(tl2_read),
        per(stmgc_read),
        per(plain_store),
        per(tl2_write),
        per(stmgc_write)
    );
    drop(th);

    // Cost of recording the reader's location (conflict log on).
    let (_rt2, mut th2, objs2) = setup(true);
    g.bench_function("read_barrier_tl2_with_reader_locations", |b| {
        b.iter_custom(|n| {
            timed(n, || {
                th2.begin().unwrap();
                let mut s = 0u64;
                for k in 0..ACCESSES {
                    th2.set_location(k as u64);
                    s = s.wrapping_add(th2.read(black_box(objs2[k % OBJS]), 0).unwrap());
                }
                th2.commit().unwrap();
                black_box(s);
            })
        })
    });
    let (_rt3, mut th3, objs3) = setup(false);
    g.bench_function("read_barrier_tl2_set_location_no_log", |b| {
        b.iter_custom(|n| {
            timed(n, || {
                th3.begin().unwrap();
                let mut s = 0u64;
                for k in 0..ACCESSES {
                    th3.set_location(k as u64);
                    s = s.wrapping_add(th3.read(black_box(objs3[k % OBJS]), 0).unwrap());
                }
                th3.commit().unwrap();
                black_box(s);
            })
        })
    });
    g.finish();

    // Criterion's means are dominated by the machine's load; for the cost of
    // recording reader locations also print the minimum over many alternated
    // runs of both variants, which filters out preemption.
    let run = |th: &mut StmThread, objs: &[ObjRef]| {
        let t = Instant::now();
        th.begin().unwrap();
        let mut s = 0u64;
        for k in 0..ACCESSES {
            th.set_location(k as u64);
            s = s.wrapping_add(th.read(black_box(objs[k % OBJS]), 0).unwrap());
        }
        th.commit().unwrap();
        black_box(s);
        t.elapsed()
    };
    let (mut with, mut without) = (Duration::MAX, Duration::MAX);
    for _ in 0..2000 {
        with = with.min(run(&mut th2, &objs2));
        without = without.min(run(&mut th3, &objs3));
    }
    eprintln!(
        "reader-location cost (min of 2000 alternated runs): {:.2} ns/read with, {:.2} ns/read without",
        with.as_nanos() as f64 / ACCESSES as f64,
        without.as_nanos() as f64 / ACCESSES as f64
    );
}

#[cold]
#[inline(never)]
fn cold() {
    black_box(());
}

criterion_group!(benches, bench);
criterion_main!(benches);
