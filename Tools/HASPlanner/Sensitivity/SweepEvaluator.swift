import HASDiagnosis
import HASRuntime

/// The sensitivity sweep's evaluator: for one group of faulty layers, the
/// predictions of several error kinds on one device over several fault
/// trials, image for image equal to `FaultyEvaluator`'s (its default,
/// incremental mode) for each kind alone — only much cheaper.
///
/// Why it can be cheaper and still exact:
/// - Which partial products fail, and their draws, depend on the device's
///   rates and the keys, not on the kind (spec §3). So the kinds that share an
///   FR_max (flip0/tf32/bf16, flip1/bitflip) share one fault enumeration and
///   one partial product per fault; only the corruption differs.
/// - The faulty layer's input is clean, so its clean output is computed once
///   per image and device, and a trial only adds C += P̃ − P at the failing
///   slots, in the injector's order (same arithmetic, same result).
/// - An image whose activations after the faulty layer are bit-identical to
///   the clean ones keeps its clean prediction; only the changed images run
///   the rest of the network, batched (the GEMM's per-element arithmetic does
///   not depend on the batch).
/// - For a faulty convolution, only the pooled features whose window holds a
///   corrupted output are recomputed.
///
/// Handles a faulty dense layer (any layers after it), and a faulty
/// conv → ReLU [→ max pool] followed, after the group's last faulty layer, by a
/// clean dense layer (mnist32 c0, fashion c0, c1, c0+c1). Other groups fall
/// back to `FaultyEvaluator`, kind by kind.
public final class SweepEvaluator: @unchecked Sendable {
    public let network: Network
    public let labels: [Int]
    /// Data-set index of each image (keys the fault randomness).
    public let imageIndices: [Int]
    public let faultyLayers: [DeviceLayer]
    public let threads: Int

    enum Path {
        case dense(DensePath)
        case conv(ConvPath)
        case reference(FaultyEvaluator)
    }
    let path: Path
    /// Clean prediction per image (what an image with no change keeps).
    let cleanPredictions: [Int]

    public var imageCount: Int { labels.count }

    /// Accuracy with no faults (equal to `FaultyEvaluator.cleanAccuracy`).
    public var cleanAccuracy: Double {
        if case .reference(let evaluator) = path { return evaluator.cleanAccuracy }
        return SweepEvaluator.accuracy(cleanPredictions, labels)
    }

    /// Whether the fast paths apply (false: `FaultyEvaluator` kind by kind).
    public var isFast: Bool {
        if case .reference = path { return false }
        return true
    }

    /// Why the fast paths do not take this group although they were asked
    /// for (nil: they do, or `fast` was false), for the tools to report.
    public private(set) var fallbackReason: String?

    /// - Parameters:
    ///   - images: preprocessed inputs [N, C, H, W]; `labels` their classes.
    ///   - imageIndices: data-set index of each image (default 0..<N).
    ///   - faultyLayers: the group's layer names.
    ///   - fast: false forces the `FaultyEvaluator` path (for checking).
    public init(network: Network, images: Tensor, labels: [Int], imageIndices: [Int]? = nil, faultyLayers: [String],
                threads: Int = Parallelism.threads, fast: Bool = true) throws {
        try FaultyEvaluator.checkInputs(network: network, images: images, labels: labels, imageIndices: imageIndices)
        self.network = network
        self.labels = labels
        self.imageIndices = imageIndices ?? Array(0..<labels.count)
        self.faultyLayers = try network.deviceLayers(named: faultyLayers, option: "--layers")
        self.threads = max(1, threads)
        let options = ForwardOptions(threads: self.threads)
        if fast, let dense = DensePath(network: network, faulty: self.faultyLayers, images: images, options: options) {
            path = .dense(dense)
            cleanPredictions = dense.cleanPredictions(network, options: options)
        } else if fast, let conv = ConvPath(network: network, faulty: self.faultyLayers, images: images, options: options) {
            path = .conv(conv)
            cleanPredictions = conv.cleanPredictions(network, options: options)
        } else {
            // The evaluator's own profile is a placeholder; each evaluation passes its device.
            let placeholder = try FaultProfile.synthetic(kind: .flip1, frMax: 0, seed: 0, blocks: 1, threads: 1)
            path = .reference(try FaultyEvaluator(network: network, images: images, labels: labels,
                                                  imageIndices: self.imageIndices, profile: placeholder,
                                                  faultyLayers: faultyLayers, threads: self.threads))
            cleanPredictions = []
            if fast, let first = self.faultyLayers.first {
                if case .failure(let mismatch) = ConvSuffix.match(network, convIndex: first.index) {
                    fallbackReason = mismatch.reason
                } else {
                    fallbackReason = "no fast path takes this group"
                }
            }
        }
    }

    /// Predictions [kind][trial][image] on `device` (its rates, geometry,
    /// tiling and exponent bits) for each of `kinds`; trial t uses the fault
    /// seed `FaultKeys.trialSeed(seed, trial: t)`.
    public func predictions(device: FaultProfile, kinds: [ErrorKind], seed: UInt64, trials: Int) -> [[[Int]]] {
        if kinds.isEmpty || trials <= 0 { return kinds.map { _ in [] } }
        switch path {
        case .dense(let dense): return evaluate(dense, device: device, kinds: kinds, seed: seed, trials: trials)
        case .conv(let conv): return evaluate(conv, device: device, kinds: kinds, seed: seed, trials: trials)
        case .reference(let evaluator):
            return kinds.map { kind in
                var profile = device
                profile.kind = kind
                return evaluator.evaluate(seed: seed, trials: trials, profile: profile).predictions
            }
        }
    }

    /// Accuracies [kind][trial] (fractions, as `FaultyEvaluation.accuracies`).
    public func accuracies(device: FaultProfile, kinds: [ErrorKind], seed: UInt64, trials: Int) -> [[Double]] {
        predictions(device: device, kinds: kinds, seed: seed, trials: trials).map { $0.map { SweepEvaluator.accuracy($0, labels) } }
    }

    static func accuracy(_ predictions: [Int], _ labels: [Int]) -> Double {
        labels.isEmpty ? .nan : Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(labels.count)
    }

    // MARK: Shared helpers

    /// `profile` with another kind (same rates, so the same failing slots and draws).
    static func profile(_ device: FaultProfile, kind: ErrorKind) -> FaultProfile {
        var profile = device
        profile.kind = kind
        return profile
    }

    /// Forward options that inject `kind`'s faults into the group's layers for a
    /// batch whose image b is data-set image `indices[b]`.
    func faultyOptions(device: FaultProfile, kind: ErrorKind, seed: UInt64, indices: [Int]) -> ForwardOptions {
        let injector = try! FaultInjector(network: network, profile: SweepEvaluator.profile(device, kind: kind),
                                          faultyLayers: faultyLayers.map(\.name), seed: seed, imageIndices: indices,
                                          threads: 1)
        return injector.options(ForwardOptions(threads: 1))
    }

    /// Whether two rows differ in any bit.
    @inline(__always)
    static func differ(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Bool {
        for j in 0..<count where a[j].bitPattern != b[j].bitPattern { return true }
        return false
    }
}

/// Per (kind, trial): the images that changed and their activations, to run
/// through the rest of the network together.
struct ChangedBatch {
    var images: [Int] = []
    var rows: [Float] = []
}
