import HASRuntime

/// The group starts with a faulty dense layer: its clean input and GEMM output
/// are cached; a trial adds the corrections of every kind to copies of the
/// clean output, and runs the rest of the network only for images whose
/// activations changed (every image when a later layer is faulty too).
struct DensePath {
    let index: Int
    let dense: Dense
    let relu: Bool
    /// First layer after the dense layer and its ReLU.
    let next: Int
    /// Clean input [N × K], GEMM output W·x [N × M] and activation after bias (and ReLU) [N × M].
    let input: [Float]
    let gemm: [Float]
    let activation: [Float]
    let laterFaulty: Bool

    init?(network: Network, faulty: [DeviceLayer], images: Tensor, options: ForwardOptions) {
        guard let first = faulty.first, case .dense(let dense) = network.layers[first.index] else { return nil }
        index = first.index
        self.dense = dense
        var next = index + 1, relu = false
        if next < network.layers.count, case .relu = network.layers[next] {
            relu = true
            next += 1
        }
        self.relu = relu
        self.next = next
        laterFaulty = faulty.count > 1
        let x = network.run(images, layers: 0..<index, options: options)
        input = x.data
        gemm = dense.cleanGEMM(x, options: options)
        var a = gemm
        let n = x.shape[0]
        a.withUnsafeMutableBufferPointer { dense.addBias(toRows: $0.baseAddress!, count: n, relu: relu) }
        activation = a
    }

    func cleanPredictions(_ network: Network, options: ForwardOptions) -> [Int] {
        let n = activation.count / max(1, dense.outFeatures)
        return Activations.argmax(network.run(Tensor(shape: [n, dense.outFeatures], data: activation),
                                              layers: next..<network.layers.count, options: options))
    }
}

extension SweepEvaluator {
    /// Images per unit of work: one GEMM per K tile over them when the partial products come from GEMMs.
    static let denseGroup = 32

