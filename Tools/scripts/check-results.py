#!/usr/bin/env python3
"""End-to-end check of a reproduce.sh run (the test command runs `--quick`):
every experiment produced its files, and the outcomes the paper's method
promises hold.

    python3 Tools/scripts/check-results.py DIR

Checks: both sensitivity sweeps wrote summaries; every recovery setting of
Figs. 7-10 has its plan and result; no plan makes its fitness images worse
than unplanned (beyond 0.5 points); on Fig. 7, where the device costs ≥ 2
points, the plan wins back at least half of the loss on the fitness images;
mnist32 c0 is the most flip1-sensitive layer at FR_max 5e-3. Exit 1 with
one line per failure.
"""
import csv
import glob
import json
import os
import sys


def main():
    out = sys.argv[1]
    failures = []
    for name in ("mnist32-cnn", "fashion-cnn"):
        if not os.path.exists(os.path.join(out, "sensitivity", name, "summary.csv")):
            failures.append(f"sensitivity/{name}/summary.csv missing")
    summary = os.path.join(out, "sensitivity", "mnist32-cnn", "summary.csv")
    if os.path.exists(summary):
        lost = {r["layers"]: float(r["degradation_points"]) for r in csv.DictReader(open(summary))
                if r["kind"] == "flip1" and float(r["fr_max"]) == 0.005 and "+" not in r["layers"]}
        if max(lost, key=lost.get) != "c0":
            failures.append(f"mnist32 flip1 5e-3: the most sensitive layer is not c0: {lost}")
    expected = {"fig7": 6, "fig8": 27, "fig9": 6, "fig10": 2}
    for fig, per_device in expected.items():
        results = glob.glob(os.path.join(out, "recovery", f"{fig}_*.result.json"))
        if len(results) < per_device:
            failures.append(f"{fig}: {len(results)} results, expected at least {per_device}")
        for path in results:
            plan = json.load(open(path[:-len(".result.json")] + ".json"))
            acc = plan["accuracy"]["fitness"]
            clean, faulty, planned = acc["clean"], acc["faulty"]["mean"], acc["planned"]["mean"]
            name = os.path.basename(path)
            if planned < faulty - 0.005:
                failures.append(f"{name}: planned {planned:.4f} below unplanned {faulty:.4f}")
            if fig == "fig7" and clean - faulty >= 0.02 and (planned - faulty) < 0.5 * (clean - faulty):
                failures.append(f"{name}: won back {planned - faulty:.4f} of {clean - faulty:.4f}")
    if not os.path.exists(os.path.join(out, "RESULTS.md")):
        failures.append("RESULTS.md missing")
    for f in failures:
        print(f"check-results: {out}: {f}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"check-results: {out}: every experiment present; plans never hurt; Fig. 7 wins back ≥ half; c0 most sensitive")


if __name__ == "__main__":
    main()
