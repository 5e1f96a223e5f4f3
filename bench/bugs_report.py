#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# bench/bugs_report.py — the statistics and figures of bench/bugs (stdlib only, Debian's python3).
#
#   bugs_report.py bugs CSV OUT.md --svg OUT.svg --km OUT-km.svg [--command C --date D ...]
#   bugs_report.py false-findings CSV OUT.md [--command C --date D --commit H]
#
# Statistics, written here rather than imported:
# - Kaplan–Meier survival of "not yet detected", every trial censored at the budget when it did
#   not detect; medians and quartiles are KM quantiles (smallest t with S(t) <= 1-q).
# - Mann-Whitney U of an engine's detection times against the baseline's, censored trials tied
#   above every observed time; two-sided p exact (the permutation distribution of the mid-rank
#   sum, so ties are handled exactly) when C(n1+n2, n1) <= 10^6, else the normal approximation
#   with tie correction and continuity correction.
# - Vargha–Delaney Â12 = P(T_engine < T_baseline) + ½·P(T_engine = T_baseline): 1.0 = the engine
#   always detects first, 0.5 = no difference.
import argparse
import csv
import math
import sys
from collections import defaultdict

ENGINES = ["fuzz", "properties", "pct", "baseline"]
DETERMINISTIC = ["fuzz", "properties", "pct"]
ENGINE_LABEL = {
    "fuzz": "fuzz_lifecycle (empty corpus)",
    "properties": "RapidCheck properties",
    "pct": "stress, PCT",
    "baseline": "baseline: native stress, uniform programs",
}
COLORS = {"fuzz": "#1f77b4", "properties": "#2ca02c", "pct": "#9467bd", "baseline": "#d62728"}


# ---- statistics -------------------------------------------------------------------------------

def km_curve(times, events):
    """[(t, S(t))] at each event time; S starts at 1."""
    n = len(times)
    pts = []
    s = 1.0
    at_risk = n
    data = sorted(zip(times, events))
    i = 0
    while i < len(data):
        t = data[i][0]
        d = c = 0
        while i < len(data) and data[i][0] == t:
            if data[i][1]:
                d += 1
            else:
                c += 1
            i += 1
        if d:
            s *= 1.0 - d / at_risk
            pts.append((t, s))
        at_risk -= d + c
    return pts


def km_quantile(times, events, q):
    """Smallest t with S(t) <= 1 - q; None when not reached (censored)."""
    for t, s in km_curve(times, events):
        if s <= 1.0 - q + 1e-12:
            return t
    return None


def midranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    ties = []
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        r = (i + j) / 2.0 + 1.0
        for k in range(i, j + 1):
            ranks[order[k]] = r
        ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def mann_whitney(x, y):
    """(U_x, two-sided p, method): U_x counts pairs with x < y (+½ ties), so large = x smaller."""
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        return None, None, "-"
    u = sum((1.0 if a < b else 0.5 if a == b else 0.0) for a in x for b in y)
    allv = list(x) + list(y)
    ranks, ties = midranks(allv)
    n = n1 + n2
    mean = n1 * n2 / 2.0
    if all(v == allv[0] for v in allv):
        return u, 1.0, "all tied"
    if math.comb(n, n1) <= 1_000_000:
        # Exact: distribution of the sum of n1 doubled mid-ranks over all subsets (DP).
        r2 = [int(round(2 * r)) for r in ranks]
        total = sum(r2)
        ways = [defaultdict(int) for _ in range(n1 + 1)]
        ways[0][0] = 1
        for r in r2:
            for k in range(min(n1, n) - 1, -1, -1):
                for s, c in list(ways[k].items()):
                    ways[k + 1][s + r] += c
        dist = ways[n1]
        count = sum(dist.values())
        # Rank sum of x (doubled) ~ U_y = R_x - n1(n1+1)/2; U_x = n1 n2 - U_y.
        rx2 = sum(r2[:n1])
        exp2 = n1 * (n + 1)  # doubled expectation of R_x
        dev = abs(rx2 - exp2)
        extreme = sum(c for s, c in dist.items() if abs(s - exp2) >= dev - 1e-9)
        return u, min(1.0, extreme / count), "exact"
    tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1))
    var = n1 * n2 / 12.0 * ((n + 1) - tie_term)
    if var <= 0:
        return u, 1.0, "all tied"
    z = (abs(u - mean) - 0.5) / math.sqrt(var)
    p = math.erfc(max(z, 0.0) / math.sqrt(2))
    return u, min(1.0, p), "normal"


