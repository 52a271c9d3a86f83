import HASKernels

/// Makes a network's GEMMs faulty: plugs into `ForwardOptions.afterGEMM` and,
/// after each faulty layer's clean GEMM, corrects C'[perm[r], n] += P̃ − P at
/// the failing partial products only (spec §3). The clean GEMM runs at full
/// speed; the extra cost is one tile-long dot product per fault.
///
/// Corrections are applied in the sampler's order (PE by PE, slots ascending),
/// and P is always the FMA chain over the tile (k ascending, from 0), so the two
/// ways of finding P give bit-identical results: one dot product per fault
/// (few faults), or, for a dense layer with many faults, every tile's products
/// for a group of images by the GEMM itself (one extra GEMM's work, but
/// sequential memory access instead of a cache miss per fault).
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

    /// How P is found at the failing slots.
    public enum Strategy: Sendable {
        /// Per layer, whichever is cheaper for its expected number of faults; convolutions
        /// slot by slot when no observer is set (`injectBySlots`).
        case automatic
        /// One dot product per fault (and a closure per fault), for every layer.
        case perProduct
        /// Dense layers: every K tile's products by the GEMM, for groups of images.
        case perTile
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
    public var strategy: Strategy = .automatic

    let sampler: FaultSampler
    let layers: [String: Layer]

    /// - Parameters:
    ///   - faultyLayers: names of the layers to make faulty; nil = all weighted layers.
    ///   - seed: the fault seed (see `FaultKeys.trialSeed` for trials).
    ///   - imageIndices: data-set index of each image of the run, when the run is a subset.
    /// - Throws: `InputError(file: "--faulty-layers")` for a layer the network does not have.
    public convenience init(network: Network, profile: FaultProfile, faultyLayers: [String]? = nil, seed: UInt64,
                            imageIndices: [Int]? = nil, threads: Int = Parallelism.threads) throws {
        self.init(layers: try network.deviceLayers(named: faultyLayers), profile: profile, seed: seed,
                  imageIndices: imageIndices, threads: threads)
    }

    /// The injector of `layers` (GEMMs that need not belong to a network, e.g. a
    /// `SimulatedDevice`'s diagnostic GEMMs).
    init(layers faultyLayers: [DeviceLayer], profile: FaultProfile, seed: UInt64, imageIndices: [Int]? = nil,
         threads: Int = Parallelism.threads) {
        self.profile = profile
        self.seed = seed
        self.faultyLayers = faultyLayers
        self.imageIndices = imageIndices
        self.threads = threads
        self.sampler = FaultSampler(profile: profile)
        var layers: [String: Layer] = [:]
        for layer in self.faultyLayers {
            let map = layer.map(on: profile)
            layers[layer.name] = Layer(map: map, key: FaultKeys.layer(layer.name),
                                       expectedFaults: profile.expectedFaultsPerImage(map))
        }
        self.layers = layers
    }

    /// The hook for `ForwardOptions.afterGEMM`.
    public var hook: (GEMMEvent) -> Void { { [self] event in inject(event) } }

    /// `base` with this injector as its `afterGEMM` hook.
    public func options(_ base: ForwardOptions = ForwardOptions()) -> ForwardOptions {
        var options = base
        options.afterGEMM = hook
        options.hookedLayers = Set(layers.keys)
        return options
    }

    /// `base` with several injectors (for example one device per layer), applied in order.
    public static func options(_ injectors: [FaultInjector], _ base: ForwardOptions = ForwardOptions()) -> ForwardOptions {
        var options = base
        options.afterGEMM = { event in for injector in injectors { injector.inject(event) } }
        options.hookedLayers = Set(injectors.flatMap(\.layers.keys))
        return options
    }

    /// Applies the faults of one layer's GEMM over a batch (no-op for clean layers).
    public func inject(_ event: GEMMEvent) {
        guard let layer = layers[event.layerName] else { return }
        let n = event.batchSize
        if usesTiles(layer, event) {
            let groups = (n + Self.tileGroup - 1) / Self.tileGroup
            let capacity = event.shape.m * layer.map.kTiles * min(n, Self.tileGroup)
            Parallelism.forRanges(groups, threads: min(threads, groups)) { range in
                // One scratch buffer per worker, reused by its groups (fresh pages cost page faults).
                let products = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
                defer { products.deallocate() }
                for g in range {
                    self.injectByTiles(event, layer: layer, images: (g * Self.tileGroup)..<min(n, (g + 1) * Self.tileGroup),
                                       products: products)
                }
            }
            return
        }
        let workers = n >= 2 * threads ? threads : 1
        let slots = usesSlots(event)
        Parallelism.forRanges(n, threads: workers) { images in
            if slots {
                self.injectBySlots(event, layer: layer, images: images)
            } else {
                self.inject(event, layer: layer, images: images)
            }
        }
    }

    /// Images per group of the per-tile strategy (h0 of mnist32: 0.8 MB of products per image);
    /// the GEMM packs each tile's weights once per group.
    static let tileGroup = 16

    /// Whether P comes from per-tile GEMMs: dense layers whose faults per image
    /// would cost more as scattered dot products than one more GEMM.
    func usesTiles(_ layer: Layer, _ event: GEMMEvent) -> Bool {
        // The GEMM sums a reduction of at most 256 as one FMA chain, exactly like `partialProduct`.
        guard event.shape.columnsPerImage == 1, event.batchSize > 0, layer.map.tileK <= 256,
              event.batchSize == 1 || event.input(1) == event.input(0) + event.bColStride else { return false }
        switch strategy {
        case .perProduct: return false
        case .perTile: return true
        case .automatic:
            // A scattered dot product costs about as much as 3,000 MACs of a GEMM (cache and TLB misses).
            return layer.expectedFaults * 3000 > Double(event.shape.m * event.shape.k)
        }
    }

    /// The data-set index of batch image `i`.
    @inline(__always)
    func datasetIndex(_ event: GEMMEvent, _ i: Int) -> Int {
        let position = event.firstImageIndex + i
        return imageIndices.map { $0[position] } ?? position
    }

    /// One dot product per fault, for `images` of the batch together (PE-major, see `FaultSampler`).
    /// Faults are gathered in chunks whose dot products run together (`has_partial_products`:
    /// the scattered weight rows are fetched in parallel); corrections follow in the sampler's order.
    private func inject(_ event: GEMMEvent, layer: Layer, images: Range<Int>) {
        let k = event.shape.k, map = layer.map
        let a = event.weights
        let bRow = event.bRowStride, bCol = event.bColStride, cRow = event.cRowStride, cCol = event.cColStride
        let perm = event.permutation
        let kind = profile.kind, bits = profile.exponentBits
        let observer = self.observer
        let batch = PartialProductBatch<(image: Int, row: Int, event: FaultEvent)>(bRowStride: bRow)
        let apply = { (f: (image: Int, row: Int, event: FaultEvent), p: Float) in
            let corrupted = kind.corrupt(p, draw: f.event.draw, exponentBits: bits)
            event.output(f.image)[f.row * cRow + f.event.column * cCol] += corrupted - p
            observer?(Correction(layer: event.layerName, image: self.datasetIndex(event, f.image), row: f.row,
                                 column: f.event.column, event: f.event, clean: p.bitPattern, corrupted: corrupted.bitPattern))
        }
        sampler.forEachFault(seed: seed, layer: layer.key, images: images, imageIndex: { self.datasetIndex(event, $0) },
                             map: map) { i, e in
            let row = perm.map { Int($0[e.position]) } ?? e.position
            let range = map.kRange(kTile: e.kTile)
            batch.add((i, row, e), a: a + row * k + range.lowerBound,
                      b: event.input(i) + e.column * bCol + range.lowerBound * bRow, length: range.count, apply: apply)
        }
        batch.flush(apply)
    }

    /// The per-tile strategy for `images` of a dense layer's batch: P of every
    /// row, K tile and image of the group by one GEMM per tile (laid out image by
    /// image and row by row, so that the sampler's thread-major lookups stay in
    /// cache), then the faults in order.
    private func injectByTiles(_ event: GEMMEvent, layer: Layer, images: Range<Int>, products: UnsafeMutablePointer<Float>) {
        let map = layer.map, m = event.shape.m, k = event.shape.k, count = images.count, tiles = map.kTiles
        let kind = profile.kind, bits = profile.exponentBits, perm = event.permutation
        let cRow = event.cRowStride, observer = self.observer
        let first = event.input(images.lowerBound)
        for tile in 0..<tiles {
            let range = map.kRange(kTile: tile)
            // products[(j·M + row)·tiles + tile] = P(row, tile) of image images.lowerBound + j (rows unshuffled).
            PermutedGEMM.multiply(m: m, n: count, k: range.count, a: event.weights + range.lowerBound, lda: k,
                                  b: StridedMatrix(first + range.lowerBound * event.bRowStride,
                                                   rowStride: event.bRowStride, colStride: event.bColStride),
                                  c: StridedMatrix(products + tile, rowStride: tiles, colStride: tiles * m), threads: 1)
        }
        if observer == nil && Self.slotsAreFast {
            applyTileProductsBySlots(event, layer: layer, images: images, products: UnsafePointer(products))
            return
        }
        for i in images {
            let image = datasetIndex(event, i), c = event.output(i)
            let own = products + (i - images.lowerBound) * tiles * m
            sampler.forEachFault(seed: seed, layer: layer.key, image: image, map: map) { e in
                let row = perm.map { Int($0[e.position]) } ?? e.position
                let p = own[row * tiles + e.kTile]
                let corrupted = kind.corrupt(p, draw: e.draw, exponentBits: bits)
                c[row * cRow] += corrupted - p
                observer?(Correction(layer: event.layerName, image: image, row: row, column: 0, event: e,
                                     clean: p.bitPattern, corrupted: corrupted.bitPattern))
            }
        }
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
