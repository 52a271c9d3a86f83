import HASRuntime

/// For a conv layer with at most T rows: how every row's pre-activations
/// change if that row ran at position r, under r's faults in one draw for
/// one image. All rows at once (one SIMD pass over the rows per failing
/// partial product), because a cost matrix needs every row at every
/// position. The sparse `PositionCostMatrix` paths build on it.
struct PositionFaultDeltas: Sendable {
    let geometry: ConvGeometry
    let rows: Int
    /// The layer's weights as [K][M], so that one failing slot's products for all rows are one pass.
    private let transposedWeights: [Float]
    private let map: TileMap
    /// Per position r: a sampler for the device with only thread r's PEs faulty (so, only r's draws).
    private let samplers: [FaultSampler]
    private let key: UInt64
    private let kind: ErrorKind
    private let bits: ExponentBits

    init(conv: Conv2D, layer: DeviceLayer, profile: FaultProfile) throws {
        let m = conv.outChannels, k = conv.geometry.patchSize
        geometry = conv.geometry
        rows = m
        var t = [Float](repeating: 0, count: k * m)
        for row in 0..<m { for j in 0..<k { t[j * m + row] = conv.weight[row * k + j] } }
        transposedWeights = t
        map = layer.map(on: profile)
        samplers = try (0..<m).map { r in FaultSampler(profile: try profile.keepingThreads([r % profile.geometry.threads])) }
        key = FaultKeys.layer(layer.name)
        kind = profile.kind
        bits = profile.exponentBits
    }

    /// One worker's buffers. Raw storage behind `let`s: the hot loops touch them per
    /// failing product and per pool cell, where array properties of a class pay a
    /// dynamic exclusivity check on every access.
    final class Scratch {
        /// The image's patches, [P][K].
        let column: UnsafeMutableBufferPointer<Float>
        let products: UnsafeMutableBufferPointer<Float>
        /// [M][P]: each row's pre-activation change at the position last computed.
        let delta: UnsafeMutableBufferPointer<Float>
        /// [P]: output positions with at least one failing partial product.
        let touched: UnsafeMutableBufferPointer<Bool>
        var patch: [Float]
        init(_ g: ConvGeometry, rows m: Int) {
            column = .allocate(capacity: g.patchSize * g.positions)
            products = .allocate(capacity: m)
            delta = .allocate(capacity: m * g.positions)
            touched = .allocate(capacity: g.positions)
            patch = [Float](repeating: 0, count: g.patchSize)
        }
        deinit {
            column.deallocate(); products.deallocate(); delta.deallocate(); touched.deallocate()
        }
    }

    func scratch() -> Scratch { Scratch(geometry, rows: rows) }

    /// Unfolds one CHW image (the layer's input) into `s.column`.
    func load(image: UnsafePointer<Float>, into s: Scratch) {
        let k = geometry.patchSize
        for p in 0..<geometry.positions {
            IncrementalConvEvaluator.patch(geometry, image: image, column: p, into: &s.patch)
            for j in 0..<k { s.column[p * k + j] = s.patch[j] }
        }
    }

    /// `s.delta` and `s.touched` for position r of image `imageIndex` (its index in the data set) in draw `seed`.
    func compute(position r: Int, seed: UInt64, imageIndex: Int, into s: Scratch) {
        let m = rows, k = geometry.patchSize, n = geometry.positions
        for j in 0..<(m * n) { s.delta[j] = 0 }
        for p in 0..<n { s.touched[p] = false }
        for e in samplers[r].events(seed: seed, layer: key, image: imageIndex, map: map) where e.position == r {
            // P for every row at once, k ascending from 0. Multiply then add, not FMA:
            // `addingProduct` is a libm call per element without -mfma, and the cost
            // matrix is a guide (one rounding more per step moves costs by ~1e-7).
            let acc = s.products
            for row in 0..<m { acc[row] = 0 }
            transposedWeights.withUnsafeBufferPointer { wp in
                for j in map.kRange(kTile: e.kTile) {
                    let b = s.column[e.column * k + j], w = wp.baseAddress! + j * m
                    for row in 0..<m { acc[row] += w[row] * b }
                }
            }
            for row in 0..<m {
                let p = s.products[row]
                s.delta[row * n + e.column] += kind.corrupt(p, draw: e.draw, exponentBits: bits) - p
            }
            s.touched[e.column] = true
        }
    }

    /// Row `row`'s change of its ReLU-then-max-pooled outputs, cell by cell, into `out` (0 where
    /// nothing changed); whether any cell changed. `pre` holds the clean pre-activations (bias
    /// included) and `clean` the clean pooled outputs; `plane` and `cleanPlane` are the offsets of
    /// this image's row `row` in them.
    func pooledChanges(row: Int, pool: ConvGeometry, pre: UnsafePointer<Float>, plane: Int,
                       clean: UnsafePointer<Float>, cleanPlane: Int, _ s: Scratch, into out: UnsafeMutablePointer<Float>) -> Bool {
        let ow = geometry.outWidth, n = geometry.positions, pw = pool.outWidth
        let touched = s.touched, delta = s.delta.baseAddress! + row * n, pre = pre + plane
        var any = false
        for cell in 0..<(pool.outHeight * pw) {
            out[cell] = 0
            let py = cell / pw, px = cell % pw
            var hit = false
            for dy in 0..<pool.kernelH {
                for dx in 0..<pool.kernelW where touched[(py * pool.kernelH + dy) * ow + px * pool.kernelW + dx] { hit = true }
            }
            guard hit else { continue }
            var best = -Float.infinity
            for dy in 0..<pool.kernelH {
                for dx in 0..<pool.kernelW {
                    let q = (py * pool.kernelH + dy) * ow + px * pool.kernelW + dx
                    let v = pre[q] + delta[q]
                    let a = v > 0 ? v : 0
                    best = (a.isNaN || best.isNaN) ? a + best : max(a, best)
                }
            }
            let d = best - clean[cleanPlane + cell]
            if d != 0 { out[cell] = d; any = true }
        }
        return any
    }
}