# ---- formatting -------------------------------------------------------------------------------

def fmt_t(t, budget):
    if t is None:
        return f">{budget:g}"
    if t < 0.01:
        return f"{t:.3f}"
    if t < 10:
        return f"{t:.2f}"
    return f"{t:.1f}"


def fmt_p(p):
    if p is None:
        return "-"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


class Cell:
    """One (defect, engine): its trials."""

    def __init__(self, rows, budget):
        self.budget = budget
        self.n = len(rows)
        self.det = [r["detected_s"] != "" for r in rows]
        self.t = [float(r["detected_s"]) if r["detected_s"] != "" else budget for r in rows]
        self.k = sum(self.det)

        def col(name):
            v = [float(r[name]) if r[name] != "" else budget for r in rows]
            e = [r[name] != "" for r in rows]
            return v, e
        self.reached = col("reached_s")
        self.triggered = col("triggered_s")
        self.ops = [int(r["min_ops"]) for r in rows if r["min_ops"] not in ("", "-")]
        self.min_from = sorted({r["min_from"] for r in rows if r["min_from"] not in ("", "-")})
        self.false = sorted({f for r in rows for f in r["false_findings"].split(";") if f})

    def q(self, p, which=None):
        v, e = which if which else (self.t, self.det)
        return km_quantile(v, e, p)

    def ranked(self):
        """Times for the U test: censored trials tie above every observed time."""
        return [t if d else self.budget * 10 for t, d in zip(self.t, self.det)]


# ---- figures ----------------------------------------------------------------------------------

def svg_times(path, defects, depth, cells, engines, budget):
    lo, hi = 1e-3, float(budget)
    left, right, top, row_h, sub = 330, 120, 60, 14 * len(engines) + 10, 14
    plot_w = 620
    cens_x = left + plot_w + 45
    height = top + row_h * len(defects) + 60
    width = left + plot_w + right
    def x_of(t):
        t = min(max(t, lo), hi)
        return left + (math.log10(t) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * plot_w
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="{left}" y="18" font-size="14" font-weight="bold">Time to detect each defect '
         f'(s, log scale; budget {budget:g} s)</text>',
         f'<text x="{left}" y="34" fill="#555">dots: trials; bar: median (Kaplan–Meier); '
         f'right column: trials censored at the budget (not detected)</text>']
    # grid
    dec = int(math.floor(math.log10(lo)))
    while 10 ** dec <= hi * 1.0001:
        x = x_of(10 ** dec)
        o.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 50}" stroke="#ddd"/>')
        lab = f"{10 ** dec:g}"
        o.append(f'<text x="{x:.1f}" y="{height - 36}" text-anchor="middle">{lab}</text>')
        dec += 1
    xb = x_of(hi)
    o.append(f'<line x1="{xb:.1f}" y1="{top - 6}" x2="{xb:.1f}" y2="{height - 50}" stroke="#999" stroke-dasharray="4,3"/>')
    o.append(f'<text x="{xb:.1f}" y="{height - 36}" text-anchor="middle">{budget:g}</text>')
    o.append(f'<text x="{cens_x}" y="{top - 10}" text-anchor="middle">censored</text>')
    o.append(f'<text x="{left + plot_w / 2}" y="{height - 20}" text-anchor="middle">seconds from the trial start</text>')
    for i, d in enumerate(defects):
        y0 = top + i * row_h
        if i % 2 == 0:
            o.append(f'<rect x="0" y="{y0}" width="{width}" height="{row_h}" fill="#f6f6f6"/>')
        o.append(f'<text x="{left - 8}" y="{y0 + row_h / 2 + 4}" text-anchor="end">{d} (depth {depth[d]})</text>')
        for j, e in enumerate(engines):
            c = cells.get((d, e))
            if c is None:
                continue
            y = y0 + 8 + j * sub
            col = COLORS[e]
            cens = 0
            for t, det in zip(c.t, c.det):
                if det:
                    o.append(f'<circle cx="{x_of(t):.1f}" cy="{y}" r="3" fill="{col}" fill-opacity="0.45"/>')
                else:
                    cens += 1
            if cens:
                o.append(f'<text x="{cens_x}" y="{y + 4}" text-anchor="middle" fill="{col}">{cens}/{c.n}</text>')
            m = c.q(0.5)
            if m is not None:
                xm = x_of(m)
                o.append(f'<line x1="{xm:.1f}" y1="{y - 6}" x2="{xm:.1f}" y2="{y + 6}" stroke="{col}" stroke-width="3"/>')
    ly = height - 14
    lx = 10
    for e in engines:
        o.append(f'<circle cx="{lx + 5}" cy="{ly - 4}" r="4" fill="{COLORS[e]}"/>')
        o.append(f'<text x="{lx + 13}" y="{ly}">{ENGINE_LABEL[e]}</text>')
        lx += 14 + 7 * len(ENGINE_LABEL[e]) + 20
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


