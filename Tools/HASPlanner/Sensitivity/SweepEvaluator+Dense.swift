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
    /// Images per unit of work when partial products come from one dot product per fault.
    static let denseGroup = 32

    func evaluate(_ d: DensePath, device: FaultProfile, kinds: [ErrorKind], seed: UInt64, trials: Int) -> [[[Int]]] {
        let layer = faultyLayers[0]
        let map = layer.map(on: device)
        let n = imageCount, m = d.dense.outFeatures, k = d.dense.inFeatures
        let kindCount = kinds.count
        // P from one GEMM per K tile (a full GEMM's work per image, shared by every trial and kind)
        // or one dot product per fault; both are the same FMA chain, so the choice is only about speed.
        var expected = 0.0
        for s in 0..<map.blocks { expected += Double(map.slots(onBlock: s)) * device.rates[s].reduce(0, +) }
        let byTiles = map.tileK <= 256 && expected * Double(trials * 1000) > Double(m * k)
        let group = byTiles ? DenseSlotLanes.lanes : Self.denseGroup
        // Each K tile's weights packed once for the per-tile GEMMs.
        let panels = !byTiles ? [] : d.dense.weight.withUnsafeBufferPointer {
            DenseSlotLanes.tilePanels(weights: $0.baseAddress!, m: m, k: k, map: map)
        }
        let chunks = (n + group - 1) / group
        var predictions = [Int](repeating: -1, count: kindCount * trials * n)
        predictions.withUnsafeMutableBufferPointer { out in
            Parallelism.forRanges(chunks, threads: threads) { workerChunks in
                // One scratch per worker, reused by its chunks (fresh pages cost page faults).
                let scratch = byTiles ? LaneScratch(map: map, m: m, kinds: kindCount) : nil
                for c in workerChunks {
                    let images = (c * group)..<min(n, (c + 1) * group)
                    let batches = scratch.map {
                        changedByLanes(d, images: images, map: map, panels: panels, scratch: $0, device: device, kinds: kinds,
                                       seed: seed, trials: trials)
                    } ?? changedPerFault(d, images: images, map: map, device: device, kinds: kinds, seed: seed, trials: trials)
                    for kk in 0..<kindCount {
                        for trial in 0..<trials {
                            let base = (kk * trials + trial) * n
                            for i in images { out[base + i] = cleanPredictions[i] }
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
        return (0..<kindCount).map { kk in
            (0..<trials).map { trial in Array(predictions[((kk * trials + trial) * n)..<((kk * trials + trial + 1) * n)]) }
        }
    }

    /// Adds the bias (and ReLU) to image i's faulty GEMM output `y` and keeps it
    /// in `batch` when it differs from the clean activations (always when a
    /// later layer is faulty too).
    @inline(__always)
    private func keepIfChanged(_ d: DensePath, _ y: UnsafeMutablePointer<Float>, image i: Int, clean: UnsafePointer<Float>,
                               in batch: inout ChangedBatch) {
        let m = d.dense.outFeatures
        d.dense.addBias(toRows: y, count: 1, relu: d.relu)
        if d.laterFaulty || SweepEvaluator.differ(y, clean + i * m, m) {
            batch.images.append(i)
            batch.rows.append(contentsOf: UnsafeBufferPointer(start: y, count: m))
        }
    }

    /// Per (kind, trial), the images of `images` whose activations change: one
    /// dot product per fault, image by image (low rates).
    private func changedPerFault(_ d: DensePath, images: Range<Int>, map: TileMap, device: FaultProfile, kinds: [ErrorKind],
                                 seed: UInt64, trials: Int) -> [ChangedBatch] {
        let sampler = SweepSampler(profile: device), key = FaultKeys.layer(faultyLayers[0].name)
        let m = d.dense.outFeatures, k = d.dense.inFeatures, kindCount = kinds.count, exponentBits = device.exponentBits
        // Without a ReLU, -0 + b and +0 + b differ when b = -0: then every correction is applied.
        let skipUnchanged = d.relu
        var batches = [ChangedBatch](repeating: ChangedBatch(), count: kindCount * trials)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: kindCount * m)
        defer { y.deallocate() }
        let candidates = SweepSampler.Scratch()
        d.input.withUnsafeBufferPointer { xp in
            d.gemm.withUnsafeBufferPointer { cp in
                d.activation.withUnsafeBufferPointer { ap in
                    d.dense.weight.withUnsafeBufferPointer { wp in
                        let w = wp.baseAddress!
                        for i in images {
                            let clean = cp.baseAddress! + i * m, xi = xp.baseAddress! + i * k
                            for trial in 0..<trials {
                                for kk in 0..<kindCount { (y + kk * m).update(from: clean, count: m) }
                                sampler.forEachFault(seed: FaultKeys.trialSeed(seed, trial: trial), layer: key, image: imageIndices[i],
                                                     map: map, scratch: candidates) { row, kTile, _, draw in
                                    let p = FaultInjector.partialProduct(w + row * k, xi, bRowStride: 1, range: map.kRange(kTile: kTile))
                                    for kk in 0..<kindCount {
                                        let q = kinds[kk].corrupt(p, draw: draw, exponentBits: exponentBits)
                                        // y += +0 changes nothing after bias and ReLU (at most -0 → +0).
                                        if skipUnchanged && q.bitPattern == p.bitPattern && p.isFinite { continue }
                                        y[kk * m + row] += q - p
                                    }
                                }
                                for kk in 0..<kindCount {
                                    keepIfChanged(d, y + kk * m, image: i, clean: ap.baseAddress!, in: &batches[kk * trials + trial])
                                }
                            }
                        }
                    }
                }
            }
        }
        return batches
    }

    /// The same for a group of up to `DenseSlotLanes.lanes` images at high rates:
    /// P of every row, tile and image by one GEMM per K tile (the images side by
    /// side), then the faults PE by PE in the sampler's order — a high-rate PE's
    /// slots decided for all the images at once and applied kind by kind
    /// (`DenseSlotLanes`), a low-rate PE's gaps walked image by image. Each
    /// element receives its corrections in the injector's order, so the
    /// activations are bit for bit the injector's.
    private func changedByLanes(_ d: DensePath, images: Range<Int>, map: TileMap, panels: [PackedWeights], scratch: LaneScratch,
                                device: FaultProfile, kinds: [ErrorKind], seed: UInt64, trials: Int) -> [ChangedBatch] {
        let sampler = FaultSampler(profile: device), key = FaultKeys.layer(faultyLayers[0].name)
        let m = d.dense.outFeatures, k = d.dense.inFeatures, tiles = map.kTiles, kindCount = kinds.count
        let lanes = DenseSlotLanes.lanes, count = images.count, lo = images.lowerBound, exponentBits = device.exponentBits
        var batches = [ChangedBatch](repeating: ChangedBatch(), count: kindCount * trials)
        let products = scratch.products, y = scratch.y, outputs = scratch.outputs, row = scratch.row, walk = scratch.walk
        d.input.withUnsafeBufferPointer { xp in
            d.gemm.withUnsafeBufferPointer { cp in
                d.activation.withUnsafeBufferPointer { ap in
                    d.dense.weight.withUnsafeBufferPointer { wp in
                        DenseSlotLanes.tileProducts(weights: wp.baseAddress!, m: m, k: k, map: map, panels: panels,
                                                    input: xp.baseAddress! + lo * k, bRowStride: 1, bColStride: k, images: count,
                                                    into: products)
                        for trial in 0..<trials {
                            let trialSeed = FaultKeys.trialSeed(seed, trial: trial)
                            for kk in 0..<kindCount {
                                let yk = y + kk * m * lanes
                                for j in 0..<count {
                                    let clean = cp.baseAddress! + (lo + j) * m
                                    for r in 0..<m { yk[r * lanes + j] = clean[r] }
                                }
                            }
                            sampler.forEachActivePE(map: map) { s, t, pe, mode in
                                switch mode {
                                case .never: break
                                case .always, .bernoulli:
                                    let decided = walk.decide(block: s, thread: t, threshold: mode.slotThreshold, exponentBits: exponentBits,
                                                              images: count) {
                                        FaultKeys.stream(seed: trialSeed, layer: key, image: self.imageIndices[lo + $0], pe: pe).state
                                    }
                                    if !decided { return }
                                    for kk in 0..<kindCount {
                                        walk.apply(kind: kinds[kk], permutation: nil, products: products, outputs: outputs + kk * lanes,
                                                   rowStride: lanes)
                                    }
                                case .geometric(let inverseLog):
                                    for j in 0..<count {
                                        var rng = FaultKeys.stream(seed: trialSeed, layer: key, image: imageIndices[lo + j], pe: pe)
                                        FaultSampler.forEachGeometricFailure(&rng, inverseLog: inverseLog, slots: map.slots(onBlock: s)) { slot, draw in
                                            let w = map.work(slot: slot, block: s, thread: t)
                                            if w.position >= map.rows { return }
                                            let p = products[(w.position * tiles + w.kTile) * lanes + j]
                                            for kk in 0..<kindCount {
                                                let q = kinds[kk].corrupt(p, draw: draw, exponentBits: exponentBits)
                                                y[(kk * m + w.position) * lanes + j] += q - p
                                            }
                                        }
                                    }
                                }
                            }
                            for kk in 0..<kindCount {
                                let yk = y + kk * m * lanes
                                for j in 0..<count {
                                    for r in 0..<m { row[r] = yk[r * lanes + j] }
                                    keepIfChanged(d, row, image: lo + j, clean: ap.baseAddress!, in: &batches[kk * trials + trial])
                                }
                            }
                        }
                    }
                }
            }
        }
        return batches
    }
}

/// One worker's buffers for `changedByLanes`, reused by its groups of images.
final class LaneScratch {
    let products: UnsafeMutablePointer<Float>
    /// Per kind, Yᵀ of the group: C[row] of image j at y[kind][row·lanes + j].
    let y: UnsafeMutablePointer<Float>
    /// Per kind, image j's column of y (`DenseSlotLanes.apply`'s outputs).
    let outputs: UnsafeMutablePointer<UnsafeMutablePointer<Float>?>
    /// One image's row of y, gathered for the bias and the comparison.
    let row: UnsafeMutablePointer<Float>
    let walk: DenseSlotLanes

    init(map: TileMap, m: Int, kinds: Int) {
        let lanes = DenseSlotLanes.lanes
        products = .allocate(capacity: m * map.kTiles * lanes)
        y = .allocate(capacity: kinds * m * lanes)
        outputs = .allocate(capacity: kinds * lanes)
        row = .allocate(capacity: m)
        walk = DenseSlotLanes(map: map)
        for kk in 0..<kinds { for j in 0..<lanes { outputs[kk * lanes + j] = y + kk * m * lanes + j } }
    }

    deinit { products.deallocate(); y.deallocate(); outputs.deallocate(); row.deallocate() }
}
