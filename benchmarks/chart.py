#!/usr/bin/env python3
"""Draw benchmarks/results.svg from benchmarks/results.json (written by compare.sh).

Usage: chart.py RESULTS.json OUT.svg

One group of horizontal bars per benchmark, one bar per implementation, showing the
median time relative to lua5.4 on a logarithmic axis (left of the 1.0 line = faster
than lua5.4).  Failed runs and wrong outputs are labelled instead of drawn.
Standard library only.
"""
import json
import math
import sys
from xml.sax.saxutils import escape

COLORS = {"nojit": "#d95f02", "jit": "#1b9e77", "lua54": "#7570b3", "luajit": "#e7298a"}


def main():
    data = json.load(open(sys.argv[1]))
    out_path = sys.argv[2]
    impls = data["impls"]
    labels = data["meta"]["labels"]
    benches = data["benchmarks"]

    ratios = []
    for b in benches:
        ref = b["results"].get("lua54")
        base = ref["median"] if ref and ref["status"] == "ok" else None
        row = {}
        for i in impls:
            r = b["results"].get(i)
            if r is None:
                row[i] = ("none", None)
            elif r["status"] in ("ok", "wrong") and base:
                row[i] = (r["status"], r["median"] / base)
            elif r["status"] in ("ok", "wrong"):
                row[i] = ("noref", None)
            else:
                row[i] = (r["status"], None)
        ratios.append(row)
    vals = [v for row in ratios for (_, v) in row.values() if v]
    lo = min(vals + [0.5])
    hi = max(vals + [2.0])
    lo_exp = math.floor(math.log2(lo))
    hi_exp = math.ceil(math.log2(hi))
    if hi_exp - lo_exp < 2:
        hi_exp = lo_exp + 2

    left, right, top = 190, 110, 70
    plot_w = 560
    bar_h = 12
    group_gap = 12
    group_h = len(impls) * bar_h + group_gap
    legend_h = 24 * ((len(impls) + 1) // 2) + 10
    height = top + len(benches) * group_h + 40 + legend_h
    width = left + plot_w + right

    def x_of(r):
        return left + (math.log2(r) - lo_exp) / (hi_exp - lo_exp) * plot_w

    s = []
    s.append('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">' % (width, height, width, height))
    s.append('<rect width="100%" height="100%" fill="white"/>')
    title = "Lua benchmarks: median time relative to lua5.4 (log scale, lower is faster)"
    s.append('<text x="%d" y="22" font-size="14" font-weight="bold">%s</text>' % (10, escape(title)))
    sub = "%s · commit %s · %s" % (data["meta"].get("date", ""), data["meta"].get("commit", ""), data["meta"].get("cpu", ""))
    if data["meta"].get("quick"):
        sub += " · QUICK MODE"
    s.append('<text x="10" y="40" fill="#555">%s</text>' % escape(sub))
    plot_bottom = top + len(benches) * group_h
    # grid
    for e in range(lo_exp, hi_exp + 1):
        x = x_of(2.0 ** e)
        s.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-width="%s"/>' % (x, top - 8, x, plot_bottom, "#333" if e == 0 else "#ddd", "1.5" if e == 0 else "1"))
        lab = ("%g" % (2.0 ** e)) + "x"
        s.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#333">%s</text>' % (x, plot_bottom + 16, lab))
    s.append('<text x="%d" y="%d" text-anchor="middle" fill="#333">time / lua5.4 time</text>' % (left + plot_w // 2, plot_bottom + 32))
    # bars
    for gi, (b, row) in enumerate(zip(benches, ratios)):
        y0 = top + gi * group_h
        s.append('<text x="%d" y="%.1f" text-anchor="end" font-weight="bold">%s</text>' % (left - 70, y0 + len(impls) * bar_h / 2 + 4, escape(b["name"])))
        for ii, impl in enumerate(impls):
            y = y0 + ii * bar_h
            status, v = row[impl]
            if v:
                # bars diverge from the 1x line: left = faster than lua5.4, right = slower
                x1 = x_of(v)
                xref = x_of(1.0)
                x0 = min(x1, xref)
                color = COLORS.get(impl, "#999")
                s.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s"%s><title>%s: %.2fx</title></rect>' % (
                    x0, y + 1, max(1.5, abs(x1 - xref)), bar_h - 2, color,
                    ' fill-opacity="0.35" stroke="red"' if status == "wrong" else "", escape(labels.get(impl, impl)), v))
                txt = "%.2fx" % v + (" wrong output" if status == "wrong" else "")
                if x1 >= xref:
                    s.append('<text x="%.1f" y="%.1f" fill="#333" font-size="9">%s</text>' % (max(x1, xref + 1.5) + 3, y + bar_h - 3, escape(txt)))
                else:
                    s.append('<text x="%.1f" y="%.1f" fill="#333" font-size="9" text-anchor="end">%s</text>' % (x1 - 3, y + bar_h - 3, escape(txt)))
            else:
                txt = {"failed": "failed", "missing": "not run", "none": "not run", "noref": "no lua5.4 reference"}.get(status, status)
                s.append('<text x="%d" y="%.1f" fill="#b00" font-size="9">%s: %s</text>' % (left + 4, y + bar_h - 3, escape(labels.get(impl, impl)), txt))
    # legend
    ly = plot_bottom + 50
    for k, impl in enumerate(impls):
        lx = left + (k % 2) * 280
        yy = ly + (k // 2) * 24
        s.append('<rect x="%d" y="%d" width="14" height="12" fill="%s"/>' % (lx, yy, COLORS.get(impl, "#999")))
        s.append('<text x="%d" y="%d">%s</text>' % (lx + 20, yy + 10, escape(labels.get(impl, impl))))
    s.append("</svg>")
    with open(out_path, "w") as f:
        f.write("\n".join(s) + "\n")


if __name__ == "__main__":
    main()
