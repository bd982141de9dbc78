#!/usr/bin/env python3
"""Turn the raw measurements of benchmarks/compare.sh into results.json and RESULTS.md.

Usage: report.py DATA.tsv RESULTS.json RESULTS.md
DATA.tsv columns: name size impl status median min max mean runs note cpu times method
(status: ok | wrong | failed | missing; times: comma-separated wall-clock seconds of
the timed runs in order; method: hyperfine | script | interleaved).  Machine/run details come from CMP_*
environment variables set by compare.sh.  Standard library only.
"""
import json
import math
import os
import sys

IMPLS = ["nojit", "jit", "lua54", "luajit"]
LABELS = {
    "nojit": "interp-example --no-jit",
    "jit": "interp-example (JIT)",
    "lua54": "lua5.4",
    "luajit": "luajit",
}


def load(path):
    benches = {}
    order = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            cols = line.split("\t")
            cols += [""] * (13 - len(cols))
            name, size, impl, status, median, mn, mx, mean, runs, note, cpu, times, method = cols[:13]
            if name not in benches:
                benches[name] = {"name": name, "size": size or "default", "results": {}}
                order.append(name)
            r = {"status": status, "note": note}
            if median:
                r.update(median=float(median), min=float(mn), max=float(mx), mean=float(mean), runs=int(runs))
                if cpu:
                    r["cpu"] = float(cpu)
                if times:
                    r["times"] = [float(t) for t in times.split(",")]
                if method:
                    r["method"] = method
            benches[name]["results"][impl] = r
    return [benches[n] for n in order]


def env(name, default=""):
    return os.environ.get(name, default)


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def ok_time(bench, impl):
    r = bench["results"].get(impl)
    if r and r["status"] == "ok":
        return r["median"]
    return None


def cell(bench, impl):
    r = bench["results"].get(impl)
    if r is None:
        return "—"
    st = r["status"]
    if st == "ok":
        return "%.3f" % r["median"]
    if st == "wrong":
        return "%.3f ✗ wrong output" % r["median"]
    if st == "missing":
        return "not run (missing)"
    note = r.get("note", "")
    short = note.split(":")[0] if note else "failed"
    return "FAILED (%s)" % short


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(x):
    return "—" if x is None else "%.2fx" % x



def icount_line(L, icount_json, md_path, sizes):
    """Appends the instruction-count verdict of `icount_json` (icount.sh's raw data), if it exists."""
    if not os.path.exists(icount_json):
        return
    try:
        icount = json.load(open(icount_json))
    except (OSError, ValueError):
        return
    if not icount.get("verdict"):
        return
    v = icount["verdict"]
    im = icount.get("meta", {})
    md_dir = os.path.dirname(os.path.abspath(md_path))
    link_path = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(icount_json)), "ICOUNT.md"), md_dir)
    link = "[%s](%s)" % (link_path, link_path)
    g = icount.get("geomeans", {})
    extra = []
    for key, label in (("nojit/lua54", "no-JIT / lua5.4"), ("jit/nojit", "JIT / no-JIT")):
        if g.get(key, {}).get("geomean"):
            extra.append("%s %.3f" % (label, g[key]["geomean"]))
    slower_ic = v.get("slower", v.get("beyond_tolerance", []))
    tol = v.get("tolerance_percent", 0)
    L.append("- By instruction counts (%s: callgrind, %s, commit `%s`, %s%s; repeatable, so small "
             "differences are real): JIT on never slower than JIT off **%s**%s; geometric means %s." % (
                 link, sizes, im.get("commit", "?"), im.get("date", "?"),
                 ", tolerance %g%%" % tol if tol else "", v.get("result", "?"),
                 (" (more instructions with the JIT on %s)" % ", ".join(slower_ic)) if slower_ic else "",
                 ", ".join(extra) or "—"))

