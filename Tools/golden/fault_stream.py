#!/usr/bin/env python3
"""Golden vectors of the fault simulator's random stream, written from the text
of docs/fault-profile.md ("Randomness", "Error kinds") and nothing else, so that
the Swift sampler and the tests' reference are checked against an independent
implementation. Plain Python 3, no dependencies.

    python3 Tools/golden/fault_stream.py > Tests/Fixtures/fault-stream-golden.json

64-bit values are written as hex strings (JSON numbers lose bits past 2^53).
"""
import json
import math

MASK64 = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15
SEED_KEY = 0xFA175EED00000001


def mix(z):
    """SplitMix64's finaliser."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


class Stream:
    """SplitMix64: next() adds the golden gamma to the state and mixes it."""

    def __init__(self, state):
        self.state = state & MASK64

    def next(self):
        self.state = (self.state + GAMMA) & MASK64
        return mix(self.state)


def fnv1a(name):
    h = 0xCBF29CE484222325
    for byte in name.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return h


def stream(seed, layer, image, pe):
    """The stream of one (seed, layer, image, PE): mix(mix(mix(mix(seed ^ c) ^ layer) ^ image) ^ pe)."""
    h = mix((seed ^ SEED_KEY) & MASK64)
    h = mix(h ^ fnv1a(layer))
    h = mix(h ^ (image & MASK64))
    h = mix(h ^ pe)
    return Stream(h)


def tiles_on_block(rows, depth, tile_k, blocks, threads, s):
    k_tiles = -(-depth // tile_k)
    total = -(-rows // threads) * k_tiles
    return (total - 1 - s) // blocks + 1 if total > s else 0


def position(j_tile, s, t, depth, tile_k, blocks, threads):
    """Row position r and K tile m of PE (s, t)'s j-th tile: q = s + j*B, (l, m) = divmod(q, kTiles)."""
    k_tiles = -(-depth // tile_k)
    q = s + j_tile * blocks
    l, m = divmod(q, k_tiles)
    return l * threads + t, m


def failures(seed, layer, image, s, t, rate, rows, depth, columns, tile_k, blocks, threads):
    """The failing (slot, draw) pairs of PE (s, t), in order, idle positions excluded."""
    out = []
    if rate <= 0 or columns == 0:
        return out, "never"
    rng = stream(seed, layer, image, s * threads + t)
    n_tiles = tiles_on_block(rows, depth, tile_k, blocks, threads, s)
    slots = n_tiles * columns
    if rate >= 1.0 / 16:
        # Slot by slot: 32 bits per slot (low half of a word first), idle tiles skipped.
        threshold = 1 << 32 if rate >= 1 else int(rate * 2.0 ** 64) >> 32
        left = None
        for j_tile in range(n_tiles):
            r, _ = position(j_tile, s, t, depth, tile_k, blocks, threads)
            if r >= rows:
                continue
            for n in range(columns):
                if left is None:
                    word = rng.next()
                    half, left = word & 0xFFFFFFFF, word >> 32
                else:
                    half, left = left, None
                if half < threshold:
                    out.append((j_tile * columns + n, rng.next()))
        return out, "always" if rate >= 1 else "slot-by-slot"
    # Geometric skipping: gap = floor(ln u * (1 / log1p(-p))), u = (53 bits + 1) / 2^53.
    inverse_log = 1.0 / math.log1p(-rate)
    j = -1
    while True:
        u = ((rng.next() >> 11) + 1) * 2.0 ** -53
        gap = math.log(u) * inverse_log
        if gap >= slots:
            break
        j += int(gap) + 1
        if j >= slots:
            break
        draw = rng.next()
        r, _ = position(j // columns, s, t, depth, tile_k, blocks, threads)
        if r < rows:
            out.append((j, draw))
    return out, "geometric"


def corrupt(kind, bits, draw, exponent_bits):
    count = 7 if exponent_bits == "0-6" else 8
    mask = 1 << (23 + (((draw >> 32) * count) >> 32))
    if kind == "flip0":
        return bits & ~mask & 0xFFFFFFFF
    if kind == "flip1":
        return bits | mask
    if kind == "bitflip":
        return bits ^ mask
    if kind == "tf32":
        return bits & ~0x1FFF & 0xFFFFFFFF
    if kind == "bf16":
        return bits & ~0xFFFF & 0xFFFFFFFF
    if kind == "zero":
        return 0
    raise ValueError(kind)


def hex64(v):
    return "0x%016x" % v


def main():
    golden = {"format": "has-fault-stream-golden", "version": 1,
              "generator": "Tools/golden/fault_stream.py", "splitmix": [], "layer_keys": [], "streams": [],
              "corruptions": []}
    for seed in (0, 1, 0xFA175EED00000001):
        rng = Stream(seed)
        golden["splitmix"].append({"seed": hex64(seed), "outputs": [hex64(rng.next()) for _ in range(4)]})
    for name in ("", "c0", "h0", "conv_1.weight"):
        golden["layer_keys"].append({"name": name, "key": hex64(fnv1a(name))})
    # (seed, layer, image, block, thread, rate, rows, depth, columns, tile_k, blocks, threads): geometric
    # and slot-by-slot rates on both sides of 1/16, p = 1, idle rows (M not a multiple of T), odd
    # columns (a word's high half carried into the next tile), several tiles per PE, the paper's shapes.
    cases = [
        (0, "c0", 0, 0, 0, 0.0, 20, 54, 49, 9, 3, 8),
        (1, "c0", 0, 0, 0, 0.01, 32, 16, 841, 16, 20, 32),
        (1, "c0", 7, 3, 5, 0.0624, 20, 54, 49, 9, 4, 8),
        (1, "c0", 7, 3, 5, 0.0625, 20, 54, 49, 9, 4, 8),
        (2, "c1", 123456, 1, 7, 0.3, 20, 54, 49, 9, 3, 8),
        (2, "c1", 5, 2, 3, 0.9, 20, 54, 7, 9, 3, 8),
        (3, "d0", 40, 0, 6, 1.0, 20, 70, 1, 32, 3, 8),
        (3, "d0", 41, 2, 4, 0.5, 20, 100, 1, 32, 3, 8),
        (3, "h0", 9, 11, 17, 0.004, 1024, 6272, 1, 32, 20, 32),
        (0xFA175EED00000001, "h0", 2, 19, 31, 0.2, 1024, 6272, 1, 32, 20, 32),
        (4, "c0", 3, 2, 6, 0.05, 21, 54, 49, 9, 4, 8),
        (4, "c0", 3, 1, 5, 0.7, 21, 54, 49, 9, 4, 8),
    ]
    for seed, layer, image, s, t, rate, rows, depth, columns, tile_k, blocks, threads in cases:
        assert s < blocks and t < threads
        found, mode = failures(seed, layer, image, s, t, rate, rows, depth, columns, tile_k, blocks, threads)
        golden["streams"].append({
            "seed": hex64(seed), "layer": layer, "image": image, "block": s, "thread": t, "rate": rate,
            "map": {"rows": rows, "depth": depth, "columns": columns, "tile_k": tile_k, "blocks": blocks,
                    "threads": threads},
            "mode": mode, "failures": [[slot, hex64(draw)] for slot, draw in found]})
    rng = Stream(77)
    patterns = [0x3F800000, 0xBF8CCCCD, 0x00000001, 0x7F7FFFFF, 0x80000000, 0x7F800000, 0x7FC00001, 0x41200000]
    for kind in ("flip0", "flip1", "bitflip", "tf32", "bf16", "zero"):
        for exponent_bits in ("0-6", "0-7"):
            for bits in patterns:
                draw = rng.next()
                golden["corruptions"].append({"kind": kind, "exponent_bits": exponent_bits, "bits": "0x%08x" % bits,
                                              "draw": hex64(draw),
                                              "corrupted": "0x%08x" % corrupt(kind, bits, draw, exponent_bits)})
    print(json.dumps(golden, indent=1))


if __name__ == "__main__":
    main()
