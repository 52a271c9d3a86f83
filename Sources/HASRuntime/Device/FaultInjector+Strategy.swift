import HASKernels

extension FaultInjector {
    /// How a layer's faulty partial products are found and corrected, chosen by
    /// name. Every strategy gives the same bits: the same failing slots and draws
    /// (`FaultSampler`'s stream), P always the FMA chain over the tile (k
    /// ascending, from 0), and each element's corrections in the sampler's order.
    /// DeviceTests' StrategyMatrixTests compare each one with an independent
    /// scalar reference for every error kind, layer type, plan and kernel ISA.
    public enum Strategy: String, CaseIterable, Sendable {
        /// Per layer and batch, one of the others by the rule of `resolved(_:_:)`,
        /// which looks at the layer, the rates and the CPU, never at the observer.
        case automatic
        /// One tile-long dot product per fault (gathered for `has_partial_products`),
        /// the faults walked by `FaultSampler` as `FaultEvent`s. Any layer; the only
        /// strategy that can report corrections to an observer.
        case perFault
        /// P of every row, K tile and column by the GEMM (one per K tile; dense layers
        /// for groups of 16 images, each tile's weights packed once), then the
        /// corrections: dense layers PE by PE for the group's images at once
        /// (`has_decide_slot_codes_by_slot`, `has_apply_dense_codes`; geometric PEs in
        /// Swift), convolutions by `FaultSampler`'s walk. Needs
        /// tileK ≤ 256 (the GEMM adds longer reductions in blocks of 256).
        case perTile
        /// Per PE tile in C (`FaultInjector+Slots.swift`): high-rate PEs decide the
        /// slots of a group of images at once (one image's stream per vector lane) and
        /// correct a whole tile from one vectorised pass of products for all of a
        /// block's rows; low-rate PEs gather their few faults for `has_partial_products`.
        /// Needs B's and C's columns contiguous (convolutions; dense layers have one column).
        case slots

        /// Whether the strategy makes a `Correction` per fault for `FaultInjector.observe`.
        public var reportsCorrections: Bool { self == .perFault }
    }

    /// A strategy or observer that cannot work with this injector's layers.
    public struct ConfigurationError: Error, CustomStringConvertible {
        public let description: String
    }

    /// A scattered dot product costs about as much as this many MACs of a GEMM (cache
    /// and TLB misses): `automatic` takes `perTile` for a dense layer when its expected
    /// faults per image times this exceed M·K.
    static let perTileBreakEven = 3000.0

    /// Whether the CPU runs the slot path's tile products on hardware FMA (without
    /// it, libm's fmaf per column is slower than a dot product per fault).
    static let slotsAreFast = has_slot_injection_is_fast() != 0

    /// The strategy that runs `event` of `layer`: `strategy` itself unless it is
    /// `.automatic`, which takes
    /// - for a GEMM of several columns per image (convolutions): `.slots` when the CPU
    ///   has FMA and B's and C's columns are contiguous, else `.perFault`;
    /// - for one column per image (dense layers): `.perTile` when expected faults per
    ///   image × `perTileBreakEven` > M·K, tileK ≤ 256 and the batch's inputs are
    ///   contiguous, else `.perFault`.
    func resolved(_ layer: Layer, _ event: GEMMEvent) -> Strategy {
        switch strategy {
        case .perFault, .perTile:
            return strategy
        case .slots:
            precondition(slotsApply(event), "the slots strategy needs contiguous B and C columns (layer \(event.layerName))")
            return strategy
        case .automatic:
            if event.shape.columnsPerImage > 1 {
                return Self.slotsAreFast && slotsApply(event) ? .slots : .perFault
            }
            let manyFaults = layer.expectedFaults * Self.perTileBreakEven > Double(event.shape.m * event.shape.k)
            return manyFaults && layer.map.tileK <= Self.maxTileK && batchIsContiguous(event) ? .perTile : .perFault
        }
    }

    /// The longest K tile whose products the GEMM computes as one FMA chain (its KC).
    static let maxTileK = 256

    /// Whether the slot path can address `event`'s columns.
    func slotsApply(_ event: GEMMEvent) -> Bool {
        event.shape.columnsPerImage == 1 || (event.bColStride == 1 && event.cColStride == 1)
    }

    /// Whether the batch's B columns follow one another (a dense layer's Xᵀ), so that
    /// one GEMM covers a group of images.
    func batchIsContiguous(_ event: GEMMEvent) -> Bool {
        event.shape.columnsPerImage == 1 && (event.batchSize == 1 || event.input(1) == event.input(0) + event.bColStride)
    }

    /// Checks `strategy` against the layers before anything runs.
    static func validate(_ strategy: Strategy, _ layers: [DeviceLayer], _ profile: FaultProfile) throws {
        guard strategy == .perTile else { return }
        for layer in layers where layer.map(on: profile).tileK > maxTileK {
            throw ConfigurationError(description: "the perTile strategy needs K tiles of at most \(maxTileK) "
                                     + "(layer \(layer.name) has \(layer.map(on: profile).tileK))")
        }
    }
}
