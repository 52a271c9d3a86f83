#!/usr/bin/env python3
"""Alternating rounds of has-run for two (or more) binaries, for speed ratios that
stay fair on a noisy machine: each round runs every binary once, in turn, on the
same arguments; has-run's own "speed N images/s faulty, M clean" line is parsed.
Prints each round and the medians (faulty, clean, faulty/clean), and with two
binaries the median of the per-round new/old faulty-speed ratios.

usage: has_run_rounds.py ROUNDS LABEL=BINARY LABEL=BINARY [VAR=VALUE ...] -- has-run arguments
  e.g. has_run_rounds.py 5 old=/tmp/old/has-run new=.build/release/has-run HAS_KERNEL_ISA=avx2 -- \\
           --model Models/fashion-cnn.zip --limit 2000 --device Plans/profiles/bitflip-fr0.5-seed1.json ...
VAR=VALUE pairs (upper-case names) go to the environment of every run.
"""
import os
import re
import statistics
import subprocess
import sys


def main():
    if len(sys.argv) < 4 or '--' not in sys.argv:
        sys.exit(__doc__)
    rounds = int(sys.argv[1])
    split = sys.argv.index('--')
    settings = sys.argv[2:split]
    env = dict(os.environ)
    binaries = []
    for item in settings:
        name, _, value = item.partition('=')
        if re.fullmatch(r'[A-Z_][A-Z0-9_]*', name):
            env[name] = value
        else:
            binaries.append((name, value))
    args = sys.argv[split + 1:]
    results = {label: [] for label, _ in binaries}
    for r in range(rounds):
        for label, binary in binaries:
            run = subprocess.run([binary] + args, capture_output=True, text=True, env=env)
            m = re.search(r'speed (\d+) images/s faulty, (\d+) clean', run.stdout)
            if not m:
                sys.exit(f'{label}: no speed line (exit {run.returncode}): {run.stderr.strip()[:300]}')
            acc = re.search(r'accuracy ([\d.]+)%', run.stdout)
            faulty, clean = int(m.group(1)), int(m.group(2))
            results[label].append((faulty, clean))
            print(f'round {r + 1} {label}: faulty {faulty} clean {clean} ratio {faulty / clean:.3f}'
                  f' accuracy {acc.group(1) if acc else "?"}%', flush=True)
    for label, runs in results.items():
        print(f'MEDIAN {label}: faulty {statistics.median(f for f, _ in runs):.0f} '
              f'clean {statistics.median(c for _, c in runs):.0f} '
              f'ratio {statistics.median(f / c for f, c in runs):.3f}')
    if len(binaries) == 2:
        (a, _), (b, _) = binaries
        ratio = statistics.median(results[b][k][0] / results[a][k][0] for k in range(rounds))
        print(f'{b}/{a} faulty speed: {ratio:.2f}x')


if __name__ == '__main__':
    main()
