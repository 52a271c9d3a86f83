#!/usr/bin/env python3
"""How recoverable are a model's c0 flip1/bitflip faults by a row permutation?

flip1/bitflip on exponent bits 0-6 only blow up partial products >= 2 in
magnitude (docs/training.md). For each test image and c0 kernel this counts
the pooled positions (maxpool 2x2 keeps rows/cols 0..27 of 29) whose partial
product is >= 2 (a blown-up negative one only zeroes that output after
ReLU), then, for each fault profile, the expected number of blown-up partial
products per image: unshuffled (kernel r on thread r of block 0) and
with kernels sorted against the rates (the rearrangement optimum of that
count). c0 of mnist32-cnn is one row block and one K tile, so it runs on
block 0 only. An estimate (bilinear resize re-implemented here; every
blow-up counted, though bits 0-2 only multiply by 2-16), not a substitute
for has-run; it needs numpy.

    python3 Tools/bench/c0_exposure.py --model Models/mnist32-cnn.zip \
        --images ../shared/datasets/mnist/t10k-images-idx3-ubyte.gz \
        --profiles dev1.json dev2.json --scales 1 2
"""
import argparse, gzip, json, zipfile
import numpy as np


def load_images(path):
    data = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    n, h, w = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(data, np.uint8, n * h * w, 16).reshape(n, h, w).astype(np.float32) / 255


def resize(x, size):
    """Bilinear, half-pixel centres, edge-clamped."""
    n = x.shape[1]
    c = np.clip((np.arange(size) + 0.5) * n / size - 0.5, 0, n - 1)
    i0 = np.floor(c).astype(int); i1 = np.minimum(i0 + 1, n - 1); f = (c - i0).astype(np.float32)
    y = x[:, i0, :] * (1 - f)[None, :, None] + x[:, i1, :] * f[None, :, None]
    return y[:, :, i0] * (1 - f)[None, None, :] + y[:, :, i1] * f[None, None, :]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--profiles", nargs="+", required=True)
    ap.add_argument("--scales", nargs="+", type=float, default=[1.0],
                    help="extra factors on c0 to try (1 = the bundle as it is)")
    a = ap.parse_args()
    bundle = np.load(a.model)
    w = bundle["c0.weight"]
    rows, k = w.shape[0], int(np.prod(w.shape[1:]))
    shape = json.loads(zipfile.ZipFile(a.model).read("manifest.json"))["input"]["shape"]
    x = load_images(a.images)
    x = resize(x, shape[-1]) if x.shape[-1] != shape[-1] else x
    kh, kw = w.shape[2], w.shape[3]
    patches = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    out = patches.shape[1]
    kept = out // 2 * 2
    p = patches[:, :kept, :kept].reshape(len(x), kept * kept, k) @ w.reshape(rows, k).T
    for scale in a.scales:
        counts = (p * scale >= 2).sum(1).astype(np.float64)   # images x kernels
        mean = counts.mean(0)
        print(f"scale x{scale:g}: dangerous pooled positions per image {mean.sum():.1f}; "
              f"kernels with >= 1 per image on average: {(mean >= 1).sum()} of {rows}")
        for path in a.profiles:
            rates = np.array(json.load(open(path))["rates"])[0][:rows]
            best = np.empty(rows); best[np.argsort(-mean)] = np.sort(rates)
            lam0, lam1 = (counts * rates).sum(1).mean(), (counts * best).sum(1).mean()
            print(f"  {path}: expected blow-ups per image unshuffled {lam0:.3f}, sorted {lam1:.3f} "
                  f"({100 * (1 - lam1 / lam0):.0f}% fewer)" if lam0 > 0 else f"  {path}: none")


if __name__ == "__main__":
    main()