def svg_km(path, defects, depth, cells, engines, budget):
    lo, hi = 1e-3, float(budget)
    left, top, pw, ph = 60, 40, 560, 300
    width, height = left + pw + 250, top + ph + 60
    def x_of(t):
        t = min(max(t, lo), hi)
        return left + (math.log10(t) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * pw
    def y_of(f):
        return top + ph - f * ph
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="{left}" y="18" font-size="14" font-weight="bold">Kaplan–Meier: share of (defect, trial) '
         f'pairs detected by time t</text>',
         f'<text x="{left}" y="32" fill="#555">solid: all defects; dashed: depth ≥ 2 defects; '
         f'censored at {budget:g} s</text>']
    dec = -3
    while 10 ** dec <= hi * 1.0001:
        x = x_of(10 ** dec)
        o.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + ph}" stroke="#ddd"/>')
        o.append(f'<text x="{x:.1f}" y="{top + ph + 14}" text-anchor="middle">{10 ** dec:g}</text>')
        dec += 1
    for f in (0, 0.25, 0.5, 0.75, 1.0):
        y = y_of(f)
        o.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{int(f * 100)}%</text>')
    o.append(f'<text x="{x_of(hi):.1f}" y="{top + ph + 14}" text-anchor="middle">{budget:g}</text>')
    o.append(f'<text x="{left + pw / 2}" y="{top + ph + 32}" text-anchor="middle">seconds (log)</text>')
    ly = top + 10
    for e in engines:
        for dash, sel in (("", lambda d: True), ("6,4", lambda d: depth[d] >= 2)):
            ts, es = [], []
            for d in defects:
                c = cells.get((d, e))
                if c and sel(d):
                    ts += c.t
                    es += c.det
            if not ts:
                continue
            pts = km_curve(ts, es)
            path_d = f"M{x_of(lo):.1f},{y_of(0):.1f}"
            for t, s in pts:
                x = x_of(t)
                path_d += f" H{x:.1f} V{y_of(1 - s):.1f}"
            path_d += f" H{x_of(hi):.1f}"
            o.append(f'<path d="{path_d}" fill="none" stroke="{COLORS[e]}" stroke-width="2"'
                     + (f' stroke-dasharray="{dash}"' if dash else "") + "/>")
        o.append(f'<line x1="{left + pw + 15}" y1="{ly}" x2="{left + pw + 35}" y2="{ly}" stroke="{COLORS[e]}" stroke-width="2"/>')
        o.append(f'<text x="{left + pw + 40}" y="{ly + 4}">{ENGINE_LABEL[e]}</text>')
        ly += 18
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


# ---- reports ----------------------------------------------------------------------------------

THREAT = ("**Threat to validity.** The defects are real CPython bugs *re-introduced into a model* "
          "of CPython's runtime (runtime/defects.def: each one changes the model's mechanism where "
          "the real bug lived), not bugs in CPython itself. The times say how fast each engine finds "
          "these mechanisms in this model; a bug of real CPython may be harder (more state, more "
          "code between the interleaving points) or easier, and the engines were developed knowing "
          "these bugs (the program shapes of the properties and the seeds of stress were written from "
          "cpython-notes §3, which lists them). The baseline is weak on purpose (what a plain stress "
          "script does: native threads, uniform random programs); it is not a tuned competitor. "
          "The native baseline's interleavings depend on the machine's load (2 shared cores here).")


