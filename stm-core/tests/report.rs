//! Conflict log and report: a contended run with `set_log_file` and a marker
//! callback produces a log whose report has totals and top conflicts in the
//! `10.512s lost in aborts, 1.250s paused (12412x write-read)` form.

use std::sync::Arc;
use stm_core::{report, Config, Runtime};

fn is_conflict_line(l: &str) -> bool {
    // N.NNNs lost in aborts, N.NNNs paused (Nx kind)
    let Some((a, rest)) = l.split_once(" lost in aborts, ") else {
        return false;
    };
    let Some((p, rest)) = rest.split_once(" paused (") else {
        return false;
    };
    let secs = |s: &str| {
        s.ends_with('s')
            && s[..s.len() - 1]
                .split_once('.')
                .is_some_and(|(i, f)| !i.is_empty() && f.len() == 3)
    };
    let Some((n, kind)) = rest.trim_end_matches(')').split_once("x ") else {
        return false;
    };
    secs(a)
        && secs(p)
        && n.parse::<u64>().is_ok()
        && ["write-read", "write-write", "inevitable", "explicit"].contains(&kind)
}

#[test]
fn contended_run_is_logged_and_reported() {
    let dir = std::env::temp_dir().join(format!("stm-core-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("stm.log");
    let rt = Runtime::new(Config {
        log_path: Some(path.clone()),
        lock_wait_limit: 5,
        ..Config::default()
    });
    rt.set_marker_callback(|c| format!("File \"bank.lua\", line {c}"));
    let mut th = rt.register_thread().unwrap();
    let acc = th.atomically(|tx| tx.alloc(1, 2)).unwrap();
    rt.add_root(acc);
    let go = Arc::new(std::sync::Barrier::new(3));
    let hs: Vec<_> = (0..3u64)
        .map(|t| {
            let (rt, go) = (rt.clone(), go.clone());
            std::thread::spawn(move || {
                let mut th = rt.register_thread().unwrap();
                go.wait();
                for i in 0..3000u64 {
                    th.atomically(|tx| {
                        tx.set_location(10 + t);
                        let v = tx.read(acc, 0)?;
                        for _ in 0..200 {
                            std::hint::spin_loop();
                        }
                        tx.set_location(20 + t);
                        tx.write(acc, 0, v + 1)?;
                        if i % 500 == 0 {
                            tx.become_inevitable()?;
                        }
                        Ok(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(th.atomically(|tx| tx.read(acc, 0)).unwrap(), 9000);
    drop(th);
    rt.flush_log();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("STMLOG\t1\n"));
    let out = report::render(&path).unwrap();
    eprintln!("{out}");
    let mut lines = out.lines();
    let first = lines.next().unwrap();
    assert!(first.starts_with("real time "), "{first}");
    assert!(first.contains(" commits, "), "{first}");
    let conflicts: Vec<&str> = out.lines().filter(|l| is_conflict_line(l)).collect();
    assert!(
        !conflicts.is_empty(),
        "no conflicts in a contended run:\n{out}\n{text}"
    );
    assert!(
        out.contains("File \"bank.lua\", line "),
        "locations missing:\n{out}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn render_synthetic_log() {
    let log = "STMLOG\t1\n\
        A\t0\twrite-read\t100\t2000000000\tFile \"a.lua\", line 10\tFile \"a.lua\", line 20\n\
        A\t1\twrite-read\t100\t1000000000\tFile \"a.lua\", line 10\tFile \"a.lua\", line 20\n\
        P\t1\twrite-read\t100\t1250000000\tFile \"a.lua\", line 10\tFile \"a.lua\", line 20\n\
        A\t1\twrite-write\t100\t500000000\tx\\ty\tz\n\
        S\t0\t10\t5000000000\t1\t2000000000\t0\n\
        S\t1\t12\t6000000000\t2\t1500000000\t1250000000\n\
        T\t9000000000\n";
    let out = report::render_str(log).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "real time 9.000s, committed 11.000s, aborted 3.500s, paused 1.250s; 22 commits, 3 aborts"
    );
    assert_eq!(
        lines[1],
        "3.000s lost in aborts, 1.250s paused (3x write-read)"
    );
    assert_eq!(lines[2], "  writer: File \"a.lua\", line 10");
    assert_eq!(lines[3], "  reader: File \"a.lua\", line 20");
    assert_eq!(
        lines[4],
        "0.500s lost in aborts, 0.000s paused (1x write-write)"
    );
    assert_eq!(lines[5], "  other writer: x\ty");
    assert!(report::render_str("garbage").is_err());
    let huge = format!(
        "STMLOG\t1\nA\t0\twrite-read\t{m}\t{m}\ta\tb\nA\t0\twrite-read\t{m}\t{m}\ta\tb\n",
        m = u64::MAX
    );
    assert!(report::render_str(&huge).is_ok());
    assert!(report::render_str("STMLOG\t1\nA\tx\n").is_err());
    assert!(report::render(std::path::Path::new("/nonexistent/stm.log")).is_err());
}
