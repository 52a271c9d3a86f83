import HASRuntime

/// The tests' independent faulty device: a `ForwardOptions.afterGEMM` hook that
/// overwrites each faulty layer's GEMM output with what spec §3 and
/// docs/fault-profile.md say it is, in plain scalar Swift: the clean product
/// (per element, FMA k ascending in blocks of 256 added into the total: the
/// documented arithmetic of every GEMM kernel), then for every failing slot,
/// drawn by `SpecFaultStream` and taken PE by PE (thread t ascending, then
/// block s) and slots ascending, C[π[r], n] += P̃ − P with P the tile's FMA
/// chain from 0 and P̃ = `SpecCorruption`. None of the runtime's fault code
/// (TileMap, FaultSampler, ErrorKind.corrupt, FaultInjector, the C kernels)
/// runs here, so the strategies can be checked against it bit for bit.
public final class SpecReferenceDevice: @unchecked Sendable {
    public let profile: FaultProfile
    public let seed: UInt64
    private let geometry: [String: (shape: GEMMShape, tileK: Int)]
    private let applied = Collector<Int>()

    /// - Parameter faultyLayers: the layers to make faulty; nil = all weighted layers.
    public init(network: Network, profile: FaultProfile, faultyLayers: [String]? = nil, seed: UInt64) throws {
        self.profile = profile
        self.seed = seed
        var geometry: [String: (GEMMShape, Int)] = [:]
        for layer in try network.deviceLayers(named: faultyLayers) {
            geometry[layer.name] = (layer.shape, profile.tiling.tileK(for: layer.shape, isConvolution: layer.isConvolution))
        }
        self.geometry = geometry
    }

    /// Corrections applied so far (over all layers and images).
    public var corrections: Int { applied.all.reduce(0, +) }

    /// `base` with this device as its hook.
    public func options(_ base: ForwardOptions = ForwardOptions()) -> ForwardOptions {
        var options = base
        options.afterGEMM = { [self] event in inject(event) }
        return options
    }

    public func inject(_ event: GEMMEvent) {
        guard let (shape, tileK) = geometry[event.layerName] else { return }
        let g = SpecGeometry(rows: shape.m, depth: shape.k, columns: shape.columnsPerImage, tileK: tileK,
                             blocks: profile.geometry.blocks, threads: profile.geometry.threads)
        for i in 0..<event.batchSize {
            let image = event.firstImageIndex + i
            let b = event.input(i), c = event.output(i)
            func input(_ k: Int, _ n: Int) -> Float { b[k * event.bRowStride + n * event.bColStride] }
            func weight(_ row: Int, _ k: Int) -> Float { event.weights[row * g.depth + k] }
            func output(_ row: Int, _ n: Int) -> UnsafeMutablePointer<Float> { c + row * event.cRowStride + n * event.cColStride }
            for row in 0..<g.rows {
                for n in 0..<g.columns {
                    var total: Float = 0
                    for start in stride(from: 0, to: g.depth, by: 256) {
                        var block: Float = 0
                        for k in start..<min(g.depth, start + 256) { block = block.addingProduct(weight(row, k), input(k, n)) }
                        total = start == 0 ? block : total + block
                    }
                    output(row, n).pointee = total
                }
            }
            var count = 0
            for t in 0..<g.threads {
                for s in 0..<g.blocks {
                    let failures = SpecFaultStream.failures(seed: seed, layer: event.layerName, image: image, block: s, thread: t,
                                                            rate: profile.rates[s][t], geometry: g)
                    for failure in failures {
                        let (l, m) = g.tile(failure.slot / g.columns, block: s)
                        let n = failure.slot % g.columns
                        let r = g.position(rowBlock: l, thread: t)
                        let row = event.permutation.map { Int($0[r]) } ?? r
                        var p: Float = 0
                        for k in (m * g.tileK)..<min(g.depth, (m + 1) * g.tileK) { p = p.addingProduct(weight(row, k), input(k, n)) }
                        let corrupted = Float(bitPattern: SpecCorruption.apply(profile.kind.rawValue, to: p.bitPattern,
                                                                               draw: failure.draw,
                                                                               exponentBits: profile.exponentBits.count))
                        output(row, n).pointee += corrupted - p
                        count += 1
                    }
                }
            }
            applied.append(count)
        }
    }
}