def report_bugs(a):
    rows = load(a.csv)
    budget = float(rows[0]["budget_s"]) if rows else float("nan")
    defects, depth, profile = [], {}, {}
    for r in rows:
        if r["defect"] not in depth:
            defects.append(r["defect"])
            depth[r["defect"]] = int(r["depth"])
            profile[r["defect"]] = r["profile"]
    engines = [e for e in ENGINES if any(r["engine"] == e for r in rows)]
    by = defaultdict(list)
    for r in rows:
        by[(r["defect"], r["engine"])].append(r)
    cells = {k: Cell(v, budget) for k, v in by.items()}

    L = []
    L.append(f"Measured {a.date} (commit {a.commit}) with `{a.command}`: {len(defects)} defect(s), "
             f"engines {', '.join(engines)}, {a.trials} trials per engine"
             + (f" ({a.baseline_trials} for the baseline)" if "baseline" in engines else "")
             + f", budget {budget:g} s per trial, {a.jobs} trial(s) at a time, one core each.")
    if a.note:
        L.append("")
        L.append(f"Note: {a.note}.")
    L.append("")
    L.append("Median time to detect (Kaplan–Meier median, s; `>B` = not reached within the budget) "
             "and detection rate; speed-up = baseline median / engine median (`≥` when the baseline's "
             "median is censored: a lower bound).")
    L.append("")
    head = "| defect | depth | profile | " + " | ".join(engines) + " |"
    if "baseline" in engines:
        head += " speed-up vs baseline (" + ", ".join(e for e in engines if e != "baseline") + ") |"
    L.append(head)
    L.append("|" + "---|" * (head.count("|") - 1))
    speed = {}
    for d in defects:
        cols = []
        for e in engines:
            c = cells.get((d, e))
            if c is None:
                cols.append("-")
                continue
            cols.append(f"{fmt_t(c.q(0.5), budget)} ({c.k}/{c.n})")
        line = f"| {d} | {depth[d]} | {profile[d]} | " + " | ".join(cols) + " |"
        if "baseline" in engines:
            b = cells.get((d, "baseline"))
            sp = []
            for e in engines:
                if e == "baseline":
                    continue
                c = cells.get((d, e))
                mb, me = (b.q(0.5) if b else None), (c.q(0.5) if c else None)
                if me is None:
                    s, val = "n/a (engine censored)", None
                elif mb is None:
                    val = budget / max(me, 1e-3)
                    s = f"≥{val:.0f}×"
                else:
                    val = mb / max(me, 1e-3)
                    s = f"{val:.1f}×" if val < 10 else f"{val:.0f}×"
                speed[(d, e)] = (val, mb is None)
                sp.append(s)
            line += " " + ", ".join(sp) + " |"
        L.append(line)
    L.append("")
    L.append("Per defect and engine: first *reached* / *triggered* / *detected* (KM medians, s), "
             "detected quartiles, rate, minimised size (ops, median over the detecting trials), and "
             "the engine against the baseline: Vargha–Delaney Â12 (P(engine detects first), "
             "1 = always) and the two-sided Mann-Whitney U p-value (censored trials tied above "
             "every observed time).")
    L.append("")
    L.append("| defect | engine | reached | triggered | detected | [q1, q3] | rate | min ops | Â12 | p (U test) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for d in defects:
        b = cells.get((d, "baseline"))
        for e in engines:
            c = cells.get((d, e))
            if c is None:
                continue
            ops = "-"
            if c.ops:
                s = sorted(c.ops)
                ops = str(s[(len(s) - 1) // 2])
                if len(set(s)) > 1:
                    ops += f" ({s[0]}–{s[-1]})"
            a12 = p = "-"
            if b is not None and e != "baseline":
                u, pv, how = mann_whitney(c.ranked(), b.ranked())
                a12 = f"{u / (c.n * b.n):.2f}"
                p = fmt_p(pv) + ("" if how == "exact" else f" ({how})")
            L.append(f"| {d} | {e} | {fmt_t(c.q(0.5, c.reached), budget)} | "
                     f"{fmt_t(c.q(0.5, c.triggered), budget)} | {fmt_t(c.q(0.5), budget)} | "
                     f"[{fmt_t(c.q(0.25), budget)}, {fmt_t(c.q(0.75), budget)}] | {c.k}/{c.n} | "
                     f"{ops} | {a12} | {p} |")
    L.append("")
    # The "done when" checks, computed (never hand-written).
    L.append("Checks (issue 7 \"done when\"), computed from the table above:")
    L.append("")
    bad = []
    for d in defects:
        for e in DETERMINISTIC:
            c = cells.get((d, e))
            if c is None:
                continue
            m = c.q(0.5)
            if m is None or m > 60:
                bad.append(f"{d} / {e}: median {fmt_t(m, budget)} s, {c.k}/{c.n} detected")
    L.append("- every defect detected by every deterministic engine with median ≤ 60 s: "
             + ("**yes**" if not bad else "**no** — " + "; ".join(bad)))
    if "baseline" in engines:
        slow = []
        for d in defects:
            if depth[d] < 2:
                continue
            for e in DETERMINISTIC:
                if (d, e) not in speed:
                    if cells.get((d, e)) is not None:
                        slow.append(f"{d} / {e}: engine censored")
                    continue
                val, lower = speed[(d, e)]
                if val is None or val < 10:
                    slow.append(f"{d} / {e}: {'≥' if lower else ''}{val:.1f}×" if val is not None
                                else f"{d} / {e}: engine censored")
        L.append("- every deterministic engine ≥ 10× faster than the baseline on every depth ≥ 2 "
                 "defect: " + ("**yes**" if not slow else "**no** — " + "; ".join(slow)))
    false = [(d, e, c.false) for (d, e), c in cells.items() if c.false]
    if false:
        L.append("- findings not attributed to the enabled defect (false findings of the model; "
                 "they did not end the trials): " + "; ".join(
                     f"{d} / {e}: " + ", ".join(f"`{x}`" for x in fs[:3]) for d, e, fs in false))
    else:
        L.append("- findings not attributed to the enabled defect: none")
    froms = sorted({m for c in cells.values() for m in c.min_from})
    if "fuzz" in engines:
        fz = sorted({m for (d, e), c in cells.items() if e == "fuzz" for m in c.min_from})
        L.append("- fuzz minimised size from: " + (", ".join(fz) if fz else "-") +
                 " (crash = `interpfuzz minimize` on the raw libFuzzer crash file; ifz = on the "
                 ".ifz the target wrote for the same finding, INTERPFUZZ_FINDINGS, when the raw "
                 "file did not minimise to the defect's signature)")
    L.append("")
    L.append(THREAT)
    with open(a.out, "w") as f:
        f.write("\n".join(L) + "\n")
    if a.svg:
        svg_times(a.svg, defects, depth, cells, engines, budget)
    if a.km:
        svg_km(a.km, defects, depth, cells, engines, budget)


def report_false(a):
    rows = load(a.csv)
    engines = [e for e in ENGINES if any(r["engine"] == e for r in rows)]
    profiles = []
    for r in rows:
        if r["profile"] not in profiles:
            profiles.append(r["profile"])
    secs = sorted({r["seconds"] for r in rows})
    L = [f"Measured {a.date} (commit {a.commit}) with `{a.command}`: each engine for "
         f"{', '.join(s for s in secs)} s on each -fixed profile, no defect enabled, one core each: "
         "every finding is false (a bug of the model or of an oracle).", ""]
    L.append("| profile | " + " | ".join(engines) + " |")
    L.append("|" + "---|" * (len(engines) + 1))
    cell = {(r["profile"], r["engine"]): r for r in rows}
    sigs = []
    for p in profiles:
        cols = []
        for e in engines:
            r = cell.get((p, e))
            cols.append(r["false_findings"] if r else "-")
            if r and r["signatures"]:
                sigs += [f"{p} / {e}: `{s}`" for s in r["signatures"].split(";") if s]
        L.append(f"| {p} | " + " | ".join(cols) + " |")
    L.append("")
    L.append("Distinct false findings: " + ("none" if not sigs else ""))
    for s in sigs:
        L.append(f"- {s}")
    with open(a.out, "w") as f:
        f.write("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["bugs", "false-findings"])
    ap.add_argument("csv")
    ap.add_argument("out")
    ap.add_argument("--svg")
    ap.add_argument("--km")
    ap.add_argument("--command", default="bench/bugs")
    ap.add_argument("--date", default="?")
    ap.add_argument("--commit", default="?")
    ap.add_argument("--jobs", default="?")
    ap.add_argument("--trials", default="?")
    ap.add_argument("--baseline-trials", dest="baseline_trials", default="?")
    ap.add_argument("--note", default="")
    a = ap.parse_args()
    if a.mode == "bugs":
        report_bugs(a)
    else:
        report_false(a)


if __name__ == "__main__":
    sys.exit(main())
