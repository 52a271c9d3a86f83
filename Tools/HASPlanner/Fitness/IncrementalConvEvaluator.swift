import Foundation
import HASRuntime

/// Fast fitness for one faulty convolution followed by ReLU, a non-overlapping
/// max pool, flatten (dropouts allowed) and a dense layer D — mnist32 c0,
/// the paper's main case. Predictions equal `FaultyEvaluator`'s (tested).
///
/// Why it is fast: which slots fail does not depend on the permutation
/// (common random numbers), and the faults at position r only ever touch the
/// conv outputs — hence the pooled features — of the row π[r] placed there.
/// So, once per fault seed, for every image, every position r that has
/// faults and every row that could sit there, the evaluator precomputes the
/// pooled features that change (recomputing the few conv outputs involved
/// with the simulator's arithmetic: clean GEMM element, then C += P̃ − P per
/// failing partial product in the injector's order, ReLU, window max). Most
/// (position, row) pairs change nothing: ReLU and the pool window kill them.
///
/// A candidate permutation then costs, per image, one lookup per position
/// with faults. Images where nothing changes keep their clean prediction;
/// the others update D's pre-activations sparsely, z += W_D[:, j]·Δx_j per
/// changed feature, and run the small layers after D in one batch per chunk.
/// An image's outcome is a function of the rows at its effective positions,
/// so it is memoised under that signature: the GA revisits the same
/// placements constantly.
///
/// The sparse update sums in another order than the full GEMM, so logits can
/// differ in the last bits and a prediction at an exact near-tie could flip
/// (tests bound this); with `exactDense` affected images recompute D in full
/// and predictions are bit-for-bit those of `FaultyEvaluator`.
public final class IncrementalConvEvaluator: PlanEvaluator, @unchecked Sendable {
    public let network: Network
    public let profile: FaultProfile
    public let layer: DeviceLayer
    public let labels: [Int]
    public let imageIndices: [Int]
    public let seeds: [UInt64]
    public let threads: Int
    /// Recompute D in full for affected images (bit-exact, slower); clears the memo when changed.
    public var exactDense = false { didSet { if exactDense != oldValue { resetMemo() } } }
    /// Skip the layers after D for images whose change provably keeps their
    /// clean prediction (`TailCertificate`); off in `exactDense` mode, and off
    /// to measure what it saves. Predictions are the same either way.
    public var certifies = true { didSet { if certifies != oldValue { resetMemo() } } }
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

    let pooled: [Float]          // D's input [N × F]
    let preActivations: [Float]  // D's W·x + b [N × M_D]
    let cleanPredictions: [Int]
    let denseTransposed: [Float] // W_D as [F][M_D]
    /// When a change to D's outputs cannot change a prediction (nil: the layers after D are not a dense chain).
    let certificate: TailCertificate?

    /// For one seed: per image, its positions with faults ("groups"); per
    /// group, the rows for which the group changes a pooled feature, and
    /// those changes (feature index, new value).
    struct Effects {
        var imageStart: [Int32] = [0]  // N + 1, into groups
        var position: [Int32] = []     // per group
        var rowStart: [Int32] = [0]    // groups + 1, into rows
        var row: [Int32] = []          // ascending within a group
        var changeStart: [Int32] = [0] // rows + 1, into changes
        var feature: [Int32] = []
        var value: [Float] = []
        /// Per change: value − the clean pooled feature (what the sparse update of D scales its column by).
        var delta: [Float] = []
        /// Per row entry: Σ |Δ feature|·‖W_D[:, feature]‖₂ over its changes, a bound on how far it moves D's outputs.
        var bound: [Double] = []
        var faults = 0
    }
    let effects: [UInt64: Effects]

    /// Memo per seed and image: signature (its effective (group, row) entries) → prediction,
    /// filed under a 64-bit hash of the signature so that a lookup allocates nothing; the
    /// stored signature is compared in full (a colliding one is a miss, and is replaced).
    final class Memo: @unchecked Sendable {
        var table: [UInt64: (signature: [Int32], prediction: Int)] = [:]

