import HASKernels

/// The slots strategy of `FaultInjector`: the sampler's walk
/// (`FaultSampler.forEachFault`: per PE and image, slots ascending, the same
/// draws) without a `FaultEvent` or a closure per fault; and the same walk for
/// the corrections of dense layers' perTile strategy (`applyTileProductsByLanes`).
/// High-rate PEs (`.bernoulli`, `.always`) decide the slots of a group of up to
/// 16 images at once (`has_decide_slot_codes`: one image's stream per vector
/// lane, one byte per slot), then each K tile's products are computed for all
/// of a block's rows with faults in one register-blocked pass
/// (`has_tile_products_rows`, the same FMA chains as `has_partial_product`) and
/// each row's corrections applied 16 columns at a time
/// (`has_apply_slot_codes`); low-rate PEs (`.geometric`) gather their few
/// faults for `has_partial_products`.
/// Each element receives its corrections in the sampler's order, so results are
/// bit-identical to the perFault strategy. Reports no corrections.
extension FaultInjector {
    func injectBySlots(_ event: GEMMEvent, layer: Layer, images: Range<Int>) {
        let k = event.shape.k, bCol = event.bColStride, map = layer.map, columns = map.columns, kTiles = map.kTiles
        let blocks = map.blocks, threads = map.threads
        let a = event.weights, bRow = event.bRowStride, cRow = event.cRowStride
        let perm = event.permutation
        let kindCode = profile.kind.kernelCode, bits = Int32(profile.exponentBits.count)
        let kind = profile.kind, exponentBits = profile.exponentBits
        // Slot path: a block's decisions for a group of images; block 0 has the most slots.
        let lanes = SlotLanes(threads: threads, capacity: map.slots(onBlock: 0), columns: columns)
        // Geometric path: faults gathered for has_partial_products.
        let batch = PartialProductBatch<(image: Int, target: Int, draw: UInt64)>(bRowStride: bRow)
        // Applies a gathered geometric fault (in order, before any later correction).
        let apply = { (f: (image: Int, target: Int, draw: UInt64), p: Float) in
            let corrupted = kind.corrupt(p, draw: f.draw, exponentBits: exponentBits)
            event.output(f.image)[f.target] += corrupted - p
        }
        // Block by block (the sampler goes thread-major): an element (row, column) is only
        // ever corrected by the PEs of one thread, still in block order, while one block's
        // tiles (the same B rows for all its threads) stay in cache.
        var slotThreads: [(thread: Int, activeTiles: Int, threshold: UInt64)] = []
        slotThreads.reserveCapacity(threads)
        for s in 0..<blocks {
            let slots = map.slots(onBlock: s)
            if slots == 0 { continue }
            slotThreads.removeAll(keepingCapacity: true)
            for t in 0..<threads {
                let pe = s * threads + t, mode = sampler.modes[pe]
                switch mode {
                case .never: continue
                case .always, .bernoulli:
                    // Its active tiles are a prefix (idle ones draw nothing).
                    let active = map.activeTiles(block: s, thread: t)
                    if active > 0 { slotThreads.append((t, active, mode.slotThreshold)) }
                case .geometric(let inverseLog):
                    for i in images {
                        var rng = FaultKeys.stream(seed: seed, layer: layer.key, image: datasetIndex(event, i), pe: pe)
                        let input = event.input(i)
                        FaultSampler.forEachGeometricFailure(&rng, inverseLog: inverseLog, slots: slots) { j, draw in
                            let w = map.work(slot: j, block: s, thread: t)
                            if w.position >= map.rows { return }
                            let row = perm.map { Int($0[w.position]) } ?? w.position
                            let range = map.kRange(kTile: w.kTile)
                            batch.add((i, row * cRow + w.column, draw), a: a + row * k + range.lowerBound,
                                      b: input + w.column * bCol + range.lowerBound * bRow, length: range.count, apply: apply)
                        }
                    }
                }
            }
            batch.flush(apply)
            if slotThreads.isEmpty { continue }
            let tiles = slotThreads.map(\.activeTiles).max()!
            for first in stride(from: images.lowerBound, to: images.upperBound, by: SlotLanes.lanes) {
                let count = min(SlotLanes.lanes, images.upperBound - first)
                for (t, active, threshold) in slotThreads {
                    for j in 0..<count {
                        lanes.states[j] = FaultKeys.stream(seed: seed, layer: layer.key,
                                                           image: datasetIndex(event, first + j), pe: s * threads + t).state
                    }
                    lanes.decide(thread: t, lanes: count, threshold: threshold, slots: active * columns, exponentBits: bits)
                }
                for j in 0..<count {
                    let input = event.input(first + j), output = event.output(first + j)
                    var l = s / kTiles, m = s - l * kTiles
                    for tile in 0..<tiles {
                        if tile > 0 {
                            m += blocks
                            while m >= kTiles { m -= kTiles; l += 1 }
                        }
                        let range = map.kRange(kTile: m)
                        // The rows of this tile with faults: their products in one pass, then each row's corrections.
                        var needed = 0
                        for (t, active, _) in slotThreads where tile < active {
                            let codes = lanes.codes(thread: t, lane: j, slot: tile * columns)
                            if has_slot_codes_fail(codes, Int64(columns)) == 0 { continue }
                            let r = l * threads + t
                            let row = perm.map { Int($0[r]) } ?? r
                            lanes.aRows[needed] = a + row * k + range.lowerBound
                            lanes.productRows[needed] = (t, row)
                            needed += 1
                        }
                        if needed == 0 { continue }
                        has_tile_products_rows(lanes.aRows, Int64(needed), Int64(range.count), input + range.lowerBound * bRow,
                                               Int64(bRow), Int64(columns), lanes.products, Int64(columns))
                        for q in 0..<needed {
                            let (t, row) = lanes.productRows[q]
                            _ = has_apply_slot_codes(lanes.codes(thread: t, lane: j, slot: tile * columns),
                                                     lanes.products + q * columns, output + row * cRow, Int64(columns), kindCode)
                        }
                    }
                }
            }
        }
    }
}

