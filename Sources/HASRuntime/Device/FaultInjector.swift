import Foundation
import HASKernels

/// Makes a network's GEMMs faulty: plugs into `ForwardOptions.afterGEMM` and,
/// after each faulty layer's clean GEMM, corrects C'[perm[r], n] += P̃ − P at
/// the failing partial products only (spec §3). The clean GEMM runs at full
/// speed; how P is found at the failing slots is the `strategy`, chosen by
/// name (`FaultInjector+Strategy.swift`); all strategies give the same bits.
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
        /// Expected faults per image.
        var expectedFaults: Double
    }

    public let profile: FaultProfile
    public let seed: UInt64
    /// Faulty layers by name.
    public let faultyLayers: [DeviceLayer]
    /// Data-set index of the image at batch position `firstImageIndex + i`; nil = that position itself.
    public let imageIndices: [Int]?
    /// Threads for a dense layer's batch of corrections (conv layers are already parallel per image).
    public var threads: Int
    /// How P is found at the failing slots (`automatic`: by a fixed rule per layer).
    public let strategy: Strategy
    /// Called for every correction; set by `observe`.
    public private(set) var observer: ((Correction) -> Void)?

    let sampler: FaultSampler
    let layers: [String: Layer]
    /// Dense layers' K tiles packed for the perTile GEMMs, built on first use from the
    /// weights at that address (`tilePanels`).
    var tilePanels: [String: (weights: UnsafePointer<Float>, panels: [PackedWeights])] = [:]
    let tilePanelsLock = NSLock()

    /// - Parameters:
    ///   - faultyLayers: names of the layers to make faulty; nil = all weighted layers.
    ///   - seed: the fault seed (see `FaultKeys.trialSeed` for trials).
    ///   - imageIndices: data-set index of each image of the run, when the run is a subset.
    ///   - strategy: how P is found; `.automatic` picks per layer.
    /// - Throws: `InputError(file: "--faulty-layers")` for a layer the network does not have;
    ///   `ConfigurationError` for a strategy one of the layers cannot take.
    public convenience init(network: Network, profile: FaultProfile, faultyLayers: [String]? = nil, seed: UInt64,
                            imageIndices: [Int]? = nil, threads: Int = Parallelism.threads,
                            strategy: Strategy = .automatic) throws {
        let layers = try network.deviceLayers(named: faultyLayers)
        try Self.validate(strategy, layers, profile)
        self.init(layers: layers, profile: profile, seed: seed, imageIndices: imageIndices, threads: threads,
                  strategy: strategy)
    }

    /// The injector of `layers` (GEMMs that need not belong to a network, e.g. a
    /// `SimulatedDevice`'s diagnostic GEMMs).
    init(layers faultyLayers: [DeviceLayer], profile: FaultProfile, seed: UInt64, imageIndices: [Int]? = nil,
         threads: Int = Parallelism.threads, strategy: Strategy = .automatic) {
        precondition((try? Self.validate(strategy, faultyLayers, profile)) != nil, "strategy \(strategy) cannot run these layers")
        self.profile = profile
        self.seed = seed
        self.faultyLayers = faultyLayers
        self.imageIndices = imageIndices
        self.threads = threads
        self.strategy = strategy
        self.sampler = FaultSampler(profile: profile)
        var layers: [String: Layer] = [:]
        for layer in self.faultyLayers {
            let map = layer.map(on: profile)
            layers[layer.name] = Layer(map: map, key: FaultKeys.layer(layer.name),
                                       expectedFaults: profile.expectedFaultsPerImage(map))
        }
        self.layers = layers
    }

    /// Calls `observer` for every correction (tests); it must be thread-safe.
    /// - Throws: `ConfigurationError` unless the strategy reports corrections
    ///   (`.perFault`): an observer never changes which strategy runs.
    public func observe(_ observer: @escaping (Correction) -> Void) throws {
        guard strategy.reportsCorrections else {
            throw ConfigurationError(description: "the \(strategy) strategy does not report corrections; observe with .perFault")
        }
        self.observer = observer
    }

    /// The hook for `ForwardOptions.afterGEMM`.
    public var hook: (GEMMEvent) -> Void { { [self] event in inject(event) } }

    /// `base` with this injector as its `afterGEMM` hook.
    public func options(_ base: ForwardOptions = ForwardOptions()) -> ForwardOptions {
        var options = base
        options.afterGEMM = hook
        options.hookedLayers = Set(layers.keys)
        options.hookGroup = max(base.hookGroup, convolutionGroup)
        return options
    }

    /// Images per convolution hook event: a group of `HAS_SLOT_LANES` when the slots
    /// strategy can walk some PE's streams slot by slot (rates ≥ 1/16), else one (a
    /// group's patch matrices and outputs would only crowd the cache).
    var convolutionGroup: Int {
        guard strategy == .slots || strategy == .automatic else { return 1 }
        let slotBySlot = sampler.modes.contains { mode in
            switch mode {
            case .always, .bernoulli: return true
            case .never, .geometric: return false
            }
        }
        return slotBySlot ? Int(HAS_SLOT_LANES) : 1
    }

    /// `base` with several injectors (for example one device per layer), applied in order.
    public static func options(_ injectors: [FaultInjector], _ base: ForwardOptions = ForwardOptions()) -> ForwardOptions {
        var options = base
        options.afterGEMM = { event in for injector in injectors { injector.inject(event) } }
        options.hookedLayers = Set(injectors.flatMap(\.layers.keys))
        options.hookGroup = injectors.map(\.convolutionGroup).reduce(base.hookGroup, max)
        return options
    }

    /// Applies the faults of one layer's GEMM over a batch (no-op for clean layers).
    public func inject(_ event: GEMMEvent) {
        guard let layer = layers[event.layerName], event.batchSize > 0 else { return }
        let n = event.batchSize
        let strategy = resolved(layer, event)
        if strategy == .perTile && batchIsContiguous(event) {
            injectDenseByTiles(event, layer: layer)
            return
        }
        // Convolutions already run their groups of images in parallel.
        let workers = n >= 2 * threads && event.shape.columnsPerImage == 1 ? threads : 1
        Parallelism.forRanges(n, threads: workers) { images in
            switch strategy {
            case .slots: self.injectBySlots(event, layer: layer, images: images)
            case .perTile: self.injectByTiles(event, layer: layer, images: images)
            case .perFault, .automatic: self.injectPerFault(event, layer: layer, images: images)
            }
        }
    }

    /// The data-set index of batch image `i`.
    @inline(__always)
    func datasetIndex(_ event: GEMMEvent, _ i: Int) -> Int {
        let position = event.firstImageIndex + i
        return imageIndices.map { $0[position] } ?? position
    }

    /// P = Σ_{k in range} a[k]·b[k·stride] as an FMA chain, k ascending, from 0:
    /// the arithmetic of a partial product (docs/fault-profile.md), and exactly
    /// what the GEMM computes for a reduction of at most 256.
    @inline(__always)
    public static func partialProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, bRowStride: Int,
                               range: Range<Int>) -> Float {
        has_partial_product(a + range.lowerBound, b + range.lowerBound * bRowStride, Int64(bRowStride), Int64(range.count))
    }
}
