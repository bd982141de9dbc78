//! `STMLOG=FILE` in the environment turns the conflict log on (own test
//! binary: the environment is process-wide).

use stm_core::{report, Config, Runtime};

#[test]
fn stmlog_environment_variable() {
    let path = std::env::temp_dir().join(format!("stm-core-env-{}.log", std::process::id()));
    // Only this test runs in this process, so nothing reads the environment
    // concurrently.
    std::env::set_var("STMLOG", &path);
    let rt = Runtime::new(Config::default());
    std::env::remove_var("STMLOG");
    let mut th = rt.register_thread().unwrap();
    let o = th.atomically(|tx| tx.alloc(1, 1)).unwrap();
    rt.add_root(o);
    // An explicit abort is logged like a conflict.
    let mut first = true;
    th.atomically(|tx| {
        tx.set_location(5);
        tx.write(o, 0, 1)?;
        if first {
            first = false;
            return Err(tx.abort());
        }
        Ok(())
    })
    .unwrap();
    th.flush_stats();
    th.flush_stats(); // a second call adds nothing
    rt.flush_log();
    let out = report::render(&path).unwrap();
    assert!(out.contains("2 commits, 1 aborts"), "{out}");
    assert!(out.contains("(1x explicit)"), "{out}");
    assert!(out.contains("<location 0x5>"), "{out}");
    drop(th);
    std::fs::remove_file(&path).ok();
}