        static func key(_ hits: [Int32]) -> UInt64 {
            var h: UInt64 = 0x9E37_79B9_7F4A_7C15
            for e in hits { h = SplitMix64.mix(h ^ UInt64(UInt32(bitPattern: e))) }
            return h
        }

        func prediction(_ hits: [Int32], key: UInt64) -> Int? {
            guard let entry = table[key], entry.signature == hits else { return nil }
            return entry.prediction
        }

        /// Entries kept per image: the memo is a cache, so forgetting changes no
        /// result, and a full table starts over, which keeps memory flat however
        /// many generations or `--runs` a search makes.
        static let capacity = 256

        func remember(_ hits: [Int32], key: UInt64, prediction: Int) {
            if table.count >= Memo.capacity && table[key] == nil { table.removeAll(keepingCapacity: true) }
            table[key] = (hits, prediction)
        }
    }
    private var memo: [UInt64: [Memo]] = [:]

    /// Returns nil when the network does not have the conv → ReLU → pool → flatten → dense shape after `layer`.
    public init?(network: Network, profile: FaultProfile, layer name: String, images: Tensor, labels: [Int],
                 imageIndices: [Int]? = nil, seeds: [UInt64], threads: Int = Parallelism.threads) throws {
        guard let device = try network.deviceLayers(named: [name], option: "--layers").first,
              case .success(let suffix) = ConvSuffix.incremental(network, convIndex: device.index),
              case let (dense, denseReLU, tailStart)? = suffix.dense,
              let pool = suffix.pool else { return nil }
        let L = device.index, conv = suffix.conv, d = suffix.next
        guard labels.count == images.shape[0] else { throw InputError(file: "labels", "\(labels.count) labels for \(images.shape[0]) images") }
        if let imageIndices, imageIndices.count != labels.count {
            throw InputError(file: "images", "\(imageIndices.count) image indices for \(labels.count) images")
        }
        self.network = network
        self.profile = profile
        self.layer = device
        self.labels = labels
        self.imageIndices = imageIndices ?? Array(0..<labels.count)
        self.seeds = seeds
        self.threads = max(1, threads)
        self.conv = conv
        self.pool = pool
        self.dense = dense
        self.denseReLU = denseReLU
        self.tailStart = tailStart
        let map = device.map(on: profile)
        self.map = map

        let options = ForwardOptions(threads: self.threads)
        let x = network.run(images, layers: 0..<L, options: options)
        let pooledTensor = network.run(x, layers: L..<d, options: options)
        pooled = pooledTensor.data
        let z = dense.forward(pooledTensor.reshaped([labels.count, dense.inFeatures]), options: options, relu: false)
        preActivations = z.data
        let transposed = suffix.transposedDenseWeights()
        denseTransposed = transposed
        var tailInput = z
        if denseReLU { Activations.relu(&tailInput) }
        let predictions = Activations.argmax(network.run(tailInput, layers: tailStart..<network.layers.count, options: options))
        cleanPredictions = predictions
        cleanAccuracy = Double(zip(predictions, labels).filter { $0 == $1 }.count) / Double(max(1, labels.count))
        certificate = TailCertificate(network: network, tailStart: tailStart, tailInputs: tailInput.data,
                                      width: dense.outFeatures, predictions: predictions)

        // ‖W_D[:, j]‖₂ per feature (rounded up a little), for each change's bound.
        let columnNorms = (0..<dense.inFeatures).map { j in
            (0..<dense.outFeatures).reduce(0.0) { sum, o in
                let w = Double(transposed[j * dense.outFeatures + o])
                return sum + w * w
            }.squareRoot() * (1 + 1e-6)
        }
        var all: [UInt64: Effects] = [:]
        for seed in Set(seeds) {
            var fx = IncrementalConvEvaluator.effects(seed: seed, conv: conv, pool: pool, map: map, profile: profile,
                                                      layerName: device.name, inputs: x, pooled: pooledTensor.data,
                                                      imageIndices: self.imageIndices, threads: self.threads)
            let F = dense.inFeatures
            for i in 0..<labels.count {
                for e in Int(fx.rowStart[Int(fx.imageStart[i])])..<Int(fx.rowStart[Int(fx.imageStart[i + 1])]) {
                    var b = 0.0
                    for c in Int(fx.changeStart[e])..<Int(fx.changeStart[e + 1]) {
                        let j = Int(fx.feature[c])
                        fx.delta.append(fx.value[c] - pooledTensor.data[i * F + j])
                        b += abs(Double(fx.value[c]) - Double(pooledTensor.data[i * F + j])) * columnNorms[j]
                    }
                    fx.bound.append(b.isNaN ? .infinity : b)
                }
            }
            all[seed] = fx
        }
        effects = all
        resetMemo()
    }

