//! Opacity: transactions that check an invariant across objects updated
//! together never see it broken, not even attempts that later abort.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use stm_core::{Config, Runtime};

#[test]
fn invariant_never_observed_broken() {
    let rt = Runtime::new(Config::default());
    let mut th = rt.register_thread().unwrap();
    const N: usize = 6;
    // Objects x[0..N] always hold equal values (updated in one transaction).
    let objs = th
        .atomically(|tx| {
            (0..N)
                .map(|_| tx.alloc(1, 1))
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    for &o in &objs {
        rt.add_root(o);
    }
    let objs = Arc::new(objs);
    let stop = Arc::new(AtomicBool::new(false));
    let violations = Arc::new(AtomicU64::new(0));
    let observations = Arc::new(AtomicU64::new(0));
    let mut hs = Vec::new();
    let go = Arc::new(std::sync::Barrier::new(4));
    for _ in 0..2 {
        let (rt, objs, stop, go) = (rt.clone(), objs.clone(), stop.clone(), go.clone());
        hs.push(std::thread::spawn(move || {
            let mut th = rt.register_thread().unwrap();
            go.wait();
            let t0 = std::time::Instant::now();
            let mut n = 0u64;
            while t0.elapsed() < std::time::Duration::from_millis(400) {
                n += 1;
                th.atomically(|tx| {
                    let v = tx.read(objs[0], 0)?;
                    for &o in objs.iter() {
                        tx.write(o, 0, v + 1)?;
                        for _ in 0..20 {
                            std::hint::spin_loop();
                        }
                    }
                    Ok(())
                })
                .unwrap();
            }
            stop.store(true, Ordering::SeqCst);
            eprintln!("opacity writer: {n} commits, {} aborts", th.stats().aborts);
            n
        }));
    }
    for _ in 0..2 {
        let (rt, objs, stop, violations, observations, go) = (
            rt.clone(),
            objs.clone(),
            stop.clone(),
            violations.clone(),
            observations.clone(),
            go.clone(),
        );
        hs.push(std::thread::spawn(move || {
            let mut th = rt.register_thread().unwrap();
            go.wait();
            while !stop.load(Ordering::SeqCst) {
                let _ = th.atomically(|tx| {
                    let first = tx.read(objs[0], 0)?;
                    for &o in objs.iter().skip(1) {
                        for _ in 0..50 {
                            std::hint::spin_loop();
                        }
                        // Checked inside the transaction, before commit: a
                        // doomed transaction must never see a broken state.
                        if tx.read(o, 0)? != first {
                            violations.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                    observations.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                });
            }
            eprintln!("opacity reader aborts: {}", th.stats().aborts);
            0
        }));
    }
    let mut commits = 0;
    for h in hs {
        commits += h.join().unwrap();
    }
    assert_eq!(
        violations.load(Ordering::SeqCst),
        0,
        "a transaction observed an inconsistent state"
    );
    assert!(observations.load(Ordering::Relaxed) > 0);
    eprintln!(
        "opacity: {} observations",
        observations.load(Ordering::Relaxed)
    );
    let v = th.atomically(|tx| tx.read(objs[0], 0)).unwrap();
    assert_eq!(v, commits);
}
