//! Differential tests: every standalone Lua program in `tests/lua/` is run with
//! `interp-example` and compared byte for byte with the behaviour of the reference
//! `lua5.4`, recorded next to the program by `tests/lua/record.sh`:
//!
//! * `tests/lua/NAME.expected` — exact standard output;
//! * `tests/lua/NAME.status`   — line 1: exit status; line 2: first line of standard
//!   error with the program-name prefix (`lua5.4: `) removed, empty if there was none;
//! * `tests/lua/NAME.stdin`    — optional standard input (otherwise `/dev/null`).
//!
//! Helper modules that are not programs live in `tests/lua/lib/` and are not run.
//! Programs run with the repository root as working directory, as
//! `interp-example [MODE FLAGS] tests/lua/NAME.lua`, in three modes, one `#[test]` each
//! so that a failure says which mode broke:
//!
//! * `lua_differential_no_jit`      — `--no-jit`
//! * `lua_differential_jit`         — default flags (JIT on)
//! * `lua_differential_threshold_1` — `--jit-threshold 1`
//!
//! For each program the test compares standard output, the exit status and the first
//! line of standard error (leading `interp-example: ` removed).  It collects every
//! mismatch of a mode and reports them all in one failure message.  At most two
//! programs run at the same time across all three tests; each run is killed after
//! `LUA_DIFF_TIMEOUT` seconds (default 60).
//!
//! Environment variables:
//! * `LUA_DIFF_BINARY=/path/to/exe` — run this instead of the `interp-example` built by
//!   cargo.  Used to check the harness itself against the reference interpreter:
//!   `LUA_DIFF_BINARY=$PWD/tests/lua/lua54-as-interp-example.sh cargo test -p interp-example --test lua_differential`
//!   must pass in all three modes (that wrapper drops the JIT flags, runs `lua5.4` and
//!   rewrites the `lua5.4: ` prefix on standard error to `interp-example: `).
//! * `LUA_DIFF_FILTER=substr[,substr...]` — only programs whose name contains one of
//!   the substrings.
//! * `LUA_DIFF_TIMEOUT=seconds` — per-run timeout (default 60).
//! * `LUA_DIFF_JOBS=n` — maximum concurrent runs (default 2).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Standard output/error beyond this many bytes is discarded (a runaway program must
/// not exhaust memory); the comparison then fails on the truncation marker.
const OUTPUT_CAP: usize = 64 << 20;
const STDERR_PREFIX: &str = "interp-example: ";

#[derive(Clone, Copy)]
enum Mode {
    NoJit,
    Jit,
    Threshold1,
}

impl Mode {
    fn flags(self) -> &'static [&'static str] {
        match self {
            Mode::NoJit => &["--no-jit"],
            Mode::Jit => &[],
            Mode::Threshold1 => &["--jit-threshold", "1"],
        }
    }
    fn describe(self) -> &'static str {
        match self {
            Mode::NoJit => "--no-jit",
            Mode::Jit => "default (JIT on)",
            Mode::Threshold1 => "--jit-threshold 1",
        }
    }
}

#[test]
fn lua_differential_no_jit() {
    run_mode(Mode::NoJit);
}

#[test]
fn lua_differential_jit() {
    run_mode(Mode::Jit);
}

#[test]
fn lua_differential_threshold_1() {
    run_mode(Mode::Threshold1);
}

/// Names listed in `tests/lua/KNOWN_FAILURES` (one per line, `#` comments).
fn known_failures(root: &Path) -> Vec<String> {
    std::fs::read_to_string(root.join("tests/lua/KNOWN_FAILURES"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn binary() -> PathBuf {
    match std::env::var_os("LUA_DIFF_BINARY") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_interp-example")),
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// Names (without `.lua`) of the standalone programs in `tests/lua/`, sorted.
fn programs(root: &Path) -> Vec<String> {
    let dir = root.join("tests/lua");
    let filters: Vec<String> = std::env::var("LUA_DIFF_FILTER")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".lua"))
                .map(str::to_string)
        })
        .filter(|n| filters.is_empty() || filters.iter().any(|f| n.contains(f.as_str())))
        .collect();
    names.sort();
    names
}

/// Global limit on concurrently running programs, shared by the three tests (which the
/// test harness may run in parallel).
struct Slots {
    used: Mutex<usize>,
    freed: Condvar,
}

static SLOTS: Slots = Slots {
    used: Mutex::new(0),
    freed: Condvar::new(),
};

struct SlotGuard;

fn acquire_slot() -> SlotGuard {
    let max = env_number("LUA_DIFF_JOBS", 2) as usize;
    let mut used = SLOTS.used.lock().unwrap_or_else(|p| p.into_inner());
    while *used >= max {
        used = SLOTS.freed.wait(used).unwrap_or_else(|p| p.into_inner());
    }
    *used += 1;
    SlotGuard
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut used = SLOTS.used.lock().unwrap_or_else(|p| p.into_inner());
        *used -= 1;
        SLOTS.freed.notify_one();
    }
}

