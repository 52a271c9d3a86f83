import Foundation
import HASRuntime

/// Accuracy of a network on a faulty device over a fixed image set, for many
/// permutations and seeds: the inner loop of the planner and of the
/// sensitivity analysis.
///
/// The clean activations in front of the first faulty layer are computed once
/// and cached; when that layer is dense, so is its clean GEMM output (the
/// faults only add corrections to it). Each evaluation runs only the rest of
/// the network, in chunks of images spread over the cores (each chunk
/// single-threaded). Results are deterministic whatever the thread count.
/// With `incremental: false` they are bit-identical to a full faulty forward
/// pass (`has-run --device`) with the same seed.
///
/// The default, `incremental: true`, is not bit-identical to has-run: when the
/// faults end before a clean dense layer D (e.g. c0 faulty, h0 clean), D's
/// clean input and output are cached too, and for each image only D's inputs
/// that the faults changed are propagated (y = y_clean + Σ_j W[:, j]·Δx_j, in
/// another summation order than D's GEMM). Images with no change get exactly
/// the clean result and images with many changes a full GEMM, bit for bit;
/// the others can differ from a full pass by float rounding in D, so a
/// prediction can differ where two scores are within rounding of each other
/// (docs/fault-profile.md, "Evaluating many plans"). Every plan is scored by
/// the same rule, so comparisons between plans are unaffected.
public final class FaultyEvaluator: @unchecked Sendable {
    /// Images [N] + the network's input shape, N labels and (if given) N data-set indices;
    /// `InputError` otherwise.
    public static func checkInputs(network: Network, images: Tensor, labels: [Int], imageIndices: [Int]?) throws {
        guard images.rank == 4, Array(images.shape.dropFirst()) == network.inputShape else {
            throw InputError(file: "images", "are \(images.shape) but model \(network.name) takes [N] + \(network.inputShape)")
        }
        guard labels.count == images.shape[0] else {
            throw InputError(file: "labels", "\(labels.count) labels for \(images.shape[0]) images")
        }
        if let imageIndices, imageIndices.count != labels.count {
            throw InputError(file: "images", "\(imageIndices.count) image indices for \(labels.count) images")
        }
    }

    public let network: Network
    public let profile: FaultProfile
    public let labels: [Int]
    /// Data-set index of each image (keys the fault randomness).
    public let imageIndices: [Int]
    public let faultyLayers: [DeviceLayer]
    public let threads: Int
    /// Images per chunk of work.
    public let chunkSize: Int

    /// Index in `network.layers` where evaluation starts (the first faulty layer).
    public let startLayer: Int
    /// Clean activations entering `startLayer`, [images, …].
    let cached: Tensor
    /// When the first faulty layer is dense: its clean GEMM output, M values per image.
    let cachedGEMM: [Float]?
    /// Incremental mode: the first clean dense layer after the faults, its clean
    /// input and GEMM output per image, and its weights transposed (K×M).
    struct Downstream {
        var index: Int
        var dense: Dense
        var input: [Float]
        var output: [Float]
        var transposed: [Float]
    }
    let downstream: Downstream?

    public var imageCount: Int { labels.count }

    /// - Parameters:
    ///   - images: preprocessed inputs [N, C, H, W].
    ///   - labels: N class indices.
    ///   - imageIndices: data-set index of each image (default 0..<N).
    ///   - faultyLayers: layer names; nil = all weighted layers.
    /// - Throws: `InputError` for an unknown layer or mismatched counts.
    public init(network: Network, images: Tensor, labels: [Int], imageIndices: [Int]? = nil, profile: FaultProfile,
                faultyLayers: [String]? = nil, threads: Int = Parallelism.threads, chunkSize: Int = 128,
                incremental: Bool = true) throws {
        try FaultyEvaluator.checkInputs(network: network, images: images, labels: labels, imageIndices: imageIndices)
        self.network = network
        self.profile = profile
        self.labels = labels
        self.imageIndices = imageIndices ?? Array(0..<labels.count)
        self.faultyLayers = try network.deviceLayers(named: faultyLayers)
        self.threads = max(1, threads)
        self.chunkSize = max(1, chunkSize)
        startLayer = self.faultyLayers.first?.index ?? network.layers.count
        cached = network.run(images, layers: 0..<startLayer, options: ForwardOptions(threads: self.threads))
        if startLayer < network.layers.count, case .dense(let dense) = network.layers[startLayer] {
            cachedGEMM = dense.cleanGEMM(cached, options: ForwardOptions(threads: self.threads))
        } else {
            cachedGEMM = nil
        }
        var downstream: Downstream?
        if incremental, cachedGEMM == nil, let last = self.faultyLayers.last,
           let next = network.deviceLayers.first(where: { $0.index > last.index }),
           case .dense(let dense) = network.layers[next.index] {
            let input = network.run(cached, layers: startLayer..<next.index, options: ForwardOptions(threads: self.threads))
            let m = dense.outFeatures, k = dense.inFeatures
            var transposed = [Float](repeating: 0, count: m * k)
            for row in 0..<m { for j in 0..<k { transposed[j * m + row] = dense.weight[row * k + j] } }
            downstream = Downstream(index: next.index, dense: dense, input: input.data,
                                    output: dense.cleanGEMM(input, options: ForwardOptions(threads: self.threads)), transposed: transposed)
        }
        self.downstream = downstream
    }

