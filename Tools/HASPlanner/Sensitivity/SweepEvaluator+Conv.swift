import HASRuntime

/// The group starts with a faulty conv → ReLU [→ max pool] block. Per image
/// and device the block's clean raw output is computed once; a trial corrects
/// the failing outputs in place, recomputes only the pooled features whose
/// window holds one, and restores them. Images with changed features (all
/// images when a later layer is faulty too) run on: when the first weighted
/// layer after the group's faults is a dense layer D, up to D and then D
/// exactly as `FaultyEvaluator`'s incremental mode does it (from D's clean
/// output plus W[:, j]·Δx_j for few changed inputs, a full GEMM for many);
/// otherwise through the rest of the network, as its full pass does.
struct ConvPath {
    let index: Int
    let conv: Conv2D
    let pool: ConvGeometry?
    /// First layer after the conv block.
    let blockEnd: Int
    /// Clean input to the conv [N × C·H·W] and clean block output [N × features].
    let input: [Float]
    let output: [Float]
    let outputShape: [Int]
    /// D and its clean run, when `FaultyEvaluator` would go incrementally.
    struct Downstream {
        let index: Int
        let dense: Dense
        /// Clean input [N × K_D], clean W·x [N × M_D], Wᵀ [K_D × M_D].
        let input: [Float]
        let gemm: [Float]
        let transposed: [Float]
        let relu: Bool
        /// First layer after D (and its ReLU).
        let tail: Int
    }
    let downstream: Downstream?
    /// Another faulty layer after the block (then every image runs on).
    let laterFaulty: Bool
    /// Non-overlapping pool: the feature each raw output feeds (-1: none, floor mode)
    /// and each feature's window origin in the raw output.
    let featureOfOutput: [Int32]?
    let windowOrigin: [Int32]?
    /// Clean predictions.
    let clean: [Int]

    init?(network: Network, faulty: [DeviceLayer], images: Tensor, options: ForwardOptions) {
        guard let first = faulty.first, let last = faulty.last,
              case .success(let suffix) = ConvSuffix.match(network, convIndex: first.index) else { return nil }
        index = first.index
        conv = suffix.conv
        pool = suffix.pool
        blockEnd = suffix.blockEnd
        let g = conv.geometry
        if let p = pool, p.kernelH == p.strideH, p.kernelW == p.strideW {
            var feature = [Int32](repeating: -1, count: conv.outChannels * g.positions)
            var origin = [Int32](repeating: 0, count: conv.outChannels * p.outHeight * p.outWidth)
            for row in 0..<conv.outChannels {
                for py in 0..<p.outHeight {
                    for px in 0..<p.outWidth {
                        let f = (row * p.outHeight + py) * p.outWidth + px
                        origin[f] = Int32(row * g.positions + py * p.strideH * g.outWidth + px * p.strideW)
                        for a in 0..<p.kernelH {
                            for b in 0..<p.kernelW {
                                feature[row * g.positions + (py * p.strideH + a) * g.outWidth + px * p.strideW + b] = Int32(f)
                            }
                        }
                    }
                }
            }
            featureOfOutput = feature
            windowOrigin = origin
        } else {
            featureOfOutput = nil
            windowOrigin = nil
        }
        laterFaulty = faulty.count > 1
        let x = network.run(images, layers: 0..<index, options: options)
        input = x.data
        let h = network.run(x, layers: index..<blockEnd, options: options)
        output = h.data
        outputShape = Array(h.shape.dropFirst())
        if let next = network.deviceLayers.first(where: { $0.index > last.index }),
           case .dense(let dense) = network.layers[next.index] {
            var tail = next.index + 1, relu = false
            if tail < network.layers.count, case .relu = network.layers[tail] {
                relu = true
                tail += 1
            }
            let z = network.run(h, layers: blockEnd..<next.index, options: options)
            let gemm = dense.cleanGEMM(z, options: options)
            let m = dense.outFeatures, k = dense.inFeatures
            var t = [Float](repeating: 0, count: m * k)
            for row in 0..<m { for j in 0..<k { t[j * m + row] = dense.weight[row * k + j] } }
            downstream = Downstream(index: next.index, dense: dense, input: z.data, gemm: gemm, transposed: t, relu: relu, tail: tail)
            var y = gemm
            let n = z.shape[0]
            y.withUnsafeMutableBufferPointer { dense.addBias(toRows: $0.baseAddress!, count: n, relu: relu) }
            clean = Activations.argmax(network.run(Tensor(shape: [n, m], data: y), layers: tail..<network.layers.count, options: options))
        } else {
            downstream = nil
            clean = Activations.argmax(network.run(h, layers: blockEnd..<network.layers.count, options: options))
        }
    }

