extension FaultInjector {
    /// The perFault strategy: one dot product per fault, for `images` of the batch together
    /// (PE-major, see `FaultSampler`). Faults are gathered in chunks whose dot products run
    /// together (`has_partial_products`: the scattered weight rows are fetched in parallel);
    /// corrections follow in the sampler's order, each reported to the observer.
    func injectPerFault(_ event: GEMMEvent, layer: Layer, images: Range<Int>) {
        let k = event.shape.k, map = layer.map
        let a = event.weights
        let bRow = event.bRowStride, bCol = event.bColStride, cRow = event.cRowStride, cCol = event.cColStride
        let perm = event.permutation
        let kind = profile.kind, bits = profile.exponentBits
        let observer = self.observer
        let batch = PartialProductBatch<(image: Int, row: Int, event: FaultEvent)>(bRowStride: bRow)
        let apply = { (f: (image: Int, row: Int, event: FaultEvent), p: Float) in
            let corrupted = kind.corrupt(p, draw: f.event.draw, exponentBits: bits)
            event.output(f.image)[f.row * cRow + f.event.column * cCol] += corrupted - p
            observer?(Correction(layer: event.layerName, image: self.datasetIndex(event, f.image), row: f.row,
                                 column: f.event.column, event: f.event, clean: p.bitPattern, corrupted: corrupted.bitPattern))
        }
        sampler.forEachFault(seed: seed, layer: layer.key, images: images, imageIndex: { self.datasetIndex(event, $0) },
                             map: map) { i, e in
            let row = perm.map { Int($0[e.position]) } ?? e.position
            let range = map.kRange(kTile: e.kTile)
            batch.add((i, row, e), a: a + row * k + range.lowerBound,
                      b: event.input(i) + e.column * bCol + range.lowerBound * bRow, length: range.count, apply: apply)
        }
        batch.flush(apply)
    }
}
