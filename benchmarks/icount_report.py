#!/usr/bin/env python3
"""Turn the raw instruction counts of benchmarks/icount.sh into icount.json and ICOUNT.md.

Usage: icount_report.py DATA.tsv ICOUNT.json ICOUNT.md
       icount_report.py --from-json ICOUNT.json ICOUNT.md [NOTE]   (re-render)
DATA.tsv columns: name size impl rep status instructions note
(status: ok | wrong | failed | missing).  Run details come from IC_* environment
variables set by icount.sh.  Standard library only.
"""
import json
import math
import os
import statistics
import sys

IMPLS = ["nojit", "jit", "lua54", "luajit"]
LABELS = {
    "nojit": "interp-example --no-jit",
    "jit": "interp-example (JIT)",
    "lua54": "lua5.4",
    "luajit": "luajit",
}
STATUS_ORDER = ["ok", "wrong", "failed", "missing"]  # a benchmark shows its worst repeat


def load(path):
    benches = {}
    order = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            cols = line.split("\t") + [""] * 7
            name, size, impl, rep, status, ir, note = cols[:7]
            if name not in benches:
                benches[name] = {"name": name, "size": size or "default", "results": {}}
                order.append(name)
            r = benches[name]["results"].setdefault(impl, {"status": "ok", "counts": [], "notes": []})
            if STATUS_ORDER.index(status) > STATUS_ORDER.index(r["status"]):
                r["status"] = status
            if ir and status in ("ok", "wrong"):
                r["counts"].append(int(ir))
            if note and note not in r["notes"]:
                r["notes"].append(note)
    out = []
    for n in order:
        b = benches[n]
        for r in b["results"].values():
            if r["counts"]:
                r["instructions"] = int(round(statistics.median(r["counts"])))
                if len(r["counts"]) > 1:
                    r["spread"] = (max(r["counts"]) - min(r["counts"])) / min(r["counts"])
            r["note"] = "; ".join(r.pop("notes"))
        out.append(b)
    return out


def env(name, default=""):
    return os.environ.get(name, default)


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def ok_count(bench, impl):
    r = bench["results"].get(impl)
    if r and r["status"] == "ok" and r.get("instructions"):
        return r["instructions"]
    return None


def cell(bench, impl):
    r = bench["results"].get(impl)
    if r is None:
        return "—"
    st = r["status"]
    if st in ("ok", "wrong") and r.get("instructions"):
        s = "%.1f" % (r["instructions"] / 1e6)
        return s if st == "ok" else s + " ✗ wrong output"
    if st == "missing":
        return "not run (missing)"
    note = r.get("note", "")
    return "FAILED (%s)" % (note.split(":")[0] if note else "failed")


def pct(ratio):
    d = (ratio - 1) * 100
    if abs(d) >= 0.1:
        return "%+.2f%%" % d
    return "%+.3f%%" % d if abs(d) >= 0.001 else "%+.5f%%" % d


def fmt_ratio(x):
    return "—" if x is None else "%.3f" % x


def main():
    if sys.argv[1] == "--from-json":
        json_path, md_path = sys.argv[2:4]
        saved = json.load(open(json_path))
        if len(sys.argv) > 4:
            saved["meta"]["note"] = sys.argv[4]
        render(saved["benchmarks"], saved["meta"], json_path, md_path)
        return
    data_path, json_path, md_path = sys.argv[1:4]
    benches = load(data_path)
    meta = {
        "date": env("IC_DATE"),
        "commit": env("IC_COMMIT"),
        "dirty": env("IC_DIRTY"),
        "cpu": env("IC_CPU"),
        "nproc": env("IC_NPROC"),
        "os": env("IC_OS"),
        "kernel": env("IC_KERNEL"),
        "versions": env("IC_VERSIONS"),
        "valgrind": env("IC_VALGRIND"),
        "note": env("IC_NOTE"),
        "build": env("IC_BUILD"),
        "interp_binary": env("IC_INTERP"),
        "jobs": env("IC_JOBS"),
        "repeat": int(env("IC_REPEAT", "1")),
        "tolerance_percent": float(env("IC_TOLERANCE", "0")),
        "elapsed_seconds": int(env("IC_ELAPSED", "0")),
        "load": env("IC_LOAD"),
        "labels": LABELS,
    }
    render(benches, meta, json_path, md_path)


