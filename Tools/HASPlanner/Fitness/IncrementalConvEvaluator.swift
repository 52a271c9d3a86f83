import HASRuntime

/// Fast fitness for one faulty convolution followed by ReLU, a non-overlapping
/// max pool, flatten (dropouts allowed) and a dense layer D — mnist32 c0,
/// the paper's main case.
///
/// Everything clean is computed once: the conv's input, the pooled output, D's
/// pre-activations and the clean predictions; and, per fault seed and image,
/// the fault events (which slots fail does not depend on the permutation:
/// common random numbers). A candidate permutation only decides which row
/// each failing position computes. Per image it then
/// 1. recomputes the few conv outputs hit by a fault (a K-long dot product
///    with the simulator's arithmetic: the clean GEMM element, then
///    C += P̃ − P per failing partial product, in the injector's order),
/// 2. stops if ReLU and the pool window kill every change (the prediction is
///    the clean one),
/// 3. otherwise updates D's pre-activations sparsely, z += W_D[:, j]·Δx_j for
///    each changed pooled feature j, and runs the small layers after D for
///    the affected images only, in one batch per chunk.
/// Step 3's sum order differs from the full GEMM's, so logits can differ in
/// the last bits; predictions agree except at exact near-ties (tested). With
/// `exactDense`, affected images recompute D in full instead and the
/// predictions are those of `FaultyEvaluator` exactly.
public final class IncrementalConvEvaluator: PlanEvaluator, @unchecked Sendable {
    public let network: Network
    public let profile: FaultProfile
    public let layer: DeviceLayer
    public let labels: [Int]
    public let imageIndices: [Int]
    public let seeds: [UInt64]
    public let threads: Int
    public var exactDense = false
    public var plannedLayers: [DeviceLayer] { [layer] }
    public var imageCount: Int { labels.count }
    public private(set) var cleanAccuracy: Double = 0

    let conv: Conv2D
    let pool: ConvGeometry
    let dense: Dense
    /// Index of the first layer after D (and D's ReLU, applied here when present).
    let tailStart: Int
    let denseReLU: Bool
    let map: TileMap

    // Clean caches, per image.
    let inputs: [Float]       // conv input [N × C·H·W]
    let pooled: [Float]       // pooled output = D's input [N × F]
    let preActivations: [Float]  // D's W·x + b [N × M_D]
    let cleanPredictions: [Int]
    let denseTransposed: [Float] // W_D as [F][M_D]

    /// Fault events of one seed, all images, in the injector's order (CSR by image).
    struct Events {
        var start: [Int32]       // N + 1
        var position: [Int32]
        var column: [Int32]
        var kTile: [Int32]
        var draw: [UInt64]
    }
    let events: [UInt64: Events]

    /// Returns nil when the network does not have the conv → ReLU → pool → flatten → dense shape after `layer`.
    public init?(network: Network, profile: FaultProfile, layer name: String, images: Tensor, labels: [Int],
                 imageIndices: [Int]? = nil, seeds: [UInt64], threads: Int = Parallelism.threads) throws {
        guard let device = try network.deviceLayers(named: [name], option: "--layers").first,
              case .conv2d(let conv) = network.layers[device.index] else { return nil }
        let L = device.index
        guard L + 2 < network.layers.count, case .relu = network.layers[L + 1],
              case .maxPool(let p) = network.layers[L + 2],
              p.geometry.strideH == p.geometry.kernelH, p.geometry.strideW == p.geometry.kernelW else { return nil }
        var d = L + 3
        var flattened = false
        while d < network.layers.count {
            if case .dropout = network.layers[d] { d += 1; continue }
            if case .flatten = network.layers[d] { flattened = true; d += 1; continue }
            break
        }
        guard flattened, d < network.layers.count, case .dense(let dense) = network.layers[d] else { return nil }
        guard labels.count == images.shape[0] else { throw InputError(file: "labels", "\(labels.count) labels for \(images.shape[0]) images") }
        self.network = network
        self.profile = profile
        self.layer = device
        self.labels = labels
        self.imageIndices = imageIndices ?? Array(0..<labels.count)
        self.seeds = seeds
        self.threads = max(1, threads)
        self.conv = conv
        self.pool = p.geometry
        self.dense = dense
        if d + 1 < network.layers.count, case .relu = network.layers[d + 1] {
            denseReLU = true
            tailStart = d + 2
        } else {
            denseReLU = false
            tailStart = d + 1
        }
        map = device.map(on: profile)

        let options = ForwardOptions(threads: self.threads)
        let x = network.run(images, layers: 0..<L, options: options)
        inputs = x.data
        let pooledTensor = network.run(x, layers: L..<d, options: options)
        pooled = pooledTensor.data
        let z = dense.forward(pooledTensor.reshaped([labels.count, dense.inFeatures]), options: options, relu: false)
        preActivations = z.data
        var t = [Float](repeating: 0, count: dense.weight.count)
        for o in 0..<dense.outFeatures {
            for j in 0..<dense.inFeatures { t[j * dense.outFeatures + o] = dense.weight[o * dense.inFeatures + j] }
        }
        denseTransposed = t
        var tailInput = z
        if denseReLU { Activations.relu(&tailInput) }
        cleanPredictions = Activations.argmax(network.run(tailInput, layers: tailStart..<network.layers.count, options: options))
        cleanAccuracy = Double(zip(cleanPredictions, labels).filter { $0 == $1 }.count) / Double(max(1, labels.count))

        // Fault events per seed (independent of any permutation).
        let sampler = FaultSampler(profile: profile)
        let key = FaultKeys.layer(device.name)
        let indices = self.imageIndices, map = self.map, workers = self.threads
        var all: [UInt64: Events] = [:]
        for seed in Set(seeds) {
            var perImage = [[FaultEvent]](repeating: [], count: labels.count)
            perImage.withUnsafeMutableBufferPointer { out in
                Parallelism.forRanges(labels.count, threads: workers) { range in
                    for i in range { out[i] = sampler.events(seed: seed, layer: key, image: indices[i], map: map) }
                }
            }
            var e = Events(start: [0], position: [], column: [], kTile: [], draw: [])
            for list in perImage {
                for f in list {
                    e.position.append(Int32(f.position)); e.column.append(Int32(f.column))
                    e.kTile.append(Int32(f.kTile)); e.draw.append(f.draw)
                }
                e.start.append(Int32(e.position.count))
            }
            all[seed] = e
        }
        events = all
    }

