/// Makes a network's GEMMs faulty: plugs into `ForwardOptions.afterGEMM` and,
/// after each faulty layer's clean GEMM, corrects C'[perm[r], n] += P̃ − P at
/// the failing partial products only (spec §3). The clean GEMM runs at full
/// speed; the extra cost is one tile-long dot product per fault.
///
/// Thread-safe: conv layers call the hook concurrently for disjoint images.
public final class FaultInjector: @unchecked Sendable {
    /// One applied correction, for tests and diagnostics.
    public struct Correction: Hashable, Sendable {
        public var layer: String
        /// Index of the image in the data set.
        public var image: Int
        /// Original (unshuffled) row of C.
        public var row: Int
        public var column: Int
        public var event: FaultEvent
        /// P and P̃, bit patterns.
        public var clean: UInt32
        public var corrupted: UInt32
    }

    struct Layer {
        var map: TileMap
        var key: UInt64
    }

    public let profile: FaultProfile
    public let seed: UInt64
    /// Faulty layers by name.
    public let faultyLayers: [DeviceLayer]
    /// Data-set index of the image at batch position `firstImageIndex + i`; nil = that position itself.
    public let imageIndices: [Int]?
    /// Threads for a dense layer's batch of corrections (conv layers are already parallel per image).
    public var threads: Int
    /// Called for every correction (tests); must be thread-safe. Slows injection down.
    public var observer: ((Correction) -> Void)?

    let sampler: FaultSampler
    let layers: [String: Layer]

    /// - Parameters:
    ///   - faultyLayers: names of the layers to make faulty; nil = all weighted layers.
    ///   - seed: the fault seed (see `FaultKeys.trialSeed` for trials).
    ///   - imageIndices: data-set index of each image of the run, when the run is a subset.
    /// - Throws: `InputError(file: "--faulty-layers")` for a layer the network does not have.
    public init(network: Network, profile: FaultProfile, faultyLayers: [String]? = nil, seed: UInt64,
                imageIndices: [Int]? = nil, threads: Int = Parallelism.threads) throws {
        self.profile = profile
        self.seed = seed
        self.faultyLayers = try network.deviceLayers(named: faultyLayers)
        self.imageIndices = imageIndices
        self.threads = threads
        self.sampler = FaultSampler(profile: profile)
        var layers: [String: Layer] = [:]
        for layer in self.faultyLayers {
            layers[layer.name] = Layer(map: layer.map(on: profile), key: FaultKeys.layer(layer.name))
        }
        self.layers = layers
    }

    /// The hook for `ForwardOptions.afterGEMM`.
    public var hook: (GEMMEvent) -> Void { { [self] event in inject(event) } }

    /// `base` with this injector as its `afterGEMM` hook.
    public func options(_ base: ForwardOptions = ForwardOptions()) -> ForwardOptions {
        var options = base
        options.afterGEMM = hook
        return options
    }

    /// Applies the faults of one layer's GEMM over a batch (no-op for clean layers).
    public func inject(_ event: GEMMEvent) {
        guard let layer = layers[event.layerName] else { return }
        let n = event.batchSize
        let workers = n >= 2 * threads ? threads : 1
        Parallelism.forRanges(n, threads: workers) { images in
            for i in images { self.inject(event, layer: layer, batchIndex: i) }
        }
    }

    /// The data-set index of batch image `i`.
    @inline(__always)
    func datasetIndex(_ event: GEMMEvent, _ i: Int) -> Int {
        let position = event.firstImageIndex + i
        return imageIndices.map { $0[position] } ?? position
    }

    private func inject(_ event: GEMMEvent, layer: Layer, batchIndex i: Int) {
        let image = datasetIndex(event, i)
        let k = event.shape.k, map = layer.map
        let a = event.weights, b = event.input(i), c = event.output(i)
        let bRow = event.bRowStride, bCol = event.bColStride, cRow = event.cRowStride, cCol = event.cColStride
        let perm = event.permutation
        let kind = profile.kind, bits = profile.exponentBits
        let observer = self.observer
        sampler.forEachFault(seed: seed, layer: layer.key, image: image, map: map) { e in
            let row = perm.map { Int($0[e.position]) } ?? e.position
            let range = map.kRange(kTile: e.kTile)
            let p = FaultInjector.partialProduct(a + row * k, b + e.column * bCol, bRowStride: bRow, range: range)
            let corrupted = kind.corrupt(p, draw: e.draw, exponentBits: bits)
            c[row * cRow + e.column * cCol] += corrupted - p
            observer?(Correction(layer: event.layerName, image: image, row: row, column: e.column, event: e,
                                 clean: p.bitPattern, corrupted: corrupted.bitPattern))
        }
    }

    /// P = Σ_{k in range} a[k]·b[k·stride], k ascending, one rounding per
    /// multiply and per add (the arithmetic of a partial product, docs/fault-profile.md).
    @inline(__always)
    static func partialProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, bRowStride: Int,
                               range: Range<Int>) -> Float {
        var sum: Float = 0
        if bRowStride == 1 {
            for k in range { sum = sum + a[k] * b[k] }
        } else {
            for k in range { sum = sum + a[k] * b[k * bRowStride] }
        }
        return sum
    }
}