def main():
    if sys.argv[1] == "--from-json":
        # re-render RESULTS.md from an existing results.json, optionally with a new note:
        #   report.py --from-json results.json RESULTS.md [NOTE]
        json_path, md_path = sys.argv[2:4]
        saved = json.load(open(json_path))
        meta = saved["meta"]
        if len(sys.argv) > 4:
            meta["note"] = sys.argv[4]
        for b in saved["benchmarks"]:
            b.pop("ratios", None)
        render(saved["benchmarks"], meta, json_path, md_path, env("CMP_ICOUNT_JSON"))
        return
    data_path, json_path, md_path = sys.argv[1:4]
    benches = load(data_path)
    meta = {
        "date": env("CMP_DATE"),
        "commit": env("CMP_COMMIT"),
        "cpu": env("CMP_CPU"),
        "nproc": env("CMP_NPROC"),
        "memory": env("CMP_MEM"),
        "os": env("CMP_OS"),
        "kernel": env("CMP_KERNEL"),
        "versions": env("CMP_VERSIONS"),
        "timer": env("CMP_HYPERFINE"),
        "runs": env("CMP_RUNS"),
        "quick": env("CMP_QUICK") == "1",
        "note": env("CMP_NOTE"),
        "build": env("CMP_BUILD"),
        "interp_binary": env("CMP_INTERP"),
        "load": env("CMP_LOAD"),
        "interleaved": env("CMP_INTERLEAVED") == "1",
        "labels": LABELS,
    }
    render(benches, meta, json_path, md_path, env("CMP_ICOUNT_JSON"))


