import Foundation
import HASRuntime

extension PositionCostMatrix {
    /// The matrix for a conv layer followed by ReLU, a non-overlapping max
    /// pool, flatten (dropouts allowed) and a dense layer D (fashion c1,
    /// mnist32 c0), without running the network per entry: the faults at
    /// position r only change row π[r]'s conv outputs, so for every image,
    /// position and row it recomputes just those outputs (the failing partial
    /// products of all rows at once, one SIMD pass per fault), their pooled
    /// features, D's pre-activations by sparse updates, and the small layers
    /// after D in one batch per image. Same costs as `measure`'s full passes
    /// up to float rounding (products are not fused, the bias is added before
    /// the corrections; tested to 1e-5). With `upstream` layers (earlier faulty layers and their
    /// permutations) every draw starts from the network with those layers faulty in that draw.
    /// Returns nil when the layer is not followed by that shape.
    static func measureConvBeforeDense(network: Network, profile: FaultProfile, layer: DeviceLayer, images: Tensor,
                                       labels: [Int], imageIndices: [Int], seeds: [UInt64], threads: Int,
                                       upstream: [String: [Int32]] = [:]) throws -> [[Double]]? {
        guard case .success(let suffix) = ConvSuffix.incremental(network, convIndex: layer.index),
              let pool = suffix.pool, let dense = suffix.dense?.layer else { return nil }
        let conv = suffix.conv, g = conv.geometry
        guard pool.padTop == 0, pool.padLeft == 0 else { return nil }
        let m = conv.outChannels, P = g.positions
        let cells = pool.outHeight * pool.outWidth
        let F = dense.inFeatures, MD = dense.outFeatures, n = labels.count
        guard F == m * cells else { return nil }
        let wdT = suffix.transposedDenseWeights()

        /// The state the costs are measured from: the layer's input, its pre-activations (bias
        /// included), D's input and pre-activations, the label probabilities. Clean, or per
        /// draw with the `upstream` layers faulty in that draw.
        struct Base { var x: Tensor; var pre: [Float]; var pooled: [Float]; var z: [Float]; var reference: [Double] }
        func base(_ seed: UInt64?) throws -> Base {
            let options = ForwardOptions(threads: threads)
            let x: Tensor
            if let seed {
                let injector = try FaultInjector(network: network, profile: profile, faultyLayers: Array(upstream.keys).sorted(),
                                                 seed: seed, imageIndices: imageIndices, threads: threads)
                x = network.run(images, layers: 0..<layer.index, options: injector.options(ForwardOptions(permutations: upstream, threads: threads)))
            } else {
                x = network.run(images, layers: 0..<layer.index, options: options)
            }
            let pre = conv.forward(x, options: options).data                                           // [N, M, P]
            let pooled = network.run(x, layers: layer.index..<suffix.next, options: options).data
            let z = dense.forward(Tensor(shape: [n, F], data: pooled), options: options).data
            let scores = suffix.tailScores(z, network: network)
            let reference = (0..<n).map { FaultyEvaluation.labelProbability(rowOf: scores, $0, label: labels[$0]) }
            return Base(x: x, pre: pre, pooled: pooled, z: z, reference: reference)
        }
        let clean = upstream.isEmpty ? try base(nil) : nil

        let deltas = try PositionFaultDeltas(conv: conv, layer: layer, profile: profile)
        let imageSize = g.channels * g.height * g.width
        return try averageLoss(rows: m, images: n, seeds: seeds, threads: threads, base: { seed in try clean ?? base(seed) },
                               worker: { (deltas.scratch(), [Float](repeating: 0, count: m * m * MD), ChangeMap(cells)) }) { b, w, i, seed, local in
            let s = w.0
            b.x.data.withUnsafeBufferPointer { deltas.load(image: $0.baseAddress! + i * imageSize, into: s) }
            for r in 0..<m {
                deltas.compute(position: r, seed: seed, imageIndex: imageIndices[i], into: s)
                // Each row at r: its changed pooled features, D's pre-activations updated sparsely.
                for row in 0..<m {
                    let zRow = (r * m + row) * MD
                    for o in 0..<MD { w.1[zRow + o] = b.z[i * MD + o] }
                    let any = b.pre.withUnsafeBufferPointer { pp in
                        b.pooled.withUnsafeBufferPointer { cp in
                            deltas.pooledChanges(row: row, pool: pool, pre: pp.baseAddress!, plane: (i * m + row) * P,
                                                 clean: cp.baseAddress!, cleanPlane: i * F + row * cells, s,
                                                 into: w.2.baseAddress!)
                        }
                    }
                    guard any else { continue }
                    w.1.withUnsafeMutableBufferPointer { bp in
                        wdT.withUnsafeBufferPointer { wp in
                            for cell in 0..<cells where w.2[cell] != 0 {
                                let d = w.2[cell], zb = bp.baseAddress! + zRow, col = wp.baseAddress! + (row * cells + cell) * MD
                                for o in 0..<MD { zb[o] += col[o] * d }
                            }
                        }
                    }
                }
            }
            let scores = suffix.tailScores(w.1, network: network)
            for r in 0..<m {
                for row in 0..<m {
                    local[row * m + r] += b.reference[i] - FaultyEvaluation.labelProbability(rowOf: scores, r * m + row, label: labels[i])
                }
            }
        }
    }

