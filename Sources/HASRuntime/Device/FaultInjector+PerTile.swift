import HASKernels

extension FaultInjector {
    /// Images per group of the dense per-tile strategy (h0 of mnist32: 0.8 MB of products
    /// per image); the GEMM packs each tile's weights once per group, and a PE's slots are
    /// decided for the group's images at once (one per vector lane).
    static let tileGroup = Int(HAS_SLOT_LANES)

    /// The perTile strategy for a dense layer's batch (inputs contiguous): groups of
    /// `tileGroup` images on `threads` workers.
    func injectDenseByTiles(_ event: GEMMEvent, layer: Layer) {
        let n = event.batchSize
        let groups = (n + Self.tileGroup - 1) / Self.tileGroup
        let capacity = event.shape.m * layer.map.kTiles * Self.tileGroup
        Parallelism.forRanges(groups, threads: min(threads, groups)) { range in
            // One scratch buffer per worker, reused by its groups (fresh pages cost page faults).
            let products = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
            defer { products.deallocate() }
            for g in range {
                self.injectDenseByTiles(event, layer: layer, images: (g * Self.tileGroup)..<min(n, (g + 1) * Self.tileGroup),
                                        products: products)
            }
        }
    }

    /// P of every row, K tile and image of a group by one GEMM per tile (laid out row by
    /// row, tile by tile, the group's images side by side), then the faults PE by PE for
    /// all the group's images (`applyTileProductsByLanes`).
    private func injectDenseByTiles(_ event: GEMMEvent, layer: Layer, images: Range<Int>,
                                    products: UnsafeMutablePointer<Float>) {
        DenseSlotLanes.tileProducts(weights: event.weights, m: event.shape.m, k: event.shape.k, map: layer.map,
                                    panels: tilePanels(event, layer: layer), input: event.input(images.lowerBound),
                                    bRowStride: event.bRowStride, bColStride: event.bColStride, images: images.count,
                                    into: products)
        applyTileProductsByLanes(event, layer: layer, images: images, products: UnsafePointer(products))
    }

    /// The weight columns of each of `layer`'s K tiles, packed once for this injector's
    /// per-tile GEMMs (packed again for every group of images, they took a quarter of a
    /// run with tf32 faults on every layer).
    /// A layer's weights must not change while the injector runs it; weights at another
    /// address are packed again.
    func tilePanels(_ event: GEMMEvent, layer: Layer) -> [PackedWeights] {
        tilePanelsLock.lock()
        defer { tilePanelsLock.unlock() }
        if let cached = tilePanels[event.layerName], cached.weights == event.weights { return cached.panels }
        let panels = DenseSlotLanes.tilePanels(weights: event.weights, m: event.shape.m, k: event.shape.k, map: layer.map)
        tilePanels[event.layerName] = (event.weights, panels)
        return panels
    }

    /// The perTile strategy image by image (convolutions, or a batch whose inputs are not
    /// contiguous): P(row, tile, n) of all the image's columns by one GEMM per K tile,
    /// then the faults in the sampler's order.
    func injectByTiles(_ event: GEMMEvent, layer: Layer, images: Range<Int>) {
        let map = layer.map, m = event.shape.m, k = event.shape.k, columns = map.columns, tiles = map.kTiles
        let kind = profile.kind, bits = profile.exponentBits, perm = event.permutation
        let bRow = event.bRowStride, cRow = event.cRowStride, cCol = event.cColStride
        let products = UnsafeMutablePointer<Float>.allocate(capacity: m * tiles * columns)
        defer { products.deallocate() }
        for i in images {
            let input = event.input(i), c = event.output(i)
            for tile in 0..<tiles {
                let range = map.kRange(kTile: tile)
                // products[(row·tiles + tile)·N + n] = P(row, tile, n) (rows unshuffled).
                PermutedGEMM.multiply(m: m, n: columns, k: range.count, a: event.weights + range.lowerBound, lda: k,
                                      b: StridedMatrix(input + range.lowerBound * bRow, rowStride: bRow,
                                                       colStride: event.bColStride),
                                      c: StridedMatrix(products + tile * columns, rowStride: tiles * columns, colStride: 1),
                                      threads: 1)
            }
            sampler.forEachFault(seed: seed, layer: layer.key, image: datasetIndex(event, i), map: map) { e in
                let row = perm.map { Int($0[e.position]) } ?? e.position
                let p = products[(row * tiles + e.kTile) * columns + e.column]
                let corrupted = kind.corrupt(p, draw: e.draw, exponentBits: bits)
                c[row * cRow + e.column * cCol] += corrupted - p
            }
        }
    }
}