struct Outcome {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    /// `Err(description)` when the process did not exit normally (signal, timeout, spawn failure).
    status: Result<i32, String>,
}

fn read_capped(mut r: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        let mut truncated = false;
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if out.len() + n <= OUTPUT_CAP {
                        out.extend_from_slice(&buf[..n]);
                    } else {
                        truncated = true; // keep draining so the child never blocks
                    }
                }
            }
        }
        if truncated {
            out.extend_from_slice(b"\n<<output truncated by lua_differential>>\n");
        }
        out
    })
}

fn describe_status(st: ExitStatus) -> Result<i32, String> {
    if let Some(code) = st.code() {
        return Ok(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = st.signal() {
            return Err(format!(
                "killed by signal {sig}{}",
                if st.core_dumped() {
                    " (core dumped)"
                } else {
                    ""
                }
            ));
        }
    }
    Err(format!("abnormal exit: {st:?}"))
}

fn wait_with_timeout(child: &mut Child, timeout: Duration) -> Result<i32, String> {
    let start = Instant::now();
    let mut nap = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return describe_status(st),
            Ok(None) => {}
            Err(e) => return Err(format!("wait failed: {e}")),
        }
        if start.elapsed() >= timeout {
            kill_group(child);
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("timed out after {} s (killed)", timeout.as_secs()));
        }
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

/// Kills the process group the child leads (it was spawned as its own group leader),
/// so that helpers it started (e.g. behind a wrapper script) die with it.
fn kill_group(child: &Child) {
    #[cfg(unix)]
    {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    #[cfg(not(unix))]
    let _ = child;
}

fn run_program(root: &Path, bin: &Path, mode: Mode, name: &str, timeout: Duration) -> Outcome {
    let stdin_file = root.join("tests/lua").join(format!("{name}.stdin"));
    let stdin = if stdin_file.is_file() {
        match fs::File::open(&stdin_file) {
            Ok(f) => Stdio::from(f),
            Err(e) => {
                return Outcome {
                    stdout: vec![],
                    stderr: vec![],
                    status: Err(format!("cannot open {}: {e}", stdin_file.display())),
                }
            }
        }
    } else {
        Stdio::null()
    };
    let _slot = acquire_slot();
    let mut cmd = Command::new(bin);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let spawned = cmd
        .args(mode.flags())
        .arg(format!("tests/lua/{name}.lua"))
        .current_dir(root)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                stdout: vec![],
                stderr: vec![],
                status: Err(format!("cannot run {}: {e}", bin.display())),
            }
        }
    };
    let out = read_capped(child.stdout.take().expect("piped stdout"));
    let err = read_capped(child.stderr.take().expect("piped stderr"));
    let status = wait_with_timeout(&mut child, timeout);
    // After a kill, grandchildren (e.g. behind a wrapper script) might keep the pipes
    // open; do not wait for them forever.
    let stdout = join_with_deadline(out, Duration::from_secs(5));
    let stderr = join_with_deadline(err, Duration::from_secs(5));
    Outcome {
        stdout,
        stderr,
        status,
    }
}

fn join_with_deadline(h: thread::JoinHandle<Vec<u8>>, d: Duration) -> Vec<u8> {
    let start = Instant::now();
    while !h.is_finished() {
        if start.elapsed() > d {
            return b"<<output pipe still open after the process ended>>".to_vec();
        }
        thread::sleep(Duration::from_millis(5));
    }
    h.join().unwrap_or_default()
}

/// Short, printable rendering of a line for the failure report.
fn show(line: Option<&[u8]>) -> String {
    match line {
        None => "<end of output>".to_string(),
        Some(l) => {
            let s = String::from_utf8_lossy(l);
            let mut q = format!("{:?}", s);
            if q.len() > 160 {
                let mut cut = 150;
                while !q.is_char_boundary(cut) {
                    cut -= 1;
                }
                q.truncate(cut);
                q.push_str("...\"");
            }
            q
        }
    }
}

/// Describes the first differing line of two outputs.
fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let e: Vec<&[u8]> = expected.split_inclusive(|&b| b == b'\n').collect();
    let a: Vec<&[u8]> = actual.split_inclusive(|&b| b == b'\n').collect();
    let mut i = 0;
    while i < e.len() && i < a.len() && e[i] == a[i] {
        i += 1;
    }
    format!(
        "stdout differs at line {} (expected {} lines, got {}):\n        expected: {}\n        actual:   {}",
        i + 1,
        e.len(),
        a.len(),
        show(e.get(i).copied()),
        show(a.get(i).copied())
    )
}

