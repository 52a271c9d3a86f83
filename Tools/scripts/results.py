#!/usr/bin/env python3
"""Tables and charts of a reproduce.sh run, beside the paper's numbers.

    python3 Tools/scripts/results.py DIR

Reads DIR/run.txt, DIR/sensitivity/*/summary.csv and DIR/recovery/*.json
(plans, whose `accuracy` block holds every draw) and writes DIR/RESULTS.md
with bar charts (fig7.svg, fig8.svg, fig9.svg) and convergence curves
(fig10.svg). Plain Python 3, no dependencies. Accuracies are means ± standard
deviation over devices and draws (all draws of all devices pooled).
"""
import csv
import glob
import json
import math
import os
import sys

# The paper's numbers (HAS-SPEC §7, read from the reference code's notebook outputs).
PAPER_FIG4 = {"c0": [11.3, 21.0, 41.8], "h2": [0.8, 1.7, 4.1], "op": [0.2, 0.3, 0.8]}  # flip1 points lost
PAPER_FIG5_TRUNC_OP = [2.4, 4.9, 14.0]  # tf32 = bf16 on op at 0.1/0.2/0.5 (the `zero` behaviour)
PAPER_FIG6 = {"c0": 7.8, "c1": 19.6, "c0+c1": 30.0}  # fashion bitflip 0.5, points lost
PAPER_FIG7 = {  # (faulty, planned) on images 5120-9999, clean 99.2
    ("flip1", "1e-3"): (86.8, 95.8), ("flip1", "2e-3"): (78.6, 93.1), ("flip1", "5e-3"): (56.9, 87.3),
    ("bitflip", "1e-3"): (88.6, 96.3), ("bitflip", "2e-3"): (76.8, 94.4), ("bitflip", "5e-3"): (57.6, 87.4)}
PAPER_FIG8 = {"h2": 1.3, "op": 3.0, "h2+op": 4.1}  # points won back
PAPER_FIG9 = {"c0": 4.1, "c1": 5.5, "c0+c1": 9.3}  # points won back at 0.5


def stats(values):
    n = len(values)
    if n == 0:
        return float("nan"), float("nan")
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var)


def pm(values, scale=100.0):
    mean, std = stats([v * scale for v in values])
    return f"{mean:.2f} ± {std:.2f}"


def read_run(out):
    info = {}
    path = os.path.join(out, "run.txt")
    if os.path.exists(path):
        for line in open(path):
            if "=" in line:
                key, value = line.rstrip("\n").split("=", 1)
                info[key] = value
            elif ":" in line:
                key, value = line.rstrip("\n").split(":", 1)
                info[key] = value.strip()
    walls = os.path.join(out, "wall.txt")
    info["wall_seconds"] = sum(int(l.split()[-1]) for l in open(walls) if l.strip()) if os.path.exists(walls) else None
    info["invocations"] = [l.strip() for l in open(walls)] if os.path.exists(walls) else []
    return info


def read_summary(out, name):
    path = os.path.join(out, "sensitivity", name, "summary.csv")
    if not os.path.exists(path):
        return None
    rows = {}
    for r in csv.DictReader(open(path)):
        rows[(r["layers"], r["kind"], float(r["fr_max"]))] = r
    return rows


def read_plans(out, fig):
    """Settings of one figure: {(model, layers, kind, fr): [plan, ...]} over devices."""
    groups = {}
    for path in sorted(glob.glob(os.path.join(out, "recovery", f"{fig}_*.json"))):
        if path.endswith(".result.json") or ".checkpoint." in path:
            continue
        if not os.path.exists(path[:-5] + ".result.json"):
            continue  # not finished
        _, model, layers, kind, fr, seed = os.path.basename(path)[:-5].split("_")
        plan = json.load(open(path))
        groups.setdefault((model, layers, kind, fr), []).append(plan)
    return groups


def pooled(plans, split, which):
    values = []
    for p in plans:
        acc = p["accuracy"][split]
        values += acc[which]["trials"] if which != "clean" else [acc["clean"]]
    return values