    /// The matrix for a conv layer followed by ReLU, a non-overlapping max
    /// pool (dropouts allowed) and a second conv C2 at stride 1 (fashion c0, before c1),
    /// without a full pass per entry: a row's faults change only its own
    /// channel of C2's input, so C2's pre-activations change by a
    /// one-channel convolution of that channel's pooled changes, added to the
    /// clean ones; the layers after C2 then run once per image for all
    /// rows × positions. C2 is most of a full pass and costs 1/M of it here.
    /// Same costs as full passes up to float rounding (tested to 1e-5).
    /// Returns nil when the layer is not followed by that shape, or has `upstream`
    /// faulty layers (its clean state is shared by all draws).
    static func measureConvBeforeConv(network: Network, profile: FaultProfile, layer: DeviceLayer, images: Tensor,
                                      labels: [Int], imageIndices: [Int], seeds: [UInt64], threads: Int,
                                      upstream: [String: [Int32]] = [:]) throws -> [[Double]]? {
        let L = layer.index, layers = network.layers
        guard upstream.isEmpty, case .conv2d(let conv) = layers[L], L + 3 < layers.count, case .relu = layers[L + 1],
              case .maxPool(let maxPool) = layers[L + 2] else { return nil }
        let pool = maxPool.geometry
        guard pool.strideH == pool.kernelH, pool.strideW == pool.kernelW, pool.padTop == 0, pool.padLeft == 0 else { return nil }
        var c2Index = L + 3
        while c2Index < layers.count, case .dropout = layers[c2Index] { c2Index += 1 }
        guard c2Index < layers.count, case .conv2d(let conv2) = layers[c2Index] else { return nil }
        let g = conv.geometry, g2 = conv2.geometry, m = conv.outChannels, n = labels.count
        guard g2.channels == m, g2.height == pool.outHeight, g2.width == pool.outWidth,
              g2.strideH == 1, g2.strideW == 1 else { return nil }
        let P = g.positions, cells = pool.outHeight * pool.outWidth, M2 = conv2.outChannels, P2 = g2.positions
        let options = ForwardOptions(threads: threads)

        // Clean state: the layer's input and pre-activations (bias included), C2's input and pre-activations.
        let x = network.run(images, layers: 0..<L, options: options)
        let pre = conv.forward(x, options: options).data                                            // [N, M, P]
        let c2Input = network.run(x, layers: L..<c2Index, options: options)                          // [N, M, cells]
        let y2 = conv2.forward(c2Input, options: options).data                                       // [N, M2, P2]
        let pooled = c2Input.data
        let tail = (c2Index + 1)..<layers.count
        var reluPool: MaxPool2D?
        if c2Index + 2 < layers.count, case .relu = layers[c2Index + 1], case .maxPool(let p2) = layers[c2Index + 2],
           p2.geometry.padTop == 0, p2.geometry.padLeft == 0, p2.geometry.padBottom == 0, p2.geometry.padRight == 0 {
            reluPool = p2
        }
        let zeroBias = [Float](repeating: 0, count: M2)
        let cleanScores = network.run(Tensor(shape: [n, M2, g2.outHeight, g2.outWidth], data: y2), layers: tail, options: options)
        let clean = (0..<n).map { FaultyEvaluation.labelProbability(rowOf: cleanScores, $0, label: labels[$0]) }

        let deltas = try PositionFaultDeltas(conv: conv, layer: layer, profile: profile)
        let imageSize = g.channels * g.height * g.width, plane2 = M2 * P2
        return averageLoss(rows: m, images: n, seeds: seeds, threads: threads, base: { _ in () },
                           worker: { (deltas.scratch(), [Float](repeating: 0, count: m * m * plane2), ChangeMap(cells),
                                      [Float](repeating: 0, count: g2.kernelH * g2.kernelW * P2)) }) { _, w, i, seed, local in
            let s = w.0
            x.data.withUnsafeBufferPointer { deltas.load(image: $0.baseAddress! + i * imageSize, into: s) }
            w.1.withUnsafeMutableBufferPointer { bp in
                y2.withUnsafeBufferPointer { yp in
                    for v in 0..<(m * m) { (bp.baseAddress! + v * plane2).update(from: yp.baseAddress! + i * plane2, count: plane2) }
                }
            }
            for r in 0..<m {
                deltas.compute(position: r, seed: seed, imageIndex: imageIndices[i], into: s)
                for row in 0..<m {
                    // The row's pooled changes as a map (C2's input channel `row`).
                    let any = pre.withUnsafeBufferPointer { pp in
                        pooled.withUnsafeBufferPointer { cp in
                            deltas.pooledChanges(row: row, pool: pool, pre: pp.baseAddress!, plane: (i * m + row) * P,
                                                 clean: cp.baseAddress!, cleanPlane: (i * m + row) * cells, s,
                                                 into: w.2.baseAddress!)
                        }
                    }
                    guard any else { continue }
                    addOneChannelConvolution(of: w.2.values, channel: row, conv: conv2, patches: &w.3,
                                             into: &w.1, at: (r * m + row) * plane2)
                }
            }
            let scores: Tensor
            if let pool2 = reluPool {
                // C2's ReLU and pool in one vectorised pass (bit-identical to the two layers, NaN included).
                let size = pool2.outputShape.reduce(1, *)
                var pooled2 = [Float](repeating: 0, count: m * m * size)
                w.1.withUnsafeBufferPointer { bp in
                    pooled2.withUnsafeMutableBufferPointer { op in
                        for v in 0..<(m * m) {
                            pool2.poolBiasReLU(image: bp.baseAddress! + v * plane2, into: op.baseAddress! + v * size, bias: zeroBias)
                        }
                    }
                }
                scores = network.run(Tensor(shape: [m * m] + pool2.outputShape, data: pooled2), layers: (c2Index + 3)..<layers.count,
                                     options: ForwardOptions(threads: 1))
            } else {
                scores = network.run(Tensor(shape: [m * m, M2, g2.outHeight, g2.outWidth], data: w.1), layers: tail,
                                     options: ForwardOptions(threads: 1))
            }
            for r in 0..<m {
                for row in 0..<m {
                    local[row * m + r] += clean[i] - FaultyEvaluation.labelProbability(rowOf: scores, r * m + row, label: labels[i])
                }
            }
        }
    }

