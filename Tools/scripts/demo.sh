#!/usr/bin/env bash
# The main job of README.md on its embedded default: the shipped mnist32-cnn on
# a reference faulty device (Plans/profiles/flip1-fr5e-3-seed1.json, the paper's
# hardest Fig. 7 setting: c0 on PEs with flip-to-1 rates up to 5e-3), on the
# held-out MNIST test images 0–5119: clean vs faulty vs with the shipped plan.
# Extra arguments go to has-run (e.g. --limit 10000, --faulty-layers c0,h2).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash Tools/scripts/install-deps.sh
data="${HAS_DATASETS:-../shared/datasets}/mnist"
for f in t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz; do
    [ -f "$data/$f" ] || { echo "demo.sh: $data/$f is missing (MNIST ships in ../shared/datasets/mnist; or set HAS_DATASETS)" >&2; exit 1; }
done
swift build -c release --product has-run
.build/release/has-run --model Models/mnist32-cnn.zip \
    --images "$data/t10k-images-idx3-ubyte.gz" --labels "$data/t10k-labels-idx1-ubyte.gz" --limit 5120 \
    --device Plans/profiles/flip1-fr5e-3-seed1.json --faulty-layers c0 --compare --show 3 "$@"