    /// Empties the memo (a new GA run starts; results do not change).
    public func forgetCandidates() { resetMemo() }

    private func resetMemo() {
        memo = Dictionary(uniqueKeysWithValues: effects.keys.map { ($0, (0..<labels.count).map { _ in Memo() }) })
    }

    /// Work counters (for benchmarks): images whose layers after D were run, memo hits, and
    /// images changed by their faults yet certified to keep their clean prediction.
    public private(set) var tailImages = 0, memoHits = 0, certifiedImages = 0, passes = 0

    /// Effective (image, position, row) triples over all seeds, and all (image, position, row) triples.
    public var effectivePairs: (effective: Int, total: Int) {
        (effects.values.reduce(0) { $0 + $1.row.count },
         effects.values.reduce(0) { $0 + $1.position.count } * layer.shape.m)
    }

    /// Faults per image per seed, on average (for reports).
    public var meanFaultsPerImage: Double {
        Double(effects.values.reduce(0) { $0 + $1.faults }) / Double(max(1, effects.count * labels.count))
    }

    public func accuracies(permutations: [String: [Int32]], seeds: [UInt64]) -> [Double] {
        let perm = permutations[layer.name] ?? Permutations.identity(layer.shape.m)
        return seeds.map { seed in
            let p = predictions(permutation: perm, seed: seed)
            return Double(zip(p, labels).filter { $0 == $1 }.count) / Double(max(1, labels.count))
        }
    }

    /// Predictions for one permutation and seed. `positions`, when given, keeps
    /// only the faults at positions r with `positions[r]` (sensitivity analysis;
    /// not memoised).
    public func predictions(permutation: [Int32], seed: UInt64, positions: [Bool]? = nil) -> [Int] {
        precondition(Permutations.isPermutation(permutation, of: layer.shape.m), "not a permutation of \(layer.name)'s rows")
        guard let fx = effects[seed], let memos = memo[seed] else { preconditionFailure("seed \(seed) was not prepared") }
        let n = labels.count
        var out = cleanPredictions
        let chunk = 512
        let chunks = (n + chunk - 1) / chunk
        var counts = [ChunkCounts](repeating: ChunkCounts(), count: chunks)
        out.withUnsafeMutableBufferPointer { result in
            counts.withUnsafeMutableBufferPointer { counts in
                Parallelism.forEach(chunks, threads: threads) { c in
                    let range = (c * chunk)..<min(n, (c + 1) * chunk)
                    counts[c] = evaluateChunk(range, permutation: permutation, effects: fx, memos: positions == nil ? memos : nil,
                                              positions: positions, into: result)
                }
            }
        }
        tailImages += counts.reduce(0) { $0 + $1.tail }
        memoHits += counts.reduce(0) { $0 + $1.memoHits }
        certifiedImages += counts.reduce(0) { $0 + $1.certified }
        passes += 1
        return out
    }