    /// Adds `conv` (stride 1, bias excluded) applied to `map` as its input channel `channel`, all
    /// other channels zero, to `out[offset...]` ([O][P] of `conv`). The map's patches [taps][P] go
    /// to `patches` (per tap and output row a shifted run of one map row, zeros outside); then,
    /// per output channel, the taps are summed in 16-wide registers over P: one load and store
    /// of the output per 16 taps.
    static func addOneChannelConvolution(of map: UnsafeMutableBufferPointer<Float>, channel: Int, conv: Conv2D,
                                         patches: inout [Float], into out: inout [Float], at offset: Int) {
        let g = conv.geometry, P = g.positions, oh = g.outHeight, ow = g.outWidth, h = g.height, w = g.width
        let taps = g.kernelH * g.kernelW
        patches.withUnsafeMutableBufferPointer { ap in
            for ky in 0..<g.kernelH {
                for kx in 0..<g.kernelW {
                    let shift = kx - g.padLeft, lo = max(0, -shift), hi = min(ow, w - shift)
                    for oy in 0..<oh {
                        let dst = ap.baseAddress! + (ky * g.kernelW + kx) * P + oy * ow
                        let iy = oy - g.padTop + ky
                        guard iy >= 0, iy < h, lo < hi else { dst.update(repeating: 0, count: ow); continue }
                        for ox in 0..<lo { dst[ox] = 0 }
                        for ox in lo..<hi { dst[ox] = map[iy * w + ox + shift] }
                        for ox in hi..<ow { dst[ox] = 0 }
                    }
                }
            }
        }
        out.withUnsafeMutableBufferPointer { bp in
            patches.withUnsafeBufferPointer { ap in
                conv.weight.withUnsafeBufferPointer { wp in
                    let a = ap.baseAddress!
                    for o in 0..<conv.outChannels {
                        let y = bp.baseAddress! + offset + o * P, weights = wp.baseAddress! + o * g.patchSize + channel * taps
                        var q = 0
                        while q + 16 <= P {
                            var acc = UnsafeRawPointer(y + q).loadUnaligned(as: SIMD16<Float>.self)
                            for t in 0..<taps {
                                acc += weights[t] * UnsafeRawPointer(a + t * P + q).loadUnaligned(as: SIMD16<Float>.self)
                            }
                            UnsafeMutableRawPointer(y + q).storeBytes(of: acc, as: SIMD16<Float>.self)
                            q += 16
                        }
                        for rest in q..<P {
                            var v = y[rest]
                            for t in 0..<taps { v += weights[t] * a[t * P + rest] }
                            y[rest] = v
                        }
                    }
                }
            }
        }
    }