    /// Accuracy with no faults (the same cached prefix, clean suffix).
    public private(set) lazy var cleanAccuracy: Double = {
        let predictions = run { _ in ForwardOptions(threads: 1) }
        return FaultyEvaluation.accuracy(predictions, labels)
    }()

    /// Runs `trials` fault draws (seeds `FaultKeys.trialSeed(seed, trial:)`).
    /// - Parameters:
    ///   - permutations: row permutation per layer name (a plan); absent = identity.
    ///   - profile: another device of the same geometry to evaluate on (default: the evaluator's),
    ///     reusing the cached clean activations.
    public func evaluate(permutations: [String: [Int32]] = [:], seed: UInt64, trials: Int = 1,
                         profile: FaultProfile? = nil) -> FaultyEvaluation {
        let profile = profile ?? self.profile
        for (name, perm) in permutations {
            if let layer = network.deviceLayers.first(where: { $0.name == name }) {
                precondition(Permutations.isPermutation(perm, of: layer.shape.m), "permutation of \(name) is not a permutation of its rows")
            }
        }
        var result = FaultyEvaluation(predictions: [], labels: labels)
        for trial in 0..<max(0, trials) {
            let injector = try! FaultInjector(network: network, profile: profile, faultyLayers: faultyLayers.map(\.name),
                                              seed: FaultKeys.trialSeed(seed, trial: trial),
                                              imageIndices: imageIndices, threads: 1)
            let predictions = run { _ in injector.options(ForwardOptions(permutations: permutations, threads: 1)) }
            result.predictions.append(predictions)
        }
        return result
    }

    /// The scores (logits) [N, classes] of one fault draw with `seed`, for
    /// smooth measures of damage (see `FaultyEvaluation.labelProbability`).
    /// - Parameter layerProfiles: another device for some of the faulty layers (the same draws
    ///   where their rates agree), e.g. one position's PEs only for the layer being measured.
    public func scores(permutations: [String: [Int32]] = [:], seed: UInt64,
                       layerProfiles: [String: FaultProfile] = [:]) -> Tensor {
        let names = faultyLayers.map(\.name)
        let common = names.filter { layerProfiles[$0] == nil }
        let injectors = (common.isEmpty ? [] : [try! FaultInjector(network: network, profile: profile,
                                                                    faultyLayers: common, seed: seed,
                                                                    imageIndices: imageIndices, threads: 1)])
            + names.compactMap { name in
                layerProfiles[name].map { try! FaultInjector(network: network, profile: $0, faultyLayers: [name], seed: seed,
                                                             imageIndices: imageIndices, threads: 1) }
            }
        return runScores { _ in FaultInjector.options(injectors, ForwardOptions(permutations: permutations, threads: 1)) }
    }

    /// Clean scores [N, classes].
    public private(set) lazy var cleanScores: Tensor = runScores { _ in ForwardOptions(threads: 1) }

    /// The predictions of one run.
    private func run(_ options: (Int) -> ForwardOptions) -> [Int] {
        Activations.argmax(runScores(options))
    }

    /// The scores (logits) [N, classes] of one run: the suffix over every chunk in parallel, gathered in order.
    private func runScores(_ options: (Int) -> ForwardOptions) -> Tensor {
        if let cachedGEMM, case .dense(let dense) = network.layers[startLayer] {
            return runFromCachedGEMM(dense, cachedGEMM, options)
        }
        if let downstream { return runIncrementally(downstream, options) }
        return gatherScores(options) { lo, hi, o in
            network.run(cachedChunk(lo, hi), layers: startLayer..<network.layers.count, options: o)
        }
    }

    /// Scores [N, classes]: `chunk(lo, hi, options)` gives the rows of images lo..<hi, for every
    /// chunk of `chunkSize` images in parallel (each single-threaded, options keyed to its first image).
    private func gatherScores(_ options: (Int) -> ForwardOptions, _ chunk: (Int, Int, ForwardOptions) -> Tensor) -> Tensor {
        let n = imageCount, chunks = (n + chunkSize - 1) / chunkSize, classes = network.classes.count
        var all = [Float](repeating: 0, count: n * classes)
        all.withUnsafeMutableBufferPointer { out in
            Parallelism.forEach(chunks, threads: threads) { c in
                let lo = c * chunkSize, hi = min(n, lo + chunkSize)
                var o = options(c)
                o.firstImageIndex = lo
                let scores = chunk(lo, hi, o)
                for (j, v) in scores.data.enumerated() { out[lo * classes + j] = v }
            }
        }
        return Tensor(shape: [n, classes], data: all)
    }