    /// Faults per image per seed, on average (for reports).
    public var meanFaultsPerImage: Double {
        let total = events.values.reduce(0) { $0 + $1.position.count }
        return Double(total) / Double(max(1, events.count * labels.count))
    }

    public func accuracies(permutations: [String: [Int32]], seeds: [UInt64]) -> [Double] {
        let perm = permutations[layer.name] ?? Permutations.identity(layer.shape.m)
        return seeds.map { seed in
            let p = predictions(permutation: perm, seed: seed)
            return Double(zip(p, labels).filter { $0 == $1 }.count) / Double(max(1, labels.count))
        }
    }

    /// Predictions for one permutation and seed. `positions`, when given, keeps
    /// only the faults at positions r with `positions[r]` (sensitivity analysis).
    public func predictions(permutation: [Int32], seed: UInt64, positions: [Bool]? = nil) -> [Int] {
        precondition(Permutations.isPermutation(permutation, of: layer.shape.m), "not a permutation of \(layer.name)'s rows")
        guard let ev = events[seed] else { preconditionFailure("seed \(seed) was not prepared") }
        let n = labels.count
        var out = cleanPredictions
        let chunk = 256
        let chunks = (n + chunk - 1) / chunk
        out.withUnsafeMutableBufferPointer { result in
            Parallelism.forEach(chunks, threads: threads) { c in
                let range = (c * chunk)..<min(n, (c + 1) * chunk)
                evaluateChunk(range, permutation: permutation, events: ev, positions: positions, into: result)
            }
        }
        return out
    }

    // MARK: Per image

