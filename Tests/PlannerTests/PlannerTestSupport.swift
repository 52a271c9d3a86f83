import HASDiagnosis
import HASRuntime
import HASTestSupport

/// Small in-memory networks and devices for the planner tests.
enum PlannerTestSupport {
    static func tensor(_ shape: [Int], _ rng: inout SplitMix64, scale: Float) -> Tensor {
        TestNetworks.tensor(shape, &rng, integers: false, scale: scale)
    }

    static func dense(_ name: String) -> LayerSpec { TestNetworks.dense(name) }

    /// mnist32-cnn in miniature: [C, 12, 12] → c0 (8 kernels 3×3, `padding`) → ReLU →
    /// maxpool 2 → dropout → flatten → h0 (→ 40) → ReLU → op (→ 10) → softmax.
    static func smallCNN(channels: Int = 1, padding: Int = 0, seed: UInt64 = 4) throws -> Network {
        var rng = SplitMix64(seed: seed)
        func he(_ shape: [Int], fanIn: Int) -> Tensor { tensor(shape, &rng, scale: (6 / Float(fanIn)).squareRoot()) }
        let k = 9 * channels
        let side = 12 + 2 * padding - 2, pooled = 8 * (side / 2) * (side / 2)
        let tensors = ["c0.weight": he([8, channels, 3, 3], fanIn: k), "c0.bias": he([8], fanIn: k),
                       "h0.weight": he([40, pooled], fanIn: pooled), "h0.bias": he([40], fanIn: pooled),
                       "op.weight": he([10, 40], fanIn: 40), "op.bias": he([10], fanIn: 40)]
        let layers = [LayerSpec(type: "conv2d", name: "c0", weight: "c0.weight", bias: "c0.bias", stride: [1, 1],
                                padding: [padding, padding, padding, padding]),
                      LayerSpec(type: "relu"), LayerSpec(type: "maxpool2d", stride: [2, 2], kernel: [2, 2]),
                      LayerSpec(type: "dropout"), LayerSpec(type: "flatten"),
                      dense("h0"), LayerSpec(type: "relu"), dense("op"), LayerSpec(type: "softmax")]
        return try TestNetworks.network(name: "small-cnn", input: [channels, 12, 12], layers: layers, tensors: tensors,
                                        classes: 10)
    }

    static func images(_ count: Int, for network: Network, seed: UInt64 = 9) -> Tensor {
        var rng = SplitMix64(seed: seed)
        let shape = [count] + network.inputShape
        return Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in rng.nextUnitFloat() * 3 })
    }

    /// Labels = the clean predictions, so that clean accuracy is 100% and every fault that matters shows.
    static func labels(_ network: Network, _ images: Tensor) -> [Int] {
        network.predict(images, options: ForwardOptions(threads: 1))
    }

    static func device(kind: ErrorKind, frMax: Double, seed: UInt64, blocks: Int = 4, threads: Int = 8,
                       tiling: FaultProfile.Tiling = .init()) throws -> FaultProfile {
        try FaultProfile.synthetic(kind: kind, frMax: frMax, seed: seed, blocks: blocks, threads: threads, tiling: tiling)
    }
}