    /// The per-draw cost matrix (see `PositionCostMatrix`) read off the
    /// precomputed effects: `cost[row][position]`, the mean over `seeds` and
    /// images of the soft accuracy lost (clean − faulty probability of the
    /// true label) when `row` runs at `position` with only that position's
    /// faults. Only effective (image, position, row) triples cost anything,
    /// each one sparse dense update and one tail row. Deterministic: chunk
    /// sums are added in chunk order.
    public func pairCosts(seeds: [UInt64]) -> [[Double]] {
        let m = layer.shape.m, n = labels.count
        let MD = dense.outFeatures
        let cleanTail = tailScores(preActivations)
        let clean = (0..<n).map { FaultyEvaluation.labelProbability(rowOf: cleanTail, $0, label: labels[$0]) }
        // Small chunks: each effective triple is a row of M_D floats in the tail's batch.
        let chunk = 32, chunks = (n + chunk - 1) / chunk
        var total = [Double](repeating: 0, count: m * m)
        for seed in seeds {
            guard let fx = effects[seed] else { preconditionFailure("seed \(seed) was not prepared") }
            var parts = [[Double]](repeating: [], count: chunks)
            parts.withUnsafeMutableBufferPointer { out in
                Parallelism.forEach(chunks, threads: threads) { c in
                    var local = [Double](repeating: 0, count: m * m)
                    let images = (c * chunk)..<min(n, (c + 1) * chunk)
                    let rows = Int(fx.rowStart[Int(fx.imageStart[images.upperBound])] - fx.rowStart[Int(fx.imageStart[images.lowerBound])])
                    guard rows > 0 else { out[c] = local; return }
                    var batch = [Float](repeating: 0, count: rows * MD)
                    var owners: [(image: Int, row: Int, position: Int)] = []
                    owners.reserveCapacity(rows)
                    batch.withUnsafeMutableBufferPointer { zb in
                        preActivations.withUnsafeBufferPointer { pre in
                            denseTransposed.withUnsafeBufferPointer { wt in
                                for i in images {
                                    for g in Int(fx.imageStart[i])..<Int(fx.imageStart[i + 1]) {
                                        let r = Int(fx.position[g])
                                        for e in Int(fx.rowStart[g])..<Int(fx.rowStart[g + 1]) {
                                            let z = zb.baseAddress! + owners.count * MD
                                            z.update(from: pre.baseAddress! + i * MD, count: MD)
                                            for k in Int(fx.changeStart[e])..<Int(fx.changeStart[e + 1]) {
                                                addScaled(wt.baseAddress! + Int(fx.feature[k]) * MD, by: fx.delta[k], to: z, count: MD)
                                            }
                                            owners.append((i, Int(fx.row[e]), r))
                                        }
                                    }
                                }
                            }
                        }
                    }
                    let scores = tailScores(batch)
                    for (k, owner) in owners.enumerated() {
                        local[owner.row * m + owner.position] += clean[owner.image] - FaultyEvaluation.labelProbability(rowOf: scores, k, label: labels[owner.image])
                    }
                    out[c] = local
                }
            }
            for part in parts { for j in 0..<(m * m) { total[j] += part[j] } }
        }
        let scale = 1 / Double(max(1, n * seeds.count))
        return (0..<m).map { row in (0..<m).map { total[row * m + $0] * scale } }
    }

    private func tailScores(_ z: [Float]) -> Tensor { ConvSuffix.tailScores(z, network: network, width: dense.outFeatures,
                                                                         relu: denseReLU, tailStart: tailStart) }

    // MARK: Per candidate

