#!/usr/bin/env bash
# Diagnoses synthetic devices of every kind at the paper's FR_max values (two
# devices each, seeds 1 and 2) and a fault-free one, and prints one Markdown
# row per device: kind found, coverage of the true rates by the 95% intervals,
# mean relative error over PEs with p >= 1e-3, GEMMs, products, wall time.
# Usage: bash Tools/bench/diagnosis_sweep.sh [extra has-diagnose options]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=.build/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| kind | FR_max | seed | kind found | PEs inside 95% interval | mean rel. error (p ≥ 1e-3) | GEMMs | products | wall s |"
echo "|---|---|---|---|---|---|---|---|---|"
for spec in flip1:1e-3 flip1:2e-3 flip1:5e-3 bitflip:1e-3 bitflip:2e-3 bitflip:5e-3 bitflip:0.5 \
            flip0:0.1 flip0:0.2 flip0:0.5 tf32:0.1 tf32:0.2 tf32:0.5 bf16:0.1 bf16:0.2 bf16:0.5 flip1:0; do
    kind=${spec%:*}; fr=${spec#*:}
    for seed in 1 2; do
        "$bin/has-diagnose" synth --kind "$kind" --fr-max "$fr" --seed "$seed" --out "$work/true.json" > /dev/null
        start=$(date +%s.%N)
        out=$("$bin/has-diagnose" --device "$work/true.json" --out "$work/diag.json" --truth "$work/true.json" \
              --seed "$seed" --report "$work/report" "$@")
        wall=$(python3 -c "import time; print(f'{time.time() - $start:.2f}')")
        python3 - "$kind" "$fr" "$seed" "$wall" "$work" <<'PY'
import json, sys
kind, fr, seed, wall, work = sys.argv[1:]
d = json.load(open(f"{work}/diag.json"))
a = json.load(open(f"{work}/report/accuracy.json"))
o = d["origin"]
found = o["identified_kind"]
truth = "none" if float(fr) == 0 else kind
right = "✓" if found == truth else "✗"
mre = a.get("meanRelativeError")
mre = f"{100 * mre:.2f}%" if mre is not None else "—"
products = sum(map(sum, o["samples"]))
print(f"| {kind} | {fr} | {seed} | {found} {right} | {100 * a['coverage']:.1f}% | {mre} | {o['gemms']} | {products:.3g} | {wall} |")
PY
    done
done
