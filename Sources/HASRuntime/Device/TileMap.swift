/// Which PE computes which partial product of one layer's GEMM (spec §3).
///
/// Per image the layer computes C'[M×N] = A'[M×K] · B[K×N] in tiles: row
/// blocks l = 0 … ⌈M/T⌉−1, K tiles m = 0 … ⌈K/tileK⌉−1 (the last may be
/// partial). Tile (l, m) runs on block s = (l·⌈K/tileK⌉ + m) mod B; position
/// r = l·T + t runs on thread t of that block; positions r ≥ M are idle.
///
/// Slots: PE (s, t) executes, per image, the tiles q = s, s+B, s+2B, … < L·⌈K/tileK⌉
/// (q = l·⌈K/tileK⌉ + m) in that order, each over the image's N columns; slot
/// j·N + n is column n of its j-th tile. Fault randomness is keyed by slot, so
/// it never depends on the permutation (which only decides which row sits at r).
public struct TileMap: Equatable, Sendable {
    /// M: rows (positions) of the shuffled weight matrix.
    public let rows: Int
    /// K: reduction length.
    public let depth: Int
    /// N: GEMM columns per image.
    public let columns: Int
    public let tileK: Int
    public let blocks: Int
    public let threads: Int

    public init(rows: Int, depth: Int, columns: Int, tileK: Int, blocks: Int, threads: Int) {
        precondition(rows >= 0 && depth >= 0 && columns >= 0 && tileK > 0 && blocks > 0 && threads > 0)
        self.rows = rows
        self.depth = depth
        self.columns = columns
        self.tileK = tileK
        self.blocks = blocks
        self.threads = threads
    }

    /// The map of a layer's GEMM on a device.
    public init(shape: GEMMShape, isConvolution: Bool, profile: FaultProfile) {
        self.init(rows: shape.m, depth: shape.k, columns: shape.columnsPerImage,
                  tileK: profile.tiling.tileK(for: shape, isConvolution: isConvolution),
                  blocks: profile.geometry.blocks, threads: profile.geometry.threads)
    }

    /// ⌈M/T⌉.
    @inlinable public var rowBlocks: Int { (rows + threads - 1) / threads }
    /// ⌈K/tileK⌉.
    @inlinable public var kTiles: Int { (depth + tileK - 1) / tileK }
    /// Tiles of the whole GEMM, L·⌈K/tileK⌉.
    @inlinable public var tiles: Int { rowBlocks * kTiles }

    /// The K indices of tile m (the last tile may be shorter).
    @inline(__always)
    public func kRange(kTile m: Int) -> Range<Int> { (m * tileK)..<min(depth, (m + 1) * tileK) }

    /// Block running tile (l, m).
    @inline(__always)
    public func block(rowBlock l: Int, kTile m: Int) -> Int { (l * kTiles + m) % blocks }

    /// PE (block, thread) computing P(r, m, ·).
    @inline(__always)
    public func processingElement(position r: Int, kTile m: Int) -> (block: Int, thread: Int) {
        (block(rowBlock: r / threads, kTile: m), r % threads)
    }

    /// How many tiles block s runs (per image).
    @inlinable @inline(__always)
    public func tiles(onBlock s: Int) -> Int {
        let q = tiles
        return q > s ? (q - 1 - s) / blocks + 1 : 0
    }

    /// Slots of one PE of block s per image: its tiles × N.
    @inlinable @inline(__always)
    public func slots(onBlock s: Int) -> Int { tiles(onBlock: s) * columns }

    /// Tiles of PE (s, t) that compute a row (position l·T + t < rows): a prefix
    /// of its tiles, since l grows with the tile's index on the block.
    @inlinable
    public func activeTiles(block s: Int, thread t: Int) -> Int {
        let activeRowBlocks = rows > t ? (rows - t + threads - 1) / threads : 0
        let active = activeRowBlocks * kTiles
        return active > s ? min(tiles(onBlock: s), (active - 1 - s) / blocks + 1) : 0
    }

    /// What slot j of PE (s, t) computes; `position` ≥ `rows` means the PE is idle then.
    @inlinable @inline(__always)
    public func work(slot j: Int, block s: Int, thread t: Int) -> (position: Int, kTile: Int, column: Int) {
        let tile = j / columns, n = j - tile * columns
        let q = s + tile * blocks
        let l = q / kTiles, m = q - l * kTiles
        return (l * threads + t, m, n)
    }

    /// The slot of PE (s, t) that computes P(r, m, n) (inverse of `work`).
    @inlinable @inline(__always)
    public func slot(position r: Int, kTile m: Int, column n: Int) -> (block: Int, thread: Int, slot: Int) {
        let l = r / threads, q = l * kTiles + m, s = q % blocks
        return (s, r % threads, (q / blocks) * columns + n)
    }

    /// The PEs (with multiplicity) that position r runs on, one per K tile: its exposure.
    public func processingElements(position r: Int) -> [(block: Int, thread: Int)] {
        (0..<kTiles).map { processingElement(position: r, kTile: $0) }
    }
}