    private func evaluateChunk(_ range: Range<Int>, permutation: [Int32], effects fx: Effects, memos: [Memo]?,
                               positions: [Bool]?, into result: UnsafeMutableBufferPointer<Int>) -> ChunkCounts {
        var counts = ChunkCounts()
        let F = dense.inFeatures, MD = dense.outFeatures
        let radius = certifies && !exactDense ? certificate?.radius : nil
        var affected: [Int] = [], signatures: [(hits: [Int32], key: UInt64)] = []
        var batch: [Float] = []
        batch.reserveCapacity(range.count * (exactDense ? F : MD))
        var hits: [Int32] = []  // indices into fx.row of the effective (group, row) pairs
        for i in range {
            hits.removeAll(keepingCapacity: true)
            var bound = 0.0
            for g in Int(fx.imageStart[i])..<Int(fx.imageStart[i + 1]) {
                let r = Int(fx.position[g])
                if let positions, !positions[r] { continue }
                let row = permutation[r]
                for e in Int(fx.rowStart[g])..<Int(fx.rowStart[g + 1]) where fx.row[e] >= row {
                    if fx.row[e] == row {
                        hits.append(Int32(e))
                        bound += fx.bound[e]
                    }
                    break
                }
            }
            if hits.isEmpty { continue }
            // Provably the clean prediction (already in `result`), without touching D.
            if let radius, bound < radius[i] {
                counts.certified += 1
                continue
            }
            let key = Memo.key(hits)
            if let memos, let p = memos[i].prediction(hits, key: key) {
                result[i] = p
                counts.memoHits += 1
                continue
            }
            let base = batch.count
            if exactDense {
                batch.append(contentsOf: pooled[(i * F)..<((i + 1) * F)])
                for hit in hits {
                    let e = Int(hit)
                    for c in Int(fx.changeStart[e])..<Int(fx.changeStart[e + 1]) { batch[base + Int(fx.feature[c])] = fx.value[c] }
                }
            } else {
                batch.append(contentsOf: preActivations[(i * MD)..<((i + 1) * MD)])
                batch.withUnsafeMutableBufferPointer { z in
                    denseTransposed.withUnsafeBufferPointer { wt in
                        let zi = z.baseAddress! + base
                        for hit in hits {
                            let e = Int(hit)
                            for c in Int(fx.changeStart[e])..<Int(fx.changeStart[e + 1]) {
                                addScaled(wt.baseAddress! + Int(fx.feature[c]) * MD, by: fx.delta[c], to: zi, count: MD)
                            }
                        }
                    }
                }
                // The move of D's outputs itself (after its ReLU) may still certify the clean prediction.
                if let radius, tailMove(batch, at: base, image: i) < radius[i] {
                    batch.removeLast(MD)
                    memos?[i].remember(hits, key: key, prediction: cleanPredictions[i])
                    counts.certified += 1
                    continue
                }
            }
            affected.append(i)
            signatures.append((hits, key))
        }
        counts.tail = affected.count
        if affected.isEmpty { return counts }
        let z = exactDense
            ? dense.forward(Tensor(shape: [affected.count, F], data: batch), options: ForwardOptions(threads: 1), relu: false).data
            : batch
        let scores = tailScores(z)
        for (k, p) in Activations.argmax(scores).enumerated() {
            let i = affected[k]
            result[i] = p
            memos?[i].remember(signatures[k].hits, key: signatures[k].key, prediction: p)
        }
        return counts
    }

    /// Work done for one chunk of images: run through the layers after D, found in the memo, certified.
    struct ChunkCounts { var tail = 0, memoHits = 0, certified = 0 }

    /// ‖Δ‖₂ between image i's changed D outputs (`batch[base...]`) and its clean ones,
    /// after D's ReLU if any: in float, 8 lanes at a time, then rounded up by far more
    /// than float rounding could have taken off (≤ M_D·2⁻²³ relative).
    private func tailMove(_ batch: [Float], at base: Int, image i: Int) -> Double {
        let MD = dense.outFeatures, floor: Float = denseReLU ? 0 : -.infinity
        var lanes = SIMD8<Float>(repeating: 0), tail: Float = 0
        batch.withUnsafeBufferPointer { zb in
            preActivations.withUnsafeBufferPointer { pb in
                let a = zb.baseAddress! + base, b = pb.baseAddress! + i * MD
                let low = SIMD8<Float>(repeating: floor)
                var o = 0
                while o + 8 <= MD {
                    let x = SIMD8(UnsafeBufferPointer(start: a + o, count: 8)), y = SIMD8(UnsafeBufferPointer(start: b + o, count: 8))
                    let d = x.replacing(with: low, where: x .< low) - y.replacing(with: low, where: y .< low)
                    lanes += d * d
                    o += 8
                }
                while o < MD {
                    let d = max(a[o], floor) - max(b[o], floor)
                    tail += d * d
                    o += 1
                }
            }
        }
        let sum = Double(lanes.sum() + tail)
        return sum.isNaN ? .infinity : sum.squareRoot() * (1 + Double(MD) * 0x1p-22)
    }

