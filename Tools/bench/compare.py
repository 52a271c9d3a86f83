#!/usr/bin/env python3
"""Side-by-side benchmarks: HAS against its peers, alternating in one run.

Each round runs our benchmark and the peer's back to back, so both see the
same machine state; the report gives per-round medians and their ratio.

    python3 Tools/bench/compare.py gemm --rounds 5
    python3 Tools/bench/compare.py inference --model Models/mnist32-cnn.zip \
        --images ../shared/datasets/mnist/t10k-images-idx3-ubyte.gz --rounds 5

Prints a markdown table (paste into BENCHMARKS.md) and, with --json, the raw
rows. Build first: swift build -c release --product has-bench.
"""
import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HAS_BENCH = ROOT / ".build" / "release" / "has-bench"
BENCH = ROOT / "Tools" / "bench"


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def gemm(args):
    start_load = load_average()
    shapes = args.shapes
    ours, peer = {}, {}
    for _ in range(args.rounds):
        for layout in ([False, True] if args.dense_layout else [False]):
            flag = ["--dense-layout"] if layout else []
            for row in run_json([str(HAS_BENCH), "gemm", "--shapes", shapes, "--runs", str(args.runs),
                                 "--threads", str(args.threads), "--json", "--permuted"] + flag):
                ours.setdefault((row["shape"], layout), []).append(row["gflops"])
            for row in run_json([sys.executable, str(BENCH / "openblas_gemm.py"), "--shapes", shapes,
                                 "--runs", str(args.runs), "--threads", str(args.threads), "--json"] + flag):
                peer.setdefault((row["shape"], layout), []).append(row["gflops"])
    print(f"| shape M×K×N | layout | HAS permuted GFLOP/s | OpenBLAS GFLOP/s | ratio |")
    print(f"|---|---|---|---|---|")
    for key in ours:
        a, b = statistics.median(ours[key]), statistics.median(peer[key])
        print(f"| {key[0]} | {'dense (Xᵀ)' if key[1] else 'row-major'} | {a:.1f} | {b:.1f} | {a / b:.2f}× |")
    print(f"\n{args.rounds} alternating rounds × {args.runs} runs, {args.threads} threads; "
          f"load average {start_load} before, {load_average()} after.")
    return {"ours": {f"{k[0]}/{k[1]}": v for k, v in ours.items()}, "peer": {f"{k[0]}/{k[1]}": v for k, v in peer.items()}}


def inference(args):
    start_load = load_average()
    ours, peer = {}, {}
    batches = args.batches.split(",")
    for _ in range(args.rounds):
        for row in run_json([str(HAS_BENCH), "inference", "--model", args.model, "--images-file", args.images,
                             "--batches", args.batches, "--images", str(args.limit), "--runs", str(args.runs),
                             "--threads", str(args.threads), "--json"]):
            ours.setdefault(row["batch"], []).append(row["images_per_second"])
        for row in run_json([sys.executable, str(BENCH / "ort_bench.py"), "--bundle", args.model, "--images", args.images,
                             "--batch", *batches, "--limit", str(args.limit), "--runs", str(args.runs),
                             "--threads", str(args.threads), "--json"]):
            peer.setdefault(row["batch"], []).append(row["images_per_second"])
    name = Path(args.model).stem
    print(f"| model | batch | HAS images/s | ONNX Runtime images/s | ratio |")
    print(f"|---|---|---|---|---|")
    for batch in ours:
        a, b = statistics.median(ours[batch]), statistics.median(peer[batch])
        print(f"| {name} | {batch} | {a:.0f} | {b:.0f} | {a / b:.2f}× |")
    print(f"\n{args.rounds} alternating rounds × {args.runs} passes over {args.limit} images (batch 1: 512 for HAS), "
          f"{args.threads} threads; load average {start_load} before, {load_average()} after.")
    return {"ours": ours, "peer": peer}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    g = sub.add_parser("gemm")
    g.add_argument("--shapes", default="32x16x53824,1024x6272x256,256x1024x256,64x256x256,10x64x256,32x512x12544,1024x1568x256")
    g.add_argument("--dense-layout", action="store_true", help="also time the dense-layer layout (B = Xᵀ)")
    i = sub.add_parser("inference")
    i.add_argument("--model", required=True)
    i.add_argument("--images", required=True)
    i.add_argument("--batches", default="1,256")
    i.add_argument("--limit", type=int, default=2048, help="images per timed pass")
    for q in (g, i):
        q.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians over rounds")
        q.add_argument("--runs", type=int, default=3, help="timed runs inside each tool per round")
        q.add_argument("--threads", type=int, default=2)
        q.add_argument("--json", action="store_true")
    args = p.parse_args()
    raw = gemm(args) if args.what == "gemm" else inference(args)
    if args.json:
        print(json.dumps(raw))


if __name__ == "__main__":
    main()