def jit_vs_nojit(b):
    """Noise-aware comparison of the JIT and no-JIT runs of one benchmark.

    Returns None when either side has no usable per-run times, else a dict with the
    ranges, the median of the per-round ratios (rounds are paired when the two were
    run interleaved; otherwise the ratio of the medians), the larger relative spread
    (max - min) / median of the two, and the verdict:
      "slower"  every JIT run was slower than every no-JIT run AND the median ratio
                exceeds 1 by more than the larger relative spread;
      "faster"  the same, the other way round;
      "noise"   anything else (the difference is within the run-to-run spread).
    """
    n, j = b["results"].get("nojit"), b["results"].get("jit")
    if not n or not j or n["status"] != "ok" or j["status"] != "ok":
        return None
    tn, tj = n.get("times"), j.get("times")
    if not tn or not tj:
        return None
    med = lambda xs: sorted(xs)[len(xs) // 2] if len(xs) % 2 else sum(sorted(xs)[len(xs) // 2 - 1:len(xs) // 2 + 1]) / 2
    paired = n.get("method") == "interleaved" and j.get("method") == "interleaved" and len(tn) == len(tj)
    ratio = med([y / x for x, y in zip(tn, tj)]) if paired else med(tj) / med(tn)
    spread = max((max(tn) - min(tn)) / med(tn), (max(tj) - min(tj)) / med(tj))
    if min(len(tn), len(tj)) < 2:
        verdict = "single"  # one run: the spread is unknown, so no verdict
    elif min(tj) > max(tn) and ratio - 1 > spread:
        verdict = "slower"
    elif max(tj) < min(tn) and 1 - ratio > spread:
        verdict = "faster"
    else:
        verdict = "noise"
    return {"ratio": ratio, "paired": paired, "spread": spread, "verdict": verdict, "runs": min(len(tn), len(tj)),
            "nojit": (min(tn), max(tn)), "jit": (min(tj), max(tj))}


NOISE_RULE = ("a benchmark counts as *slower with the JIT* only when every JIT run was slower than every no-JIT run "
              "(the ranges do not overlap) **and** the median JIT / no-JIT ratio exceeds 1 by more than the larger "
              "relative spread (max − min) / median of the two modes' runs; any other difference is reported as within "
              "noise. The two modes are run in interleaved rounds (no-JIT, JIT, then JIT, no-JIT, ...) so that the "
              "machine's drift over minutes affects both alike, and the ratio is the median of the per-round ratios.")


def render(benches, meta, json_path, md_path, icount_json=""):
    impls_present = [i for i in IMPLS if any(i in b["results"] for b in benches)]

    # ratios and geometric means
    pairs = [
        ("nojit", "lua54", "no-JIT / lua5.4"),
        ("jit", "lua54", "JIT / lua5.4"),
        ("luajit", "lua54", "luajit / lua5.4"),
        ("nojit", "luajit", "no-JIT / luajit"),
        ("jit", "luajit", "JIT / luajit"),
        ("jit", "nojit", "JIT / no-JIT"),
    ]
    pairs = [p for p in pairs if p[0] in impls_present and p[1] in impls_present]
    for b in benches:
        b["ratios"] = {"%s/%s" % (a, c): ratio(ok_time(b, a), ok_time(b, c)) for a, c, _ in pairs}
    geo = {}
    for a, c, _ in pairs:
        key = "%s/%s" % (a, c)
        vals = [b["ratios"][key] for b in benches if b["ratios"][key] is not None]
        geo[key] = {"geomean": geomean(vals), "count": len(vals)}
    geo_times = {i: geomean([ok_time(b, i) for b in benches if ok_time(b, i)]) for i in impls_present}
    out = {"meta": meta, "impls": impls_present, "benchmarks": benches, "geomeans": geo, "geomean_times": geo_times}
    with open(json_path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)

    failing = {i for i in impls_present if not any(ok_time(b, i) for b in benches)}
    L = []
    L.append("# Lua benchmark results")
    L.append("")
    banner = []
    if meta["note"]:
        banner.append(meta["note"])
    if failing & {"nojit", "jit"}:
        banner.append(
            "**Preliminary:** %s did not complete any benchmark in this run, so only the reference "
            "interpreters were measured; re-run `benchmarks/compare.sh` once the Lua VM works."
            % " and ".join("`%s`" % LABELS[i] for i in IMPLS if i in failing and i in ("nojit", "jit"))
        )
    if meta["quick"]:
        banner.append("**Quick mode:** reduced sizes and a single run each; not a performance measurement.")
    if meta["build"]:
        banner.append("Build problem: %s." % meta["build"])
    for line in banner:
        L.append("> " + line)
        L.append(">")
    if banner:
        L.pop()
        L.append("")
    L.append("Generated by `benchmarks/compare.sh` on %s (commit `%s`). Chart: [results.svg](results.svg); raw data: [results.json](results.json)." % (meta["date"], meta["commit"]))
    L.append("")
    L.append("## Median wall-clock time (seconds)")
    L.append("")
    hdr = ["benchmark", "size"] + [LABELS[i] for i in impls_present]
    L.append("| " + " | ".join(hdr) + " |")
    L.append("|" + "|".join(["---"] * 2 + ["---:"] * len(impls_present)) + "|")
    for b in benches:
        L.append("| " + " | ".join([b["name"], str(b["size"])] + [cell(b, i) for i in impls_present]) + " |")
    L.append("| **geometric mean** | | " + " | ".join(
        ("%.3f" % geo_times[i]) if geo_times.get(i) else "—" for i in impls_present) + " |")
    L.append("")
    if any("cpu" in r for b in benches for r in b["results"].values()):
        L.append("### CPU time (user + system, mean of the timed runs, seconds)")
        L.append("")
        L.append("Less sensitive than wall-clock time to other load on a shared machine.")
        L.append("")
        L.append("| benchmark | " + " | ".join(LABELS[i] for i in impls_present) + " |")
        L.append("|---|" + "|".join(["---:"] * len(impls_present)) + "|")
        for b in benches:
            row = []
            for i in impls_present:
                r = b["results"].get(i)
                row.append("%.3f" % r["cpu"] if r and r["status"] in ("ok", "wrong") and "cpu" in r else "—")
            L.append("| " + b["name"] + " | " + " | ".join(row) + " |")
        L.append("")
    L.append("Geometric means of times are over the benchmarks each implementation completed correctly, so compare ratios (below) rather than these when the sets differ.")
    L.append("")
    if pairs:
        L.append("## Ratios (time / time; lower is faster for the first)")
        L.append("")
        L.append("| benchmark | " + " | ".join(p[2] for p in pairs) + " |")
        L.append("|---|" + "|".join(["---:"] * len(pairs)) + "|")
        for b in benches:
            L.append("| " + b["name"] + " | " + " | ".join(fmt_ratio(b["ratios"]["%s/%s" % (a, c)]) for a, c, _ in pairs) + " |")
        L.append("| **geometric mean** | " + " | ".join(
            "%s (n=%d)" % (fmt_ratio(geo["%s/%s" % (a, c)]["geomean"]), geo["%s/%s" % (a, c)]["count"]) for a, c, _ in pairs) + " |")
        L.append("")
    # targets from issue 4
    L.append("## Targets (issue 4)")
    L.append("")
    g = geo.get("nojit/lua54", {}).get("geomean")
    n_ok = geo.get("nojit/lua54", {}).get("count", 0)
    if g is None:
        L.append("- Interpreter only ≤ 1.3x slower than lua5.4 (geometric mean): **not measured** (interp-example did not run).")
    elif n_ok < len(benches):
        L.append("- Interpreter only ≤ 1.3x slower than lua5.4 (geometric mean): %.2fx over only %d of %d benchmarks — **not met** (every benchmark must run correctly)." % (g, n_ok, len(benches)))
    else:
        L.append("- Interpreter only ≤ 1.3x slower than lua5.4 (geometric mean): %.2fx — **%s**." % (g, "met" if g <= 1.3 else "not met"))
    cmp = {b["name"]: jit_vs_nojit(b) for b in benches}
    judged = {k: v for k, v in cmp.items() if v}
    n_both = geo.get("jit/nojit", {}).get("count", 0)
    if "jit/nojit" not in geo or n_both == 0:
        L.append("- JIT on never slower than JIT off: **not measured**.")
    elif not judged:
        # no per-run times (results.json from an older compare.sh): medians only
        slower = [b["name"] for b in benches if b["ratios"].get("jit/nojit") is not None and b["ratios"]["jit/nojit"] > 1.0]
        L.append("- JIT on never slower than JIT off (wall clock, medians only: no per-run times recorded, so not "
                 "noise-aware): %s." % ("**above 1.00x** on " + ", ".join(slower) if slower else "**met**"))
    else:
        slower = sorted((v["ratio"], k) for k, v in judged.items() if v["verdict"] == "slower")
        within = sorted((v["ratio"], k) for k, v in judged.items() if v["verdict"] == "noise" and v["ratio"] > 1.0)
        missing = len(benches) - len(judged)
        if slower:
            res = "**not met** on %s" % ", ".join("%s (%.2fx, spread %.0f%%)" % (k, r, judged[k]["spread"] * 100)
                                                for r, k in reversed(slower))
        elif any(v["verdict"] == "single" for v in judged.values()):
            res = "**not judged** (a single run per mode measures no spread; use `--runs 3` or more)"
        elif missing:
            res = "**not met** (only %d of %d benchmarks measured in both modes)" % (len(judged), len(benches))
        else:
            res = "**met** on all %d benchmarks, within the run-to-run spread" % len(judged)
        L.append("- JIT on never slower than JIT off (wall clock, noise-aware): %s." % res)
        if within:
            L.append("  Median JIT / no-JIT above 1.00x but within the spread (not counted): %s." % ", ".join(
                "%s %.2fx (spread %.0f%%)" % (k, r, judged[k]["spread"] * 100) for r, k in reversed(within)))
        L.append("  Rule: " + NOISE_RULE + " See the table below.")
    if icount_json:
        # the reduced-size run, and a default-size run kept beside it
        icount_line(L, icount_json, md_path, "reduced sizes")
        icount_line(L, os.path.join(os.path.dirname(icount_json), "default-sizes", "icount.json"), md_path,
                    "default sizes, the benchmarks measured there")
    L.append("")
    if judged:
        L.append("## JIT vs no-JIT, noise-aware (wall clock)")
        L.append("")
        L.append("| benchmark | no-JIT min–max (s) | JIT min–max (s) | median JIT / no-JIT | spread | verdict |")
        L.append("|---|---:|---:|---:|---:|---|")
        words = {"slower": "**slower**", "faster": "faster", "noise": "within noise", "single": "not judged (1 run)"}
        for b in benches:
            v = cmp.get(b["name"])
            if not v:
                L.append("| %s | — | — | — | — | not measured in both modes |" % b["name"])
                continue
            L.append("| %s | %.3f–%.3f | %.3f–%.3f | %.2fx%s | %.0f%% | %s |" % (
                b["name"], v["nojit"][0], v["nojit"][1], v["jit"][0], v["jit"][1], v["ratio"],
                "" if v["paired"] else " (medians)", v["spread"] * 100, words[v["verdict"]]))
        L.append("")
        L.append("Spread: the larger of the two modes' (max − min) / median over their runs (%s per mode). The rule "
                 "flags only slowdowns larger than the machine's drift during the measurement (often 10–30%% here); "
                 "the instruction counts resolve smaller differences." % (
                     "/".join(sorted({str(v["runs"]) for v in judged.values()}))))
        L.append("")
    problems = []
    for b in benches:
        for i in impls_present:
            r = b["results"].get(i)
            if r and r["status"] != "ok":
                problems.append("- %s under %s: %s%s" % (b["name"], LABELS[i], r["status"], (" — " + r["note"]) if r.get("note") else ""))
    L.append("## Failures and output disagreements")
    L.append("")
    if problems:
        L.extend(problems)
    else:
        L.append("None: every implementation completed every benchmark and printed exactly what lua5.4 printed.")
    L.append("")
    L.append("## Machine")
    L.append("")
    L.append("- CPU: %s (nproc = %s)" % (meta["cpu"] or "unknown", meta["nproc"]))
    L.append("- Memory: %s" % (meta["memory"] or "unknown"))
    L.append("- OS: %s, kernel %s" % (meta["os"] or "unknown", meta["kernel"]))
    L.append("- Reference interpreters: %s" % meta["versions"])
    L.append("- interp-example binary: `%s`" % meta["interp_binary"])
    L.append("- Load average (1/5/15 min) %s" % (meta["load"] or "unknown"))
    L.append("")
    L.append("## How measured")
    L.append("")
    L.append("- Each benchmark (`benchmarks/lua/*.lua`, run from the repository root with its size argument) is first run once untimed per implementation; its standard output must equal lua5.4's byte for byte, otherwise the cell is marked *wrong output*. Non-zero exit, crash or timeout marks the cell *FAILED*.")
    if meta.get("interleaved"):
        L.append("- Then %s timed runs (no shell, no warm-up): lua5.4 and luajit with %s; interp-example without and with the JIT by `benchmarks/interleave.py`, in %s interleaved rounds alternating which mode goes first (wall clock around fork/exec and wait; CPU time from `wait4`). The table shows the median wall-clock time. Ratios and geometric means use only correct, completed runs." % (meta["runs"], meta["timer"], meta["runs"]))
    else:
        L.append("- Then %s timed runs with %s (no shell, no warm-up); the table shows the median wall-clock time. Ratios and geometric means use only correct, completed runs." % (meta["runs"], meta["timer"]))
    L.append("- The machine may be shared with other work and its speed drifts (±15–25% between runs of the same binary have been seen), so small differences are noise; the JIT-vs-no-JIT verdict above only counts differences beyond the measured spread, and `benchmarks/icount.sh` (instruction counts, ICOUNT.md) is the repeatable measure.")
    L.append("")
    with open(md_path, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
