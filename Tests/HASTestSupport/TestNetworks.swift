import HASRuntime

/// Small networks built in memory, and the spec's mnist32-cnn shapes with random weights
/// (shared by the test targets).
public enum TestNetworks {
    /// Weights drawn from `values` (small integers keep clean sums exact in any order).
    public static func tensor(_ shape: [Int], _ rng: inout SplitMix64, integers: Bool, scale: Float = 1) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in
            integers ? Float(Int(rng.next() % 5) - 2) : rng.nextSignedUnit() * scale
        })
    }

    public static func network(name: String = "test", input: [Int], layers: [LayerSpec], tensors: [String: Tensor],
                               classes: Int) throws -> Network {
        let manifest = Manifest(name: name, input: InputSpec(shape: input, preprocessing: Preprocessing()),
                                classes: (0..<classes).map(String.init), layers: layers)
        return try Network(manifest: manifest, tensors: tensors, file: "<test>")
    }

    public static func dense(_ name: String) -> LayerSpec {
        LayerSpec(type: "dense", name: name, weight: "\(name).weight", bias: "\(name).bias")
    }

    /// [1, 10, 10] → flatten → d0 (100 → `hidden`) → ReLU → op (→ 3).
    public static func denseNet(hidden: Int = 70, integers: Bool = true, seed: UInt64 = 1) throws -> Network {
        var rng = SplitMix64(seed: seed)
        let tensors = ["d0.weight": tensor([hidden, 100], &rng, integers: integers), "d0.bias": tensor([hidden], &rng, integers: integers),
                       "op.weight": tensor([3, hidden], &rng, integers: integers), "op.bias": tensor([3], &rng, integers: integers)]
        return try network(input: [1, 10, 10], layers: [LayerSpec(type: "flatten"), dense("d0"), LayerSpec(type: "relu"), dense("op")],
                           tensors: tensors, classes: 3)
    }

    /// [3, 9, 9] → c0 (5 kernels 3×3, padding 1) → ReLU → flatten → op (405 → 3).
    public static func convNet(integers: Bool = true, seed: UInt64 = 2) throws -> Network {
        var rng = SplitMix64(seed: seed)
        let tensors = ["c0.weight": tensor([5, 3, 3, 3], &rng, integers: integers), "c0.bias": tensor([5], &rng, integers: integers),
                       "op.weight": tensor([3, 405], &rng, integers: integers), "op.bias": tensor([3], &rng, integers: integers)]
        return try network(input: [3, 9, 9],
                           layers: [LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias",
                                              stride: [1, 1], padding: [1, 1, 1, 1]),
                                    LayerSpec(type: "relu"), LayerSpec(type: "flatten"), dense("op")],
                           tensors: tensors, classes: 3)
    }

    /// mnist32-cnn's layers (spec §4) with He-uniform random weights.
    public static func mnist32(seed: UInt64 = 3) throws -> Network {
        var rng = SplitMix64(seed: seed)
        func he(_ shape: [Int], fanIn: Int) -> Tensor { tensor(shape, &rng, integers: false, scale: (6 / Float(fanIn)).squareRoot()) }
        var tensors = ["c0.weight": he([32, 1, 4, 4], fanIn: 16), "c0.bias": he([32], fanIn: 16)]
        var layers = [LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias", stride: [1, 1], padding: [0, 0, 0, 0]),
                      LayerSpec(type: "relu"), LayerSpec(type: "maxpool2d", stride: [2, 2], kernel: [2, 2]), LayerSpec(type: "flatten")]
        for (name, inputs, outputs) in [("h0", 6272, 1024), ("h1", 1024, 256), ("h2", 256, 64), ("op", 64, 10)] {
            tensors["\(name).weight"] = he([outputs, inputs], fanIn: inputs)
            tensors["\(name).bias"] = Tensor(zeros: [outputs])
            layers.append(dense(name))
            layers.append(LayerSpec(type: name == "op" ? "softmax" : "relu"))
        }
        return try network(input: [1, 32, 32], layers: layers, tensors: tensors, classes: 10)
    }

    /// Inputs in [0, 1) (or small integers) for `network`.
    public static func images(_ count: Int, for network: Network, integers: Bool = false, seed: UInt64 = 9) -> Tensor {
        var rng = SplitMix64(seed: seed)
        let shape = [count] + network.inputShape
        return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in
            integers ? Float(rng.next() % 4) : rng.nextUnitFloat()
        })
    }

    /// A profile whose rates are all zero except the listed PEs.
    public static func profile(kind: ErrorKind, blocks: Int, threads: Int, rates: [Int: Double] = [:], everywhere: Double = 0,
                        exponentBits: ExponentBits = .low7, tiling: FaultProfile.Tiling = .init()) throws -> FaultProfile {
        let grid = (0..<blocks).map { s in (0..<threads).map { t in rates[s * threads + t] ?? everywhere } }
        return try FaultProfile(geometry: .init(blocks: blocks, threads: threads), tiling: tiling, kind: kind,
                                exponentBits: exponentBits, rates: grid, origin: .synthetic(frMax: 1, seed: 0))
    }
}