extension FaultInjector {
    /// The faults of a dense layer's perTile strategy for a group of up to `HAS_SLOT_LANES`
    /// images (`injectDenseByTiles`: P of every row and tile in `products`, the images side
    /// by side), PE by PE in the sampler's order: high-rate PEs decide the slots of all the
    /// group's images at once (`has_decide_slot_codes_by_slot`) and correct them slot by
    /// slot across the images (`has_apply_dense_codes`); low-rate PEs walk each image's
    /// geometric gaps. Each element receives its corrections in the sampler's order.
    func applyTileProductsByLanes(_ event: GEMMEvent, layer: Layer, images: Range<Int>,
                                  products: UnsafePointer<Float>) {
        let map = layer.map, kTiles = map.kTiles
        let cRow = event.cRowStride, perm = event.permutation, count = images.count, lanes = DenseSlotLanes.lanes
        precondition(count <= lanes)
        let kind = profile.kind, exponentBits = profile.exponentBits
        let walk = DenseSlotLanes(map: map)
        let outputs = UnsafeMutablePointer<UnsafeMutablePointer<Float>?>.allocate(capacity: lanes)
        defer { outputs.deallocate() }
        for j in 0..<count { outputs[j] = event.output(images.lowerBound + j) }
        sampler.forEachActivePE(map: map) { s, t, pe, mode in
            switch mode {
            case .never: break
            case .always, .bernoulli:
                let images = images, key = layer.key
                if walk.decide(block: s, thread: t, threshold: mode.slotThreshold, exponentBits: exponentBits, images: count,
                               state: { FaultKeys.stream(seed: seed, layer: key, image: datasetIndex(event, images.lowerBound + $0), pe: pe).state }) {
                    walk.apply(kind: kind, permutation: perm?.baseAddress, products: products, outputs: outputs, rowStride: cRow)
                }
            case .geometric(let inverseLog):
                for j in 0..<count {
                    var rng = FaultKeys.stream(seed: seed, layer: layer.key, image: datasetIndex(event, images.lowerBound + j),
                                               pe: pe)
                    let c = outputs[j]!
                    FaultSampler.forEachGeometricFailure(&rng, inverseLog: inverseLog, slots: map.slots(onBlock: s)) { slot, draw in
                        let w = map.work(slot: slot, block: s, thread: t)
                        if w.position >= map.rows { return }
                        let row = perm.map { Int($0[w.position]) } ?? w.position
                        let p = products[(row * kTiles + w.kTile) * lanes + j]
                        let corrupted = kind.corrupt(p, draw: draw, exponentBits: exponentBits)
                        c[row * cRow] += corrupted - p
                    }
                }
            }
        }
    }
}

extension ErrorKind {
    /// The kind as the slot kernels take it (HAS_ERROR_*).
    var kernelCode: Int32 {
        switch self {
        case .flip0: return Int32(HAS_ERROR_FLIP0)
        case .flip1: return Int32(HAS_ERROR_FLIP1)
        case .bitflip: return Int32(HAS_ERROR_BITFLIP)
        case .tf32: return Int32(HAS_ERROR_TF32)
        case .bf16: return Int32(HAS_ERROR_BF16)
        case .zero: return Int32(HAS_ERROR_ZERO)
        }
    }
}
