#!/usr/bin/env bash
# The test command of README.md: installs what is missing, runs every test in
# release mode (the numeric tests are ~50x slower in debug builds), then the
# paper's experiments end to end in quick mode (Tools/scripts/reproduce.sh
# --quick, ~6 minutes on 2 cores) checked by Tools/scripts/check-results.py.
# Then the parser and hardening tests and the fault kernels' tests once more
# under AddressSanitizer (.build-asan), and every parser's fuzz target for 30 s (Tools/scripts/fuzz.sh,
# libFuzzer + ASan, .build-fuzz). HAS_SKIP_REPRODUCE=1 / HAS_SKIP_ASAN=1 /
# HAS_SKIP_FUZZ=1 skip those steps.
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
if [ "${HAS_SKIP_ASAN:-0}" != 1 ] && [ $# -eq 0 ]; then
    # Every reader of untrusted bytes (bundles, IDX, PNG, NPY, profiles, plans, checkpoints,
    # CSV), and the fault simulator's C kernels (every instruction-set variant, on groups
    # of images that fill the vectors partly, also through the sensitivity sweep). The two tests that cap the child's address
    # space cannot run under ASan (its shadow memory needs terabytes of address space) and
    # are skipped here only.
    asan=(-c release --build-path .build-asan -Xswiftc -sanitize=address -Xcc -fsanitize=address -Xswiftc -enable-testing)
    swift build "${asan[@]}" --build-tests
    ASAN_OPTIONS=detect_leaks=0 swift test "${asan[@]}" --disable-swift-testing --skip-build \
        --filter "HardeningTests|BundleTests|DataTests|PNG|NPY|IDX|FaultProfileTests|SchedulePlanTests|CanonicalRate|CSV|Checkpoint|SlotLanesTests|StrategyMatrixTests|SlotPathTests|ScaledAddTests|SweepEvaluatorTests" \
        --skip "testMemoryCapStopsAnAllocationOverIt|testRealZipBomb"
fi
if [ "${HAS_SKIP_FUZZ:-0}" != 1 ] && [ $# -eq 0 ]; then
    bash Tools/scripts/fuzz.sh --seconds "${HAS_FUZZ_SECONDS:-30}"
fi