    /// The cached clean activations of images lo..<hi.
    private func cachedChunk(_ lo: Int, _ hi: Int) -> Tensor {
        let per = cached.count / max(1, imageCount)
        return Tensor(shape: [hi - lo] + Array(cached.shape.dropFirst()), data: Array(cached.data[lo * per..<hi * per]))
    }

    /// Where the network goes on after dense layer `index`, and whether a ReLU follows it
    /// (Dense.forward applies that ReLU with the bias, so the suffix must too).
    private func afterDense(_ index: Int) -> (relu: Bool, next: Int) {
        if index + 1 < network.layers.count, case .relu = network.layers[index + 1] { return (true, index + 2) }
        return (false, index + 1)
    }

    /// The dense first faulty layer from its cached clean GEMM: corrections, bias, ReLU, then the rest.
    private func runFromCachedGEMM(_ dense: Dense, _ gemm: [Float], _ options: (Int) -> ForwardOptions) -> Tensor {
        let m = dense.outFeatures, k = dense.inFeatures
        let (relu, next) = afterDense(startLayer)
        return gatherScores(options) { lo, hi, o in
            let count = hi - lo
            var y = Array(gemm[lo * m..<hi * m])
            y.withUnsafeMutableBufferPointer { yp in
                cached.data.withUnsafeBufferPointer { xp in
                    dense.weight.withUnsafeBufferPointer { wp in
                        withOptionalBuffer(o.permutations[dense.name]) { pp in
                            let yb = yp.baseAddress!, xb = xp.baseAddress! + lo * k
                            o.afterGEMM?(GEMMEvent(layerName: dense.name, shape: dense.gemmShape, batchSize: count,
                                                   firstImageIndex: lo, weights: wp.baseAddress!, permutation: pp,
                                                   bRowStride: 1, bColStride: k, cRowStride: 1, cColStride: m,
                                                   input: { xb + $0 * k }, output: { yb + $0 * m }))
                        }
                    }
                }
                // Bias and ReLU exactly as Dense.forward does them.
                dense.addBias(toRows: yp.baseAddress!, count: count, relu: relu)
            }
            return network.run(Tensor(shape: [count, m], data: y), layers: next..<network.layers.count, options: o)
        }
    }

    /// Faulty layers as usual up to the downstream dense layer D, then D by deltas from its cached clean run.
    private func runIncrementally(_ d: Downstream, _ options: (Int) -> ForwardOptions) -> Tensor {
        let m = d.dense.outFeatures, k = d.dense.inFeatures
        let (relu, next) = afterDense(d.index)
        let maxChanges = DenseDeltaUpdate.maxChanges(inputs: k)
        return gatherScores(options) { lo, hi, o in
            let count = hi - lo
            let h = network.run(cachedChunk(lo, hi), layers: startLayer..<d.index, options: o)
            var y = Array(d.output[lo * m..<hi * m])
            var changed: [Int] = []
            y.withUnsafeMutableBufferPointer { yp in
                h.data.withUnsafeBufferPointer { hp in
                    d.input.withUnsafeBufferPointer { xp in
                        d.transposed.withUnsafeBufferPointer { tp in
                            d.dense.weight.withUnsafeBufferPointer { wp in
                                for i in 0..<count {
                                    let faulty = hp.baseAddress! + i * k, clean = xp.baseAddress! + (lo + i) * k
                                    let yi = yp.baseAddress! + i * m
                                    DenseDeltaUpdate.changedInputs(faulty, clean, count: k, maxChanges: maxChanges,
                                                                   into: &changed)
                                    if changed.isEmpty { continue }
                                    if changed.count > maxChanges {
                                        PermutedGEMM.multiply(m: m, n: 1, k: k, a: wp.baseAddress!, lda: k,
                                                              b: StridedMatrix(UnsafePointer(faulty), rowStride: 1, colStride: k),
                                                              c: StridedMatrix(yi, rowStride: 1, colStride: m), threads: 1)
                                        continue
                                    }
                                    DenseDeltaUpdate.addDeltas(changed, faulty: faulty, clean: clean, transposed: tp.baseAddress!,
                                                               outputs: m, to: yi)
                                }
                            }
                        }
                    }
                }
                // Bias and ReLU exactly as Dense.forward does them.
                d.dense.addBias(toRows: yp.baseAddress!, count: count, relu: relu)
            }
            return network.run(Tensor(shape: [count, m], data: y), layers: next..<network.layers.count, options: o)
        }
    }
}
