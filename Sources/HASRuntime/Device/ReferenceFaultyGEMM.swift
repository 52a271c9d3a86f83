/// The slow, obviously-right faulty GEMM: every partial product P(r, m, n) is
/// materialised, attributed to its PE straight from the formulas of spec §3,
/// corrupted if that (PE, slot) failed, and C'[perm[r], n] = Σ_m P̃(r, m, n).
/// Written apart from `TileMap` and `FaultInjector` so that tests and
/// `has-bench faults` can check the fast path against it.
public enum ReferenceFaultyGEMM {
    /// A failing slot of one PE.
    public struct Slot: Hashable, Sendable {
        public var block: Int, thread: Int, slot: Int
        public init(block: Int, thread: Int, slot: Int) {
            self.block = block
            self.thread = thread
            self.slot = slot
        }
    }

    /// One partial product the reference corrupted.
    public struct Corruption: Hashable, Sendable {
        public var row: Int, column: Int, kTile: Int
        public var clean: UInt32, corrupted: UInt32
    }

    /// C'[M×N] of one image.
    /// - Parameters:
    ///   - a: row-major M×K weights; b(k, n) = `b[k * bRowStride + n * bColStride]`.
    ///   - c: output, c(row, n) = `c[row * cRowStride + n * cColStride]`; overwritten.
    ///   - failing: draw of each failing (PE, slot).
    /// - Returns: what was corrupted.
    /// - Complexity: O(M·K·N), like the GEMM itself, but scalar.
    @discardableResult
    public static func multiply(m: Int, k: Int, n: Int, a: UnsafePointer<Float>,
                                b: UnsafePointer<Float>, bRowStride: Int, bColStride: Int,
                                c: UnsafeMutablePointer<Float>, cRowStride: Int, cColStride: Int,
                                permutation: UnsafeBufferPointer<Int32>?, tileK: Int, blocks: Int, threads: Int,
                                kind: ErrorKind, exponentBits: ExponentBits,
                                failing: [Slot: UInt64]) -> [Corruption] {
        let kTiles = (k + tileK - 1) / tileK
        var corruptions: [Corruption] = []
        for r in 0..<m {
            let row = permutation.map { Int($0[r]) } ?? r
            let l = r / threads, t = r % threads
            for col in 0..<n {
                var total: Float = 0
                for tile in 0..<kTiles {
                    // P(r, m, n) over this tile's K range: FMA, k ascending, from 0.
                    var p: Float = 0
                    for kk in (tile * tileK)..<min(k, (tile + 1) * tileK) {
                        p = p.addingProduct(a[row * k + kk], b[kk * bRowStride + col * bColStride])
                    }
                    // Tile (l, m) runs on block (l·⌈K/tileK⌉ + m) mod B; it is that block's
                    // ((l·⌈K/tileK⌉ + m) div B)-th tile, and column n its slot within the tile.
                    let q = l * kTiles + tile
                    let key = Slot(block: q % blocks, thread: t, slot: (q / blocks) * n + col)
                    if let draw = failing[key] {
                        let corrupted = kind.corrupt(p, draw: draw, exponentBits: exponentBits)
                        corruptions.append(Corruption(row: row, column: col, kTile: tile,
                                                      clean: p.bitPattern, corrupted: corrupted.bitPattern))
                        p = corrupted
                    }
                    total = total + p
                }
                c[row * cRowStride + col * cColStride] = total
            }
        }
        return corruptions
    }
}

/// A hook that recomputes every faulty layer's GEMM with `ReferenceFaultyGEMM`
/// (overwriting the fast GEMM's output), with the failing slots drawn by the
/// same `FaultSampler` as `FaultInjector`: the fast path's independent check.
public final class ReferenceFaultInjector: @unchecked Sendable {
    public let profile: FaultProfile
    public let seed: UInt64
    public let imageIndices: [Int]?
    let layers: [String: DeviceLayer]
    let sampler: FaultSampler
    /// Called with each image's corruptions (layer, data-set image, list); must be thread-safe.
    public var observer: ((String, Int, [ReferenceFaultyGEMM.Corruption]) -> Void)?

    public init(network: Network, profile: FaultProfile, faultyLayers: [String]? = nil, seed: UInt64,
                imageIndices: [Int]? = nil) throws {
        self.profile = profile
        self.seed = seed
        self.imageIndices = imageIndices
        self.sampler = FaultSampler(profile: profile)
        self.layers = Dictionary(uniqueKeysWithValues: try network.deviceLayers(named: faultyLayers).map { ($0.name, $0) })
    }

    public var hook: (GEMMEvent) -> Void { { [self] event in inject(event) } }

    public func options(_ base: ForwardOptions = ForwardOptions()) -> ForwardOptions {
        var options = base
        options.afterGEMM = hook
        return options
    }

    public func inject(_ event: GEMMEvent) {
        guard let layer = layers[event.layerName] else { return }
        let map = layer.map(on: profile)
        let key = FaultKeys.layer(layer.name)
        for i in 0..<event.batchSize {
            let position = event.firstImageIndex + i
            let image = imageIndices.map { $0[position] } ?? position
            var failing: [ReferenceFaultyGEMM.Slot: UInt64] = [:]
            sampler.forEachFault(seed: seed, layer: key, image: image, map: map) { e in
                failing[ReferenceFaultyGEMM.Slot(block: e.block, thread: e.thread, slot: e.slot)] = e.draw
            }
            let corruptions = ReferenceFaultyGEMM.multiply(
                m: layer.shape.m, k: layer.shape.k, n: layer.shape.columnsPerImage, a: event.weights,
                b: event.input(i), bRowStride: event.bRowStride, bColStride: event.bColStride,
                c: event.output(i), cRowStride: event.cRowStride, cColStride: event.cColStride,
                permutation: event.permutation, tileK: map.tileK, blocks: map.blocks, threads: map.threads,
                kind: profile.kind, exponentBits: profile.exponentBits, failing: failing)
            observer?(layer.name, image, corruptions)
        }
    }
}
