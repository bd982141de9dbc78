//! Reading a conflict log back: totals and the top conflicts.
//!
//! Groups every abort and pause by (kind, first location, second location),
//! sums the time lost in aborts and the time paused, and sorts the groups by
//! their total, largest first — the shape of pypy-stm's `print_stm_log.py`
//! output, with the reader's location added for write-read conflicts.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Default)]
struct Group {
    count: u64,
    abort_ns: u64,
    pause_ns: u64,
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn secs(ns: u64) -> String {
    format!("{:.3}s", ns as f64 / 1e9)
}

/// Maximum number of conflict groups printed.
pub const TOP: usize = 20;

/// Renders the report of the conflict log at `path`: a totals line, then the
/// top conflicts as `10.512s lost in aborts, 1.250s paused (12412x write-read)`
/// followed by indented locations (writer first).
pub fn render(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    render_str(&text)
}

/// Like [`render`] on the log's text.
pub fn render_str(text: &str) -> Result<String, String> {
    let mut lines = text.lines();
    match lines.next() {
        Some(l) if l.starts_with("STMLOG") => {}
        _ => return Err("not an STMLOG conflict log (missing header)".to_string()),
    }
    let mut groups: HashMap<(String, String, String), Group> = HashMap::new();
    let (mut commits, mut commit_ns, mut aborts, mut abort_ns, mut pause_ns) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut real_ns = 0u64;
    let mut ev_aborts = 0u64;
    for (n, line) in lines.enumerate() {
        let f: Vec<&str> = line.split('\t').collect();
        let num = |i: usize| -> Result<u64, String> {
            f.get(i)
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| format!("line {}: malformed record {line:?}", n + 2))
        };
        match f.first().copied() {
            Some("A") | Some("P") if f.len() >= 7 => {
                let key = (f[2].to_string(), unescape(f[5]), unescape(f[6]));
                let start = num(3)?;
                let d = num(4)?;
                real_ns = real_ns.max(start.saturating_add(d));
                let g = groups.entry(key).or_default();
                g.count += 1;
                if f[0] == "A" {
                    g.abort_ns = g.abort_ns.saturating_add(d);
                    ev_aborts += 1;
                } else {
                    g.pause_ns = g.pause_ns.saturating_add(d);
                }
            }
            Some("S") if f.len() >= 7 => {
                commits = commits.saturating_add(num(2)?);
                commit_ns = commit_ns.saturating_add(num(3)?);
                aborts = aborts.saturating_add(num(4)?);
                abort_ns = abort_ns.saturating_add(num(5)?);
                pause_ns = pause_ns.saturating_add(num(6)?);
            }
            Some("T") => real_ns = real_ns.max(num(1)?),
            Some("") | None => {}
            _ => return Err(format!("line {}: unknown record {line:?}", n + 2)),
        }
    }
    let aborts = aborts.max(ev_aborts);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "real time {}, committed {}, aborted {}, paused {}; {} commits, {} aborts",
        secs(real_ns),
        secs(commit_ns),
        secs(abort_ns),
        secs(pause_ns),
        commits,
        aborts
    );
    let mut v: Vec<_> = groups.into_iter().collect();
    v.sort_by(|a, b| {
        (b.1.abort_ns + b.1.pause_ns)
            .cmp(&(a.1.abort_ns + a.1.pause_ns))
            .then_with(|| b.1.count.cmp(&a.1.count))
            .then_with(|| a.0.cmp(&b.0))
    });
    for ((kind, l1, l2), g) in v.into_iter().take(TOP) {
        let _ = writeln!(
            out,
            "{} lost in aborts, {} paused ({}x {})",
            secs(g.abort_ns),
            secs(g.pause_ns),
            g.count,
            kind
        );
        let (a, b) = match kind.as_str() {
            "write-read" => ("writer", "reader"),
            "write-write" => ("other writer", "this writer"),
            "inevitable" => ("inevitable", "waiting"),
            _ => ("other", "this"),
        };
        let _ = writeln!(out, "  {a}: {l1}");
        let _ = writeln!(out, "  {b}: {l2}");
    }
    Ok(out)
}