    func evaluate(_ d: DensePath, device: FaultProfile, kinds: [ErrorKind], seed: UInt64, trials: Int) -> [[[Int]]] {
        let layer = faultyLayers[0]
        let map = layer.map(on: device)
        let sampler = SweepSampler(profile: device)
        let key = FaultKeys.layer(layer.name)
        let n = imageCount, m = d.dense.outFeatures, k = d.dense.inFeatures, tiles = map.kTiles
        let kindCount = kinds.count
        let exponentBits = device.exponentBits
        // P from one GEMM per K tile (a full GEMM's work per image, shared by every trial and kind)
        // or one dot product per fault; both are the same FMA chain, so the choice is only about speed.
        var expected = 0.0
        for s in 0..<map.blocks { expected += Double(map.slots(onBlock: s)) * device.rates[s].reduce(0, +) }
        let byTiles = map.tileK <= 256 && expected * Double(trials * 1000) > Double(m * k)
        let group = Self.denseGroup
        // The product table is laid out thread-major — row l·T + t at t·L + l — so that the
        // sampler, which goes thread by thread, reads one thread's rows from one small block.
        let threadsPerBlock = map.threads, rowBlocks = map.rowBlocks, slotRows = rowBlocks * threadsPerBlock
        var slotRow = [Int32](repeating: 0, count: m)
        var shuffled: [Float] = []
        if byTiles {
            shuffled = [Float](repeating: 0, count: slotRows * k)
            for row in 0..<m {
                let at = (row % threadsPerBlock) * rowBlocks + row / threadsPerBlock
                slotRow[row] = Int32(at)
                for j in 0..<k { shuffled[at * k + j] = d.dense.weight[row * k + j] }
            }
        }
        // Without a ReLU, -0 + b and +0 + b differ when b = -0: then every correction is applied.
        let skipUnchanged = d.relu
        let chunks = (n + group - 1) / group
        var predictions = [Int](repeating: -1, count: kindCount * trials * n)
        predictions.withUnsafeMutableBufferPointer { out in
            d.input.withUnsafeBufferPointer { xp in
                d.gemm.withUnsafeBufferPointer { cp in
                    d.activation.withUnsafeBufferPointer { ap in
                        d.dense.weight.withUnsafeBufferPointer { wp in
                            shuffled.withUnsafeBufferPointer { sp in
                            slotRow.withUnsafeBufferPointer { slotRow in
                            Parallelism.forEach(chunks, threads: threads) { c in
                                let lo = c * group, hi = min(n, lo + group), count = hi - lo
                                let x = xp.baseAddress!, w = wp.baseAddress!
                                let perImage = slotRows * tiles
                                let products = UnsafeMutablePointer<Float>.allocate(capacity: byTiles ? count * perImage : 1)
                                defer { products.deallocate() }
                                if byTiles {
                                    for tile in 0..<tiles {
                                        let range = map.kRange(kTile: tile)
                                        // products[j·perImage + slotRow[row]·tiles + tile] = P(row, tile) of image lo + j.
                                        PermutedGEMM.multiply(m: slotRows, n: count, k: range.count, a: sp.baseAddress! + range.lowerBound,
                                                              lda: k,
                                                              b: StridedMatrix(x + lo * k + range.lowerBound, rowStride: 1, colStride: k),
                                                              c: StridedMatrix(products + tile, rowStride: tiles, colStride: perImage),
                                                              threads: 1)
                                    }
                                }
                                let y = UnsafeMutablePointer<Float>.allocate(capacity: kindCount * m)
                                defer { y.deallocate() }
                                var batches = [ChangedBatch](repeating: ChangedBatch(), count: kindCount * trials)
                                let candidates = SweepSampler.Scratch()
                                for i in lo..<hi {
                                    let image = imageIndices[i], own = products + (i - lo) * perImage
                                    let clean = cp.baseAddress! + i * m, xi = x + i * k
                                    for trial in 0..<trials {
                                        for kk in 0..<kindCount { (y + kk * m).update(from: clean, count: m) }
                                        sampler.forEachFault(seed: FaultKeys.trialSeed(seed, trial: trial), layer: key, image: image,
                                                             map: map, scratch: candidates) { row, kTile, _, draw in
                                            let p = byTiles ? own[Int(slotRow[row]) * tiles + kTile]
                                                : FaultInjector.partialProduct(w + row * k, xi, bRowStride: 1, range: map.kRange(kTile: kTile))
                                            for kk in 0..<kindCount {
                                                let q = kinds[kk].corrupt(p, draw: draw, exponentBits: exponentBits)
                                                // y += +0 changes nothing after bias and ReLU (at most -0 → +0).
                                                if skipUnchanged && q.bitPattern == p.bitPattern && p.isFinite { continue }
                                                y[kk * m + row] += q - p
                                            }
                                        }
                                        for kk in 0..<kindCount {
                                            let yk = y + kk * m
                                            d.dense.addBias(toRows: yk, count: 1, relu: d.relu)
                                            if d.laterFaulty || SweepEvaluator.differ(yk, ap.baseAddress! + i * m, m) {
                                                batches[kk * trials + trial].images.append(i)
                                                batches[kk * trials + trial].rows.append(contentsOf: UnsafeBufferPointer(start: yk, count: m))
                                            }
                                        }
                                    }
                                }
                                for kk in 0..<kindCount {
                                    for trial in 0..<trials {
                                        let base = (kk * trials + trial) * n
                                        for i in lo..<hi { out[base + i] = cleanPredictions[i] }
                                        let batch = batches[kk * trials + trial]
                                        if batch.images.isEmpty { continue }
                                        let options = d.laterFaulty
                                            ? faultyOptions(device: device, kind: kinds[kk], seed: FaultKeys.trialSeed(seed, trial: trial),
                                                            indices: batch.images.map { imageIndices[$0] })
                                            : ForwardOptions(threads: 1)
                                        let scores = network.run(Tensor(shape: [batch.images.count, m], data: batch.rows),
                                                                 layers: d.next..<network.layers.count, options: options)
                                        for (b, p) in Activations.argmax(scores).enumerated() { out[base + batch.images[b]] = p }
                                    }
                                }
                            }
                            }
                            }
                        }
                    }
                }
            }
        }
        return (0..<kindCount).map { kk in
            (0..<trials).map { trial in Array(predictions[((kk * trials + trial) * n)..<((kk * trials + trial + 1) * n)]) }
        }
    }
}
