#!/usr/bin/env python3
"""Writes random-weight bundles with the spec's two architectures (HAS-SPEC §4).

Timing does not depend on weight values, so until trained models are shipped
in Models/ the inference benchmarks run these: HAS and ONNX Runtime load the
very same bundle.

    python3 Tools/bench/random_bundles.py OUT_DIR   # writes mnist32-cnn.zip, fashion-cnn.zip
"""
import sys
from pathlib import Path

import numpy as np

import bundle_to_onnx as b2o


def _manifest(name, shape, resize, layers):
    return {
        "format": "has-bundle", "format_version": 1, "name": name,
        "input": {"shape": shape, "preprocessing": {"scale": 1 / 255, "offset": 0.0, "resize": resize}},
        "classes": [str(i) for i in range(10)], "layers": layers,
        "provenance": {"dataset": "random", "seed": 1, "notes": "random weights, benchmark only"},
    }


def _conv(name, padding):
    return {"type": "conv2d", "name": name, "weight": f"{name}.weight", "bias": f"{name}.bias",
            "stride": [1, 1], "padding": padding}


def _dense(name):
    return {"type": "dense", "name": name, "weight": f"{name}.weight", "bias": f"{name}.bias"}


POOL = {"type": "maxpool2d", "kernel": [2, 2], "stride": [2, 2]}
RELU = {"type": "relu"}


def mnist32():
    layers = [_conv("c0", [0, 0, 0, 0]), RELU, POOL, {"type": "flatten"}]
    shapes = {"c0.weight": (32, 1, 4, 4), "c0.bias": (32,)}
    for name, inn, out in [("h0", 6272, 1024), ("h1", 1024, 256), ("h2", 256, 64), ("op", 64, 10)]:
        layers += [_dense(name), {"type": "softmax"} if name == "op" else RELU]
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (out, inn), (out,)
    return _manifest("mnist32-cnn", [1, 32, 32], "bilinear", layers), shapes


def fashion():
    # "same" padding of a 4×4 kernel: 1 before, 2 after (TensorFlow's split).
    drop = {"type": "dropout", "rate": 0.3}
    layers = [_conv("c0", [1, 1, 2, 2]), RELU, POOL, drop, _conv("c1", [1, 1, 2, 2]), RELU, POOL,
              {"type": "flatten"}, drop, _dense("h0"), RELU, drop, _dense("op"), {"type": "softmax"}]
    shapes = {"c0.weight": (32, 1, 4, 4), "c0.bias": (32,), "c1.weight": (32, 32, 4, 4), "c1.bias": (32,),
              "h0.weight": (1024, 1568), "h0.bias": (1024,), "op.weight": (10, 1024), "op.bias": (10,)}
    return _manifest("fashion-cnn", [1, 28, 28], "none", layers), shapes


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for manifest, shapes in (mnist32(), fashion()):
        # He-like scale keeps activations finite and non-trivial through ReLUs.
        tensors = {k: (rng.standard_normal(s) * np.sqrt(2.0 / np.prod(s[1:]) if len(s) > 1 else 0.01)).astype(np.float32)
                   for k, s in shapes.items()}
        path = out / f"{manifest['name']}.zip"
        b2o.write_bundle(path, manifest, tensors)
        print(path)


if __name__ == "__main__":
    main()