def recovery_row(plans, split):
    clean = stats(pooled(plans, split, "clean"))[0] * 100
    faulty = pooled(plans, split, "faulty")
    planned = pooled(plans, split, "planned")
    f, p = stats(faulty)[0] * 100, stats(planned)[0] * 100
    share = (p - f) / (clean - f) if clean - f > 1e-9 else float("nan")
    return clean, faulty, planned, f, p, share


def svg_bars(path, title, groups, ylabel="accuracy (%)", ymin=None):
    """Grouped bars: groups = [(label, [(series, value, std)])]."""
    colors = {"clean": "#4c72b0", "faulty": "#dd8452", "planned": "#55a868", "paper faulty": "#f0c8a8",
              "paper planned": "#b5dcbf"}
    series = []
    for _, bars in groups:
        for s, _, _ in bars:
            if s not in series:
                series.append(s)
    values = [v for _, bars in groups for _, v, _ in bars if not math.isnan(v)]
    lo = ymin if ymin is not None else max(0.0, math.floor(min(values + [100]) / 10) * 10 - 10)
    hi = 100.0
    width, height, left, bottom, top = max(480, 70 * len(groups) + 120), 360, 60, 70, 40
    bar = (width - left - 20) / max(1, len(groups)) / (len(series) + 1)
    y = lambda v: top + (height - top - bottom) * (1 - (max(lo, min(hi, v)) - lo) / (hi - lo))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>']
    for i in range(6):
        v = lo + (hi - lo) * i / 5
        out.append(f'<line x1="{left}" x2="{width - 20}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 5}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}</text>')
    out.append(f'<text x="14" y="{height / 2}" transform="rotate(-90 14 {height / 2})" text-anchor="middle">{ylabel}</text>')
    for g, (label, bars) in enumerate(groups):
        x0 = left + g * (len(series) + 1) * bar + bar / 2
        for s, v, std in bars:
            if math.isnan(v):
                continue
            x = x0 + series.index(s) * bar
            out.append(f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{bar * 0.9:.1f}" height="{y(lo) - y(v):.1f}" '
                       f'fill="{colors.get(s, "#999")}"><title>{s}: {v:.2f}</title></rect>')
            if std and not math.isnan(std):
                cx = x + bar * 0.45
                out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(v + std):.1f}" y2="{y(v - std):.1f}" stroke="#333"/>')
        out.append(f'<text x="{x0 + len(series) * bar / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                   f'font-size="10">{label}</text>')
    for i, s in enumerate(series):
        out.append(f'<rect x="{left + i * 110}" y="{height - 22}" width="10" height="10" fill="{colors.get(s, "#999")}"/>'
                   f'<text x="{left + i * 110 + 14}" y="{height - 13}">{s}</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out) + "\n")


def svg_curves(path, title, curves):
    """curves = [(name, [(generation, best)])]."""
    palette = ["#4c72b0", "#dd8452", "#55a868", "#c44e52"]
    points = [p for _, c in curves for p in c]
    if not points:
        return
    gmax = max(1, max(g for g, _ in points))
    lo, hi = min(v for _, v in points), max(v for _, v in points)
    lo, hi = lo - 0.05 * (hi - lo + 1e-6), hi + 0.05 * (hi - lo + 1e-6)
    width, height, left, bottom, top = 560, 340, 60, 50, 40
    x = lambda g: left + (width - left - 20) * g / gmax
    y = lambda v: top + (height - top - bottom) * (1 - (v - lo) / (hi - lo))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="13">{title}</text>']
    for i in range(6):
        v = lo + (hi - lo) * i / 5
        out.append(f'<line x1="{left}" x2="{width - 20}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 5}" y="{y(v) + 4:.1f}" text-anchor="end">{v * 100:.1f}</text>')
    out.append(f'<text x="{width / 2}" y="{height - 10}" text-anchor="middle">generation</text>')
    for i, (name, c) in enumerate(curves):
        d = " ".join(f"{'M' if j == 0 else 'L'}{x(g):.1f},{y(v):.1f}" for j, (g, v) in enumerate(c))
        out.append(f'<path d="{d}" fill="none" stroke="{palette[i % 4]}" stroke-width="1.5"/>')
        out.append(f'<text x="{left + 10}" y="{top + 14 * (i + 1)}" fill="{palette[i % 4]}">{name}</text>')
    out.append("</svg>")
    open(path, "w").write("\n".join(out) + "\n")


def fig5_paper(layers, kind):
    if kind == "flip0":
        return "≤ 0.8 at 0.5"
    if layers == "op" and kind in ("tf32", "bf16", "zero"):
        return "/".join(str(v) for v in PAPER_FIG5_TRUNC_OP) + " (the paper's tf32 = bf16)"
    return ""


def pivot(rows, layer_list, kinds, paper_of):
    """One table per kind: a row per layer group, a column per FR_max (points lost, mean ± std)."""
    lines = ["Points of top-1 accuracy lost (mean ± std over devices and draws) with only that layer (group) faulty.", ""]
    for kind in kinds:
        frs = sorted({fr for (layers, k, fr) in rows if k == kind})
        if not frs:
            continue
        lines += [f"**{kind}**", "", "| layer | " + " | ".join(f"{fr:g}" for fr in frs) + " | paper |",
                  "|---" * (len(frs) + 2) + "|"]
        for layers in layer_list:
            cells = []
            for fr in frs:
                r = rows.get((layers, kind, fr))
                cells.append(f"{float(r['degradation_points']):.2f} ± {float(r['degradation_std_points']):.2f}" if r else "—")
            lines.append(f"| {layers} | " + " | ".join(cells) + f" | {paper_of(layers, kind)} |")
        lines.append("")
    return lines


def headline(out, mnist, fashion):
    """One table: each figure's key numbers, ours beside the paper's."""
    rows = []

    def points(rows_, layers, kind, fr):
        r = rows_.get((layers, kind, fr)) if rows_ else None
        return f"{float(r['degradation_points']):.1f}" if r else "—"

    if mnist:
        for layers in ("c0", "h2", "op"):
            ours = "/".join(points(mnist, layers, "flip1", fr) for fr in (1e-3, 2e-3, 5e-3))
            rows.append(("4", f"mnist32 {layers}, flip1, points lost at 1e-3/2e-3/5e-3", ours,
                         "/".join(str(v) for v in PAPER_FIG4[layers])))
        for kind in ("zero", "tf32", "bf16"):
            ours = "/".join(points(mnist, "op", kind, fr) for fr in (0.1, 0.2, 0.5))
            rows.append(("5", f"mnist32 op, {kind}, points lost at 0.1/0.2/0.5", ours,
                         "/".join(str(v) for v in PAPER_FIG5_TRUNC_OP) + " (its tf32 = bf16)"))
        ours = max((float(r["degradation_points"]) for (l, k, fr), r in mnist.items() if k == "flip0" and fr == 0.5 and "+" not in l),
                   default=float("nan"))
        rows.append(("5", "mnist32, flip0 at 0.5, most points lost by a single layer", f"{ours:.1f}", "≤ 0.8"))
    if fashion:
        for layers in ("c0", "c1", "c0+c1"):
            rows.append(("6", f"fashion {layers}, bitflip 0.5, points lost", points(fashion, layers, "bitflip", 0.5),
                         f"{PAPER_FIG6[layers]}"))
    for fig, groups in (("7", read_plans(out, "fig7")), ("8", read_plans(out, "fig8")), ("9", read_plans(out, "fig9"))):
        for (model, layers, kind, fr), plans in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][2], float(kv[0][3]))):
            if fig == "8" and not (fr == "0.5"):
                continue
            _, _, _, hf, hp, hshare = recovery_row(plans, "held_out")
            clean, _, _, f, p, share = recovery_row(plans, "fitness")
            if fig == "7":
                pf, pp = PAPER_FIG7[(kind, fr)]
                ours = f"{f:.1f} → {p:.1f} ({share * 100:.0f}%); held out {hf:.1f} → {hp:.1f} ({hshare * 100:.0f}%)"
                paper = f"{pf} → {pp} ({(pp - pf) / (99.2 - pf) * 100:.0f}%)"
                rows.append(("7", f"mnist32 c0, {kind} {fr}, faulty → planned (share won back), paper split", ours, paper))
            else:
                table = PAPER_FIG8 if fig == "8" else PAPER_FIG9
                paper = f"+{table[layers]}" if layers in table and (fig == "8" or kind == "bitflip") else ""
                if fig == "8" and kind != "zero":
                    paper = paper + " (its tf32/bf16)" if paper else ""
                rows.append((fig, f"{'mnist32' if fig == '8' else 'fashion'} {layers}, {kind} {fr}, points won back (paper split; held out)",
                             f"{p - f:+.1f}; {hp - hf:+.1f} (faulty {f:.1f})", paper))
    if not rows:
        return []
    lines = ["## Headline numbers", "", "| fig. | what | ours | paper |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return lines + [""]


def main():
    out = sys.argv[1]
    info = read_run(out)
    mode = info.get("mode", "?")
    label = " (quick mode: fewer images, devices, draws and generations)" if mode == "quick" else ""
    md = [f"# Reproduction of the paper's experiments{label}", "",
          "Generated by `Tools/scripts/results.py` from the outputs of `Tools/scripts/reproduce.sh"
          + (" --quick" if mode == "quick" else "") + (" --calibrated" if info.get("calibrated") == "1" else "") + "`.", ""]
    md += [f"- {k}: {info[k]}" for k in ("started", "cpu", "cores", "load_at_start", "mnist32_model", "fashion_model",
                                         "threads", "sensitivity", "recovery") if k in info]
    if info.get("wall_seconds") is not None:
        md.append(f"- wall time (all invocations): {info['wall_seconds']} s ({info['wall_seconds'] / 60:.1f} min); "
                  f"each: {'; '.join(info['invocations'])}")
    md.append("")

    # Figs. 4-6.
    mnist = read_summary(out, "mnist32-cnn")
    calibrated = read_summary(out, "mnist32-cnn-c0x2")
    fashion = read_summary(out, "fashion-cnn")
    md += headline(out, mnist, fashion)

    def lost(rows, layers, kind, fr):
        r = rows.get((layers, kind, fr)) if rows else None
        return f"{float(r['degradation_points']):.2f} ± {float(r['degradation_std_points']):.2f}" if r else "—"

    if mnist:
        md += ["## Fig. 4: mnist32-cnn, flip1, points lost per layer", "",
               "Points of top-1 accuracy lost (mean ± std over devices and draws) with only that layer faulty.", "",
               "| layer | 1e-3 | 2e-3 | 5e-3 | paper |", "|---|---|---|---|---|"]
        for layers in ["c0", "h0", "h1", "h2", "op", "h2+op"]:
            paper = "/".join(f"{v}" for v in PAPER_FIG4[layers]) if layers in PAPER_FIG4 else ""
            md.append(f"| {layers} | " + " | ".join(lost(mnist, layers, "flip1", f) for f in (1e-3, 2e-3, 5e-3)) + f" | {paper} |")
        if calibrated:
            md.append("| c0, calibrated ×2 | " + " | ".join(lost(calibrated, "c0", "flip1", f) for f in (1e-3, 2e-3, 5e-3))
                      + f" | {'/'.join(str(v) for v in PAPER_FIG4['c0'])} |")
        md += ["", "Degradation curves: `sensitivity/mnist32-cnn/sensitivity.svg`.", "",
               "## Fig. 5: mnist32-cnn, the other kinds", ""]
        md += pivot(mnist, ["c0", "h0", "h1", "h2", "op", "h2+op"], ["flip0", "bitflip", "tf32", "bf16", "zero"], fig5_paper)
    if fashion:
        md += ["## Fig. 6: fashion-cnn, points lost per layer", ""]
        md += pivot(fashion, ["c0", "c1", "h0", "op", "c0+c1"], ["bitflip", "flip1", "flip0", "tf32", "bf16", "zero"],
                    lambda layers, kind: f"{PAPER_FIG6[layers]} at 0.5" if kind == "bitflip" and layers in PAPER_FIG6 else "")
        md += ["Degradation curves: `sensitivity/fashion-cnn/sensitivity.svg`.", ""]

    # Figs. 7-9.
    def recovery_table(fig, title, paper_of, note):
        groups = read_plans(out, fig)
        if not groups:
            return []
        lines = [f"## {title}", "", note, "",
                 "| model | layers | kind | FR_max | devices | split | clean | faulty | planned | won back (points) | share won back | paper |",
                 "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        bars = []
        for (model, layers, kind, fr), plans in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][2], float(kv[0][3]))):
            for split, split_name in (("held_out", "held out"), ("fitness", "paper split")):
                clean, faulty, planned, f, p, share = recovery_row(plans, split)
                share_text = f"{share * 100:.0f}%" if not math.isnan(share) and clean - f >= 0.5 else "—"
                paper = paper_of(layers, kind, fr) if split == "fitness" else ""
                lines.append(f"| {model} | {layers} | {kind} | {fr} | {len(plans)} | {split_name} ({plans[0]['accuracy'][split]['images']}) "
                             f"| {clean:.2f} | {pm(faulty)} | {pm(planned)} | {p - f:+.2f} | {share_text} | {paper} |")
                if split == "held_out":
                    bars.append((f"{layers} {kind} {fr}", [("clean", clean, 0), ("faulty", f, stats(faulty)[1] * 100),
                                                         ("planned", p, stats(planned)[1] * 100)]))
        svg_bars(os.path.join(out, f"{fig}.svg"), f"{title} (held out)", bars)
        lines += ["", f"![{fig}]({fig}.svg)", ""]
        return lines

    def fig7_paper(layers, kind, fr):
        if (kind, fr) in PAPER_FIG7:
            f, p = PAPER_FIG7[(kind, fr)]
            return f"99.2 / {f} → {p} ({(p - f) / (99.2 - f) * 100:.0f}%)"
        return ""

    md += recovery_table("fig7", "Fig. 7: mnist32-cnn c0, flip1 and bitflip", fig7_paper,
                         "Top-1 accuracy (%) clean / on the faulty device / with the plan; mean ± std over devices and "
                         "draws. Share won back = (planned − faulty) / (clean − faulty), shown where the loss is ≥ 0.5 points. "
                         "The paper's column: clean / faulty → planned on its split (share won back).")
    md += recovery_table("fig8", "Fig. 8: mnist32-cnn h2, op, h2+op under tf32, bf16 and zero",
                         lambda layers, kind, fr: f"+{PAPER_FIG8[layers]} (tf32 = bf16)" if layers in PAPER_FIG8 and kind != "zero" and fr == "0.5"
                         else (f"+{PAPER_FIG8[layers]} (the paper's tf32/bf16)" if layers in PAPER_FIG8 and kind == "zero" and fr == "0.5" else ""),
                         "`tf32`/`bf16` are the spec's mantissa truncations; `zero` is what the paper's reference code computes "
                         "for them on CPU (docs/fault-profile.md). The paper's points won back are shown beside FR_max 0.5.")
    md += recovery_table("fig9", "Fig. 9: fashion-cnn c0, c1, c0+c1 at FR_max 0.5",
                         lambda layers, kind, fr: f"+{PAPER_FIG9[layers]}" if layers in PAPER_FIG9 and kind == "bitflip" else "",
                         "The paper's points won back are for bitflip.")

    # Fig. 10.
    curves = []
    for path in sorted(glob.glob(os.path.join(out, "recovery", "fig10_*.convergence.csv"))):
        name = " ".join(os.path.basename(path)[6:-len(".convergence.csv")].split("_"))
        rows = list(csv.DictReader(open(path)))
        curves.append((name, [(int(r.get("generation") or r["step"]), float(r["best_fitness"])) for r in rows]))
    if curves:
        svg_curves(os.path.join(out, "fig10.svg"), "Fig. 10: GA best fitness per generation", curves)
        md += ["## Fig. 10: GA convergence", "",
               "The paper's GA alone (random initial population), best fitness (mean accuracy over the fitness draws) "
               "per generation; the CSVs are beside the plans in `recovery/`.", "",
               "| setting | generation 0 | last generation | generations |", "|---|---|---|---|"]
        for name, c in curves:
            md.append(f"| {name} | {c[0][1] * 100:.2f} | {c[-1][1] * 100:.2f} | {c[-1][0]} |")
        md += ["", "![fig10](fig10.svg)", ""]

    open(os.path.join(out, "RESULTS.md"), "w").write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
