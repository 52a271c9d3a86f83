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
    /// the corrections; tested to 1e-5). Returns nil when the layer is not followed by that shape.
    static func measureConvBeforeDense(network: Network, profile: FaultProfile, layer: DeviceLayer, images: Tensor,
                                       labels: [Int], imageIndices: [Int], seeds: [UInt64], threads: Int) -> [[Double]]? {
        guard case .conv2d(let conv) = network.layers[layer.index],
              let suffix = IncrementalConvEvaluator.Suffix(network: network, convIndex: layer.index) else { return nil }
        let g = conv.geometry, pool = suffix.pool, dense = suffix.dense
        guard pool.padTop == 0, pool.padLeft == 0 else { return nil }
        let m = conv.outChannels, P = g.positions, K = g.patchSize, ow = g.outWidth
        let poh = pool.outHeight, pw = pool.outWidth, cells = poh * pw
        let F = dense.inFeatures, MD = dense.outFeatures, n = labels.count
        guard F == m * cells else { return nil }

        // Clean state: the layer's input, its pre-activations (bias included), D's input and pre-activations.
        let x = network.run(images, layers: 0..<layer.index, options: ForwardOptions(threads: threads))
        let pre = conv.forward(x, options: ForwardOptions(threads: threads)).data                  // [N, M, P]
        let pooled = network.run(x, layers: layer.index..<suffix.denseIndex, options: ForwardOptions(threads: threads)).data
        let z = dense.forward(Tensor(shape: [n, F], data: pooled), options: ForwardOptions(threads: threads)).data
        let wdT = suffix.transposedDenseWeights()
        let cleanScores = suffix.tailScores(z, network: network)
        let clean = (0..<n).map { FaultyEvaluation.labelProbability(rowOf: cleanScores, $0, label: labels[$0]) }

        // The layer's weights per K tile, transposed so that one fault's products for all rows are one SIMD pass.
        let map = layer.map(on: profile)
        var wT = [Float](repeating: 0, count: K * m)                                                  // [K][M]
        for row in 0..<m { for k in 0..<K { wT[k * m + row] = conv.weight[row * K + k] } }
        let samplers = (0..<m).map { r in
            FaultSampler(profile: try! profile.keepingThreads([r % profile.geometry.threads]))
        }
        let key = FaultKeys.layer(layer.name), kind = profile.kind, bits = profile.exponentBits

        let chunk = 8, chunks = (n + chunk - 1) / chunk
        var total = [Double](repeating: 0, count: m * m)
        for seed in seeds {
            var parts = [[Double]](repeating: [], count: chunks)
            parts.withUnsafeMutableBufferPointer { out in
                Parallelism.forEach(chunks, threads: threads) { c in
                    var local = [Double](repeating: 0, count: m * m)
                    var column = [Float](repeating: 0, count: K * P)                                // im2col [P][K]
                    var products = [Float](repeating: 0, count: m)
                    var delta = [Float](repeating: 0, count: m * P)
                    var touched = [Bool](repeating: false, count: P)
                    var batch = [Float](repeating: 0, count: m * m * MD)
                    for i in (c * chunk)..<min(n, (c + 1) * chunk) {
                        x.data.withUnsafeBufferPointer { xp in
                            var one = [Float](repeating: 0, count: K)
                            let image = xp.baseAddress! + i * g.channels * g.height * g.width
                            for p in 0..<P {
                                IncrementalConvEvaluator.patch(g, image: image, column: p, into: &one)
                                for k in 0..<K { column[p * K + k] = one[k] }
                            }
                        }
                        for r in 0..<m {
                            for j in 0..<(m * P) { delta[j] = 0 }
                            for p in 0..<P { touched[p] = false }
                            for e in samplers[r].events(seed: seed, layer: key, image: imageIndices[i], map: map) where e.position == r {
                                // P for every row at once, k ascending from 0. Multiply then add, not FMA:
                                // `addingProduct` is a libm call per element without -mfma, and this
                                // matrix is a guide (one rounding more per step moves costs by ~1e-7).
                                for row in 0..<m { products[row] = 0 }
                                products.withUnsafeMutableBufferPointer { acc in
                                    wT.withUnsafeBufferPointer { wp in
                                        for k in map.kRange(kTile: e.kTile) {
                                            let b = column[e.column * K + k], w = wp.baseAddress! + k * m
                                            for row in 0..<m { acc[row] += w[row] * b }
                                        }
                                    }
                                }
                                for row in 0..<m {
                                    let p = products[row]
                                    delta[row * P + e.column] += kind.corrupt(p, draw: e.draw, exponentBits: bits) - p
                                }
                                touched[e.column] = true
                            }
                            // Each row at r: its changed pooled features, D's pre-activations updated sparsely.
                            for row in 0..<m {
                                let zRow = (r * m + row) * MD
                                for o in 0..<MD { batch[zRow + o] = z[i * MD + o] }
                                let plane = (i * m + row) * P
                                for cell in 0..<cells {
                                    let py = cell / pw, px = cell % pw
                                    var hit = false
                                    for dy in 0..<pool.kernelH {
                                        for dx in 0..<pool.kernelW where touched[(py * pool.kernelH + dy) * ow + px * pool.kernelW + dx] { hit = true }
                                    }
                                    if !hit { continue }
                                    var best = -Float.infinity
                                    for dy in 0..<pool.kernelH {
                                        for dx in 0..<pool.kernelW {
                                            let q = (py * pool.kernelH + dy) * ow + px * pool.kernelW + dx
                                            let v = pre[plane + q] + delta[row * P + q]
                                            let a = v > 0 ? v : 0
                                            best = (a.isNaN || best.isNaN) ? a + best : max(a, best)
                                        }
                                    }
                                    let f = row * cells + cell
                                    let d = best - pooled[i * F + f]
                                    if d == 0 { continue }
                                    batch.withUnsafeMutableBufferPointer { bp in
                                        wdT.withUnsafeBufferPointer { wp in
                                            let zb = bp.baseAddress! + zRow, col = wp.baseAddress! + f * MD
                                            for o in 0..<MD { zb[o] += col[o] * d }
                                        }
                                    }
                                }
                            }
                        }
                        let scores = suffix.tailScores(batch, network: network)
                        for r in 0..<m {
                            for row in 0..<m {
                                let faulty = FaultyEvaluation.labelProbability(rowOf: scores, r * m + row, label: labels[i])
                                local[row * m + r] += clean[i] - faulty
                            }
                        }
                    }
                    out[c] = local
                }
            }
            for part in parts { for j in 0..<(m * m) { total[j] += part[j] } }
        }
        let scale = 1 / Double(max(1, n * seeds.count))
        return (0..<m).map { row in (0..<m).map { total[row * m + $0] * scale } }
    }
}
