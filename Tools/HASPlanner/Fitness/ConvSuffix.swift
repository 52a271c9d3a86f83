import HASRuntime

/// What follows a conv layer, as the planner's fast evaluators need it: its
/// ReLU, a max pool right after (optional), dropouts and flatten, and the
/// next layer when it is dense (with its ReLU). The one place this shape is
/// recognised: the incremental evaluator, the sparse cost matrix and the
/// sensitivity sweep read it from here, and where a network does not have
/// the shape an evaluator needs, `incrementalProblem` / `match` say why, for
/// the tools to report that they fall back to full forward passes (same
/// results, slower).
struct ConvSuffix {
    let conv: Conv2D
    /// The max pool right after the ReLU (nil: none).
    let pool: ConvGeometry?
    /// The first layer after the conv, its ReLU and pool.
    let blockEnd: Int
    /// The first layer after the block that is not a dropout or flatten, and whether a flatten came before it.
    let next: Int
    let flattened: Bool
    /// `next` when it is a dense layer D: D, whether a ReLU follows it, and the first layer after them.
    let dense: (layer: Dense, relu: Bool, tailStart: Int)?

    /// The suffix of layer `L`, or why there is none to speak of (not a conv, no ReLU after it).
    static func match(_ network: Network, convIndex L: Int) -> Result<ConvSuffix, Mismatch> {
        let layers = network.layers
        guard L < layers.count, case .conv2d(let conv) = layers[L] else { return .failure(Mismatch("it is not a conv layer")) }
        guard L + 1 < layers.count, case .relu = layers[L + 1] else {
            return .failure(Mismatch("\(conv.name) is not followed by a ReLU"))
        }
        var end = L + 2, pool: ConvGeometry?
        if end < layers.count, case .maxPool(let p) = layers[end] {
            pool = p.geometry
            end += 1
        }
        var next = end, flattened = false
        while next < layers.count {
            if case .dropout = layers[next] { next += 1; continue }
            if case .flatten = layers[next] { flattened = true; next += 1; continue }
            break
        }
        var dense: (Dense, Bool, Int)?
        if next < layers.count, case .dense(let d) = layers[next] {
            if next + 1 < layers.count, case .relu = layers[next + 1] {
                dense = (d, true, next + 2)
            } else {
                dense = (d, false, next + 1)
            }
        }
        return .success(ConvSuffix(conv: conv, pool: pool, blockEnd: end, next: next, flattened: flattened,
                                   dense: dense))
    }

    /// Why the incremental methods (conv → ReLU → non-overlapping max pool →
    /// flatten → dense) do not apply, or nil when they do.
    var incrementalProblem: String? {
        guard let pool else { return "\(conv.name)'s ReLU is not followed by a max pool" }
        guard pool.strideH == pool.kernelH, pool.strideW == pool.kernelW else { return "the max pool after \(conv.name) overlaps (stride ≠ kernel)" }
        guard flattened, dense != nil else { return "the pool after \(conv.name) is not followed by flatten and a dense layer" }
        return nil
    }

    /// The incremental shape after layer `L`, or why it is not there.
    static func incremental(_ network: Network, convIndex L: Int) -> Result<ConvSuffix, Mismatch> {
        match(network, convIndex: L).flatMap { suffix in
            suffix.incrementalProblem.map { .failure(Mismatch($0)) } ?? .success(suffix)
        }
    }

    struct Mismatch: Error { let reason: String; init(_ reason: String) { self.reason = reason } }

    /// W_D as [F][M_D]: one column per input feature, for sparse updates.
    func transposedDenseWeights() -> [Float] {
        guard let d = dense?.layer else { return [] }
        let m = d.outFeatures, f = d.inFeatures
        var t = [Float](repeating: 0, count: d.weight.count)
        for o in 0..<m { for j in 0..<f { t[j * m + o] = d.weight[o * f + j] } }
        return t
    }

    func tailScores(_ z: [Float], network: Network) -> Tensor {
        ConvSuffix.tailScores(z, network: network, width: dense!.layer.outFeatures, relu: dense!.relu, tailStart: dense!.tailStart)
    }

    /// Scores of the layers after D for D's pre-activations [count × `width`] (bias included), single-threaded.
    static func tailScores(_ z: [Float], network: Network, width: Int, relu: Bool, tailStart: Int) -> Tensor {
        var t = Tensor(shape: [z.count / width, width], data: z)
        if relu { Activations.relu(&t) }
        return network.run(t, layers: tailStart..<network.layers.count, options: ForwardOptions(threads: 1))
    }
}