    // MARK: Precomputation

    /// Every (image, position with faults, row) whose faults change a pooled feature, with the changes.
    static func effects(seed: UInt64, conv: Conv2D, pool: ConvGeometry, map: TileMap, profile: FaultProfile,
                        layerName: String, inputs: Tensor, pooled: [Float], imageIndices: [Int], threads: Int) -> Effects {
        let n = imageIndices.count
        let sampler = FaultSampler(profile: profile)
        let key = FaultKeys.layer(layerName)
        let chunk = 64, chunks = (n + chunk - 1) / chunk
        var parts = [Effects](repeating: Effects(), count: chunks)
        parts.withUnsafeMutableBufferPointer { out in
            Parallelism.forEach(chunks, threads: threads) { c in
                var fx = Effects()
                var scratch = Scratch(conv: conv)
                inputs.data.withUnsafeBufferPointer { xin in
                    for i in (c * chunk)..<min(n, (c + 1) * chunk) {
                        let events = sampler.events(seed: seed, layer: key, image: imageIndices[i], map: map)
                        fx.faults += events.count
                        // Group by position, keeping the injector's order within a group.
                        let byPosition = Dictionary(grouping: events, by: \.position)
                        let image = xin.baseAddress! + i * conv.geometry.channels * conv.geometry.height * conv.geometry.width
                        scratch.reset(image: image)
                        for r in byPosition.keys.sorted() {
                            let group = byPosition[r]!
                            fx.position.append(Int32(r))
                            for row in 0..<conv.outChannels {
                                let changes = scratch.pooledChanges(group, row: row, conv: conv, pool: pool, map: map,
                                                                    profile: profile, pooled: pooled, imageOffset: i)
                                if changes.isEmpty { continue }
                                fx.row.append(Int32(row))
                                for (j, v) in changes { fx.feature.append(Int32(j)); fx.value.append(v) }
                                fx.changeStart.append(Int32(fx.feature.count))
                            }
                            fx.rowStart.append(Int32(fx.row.count))
                        }
                        fx.imageStart.append(Int32(fx.position.count))
                    }
                }
                out[c] = fx
            }
        }
        // Concatenate the chunks, rebasing offsets.
        var all = Effects()
        for part in parts {
            let g0 = Int32(all.position.count), r0 = Int32(all.row.count), c0 = Int32(all.feature.count)
            all.imageStart += part.imageStart.dropFirst().map { $0 + g0 }
            all.position += part.position
            all.rowStart += part.rowStart.dropFirst().map { $0 + r0 }
            all.row += part.row
            all.changeStart += part.changeStart.dropFirst().map { $0 + c0 }
            all.feature += part.feature
            all.value += part.value
            all.faults += part.faults
        }
        return all
    }

    /// Per-image working memory: im2col columns computed on demand.
    struct Scratch {
        var image: UnsafePointer<Float>?
        var columns: [Int: [Float]] = [:]
        let k: Int
        init(conv: Conv2D) { k = conv.geometry.patchSize }

        mutating func reset(image: UnsafePointer<Float>) {
            self.image = image
            columns.removeAll(keepingCapacity: true)
        }

