#!/usr/bin/env bash
# Every benchmark of BENCHMARKS.md ("Runtime (issue 2)") in one run; prints
# markdown. HAS and its peer alternate round by round (Tools/bench/compare.py),
# so both see the same machine state; medians over rounds.
#
#   Tools/bench/run-all.sh            # ROUNDS=5 THREADS=2 by default
#   ROUNDS=7 Tools/bench/run-all.sh
#
# Needs python3 with numpy, onnx, onnxruntime (pip). Models: Models/NAME.zip
# when present, otherwise random-weight bundles of the same architectures
# (Tools/bench/random_bundles.py; timing does not depend on weight values).
# SKIP_BUILD=1 uses the binaries already in .build/release.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-5}
threads=${THREADS:-2}
mnist=../shared/datasets/mnist
fashion=/usr/share/datasets/fashion-mnist
[ -n "${SKIP_BUILD:-}" ] || swift build -c release >/dev/null

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 Tools/bench/random_bundles.py "$tmp" >/dev/null
model() {
    if [ -f "Models/$1.zip" ]; then echo "Models/$1.zip"; else echo "$tmp/$1.zip"; fi
}
describe() {
    if [ -f "Models/$1.zip" ]; then echo "$1: Models/$1.zip (trained)"; else echo "$1: random weights (Tools/bench/random_bundles.py)"; fi
}

echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "Models: $(describe mnist32-cnn); $(describe fashion-cnn)"
echo
echo "### GEMM: permuted tiled SGEMM vs OpenBLAS ($threads threads, $rounds rounds)"
echo
python3 Tools/bench/compare.py gemm --rounds "$rounds" --threads "$threads" --dense-layout
echo
echo "### Clean inference: has-run's forward pass vs ONNX Runtime ($threads threads, $rounds rounds)"
echo
python3 Tools/bench/compare.py inference --model "$(model mnist32-cnn)" --images $mnist/t10k-images-idx3-ubyte.gz \
    --rounds "$rounds" --threads "$threads"
python3 Tools/bench/compare.py inference --model "$(model fashion-cnn)" --images $fashion/t10k-images-idx3-ubyte.gz \
    --rounds "$rounds" --threads "$threads" | tail -n +3
echo
echo "### Bundle load and has-run peak memory"
echo
for m in mnist32-cnn fashion-cnn; do .build/release/has-bench load --model "$(model $m)"; done
/usr/bin/time -f "has-run mnist32-cnn, 10k MNIST test images: %e s wall, peak RSS %M KB" \
    .build/release/has-run --model "$(model mnist32-cnn)" --images $mnist/t10k-images-idx3-ubyte.gz \
    --labels $mnist/t10k-labels-idx1-ubyte.gz --json
echo
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