def render(benches, meta, json_path, md_path):
    impls = [i for i in IMPLS if any(i in b["results"] for b in benches)]
    pairs = [
        ("jit", "nojit", "JIT / no-JIT"),
        ("nojit", "lua54", "no-JIT / lua5.4"),
        ("jit", "lua54", "JIT / lua5.4"),
        ("luajit", "lua54", "luajit / lua5.4"),
    ]
    pairs = [p for p in pairs if p[0] in impls and p[1] in impls]
    for b in benches:
        b["ratios"] = {}
        for a, c, _ in pairs:
            x, y = ok_count(b, a), ok_count(b, c)
            b["ratios"]["%s/%s" % (a, c)] = x / y if x and y else None
    geo = {}
    for a, c, _ in pairs:
        key = "%s/%s" % (a, c)
        vals = [b["ratios"][key] for b in benches if b["ratios"][key] is not None]
        geo[key] = {"geomean": geomean(vals), "count": len(vals)}

    # run-to-run variation (only with --repeat >= 2), per implementation
    variation = None
    spreads = [(r["spread"], b["name"], i, max(r["counts"]) - min(r["counts"]))
               for b in benches for i, r in b["results"].items() if "spread" in r]
    if spreads:
        variation = {}
        for i in IMPLS:
            mine = [t for t in spreads if t[2] == i]
            if mine:
                worst = max(mine)
                variation[i] = {"max_relative": worst[0], "at": worst[1], "max_difference": max(t[3] for t in mine),
                                "measurements": len(mine)}
    # verdict: JIT on never slower than JIT off, judged on instructions
    tol = meta["tolerance_percent"]
    limit = 1.0 + tol / 100.0
    measured = [b for b in benches if b["ratios"].get("jit/nojit") is not None]
    above = [(b["name"], b["ratios"]["jit/nojit"]) for b in measured if b["ratios"]["jit/nojit"] > 1.0]

    def noise(b):  # largest difference between repeats of the same command, either mode
        return max([max(r["counts"]) - min(r["counts"]) for i, r in b["results"].items()
                    if i in ("nojit", "jit") and len(r.get("counts", [])) > 1] or [0])

    slower = set()
    for b in measured:
        excess = ok_count(b, "jit") - ok_count(b, "nojit")
        if b["ratios"]["jit/nojit"] > limit and excess > noise(b):
            slower.add(b["name"])
    beyond = [(n, r) for n, r in above if n in slower]
    if not measured:
        verdict = "not measured"
    elif beyond:
        verdict = "not met"
    elif len(measured) < len(benches):
        verdict = "not met"
    else:
        verdict = "met"
    out = {"meta": meta, "impls": impls, "benchmarks": benches, "geomeans": geo, "variation": variation,
           "verdict": {"target": "JIT on never slower than JIT off (instructions)", "tolerance_percent": tol,
                       "result": verdict, "above_1": [n for n, _ in above], "slower": sorted(slower)}}
    with open(json_path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)

    L = []
    L.append("# Lua benchmarks: instruction counts")
    L.append("")
    banner = []
    if meta.get("note"):
        banner.append(meta["note"])
    if meta.get("build"):
        banner.append("Build problem: %s." % meta["build"])
    if meta.get("dirty"):
        banner.append("Measured with %s (the binary may not match commit `%s`)." % (meta["dirty"], meta["commit"]))
    for line in banner:
        L.append("> " + line)
        L.append(">")
    if banner:
        L.pop()
        L.append("")
    L.append("Generated by `benchmarks/icount.sh` on %s, commit `%s` (HEAD of the working tree it ran in). "
             "Raw data: [icount.json](icount.json). Wall-clock times: [RESULTS.md](RESULTS.md)." % (meta["date"], meta["commit"]))
    L.append("")
    L.append("## Instructions executed (millions, whole process, callgrind)")
    L.append("")
    hdr = ["benchmark (size)"] + [LABELS[i] for i in impls] + [p[2] for p in pairs]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|---|" + "|".join(["---:"] * (len(impls) + len(pairs))) + "|")
    for b in benches:
        row = ["%s (%s)" % (b["name"], b["size"])] + [cell(b, i) for i in impls]
        for a, c, _ in pairs:
            x = b["ratios"]["%s/%s" % (a, c)]
            s = fmt_ratio(x)
            if (a, c) == ("jit", "nojit") and x is not None:
                s = "%.4f" % x
                if b["name"] in slower:
                    s = "**%s**" % s
            row.append(s)
        L.append("| " + " | ".join(row) + " |")
    L.append("| **geometric mean** | " + " | ".join([""] * len(impls)) + " | " + " | ".join(
        "**%s** (n=%d)" % (fmt_ratio(geo["%s/%s" % (a, c)]["geomean"]), geo["%s/%s" % (a, c)]["count"])
        for a, c, _ in pairs) + " |")
    L.append("")
    L.append("Ratios are instructions / instructions (lower is fewer for the first); JIT / no-JIT ratios "
             "that count as slower (rule below) are in bold. Geometric means are over the benchmarks both sides completed correctly.")
    L.append("")

    L.append("## Target: JIT on never slower than JIT off (judged on instructions)")
    L.append("")
    if tol == 0:
        L.append("Rule (strict, `--tolerance 0`): a benchmark counts as *slower with the JIT* when it executes more "
                 "instructions with the JIT than without, by more than the largest difference between repeats of the "
                 "same command on that benchmark (measured with `--repeat N`, see *Run-to-run variation*: interp-example's "
                 "counts move by up to about 0.01% between runs because Rust's hash maps are seeded randomly). With a "
                 "single run any excess counts.")
    else:
        L.append("Rule (`--tolerance %g`): a benchmark counts as *slower with the JIT* when its JIT / no-JIT "
                 "instruction ratio exceeds **1 + %g%% = %.6f** and the excess is larger than the largest difference "
                 "between repeats of the same command on that benchmark. Every ratio above 1 is listed "
                 "regardless." % (tol, tol, limit))
    L.append("")
    if verdict == "not measured":
        L.append("- Verdict: **not measured** (no benchmark completed both with and without the JIT).")
    else:
        detail = ""
        if beyond:
            detail = " on %d of %d benchmarks: " % (len(beyond), len(measured)) + ", ".join(
                "%s (%s)" % (n, pct(r)) for n, r in sorted(beyond, key=lambda t: -t[1]))
        elif len(measured) < len(benches):
            detail = " (only %d of %d benchmarks measured in both modes)" % (len(measured), len(benches))
        else:
            detail = " on all %d benchmarks" % len(measured)
        L.append("- Verdict: **%s**%s." % (verdict, detail))
        uncounted = [(n, r) for n, r in above if n not in slower]
        excess_of = {b["name"]: ok_count(b, "jit") - ok_count(b, "nojit") for b in measured}
        if uncounted:
            L.append("- More instructions with the JIT but within the rule's allowance (not counted): " + ", ".join(
                "%s %.7f (+%s instructions)" % (n, r, format(excess_of[n], ","))
                for n, r in sorted(uncounted, key=lambda t: -t[1])) + ".")
        elif not above:
            L.append("- No benchmark executes more instructions with the JIT than without.")
        below = sorted((b["ratios"]["jit/nojit"], b["name"]) for b in measured if b["ratios"]["jit/nojit"] < 1.0)
        if below:
            L.append("- Fewer instructions with the JIT: " + ", ".join("%s %.4f" % (n, r) for r, n in below) + ".")
    L.append("")
    L.append("## Run-to-run variation")
    L.append("")
    if variation:
        L.append("Every measurement was run %d times (`--repeat %d`). Largest difference between repeats of the same "
                 "command, by implementation:" % (meta["repeat"], meta["repeat"]))
        L.append("")
        for i in IMPLS:
            v = variation.get(i)
            if v:
                L.append("- %s: %.4f%% (%s), at most %s instructions over %d benchmarks" % (
                    LABELS[i], v["max_relative"] * 100, v["at"], format(v["max_difference"], ","), v["measurements"]))
    else:
        L.append("Each measurement was run once here. Run `benchmarks/icount.sh --repeat 2` to measure the variation "
                 "between repeats of the same command.")
    L.append("")
    problems = []
    for b in benches:
        for i in impls:
            r = b["results"].get(i)
            if r and r["status"] != "ok":
                problems.append("- %s under %s: %s%s" % (b["name"], LABELS[i], r["status"],
                                                        (" — " + r["note"]) if r.get("note") else ""))
    L.append("## Failures and output disagreements")
    L.append("")
    L.extend(problems or ["None: every implementation completed every benchmark under valgrind and printed exactly "
                          "what lua5.4 printed."])
    L.append("")
    L.append("## How measured")
    L.append("")
    L.append("- `valgrind --tool=callgrind --callgrind-out-file=/dev/null IMPL benchmarks/lua/NAME.lua SIZE`, run from "
             "the repository root; the figure is callgrind's total of executed guest instructions (its \"refs\" line) for "
             "the whole process: start-up, parsing, interpretation, and with the JIT also recording, optimizing, "
             "compiling (Cranelift) and the compiled code. %s." % meta.get("valgrind", "valgrind"))
    if all(b["size"] == "default" for b in benches):
        L.append("- Default sizes (`--default-sizes`): each program's own default size, the work `compare.sh` times; "
                 "about 50 times the work of the reduced sizes that `icount.sh` uses otherwise.")
    else:
        L.append("- Reduced sizes (shown with each benchmark; about 1/50 of `compare.sh`'s default work) keep the whole "
                 "run short; start-up and compilation weigh more at these sizes than at the default ones "
                 "(`--default-sizes` measures the default sizes).")
    L.append("- Each run's standard output must equal lua5.4's byte for byte (lua5.4's own output under valgrind, or a "
             "native lua5.4 run when lua5.4 is not measured).")
    L.append("- Instruction counts do not see cache misses, branch mispredictions or memory bandwidth, so they are a "
             "proxy for time; their advantage is that they repeat to a small fraction of a percent on this shared "
             "machine, where wall-clock times drift by ±15–25%.")
    L.append("- lua5.4 seeds its string hash from the time and addresses at start-up (`luai_makeseed`), so its counts "
             "vary between runs by up to about 1.5% on the table-heavy benchmarks (see *Run-to-run variation*); ratios "
             "against lua5.4 carry that uncertainty, JIT / no-JIT ratios do not.")
    L.append("- luajit (%s): valgrind does run and count its compiled code (LuaJIT writes machine code into "
             "anonymous memory, which valgrind's default `--smc-check=all-non-file` re-translates when it changes; "
             "`--smc-check=all` gives the same count, 48.72 M for mandelbrot 300), but the count is **not repeatable**: "
             "fib 27 took 16.4 M to 26.2 M instructions in eight runs of the same command (trace selection differs from "
             "run to run), and instructions per cycle differ far more between machine code and an interpreter than "
             "between two interpreters. Measure it with `--impls nojit,jit,lua54,luajit` and treat its ratios as rough; "
             "compare.sh's wall-clock times are the better figure for luajit." % (
                 "measured here" if "luajit" in impls else "not measured by default"))
    L.append("- %s callgrind runs at a time (%s cores); %d s in all. Reference interpreters: %s. interp-example binary: "
             "`%s`. Machine: %s, %s, kernel %s. Load average (1/5/15 min) %s." % (
                 meta.get("jobs"), meta.get("nproc"), meta.get("elapsed_seconds", 0), meta.get("versions") or "none",
                 meta.get("interp_binary"), meta.get("cpu") or "unknown CPU", meta.get("os") or "unknown OS",
                 meta.get("kernel"), meta.get("load")))
    L.append("")
    with open(md_path, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
