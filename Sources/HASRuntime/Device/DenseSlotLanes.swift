import HASKernels

/// The corrections of one high-rate PE of a dense layer for a group of up to
/// `lanes` images at once: its slots are decided for all of them together
/// (`has_decide_slot_codes_by_slot`, one image's stream per vector lane, one
/// byte per slot), then applied for one error kind or several in turn
/// (`has_apply_dense_codes`; the sensitivity sweep shares one decision among
/// the kinds of an FR_max). Each output element receives its corrections in
/// the sampler's slot order.
///
/// Layouts (the group's images side by side): P(row, K tile) of image j at
/// `products[(row·kTiles + tile)·lanes + j]`, C[row] of image j at
/// `outputs[j][row·rowStride]` (rows unshuffled).
public final class DenseSlotLanes {
    public static let lanes = Int(HAS_SLOT_LANES)
    public let map: TileMap
    private let codes: UnsafeMutablePointer<UInt8>
    private let states = UnsafeMutablePointer<UInt64>.allocate(capacity: DenseSlotLanes.lanes)
    /// Images and active tiles of the last decision.
    private var decided = (block: -1, thread: -1, images: 0, tiles: 0)

    public init(map: TileMap) {
        self.map = map
        // One slot per tile (a dense layer has one column); block 0 runs the most tiles; 8 slots of margin.
        codes = .allocate(capacity: (map.tiles(onBlock: 0) + 8) * Self.lanes)
    }

    deinit { codes.deallocate(); states.deallocate() }

    /// Each K tile's columns of the weights W [m × k] (row-major), packed for `tileProducts`.
    public static func tilePanels(weights: UnsafePointer<Float>, m: Int, k: Int, map: TileMap) -> [PackedWeights] {
        (0..<map.kTiles).map { tile in
            let range = map.kRange(kTile: tile)
            return PackedWeights(m: m, k: range.count, packing: weights + range.lowerBound, lda: k)
        }
    }

    /// P(row, tile) of every row and K tile of W [m × k] for `images` images, into
    /// `products` in this class's layout, by one GEMM per tile (each element the FMA
    /// chain of a partial product). Image j's input is B's column j: element κ at
    /// `input + j·bColStride + κ·bRowStride`.
    public static func tileProducts(weights: UnsafePointer<Float>, m: Int, k: Int, map: TileMap, panels: [PackedWeights],
                                    input: UnsafePointer<Float>, bRowStride: Int, bColStride: Int, images: Int,
                                    into products: UnsafeMutablePointer<Float>) {
        precondition(images <= lanes && panels.count == map.kTiles)
        let tiles = map.kTiles
        for tile in 0..<tiles {
            let range = map.kRange(kTile: tile)
            // products[(row·tiles + tile)·lanes + j] = P(row, tile) of image j (rows unshuffled).
            PermutedGEMM.multiply(m: m, n: images, k: range.count, a: weights + range.lowerBound, lda: k, packed: panels[tile],
                                  b: StridedMatrix(input + range.lowerBound * bRowStride, rowStride: bRowStride, colStride: bColStride),
                                  c: StridedMatrix(products + tile * lanes, rowStride: tiles * lanes, colStride: 1), threads: 1)
        }
    }

    /// Decides the slots of PE (s, t), whose rate draws slot by slot (`threshold`:
    /// `FaultSampler.Mode.slotThreshold`), for `images` images; image j's stream
    /// starts at `state(j)` (`FaultKeys.stream(…).state`). Returns whether the PE
    /// has slots to correct (its active tiles; idle ones draw nothing).
    @discardableResult
    public func decide(block s: Int, thread t: Int, threshold: UInt64, exponentBits: ExponentBits, images: Int,
                       state: (Int) -> UInt64) -> Bool {
        precondition(images > 0 && images <= Self.lanes)
        let active = map.activeTiles(block: s, thread: t)
        decided = (s, t, images, active)
        if active == 0 { return false }
        for j in 0..<images { states[j] = state(j) }
        has_decide_slot_codes_by_slot(states, Int64(images), threshold, Int64(active), Int32(exponentBits.count), codes)
        return true
    }

    /// Applies the last decision with `kind`: C[row] += P̃ − P for every failing
    /// slot and image, slot by slot. `permutation` maps positions to rows (nil:
    /// unshuffled). Returns the number of faults.
    @discardableResult
    public func apply(kind: ErrorKind, permutation: UnsafePointer<Int32>?, products: UnsafePointer<Float>,
                      outputs: UnsafePointer<UnsafeMutablePointer<Float>?>, rowStride: Int) -> Int {
        let (s, t, images, active) = decided
        if active == 0 { return 0 }
        return Int(has_apply_dense_codes(codes, Int64(active), Int64(images), Int64(s), Int64(t), Int64(map.blocks),
                                         Int64(map.threads), Int64(map.kTiles), permutation, products, outputs,
                                         Int64(rowStride), kind.kernelCode))
    }
}