        mutating func column(_ n: Int, _ g: ConvGeometry) -> [Float] {
            if let c = columns[n] { return c }
            var c = [Float](repeating: 0, count: k)
            IncrementalConvEvaluator.patch(g, image: image!, column: n, into: &c)
            columns[n] = c
            return c
        }

        /// The pooled features of `row` that change when `row` runs at the group's
        /// position with the group's faults: (feature index, new value).
        mutating func pooledChanges(_ group: [FaultEvent], row: Int, conv: Conv2D, pool: ConvGeometry, map: TileMap,
                                    profile: FaultProfile, pooled: [Float], imageOffset i: Int) -> [(Int, Float)] {
            let g = conv.geometry, kk = g.patchSize, P = g.positions, ow = g.outWidth
            let poh = pool.outHeight, pow = pool.outWidth, ph = pool.kernelH, pw = pool.kernelW
            let F = conv.outChannels * poh * pow
            let bias = conv.bias[row]
            var keys: [Int] = [], values: [Float] = []
            conv.weight.withUnsafeBufferPointer { w in
                let wr = w.baseAddress! + row * kk
                for e in group {
                    let n = e.column
                    let b = column(n, g)
                    // The injector's arithmetic: P as an FMA chain, k ascending, from 0.
                    let p = b.withUnsafeBufferPointer {
                        FaultInjector.partialProduct(wr, $0.baseAddress!, bRowStride: 1, range: map.kRange(kTile: e.kTile))
                    }
                    let corrupted = profile.kind.corrupt(p, draw: e.draw, exponentBits: profile.exponentBits)
                    if let at = keys.firstIndex(of: n) {
                        values[at] += corrupted - p
                    } else {
                        keys.append(n)
                        values.append(IncrementalConvEvaluator.gemmElement(wr, b, kk) + (corrupted - p))
                    }
                }
            }
            var cells: [Int] = []
            for (n, value) in zip(keys, values) {
                let oy = n / ow, ox = n % ow, py = oy / ph, px = ox / pw
                guard py < poh, px < pow else { continue }  // outside every window (floor mode)
                let clean = conv.weight.withUnsafeBufferPointer { w in
                    IncrementalConvEvaluator.gemmElement(w.baseAddress! + row * kk, column(n, g), kk)
                }
                if IncrementalConvEvaluator.relu(clean + bias).bitPattern == IncrementalConvEvaluator.relu(value + bias).bitPattern { continue }
                let cell = py * pow + px
                if !cells.contains(cell) { cells.append(cell) }
            }
            var changes: [(Int, Float)] = []
            for cell in cells {
                let py = cell / pow, px = cell % pow
                var best = -Float.infinity
                for dy in 0..<ph {
                    for dx in 0..<pw {
                        let n = (py * ph + dy) * ow + px * pw + dx
                        let v: Float
                        if let at = keys.firstIndex(of: n) {
                            v = IncrementalConvEvaluator.relu(values[at] + bias)
                        } else {
                            let c = column(n, g)
                            v = conv.weight.withUnsafeBufferPointer { w in
                                IncrementalConvEvaluator.relu(IncrementalConvEvaluator.gemmElement(w.baseAddress! + row * kk, c, kk) + bias)
                            }
                        }
                        best = v > best ? v : best
                    }
                }
                let feature = row * poh * pow + cell
                if best.bitPattern != pooled[i * F + feature].bitPattern { changes.append((feature, best)) }
            }
            _ = P
            return changes
        }
    }

    @inline(__always)
    static func relu(_ x: Float) -> Float { x > 0 ? x : 0 }

    /// The runtime GEMM's value of one element: FMA k ascending in blocks of 256, blocks added.
    @inline(__always)
    static func gemmElement(_ a: UnsafePointer<Float>, _ b: [Float], _ k: Int) -> Float {
        var total: Float = 0
        var p0 = 0
        while p0 < k {
            let acc = b.withUnsafeBufferPointer {
                FaultInjector.partialProduct(a, $0.baseAddress!, bRowStride: 1, range: p0..<min(k, p0 + 256))
            }
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
