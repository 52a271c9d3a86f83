#!/usr/bin/env bash
# The test command of README.md: installs what is missing, runs every test in
# release mode (the numeric tests are ~50x slower in debug builds), then the
# paper's experiments end to end in quick mode (Tools/scripts/reproduce.sh
# --quick, ~6 minutes on 2 cores) checked by Tools/scripts/check-results.py.
# HAS_SKIP_REPRODUCE=1 skips that last step.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash Tools/scripts/install-deps.sh
swift test -c release -Xswiftc -enable-testing --disable-swift-testing "$@"
if [ "${HAS_SKIP_REPRODUCE:-0}" != 1 ] && [ $# -eq 0 ]; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    # The tools swift test just built (release, with -enable-testing) run the experiments.
    bash Tools/scripts/reproduce.sh --quick --no-build --out "$out/quick"
    python3 Tools/scripts/check-results.py "$out/quick"
fi
