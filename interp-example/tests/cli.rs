//! The `interp-example` command line: flowgraph programs, JIT flags, the
//! STM conflict report, and clear errors for bad input.

use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_interp-example"));
    c.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"));
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn power_with_stats_and_dump() {
    let dump = std::env::temp_dir().join(format!("interp-example-cli-{}.dump", std::process::id()));
    let (code, out, err) = run(bin().args([
        "--jit-stats",
        &format!("--jit-dump={}", dump.display()),
        "power.fg",
        "x=2",
        "y=62",
    ]));
    assert_eq!((code, out.as_str()), (0, "4611686018427387904\n"), "{err}");
    assert!(
        err.contains("== JIT statistics") && err.contains("traces compiled:"),
        "{err}"
    );
    let (code, out, _) = run(bin().args(["--jit-threshold", "1", "power.fg", "x=1", "y=5000"]));
    assert_eq!((code, out.as_str()), (0, "1\n"));
    let (code, out, err) = run(bin().args(["--no-jit", "--jit-stats", "power.fg", "x=3", "y=3"]));
    assert_eq!((code, out.as_str()), (0, "27\n"));
    assert!(err.contains("traces started:      0"), "{err}");
    let text = std::fs::read_to_string(&dump).unwrap_or_default();
    let _ = std::fs::remove_file(&dump);
    assert!(text.is_empty() || text.contains("power.fg:"), "{text}");
}

#[test]
fn errors_are_reported_not_panics() {
    let (code, _, err) = run(bin().args(["missing.fg"]));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("interp-example: cannot read missing.fg"),
        "{err}"
    );
    let (code, _, err) = run(bin().args(["power.fg", "x"]));
    assert_eq!(code, 2);
    assert!(err.contains("name=value"), "{err}");
    let (code, _, err) = run(bin().args(["fib.fg", "n=100"]));
    assert_eq!(code, 1);
    assert!(err.contains("fib.fg:10: integer overflow"), "{err}");
    let (code, _, _) = run(bin().args(["--jit-threshold", "x"]));
    assert_eq!(code, 2);
}

#[test]
fn stm_report_renders_a_conflict_log() {
    let path = std::env::temp_dir().join(format!("interp-example-stmlog-{}", std::process::id()));
    std::fs::write(
        &path,
        "STMLOG\t1\n\
         A\t0\twrite-read\t100\t2000000000\tFile \"a.lua\", line 10\tFile \"a.lua\", line 20\n\
         P\t1\twrite-read\t100\t1250000000\tFile \"a.lua\", line 10\tFile \"a.lua\", line 20\n\
         S\t0\t10\t5000000000\t1\t2000000000\t0\n\
         S\t1\t12\t6000000000\t2\t1500000000\t1250000000\n\
         T\t9000000000\n",
    )
    .unwrap();
    let (code, out, err) = run(bin().args(["--stm-report", path.to_str().unwrap()]));
    let _ = std::fs::remove_file(&path);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("2.000s lost in aborts, 1.250s paused (2x write-read)"),
        "{out}"
    );
    assert!(out.contains("File \"a.lua\", line 10"), "{out}");
    let (code, _, err) = run(bin().args(["--stm-report", "/nonexistent/stmlog"]));
    assert_eq!(code, 1);
    assert!(err.starts_with("interp-example: "), "{err}");
}

/// Out of memory is Lua's catchable `not enough memory` error, never an
/// abort: a table grown until the allocator refuses (address space limited
/// with `ulimit -v` to 768 MiB), in all three JIT modes, caught by pcall and
/// uncaught.
#[test]
fn out_of_memory_is_a_lua_error() {
    let prog = "local ok, e = pcall(function() local t = {} for i = 1, 1e10 do t[i] = i end end)\n\
                print(ok, e)\n\
                local t = {} for i = 1, 1e10 do t[i] = i end\n";
    let file = std::env::temp_dir().join(format!("interp-example-oom-{}.lua", std::process::id()));
    std::fs::write(&file, prog).unwrap();
    for flags in ["--no-jit", "", "--jit-threshold 1"] {
        let script = format!(
            "ulimit -v 786432 && exec '{}' {flags} '{}'",
            env!("CARGO_BIN_EXE_interp-example"),
            file.display()
        );
        let (code, out, err) = run(Command::new("sh").args(["-c", &script]));
        assert_eq!(out, "false\tnot enough memory\n", "[{flags}] {err}");
        assert_eq!(code, 1, "[{flags}] {err}");
        assert!(
            err.starts_with("interp-example: not enough memory\n"),
            "[{flags}] {err}"
        );
    }
    let _ = std::fs::remove_file(file);
}

#[test]
fn dump_names_where_a_recording_aborted() {
    // The loop starts at line 3; its recording stops at line 4's call of
    // a variadic Lua function (not followed): the dump names both places.
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    let src = dir.join(format!("interp-example-abort-{pid}.lua"));
    let dump = dir.join(format!("interp-example-abort-{pid}.dump"));
    std::fs::write(
        &src,
        "local function f(...) local x = ... return x end\nlocal s = 0\nfor i = 1, 500 do s = s + i\n  s = s + f(i) end\nprint(s)\n",
    )
    .unwrap();
    let (code, out, err) = run(bin().args([
        "--jit-threshold",
        "10",
        &format!("--jit-dump={}", dump.display()),
        src.to_str().unwrap(),
    ]));
    let text = std::fs::read_to_string(&dump).unwrap_or_default();
    let _ = std::fs::remove_file(&dump);
    let _ = std::fs::remove_file(&src);
    assert_eq!((code, out.as_str()), (0, "250500\n"), "{err}");
    let line = text
        .lines()
        .find(|l| l.starts_with("---- abort recording"))
        .unwrap_or_else(|| panic!("no abort in the dump: {text}"));
    assert!(
        line.contains(".lua:3 ") && line.contains(" at ") && line.contains(".lua:4 "),
        "{line}"
    );
    assert!(line.ends_with("operation not recordable"), "{line}");
}
