//! Bank: N threads × M random conditional transfers among K accounts, plus
//! concurrent read-only audits. Every audit must see the conserved total;
//! replaying the committed transfers in commit-timestamp order must reproduce
//! every decision and the final balances (serializability).

use rand::{rngs::StdRng, Rng, SeedableRng};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use stm_core::{Config, ObjRef, Runtime, StmError};

const INITIAL: u64 = 1000;

fn account(th: &mut stm_core::StmThread, bank: ObjRef, i: usize) -> Result<ObjRef, StmError> {
    let bits = th.read(bank, i)?;
    // SAFETY: field i of the bank holds an account allocated below and kept
    // alive by the rooted bank object.
    Ok(unsafe { ObjRef::from_bits(bits) }.expect("account"))
}

fn run_bank(k: usize, threads: usize, transfers: usize, audits_threads: usize) {
    run_bank_cfg(k, threads, transfers, audits_threads, Config::default());
}

fn run_bank_cfg(k: usize, threads: usize, transfers: usize, audits_threads: usize, cfg: Config) {
    let rt = Runtime::new(Config {
        gc_threshold_bytes: 1 << 20,
        ..cfg
    });
    let mut th = rt.register_thread().unwrap();
    let bank = th
        .atomically(|tx| {
            let b = tx.alloc(1, k)?;
            for i in 0..k {
                let a = tx.alloc(2, 1)?;
                tx.write(a, 0, INITIAL)?;
                tx.write(b, i, a.to_bits())?;
            }
            Ok(b)
        })
        .unwrap();
    rt.add_root(bank);
    let total = INITIAL * k as u64;
    let stop = Arc::new(AtomicBool::new(false));
    let audits = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::new();
    let go = Arc::new(std::sync::Barrier::new(threads + audits_threads));
    for t in 0..threads {
        let rt = rt.clone();
        let go = go.clone();
        handles.push(std::thread::spawn(move || {
            let mut th = rt.register_thread().unwrap();
            go.wait();
            let mut rng = StdRng::seed_from_u64(t as u64 * 7919 + k as u64);
            let mut log = Vec::new();
            for _ in 0..transfers {
                let from = rng.gen_range(0..k);
                let mut to = rng.gen_range(0..k);
                if to == from {
                    to = (to + 1) % k;
                }
                let amt = rng.gen_range(1..=300u64);
                let spin = if rng.gen_bool(0.25) { 2000 } else { 0 };
                let moved = th
                    .atomically(|tx| {
                        let a = account(tx, bank, from)?;
                        let b = account(tx, bank, to)?;
                        let x = tx.read(a, 0)?;
                        if x < amt {
                            return Ok(false);
                        }
                        for _ in 0..spin {
                            std::hint::spin_loop();
                        }
                        let y = tx.read(b, 0)?;
                        tx.write(a, 0, x - amt)?;
                        tx.write(b, 0, y + amt)?;
                        Ok(true)
                    })
                    .unwrap();
                if moved {
                    log.push((th.last_commit_timestamp(), from, to, amt));
                }
            }
            (log, th.stats())
        }));
    }
    let mut auditors = Vec::new();
    for _ in 0..audits_threads {
        let rt = rt.clone();
        let stop = stop.clone();
        let audits = audits.clone();
        let go = go.clone();
        auditors.push(std::thread::spawn(move || {
            let mut th = rt.register_thread().unwrap();
            go.wait();
            while !stop.load(Ordering::Relaxed) || audits.load(Ordering::Relaxed) < 5 {
                let sum = th
                    .atomically(|tx| {
                        let mut s = 0;
                        for i in 0..k {
                            let a = account(tx, bank, i)?;
                            s += tx.read(a, 0)?;
                        }
                        Ok(s)
                    })
                    .unwrap();
                assert_eq!(sum, total, "audit saw a broken total");
                audits.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let mut all = Vec::new();
    let mut aborts = 0;
    for h in handles {
        let (log, st) = h.join().unwrap();
        aborts += st.aborts;
        all.extend(log);
    }
    stop.store(true, Ordering::Relaxed);
    for a in auditors {
        a.join().unwrap();
    }
    // Serial replay in commit order.
    all.sort_by_key(|e| e.0);
    for w in all.windows(2) {
        assert!(w[0].0 < w[1].0, "commit timestamps must be unique");
    }
    let mut bal = vec![INITIAL; k];
    for &(_, f, t, amt) in &all {
        assert!(
            bal[f] >= amt,
            "replay: a committed transfer would not have happened serially"
        );
        bal[f] -= amt;
        bal[t] += amt;
    }
    let fin = th
        .atomically(|tx| {
            (0..k)
                .map(|i| account(tx, bank, i).and_then(|a| tx.read(a, 0)))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    assert_eq!(fin, bal, "final balances differ from the serial replay");
    assert_eq!(fin.iter().sum::<u64>(), total);
    assert!(audits.load(Ordering::Relaxed) >= 5);
    eprintln!(
        "bank k={k}: {} transfers committed, {aborts} aborts, {} audits",
        all.len(),
        audits.load(Ordering::Relaxed)
    );
}

#[test]
fn bank_small_k_heavy_conflicts() {
    run_bank(2, 4, 3000, 1);
}

#[test]
fn bank_k8() {
    run_bank(8, 4, 3000, 1);
}

#[test]
fn bank_large_k() {
    run_bank(512, 4, 5000, 2);
}

#[test]
fn bank_many_threads_impatient_contention_manager() {
    // 8 threads on a small machine: transactions get preempted while holding
    // locks; waiting is cut to one round so the abort/escalation paths run hot.
    run_bank_cfg(
        3,
        8,
        800,
        1,
        Config {
            lock_wait_limit: 1,
            escalate_after_aborts: 3,
            ..Config::default()
        },
    );
}
