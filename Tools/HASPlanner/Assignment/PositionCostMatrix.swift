import Foundation
import HASRuntime

/// What each row would cost at each position of a layer on *this* device:
/// `cost[row][position]`, the soft accuracy lost (clean − faulty mean
/// probability of the true label) when `row` runs at `position` and only
/// that position's PEs fail, at their real rates and with the very fault
/// draws the fitness uses (common random numbers). Optionally measured with
/// earlier layers faulty under given permutations (`upstream`), in the same
/// draws: "lost" is then relative to the network with only those faulty.
///
/// Why per draw and per pair: with several faulty layers at high rates
/// (fashion c0+c1, bitflip 0.5) a row's cost is not its sensitivity times the
/// position's mean rate. Which output positions a PE corrupts in the fitness
/// draws matters as much, and the GA exploits it; a matrix measured under the
/// same draws lets a linear assignment exploit it too. The soft measure
/// differs between rows by far more than sampling noise on a few hundred
/// images, where top-1 accuracy moves by a handful of images.
///
/// Cost: M² evaluations of the network with one position's faults, each
/// about a clean pass (1/M of the faults); far less for a conv layer that
/// feeds a dense layer or another conv through ReLU and pooling
/// (`measureConvBeforeDense`, `measureConvBeforeConv`).
/// Only for layers with at most T rows, where a position is exactly one
/// thread of every block.
public enum PositionCostMatrix {
    /// Whether the matrix applies to `layer` on `profile` (M ≤ T).
    public static func applies(to layer: DeviceLayer, on profile: FaultProfile) -> Bool {
        layer.shape.m <= profile.geometry.threads
    }

    /// - Parameter fullPasses: run the network for every entry even where a sparse path applies (tests).
    public static func measure(network: Network, profile: FaultProfile, layer: DeviceLayer, images: Tensor,
                               labels: [Int], imageIndices: [Int], seeds: [UInt64], threads: Int = Parallelism.threads,
                               upstream: [String: [Int32]] = [:], fullPasses: Bool = false,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> [[Double]] {
        precondition(applies(to: layer, on: profile), "\(layer.name) has more rows than a block has threads")
        if fullPasses == false {
            for sparse in [measureConvBeforeDense, measureConvBeforeConv] {
                if let fast = try sparse(network, profile, layer, images, labels, imageIndices, seeds, threads, upstream) {
                    progress(layer.shape.m, layer.shape.m)
                    return fast
                }
            }
        }
        let m = layer.shape.m
        let evaluator = try FaultyEvaluator(network: network, images: images, labels: labels, imageIndices: imageIndices,
                                            profile: profile, faultyLayers: upstream.keys.sorted() + [layer.name], threads: threads)
        // The reference each draw's costs are measured from: the layer clean, the upstream layers faulty.
        let layerClean = try profile.keepingThreads([])
        let reference = seeds.map { seed in
            FaultyEvaluation.labelProbability(upstream.isEmpty ? evaluator.cleanScores
                                              : evaluator.scores(permutations: upstream, seed: seed,
                                                                 layerProfiles: [layer.name: layerClean]), labels)
        }
        var cost = [[Double]](repeating: [Double](repeating: 0, count: m), count: m)
        for position in 0..<m {
            // Position r < T runs on thread r of every block; keep that thread's rates (hence its draws) only.
            let device = try profile.keepingThreads([position])
            for row in 0..<m {
                var permutation = Permutations.identity(m)
                permutation.swapAt(position, row)
                var lost = 0.0
                for (seed, base) in zip(seeds, reference) {
                    let scores = evaluator.scores(permutations: upstream.merging([layer.name: permutation]) { $1 }, seed: seed,
                                                  layerProfiles: [layer.name: device])
                    lost += base - FaultyEvaluation.labelProbability(scores, labels)
                }
                cost[row][position] = lost / Double(max(1, seeds.count))
            }
            progress(position + 1, m)
        }
        return cost
    }
}