fn first_line(bytes: &[u8]) -> String {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    String::from_utf8_lossy(line).into_owned()
}

/// Compares one run with the recorded expectation; returns the list of problems.
fn compare(root: &Path, name: &str, got: &Outcome) -> Vec<String> {
    let dir = root.join("tests/lua");
    let mut problems = Vec::new();
    let expected_out = match fs::read(dir.join(format!("{name}.expected"))) {
        Ok(b) => b,
        Err(e) => {
            return vec![format!(
                "no recorded {name}.expected ({e}); run tests/lua/record.sh"
            )]
        }
    };
    let status_text = match fs::read_to_string(dir.join(format!("{name}.status"))) {
        Ok(s) => s,
        Err(e) => {
            return vec![format!(
                "no recorded {name}.status ({e}); run tests/lua/record.sh"
            )]
        }
    };
    let mut lines = status_text.lines();
    let expected_code: i32 = match lines.next().and_then(|l| l.trim().parse().ok()) {
        Some(c) => c,
        None => {
            return vec![format!(
                "malformed {name}.status (first line must be the exit status)"
            )]
        }
    };
    let expected_err = lines.next().unwrap_or("").to_string();

    match &got.status {
        Ok(code) if *code == expected_code => {}
        Ok(code) => problems.push(format!("exit status {code}, expected {expected_code}")),
        Err(what) => problems.push(format!("{what}, expected exit status {expected_code}")),
    }
    if got.stdout != expected_out {
        problems.push(first_difference(&expected_out, &got.stdout));
    }
    let err_line = first_line(&got.stderr);
    let err_line = err_line
        .strip_prefix(STDERR_PREFIX)
        .unwrap_or(&err_line)
        .to_string();
    if err_line != expected_err {
        problems.push(format!(
            "stderr first line differs:\n        expected: {}\n        actual:   {}",
            show(Some(expected_err.as_bytes())),
            show(Some(err_line.as_bytes()))
        ));
    }
    problems
}

fn run_mode(mode: Mode) {
    let root = repo_root();
    let bin = binary();
    let names = programs(&root);
    assert!(
        !names.is_empty(),
        "no Lua programs found in {}",
        root.join("tests/lua").display()
    );
    let timeout = Duration::from_secs(env_number("LUA_DIFF_TIMEOUT", 60));
    let jobs = (env_number("LUA_DIFF_JOBS", 2) as usize).clamp(1, names.len());

    let next = AtomicUsize::new(0);
    let failures: Mutex<Vec<(String, Vec<String>)>> = Mutex::new(Vec::new());
    thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(name) = names.get(i) else { break };
                let got = run_program(&root, &bin, mode, name, timeout);
                let problems = compare(&root, name, &got);
                if !problems.is_empty() {
                    failures
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((name.clone(), problems));
                }
            });
        }
    });

    let mut failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    // Programs listed in tests/lua/KNOWN_FAILURES (with the reason) are
    // reported but do not fail the run; the README's status section lists
    // the same gaps. A listed program that now matches is pointed out so
    // the list can shrink.
    let known = known_failures(&root);
    let (expected, unexpected): (Vec<_>, Vec<_>) = failures
        .into_iter()
        .partition(|(name, _)| known.contains(name));
    for (name, problems) in &expected {
        eprintln!(
            "lua_differential [{}]: known failure tests/lua/{name}.lua: {}",
            mode.describe(),
            problems.first().map(String::as_str).unwrap_or("")
        );
    }
    for name in &known {
        if names.contains(name) && !expected.iter().any(|(n, _)| n == name) {
            eprintln!("lua_differential [{}]: tests/lua/{name}.lua now matches lua5.4: remove it from tests/lua/KNOWN_FAILURES", mode.describe());
        }
    }
    failures = unexpected;
    if failures.is_empty() {
        eprintln!(
            "lua_differential [{}]: all {} programs match lua5.4 ({})",
            mode.describe(),
            names.len(),
            bin.display()
        );
        return;
    }
    failures.sort_by(|a, b| a.0.cmp(&b.0));
    let mut msg = format!(
        "lua_differential [{}]: {} of {} programs differ from the recorded lua5.4 behaviour (binary {}):\n",
        mode.describe(),
        failures.len(),
        names.len(),
        bin.display()
    );
    for (name, problems) in &failures {
        msg.push_str(&format!("  tests/lua/{name}.lua [{}]\n", mode.describe()));
        for p in problems {
            msg.push_str(&format!("    - {p}\n"));
        }
    }
    let failed: Vec<&str> = failures.iter().map(|f| f.0.as_str()).collect();
    msg.push_str(&format!("failed programs: {}\n", failed.join(" ")));
    msg.push_str("(re-run a subset with LUA_DIFF_FILTER=name1,name2; expectations come from tests/lua/record.sh)");
    panic!("{msg}");
}
