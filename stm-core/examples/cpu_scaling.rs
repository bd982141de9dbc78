//! Diagnostic: 2-thread vs 1-thread throughput on disjoint objects (no
//! conflicts), with each thread's on-CPU time read from
//! `/proc/thread-self/schedstat`. If CPU time per unit stays flat while wall
//! time does not scale, the machine is not giving the process two cores.
//!
//! Two transaction shapes over the same work (a unit = 16 read-modify-writes):
//! * `short`: one transaction per unit (a 16-write transaction, the worst case
//!   for the shared commit clock: one CAS on it every 16 writes);
//! * `break-points`: the interpreter's shape — the loop calls `add_work` and
//!   ends the transaction at a break point when `should_break_transaction`
//!   says so (default adaptive budget), as an interpreter does at back-edges.
//!
//! Usage: `cpu_scaling [UNITS] [ROUNDS]` (defaults 400000 and 3).
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use stm_core::{Config, ObjRef, Runtime, StmThread};

fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0)
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Short,
    BreakPoints,
}

fn run_short(th: &mut StmThread, objs: &[ObjRef], units: usize) {
    for k in 0..units {
        th.atomically(|tx| {
            for j in 0..16 {
                let o = objs[(k * 16 + j) % objs.len()];
                let v = tx.read(o, 0)?;
                tx.write(o, 0, v + 1)?;
            }
            Ok(())
        })
        .unwrap();
    }
}

fn run_break_points(th: &mut StmThread, objs: &[ObjRef], units: usize) {
    // No conflicts are possible (disjoint objects), so a break never fails;
    // an interpreter would restore its frame and retry on Err.
    th.begin().unwrap();
    for k in 0..units {
        for j in 0..16 {
            let o = objs[(k * 16 + j) % objs.len()];
            let v = th.read(o, 0).unwrap();
            th.write(o, 0, v + 1).unwrap();
        }
        th.add_work(16);
        if th.should_break_transaction() {
            th.break_transaction().unwrap();
        }
    }
    th.commit().unwrap();
}

fn main() {
    let mut args = std::env::args().skip(1);
    let units: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(400_000);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
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
    for shape in [Shape::Short, Shape::BreakPoints] {
        let name = if shape == Shape::Short {
            "short"
        } else {
            "break-points"
        };
        let mut ratios = Vec::new();
        for _ in 0..rounds {
            let mut tput = [0.0f64; 2];
            for threads in [1usize, 2] {
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
                            match shape {
                                Shape::Short => run_short(&mut th, &objs, units),
                                Shape::BreakPoints => run_break_points(&mut th, &objs, units),
                            }
                            let commits = th.stats().commits;
                            (
                                t0.elapsed().as_secs_f64(),
                                (cpu_ns() - c0) as f64 / 1e9,
                                commits,
                            )
                        })
                    })
                    .collect();
                let r: Vec<(f64, f64, u64)> = hs.into_iter().map(|h| h.join().unwrap()).collect();
                let wall = r.iter().map(|x| x.0).fold(0.0, f64::max);
                let cpu: f64 = r.iter().map(|x| x.1).sum();
                let commits: u64 = r.iter().map(|x| x.2).sum();
                tput[threads - 1] = (units * threads) as f64 / wall;
                println!(
                    "{name:>12} {threads} threads: wall {wall:.3}s, {:>9.0} units/s, cpu {cpu:.3}s = {:.0} ns cpu/unit, {commits} commits",
                    tput[threads - 1],
                    cpu * 1e9 / (units * threads) as f64
                );
            }
            ratios.push(tput[1] / tput[0]);
        }
        ratios.sort_by(|a, b| a.total_cmp(b));
        let list: Vec<String> = ratios.iter().map(|r| format!("{r:.2}x")).collect();
        println!(
            "{name:>12}: 2-thread / 1-thread throughput {} (median {:.2}x)",
            list.join(", "),
            ratios[ratios.len() / 2]
        );
    }
}