    var features: Int { outputShape.reduce(1, *) }

    func cleanPredictions(_ network: Network, options: ForwardOptions) -> [Int] { clean }
}

extension SweepEvaluator {
    static let convGroup = 16

    func evaluate(_ cp: ConvPath, device: FaultProfile, kinds: [ErrorKind], seed: UInt64, trials: Int) -> [[[Int]]] {
        let layer = faultyLayers[0]
        let map = layer.map(on: device)
        let sampler = SweepSampler(profile: device)
        let key = FaultKeys.layer(layer.name)
        let g = cp.conv.geometry, outChannels = cp.conv.outChannels, kk = g.patchSize, positions = g.positions
        let inSize = g.channels * g.height * g.width, features = cp.features
        let n = imageCount, kindCount = kinds.count
        let exponentBits = device.exponentBits
        // One K tile of at most 256: P is the clean GEMM element itself.
        let direct = map.kTiles == 1 && kk <= 256
        let group = Self.convGroup
        let chunks = (n + group - 1) / group
        var predictions = [Int](repeating: -1, count: kindCount * trials * n)
        predictions.withUnsafeMutableBufferPointer { out in
            cp.input.withUnsafeBufferPointer { xp in
                cp.output.withUnsafeBufferPointer { hp in
                    cp.conv.weight.withUnsafeBufferPointer { wp in
                        cp.conv.bias.withUnsafeBufferPointer { bp in
                            Parallelism.forEach(chunks, threads: threads) { c in
                                let lo = c * group, hi = min(n, lo + group)
                                let w = wp.baseAddress!
                                let cols = UnsafeMutablePointer<Float>.allocate(capacity: kk * positions)
                                let raw = UnsafeMutablePointer<Float>.allocate(capacity: outChannels * positions)
                                defer { cols.deallocate(); raw.deallocate() }
                                let scratch = ConvScratch(outputs: outChannels * positions, features: features)
                                var events: [ConvFault] = [], products: [Float] = []
                                var batches = [ChangedBatch](repeating: ChangedBatch(), count: kindCount * trials)
                                let candidates = SweepSampler.Scratch()
                                for i in lo..<hi {
                                    im2col(g, image: xp.baseAddress! + i * inSize, into: cols)
                                    PermutedGEMM.multiply(m: outChannels, n: positions, k: kk, a: w, lda: kk,
                                                          b: StridedMatrix(UnsafePointer(cols), rowStride: positions, colStride: 1),
                                                          c: StridedMatrix(raw, rowStride: positions, colStride: 1), threads: 1)
                                    let clean = hp.baseAddress! + i * features
                                    for trial in 0..<trials {
                                        events.removeAll(keepingCapacity: true)
                                        products.removeAll(keepingCapacity: true)
                                        sampler.forEachFault(seed: FaultKeys.trialSeed(seed, trial: trial), layer: key,
                                                             image: imageIndices[i], map: map, scratch: candidates) { row, kTile, column, draw in
                                            events.append(ConvFault(output: row * positions + column, draw: draw))
                                            products.append(direct ? raw[row * positions + column]
                                                : FaultInjector.partialProduct(w + row * kk, cols + column, bRowStride: positions,
                                                                               range: map.kRange(kTile: kTile)))
                                        }
                                        for kind in 0..<kindCount {
                                            let changes = events.withUnsafeBufferPointer { ev in
                                                products.withUnsafeBufferPointer { pr in
                                                    scratch.changes(events: ev, products: pr, kind: kinds[kind], exponentBits: exponentBits,
                                                                    raw: raw, cp: cp, bias: bp.baseAddress!, clean: clean)
                                                }
                                            }
                                            if changes == 0 && !cp.laterFaulty { continue }
                                            batches[kind * trials + trial].images.append(i)
                                            batches[kind * trials + trial].rows.append(contentsOf: UnsafeBufferPointer(start: clean, count: features))
                                            batches[kind * trials + trial].rows.withUnsafeMutableBufferPointer { rows in
                                                scratch.write(into: rows.baseAddress! + rows.count - features)
                                            }
                                        }
                                    }
                                }
                                for kind in 0..<kindCount {
                                    for trial in 0..<trials {
                                        let base = (kind * trials + trial) * n
                                        for i in lo..<hi { out[base + i] = cleanPredictions[i] }
                                        let batch = batches[kind * trials + trial]
                                        if batch.images.isEmpty { continue }
                                        let scores = finish(cp, batch, device: device, kind: kinds[kind],
                                                            seed: FaultKeys.trialSeed(seed, trial: trial))
                                        for (b, p) in scores { out[base + batch.images[b]] = p }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (0..<kindCount).map { kind in
            (0..<trials).map { trial in Array(predictions[((kind * trials + trial) * n)..<((kind * trials + trial + 1) * n)]) }
        }
    }

    /// The layers from the block to the end for a batch of changed images:
    /// (batch position, prediction) for those whose prediction may have changed.
    private func finish(_ cp: ConvPath, _ batch: ChangedBatch, device: FaultProfile, kind: ErrorKind, seed: UInt64) -> [(Int, Int)] {
        let count = batch.images.count
        let x = Tensor(shape: [count] + cp.outputShape, data: batch.rows)
        let options = cp.laterFaulty
            ? faultyOptions(device: device, kind: kind, seed: seed, indices: batch.images.map { imageIndices[$0] })
            : ForwardOptions(threads: 1)
        guard let d = cp.downstream else {
            let scores = network.run(x, layers: cp.blockEnd..<network.layers.count, options: options)
            return Array(zip(0..<count, Activations.argmax(scores)))
        }
        let h = network.run(x, layers: cp.blockEnd..<d.index, options: options)
        let m = d.dense.outFeatures, k = d.dense.inFeatures
        // FaultyEvaluator's rule: beyond this many changed inputs, a full GEMM of the image.
        let maxChanges = DenseDeltaUpdate.maxChanges(inputs: k)
        var sparse: [Int] = [], sparseRows: [Float] = []
        var full: [Int] = [], fullRows: [Float] = []
        var changed: [Int] = []
        h.data.withUnsafeBufferPointer { hp in
            d.input.withUnsafeBufferPointer { xp in
                d.transposed.withUnsafeBufferPointer { tp in
                    for b in 0..<count {
                        let faulty = hp.baseAddress! + b * k, clean = xp.baseAddress! + batch.images[b] * k
                        DenseDeltaUpdate.changedInputs(faulty, clean, count: k, maxChanges: maxChanges, into: &changed)
                        if changed.isEmpty { continue }
                        if changed.count > maxChanges {
                            full.append(b)
                            fullRows.append(contentsOf: UnsafeBufferPointer(start: faulty, count: k))
                            continue
                        }
                        sparse.append(b)
                        let start = sparseRows.count
                        sparseRows.append(contentsOf: d.gemm[(batch.images[b] * m)..<((batch.images[b] + 1) * m)])
                        sparseRows.withUnsafeMutableBufferPointer { rows in
                            let yi = rows.baseAddress! + start
                            DenseDeltaUpdate.addDeltas(changed, faulty: faulty, clean: clean, transposed: tp.baseAddress!,
                                                       outputs: m, to: yi)
                        }
                    }
                }
            }
        }
        let order = sparse + full
        if order.isEmpty { return [] }
        // Bias and ReLU as Dense.forward does them (the full GEMMs get them from forward itself).
        sparseRows.withUnsafeMutableBufferPointer { d.dense.addBias(toRows: $0.baseAddress!, count: sparse.count, relu: d.relu) }
        if !full.isEmpty {
            let y = d.dense.forward(Tensor(shape: [full.count, k], data: fullRows), options: ForwardOptions(threads: 1), relu: d.relu)
            sparseRows += y.data
        }
        let scores = network.run(Tensor(shape: [order.count, m], data: sparseRows), layers: d.tail..<network.layers.count,
                                 options: ForwardOptions(threads: 1))
        return Array(zip(order, Activations.argmax(scores)))
    }
}

/// One failing partial product of a conv: the raw output (row · positions + column) it corrects, and its draw.
struct ConvFault {
    var output: Int
    var draw: UInt64
}

/// Per-worker memory of the conv path: which raw outputs a trial touched
/// (to restore them) and which pooled features it changed.
final class ConvScratch {
    let outputs: Int, features: Int
    /// Stamp per raw output / per feature: equal to `stamp` when touched in this round.
    let outputStamp: UnsafeMutablePointer<Int32>
    let featureStamp: UnsafeMutablePointer<Int32>
    var stamp: Int32 = 0
    let touched: UnsafeMutablePointer<Int>
    let saved: UnsafeMutablePointer<Float>
    let cells: UnsafeMutablePointer<Int>
    let changedFeatures: UnsafeMutablePointer<Int>
    let changedValues: UnsafeMutablePointer<Float>
    var changeCount = 0

    init(outputs: Int, features: Int) {
        self.outputs = outputs
        self.features = features
        outputStamp = .allocate(capacity: outputs)
        outputStamp.initialize(repeating: 0, count: outputs)
        featureStamp = .allocate(capacity: features)
        featureStamp.initialize(repeating: 0, count: features)
        touched = .allocate(capacity: outputs)
        saved = .allocate(capacity: outputs)
        cells = .allocate(capacity: features)
        changedFeatures = .allocate(capacity: features)
        changedValues = .allocate(capacity: features)
    }

    deinit {
        outputStamp.deallocate(); featureStamp.deallocate(); touched.deallocate(); saved.deallocate()
        cells.deallocate(); changedFeatures.deallocate(); changedValues.deallocate()
    }

    /// Applies one kind's corrections to `raw` in the injector's order,
    /// recomputes the features they reach, records those that differ from
    /// `clean`, and restores `raw`. Returns how many features changed.
    func changes(events: UnsafeBufferPointer<ConvFault>, products: UnsafeBufferPointer<Float>, kind: ErrorKind, exponentBits: ExponentBits,
                 raw: UnsafeMutablePointer<Float>, cp: ConvPath, bias: UnsafePointer<Float>, clean: UnsafePointer<Float>) -> Int {
        stamp &+= 1
        if stamp == Int32.max {
            stamp = 1
            outputStamp.update(repeating: 0, count: outputs)
            featureStamp.update(repeating: 0, count: features)
        }
        let stamp = self.stamp
        var touchedCount = 0, cellCount = 0
        changeCount = 0
        let g = cp.conv.geometry, positions = g.positions, ow = g.outWidth
        for index in 0..<events.count {
            let e = events[index], p = products[index]
            let q = kind.corrupt(p, draw: e.draw, exponentBits: exponentBits)
            // raw += +0 changes nothing after bias and ReLU (at most -0 → +0); NaN/Inf must still propagate.
            if q.bitPattern == p.bitPattern && p.isFinite { continue }
            let at = e.output
            if outputStamp[at] != stamp {
                outputStamp[at] = stamp
                touched[touchedCount] = at
                saved[touchedCount] = raw[at]
                touchedCount += 1
            }
            raw[at] += q - p
        }
        // The features whose inputs were touched.
        if let pool = cp.pool, let featureOf = cp.featureOfOutput, let origins = cp.windowOrigin {
            // Non-overlapping windows (mnist32, fashion): one feature per output, from tables.
            let cellsPerChannel = pool.outHeight * pool.outWidth, kh = pool.kernelH, kw = pool.kernelW
            featureOf.withUnsafeBufferPointer { featureOf in
                for t in 0..<touchedCount {
                    let f = Int(featureOf[touched[t]])
                    if f >= 0 && featureStamp[f] != stamp {
                        featureStamp[f] = stamp
                        cells[cellCount] = f
                        cellCount += 1
                    }
                }
            }
            origins.withUnsafeBufferPointer { origins in
                for c in 0..<cellCount {
                    // MaxPool2D.poolBiasReLU's arithmetic: max over the window in row order, + bias, ReLU.
                    let f = cells[c]
                    let window = raw + Int(origins[f])
                    var m = -Float.infinity
                    for a in 0..<kh {
                        let line = window + a * ow
                        for b in 0..<kw { let x = line[b]; m = x > m ? x : m }
                    }
                    let v = m + bias[f / cellsPerChannel]
                    record(f, v > 0 ? v : 0, clean)
                }
            }
        } else if let pool = cp.pool {
            let cellsPerRow = pool.outWidth, cellsPerChannel = pool.outHeight * pool.outWidth
            for t in 0..<touchedCount {
                let at = touched[t]
                let row = at / positions, n = at - row * positions
                let oy = n / ow, ox = n - oy * ow
                let pyLow = oy - pool.kernelH + 1 <= 0 ? 0 : (oy - pool.kernelH + pool.strideH) / pool.strideH
                let pxLow = ox - pool.kernelW + 1 <= 0 ? 0 : (ox - pool.kernelW + pool.strideW) / pool.strideW
                let pyHigh = min(pool.outHeight - 1, oy / pool.strideH), pxHigh = min(pool.outWidth - 1, ox / pool.strideW)
                if pyLow > pyHigh || pxLow > pxHigh { continue }
                for py in pyLow...pyHigh {
                    for px in pxLow...pxHigh {
                        let f = row * cellsPerChannel + py * cellsPerRow + px
                        if featureStamp[f] != stamp {
                            featureStamp[f] = stamp
                            cells[cellCount] = f
                            cellCount += 1
                        }
                    }
                }
            }
            for c in 0..<cellCount {
                // MaxPool2D.poolBiasReLU's arithmetic: max over the window in row order, + bias, ReLU.
                let f = cells[c]
                let row = f / cellsPerChannel, cell = f - row * cellsPerChannel
                let py = cell / cellsPerRow, px = cell - py * cellsPerRow
                let plane = raw + row * positions
                var m = -Float.infinity
                for a in 0..<pool.kernelH {
                    let line = plane + (py * pool.strideH + a) * ow + px * pool.strideW
                    for b in 0..<pool.kernelW { let x = line[b]; m = x > m ? x : m }
                }
                let v = m + bias[row]
                record(f, v > 0 ? v : 0, clean)
            }
        } else {
            for t in 0..<touchedCount {
                // Conv2D.forward's ReLU epilogue.
                let f = touched[t]
                let v = raw[f] + bias[f / positions]
                record(f, v > 0 ? v : 0, clean)
            }
        }
        for t in 0..<touchedCount { raw[touched[t]] = saved[t] }
        return changeCount
    }

    @inline(__always)
    private func record(_ f: Int, _ value: Float, _ clean: UnsafePointer<Float>) {
        if value.bitPattern != clean[f].bitPattern {
            changedFeatures[changeCount] = f
            changedValues[changeCount] = value
            changeCount += 1
        }
    }

    /// Writes the last `changes` result over a copy of the clean features.
    func write(into row: UnsafeMutablePointer<Float>) {
        for c in 0..<changeCount { row[changedFeatures[c]] = changedValues[c] }
    }
}
