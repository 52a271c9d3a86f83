#!/usr/bin/env bash
# Fuzzes every parser: builds has-fuzz with libFuzzer and AddressSanitizer
# (.build-fuzz), writes the seed corpus (has-fuzz seeds: valid files made by
# the project's own writers), then runs each target for a bounded time.
# Any crash, sanitizer report, hang (--timeout), unclear or multi-line error
# stops the run with a non-zero exit; the input is kept in --out.
#
#   bash Tools/scripts/fuzz.sh [--seconds N] [--targets a,b,…] [--out DIR] [--build-dir DIR] [--no-build]
#
# The test command runs it with --seconds 30 (CI); docs/design.md ("Trust
# model") records the long runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=30 targets="" out="" build=1 timeout=20 scratch=.build-fuzz
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --targets) targets="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --build-dir) scratch="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        *) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
own_out=0
[ -n "$out" ] || { out=$(mktemp -d); own_out=1; }
mkdir -p "$out"
# lld: gold cannot link libFuzzer's main with SwiftPM's renamed entry point.
flags=(-c release --scratch-path "$scratch" --product has-fuzz
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
       -Xcc -fsanitize=fuzzer-no-link,address -Xcc -DHAS_LIBFUZZER)
[ "$build" = 1 ] && swift build "${flags[@]}"
fuzz="$scratch/release/has-fuzz"
rm -rf "$out/seeds" && "$fuzz" seeds "$out/seeds"
[ -n "$targets" ] || targets=$(ls "$out/seeds" | paste -sd, -)
# No Swift backtracer: under ASan it reports its own reads of the crashed stack.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 SWIFT_BACKTRACE=enable=no
status=0
for target in ${targets//,/ }; do
    corpus="$out/corpus/$target"
    mkdir -p "$corpus"
    log="$out/$target.log"
    # New interesting inputs go to the first folder; the seeds stay untouched.
    if "$fuzz" run "$target" "$corpus" "$out/seeds/$target" -max_total_time="$seconds" -timeout="$timeout" \
        -rss_limit_mb=4096 -malloc_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$out/$target-" >"$log" 2>&1; then
        runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
        echo "fuzz $target: ${seconds} s, $runs inputs, corpus $(ls "$corpus" | wc -l) files, no finding"
    else
        echo "fuzz $target: FINDING (log $log, input $out/$target-*)" >&2
        grep -E "ERROR|fatal|Fatal|SUMMARY|has-fuzz" "$log" | head -5 >&2
        status=1
    fi
done
# A temporary folder goes when nothing was found; findings stay for a look.
[ "$status" = 0 ] && [ "$own_out" = 1 ] && rm -rf "$out"
exit $status
