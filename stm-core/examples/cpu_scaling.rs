//! Diagnostic: CPU time per unit (from /proc/thread-self/schedstat) with 1
//! and 2 threads on disjoint objects. If CPU time per unit stays flat while
//! wall time does not scale, the machine is not giving the process two cores.
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use stm_core::{Config, ObjRef, Runtime};

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0)
}

fn main() {
    let rt = Runtime::new(Config::default());
    let mut th = rt.register_thread().unwrap();
    let sets: Vec<Vec<ObjRef>> = (0..2)
        .map(|_| {
            th.atomically(|tx| {
                (0..256)
                    .map(|_| tx.alloc(1, 1))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap()
        })
        .collect();
    for s in &sets {
        for &o in s {
            rt.add_root(o);
        }
    }
    drop(th);
    const UNITS: usize = 200_000;
    for threads in [1usize, 2, 1, 2] {
        let go = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..threads)
            .map(|t| {
                let (rt, go, objs) = (rt.clone(), go.clone(), sets[t].clone());
                std::thread::spawn(move || {
                    let mut th = rt.register_thread().unwrap();
                    go.fetch_add(1, Ordering::SeqCst);
                    while go.load(Ordering::SeqCst) < threads {
                        std::hint::spin_loop();
                    }
                    let (t0, c0) = (Instant::now(), cpu_ns());
                    for k in 0..UNITS {
                        th.atomically(|tx| {
                            for j in 0..16 {
                                let o = objs[(k * 16 + j) % 256];
                                let v = tx.read(o, 0)?;
                                tx.write(o, 0, v + 1)?;
                            }
                            Ok(())
                        })
                        .unwrap();
                    }
                    (t0.elapsed().as_secs_f64(), (cpu_ns() - c0) as f64 / 1e9)
                })
            })
            .collect();
        let r: Vec<(f64, f64)> = hs.into_iter().map(|h| h.join().unwrap()).collect();
        let wall = r.iter().map(|x| x.0).fold(0.0, f64::max);
        let cpu: f64 = r.iter().map(|x| x.1).sum();
        println!(
            "{threads} threads: wall {wall:.3}s, {:.0} units/s wall, cpu {cpu:.3}s = {:.0} ns cpu/unit",
            (UNITS * threads) as f64 / wall,
            cpu * 1e9 / (UNITS * threads) as f64
        );
    }
}