    private func evaluateChunk(_ range: Range<Int>, permutation: [Int32], events ev: Events, positions: [Bool]?,
                               into result: UnsafeMutableBufferPointer<Int>) {
        let g = conv.geometry, kk = g.patchSize, P = g.positions, ow = g.outWidth
        let inSize = g.channels * g.height * g.width
        let F = dense.inFeatures, MD = dense.outFeatures
        let poh = pool.outHeight, pow = pool.outWidth, ph = pool.kernelH, pw = pool.kernelW
        var affected: [Int] = []
        var batch: [Float] = []
        var column = [Float](repeating: 0, count: kk)
        // Conv outputs changed by faults in this image: key = row·P + n → corrected C.
        var changedKeys: [Int] = [], changedValues: [Float] = []
        var cells: [Int] = []
        var deltas: [(Int, Float)] = []
        let kind = profile.kind, bits = profile.exponentBits
        conv.weight.withUnsafeBufferPointer { w in
        conv.bias.withUnsafeBufferPointer { bias in
        inputs.withUnsafeBufferPointer { xin in
        pooled.withUnsafeBufferPointer { pooledBuffer in
            for i in range {
                let lo = Int(ev.start[i]), hi = Int(ev.start[i + 1])
                if lo == hi { continue }
                let image = xin.baseAddress! + i * inSize
                changedKeys.removeAll(keepingCapacity: true)
                changedValues.removeAll(keepingCapacity: true)
                for e in lo..<hi {
                    let r = Int(ev.position[e])
                    if let positions, !positions[r] { continue }
                    let row = Int(permutation[r]), n = Int(ev.column[e])
                    IncrementalConvEvaluator.patch(g, image: image, column: n, into: &column)
                    let range = map.kRange(kTile: Int(ev.kTile[e]))
                    let wr = w.baseAddress! + row * kk
                    // The injector's arithmetic: P summed k ascending, one rounding per op.
                    var p: Float = 0
                    for k in range { p = p + wr[k] * column[k] }
                    let corrupted = kind.corrupt(p, draw: ev.draw[e], exponentBits: bits)
                    let key = row * P + n
                    if let at = changedKeys.firstIndex(of: key) {
                        changedValues[at] += corrupted - p
                    } else {
                        changedKeys.append(key)
                        changedValues.append(IncrementalConvEvaluator.gemmElement(wr, column, kk) + (corrupted - p))
                    }
                }
                // Pool cells whose window holds a conv output that ReLU does not map to its clean value.
                cells.removeAll(keepingCapacity: true)
                for (key, value) in zip(changedKeys, changedValues) {
                    let row = key / P, n = key % P
                    let oy = n / ow, ox = n % ow
                    let py = oy / ph, px = ox / pw
                    guard py < poh, px < pow else { continue }  // outside every window (floor mode)
                    let b = bias[row]
                    IncrementalConvEvaluator.patch(g, image: image, column: n, into: &column)
                    let clean = IncrementalConvEvaluator.relu(IncrementalConvEvaluator.gemmElement(w.baseAddress! + row * kk, column, kk) + b)
                    let faulty = IncrementalConvEvaluator.relu(value + b)
                    if clean.bitPattern == faulty.bitPattern { continue }
                    let cell = (row * poh + py) * pow + px
                    if !cells.contains(cell) { cells.append(cell) }
                }
                if cells.isEmpty { continue }
                deltas.removeAll(keepingCapacity: true)
                for cell in cells {
                    let row = cell / (poh * pow), py = (cell / pow) % poh, px = cell % pow
                    var best = -Float.infinity
                    for dy in 0..<ph {
                        for dx in 0..<pw {
                            let n = (py * ph + dy) * ow + px * pw + dx
                            let key = row * P + n
                            let v: Float
                            if let at = changedKeys.firstIndex(of: key) {
                                v = IncrementalConvEvaluator.relu(changedValues[at] + bias[row])
                            } else {
                                IncrementalConvEvaluator.patch(g, image: image, column: n, into: &column)
                                v = IncrementalConvEvaluator.relu(IncrementalConvEvaluator.gemmElement(w.baseAddress! + row * kk, column, kk) + bias[row])
                            }
                            best = v > best ? v : best
                        }
                    }
                    let old = pooledBuffer[i * F + cell]
                    if best.bitPattern != old.bitPattern { deltas.append((cell, best)) }
                }
                if deltas.isEmpty { continue }
                affected.append(i)
                let base = batch.count
                if exactDense {
                    batch.append(contentsOf: pooledBuffer[(i * F)..<((i + 1) * F)])
                    for (j, v) in deltas { batch[base + j] = v }
                } else {
                    batch.append(contentsOf: preActivations[(i * MD)..<((i + 1) * MD)])
                    batch.withUnsafeMutableBufferPointer { z in
                        denseTransposed.withUnsafeBufferPointer { wt in
                            let zi = z.baseAddress! + base
                            for (j, v) in deltas {
                                let d = v - pooledBuffer[i * F + j]
                                let col = wt.baseAddress! + j * MD
                                for o in 0..<MD { zi[o] = zi[o].addingProduct(col[o], d) }
                            }
                        }
                    }
                }
            }
        }}}}
        if affected.isEmpty { return }
        var z: Tensor
        let single = ForwardOptions(threads: 1)
        if exactDense {
            z = dense.forward(Tensor(shape: [affected.count, F], data: batch), options: single, relu: false)
        } else {
            z = Tensor(shape: [affected.count, MD], data: batch)
        }
        if denseReLU { Activations.relu(&z) }
        let scores = network.run(z, layers: tailStart..<network.layers.count, options: single)
        for (i, p) in zip(affected, Activations.argmax(scores)) { result[i] = p }
    }

    @inline(__always)
    static func relu(_ x: Float) -> Float { x > 0 ? x : 0 }

    /// The runtime GEMM's value of one element: FMA k ascending in blocks of 256, blocks added.
    @inline(__always)
    static func gemmElement(_ a: UnsafePointer<Float>, _ b: [Float], _ k: Int) -> Float {
        var total: Float = 0
        var p0 = 0
        while p0 < k {
            var acc: Float = 0
            for kk in p0..<min(k, p0 + 256) { acc = acc.addingProduct(a[kk], b[kk]) }
            total = p0 == 0 ? acc : total + acc
            p0 += 256
        }
        return total
    }

    /// Column n of the image's im2col patch matrix (K values, (c, kh, kw) order).
    @inline(__always)
    static func patch(_ g: ConvGeometry, image: UnsafePointer<Float>, column n: Int, into out: inout [Float]) {
        let oy = n / g.outWidth, ox = n % g.outWidth
        var k = 0
        for c in 0..<g.channels {
            let plane = image + c * g.height * g.width
            for i in 0..<g.kernelH {
                let y = oy * g.strideH + i - g.padTop
                for j in 0..<g.kernelW {
                    let x = ox * g.strideW + j - g.padLeft
                    out[k] = (y >= 0 && y < g.height && x >= 0 && x < g.width) ? plane[y * g.width + x] : 0
                    k += 1
                }
            }
        }
    }
}