    /// A row's pooled changes, one per cell (raw storage: written per cell in the hot loop).
    final class ChangeMap {
        let values: UnsafeMutableBufferPointer<Float>
        init(_ count: Int) { values = .allocate(capacity: count); values.initialize(repeating: 0) }
        deinit { values.deallocate() }
        var baseAddress: UnsafeMutablePointer<Float>? { values.baseAddress }
        subscript(i: Int) -> Float { values[i] }
    }

    /// cost[row][position]: the mean over seeds and images of what `image` adds to
    /// `local[row * rows + position]`, images in chunks across threads, each worker
    /// with its own buffers from `worker`, every draw measured from its `base`. Summed
    /// per chunk in a fixed order, so the result does not depend on the thread count.
    static func averageLoss<Base, Worker>(rows m: Int, images n: Int, seeds: [UInt64], threads: Int,
                                          base: (UInt64) throws -> Base, worker: () -> Worker,
                                          image: (Base, inout Worker, Int, UInt64, inout [Double]) -> Void) rethrows -> [[Double]] {
        let chunk = 8, chunks = (n + chunk - 1) / chunk
        var total = [Double](repeating: 0, count: m * m)
        for seed in seeds {
            let b = try base(seed)
            var parts = [[Double]](repeating: [], count: chunks)
            parts.withUnsafeMutableBufferPointer { out in
                Parallelism.forEach(chunks, threads: threads) { c in
                    var local = [Double](repeating: 0, count: m * m)
                    var w = worker()
                    for i in (c * chunk)..<min(n, (c + 1) * chunk) { image(b, &w, i, seed, &local) }
                    out[c] = local
                }
            }
            for part in parts { for j in 0..<(m * m) { total[j] += part[j] } }
        }
        let scale = 1 / Double(max(1, n * seeds.count))
        return (0..<m).map { row in (0..<m).map { total[row * m + $0] * scale } }
    }
}
